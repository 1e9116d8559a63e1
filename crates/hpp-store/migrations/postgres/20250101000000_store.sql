-- The session store (Postgres). Times are microseconds since the Unix epoch (bigint);
-- precedence keys are hpp_status::PrecedenceKey bytes (14-byte bytea, compared bytewise).

-- One row per HPP session: what the merchant registered, and the observation to believe.
CREATE TABLE hpp_session (
    session_id       text PRIMARY KEY,
    -- The key of the observation held: the maximum by precedence of every delivery.
    -- NULL while nothing has been observed (registered only).
    precedence_key   bytea CHECK (length(precedence_key) = 14),
    -- The key the row held before the last delivery was merged: what that delivery was
    -- compared against, so that its outcome is classified against exactly that version.
    held_before      bytea,
    -- The status of precedence_key, for people and queries.
    status           text,
    is_final         boolean NOT NULL DEFAULT false,
    -- The references of the delivery held (kept for the effect the final records).
    authorization_token text,
    order_id         text,
    klarna_reference text,
    -- When the HPP session expires: from the registration, else from the first payload that had it.
    expires_at_us    bigint,
    -- The per-session secret of the status_update URL; NULL until registered.
    callback_secret  text,
    registered_at_us bigint,
    -- When the batch should read the session next (NULL: as soon as possible), and when it last did.
    next_read_at_us  bigint,
    last_read_at_us  bigint
);

-- The open sessions, nearest expiry first (due_for_read).
CREATE INDEX hpp_session_open_by_expiry ON hpp_session (expires_at_us) WHERE NOT is_final;

-- What must happen because of a delivery: the order to place, the session's end, a conflict
-- for a person to look at. Claimed by workers under a lease.
CREATE TABLE hpp_effect (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id          text NOT NULL REFERENCES hpp_session (session_id),
    kind                text NOT NULL CHECK (kind IN ('place_order', 'order_placed_by_klarna',
                            'completed_without_reference', 'session_ended', 'conflict')),
    -- The final status the effect is about (for a conflict: the status kept).
    status              text NOT NULL,
    authorization_token text,
    order_id            text,
    klarna_reference    text,
    -- A conflict's two observations, as precedence keys.
    kept_key            bytea,
    rejected_key        bytea,
    created_at_us       bigint NOT NULL,
    -- How many times the effect was claimed; a claim's number is its fencing token.
    attempts            bigint NOT NULL DEFAULT 0,
    claimed_by          text,
    lease_until_us      bigint,
    completed_at_us     bigint
);

-- At most one effect per session that is not a conflict: one order, whatever happens.
CREATE UNIQUE INDEX hpp_effect_one_per_session ON hpp_effect (session_id) WHERE kind <> 'conflict';
-- Each conflict once, however often its delivery is retried.
CREATE UNIQUE INDEX hpp_effect_conflict_once ON hpp_effect (session_id, kept_key, rejected_key)
    WHERE kind = 'conflict';
CREATE INDEX hpp_effect_pending ON hpp_effect (id) WHERE completed_at_us IS NULL;

-- The effect of a delivery that makes a session final, recorded by the statement that
-- merges it (a trigger fires inside its statement): the session's one effect when it was not
-- final (what to do depends on the status and the references of the delivery, as
-- hpp_store::EffectKind says), or a conflict when a different final replaced the one held.
-- The unique indexes make a second one impossible; a refused delivery never changes the key,
-- so it never fires this.
CREATE FUNCTION hpp_record_final_effect() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changes_final boolean := TG_OP = 'UPDATE' AND OLD.is_final;
BEGIN
    INSERT INTO hpp_effect (session_id, kind, status, authorization_token, order_id,
                            klarna_reference, kept_key, rejected_key, created_at_us)
    VALUES (NEW.session_id,
            CASE WHEN changes_final THEN 'conflict'
                 WHEN NEW.status <> 'COMPLETED' THEN 'session_ended'
                 WHEN NEW.order_id IS NOT NULL THEN 'order_placed_by_klarna'
                 WHEN NEW.authorization_token IS NOT NULL THEN 'place_order'
                 ELSE 'completed_without_reference' END,
            NEW.status, NEW.authorization_token, NEW.order_id, NEW.klarna_reference,
            CASE WHEN changes_final THEN NEW.precedence_key END,
            CASE WHEN changes_final THEN OLD.precedence_key END,
            (extract(epoch FROM statement_timestamp()) * 1000000)::bigint)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

-- Byte 0 of a key is its phase (3: final), byte 13 its status's tie rank.
CREATE TRIGGER hpp_session_final_effect AFTER UPDATE ON hpp_session FOR EACH ROW
    WHEN (NEW.is_final AND NEW.precedence_key IS DISTINCT FROM OLD.precedence_key
          AND (NOT OLD.is_final OR get_byte(OLD.precedence_key, 13) <> get_byte(NEW.precedence_key, 13)))
    EXECUTE FUNCTION hpp_record_final_effect();
CREATE TRIGGER hpp_session_first_final_effect AFTER INSERT ON hpp_session FOR EACH ROW
    WHEN (NEW.is_final)
    EXECUTE FUNCTION hpp_record_final_effect();

-- Payloads the tracker cannot use (an unrecognized status, a missing field), kept whole.
CREATE TABLE hpp_unusable_delivery (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id     text NOT NULL,
    received_at_us bigint NOT NULL,
    reason         text NOT NULL,
    payload        text NOT NULL
);

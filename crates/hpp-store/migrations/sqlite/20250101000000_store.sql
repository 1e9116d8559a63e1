-- The session store (SQLite). Times are microseconds since the Unix epoch (INTEGER);
-- precedence keys are hpp_status::PrecedenceKey bytes (14-byte BLOBs, compared as memcmp).

-- One row per HPP session: what the merchant registered, and the observation to believe.
CREATE TABLE hpp_session (
    session_id       TEXT PRIMARY KEY NOT NULL,
    -- The key of the observation held: the maximum by precedence of every delivery.
    -- NULL while nothing has been observed (registered only).
    precedence_key   BLOB,
    -- The key the row held before the last delivery was merged: what that delivery was
    -- compared against, so that its outcome is classified against exactly that version.
    held_before      BLOB,
    -- The status of precedence_key, for people and queries.
    status           TEXT,
    is_final         INTEGER NOT NULL DEFAULT 0,
    -- When the HPP session expires: from the registration, else from the first payload that had it.
    expires_at_us    INTEGER,
    -- The per-session secret of the status_update URL; NULL until registered.
    callback_secret  TEXT,
    registered_at_us INTEGER,
    -- When the batch should read the session next (NULL: as soon as possible), and when it last did.
    next_read_at_us  INTEGER,
    last_read_at_us  INTEGER
) STRICT;

-- The open sessions, nearest expiry first (due_for_read).
CREATE INDEX hpp_session_open_by_expiry ON hpp_session (expires_at_us) WHERE is_final = 0;

-- What must happen because of a delivery: the order to place, the session's end, a conflict
-- for a person to look at. Claimed by workers under a lease.
CREATE TABLE hpp_effect (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id          TEXT NOT NULL REFERENCES hpp_session (session_id),
    kind                TEXT NOT NULL CHECK (kind IN ('place_order', 'order_placed_by_klarna',
                            'completed_without_reference', 'session_ended', 'conflict')),
    -- The final status the effect is about (for a conflict: the status kept).
    status              TEXT NOT NULL,
    authorization_token TEXT,
    order_id            TEXT,
    klarna_reference    TEXT,
    -- A conflict's two observations, as precedence keys.
    kept_key            BLOB,
    rejected_key        BLOB,
    created_at_us       INTEGER NOT NULL,
    -- How many times the effect was claimed; a claim's number is its fencing token.
    attempts            INTEGER NOT NULL DEFAULT 0,
    claimed_by          TEXT,
    lease_until_us      INTEGER,
    completed_at_us     INTEGER
) STRICT;

-- At most one effect per session that is not a conflict: one order, whatever happens.
CREATE UNIQUE INDEX hpp_effect_one_per_session ON hpp_effect (session_id) WHERE kind <> 'conflict';
-- Each conflict once, however often its delivery is retried.
CREATE UNIQUE INDEX hpp_effect_conflict_once ON hpp_effect (session_id, kept_key, rejected_key)
    WHERE kind = 'conflict';
CREATE INDEX hpp_effect_pending ON hpp_effect (id) WHERE completed_at_us IS NULL;

-- Payloads the tracker cannot use (an unrecognized status, a missing field), kept whole.
CREATE TABLE hpp_unusable_delivery (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id     TEXT NOT NULL,
    received_at_us INTEGER NOT NULL,
    reason         TEXT NOT NULL,
    payload        TEXT NOT NULL
) STRICT;

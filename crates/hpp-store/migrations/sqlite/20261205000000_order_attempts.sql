-- Every create order call an effect made: recorded before it is sent, answered after. The
-- order's state is read from these (hpp_store::OrderState::of), never guessed.
CREATE TABLE hpp_order_attempt (
    effect_id        INTEGER NOT NULL REFERENCES hpp_effect (id),
    -- 1, 2, ... per effect: calls, not claims.
    attempt          INTEGER NOT NULL,
    -- The claim of the effect (its fencing token) that made the call, and its worker.
    claim            INTEGER NOT NULL,
    worker           TEXT NOT NULL,
    idempotency_key  TEXT NOT NULL,
    started_at_us    INTEGER NOT NULL,
    -- NULL until answered: a call whose worker died mid-way may have reached Klarna.
    answer           TEXT CHECK (answer IN ('placed', 'refused', 'not_sent', 'lost')),
    order_id         TEXT,
    detail           TEXT,
    answered_at_us   INTEGER,
    PRIMARY KEY (effect_id, attempt)
) STRICT;

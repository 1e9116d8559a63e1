-- Every create order call an effect made: recorded before it is sent, answered after. The
-- order's state is read from these (hpp_store::OrderState::of), never guessed.
CREATE TABLE hpp_order_attempt (
    effect_id        bigint NOT NULL REFERENCES hpp_effect (id),
    -- 1, 2, ... per effect: calls, not claims.
    attempt          bigint NOT NULL,
    -- The claim of the effect (its fencing token) that made the call, and its worker.
    claim            bigint NOT NULL,
    worker           text NOT NULL,
    idempotency_key  text NOT NULL,
    started_at_us    bigint NOT NULL,
    -- NULL until answered: a call whose worker died mid-way may have reached Klarna.
    answer           text CHECK (answer IN ('placed', 'refused', 'not_sent', 'lost')),
    order_id         text,
    detail           text,
    answered_at_us   bigint,
    PRIMARY KEY (effect_id, attempt)
);

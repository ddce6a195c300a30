-- Circuit breakers, one per downstream (the payment gateway, the mail
-- server), shared by every worker: when calls to a downstream fail with
-- unavailability at a high rate, a worker opens its breaker here; while it
-- is open, no task of the kinds that call it is claimed (they wait, spending
-- no attempt), except one probe per cool-down; a call that gets through
-- closes it (worker/src/breaker.rs).
CREATE TABLE circuit_breakers (
    downstream  text        PRIMARY KEY CHECK (downstream ~ '^[a-z][a-z0-9_]{0,62}$'),
    state       text        NOT NULL DEFAULT 'closed' CHECK (state IN ('closed', 'open')),
    -- The kinds whose steps call the downstream, as the worker that opened
    -- the breaker runs them.
    kinds       text[]      NOT NULL DEFAULT '{}',
    opened_at   timestamptz,
    closed_at   timestamptz,
    -- While open: when the next probe may be claimed.
    probe_at    timestamptz,
    -- Why it opened, for operators.
    reason      text,
    times_opened bigint     NOT NULL DEFAULT 0,
    probes      bigint      NOT NULL DEFAULT 0,
    CONSTRAINT circuit_breakers_open_complete
        CHECK (state = 'closed' OR (opened_at IS NOT NULL AND probe_at IS NOT NULL))
);

-- Every kind no task of which is to be claimed now: paused by an operator,
-- or held by an open circuit breaker. The claims, the hand-off of a step's
-- successor and admission control's queue age read this, not the tables.
CREATE VIEW queue_held_kinds AS
    SELECT kind, 'paused'::text AS held_by FROM queue_paused_kinds
    UNION ALL
    SELECT unnest(kinds), 'circuit breaker: ' || downstream
    FROM circuit_breakers
    WHERE state = 'open';

-- The ceiling's own schema: the columns our hot paths touch, nothing else.
-- (Lean on purpose: what PostgreSQL alone does with the same statements.)
DROP TABLE IF EXISTS tasks;
DROP TABLE IF EXISTS orders;
CREATE TABLE orders (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    customer        text NOT NULL,
    amount_cents    bigint NOT NULL,
    status          text NOT NULL DEFAULT 'new',
    idempotency_key text NOT NULL UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE tasks (
    id           bigserial PRIMARY KEY,
    kind         text NOT NULL,
    order_id     uuid,
    state        text NOT NULL DEFAULT 'ready',
    attempts     int NOT NULL DEFAULT 0,
    run_at       timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tasks_ready_idx ON tasks (run_at, id) WHERE state = 'ready';

-- One order's whole saga as the product writes it, with no application in
-- between: the statement of POST /v1/orders, the claim of its first task,
-- and the one statement that ends each of its three steps (the order moved,
-- its history and event, the attempt, the stock, the next step handed to
-- the same worker). Each runs on its own, as the product sends it. A
-- transaction of this script is one order from placed to completed.
\set sku random(1, 100)
\set quantity random(1, 3)
-- 1. POST /v1/orders: the key, the order, its line, its history, its first task.
WITH claimed AS (
    INSERT INTO idempotency_keys (scope, key, request, order_id)
    VALUES ('ceiling', gen_random_uuid()::text, '{}', gen_random_uuid())
    ON CONFLICT (scope, key) DO NOTHING
    RETURNING order_id
),
placed AS (
    INSERT INTO orders (id, customer_email, currency, total_cents, payment_token, metadata)
    SELECT order_id, 'shopper@example.com', 'EUR', 1000 * :quantity, 'tok_visa', '{}' FROM claimed
    RETURNING id
),
lines AS (
    INSERT INTO order_items (order_id, line, sku, quantity, unit_price_cents)
    SELECT placed.id, 1, 'SKU-' || :sku, :quantity, 1000 FROM placed
),
history AS (
    INSERT INTO order_history (order_id, status, reason)
    SELECT id, 'pending', 'order accepted' FROM placed
),
first_task AS (
    INSERT INTO tasks (kind, payload, max_attempts, order_id)
    SELECT 'charge_payment', jsonb_build_object('order_id', id), 5, id FROM placed
    RETURNING id
)
SELECT first_task.id FROM first_task;
-- 2. The claim of the oldest due charge, with its order.
WITH claimable AS MATERIALIZED (
    SELECT id
    FROM tasks
    WHERE state = 'available' AND run_at <= now()
      AND kind = ANY (ARRAY(SELECT unnest(ARRAY['charge_payment'])
                            EXCEPT SELECT kind FROM queue_paused_kinds))
    ORDER BY run_at, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
UPDATE tasks AS t
SET state = 'running',
    attempts = t.attempts + 1,
    locked_by = 'ceiling-' || :client_id,
    locked_until = now() + make_interval(secs => 30),
    attempted_at = now()
WHERE t.id = ANY (ARRAY(SELECT id FROM claimable))
RETURNING t.id AS task_id, t.attempts AS attempt, t.order_id AS order_id,
          CASE WHEN t.order_id IS NOT NULL THEN order_snapshot(t.order_id) END AS snapshot
\gset
-- 3–5. Each step's end, appended by lab/src/bench/ceiling.rs from the
-- product's own statement (shared/src/orders/step_end.sql).

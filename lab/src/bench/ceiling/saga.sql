-- One order's whole saga as the product writes it, with no application in
-- between: the statement of POST /v1/orders, the claim of its first task,
-- and the one statement that ends each of its three steps (the order moved,
-- its history and event, the attempt, the stock, the next step handed to
-- the same worker). Each runs on its own, as the product sends it. A
-- transaction of this script is one order from placed to completed.
-- 1. POST /v1/orders: prepended by lab/src/bench/ceiling.rs from the
-- product's own statement (shared/src/orders/place.sql).
-- 2. The claim of the oldest due charge, with its order.
WITH claimable AS MATERIALIZED (
    SELECT id
    FROM tasks
    WHERE state = 'available' AND run_at <= now()
      AND kind = ANY (ARRAY(SELECT unnest(ARRAY['charge_payment'])
                            EXCEPT SELECT kind FROM queue_held_kinds))
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

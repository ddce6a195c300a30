-- One order's whole saga as the product writes it, with no application in
-- between: the statements of POST /v1/orders, the claim of its first task,
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
    WHERE state = 'available' AND run_at <= now() AND kind = ANY (ARRAY['charge_payment'])
      AND kind <> ALL (ARRAY(SELECT kind FROM queue_paused_kinds))
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
          order_snapshot(t.order_id) AS snapshot
\gset
-- 3. charge_payment's end: paid, and reserve_inventory handed over.
WITH the_order AS MATERIALIZED (
    SELECT id, status FROM orders WHERE id = :order_id FOR UPDATE
),
lease AS MATERIALIZED (
    SELECT t.id, t.attempts, t.attempted_at
    FROM tasks AS t
    WHERE t.id = :task_id AND t.state = 'running' AND t.locked_by = 'ceiling-' || :client_id AND t.attempts = :attempt
      AND EXISTS (SELECT 1 FROM the_order)
    FOR UPDATE
),
go AS MATERIALIZED (
    SELECT 1 FROM lease, the_order WHERE the_order.status = 'pending'::order_status
),
stock AS MATERIALIZED (
    SELECT i.sku, i.quantity, p.stock
    FROM order_items AS i
    JOIN products AS p ON p.sku = i.sku
    WHERE false AND i.order_id = :order_id AND EXISTS (SELECT 1 FROM go)
    ORDER BY i.sku
    FOR NO KEY UPDATE OF p
),
shortage AS MATERIALIZED (
    SELECT sku, quantity, stock FROM stock WHERE stock < quantity ORDER BY sku LIMIT 1
),
taken AS (
    UPDATE products AS p
    SET stock = p.stock - s.quantity, updated_at = now()
    FROM stock AS s
    WHERE p.sku = s.sku AND NOT EXISTS (SELECT 1 FROM shortage)
),
decided AS MATERIALIZED (
    SELECT CASE WHEN short.sku IS NULL THEN 'paid'::order_status ELSE 'refunding'::order_status END AS status,
           CASE WHEN short.sku IS NULL THEN 'payment taken' ELSE 'out of stock after payment' END AS reason,
           CASE WHEN short.sku IS NULL THEN NULL::text ELSE 'out_of_stock' END AS failure_code,
           CASE WHEN short.sku IS NULL THEN NULL::text
                ELSE format('%s is out of stock: the order wants %s, %s left',
                            short.sku, short.quantity, short.stock)
           END AS failure_message,
           CASE WHEN short.sku IS NULL THEN 'reserve_inventory' ELSE 'refund_payment' END AS next_kind,
           CASE WHEN short.sku IS NULL THEN 5 ELSE 10 END AS next_max_attempts
    FROM go
    LEFT JOIN shortage AS short ON true
),
moved AS (
    UPDATE orders AS o
    SET status = d.status,
        charge_id = coalesce('ch_' || :task_id, o.charge_id),
        refund_id = coalesce(NULL::text, o.refund_id),
        failure_code = coalesce(d.failure_code, o.failure_code),
        failure_message = coalesce(d.failure_message, o.failure_message),
        updated_at = now()
    FROM decided AS d
    WHERE o.id = :order_id AND o.status = 'pending'::order_status
    RETURNING o.id, o.status, d.reason, d.next_kind, d.next_max_attempts,
              to_jsonb(o) || jsonb_build_object('lines', order_lines_json(o.id)) AS snapshot
),
history AS (
    INSERT INTO order_history (order_id, status, reason)
    SELECT id, status, reason FROM moved
),
completed AS (
    UPDATE tasks AS t
    SET state = 'completed', locked_by = NULL, locked_until = NULL, finished_at = now()
    FROM lease
    WHERE t.id = lease.id AND EXISTS (SELECT 1 FROM moved)
    RETURNING t.id, t.attempts, t.attempted_at
),
attempt AS (
    INSERT INTO task_attempts (task_id, attempt, worker_id, started_at, finished_at, outcome)
    SELECT id, attempts, 'ceiling-' || :client_id, attempted_at, now(), 'succeeded' FROM completed
),
successor AS (
    INSERT INTO tasks (kind, payload, max_attempts, order_id, traceparent,
                       state, attempts, locked_by, locked_until, attempted_at)
    SELECT m.next_kind, jsonb_build_object('order_id', m.id), m.next_max_attempts, m.id, NULL::text,
           CASE WHEN hand.over THEN 'running' ELSE 'available' END::task_state,
           CASE WHEN hand.over THEN 1 ELSE 0 END,
           CASE WHEN hand.over THEN 'ceiling-' || :client_id END,
           CASE WHEN hand.over THEN clock_timestamp() + make_interval(secs => 30) END,
           CASE WHEN hand.over THEN now() END
    FROM moved AS m
    CROSS JOIN LATERAL (
        SELECT m.next_kind = ANY (ARRAY['reserve_inventory', 'send_confirmation', 'refund_payment'])
               AND NOT EXISTS (SELECT 1 FROM queue_paused_kinds AS p WHERE p.kind = m.next_kind)
               AS over
    ) AS hand
    WHERE m.next_kind IS NOT NULL
    RETURNING id, kind, payload, state, attempts, max_attempts, order_id, traceparent, created_at
)
SELECT (SELECT status FROM the_order) AS order_status,
       EXISTS (SELECT 1 FROM lease) AS lease_held,
       EXISTS (SELECT 1 FROM completed) AS completed,
       moved.status AS moved_to,
       moved.snapshot,
       successor.id AS successor_id,
       successor.kind AS successor_kind,
       successor.payload AS successor_payload,
       successor.state = 'running' AS successor_handed,
       successor.attempts AS successor_attempts,
       successor.max_attempts AS successor_max_attempts,
       successor.traceparent AS successor_traceparent,
       successor.created_at AS successor_created_at,
       (SELECT count(pg_notify('asynccheckout_tasks', '')) FROM successor WHERE state = 'available') AS notified
FROM (SELECT) AS one
LEFT JOIN moved ON true
LEFT JOIN successor ON true
\gset
-- 4. reserve_inventory's end: the stock taken, confirmed, send_confirmation handed over.
WITH the_order AS MATERIALIZED (
    SELECT id, status FROM orders WHERE id = :order_id FOR UPDATE
),
lease AS MATERIALIZED (
    SELECT t.id, t.attempts, t.attempted_at
    FROM tasks AS t
    WHERE t.id = :successor_id AND t.state = 'running' AND t.locked_by = 'ceiling-' || :client_id AND t.attempts = 1
      AND EXISTS (SELECT 1 FROM the_order)
    FOR UPDATE
),
go AS MATERIALIZED (
    SELECT 1 FROM lease, the_order WHERE the_order.status = 'paid'::order_status
),
stock AS MATERIALIZED (
    SELECT i.sku, i.quantity, p.stock
    FROM order_items AS i
    JOIN products AS p ON p.sku = i.sku
    WHERE true AND i.order_id = :order_id AND EXISTS (SELECT 1 FROM go)
    ORDER BY i.sku
    FOR NO KEY UPDATE OF p
),
shortage AS MATERIALIZED (
    SELECT sku, quantity, stock FROM stock WHERE stock < quantity ORDER BY sku LIMIT 1
),
taken AS (
    UPDATE products AS p
    SET stock = p.stock - s.quantity, updated_at = now()
    FROM stock AS s
    WHERE p.sku = s.sku AND NOT EXISTS (SELECT 1 FROM shortage)
),
decided AS MATERIALIZED (
    SELECT CASE WHEN short.sku IS NULL THEN 'confirmed'::order_status ELSE 'refunding'::order_status END AS status,
           CASE WHEN short.sku IS NULL THEN 'stock reserved' ELSE 'out of stock after payment' END AS reason,
           CASE WHEN short.sku IS NULL THEN NULL::text ELSE 'out_of_stock' END AS failure_code,
           CASE WHEN short.sku IS NULL THEN NULL::text
                ELSE format('%s is out of stock: the order wants %s, %s left',
                            short.sku, short.quantity, short.stock)
           END AS failure_message,
           CASE WHEN short.sku IS NULL THEN 'send_confirmation' ELSE 'refund_payment' END AS next_kind,
           CASE WHEN short.sku IS NULL THEN 5 ELSE 10 END AS next_max_attempts
    FROM go
    LEFT JOIN shortage AS short ON true
),
moved AS (
    UPDATE orders AS o
    SET status = d.status,
        charge_id = coalesce(NULL::text, o.charge_id),
        refund_id = coalesce(NULL::text, o.refund_id),
        failure_code = coalesce(d.failure_code, o.failure_code),
        failure_message = coalesce(d.failure_message, o.failure_message),
        updated_at = now()
    FROM decided AS d
    WHERE o.id = :order_id AND o.status = 'paid'::order_status
    RETURNING o.id, o.status, d.reason, d.next_kind, d.next_max_attempts,
              to_jsonb(o) || jsonb_build_object('lines', order_lines_json(o.id)) AS snapshot
),
history AS (
    INSERT INTO order_history (order_id, status, reason)
    SELECT id, status, reason FROM moved
),
completed AS (
    UPDATE tasks AS t
    SET state = 'completed', locked_by = NULL, locked_until = NULL, finished_at = now()
    FROM lease
    WHERE t.id = lease.id AND EXISTS (SELECT 1 FROM moved)
    RETURNING t.id, t.attempts, t.attempted_at
),
attempt AS (
    INSERT INTO task_attempts (task_id, attempt, worker_id, started_at, finished_at, outcome)
    SELECT id, attempts, 'ceiling-' || :client_id, attempted_at, now(), 'succeeded' FROM completed
),
successor AS (
    INSERT INTO tasks (kind, payload, max_attempts, order_id, traceparent,
                       state, attempts, locked_by, locked_until, attempted_at)
    SELECT m.next_kind, jsonb_build_object('order_id', m.id), m.next_max_attempts, m.id, NULL::text,
           CASE WHEN hand.over THEN 'running' ELSE 'available' END::task_state,
           CASE WHEN hand.over THEN 1 ELSE 0 END,
           CASE WHEN hand.over THEN 'ceiling-' || :client_id END,
           CASE WHEN hand.over THEN clock_timestamp() + make_interval(secs => 30) END,
           CASE WHEN hand.over THEN now() END
    FROM moved AS m
    CROSS JOIN LATERAL (
        SELECT m.next_kind = ANY (ARRAY['reserve_inventory', 'send_confirmation', 'refund_payment'])
               AND NOT EXISTS (SELECT 1 FROM queue_paused_kinds AS p WHERE p.kind = m.next_kind)
               AS over
    ) AS hand
    WHERE m.next_kind IS NOT NULL
    RETURNING id, kind, payload, state, attempts, max_attempts, order_id, traceparent, created_at
)
SELECT (SELECT status FROM the_order) AS order_status,
       EXISTS (SELECT 1 FROM lease) AS lease_held,
       EXISTS (SELECT 1 FROM completed) AS completed,
       moved.status AS moved_to,
       moved.snapshot,
       successor.id AS successor_id,
       successor.kind AS successor_kind,
       successor.payload AS successor_payload,
       successor.state = 'running' AS successor_handed,
       successor.attempts AS successor_attempts,
       successor.max_attempts AS successor_max_attempts,
       successor.traceparent AS successor_traceparent,
       successor.created_at AS successor_created_at,
       (SELECT count(pg_notify('asynccheckout_tasks', '')) FROM successor WHERE state = 'available') AS notified
FROM (SELECT) AS one
LEFT JOIN moved ON true
LEFT JOIN successor ON true
\gset
-- 5. send_confirmation's end: completed.
WITH the_order AS MATERIALIZED (
    SELECT id, status FROM orders WHERE id = :order_id FOR UPDATE
),
lease AS MATERIALIZED (
    SELECT t.id, t.attempts, t.attempted_at
    FROM tasks AS t
    WHERE t.id = :successor_id AND t.state = 'running' AND t.locked_by = 'ceiling-' || :client_id AND t.attempts = 1
      AND EXISTS (SELECT 1 FROM the_order)
    FOR UPDATE
),
go AS MATERIALIZED (
    SELECT 1 FROM lease, the_order WHERE the_order.status = 'confirmed'::order_status
),
stock AS MATERIALIZED (
    SELECT i.sku, i.quantity, p.stock
    FROM order_items AS i
    JOIN products AS p ON p.sku = i.sku
    WHERE false AND i.order_id = :order_id AND EXISTS (SELECT 1 FROM go)
    ORDER BY i.sku
    FOR NO KEY UPDATE OF p
),
shortage AS MATERIALIZED (
    SELECT sku, quantity, stock FROM stock WHERE stock < quantity ORDER BY sku LIMIT 1
),
taken AS (
    UPDATE products AS p
    SET stock = p.stock - s.quantity, updated_at = now()
    FROM stock AS s
    WHERE p.sku = s.sku AND NOT EXISTS (SELECT 1 FROM shortage)
),
decided AS MATERIALIZED (
    SELECT CASE WHEN short.sku IS NULL THEN 'completed'::order_status ELSE 'refunding'::order_status END AS status,
           CASE WHEN short.sku IS NULL THEN 'confirmation sent' ELSE 'out of stock after payment' END AS reason,
           CASE WHEN short.sku IS NULL THEN NULL::text ELSE 'out_of_stock' END AS failure_code,
           CASE WHEN short.sku IS NULL THEN NULL::text
                ELSE format('%s is out of stock: the order wants %s, %s left',
                            short.sku, short.quantity, short.stock)
           END AS failure_message,
           CASE WHEN short.sku IS NULL THEN NULL::text ELSE 'refund_payment' END AS next_kind,
           CASE WHEN short.sku IS NULL THEN NULL::integer ELSE 10 END AS next_max_attempts
    FROM go
    LEFT JOIN shortage AS short ON true
),
moved AS (
    UPDATE orders AS o
    SET status = d.status,
        charge_id = coalesce(NULL::text, o.charge_id),
        refund_id = coalesce(NULL::text, o.refund_id),
        failure_code = coalesce(d.failure_code, o.failure_code),
        failure_message = coalesce(d.failure_message, o.failure_message),
        updated_at = now()
    FROM decided AS d
    WHERE o.id = :order_id AND o.status = 'confirmed'::order_status
    RETURNING o.id, o.status, d.reason, d.next_kind, d.next_max_attempts,
              to_jsonb(o) || jsonb_build_object('lines', order_lines_json(o.id)) AS snapshot
),
history AS (
    INSERT INTO order_history (order_id, status, reason)
    SELECT id, status, reason FROM moved
),
completed AS (
    UPDATE tasks AS t
    SET state = 'completed', locked_by = NULL, locked_until = NULL, finished_at = now()
    FROM lease
    WHERE t.id = lease.id AND EXISTS (SELECT 1 FROM moved)
    RETURNING t.id, t.attempts, t.attempted_at
),
attempt AS (
    INSERT INTO task_attempts (task_id, attempt, worker_id, started_at, finished_at, outcome)
    SELECT id, attempts, 'ceiling-' || :client_id, attempted_at, now(), 'succeeded' FROM completed
),
successor AS (
    INSERT INTO tasks (kind, payload, max_attempts, order_id, traceparent,
                       state, attempts, locked_by, locked_until, attempted_at)
    SELECT m.next_kind, jsonb_build_object('order_id', m.id), m.next_max_attempts, m.id, NULL::text,
           CASE WHEN hand.over THEN 'running' ELSE 'available' END::task_state,
           CASE WHEN hand.over THEN 1 ELSE 0 END,
           CASE WHEN hand.over THEN 'ceiling-' || :client_id END,
           CASE WHEN hand.over THEN clock_timestamp() + make_interval(secs => 30) END,
           CASE WHEN hand.over THEN now() END
    FROM moved AS m
    CROSS JOIN LATERAL (
        SELECT m.next_kind = ANY (ARRAY['reserve_inventory', 'send_confirmation', 'refund_payment'])
               AND NOT EXISTS (SELECT 1 FROM queue_paused_kinds AS p WHERE p.kind = m.next_kind)
               AS over
    ) AS hand
    WHERE m.next_kind IS NOT NULL
    RETURNING id, kind, payload, state, attempts, max_attempts, order_id, traceparent, created_at
)
SELECT (SELECT status FROM the_order) AS order_status,
       EXISTS (SELECT 1 FROM lease) AS lease_held,
       EXISTS (SELECT 1 FROM completed) AS completed,
       moved.status AS moved_to,
       moved.snapshot,
       successor.id AS successor_id,
       successor.kind AS successor_kind,
       successor.payload AS successor_payload,
       successor.state = 'running' AS successor_handed,
       successor.attempts AS successor_attempts,
       successor.max_attempts AS successor_max_attempts,
       successor.traceparent AS successor_traceparent,
       successor.created_at AS successor_created_at,
       (SELECT count(pg_notify('asynccheckout_tasks', '')) FROM successor WHERE state = 'available') AS notified
FROM (SELECT) AS one
LEFT JOIN moved ON true
LEFT JOIN successor ON true
;
-- A saga step's end in one statement (shared/src/orders/step_end.rs says
-- what each parameter is). The lab's saga ceiling runs this same text under
-- pgbench (lab/src/bench/ceiling.rs), so the two cannot drift apart.
WITH the_order AS MATERIALIZED (
    SELECT id, status, stock_reserved FROM orders WHERE id = $4 FOR UPDATE
),
lease AS MATERIALIZED (
    SELECT t.id, t.attempts, t.attempted_at
    FROM tasks AS t
    WHERE t.id = $1 AND t.state = 'running' AND t.locked_by = $2 AND t.attempts = $3
      -- Waits for the order's lock first.
      AND EXISTS (SELECT 1 FROM the_order)
    FOR UPDATE
),
go AS MATERIALIZED (
    SELECT 1 FROM lease, the_order WHERE the_order.status = $5
),
-- What the step does to stock: takes it ($14), or puts back what the order
-- holds ($24: a compensation; `stock_reserved` says whether it holds any,
-- and is cleared below, so stock goes back once).
stock_change AS MATERIALIZED (
    SELECT CASE WHEN $14::boolean THEN 'take'
                WHEN $24::boolean AND the_order.stock_reserved THEN 'release'
           END AS change
    FROM go, the_order
),
stock AS MATERIALIZED (
    -- NO KEY UPDATE: a new order's line takes KEY SHARE on its product.
    -- Every stock change locks its products in sku order, so none deadlock.
    SELECT i.sku, i.quantity, p.stock
    FROM order_items AS i
    JOIN products AS p ON p.sku = i.sku
    WHERE i.order_id = $4 AND EXISTS (SELECT 1 FROM stock_change WHERE change IS NOT NULL)
    ORDER BY i.sku
    FOR NO KEY UPDATE OF p
),
shortage AS MATERIALIZED (
    SELECT sku, quantity, stock FROM stock
    WHERE stock < quantity AND EXISTS (SELECT 1 FROM stock_change WHERE change = 'take')
    ORDER BY sku LIMIT 1
),
taken AS (
    UPDATE products AS p
    SET stock = CASE c.change WHEN 'take' THEN p.stock - s.quantity
                              ELSE p.stock + s.quantity END,
        updated_at = now()
    FROM stock AS s, stock_change AS c
    WHERE p.sku = s.sku AND NOT EXISTS (SELECT 1 FROM shortage)
),
decided AS MATERIALIZED (
    SELECT CASE WHEN short.sku IS NULL THEN $6::order_status ELSE $15::order_status END AS status,
           CASE WHEN short.sku IS NULL THEN $7::text ELSE $16::text END AS reason,
           CASE WHEN short.sku IS NULL THEN $10::text ELSE $17::text END AS failure_code,
           CASE WHEN short.sku IS NULL THEN $11::text
                ELSE format('%s is out of stock: the order wants %s, %s left',
                            short.sku, short.quantity, short.stock)
           END AS failure_message,
           CASE WHEN short.sku IS NULL THEN $12::text ELSE $18::text END AS next_kind,
           CASE WHEN short.sku IS NULL THEN $13::integer ELSE $19::integer END AS next_max_attempts
    FROM go
    LEFT JOIN shortage AS short ON true
),
moved AS (
    UPDATE orders AS o
    SET status = d.status,
        authorization_id = coalesce($25, o.authorization_id),
        charge_id = coalesce($8, o.charge_id),
        refund_id = coalesce($9, o.refund_id),
        failure_code = coalesce(d.failure_code, o.failure_code),
        failure_message = coalesce(d.failure_message, o.failure_message),
        -- Cleared when the stock goes back; the chart's trigger sets it on
        -- the moves that take stock (paid → confirmed, authorized → reserved).
        stock_reserved = o.stock_reserved AND c.change IS DISTINCT FROM 'release',
        updated_at = now()
    FROM decided AS d, stock_change AS c
    WHERE o.id = $4 AND o.status = $5
    RETURNING o.id, o.status, d.reason, d.next_kind, d.next_max_attempts,
              to_jsonb(o) || jsonb_build_object('lines', order_lines_json(o.id))
                  AS snapshot
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
    SELECT id, attempts, $2, attempted_at, now(), 'succeeded' FROM completed
),
successor AS (
    INSERT INTO tasks (kind, payload, max_attempts, order_id, traceparent,
                       state, attempts, locked_by, locked_until, attempted_at)
    SELECT m.next_kind, jsonb_build_object('order_id', m.id), m.next_max_attempts, m.id,
           $20,
           CASE WHEN hand.over THEN 'running' ELSE 'available' END::task_state,
           CASE WHEN hand.over THEN 1 ELSE 0 END,
           CASE WHEN hand.over THEN $2 END,
           -- The lease runs from the insert, not from the statement's start.
           CASE WHEN hand.over THEN clock_timestamp() + make_interval(secs => $22) END,
           CASE WHEN hand.over THEN now() END
    FROM moved AS m
    CROSS JOIN LATERAL (
        SELECT m.next_kind = ANY ($21)
               AND NOT EXISTS (SELECT 1 FROM queue_held_kinds AS p
                               WHERE p.kind = m.next_kind)
               AS over
    ) AS hand
    WHERE m.next_kind IS NOT NULL
    RETURNING id, kind, payload, state, attempts, max_attempts, created_at
)
SELECT (SELECT status FROM the_order) AS "order_status?: OrderStatus",
       EXISTS (SELECT 1 FROM lease) AS "lease_held!",
       moved.snapshot AS "snapshot?",
       successor.id AS "successor_id?: TaskId",
       successor.kind AS "successor_kind?",
       successor.payload AS "successor_payload?",
       successor.state = 'running' AS "successor_handed?",
       successor.attempts AS "successor_attempts?",
       successor.max_attempts AS "successor_max_attempts?",
       successor.created_at AS "successor_created_at?",
       -- Wakes the workers for a next step nobody was handed.
       (SELECT count(pg_notify($23, kind)) FROM successor WHERE state = 'available')
           AS "notified!"
FROM (SELECT) AS one
LEFT JOIN moved ON true
LEFT JOIN successor ON true

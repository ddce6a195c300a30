-- :n tasks per commit: claim them, complete them, enqueue their successors.
BEGIN;
WITH claimed AS (
    SELECT id FROM tasks
    WHERE state = 'ready' AND run_at <= now()
    ORDER BY run_at, id
    LIMIT :n
    FOR UPDATE SKIP LOCKED
),
completed AS (
    UPDATE tasks AS t SET state = 'done', attempts = t.attempts + 1
    FROM claimed WHERE t.id = claimed.id
    RETURNING t.order_id
)
SELECT array_agg(order_id) AS order_ids FROM completed \gset
INSERT INTO tasks (kind, order_id) SELECT 'next', x FROM unnest(:order_ids::uuid[]) AS x;
END;

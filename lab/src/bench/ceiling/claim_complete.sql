-- One task per commit: claim it, complete it, enqueue its successor.
BEGIN;
WITH claimed AS (
    SELECT id FROM tasks
    WHERE state = 'ready' AND run_at <= now()
    ORDER BY run_at, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
UPDATE tasks AS t SET state = 'done', attempts = t.attempts + 1
FROM claimed WHERE t.id = claimed.id
RETURNING t.order_id AS order_id \gset
INSERT INTO tasks (kind, order_id) VALUES ('next', :order_id);
END;

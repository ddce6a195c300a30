-- The saga's shape, one task at a time: claim it under a lease and commit
-- (the gateway call would happen here), then complete it and enqueue its
-- successor in a second commit.
WITH claimed AS (
    SELECT id FROM tasks
    WHERE state = 'ready' AND run_at <= now()
    ORDER BY run_at, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
UPDATE tasks AS t
SET state = 'running', attempts = t.attempts + 1, locked_until = now() + interval '30 seconds'
FROM claimed WHERE t.id = claimed.id
RETURNING t.id AS task_id, t.order_id AS order_id \gset
BEGIN;
UPDATE tasks SET state = 'done', locked_until = NULL WHERE id = :task_id AND state = 'running';
INSERT INTO tasks (kind, order_id) VALUES ('next', :order_id);
END;

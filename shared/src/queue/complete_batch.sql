-- Completing a batch of attempts, each fenced on its lease, recorded as
-- succeeded, and followed by its follow-ups only if its completion landed
-- (shared/src/queue/complete_batch.rs says what each parameter is). The
-- lab's queue ceiling runs this same statement.
WITH locked AS MATERIALIZED (
    -- In id order, as the heartbeat locks them: no deadlock between the two.
    SELECT id FROM tasks WHERE id = ANY ($2) ORDER BY id FOR UPDATE
),
completed AS (
    UPDATE tasks AS t
    SET state = 'completed', locked_by = NULL, locked_until = NULL, finished_at = now()
    FROM unnest($2::bigint[], $3::integer[]) AS held (id, attempt)
    WHERE t.id = held.id
      AND t.id IN (SELECT id FROM locked)
      AND t.attempts = held.attempt
      AND t.state = 'running'
      AND t.locked_by = $1
    RETURNING t.id, t.attempts, t.attempted_at
),
recorded AS (
    INSERT INTO task_attempts (task_id, attempt, worker_id, started_at, finished_at, outcome)
    SELECT id, attempts, $1, attempted_at, now(), 'succeeded'
    FROM completed
),
enqueued AS (
    INSERT INTO tasks (kind, payload, max_attempts, run_at, order_id, traceparent,
                       concurrency_key)
    SELECT next.kind, next.payload, next.max_attempts, coalesce(next.run_at, now()),
           next.order_id, next.traceparent, next.concurrency_key
    FROM unnest($4::bigint[], $5::text[], $6::jsonb[], $7::integer[],
                $8::timestamptz[], $9::uuid[], $10::text[], $12::text[])
         AS next (parent, kind, payload, max_attempts, run_at, order_id, traceparent,
                  concurrency_key)
    JOIN completed ON completed.id = next.parent
    -- A data-modifying CTE always runs to completion, RETURNING and
    -- all; PostgreSQL folds the identical notifications (one per
    -- kind) into one.
    RETURNING pg_notify($11, kind)
)
SELECT completed.id AS "id!: TaskId" FROM completed

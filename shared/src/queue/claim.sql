-- Claiming due tasks, oldest first, for a worker (shared/src/queue/claim.rs
-- says what each parameter is). The lab's queue ceiling runs this same
-- statement.
WITH claimable AS MATERIALIZED (
    SELECT id
    FROM tasks
    -- The kinds asked for less the paused ones, as one array: a
    -- generic plan estimates `kind <> ALL (paused)` at one row, and
    -- sorted a sequential scan of the whole table (49 ms a claim at
    -- 200,000 tasks, against 0.2 ms on the claim index).
    WHERE state = 'available' AND run_at <= now()
      AND kind = ANY (ARRAY(SELECT unnest($2::text[])
                            EXCEPT SELECT kind FROM queue_held_kinds))
    ORDER BY run_at, id
    LIMIT $3
    FOR UPDATE SKIP LOCKED
)
UPDATE tasks AS t
SET state = 'running',
    attempts = t.attempts + 1,
    locked_by = $1,
    locked_until = now() + make_interval(secs => $4),
    attempted_at = now()
-- An array, not a join: a generic plan of the join hash-joins a
-- sequential scan of the whole table (see the queue module's docs).
WHERE t.id = ANY (ARRAY(SELECT id FROM claimable))
RETURNING t.id AS "id: TaskId", t.kind, t.payload, t.attempts, t.max_attempts, t.order_id,
          t.traceparent, t.created_at,
          -- The order with its lines, so that the step need not read it.
          CASE WHEN t.order_id IS NOT NULL THEN order_snapshot(t.order_id) END
              AS order_snapshot

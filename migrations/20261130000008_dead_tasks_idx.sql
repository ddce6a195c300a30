-- no-transaction
-- The console lists and counts dead tasks by kind, newest first, without
-- reading the millions of finished ones around them. Built CONCURRENTLY
-- (outside a transaction: the line above), so a busy queue keeps running.
-- A build that fails (cancelled, out of disk) leaves an INVALID index that
-- IF NOT EXISTS would keep: `asynccheckout migrate` then stops with the
-- index named; DROP INDEX CONCURRENTLY tasks_dead_idx; and migrate again.
CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_dead_idx
    ON tasks (kind, id DESC) WHERE state = 'dead';

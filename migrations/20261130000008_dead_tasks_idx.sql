-- no-transaction
-- The console lists and counts dead tasks by kind, newest first, without
-- reading the millions of finished ones around them. Built CONCURRENTLY
-- (outside a transaction: the line above), so a busy queue keeps running.
CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_dead_idx
    ON tasks (kind, id DESC) WHERE state = 'dead';

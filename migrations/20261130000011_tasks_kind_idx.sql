-- no-transaction
-- The console lists a kind's tasks newest first. Without this a kind with
-- few recent tasks (refunds), or none (a mistyped name), is found by
-- reading the table backwards: seconds at millions of rows. It costs one
-- index entry per written row version (BENCHMARKS.md measures what that
-- does to the queue). Built CONCURRENTLY (the line above).
CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_kind_idx ON tasks (kind, id DESC);

-- no-transaction
-- The console lists a kind's tasks newest first. Without this a kind with
-- few recent tasks (refunds), or none (a mistyped name), is found by
-- reading the table backwards: seconds at millions of rows. It costs one
-- index entry per written row version (BENCHMARKS.md measures what that
-- does to the queue). Built CONCURRENTLY (the line above).
-- A build that fails (cancelled, out of disk) leaves an INVALID index that
-- IF NOT EXISTS would keep: `asynccheckout migrate` then stops with the
-- index named; DROP INDEX CONCURRENTLY tasks_kind_idx; and migrate again.
CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_kind_idx ON tasks (kind, id DESC);

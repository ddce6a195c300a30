-- Counts that stay fast at millions of rows: what the planner expects a
-- query to return, read from its statistics instead of from the rows (the
-- console shows such numbers as estimates). `query` must be built with
-- format('%L') for every value in it.
CREATE FUNCTION count_estimate(query text) RETURNS bigint
    LANGUAGE plpgsql
AS $$
DECLARE
    plan jsonb;
BEGIN
    EXECUTE 'EXPLAIN (FORMAT JSON) ' || query INTO plan;
    RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::bigint;
END
$$;

-- Kind and state together: without it the planner multiplies their
-- separate frequencies, and a rare kind's finished tasks are estimated
-- from the common ones.
CREATE STATISTICS tasks_kind_state (mcv) ON kind, state FROM tasks;

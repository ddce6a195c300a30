-- The functions every saga step calls, planned once per session rather than
-- at every call (BENCHMARKS.md, "Planned once").
--
-- rfc3339_utc was declared IMMUTABLE, but to_char and extract on a
-- timestamptz are STABLE (they read the session's settings), and PostgreSQL
-- does not inline an IMMUTABLE SQL function whose body is less than that.
-- So each call ran as a SQL function of its own, its body parsed and
-- planned again: an order's four event documents call it about 27 times,
-- which took 122,000 calls and 72,000 plans in a 30-second `bench saga`.
-- Declared STABLE, as its body is, it is inlined into the query that calls
-- it and planned with that query.
ALTER FUNCTION rfc3339_utc(timestamptz) STABLE;

-- A SQL function that cannot be inlined (these two read tables) is parsed
-- and planned at every call; PL/pgSQL keeps its plan for the session, as
-- order_document already does. Same results, same names.
CREATE OR REPLACE FUNCTION order_lines_json(order_id uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
        SELECT coalesce(jsonb_agg(jsonb_build_object('sku', i.sku,
                                                     'quantity', i.quantity,
                                                     'unit_price_cents', i.unit_price_cents)
                                  ORDER BY i.line),
                        '[]')
        FROM order_items i
        WHERE i.order_id = order_lines_json.order_id);
END;
$$;

CREATE OR REPLACE FUNCTION order_snapshot(order_id uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
        SELECT to_jsonb(o) || jsonb_build_object('lines', order_lines_json(o.id))
        FROM orders o
        WHERE o.id = order_snapshot.order_id);
END;
$$;

-- An order as a saga step needs it, as one JSON value: the order row with
-- its lines. The claim returns it beside each task, and a step's end
-- returns its successor's, so a step does not read its order again
-- (shared/src/orders/snapshot.rs reads it).
CREATE FUNCTION order_lines_json(order_id uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object('sku', i.sku,
                                                 'quantity', i.quantity,
                                                 'unit_price_cents', i.unit_price_cents)
                              ORDER BY i.line),
                    '[]')
    FROM order_items i
    WHERE i.order_id = order_lines_json.order_id
$$;

CREATE FUNCTION order_snapshot(order_id uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT to_jsonb(o) || jsonb_build_object('lines', order_lines_json(o.id))
    FROM orders o
    WHERE o.id = order_snapshot.order_id
$$;

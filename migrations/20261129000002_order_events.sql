-- Order events: one per status an order takes, written by a trigger on
-- order_history, so in the very transaction that moved the order (no dual
-- write), with the order as the API shows it at that moment.
--
-- Public ids are handed out in commit order by a sequencer, not at insert:
-- an identity value is taken at insert, and transactions commit in another
-- order, so a reader that resumed after id N could miss an event that
-- committed later with a smaller id. Each event is inserted with `id` NULL;
-- the sequencer (shared/src/events/sequencer.rs) numbers the committed ones,
-- one round at a time under a lock, each round's numbers above the last
-- round's. So once id N is readable, every event that will ever have an id
-- below N is readable too.

CREATE TABLE order_events (
    -- Insert order; internal.
    seq        bigint       GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The public id, in commit order; NULL until sequenced.
    id         bigint       UNIQUE,
    order_id   uuid         NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    type       text         NOT NULL CHECK (type ~ '^order\.[a-z_]+$'),
    created_at timestamptz  NOT NULL DEFAULT now(),
    data       jsonb        NOT NULL
);

-- What the sequencer looks for: few rows, always.
CREATE INDEX order_events_unsequenced_idx ON order_events (seq) WHERE id IS NULL;
-- One order's events, in order.
CREATE INDEX order_events_order_idx ON order_events (order_id, id) WHERE id IS NOT NULL;
-- Pruning by age.
CREATE INDEX order_events_created_idx ON order_events (created_at);

-- The last public id handed out.
CREATE TABLE order_event_sequence (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    last_id   bigint  NOT NULL
);
INSERT INTO order_event_sequence (last_id) VALUES (0);

-- A timestamp as the API writes it: RFC 3339 in UTC, microseconds.
CREATE FUNCTION rfc3339_utc(at timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

-- The order as `GET /v1/orders/{id}` shows it (api/src/views.rs, OrderView;
-- tests/saga/events.rs holds the two to the same shape).
CREATE FUNCTION order_document(order_id uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', o.id,
        'status', o.status,
        'customer_email', o.customer_email,
        'currency', o.currency,
        'total_cents', o.total_cents,
        'items', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'sku', i.sku,
                       'quantity', i.quantity,
                       'unit_price_cents', i.unit_price_cents) ORDER BY i.line)
            FROM order_items i WHERE i.order_id = o.id), '[]'::jsonb),
        'payment', jsonb_build_object('charge_id', o.charge_id, 'refund_id', o.refund_id),
        'failure', CASE WHEN o.failure_code IS NULL THEN NULL
                        ELSE jsonb_build_object('code', o.failure_code,
                                                'message', o.failure_message) END,
        'metadata', o.metadata,
        'created_at', rfc3339_utc(o.created_at),
        'updated_at', rfc3339_utc(o.updated_at),
        'history', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'status', h.status,
                       'at', rfc3339_utc(h.at),
                       'reason', h.reason) ORDER BY h.id)
            FROM order_history h WHERE h.order_id = o.id), '[]'::jsonb),
        'tasks', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'id', t.id,
                       'kind', t.kind,
                       'state', t.state,
                       'attempts', t.attempts,
                       'max_attempts', t.max_attempts,
                       'last_error', t.last_error,
                       'run_at', rfc3339_utc(t.run_at)) ORDER BY t.id)
            FROM tasks t WHERE t.order_id = o.id), '[]'::jsonb))
    FROM orders o
    WHERE o.id = order_document.order_id
$$;

-- An order's new status is an event; the sequencer is told at commit.
CREATE FUNCTION order_history_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO order_events (order_id, type, created_at, data)
    VALUES (NEW.order_id, 'order.' || NEW.status, NEW.at, order_document(NEW.order_id));
    PERFORM pg_notify('order_events_written', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER order_history_event
    AFTER INSERT ON order_history
    FOR EACH ROW EXECUTE FUNCTION order_history_event();

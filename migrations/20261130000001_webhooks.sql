-- Webhooks: endpoints a merchant registers, and one delivery per (event,
-- endpoint), each delivered by a task of its own kind (`deliver_webhook`).
--
-- The deliveries and their tasks are written by the same trigger that
-- writes the event, so in the transaction that moved the order: an event
-- that commits has its deliveries queued, and one that rolls back has none.

-- A task may name a concurrency key: a claim that limits keys (the webhook
-- lane's) takes a key's tasks only while fewer than its limit of them run.
-- Webhook deliveries are keyed by their endpoint, so one busy or dead
-- endpoint holds at most that many slots, whatever its backlog.
ALTER TABLE tasks ADD COLUMN concurrency_key text CHECK (length(concurrency_key) <= 200);
-- How many of a key's tasks run.
CREATE INDEX tasks_running_key_idx ON tasks (concurrency_key)
    WHERE state = 'running' AND concurrency_key IS NOT NULL;
-- A key's due tasks, oldest first.
CREATE INDEX tasks_available_key_idx ON tasks (kind, concurrency_key, run_at, id)
    WHERE state = 'available';

ALTER TABLE api_keys DROP CONSTRAINT api_keys_scopes_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scopes_check
    CHECK (scopes <@ ARRAY['orders:write', 'orders:read', 'catalog:write', 'webhooks:write', 'admin']::text[]
           AND cardinality(scopes) >= 1);

CREATE TABLE webhook_endpoints (
    id                         uuid        PRIMARY KEY,
    url                        text        NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
    description                text        NOT NULL DEFAULT '' CHECK (length(description) <= 500),
    -- The event types sent; empty means every type.
    event_types                text[]      NOT NULL DEFAULT '{}',
    enabled                    boolean     NOT NULL DEFAULT true,
    -- Why it was disabled: by hand, a 410, or failing for too long.
    disabled_reason            text,
    -- `whsec_` + base64 of 32 random bytes. Kept in clear: signing needs it.
    secret                     text        NOT NULL,
    -- After a rotation, the old secret signs too until it expires.
    previous_secret            text,
    previous_secret_expires_at timestamptz,
    -- Since when every delivery to it has failed; NULL after a success.
    failing_since              timestamptz,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now(),
    CHECK ((previous_secret IS NULL) = (previous_secret_expires_at IS NULL))
);

CREATE TABLE webhook_deliveries (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint_id uuid        NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    -- The event (its insert order; its public id may not be handed out yet).
    event_seq   bigint      NOT NULL REFERENCES order_events (seq) ON DELETE CASCADE,
    state       text        NOT NULL DEFAULT 'pending'
                            CHECK (state IN ('pending', 'succeeded', 'failed')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    CHECK ((state = 'pending') = (finished_at IS NULL))
);

-- An endpoint's deliveries, newest first.
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, id DESC);
-- Deleting an event (retention) finds its deliveries.
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_seq);

-- Every request made for a delivery, automatic or re-sent by hand.
CREATE TABLE webhook_delivery_attempts (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id   bigint      NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    at            timestamptz NOT NULL DEFAULT now(),
    -- The HTTP status; NULL when no answer came (refused, timed out, …).
    status_code   integer,
    latency_ms    integer     NOT NULL CHECK (latency_ms >= 0),
    error         text,
    -- The start of the answer's body, cut short.
    response_body text
);

CREATE INDEX webhook_delivery_attempts_delivery_idx ON webhook_delivery_attempts (delivery_id, id);

-- A timestamp exactly as the API writes one (chrono's to_rfc3339): the
-- fraction only as long as needed (none, milliseconds or microseconds) and
-- the offset as +00:00, so that a webhook's body and the API's answer for
-- the same event are the same text.
CREATE OR REPLACE FUNCTION rfc3339_utc(at timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
        || CASE
               WHEN extract(microseconds FROM at)::bigint % 1000000 = 0 THEN ''
               WHEN extract(microseconds FROM at)::bigint % 1000 = 0
                   THEN to_char(at AT TIME ZONE 'UTC', '.MS')
               ELSE to_char(at AT TIME ZONE 'UTC', '.US')
           END
        || '+00:00'
$$;

-- The order as the API shows it, as before, in PL/pgSQL: a SQL function
-- that is not inlined is parsed and planned again at every call, and the
-- trigger below calls this one at every transition (under load, that
-- parsing was most of PostgreSQL's CPU); PL/pgSQL keeps its plan for the
-- session.
CREATE OR REPLACE FUNCTION order_document(order_id uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT jsonb_build_object(
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
    WHERE o.id = order_document.order_id);
END;
$$;

-- An order's new status is an event, and every enabled endpoint subscribed
-- to the type gets a delivery task.
--
-- Nothing is notified any more, neither here nor for the deliveries:
-- PostgreSQL serializes the commits of every transaction that notifies
-- (one database-wide lock held through the commit's flush), and a NOTIFY in
-- every transition made every saga step take its turn there. The API's feed
-- looks for new events every few milliseconds instead (a probe of a partial
-- index), and the webhook lane of each worker polls on its own.
CREATE OR REPLACE FUNCTION order_history_event() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    event_type text := 'order.' || NEW.status;
    event_seq  bigint;
BEGIN
    INSERT INTO order_events (order_id, type, created_at, data)
    VALUES (NEW.order_id, event_type, NEW.at, order_document(NEW.order_id))
    RETURNING seq INTO event_seq;

    WITH deliveries AS (
        INSERT INTO webhook_deliveries (endpoint_id, event_seq)
        SELECT e.id, event_seq
        FROM webhook_endpoints e
        WHERE e.enabled
          AND (cardinality(e.event_types) = 0 OR event_type = ANY (e.event_types))
        RETURNING id, endpoint_id
    )
    -- The retry schedule, not max_attempts, ends a delivery (the worker's
    -- WEBHOOK_RETRY_SCHEDULE); this is only a backstop.
    INSERT INTO tasks (kind, payload, max_attempts, concurrency_key)
    SELECT 'deliver_webhook', jsonb_build_object('delivery_id', id), 1000,
           'webhook-endpoint:' || endpoint_id
    FROM deliveries;
    RETURN NULL;
END;
$$;

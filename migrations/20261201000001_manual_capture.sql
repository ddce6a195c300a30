-- Two-phase payment (issue: payments as real shops run them).
--
-- An order is paid one of two ways, chosen when it is placed:
--
-- * automatic (as before): charge, reserve the stock, send the
--   confirmation; when the stock is short after the charge, refund it.
-- * manual: authorize (a hold on the card), reserve the stock, capture the
--   hold, send the confirmation; when the stock is short, void the hold:
--   nothing was ever taken, so nothing is refunded.
--
-- The manual chart (shared/src/orders/status.rs has the whole one):
--
--   pending --authorized--> authorized --stock reserved--> reserved --captured--> confirmed
--      |                        | short                       | capture impossible
--      |                        v                             v
--      +--outcome unknown--> voiding <------------------------+ --hold released--> failed
--
-- `voiding` is the compensation: the hold is voided (or, should it have been
-- captured after all, the capture refunded) and any stock the order took is
-- put back, in the statement that ends the order `failed`.
--
-- Cancelling after payment: an order that is authorized, reserved, paid or
-- confirmed can still be cancelled until its confirmation is sent. It goes
-- to `cancelling`, whose step (`cancel_payment`) voids the hold or refunds
-- the charge, puts back any stock the order holds, and ends it `cancelled`.

-- New values of an enum cannot be used in the transaction that adds them;
-- nothing below uses them as values (the guard compares text at run time).
ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'authorized';
ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'reserved';
ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'voiding';
ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'cancelling';

ALTER TABLE orders
    -- How the order is paid; every order before this migration was automatic.
    ADD COLUMN capture_method text NOT NULL DEFAULT 'automatic',
    -- The gateway's payment intent holding the money, for a manual order.
    ADD COLUMN authorization_id text,
    -- Whether the order holds stock now: set by the chart's trigger on the
    -- moves that take it (below), cleared by the step end that puts it
    -- back, so it goes back once.
    ADD COLUMN stock_reserved boolean NOT NULL DEFAULT false;

-- Every existing row has the default; NOT VALID skips a scan of the table
-- under its lock, and the check holds for every row written from now on.
ALTER TABLE orders
    ADD CONSTRAINT orders_capture_method_known
        CHECK (capture_method IN ('automatic', 'manual')) NOT VALID;

-- Orders that took their stock and have not finished hold it.
UPDATE orders SET stock_reserved = true WHERE status = 'confirmed';

-- The order chart (shared/src/orders/status.rs): the manual path, its
-- compensation, and the cancel after payment. A move that takes the stock
-- (paid → confirmed, authorized → reserved) marks the order as holding it,
-- here where every move passes, whatever code made it (a worker of the
-- previous version during a rolling deploy included): a cancel must know to
-- put the stock back.
CREATE OR REPLACE FUNCTION orders_refuse_illegal_transition() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = OLD.status THEN
        RETURN NEW;
    END IF;
    IF (OLD.status::text, NEW.status::text) IN (('paid', 'confirmed'), ('authorized', 'reserved')) THEN
        NEW.stock_reserved := true;
    END IF;
    IF (OLD.status::text, NEW.status::text) IN (
        ('pending', 'paid'), ('pending', 'failed'), ('pending', 'cancelled'), ('pending', 'refunding'),
        ('pending', 'authorized'), ('pending', 'voiding'),
        ('paid', 'confirmed'), ('paid', 'refunding'), ('paid', 'cancelling'),
        ('authorized', 'reserved'), ('authorized', 'voiding'), ('authorized', 'cancelling'),
        ('reserved', 'confirmed'), ('reserved', 'voiding'), ('reserved', 'cancelling'),
        ('confirmed', 'completed'), ('confirmed', 'cancelling'),
        ('refunding', 'refunded'),
        ('voiding', 'failed'),
        ('cancelling', 'cancelled')
    ) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'an order cannot go from % to %', OLD.status, NEW.status
        USING ERRCODE = 'check_violation';
END
$$;

-- The order as the API shows it, its payment now with the capture method
-- and the authorization (api/src/views.rs, PaymentView).
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
        'payment', jsonb_build_object('capture_method', o.capture_method,
                                      'authorization_id', o.authorization_id,
                                      'charge_id', o.charge_id,
                                      'refund_id', o.refund_id),
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

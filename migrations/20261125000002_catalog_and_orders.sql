-- The catalog, orders with their lines and history, and idempotency keys.

CREATE TABLE products (
    sku          text        PRIMARY KEY CHECK (sku ~ '^[A-Za-z0-9._-]{1,64}$'),
    name         text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    price_cents  bigint      NOT NULL CHECK (price_cents >= 0),
    currency     text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    -- Stock can never go below zero, whatever the code does.
    stock        integer     NOT NULL CHECK (stock >= 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TYPE order_status AS ENUM (
    'pending', 'paid', 'confirmed', 'completed', 'failed', 'cancelled', 'refunding', 'refunded'
);

CREATE TABLE orders (
    -- UUIDv7, made by the API: time-ordered, so newest-first is id order.
    id               uuid         PRIMARY KEY,
    status           order_status NOT NULL DEFAULT 'pending',
    customer_email   text         NOT NULL CHECK (char_length(customer_email) BETWEEN 3 AND 254),
    currency         text         NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    total_cents      bigint       NOT NULL CHECK (total_cents >= 0),
    payment_token    text         NOT NULL,
    metadata         jsonb        NOT NULL DEFAULT '{}'::jsonb,
    charge_id        text,
    refund_id        text,
    failure_code     text,
    failure_message  text,
    created_at       timestamptz  NOT NULL DEFAULT now(),
    updated_at       timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT orders_failure_complete CHECK ((failure_code IS NULL) = (failure_message IS NULL)),
    -- A refund needs a charge to refund (or the knowledge that there was none).
    CONSTRAINT orders_refund_after_charge CHECK (refund_id IS NULL OR charge_id IS NOT NULL)
);

CREATE INDEX orders_status_idx ON orders (status, id DESC);

-- The order chart (shared/src/orders/status.rs), enforced here too: a move
-- that is not on it is refused whatever code attempts it.
CREATE FUNCTION orders_refuse_illegal_transition() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = OLD.status THEN
        RETURN NEW;
    END IF;
    IF (OLD.status, NEW.status) IN (
        ('pending', 'paid'), ('pending', 'failed'), ('pending', 'cancelled'), ('pending', 'refunding'),
        ('paid', 'confirmed'), ('paid', 'refunding'),
        ('confirmed', 'completed'),
        ('refunding', 'refunded')
    ) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'an order cannot go from % to %', OLD.status, NEW.status
        USING ERRCODE = 'check_violation';
END
$$;

CREATE TRIGGER orders_transition_guard
    BEFORE UPDATE OF status ON orders
    FOR EACH ROW EXECUTE FUNCTION orders_refuse_illegal_transition();

CREATE TABLE order_items (
    order_id          uuid    NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    line              integer NOT NULL CHECK (line BETWEEN 1 AND 100),
    sku               text    NOT NULL REFERENCES products (sku),
    quantity          integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
    -- The catalog price when the order was placed.
    unit_price_cents  bigint  NOT NULL CHECK (unit_price_cents >= 0),
    PRIMARY KEY (order_id, line),
    UNIQUE (order_id, sku)
);

-- Every status an order has had, written in the transaction that set it.
CREATE TABLE order_history (
    id        bigint       GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id  uuid         NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    status    order_status NOT NULL,
    reason    text,
    at        timestamptz  NOT NULL DEFAULT now()
);

CREATE INDEX order_history_order_idx ON order_history (order_id, id);

-- POST /v1/orders idempotency: one row per (client, key), holding the
-- request it first came with and the order it made.
CREATE TABLE idempotency_keys (
    -- Who used the key (the API key's id once authentication exists; '' before).
    scope       text        NOT NULL,
    key         text        NOT NULL CHECK (key ~ '^[\x20-\x7E]{1,255}$'),
    -- The request, as parsed and normalised: a replay must match it.
    request     jsonb       NOT NULL,
    order_id    uuid        NOT NULL REFERENCES orders (id) ON DELETE CASCADE
                            DEFERRABLE INITIALLY DEFERRED,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);

CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- Tasks that move an order name it, so the order's view can list them.
ALTER TABLE tasks ADD COLUMN order_id uuid;
CREATE INDEX tasks_order_idx ON tasks (order_id) WHERE order_id IS NOT NULL;

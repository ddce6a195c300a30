-- Formats checked when a value is written, not at every update of its row.
--
-- PostgreSQL evaluates every CHECK constraint of a table at every UPDATE of
-- a row, whichever columns the UPDATE sets. A task is updated at its claim
-- and at its end, an order at each transition, a product at each stock
-- reservation, and each of those updates ran the regular expressions on the
-- task's kind and trace context, the order's currency and the product's SKU
-- and currency again: 5% of the server's CPU while the queue drains (`bench
-- queue`, perf). The same formats are now checked by a trigger that fires
-- on an INSERT, and on an UPDATE only when it sets one of those columns.
--
-- The columns keep their types, so statements that processes of the
-- previous version have prepared still return what they did. Nothing is
-- scanned or rebuilt: the rows there are passed the same formats when they
-- were written. A value refused is refused with SQLSTATE 23514
-- (check_violation) and the name of the constraint it replaces, as before,
-- and a message that says which format. The triggers fire ALWAYS, as a
-- constraint did: also where `session_replication_role` is `replica`
-- (logical replication's apply).

CREATE FUNCTION tasks_check_formats() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.kind !~ '^[a-z][a-z0-9_.]{0,62}$' THEN
        RAISE EXCEPTION 'a task''s kind must be a lower-case letter, then up to 62 lower-case letters, digits, "_" or "."; got %',
            quote_literal(NEW.kind)
            USING ERRCODE = 'check_violation', TABLE = 'tasks', COLUMN = 'kind',
                  CONSTRAINT = 'tasks_kind_check';
    END IF;
    IF NEW.traceparent !~ '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$' THEN
        RAISE EXCEPTION 'a task''s traceparent must be a W3C trace context (00-<32 hex>-<16 hex>-<2 hex>); got %',
            quote_literal(NEW.traceparent)
            USING ERRCODE = 'check_violation', TABLE = 'tasks', COLUMN = 'traceparent',
                  CONSTRAINT = 'tasks_traceparent_check';
    END IF;
    RETURN NEW;
END
$$;

CREATE FUNCTION orders_check_formats() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.currency !~ '^[A-Z]{3}$' THEN
        RAISE EXCEPTION 'an order''s currency must be three upper-case letters (ISO 4217); got %',
            quote_literal(NEW.currency)
            USING ERRCODE = 'check_violation', TABLE = 'orders', COLUMN = 'currency',
                  CONSTRAINT = 'orders_currency_check';
    END IF;
    RETURN NEW;
END
$$;

CREATE FUNCTION products_check_formats() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.sku !~ '^[A-Za-z0-9._-]{1,64}$' THEN
        RAISE EXCEPTION 'a product''s SKU must be 1 to 64 letters, digits, ".", "_" or "-"; got %',
            quote_literal(NEW.sku)
            USING ERRCODE = 'check_violation', TABLE = 'products', COLUMN = 'sku',
                  CONSTRAINT = 'products_sku_check';
    END IF;
    IF NEW.currency !~ '^[A-Z]{3}$' THEN
        RAISE EXCEPTION 'a product''s currency must be three upper-case letters (ISO 4217); got %',
            quote_literal(NEW.currency)
            USING ERRCODE = 'check_violation', TABLE = 'products', COLUMN = 'currency',
                  CONSTRAINT = 'products_currency_check';
    END IF;
    RETURN NEW;
END
$$;

-- The strongest lock on all three first, in the order a step's end takes
-- them (the order, then the stock, then the tasks): nothing to upgrade
-- later. For an instant: nothing below scans or rewrites a table.
LOCK TABLE orders, products, tasks IN ACCESS EXCLUSIVE MODE;

CREATE TRIGGER products_formats
    BEFORE INSERT OR UPDATE OF sku, currency ON products
    FOR EACH ROW EXECUTE FUNCTION products_check_formats();
ALTER TABLE products
    ENABLE ALWAYS TRIGGER products_formats,
    DROP CONSTRAINT products_sku_check,
    DROP CONSTRAINT products_currency_check;

CREATE TRIGGER orders_formats
    BEFORE INSERT OR UPDATE OF currency ON orders
    FOR EACH ROW EXECUTE FUNCTION orders_check_formats();
ALTER TABLE orders
    ENABLE ALWAYS TRIGGER orders_formats,
    DROP CONSTRAINT orders_currency_check;

CREATE TRIGGER tasks_formats
    BEFORE INSERT OR UPDATE OF kind, traceparent ON tasks
    FOR EACH ROW EXECUTE FUNCTION tasks_check_formats();
ALTER TABLE tasks
    ENABLE ALWAYS TRIGGER tasks_formats,
    DROP CONSTRAINT tasks_kind_check,
    DROP CONSTRAINT tasks_traceparent_check;

-- Formats checked when a value is written, not at every update of its row.
--
-- PostgreSQL evaluates every CHECK constraint of a table at every UPDATE of
-- a row, whichever columns the UPDATE sets. A task is updated at its claim
-- and at its end, an order at each transition, and each update ran the
-- regular expressions on the task's kind and trace context and on the
-- order's currency again: 5% of the server's CPU while the queue drains
-- (`bench queue`, perf). A domain's constraint is checked when a value is
-- coerced to it (an INSERT, or an UPDATE that sets that column) and never
-- for a column an UPDATE leaves as it was. The formats are the same as the
-- CHECK constraints they replace.
--
-- Each column first takes a domain without a constraint, which PostgreSQL
-- does without rewriting the table or its indexes; the domain's constraint
-- is then added, which reads the rows once to validate them.

CREATE DOMAIN task_kind AS text;
CREATE DOMAIN trace_parent AS text;
CREATE DOMAIN currency_code AS text;

ALTER TABLE tasks
    ALTER COLUMN kind TYPE task_kind,
    ALTER COLUMN traceparent TYPE trace_parent;
ALTER TABLE orders ALTER COLUMN currency TYPE currency_code;
ALTER TABLE products ALTER COLUMN currency TYPE currency_code;

ALTER DOMAIN task_kind
    ADD CONSTRAINT task_kind_format CHECK (VALUE ~ '^[a-z][a-z0-9_.]{0,62}$');
ALTER DOMAIN trace_parent
    ADD CONSTRAINT trace_parent_format CHECK (VALUE ~ '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$');
ALTER DOMAIN currency_code
    ADD CONSTRAINT currency_code_format CHECK (VALUE ~ '^[A-Z]{3}$');

ALTER TABLE tasks
    DROP CONSTRAINT tasks_kind_check,
    DROP CONSTRAINT tasks_traceparent_check;
ALTER TABLE orders DROP CONSTRAINT orders_currency_check;
ALTER TABLE products DROP CONSTRAINT products_currency_check;

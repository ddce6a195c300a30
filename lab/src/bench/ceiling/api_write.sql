-- POST /v1/orders at its barest: the order row and its first task, one commit.
\set amount random(100, 100000)
\set customer random(1, 100000)
BEGIN;
INSERT INTO orders (customer, amount_cents, idempotency_key)
VALUES ('customer-' || :customer, :amount, gen_random_uuid()::text)
RETURNING id AS order_id \gset
INSERT INTO tasks (kind, order_id) VALUES ('charge', :order_id);
END;

-- Placing an order (shared::orders::place): its lines priced from the
-- catalogue, the idempotency key claimed, then the order, its lines, its
-- first history row and its first task, in one statement.
--
-- Nothing is written unless every line's product exists, they are all priced
-- in one currency and the total fits in a bigint; the statement then still
-- returns what it read, from which the caller names each line at fault. Each
-- insert after the key's takes its rows from the one before, so when the key
-- was claimed already nothing else is written either.
WITH requested AS (
    SELECT *
    FROM unnest($8::integer[], $9::text[], $10::integer[]) AS line (line, sku, quantity)
),
priced AS MATERIALIZED (
    SELECT requested.line, requested.sku, requested.quantity,
           products.price_cents, products.currency
    FROM requested
    JOIN products ON products.sku = requested.sku
),
verdict AS MATERIALIZED (
    SELECT coalesce(count(*) = cardinality($9::text[])
                    AND count(DISTINCT currency) = 1
                    AND sum(price_cents::numeric * quantity) <= 9223372036854775807,
                    false) AS priced,
           min(currency) AS currency,
           sum(price_cents::numeric * quantity) AS total_cents,
           array_agg(sku ORDER BY line) AS skus,
           array_agg(price_cents ORDER BY line) AS prices,
           array_agg(currency ORDER BY line) AS currencies
    FROM priced
),
claimed AS (
    INSERT INTO idempotency_keys (scope, key, request, order_id)
    SELECT $1, $2, $3, $4 FROM verdict WHERE verdict.priced
    ON CONFLICT (scope, key) DO NOTHING
    RETURNING order_id
),
placed AS (
    INSERT INTO orders (id, customer_email, currency, total_cents, payment_token, metadata,
                        capture_method)
    SELECT claimed.order_id, $5, verdict.currency, verdict.total_cents::bigint, $6, $7, $15
    FROM claimed, verdict
    RETURNING id
),
lines AS (
    INSERT INTO order_items (order_id, line, sku, quantity, unit_price_cents)
    SELECT placed.id, priced.line, priced.sku, priced.quantity, priced.price_cents
    FROM placed, priced
),
history AS (
    INSERT INTO order_history (order_id, status, reason)
    SELECT id, 'pending', $14 FROM placed
),
first_task AS (
    INSERT INTO tasks (kind, payload, max_attempts, order_id, traceparent)
    SELECT $11, jsonb_build_object('order_id', id), $12, id, $13 FROM placed
    RETURNING id
)
SELECT (SELECT id FROM first_task) AS "task?: TaskId",
       now() AS "at!",
       verdict.priced AS "priced!",
       coalesce(verdict.skus, '{}') AS "skus!",
       coalesce(verdict.prices, '{}') AS "prices!",
       coalesce(verdict.currencies, '{}') AS "currencies!"
FROM verdict

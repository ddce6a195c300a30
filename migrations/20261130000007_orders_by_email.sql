-- no-transaction
-- An operator finds a shopper's orders by e-mail (the console's order
-- search): exact, case-insensitive, newest first. Built CONCURRENTLY, so a
-- deployment with millions of orders keeps taking them while it builds
-- (which needs the migration outside a transaction: the line above).
CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_email_idx
    ON orders (lower(customer_email), id DESC);

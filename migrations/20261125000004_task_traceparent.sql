-- The W3C trace context a task continues: the API request that placed the
-- order starts the trace, and each step hands it to the next.
ALTER TABLE tasks ADD COLUMN traceparent text
    CHECK (traceparent ~ '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$');

-- Order events numbered as they are written, from their transaction's id,
-- and read only below the horizon of transactions still in flight.
--
-- Until now each event was inserted without a public id, and the API's
-- sequencer numbered the committed ones in rounds under a lock: an UPDATE
-- of every event (a second copy of its row and of its document, new entries
-- in each of its indexes, since `id` is indexed) and a round every 250 ms
-- holding a lock for ~10 ms under load. That was a quarter of the WAL per
-- order and the p99 at 175 orders/s (BENCHMARKS.md, "Events numbered at
-- insert").
--
-- Now each event takes its id as it is written (the column's default):
--
--     id = (the top-level transaction id, pg_current_xact_id()) * 2^10
--          + the event's ordinal in its transaction (1 to 1023)
--          + an offset fixed here
--
-- and readers serve only ids below order_events_horizon(), the same formula
-- at the horizon `pg_snapshot_xmin(pg_current_snapshot())`: every
-- transaction below it has ended, so no event will ever appear below an id
-- that was served, and a reader that resumes after id N misses nothing.
-- The cost: an event is readable only once every transaction that began
-- writing before it has ended, so a long transaction that writes, anywhere
-- on the server, holds the feed back until it ends (nothing is lost; see
-- `asynccheckout_event_horizon_held_seconds`).
--
-- The offset puts the first id above every id handed out before, and
-- counts transactions from this migration on, so ids stay below 2^53
-- (exact in JavaScript) for 2^43 transactions: 28 years at 10,000 a
-- second. A transaction may write at most 1,023 events (the product's
-- largest writes 500). A database restored into another cluster
-- (pg_dump, logical replication) starts counting transactions again from
-- low: run `SELECT order_events_rebase()` there before the first write,
-- as README.md says; pg_upgrade keeps the count and needs nothing.

-- No event is written or read while the last ones are numbered the old way
-- and the column changes (the strongest lock first: nothing to upgrade).
LOCK TABLE order_events IN ACCESS EXCLUSIVE MODE;

-- The last round of the old sequencer: every event written before this
-- migration is numbered, above the ids it had handed out.
WITH pending AS MATERIALIZED (
    SELECT seq, row_number() OVER (ORDER BY seq) AS n
    FROM order_events
    WHERE id IS NULL
),
counter AS (
    SELECT last_id FROM order_event_sequence
)
UPDATE order_events e
SET id = counter.last_id + pending.n
FROM pending, counter
WHERE e.seq = pending.seq;

ALTER TABLE order_events ALTER COLUMN id SET NOT NULL;
DROP INDEX order_events_unsequenced_idx;

-- Sets the offset so that every id written from now on is above every id
-- there is, including the ids of transactions already running (they may
-- write an event later): it counts from the oldest of them. Defines
-- next_order_event_id() and order_events_horizon() with it as a constant
-- (no table read per event, and the horizon stays inlinable).
CREATE FUNCTION order_events_rebase() RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $rebase$
DECLARE
    base bigint := (SELECT coalesce(max(id), 0) FROM order_events)
                   - (pg_snapshot_xmin(pg_current_snapshot())::text::bigint << 10);
BEGIN
    EXECUTE format($f$
        CREATE OR REPLACE FUNCTION next_order_event_id() RETURNS bigint
        LANGUAGE plpgsql VOLATILE AS $body$
        DECLARE
            -- This transaction's events so far: set_config(..., true) is
            -- undone at the transaction's end, and at a rolled-back
            -- savepoint with the events written under it.
            written integer := coalesce(nullif(current_setting('asynccheckout.order_events_written', true), ''), '0')::integer + 1;
        BEGIN
            IF written > 1023 THEN
                RAISE EXCEPTION 'a transaction may write at most 1023 order events'
                    USING ERRCODE = 'program_limit_exceeded',
                          HINT = 'Move fewer orders per transaction.';
            END IF;
            PERFORM set_config('asynccheckout.order_events_written', written::text, true);
            RETURN (pg_current_xact_id()::text::bigint << 10) + written + %1$s;
        END;
        $body$;

        -- The smallest id an event readable later can have: every event
        -- readable now is below it, in the same snapshot.
        CREATE OR REPLACE FUNCTION order_events_horizon() RETURNS bigint
        LANGUAGE sql STABLE AS $body$
            SELECT (pg_snapshot_xmin(pg_current_snapshot())::text::bigint << 10) + %1$s
        $body$;
    $f$, base);
    RETURN base;
END;
$rebase$;

SELECT order_events_rebase();

-- Every insert that names no id, the previous version's trigger included
-- (a statement of it waiting on the lock above is planned again after it).
ALTER TABLE order_events ALTER COLUMN id SET DEFAULT next_order_event_id();

CREATE OR REPLACE FUNCTION order_history_event() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    event_type text := 'order.' || NEW.status;
    event_seq  bigint;
BEGIN
    -- The id is the column's default.
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

-- API processes of the previous version still call the sequencer while a
-- rolling upgrade replaces them: there is nothing left for it to number.
-- (Their streams and pages read without the horizon until they are
-- replaced, as they did before this migration, with the old ordering
-- guarantee weakened for that window only.)
CREATE OR REPLACE FUNCTION sequence_order_events(round_size integer)
RETURNS TABLE (id bigint, order_id uuid, type text, created_at timestamptz, data jsonb)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN;
END
$$;

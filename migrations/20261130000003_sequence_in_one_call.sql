-- A numbering round in one call, returning what it numbered.
--
-- The feed of each API process looks for unnumbered events every few
-- milliseconds. It used to take seven round trips to publish them: a probe,
-- then BEGIN, the lock, the numbering, the notification and COMMIT, then a
-- read of the new events. On two busy cores every round trip waits its turn
-- for a CPU, so that was most of an event's way from commit to its streams.
-- This function does it all in one: when nothing waits it returns at once
-- (one probe of the partial index); otherwise it takes the sequencer's lock,
-- numbers what is committed, notifies the other processes and returns the
-- numbered events, oldest first.
--
-- The rule is unchanged (see the order_events migration): the lock is the
-- transaction's, held to its commit, and each statement of a volatile
-- PL/pgSQL function takes a fresh snapshot, so the numbering, which runs
-- after the lock is granted, sees the previous round's commit and never
-- numbers an event twice.

CREATE FUNCTION sequence_order_events(round_size integer)
RETURNS TABLE (id bigint, order_id uuid, type text, created_at timestamptz, data jsonb)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    numbered integer;
    last bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM order_events WHERE id IS NULL) THEN
        RETURN;
    END IF;
    -- The key of shared/src/events/sequencer.rs ("ORDEREVT" in ASCII).
    PERFORM pg_advisory_xact_lock(5715705941610288724);
    RETURN QUERY
    WITH pending AS MATERIALIZED (
        SELECT seq
        FROM order_events
        WHERE id IS NULL
        ORDER BY seq
        LIMIT round_size
    ),
    counter AS (
        UPDATE order_event_sequence
        SET last_id = last_id + (SELECT count(*) FROM pending)
        WHERE EXISTS (SELECT 1 FROM pending)
        RETURNING last_id - (SELECT count(*) FROM pending) AS base
    ),
    numbered_now AS (
        UPDATE order_events e
        SET id = counter.base + p.n
        FROM counter,
             unnest(ARRAY(SELECT seq FROM pending ORDER BY seq)) WITH ORDINALITY AS p (seq, n)
        WHERE e.seq = p.seq
        RETURNING e.id, e.order_id, e.type, e.created_at, e.data
    )
    SELECT * FROM numbered_now ORDER BY id;
    GET DIAGNOSTICS numbered = ROW_COUNT;
    IF numbered > 0 THEN
        SELECT last_id INTO last FROM order_event_sequence;
        PERFORM pg_notify('order_events_sequenced', last::text);
    END IF;
END
$$;

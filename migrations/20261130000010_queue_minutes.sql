-- The queue's recent history by the minute, for the console's charts (the
-- last hour of throughput and of the wait from enqueue to start). Workers
-- keep their counts in memory and add them here every few seconds, into
-- the database's current minute, so no step ever waits on this table and
-- a crash loses a few seconds of a chart, never work. Pruned after a day.
CREATE TABLE queue_minutes (
    minute        timestamptz NOT NULL CHECK (minute = date_trunc('minute', minute)),
    kind          text        NOT NULL,
    -- Attempts that ended so.
    succeeded     bigint      NOT NULL DEFAULT 0 CHECK (succeeded >= 0),
    retried       bigint      NOT NULL DEFAULT 0 CHECK (retried >= 0),
    dead          bigint      NOT NULL DEFAULT 0 CHECK (dead >= 0),
    -- Tasks whose first attempt started, and their waits from enqueue to start.
    started       bigint      NOT NULL DEFAULT 0 CHECK (started >= 0),
    wait_ms_total bigint      NOT NULL DEFAULT 0 CHECK (wait_ms_total >= 0),
    wait_ms_max   bigint      NOT NULL DEFAULT 0 CHECK (wait_ms_max >= 0),
    PRIMARY KEY (minute, kind)
);

-- The workers, as they announce themselves: each registers when it starts,
-- heartbeats every few seconds with how many steps it runs, and says when
-- it stops cleanly. One that stopped heartbeating without saying so has
-- vanished (killed, its pod evicted, its host gone); its leases are
-- rescued as usual, and operators see it here. Times are the database's,
-- never a worker's clock. Rows of workers gone for a day are pruned.
CREATE TABLE queue_workers (
    id           text        PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 200),
    host         text        NOT NULL,
    pid          integer     NOT NULL,
    -- The kinds it runs, and its slots for them in all.
    kinds        text[]      NOT NULL,
    slots        integer     NOT NULL CHECK (slots >= 0),
    in_flight    integer     NOT NULL DEFAULT 0 CHECK (in_flight >= 0),
    version      text        NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    -- Set by a clean shutdown.
    stopped_at   timestamptz
);

CREATE INDEX queue_workers_last_seen_idx ON queue_workers (last_seen_at);

-- The task queue: one row per task, one row per attempt.
--
-- A task moves available -> running -> completed | available (retry) | dead, or
-- available -> cancelled. Only the queue functions in shared/src/queue/ change
-- these rows, each change fenced on (state, locked_by, attempts).

CREATE TYPE task_state AS ENUM ('available', 'running', 'completed', 'dead', 'cancelled');

CREATE TABLE tasks (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind          text        NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_.]{0,62}$'),
    payload       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    state         task_state  NOT NULL DEFAULT 'available',
    attempts      integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts  integer     NOT NULL CHECK (max_attempts BETWEEN 1 AND 1000),
    run_at        timestamptz NOT NULL DEFAULT now(),
    locked_by     text,
    locked_until  timestamptz,
    attempted_at  timestamptz,
    last_error    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,

    CONSTRAINT tasks_attempts_within_max CHECK (attempts <= max_attempts),
    -- An available task always has an attempt left; spent tasks are dead.
    CONSTRAINT tasks_available_has_attempt_left CHECK (state <> 'available' OR attempts < max_attempts),
    -- Exactly the running tasks hold a lease.
    CONSTRAINT tasks_lease_iff_running CHECK (
        (state = 'running') = (locked_by IS NOT NULL AND locked_until IS NOT NULL)
    ),
    -- Exactly the tasks in a final state carry the time they got there.
    CONSTRAINT tasks_finished_iff_final CHECK (
        (state IN ('completed', 'dead', 'cancelled')) = (finished_at IS NOT NULL)
    )
);

COMMENT ON TABLE tasks IS 'The PostgreSQL task queue. Claimed with FOR UPDATE SKIP LOCKED; see shared/src/queue/mod.rs.';

-- Serves the claim: available tasks in (run_at, id) order. Partial, so it
-- stays as small as the backlog however many tasks have finished.
CREATE INDEX tasks_claim_idx ON tasks (run_at, id) WHERE state = 'available';
-- Serves the rescuer: running tasks by lease expiry.
CREATE INDEX tasks_lease_idx ON tasks (locked_until) WHERE state = 'running';
-- Serves retention: completed tasks by age.
CREATE INDEX tasks_retention_idx ON tasks (finished_at) WHERE state = 'completed';

-- The hot table is updated several times per task: leave room on each page
-- for HOT updates and vacuum it far more eagerly than the defaults.
ALTER TABLE tasks SET (
    fillfactor = 80,
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_insert_scale_factor = 0.01,
    autovacuum_analyze_scale_factor = 0.02
);

CREATE TYPE attempt_outcome AS ENUM ('succeeded', 'retried', 'failed', 'lease_expired', 'interrupted');

-- One row per finished attempt: who ran it, when, and how it ended. Written in
-- the same statement as the fenced state change that ends the attempt.
CREATE TABLE task_attempts (
    task_id      bigint          NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    attempt      integer         NOT NULL CHECK (attempt >= 1),
    worker_id    text            NOT NULL,
    started_at   timestamptz     NOT NULL,
    finished_at  timestamptz     NOT NULL,
    outcome      attempt_outcome NOT NULL,
    error        text,
    PRIMARY KEY (task_id, attempt),
    CHECK (finished_at >= started_at),
    CHECK ((outcome = 'succeeded') = (error IS NULL))
);

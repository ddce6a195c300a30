-- Paused task kinds: workers claim no task of a kind listed here, and hand
-- none of them on already claimed; what runs when the pause lands runs to
-- its end. The pause is a row, so it outlives restarts and every worker
-- reads it at its next claim. Any kind may be paused, even one with no task
-- yet (a kind is only a name to the queue).
CREATE TABLE queue_paused_kinds (
    kind      text        PRIMARY KEY CHECK (kind ~ '^[a-z][a-z0-9_.]{0,62}$'),
    paused_at timestamptz NOT NULL DEFAULT now(),
    -- The name of the API key that paused it.
    paused_by text        NOT NULL CHECK (length(paused_by) BETWEEN 1 AND 200)
);

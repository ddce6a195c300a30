-- Console sessions: an operator signs in to /ui with an API key once, and
-- the browser then holds a session cookie, never the key. Only the cookie's
-- SHA-256 is stored. The CSRF token every form sends back is the session's
-- own. Sign-out deletes the row; revoking the key ends its sessions.
CREATE TABLE console_sessions (
    token_hash   bytea       PRIMARY KEY CHECK (length(token_hash) = 32),
    api_key_id   uuid        NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    csrf_token   text        NOT NULL CHECK (length(csrf_token) = 32),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);

-- Pruning expired sessions.
CREATE INDEX console_sessions_expires_idx ON console_sessions (expires_at);
-- A key's sessions, for the cascade when a key is deleted.
CREATE INDEX console_sessions_key_idx ON console_sessions (api_key_id);

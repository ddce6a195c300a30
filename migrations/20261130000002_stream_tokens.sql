-- Stream tokens: what a browser's EventSource (which cannot send an
-- Authorization header) shows to follow one order's events. Minted with an
-- API key by the merchant's backend, short-lived, good for one order and
-- for reading its events only; stored as the SHA-256 of the token, like
-- API keys.

CREATE TABLE stream_tokens (
    token_hash bytea       PRIMARY KEY,
    order_id   uuid        NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    -- The key that minted it: revoking the key ends its tokens.
    api_key_id uuid        NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);

-- Pruning expired tokens.
CREATE INDEX stream_tokens_expires_idx ON stream_tokens (expires_at);

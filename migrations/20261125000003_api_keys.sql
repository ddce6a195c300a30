-- API keys: random secrets shown once, stored only as a SHA-256 hash, each
-- with a name and scopes. Idempotency keys are scoped to the API key's id.

CREATE TABLE api_keys (
    id           uuid        PRIMARY KEY,
    name         text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    -- The first characters of the secret, so people can tell keys apart.
    prefix       text        NOT NULL,
    secret_hash  bytea       NOT NULL UNIQUE CHECK (length(secret_hash) = 32),
    scopes       text[]      NOT NULL
                 CHECK (scopes <@ ARRAY['orders:write', 'orders:read', 'catalog:write', 'admin']::text[]
                        AND cardinality(scopes) >= 1),
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);

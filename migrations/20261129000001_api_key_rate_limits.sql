-- A rate limit of a key's own: a token bucket refilled at
-- rate_limit_per_second and holding at most rate_limit_burst requests.
-- Both NULL: the API process's default (RATE_LIMIT_PER_SECOND) applies.

ALTER TABLE api_keys
    ADD COLUMN rate_limit_per_second integer CHECK (rate_limit_per_second > 0),
    ADD COLUMN rate_limit_burst      integer CHECK (rate_limit_burst > 0),
    ADD CONSTRAINT api_keys_rate_limit_whole
        CHECK ((rate_limit_per_second IS NULL) = (rate_limit_burst IS NULL));

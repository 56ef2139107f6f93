-- Rate-limit counters (fixed windows), kept in the database so limits hold across restarts
-- and instances.

CREATE TABLE idp_rate_limits (
    key           TEXT PRIMARY KEY,
    window_start  BIGINT NOT NULL,         -- Unix seconds
    count         BIGINT NOT NULL
);

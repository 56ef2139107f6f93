-- Rate-limit counters (fixed windows), kept in the database so limits hold across restarts
-- and instances.

CREATE TABLE idp_rate_limits (
    key           TEXT PRIMARY KEY NOT NULL,
    window_start  INTEGER NOT NULL,        -- Unix seconds
    count         INTEGER NOT NULL
);

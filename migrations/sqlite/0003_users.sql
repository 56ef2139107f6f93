-- Users of a tenant: people who sign in through the tenant's login (or are provisioned by
-- an operator with idpctl). The email is the login name, stored lower-cased, so one
-- address is one user per tenant whatever case it is typed in.

CREATE TABLE idp_users (
    id             BLOB PRIMARY KEY NOT NULL,
    tenant_id      BLOB NOT NULL REFERENCES idp_tenants (id) ON DELETE CASCADE,
    email          TEXT NOT NULL,
    email_verified INTEGER NOT NULL DEFAULT 0 CHECK (email_verified IN (0, 1)),
    name           TEXT,
    locale         TEXT,                          -- BCP 47 tag, canonical case
    disabled       INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    UNIQUE (tenant_id, email)
);

-- Users of a tenant: people who sign in through the tenant's login (or are provisioned by
-- an operator with idpctl). The email is the login name, stored lower-cased, so one
-- address is one user per tenant whatever case it is typed in.

CREATE TABLE idp_users (
    id             UUID PRIMARY KEY,
    tenant_id      UUID NOT NULL REFERENCES idp_tenants (id) ON DELETE CASCADE,
    email          TEXT NOT NULL,
    email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    name           TEXT,
    locale         TEXT,                          -- BCP 47 tag, canonical case
    disabled       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, email)
);

-- Foundation: server metadata, admin tokens, tenants and their identity providers.

CREATE TABLE idp_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE idp_tenants (
    id                  UUID PRIMARY KEY,
    slug                TEXT NOT NULL UNIQUE,
    display_name        TEXT NOT NULL,
    locales             JSONB NOT NULL,         -- array of BCP 47 tags, first is the default
    cookie_name         TEXT NOT NULL,
    cookie_domain       TEXT,
    session_ttl_seconds BIGINT NOT NULL CHECK (session_ttl_seconds > 0),
    idle_ttl_seconds    BIGINT NOT NULL CHECK (idle_ttl_seconds > 0),
    same_site           TEXT NOT NULL CHECK (same_site IN ('strict', 'lax', 'none')),
    signup_policy       TEXT NOT NULL CHECK (signup_policy IN ('open', 'invite')),
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL
);

CREATE TABLE idp_identity_providers (
    id         UUID PRIMARY KEY,
    tenant_id  UUID NOT NULL REFERENCES idp_tenants (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('native', 'external_oidc')),
    is_default BOOLEAN NOT NULL DEFAULT FALSE,
    config     JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, name)
);

-- At most one default provider per tenant, enforced by the database so no race makes two.
CREATE UNIQUE INDEX idp_identity_providers_one_default
    ON idp_identity_providers (tenant_id) WHERE is_default;

CREATE TABLE idp_admin_tokens (
    id         UUID PRIMARY KEY,
    name       TEXT NOT NULL,
    digest     BYTEA NOT NULL UNIQUE,              -- SHA-256 of the token; the token itself is never stored
    tenant_id  UUID REFERENCES idp_tenants (id) ON DELETE CASCADE,  -- NULL: all tenants
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ
);

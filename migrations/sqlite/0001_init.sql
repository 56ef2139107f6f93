-- Foundation: server metadata, admin tokens, tenants and their identity providers.

CREATE TABLE idp_meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE idp_tenants (
    id                  BLOB PRIMARY KEY NOT NULL,
    slug                TEXT NOT NULL UNIQUE,
    display_name        TEXT NOT NULL,
    locales             TEXT NOT NULL,          -- JSON array of BCP 47 tags, first is the default
    cookie_name         TEXT NOT NULL,
    cookie_domain       TEXT,
    session_ttl_seconds INTEGER NOT NULL CHECK (session_ttl_seconds > 0),
    idle_ttl_seconds    INTEGER NOT NULL CHECK (idle_ttl_seconds > 0),
    same_site           TEXT NOT NULL CHECK (same_site IN ('strict', 'lax', 'none')),
    signup_policy       TEXT NOT NULL CHECK (signup_policy IN ('open', 'invite')),
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);

CREATE TABLE idp_identity_providers (
    id         BLOB PRIMARY KEY NOT NULL,
    tenant_id  BLOB NOT NULL REFERENCES idp_tenants (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('native', 'external_oidc')),
    is_default INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    config     TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (tenant_id, name)
);

-- At most one default provider per tenant, enforced by the database so no race makes two.
CREATE UNIQUE INDEX idp_identity_providers_one_default
    ON idp_identity_providers (tenant_id) WHERE is_default = 1;

CREATE TABLE idp_admin_tokens (
    id         BLOB PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    digest     BLOB NOT NULL UNIQUE,               -- SHA-256 of the token; the token itself is never stored
    tenant_id  BLOB REFERENCES idp_tenants (id) ON DELETE CASCADE,  -- NULL: all tenants
    created_at TEXT NOT NULL,
    expires_at TEXT,
    revoked_at TEXT
);

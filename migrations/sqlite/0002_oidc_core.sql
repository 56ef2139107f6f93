-- OpenID Provider core: per-tenant token settings, signing keys, clients, revoked access tokens.

ALTER TABLE idp_tenants ADD COLUMN access_token_alg TEXT NOT NULL DEFAULT 'ES256'
    CHECK (access_token_alg IN ('RS256', 'ES256', 'EdDSA'));
ALTER TABLE idp_tenants ADD COLUMN key_rotation_interval_seconds INTEGER
    CHECK (key_rotation_interval_seconds IS NULL OR key_rotation_interval_seconds > 0);

-- kid is random and the primary key: unique across tenants, so no kid ever resolves elsewhere.
CREATE TABLE idp_signing_keys (
    kid            TEXT PRIMARY KEY NOT NULL,
    tenant_id      BLOB NOT NULL REFERENCES idp_tenants (id) ON DELETE CASCADE,
    alg            TEXT NOT NULL CHECK (alg IN ('RS256', 'ES256', 'EdDSA')),
    sealed_private BLOB NOT NULL,                 -- PKCS#8, AES-256-GCM under the master key, AAD = kid
    public_key     BLOB NOT NULL,
    public_jwk     TEXT NOT NULL,                 -- JSON
    created_at     TEXT NOT NULL,
    activates_at   TEXT NOT NULL,
    removed_at     TEXT
);
CREATE INDEX idp_signing_keys_tenant ON idp_signing_keys (tenant_id, alg, created_at);

CREATE TABLE idp_clients (
    id                         BLOB PRIMARY KEY NOT NULL,
    tenant_id                  BLOB NOT NULL REFERENCES idp_tenants (id) ON DELETE CASCADE,
    client_id                  TEXT NOT NULL,
    name                       TEXT NOT NULL,
    public                     INTEGER NOT NULL CHECK (public IN (0, 1)),
    redirect_uris              TEXT NOT NULL,     -- JSON arrays
    post_logout_redirect_uris  TEXT NOT NULL,
    grant_types                TEXT NOT NULL,
    scopes                     TEXT NOT NULL,
    access_token_ttl_seconds   INTEGER NOT NULL CHECK (access_token_ttl_seconds > 0),
    disabled                   INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    secret_digest              BLOB,              -- SHA-256 of the secret; NULL for public clients
    previous_secret_digest     BLOB,
    previous_secret_expires_at TEXT,
    created_at                 TEXT NOT NULL,
    updated_at                 TEXT NOT NULL,
    UNIQUE (tenant_id, client_id)
);

-- Access tokens revoked before their expiry (RFC 7009); rows are purged after expires_at.
CREATE TABLE idp_revoked_tokens (
    jti        TEXT PRIMARY KEY NOT NULL,
    tenant_id  BLOB NOT NULL REFERENCES idp_tenants (id) ON DELETE CASCADE,
    expires_at TEXT NOT NULL
);
CREATE INDEX idp_revoked_tokens_expiry ON idp_revoked_tokens (expires_at);

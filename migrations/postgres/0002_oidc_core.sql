-- OpenID Provider core: per-tenant token settings, signing keys, clients, revoked access tokens.

ALTER TABLE idp_tenants ADD COLUMN access_token_alg TEXT NOT NULL DEFAULT 'ES256'
    CHECK (access_token_alg IN ('RS256', 'ES256', 'EdDSA'));
ALTER TABLE idp_tenants ADD COLUMN key_rotation_interval_seconds BIGINT
    CHECK (key_rotation_interval_seconds IS NULL OR key_rotation_interval_seconds > 0);

-- kid is random and the primary key: unique across tenants, so no kid ever resolves elsewhere.
CREATE TABLE idp_signing_keys (
    kid            TEXT PRIMARY KEY,
    tenant_id      UUID NOT NULL REFERENCES idp_tenants (id) ON DELETE CASCADE,
    alg            TEXT NOT NULL CHECK (alg IN ('RS256', 'ES256', 'EdDSA')),
    sealed_private BYTEA NOT NULL,                -- PKCS#8, AES-256-GCM under the master key, AAD = kid
    public_key     BYTEA NOT NULL,
    public_jwk     JSONB NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    activates_at   TIMESTAMPTZ NOT NULL,
    removed_at     TIMESTAMPTZ
);
CREATE INDEX idp_signing_keys_tenant ON idp_signing_keys (tenant_id, alg, created_at);

CREATE TABLE idp_clients (
    id                         UUID PRIMARY KEY,
    tenant_id                  UUID NOT NULL REFERENCES idp_tenants (id) ON DELETE CASCADE,
    client_id                  TEXT NOT NULL,
    name                       TEXT NOT NULL,
    public                     BOOLEAN NOT NULL,
    redirect_uris              JSONB NOT NULL,
    post_logout_redirect_uris  JSONB NOT NULL,
    grant_types                JSONB NOT NULL,
    scopes                     JSONB NOT NULL,
    access_token_ttl_seconds   BIGINT NOT NULL CHECK (access_token_ttl_seconds > 0),
    disabled                   BOOLEAN NOT NULL DEFAULT FALSE,
    secret_digest              BYTEA,             -- SHA-256 of the secret; NULL for public clients
    previous_secret_digest     BYTEA,
    previous_secret_expires_at TIMESTAMPTZ,
    created_at                 TIMESTAMPTZ NOT NULL,
    updated_at                 TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, client_id)
);

-- Access tokens revoked before their expiry (RFC 7009); rows are purged after expires_at.
CREATE TABLE idp_revoked_tokens (
    jti        TEXT PRIMARY KEY,
    tenant_id  UUID NOT NULL REFERENCES idp_tenants (id) ON DELETE CASCADE,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX idp_revoked_tokens_expiry ON idp_revoked_tokens (expires_at);

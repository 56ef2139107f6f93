-- Native login: login flows (one per authorization request), one-time codes, browser
-- sessions, authorization codes, refresh-token families and refresh tokens. Every bearer
-- value (flow cookie, OTP, magic link, session cookie, code, refresh token) is stored only
-- as its SHA-256 digest.

CREATE TABLE idp_login_flows (
    id             UUID PRIMARY KEY,
    tenant_id      UUID NOT NULL REFERENCES idp_tenants (id) ON DELETE CASCADE,
    secret_digest  BYTEA NOT NULL,          -- SHA-256 of the flow cookie's value
    request        JSONB NOT NULL,          -- JSON: the validated authorization request
    email          TEXT,
    created_at     TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE idp_otps (
    id           UUID PRIMARY KEY,
    tenant_id    UUID NOT NULL REFERENCES idp_tenants (id) ON DELETE CASCADE,
    flow_id      UUID NOT NULL REFERENCES idp_login_flows (id) ON DELETE CASCADE,
    email        TEXT NOT NULL,
    code_digest  BYTEA NOT NULL,
    link_digest  BYTEA NOT NULL UNIQUE,
    attempts     BIGINT NOT NULL DEFAULT 0,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    consumed_at  TIMESTAMPTZ                      -- used, burned after too many tries, or superseded
);
CREATE INDEX idp_otps_email ON idp_otps (tenant_id, email);
CREATE INDEX idp_otps_flow ON idp_otps (flow_id);

CREATE TABLE idp_sessions (
    id            UUID PRIMARY KEY,
    tenant_id     UUID NOT NULL REFERENCES idp_tenants (id) ON DELETE CASCADE,
    user_id       UUID NOT NULL REFERENCES idp_users (id) ON DELETE CASCADE,
    token_digest  BYTEA NOT NULL UNIQUE,    -- SHA-256 of the session cookie's value
    provider      TEXT NOT NULL,
    amr           JSONB NOT NULL,           -- JSON array
    auth_time     TIMESTAMPTZ NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    last_seen_at  TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL,
    revoked_at    TIMESTAMPTZ
);
CREATE INDEX idp_sessions_user ON idp_sessions (tenant_id, user_id);

-- Everything issued from one authorization code: revoking the family ends it all
-- (code reuse, refresh-token reuse, logout).
CREATE TABLE idp_token_families (
    id          UUID PRIMARY KEY,
    tenant_id   UUID NOT NULL REFERENCES idp_tenants (id) ON DELETE CASCADE,
    client_id   TEXT NOT NULL,
    user_id     UUID NOT NULL REFERENCES idp_users (id) ON DELETE CASCADE,
    session_id  UUID,
    created_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ
);

CREATE TABLE idp_auth_codes (
    digest       BYTEA PRIMARY KEY,
    tenant_id    UUID NOT NULL REFERENCES idp_tenants (id) ON DELETE CASCADE,
    family_id    UUID NOT NULL REFERENCES idp_token_families (id) ON DELETE CASCADE,
    request      JSONB NOT NULL,            -- JSON: client_id, redirect_uri, scope, nonce, code_challenge
    auth_time    TIMESTAMPTZ NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    consumed_at  TIMESTAMPTZ
);

CREATE TABLE idp_refresh_tokens (
    digest       BYTEA PRIMARY KEY,
    family_id    UUID NOT NULL REFERENCES idp_token_families (id) ON DELETE CASCADE,
    scope        TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    consumed_at  TIMESTAMPTZ
);
CREATE INDEX idp_refresh_tokens_family ON idp_refresh_tokens (family_id);

-- The ID-token algorithm of each client (RS256 unless the client registered another).
ALTER TABLE idp_clients ADD COLUMN id_token_alg TEXT NOT NULL DEFAULT 'RS256'
    CHECK (id_token_alg IN ('RS256', 'ES256', 'EdDSA'));

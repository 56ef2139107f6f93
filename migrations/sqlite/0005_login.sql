-- Native login: login flows (one per authorization request), one-time codes, browser
-- sessions, authorization codes, refresh-token families and refresh tokens. Every bearer
-- value (flow cookie, OTP, magic link, session cookie, code, refresh token) is stored only
-- as its SHA-256 digest.

CREATE TABLE idp_login_flows (
    id             BLOB PRIMARY KEY NOT NULL,
    tenant_id      BLOB NOT NULL REFERENCES idp_tenants (id) ON DELETE CASCADE,
    secret_digest  BLOB NOT NULL,          -- SHA-256 of the flow cookie's value
    request        TEXT NOT NULL,          -- JSON: the validated authorization request
    email          TEXT,
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL
);

CREATE TABLE idp_otps (
    id           BLOB PRIMARY KEY NOT NULL,
    tenant_id    BLOB NOT NULL REFERENCES idp_tenants (id) ON DELETE CASCADE,
    flow_id      BLOB NOT NULL REFERENCES idp_login_flows (id) ON DELETE CASCADE,
    email        TEXT NOT NULL,
    code_digest  BLOB NOT NULL,
    link_digest  BLOB NOT NULL UNIQUE,
    attempts     INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    consumed_at  TEXT                      -- used, burned after too many tries, or superseded
);
CREATE INDEX idp_otps_email ON idp_otps (tenant_id, email);
CREATE INDEX idp_otps_flow ON idp_otps (flow_id);

CREATE TABLE idp_sessions (
    id            BLOB PRIMARY KEY NOT NULL,
    tenant_id     BLOB NOT NULL REFERENCES idp_tenants (id) ON DELETE CASCADE,
    user_id       BLOB NOT NULL REFERENCES idp_users (id) ON DELETE CASCADE,
    token_digest  BLOB NOT NULL UNIQUE,    -- SHA-256 of the session cookie's value
    provider      TEXT NOT NULL,
    amr           TEXT NOT NULL,           -- JSON array
    auth_time     TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    revoked_at    TEXT
);
CREATE INDEX idp_sessions_user ON idp_sessions (tenant_id, user_id);

-- Everything issued from one authorization code: revoking the family ends it all
-- (code reuse, refresh-token reuse, logout).
CREATE TABLE idp_token_families (
    id          BLOB PRIMARY KEY NOT NULL,
    tenant_id   BLOB NOT NULL REFERENCES idp_tenants (id) ON DELETE CASCADE,
    client_id   TEXT NOT NULL,
    user_id     BLOB NOT NULL REFERENCES idp_users (id) ON DELETE CASCADE,
    session_id  BLOB,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);

CREATE TABLE idp_auth_codes (
    digest       BLOB PRIMARY KEY NOT NULL,
    tenant_id    BLOB NOT NULL REFERENCES idp_tenants (id) ON DELETE CASCADE,
    family_id    BLOB NOT NULL REFERENCES idp_token_families (id) ON DELETE CASCADE,
    request      TEXT NOT NULL,            -- JSON: client_id, redirect_uri, scope, nonce, code_challenge
    auth_time    TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    consumed_at  TEXT
);

CREATE TABLE idp_refresh_tokens (
    digest       BLOB PRIMARY KEY NOT NULL,
    family_id    BLOB NOT NULL REFERENCES idp_token_families (id) ON DELETE CASCADE,
    scope        TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    consumed_at  TEXT
);
CREATE INDEX idp_refresh_tokens_family ON idp_refresh_tokens (family_id);

-- The ID-token algorithm of each client (RS256 unless the client registered another).
ALTER TABLE idp_clients ADD COLUMN id_token_alg TEXT NOT NULL DEFAULT 'RS256'
    CHECK (id_token_alg IN ('RS256', 'ES256', 'EdDSA'));

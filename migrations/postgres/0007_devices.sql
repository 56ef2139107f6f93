-- Devices (RFC 8628 device authorization grant, registered device keys, RFC 7523 device
-- login). The device code and the user code are stored only as SHA-256 digests.

CREATE TABLE idp_devices (
    id            UUID PRIMARY KEY,
    tenant_id     UUID NOT NULL REFERENCES idp_tenants (id) ON DELETE CASCADE,
    user_id       UUID NOT NULL REFERENCES idp_users (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    platform      TEXT NOT NULL,
    alg           TEXT NOT NULL CHECK (alg IN ('ES256', 'EdDSA')),
    public_jwk    JSONB NOT NULL,          -- JSON: the public JWK as registered
    public_key    BYTEA NOT NULL,          -- raw key for verification (Ed25519 x, or 04||x||y)
    created_at    TIMESTAMPTZ NOT NULL,
    last_used_at  TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ
);
CREATE INDEX idp_devices_user ON idp_devices (tenant_id, user_id);

CREATE TABLE idp_device_authorizations (
    device_code_digest  BYTEA PRIMARY KEY,
    tenant_id           UUID NOT NULL REFERENCES idp_tenants (id) ON DELETE CASCADE,
    user_code_digest    BYTEA NOT NULL,
    client_id           TEXT NOT NULL,
    scope               TEXT NOT NULL,
    state               TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'consumed')),
    user_id             UUID REFERENCES idp_users (id) ON DELETE CASCADE,
    session_id          UUID,
    auth_time           TIMESTAMPTZ,
    interval_seconds    BIGINT NOT NULL,
    next_poll_at        BIGINT NOT NULL,  -- Unix ms: polling earlier is slow_down
    last_poll_slow      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at          TIMESTAMPTZ NOT NULL,
    expires_at          TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX idp_device_authorizations_user_code
    ON idp_device_authorizations (tenant_id, user_code_digest);

-- Used `jti`s of device assertions, kept until the assertion expires (RFC 7523 §3).
CREATE TABLE idp_assertion_jtis (
    tenant_id   UUID NOT NULL REFERENCES idp_tenants (id) ON DELETE CASCADE,
    device_id   UUID NOT NULL,
    jti         TEXT NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, device_id, jti)
);

-- Token families issued by device login are bound to the device.
ALTER TABLE idp_token_families ADD COLUMN device_id UUID;
CREATE INDEX idp_token_families_device ON idp_token_families (device_id);

-- Where a login flow continues when it is not an authorization request (the device page).
ALTER TABLE idp_login_flows ADD COLUMN resume TEXT;


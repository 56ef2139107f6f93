-- External OpenID Connect providers (bring-your-own IdP): the sealed upstream client secret,
-- the links of local users to upstream subjects, and the relying-party login transactions.

-- AES-256-GCM under the master key, bound to the provider id; NULL for `native`.
ALTER TABLE idp_identity_providers ADD COLUMN client_secret_sealed BLOB;

-- A local user is linked to an upstream identity by (provider, upstream `sub`) only.
CREATE TABLE idp_upstream_links (
    provider_id  BLOB NOT NULL REFERENCES idp_identity_providers (id) ON DELETE CASCADE,
    subject      TEXT NOT NULL,
    tenant_id    BLOB NOT NULL REFERENCES idp_tenants (id) ON DELETE CASCADE,
    user_id      BLOB NOT NULL REFERENCES idp_users (id) ON DELETE CASCADE,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (provider_id, subject)
);
CREATE INDEX idp_upstream_links_user ON idp_upstream_links (user_id);

-- One redirect to an upstream: single use, short-lived, bound to the login flow (and so to
-- the browser's flow cookie) and to the provider whose callback may complete it.
CREATE TABLE idp_upstream_logins (
    id             BLOB PRIMARY KEY NOT NULL,
    tenant_id      BLOB NOT NULL REFERENCES idp_tenants (id) ON DELETE CASCADE,
    provider_id    BLOB NOT NULL REFERENCES idp_identity_providers (id) ON DELETE CASCADE,
    flow_id        BLOB NOT NULL REFERENCES idp_login_flows (id) ON DELETE CASCADE,
    state_digest   BLOB NOT NULL UNIQUE,   -- SHA-256 of the `state` sent upstream
    nonce          TEXT NOT NULL,
    pkce_verifier  TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    consumed_at    TEXT
);

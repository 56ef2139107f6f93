//! Row decoding shared by both backends: the column types chosen in the migrations decode
//! to the same Rust types on SQLite and PostgreSQL, so one function per aggregate suffices.

use shared::admin::{Alg, SameSite, SessionSettings, SignupPolicy};
use sqlx::types::Json;

use super::Columns;
use crate::model::admin_tokens::AdminToken;
use crate::model::clients::ClientRecord;
use crate::model::keys::KeyRecord;
use crate::model::tenants::Tenant;
use crate::model::users::UserRecord;
use crate::store::{Result, StoreError};

pub(super) fn tenant(row: &impl Columns) -> Result<Tenant> {
    let Json(locales): Json<Vec<String>> = row.try_get("locales")?;
    Ok(Tenant {
        id: row.try_get("id")?,
        slug: row.try_get("slug")?,
        display_name: row.try_get("display_name")?,
        locales,
        session: SessionSettings {
            cookie_name: row.try_get("cookie_name")?,
            cookie_domain: row.try_get("cookie_domain")?,
            ttl_seconds: row.try_get("session_ttl_seconds")?,
            idle_ttl_seconds: row.try_get("idle_ttl_seconds")?,
            same_site: parse_enum(row.try_get::<String>("same_site")?.as_str())?,
        },
        signup_policy: parse_enum(row.try_get::<String>("signup_policy")?.as_str())?,
        default_provider: row
            .try_get::<Option<String>>("default_provider")?
            .unwrap_or_default(),
        access_token_alg: parse_alg(&row.try_get::<String>("access_token_alg")?)?,
        key_rotation_interval_seconds: row.try_get("key_rotation_interval_seconds")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(super) fn admin_token(row: &impl Columns) -> Result<AdminToken> {
    let digest: Vec<u8> = row.try_get("digest")?;
    Ok(AdminToken {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        digest: digest
            .try_into()
            .map_err(|_| StoreError::Corrupt("admin token digest is not 32 bytes".into()))?,
        tenant_id: row.try_get("tenant_id")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

pub(super) fn key(row: &impl Columns) -> Result<KeyRecord> {
    let Json(public_jwk) = row.try_get("public_jwk")?;
    Ok(KeyRecord {
        kid: row.try_get("kid")?,
        tenant_id: row.try_get("tenant_id")?,
        alg: parse_alg(&row.try_get::<String>("alg")?)?,
        sealed_private: row.try_get("sealed_private")?,
        public_key: row.try_get("public_key")?,
        public_jwk,
        created_at: row.try_get("created_at")?,
        activates_at: row.try_get("activates_at")?,
        removed_at: row.try_get("removed_at")?,
    })
}

pub(super) fn client(row: &impl Columns) -> Result<ClientRecord> {
    let list = |col: &str| -> Result<Vec<String>> { Ok(row.try_get::<Json<Vec<String>>>(col)?.0) };
    let digest = |col: &str| -> Result<Option<[u8; 32]>> {
        row.try_get::<Option<Vec<u8>>>(col)?
            .map(|d| {
                <[u8; 32]>::try_from(d)
                    .map_err(|_| StoreError::Corrupt("client secret digest is not 32 bytes".into()))
            })
            .transpose()
    };
    Ok(ClientRecord {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        client_id: row.try_get("client_id")?,
        name: row.try_get("name")?,
        public: row.try_get("public")?,
        redirect_uris: list("redirect_uris")?,
        post_logout_redirect_uris: list("post_logout_redirect_uris")?,
        grant_types: list("grant_types")?,
        scopes: list("scopes")?,
        access_token_ttl_seconds: row.try_get("access_token_ttl_seconds")?,
        id_token_alg: parse_alg(&row.try_get::<String>("id_token_alg")?)?,
        disabled: row.try_get("disabled")?,
        secret_digest: digest("secret_digest")?,
        previous_secret_digest: digest("previous_secret_digest")?,
        previous_secret_expires_at: row.try_get("previous_secret_expires_at")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(super) fn user(row: &impl Columns) -> Result<UserRecord> {
    Ok(UserRecord {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        email: row.try_get("email")?,
        email_verified: row.try_get("email_verified")?,
        name: row.try_get("name")?,
        locale: row.try_get("locale")?,
        disabled: row.try_get("disabled")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn parse_alg(s: &str) -> Result<Alg> {
    Alg::parse(s).ok_or_else(|| StoreError::Corrupt(format!("unknown stored algorithm {s:?}")))
}

/// The enums are stored as their snake_case serde names.
fn parse_enum<T: serde::de::DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|_| StoreError::Corrupt(format!("unknown stored value {s:?}")))
}

pub(super) fn same_site(s: SameSite) -> &'static str {
    s.as_str()
}

pub(super) fn signup_policy(p: SignupPolicy) -> &'static str {
    p.as_str()
}

/// `LIKE` pattern for slugs starting with `base-` (slugs hold no `%` or `_`).
pub(super) fn suffix_pattern(base: &str) -> String {
    format!("{base}-%")
}

/// Decodes a 32-byte digest column.
fn digest32(row: &impl Columns, col: &str) -> Result<[u8; 32]> {
    <[u8; 32]>::try_from(row.try_get::<Vec<u8>>(col)?)
        .map_err(|_| StoreError::Corrupt(format!("{col} is not 32 bytes")))
}

pub(super) fn flow(row: &impl Columns) -> Result<crate::model::login::LoginFlow> {
    Ok(crate::model::login::LoginFlow {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        secret_digest: digest32(row, "secret_digest")?,
        request: row.try_get::<Json<_>>("request")?.0,
        email: row.try_get("email")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        resume: row.try_get("resume")?,
    })
}

pub(super) fn otp(row: &impl Columns) -> Result<crate::model::login::Otp> {
    let attempts = row.try_get("attempts")?;
    Ok(crate::model::login::Otp {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        flow_id: row.try_get("flow_id")?,
        email: row.try_get("email")?,
        code_digest: digest32(row, "code_digest")?,
        link_digest: digest32(row, "link_digest")?,
        attempts,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        consumed_at: row.try_get("consumed_at")?,
    })
}

pub(super) fn session(row: &impl Columns) -> Result<crate::model::login::Session> {
    Ok(crate::model::login::Session {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        user_id: row.try_get("user_id")?,
        token_digest: digest32(row, "token_digest")?,
        provider: row.try_get("provider")?,
        amr: row.try_get::<Json<Vec<String>>>("amr")?.0,
        auth_time: row.try_get("auth_time")?,
        created_at: row.try_get("created_at")?,
        last_seen_at: row.try_get("last_seen_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

pub(super) fn family(row: &impl Columns) -> Result<crate::model::grants::TokenFamily> {
    Ok(crate::model::grants::TokenFamily {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        client_id: row.try_get("client_id")?,
        user_id: row.try_get("user_id")?,
        session_id: row.try_get("session_id")?,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
        device_id: row.try_get("device_id")?,
    })
}

pub(super) fn code(row: &impl Columns) -> Result<crate::model::grants::AuthCode> {
    Ok(crate::model::grants::AuthCode {
        digest: digest32(row, "digest")?,
        tenant_id: row.try_get("tenant_id")?,
        family_id: row.try_get("family_id")?,
        request: row.try_get::<Json<_>>("request")?.0,
        auth_time: row.try_get("auth_time")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        consumed_at: row.try_get("consumed_at")?,
        family_revoked_at: row.try_get("family_revoked_at")?,
    })
}

pub(super) fn refresh(row: &impl Columns) -> Result<crate::model::grants::RefreshToken> {
    Ok(crate::model::grants::RefreshToken {
        digest: digest32(row, "digest")?,
        family_id: row.try_get("family_id")?,
        scope: row.try_get("scope")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        consumed_at: row.try_get("consumed_at")?,
        family_revoked_at: row.try_get("family_revoked_at")?,
    })
}

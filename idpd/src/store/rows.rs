//! Row decoding shared by both backends: the column types chosen in the migrations decode
//! to the same Rust types on SQLite and PostgreSQL, so one function per aggregate suffices.

use shared::admin::{SameSite, SessionSettings, SignupPolicy};
use sqlx::types::Json;
use sqlx::{ColumnIndex, Decode, Row, Type};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Result, StoreError};
use crate::domain::admin_tokens::AdminToken;
use crate::domain::tenants::Tenant;

pub(super) fn tenant<'r, R>(row: &'r R) -> Result<Tenant>
where
    R: Row,
    &'r str: ColumnIndex<R>,
    Uuid: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    OffsetDateTime: Decode<'r, R::Database> + Type<R::Database>,
    Json<Vec<String>>: Decode<'r, R::Database> + Type<R::Database>,
{
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
            same_site: parse_enum(row.try_get::<String, _>("same_site")?.as_str())?,
        },
        signup_policy: parse_enum(row.try_get::<String, _>("signup_policy")?.as_str())?,
        default_provider: row
            .try_get::<Option<String>, _>("default_provider")?
            .unwrap_or_default(),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(super) fn admin_token<'r, R>(row: &'r R) -> Result<AdminToken>
where
    R: Row,
    &'r str: ColumnIndex<R>,
    Uuid: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    OffsetDateTime: Decode<'r, R::Database> + Type<R::Database>,
{
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

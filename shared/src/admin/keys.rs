//! Signing keys of a tenant: `/api/v1/tenants/{tenant}/keys` and `/api/v1/keys/{kid}`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::clients::Alg;

/// Life cycle: `next` (published, not signing) → `active` (signs) → `retiring` (published,
/// verifies only, until every token it signed has expired) → `removed` (gone from JWKS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    Next,
    Active,
    Retiring,
    Removed,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Next => "next",
            KeyState::Active => "active",
            KeyState::Retiring => "retiring",
            KeyState::Removed => "removed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SigningKey {
    pub kid: String,
    pub tenant: String,
    pub alg: Alg,
    pub state: KeyState,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// When it starts (or started) signing.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub activates_at: OffsetDateTime,
    /// When a newer key took over signing; absent while it is the newest.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub retired_at: Option<OffsetDateTime>,
    /// When it leaves the JWKS: every token it signed has expired by then.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub removed_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KeyList {
    pub items: Vec<SigningKey>,
}

/// `POST /api/v1/tenants/{tenant}/keys/rotate`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateKey {
    /// Algorithm of the new key; default RS256.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<Alg>,
    /// Seconds between publication and first signature. Default: the JWKS cache lifetime
    /// plus 60 s, so verifiers that cache the JWKS see the key before any token it signs.
    /// 0 activates at once (for a compromised key; verifiers that refetch the JWKS on an
    /// unknown `kid` still succeed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activate_in_seconds: Option<i64>,
}

/// `POST /api/v1/keys/{kid}/retire`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetireKey {
    /// Remove the key from the JWKS even though tokens it signed may still be valid.
    #[serde(default)]
    pub force: bool,
}

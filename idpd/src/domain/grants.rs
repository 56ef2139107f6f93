//! Authorization codes, refresh tokens and the families that tie them together.
//!
//! Everything issued from one authorization code forms a family. Redeeming a code twice, or
//! presenting a refresh token that was already rotated, revokes the whole family: the
//! access tokens carry the family id (`fid`) and stop introspecting as active, and the
//! newest refresh token fails too (RFC 9700 §4.14.2, docs/security.md SEC-03/04).

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::crypto;

pub const CODE_TTL: Duration = Duration::seconds(60);
pub const REFRESH_TTL: Duration = Duration::days(30);
pub const CODE_PREFIX: &str = "idp_ac_";
pub const REFRESH_PREFIX: &str = "idp_rt_";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFamily {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub client_id: String,
    pub user_id: Uuid,
    pub session_id: Option<Uuid>,
    pub created_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    /// The registered device a device login (RFC 7523) bound the family to.
    pub device_id: Option<Uuid>,
}

/// What an authorization code stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: Vec<String>,
    pub nonce: Option<String>,
    pub code_challenge: String,
    pub session_id: Uuid,
    pub amr: Vec<String>,
    /// The external provider of the login, for the `idp` claim; absent for native logins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthCode {
    pub digest: [u8; 32],
    pub tenant_id: Uuid,
    pub family_id: Uuid,
    pub request: CodeRequest,
    pub auth_time: OffsetDateTime,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub consumed_at: Option<OffsetDateTime>,
    /// When the code's family was revoked, as read by the redeeming statement itself: a
    /// replay that revokes the family a moment later must not fail the one true redemption.
    pub family_revoked_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    pub digest: [u8; 32],
    pub family_id: Uuid,
    pub scope: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub consumed_at: Option<OffsetDateTime>,
    /// When the token's family was revoked, as read by the consuming statement itself (as
    /// for codes): a replay racing the one true rotation must not fail it too.
    pub family_revoked_at: Option<OffsetDateTime>,
}

/// The outcome of an atomic single-use redemption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redemption<T> {
    /// This call consumed it.
    Fresh(T),
    /// It had been consumed before: a replay.
    Reused(T),
    Unknown,
}

/// A new code for `request`: the value to hand out and the record to store.
pub fn new_code(
    tenant_id: Uuid,
    family_id: Uuid,
    request: CodeRequest,
    auth_time: OffsetDateTime,
) -> (String, AuthCode) {
    let value = crypto::new_secret(CODE_PREFIX);
    let now = crate::clock::now();
    let code = AuthCode {
        digest: crypto::sha256(value.as_bytes()),
        tenant_id,
        family_id,
        request,
        auth_time,
        created_at: now,
        expires_at: now + CODE_TTL,
        consumed_at: None,
        family_revoked_at: None,
    };
    (value, code)
}

/// A new refresh token of `family`.
pub fn new_refresh(family_id: Uuid, scope: &str) -> (String, RefreshToken) {
    let value = crypto::new_secret(REFRESH_PREFIX);
    let now = crate::clock::now();
    let rt = RefreshToken {
        digest: crypto::sha256(value.as_bytes()),
        family_id,
        scope: scope.to_owned(),
        created_at: now,
        expires_at: now + REFRESH_TTL,
        consumed_at: None,
        family_revoked_at: None,
    };
    (value, rt)
}

//! Records of grants: what the store keeps and returns (docs/architecture.md).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

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

/// The outcome of an atomic single-use redemption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redemption<T> {
    /// This call consumed it.
    Fresh(T),
    /// It had been consumed before: a replay.
    Reused(T),
    Unknown,
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

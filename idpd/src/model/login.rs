//! Records of login: what the store keeps and returns (docs/architecture.md).

use super::authorize::AuthorizationRequest;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginFlow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub secret_digest: [u8; 32],
    pub request: AuthorizationRequest,
    pub email: Option<String>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    /// An internal path (made by idpd, never taken from a request) where the browser goes
    /// after the login instead of back to a client: the device page (RFC 8628 §3.3).
    pub resume: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Otp {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub flow_id: Uuid,
    pub email: String,
    pub code_digest: [u8; 32],
    pub link_digest: [u8; 32],
    pub attempts: i64,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub consumed_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub token_digest: [u8; 32],
    pub provider: String,
    pub amr: Vec<String>,
    pub auth_time: OffsetDateTime,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
}

//! Records of admin_tokens: what the store keeps and returns (docs/architecture.md).

use time::OffsetDateTime;
use uuid::Uuid;

/// An admin token as stored: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminToken {
    pub id: Uuid,
    pub name: String,
    pub digest: [u8; 32],
    /// `None`: the token may act on every tenant.
    pub tenant_id: Option<Uuid>,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}

//! Records of users: what the store keeps and returns (docs/architecture.md).

use time::OffsetDateTime;
use uuid::Uuid;

/// A user as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// Lower-cased; unique in the tenant.
    pub email: String,
    pub email_verified: bool,
    pub name: Option<String>,
    /// BCP 47 tag in canonical case.
    pub locale: Option<String>,
    pub disabled: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

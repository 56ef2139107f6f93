//! Records of keys: what the store keeps and returns (docs/architecture.md).

use serde_json::Value;
use shared::admin::Alg;
use time::OffsetDateTime;
use uuid::Uuid;

/// A signing key as stored: the private key sealed under the master key.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRecord {
    pub kid: String,
    pub tenant_id: Uuid,
    pub alg: Alg,
    pub sealed_private: Vec<u8>,
    pub public_key: Vec<u8>,
    pub public_jwk: Value,
    pub created_at: OffsetDateTime,
    pub activates_at: OffsetDateTime,
    /// Set when an operator retired the key before its natural end.
    pub removed_at: Option<OffsetDateTime>,
}

//! Records of clients: what the store keeps and returns (docs/architecture.md).

use time::OffsetDateTime;
use uuid::Uuid;

/// A client as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRecord {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub client_id: String,
    pub name: String,
    pub public: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    pub access_token_ttl_seconds: i64,
    pub id_token_alg: shared::admin::Alg,
    pub disabled: bool,
    pub secret_digest: Option<[u8; 32]>,
    pub previous_secret_digest: Option<[u8; 32]>,
    pub previous_secret_expires_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

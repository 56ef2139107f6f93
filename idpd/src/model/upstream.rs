//! Records of upstream: what the store keeps and returns (docs/architecture.md).

use time::OffsetDateTime;
use uuid::Uuid;

/// A local user's link to an upstream subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamLink {
    pub provider_id: Uuid,
    pub subject: String,
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub created_at: OffsetDateTime,
}

/// One redirect to the upstream, as stored (single use, [`LOGIN_TTL`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamLogin {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub provider_id: Uuid,
    pub flow_id: Uuid,
    pub state_digest: [u8; 32],
    pub nonce: String,
    pub pkce_verifier: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub consumed_at: Option<OffsetDateTime>,
}

//! Store trait of revoked access tokens (RFC 7009). Each method is one atomic unit.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::Result;

#[async_trait]
pub trait RevocationStore: Send + Sync {
    /// Records a revoked access token until it would have expired anyway.
    async fn revoke_token(
        &self,
        jti: &str,
        tenant_id: Uuid,
        expires_at: OffsetDateTime,
    ) -> Result<()>;
    async fn is_revoked(&self, jti: &str) -> Result<bool>;
    /// Deletes revocations of tokens that have expired; returns how many.
    async fn purge_revocations(&self, now: OffsetDateTime) -> Result<u64>;
}

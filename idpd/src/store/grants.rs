//! Store trait of the grant aggregate: token families, authorization codes and refresh
//! tokens. Each method is one atomic unit.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::Result;
use crate::model::grants::{AuthCode, Redemption, RefreshToken, TokenFamily};

#[async_trait]
pub trait GrantStore: Send + Sync {
    /// Stores a new family and its authorization code together.
    async fn insert_code(&self, family: &TokenFamily, code: &AuthCode) -> Result<()>;
    /// Consumes the code if unused (one conditional UPDATE: of concurrent callers exactly
    /// one gets `Fresh`).
    async fn redeem_code(
        &self,
        digest: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<Redemption<AuthCode>>;
    async fn find_family(&self, id: Uuid) -> Result<Option<TokenFamily>>;
    async fn revoke_family(&self, id: Uuid, now: OffsetDateTime) -> Result<()>;
    async fn insert_refresh(&self, rt: &RefreshToken) -> Result<()>;
    /// The refresh token with this digest, consumed or not (for revocation, RFC 7009).
    async fn find_refresh(&self, digest: &[u8; 32]) -> Result<Option<RefreshToken>>;
    /// Consumes `digest` and stores its successor in one transaction, or reports a replay.
    async fn rotate_refresh(
        &self,
        digest: &[u8; 32],
        successor: &RefreshToken,
        now: OffsetDateTime,
    ) -> Result<Redemption<RefreshToken>>;
}

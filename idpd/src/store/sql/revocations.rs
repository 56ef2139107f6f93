// `idp_revoked_tokens`. (for every backend).

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Backend, Statement};
use crate::store::{Result, RevocationStore};

#[async_trait]
impl<B: Backend> RevocationStore for B {
    async fn revoke_token(
        &self,
        jti: &str,
        tenant_id: Uuid,
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        Self::sql(
            "INSERT INTO idp_revoked_tokens (jti, tenant_id, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (jti) DO NOTHING",
        )
        .bind(jti)
        .bind(tenant_id)
        .bind(expires_at)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn is_revoked(&self, jti: &str) -> Result<bool> {
        let row = Self::sql("SELECT 1 FROM idp_revoked_tokens WHERE jti = $1")
            .bind(jti)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.is_some())
    }

    async fn purge_revocations(&self, now: OffsetDateTime) -> Result<u64> {
        let done = Self::sql("DELETE FROM idp_revoked_tokens WHERE expires_at < $1")
            .bind(now)
            .execute(self.writer())
            .await?;
        Ok(done.rows_affected())
    }
}

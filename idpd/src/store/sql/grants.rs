// Token families, authorization codes and refresh tokens (for every backend).

use std::sync::OnceLock;

use async_trait::async_trait;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{BACKENDS, Backend, Statement, WriteTx, rows};
use crate::model::grants::{AuthCode, Redemption, RefreshToken, TokenFamily};
use crate::store::{GrantStore, Result};

#[async_trait]
impl<B: Backend> GrantStore for B {
    async fn insert_code(&self, family: &TokenFamily, code: &AuthCode) -> Result<()> {
        const FAMILY: &str = "INSERT INTO idp_token_families (id, tenant_id, client_id, user_id, \
                              session_id, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, NULL)";
        const CODE: &str = "INSERT INTO idp_auth_codes (digest, tenant_id, family_id, request, auth_time, \
                            created_at, expires_at, consumed_at) VALUES ($7, $2, $1, $8, $9, $10, $11, NULL)";
        // Both rows in one request to the database (this runs on every authorize); the
        // script's text is built once per process and backend.
        static SCRIPT: [OnceLock<String>; BACKENDS] = [const { OnceLock::new() }; BACKENDS];
        let script = SCRIPT[B::SLOT].get_or_init(|| B::atomic_pair(FAMILY, CODE));
        self.execute_atomic(
            B::sql(script.as_str())
                .bind(family.id)
                .bind(family.tenant_id)
                .bind(&family.client_id)
                .bind(family.user_id)
                .bind(family.session_id)
                .bind(family.created_at)
                .bind(code.digest.to_vec())
                .bind(Json(&code.request))
                .bind(code.auth_time)
                .bind(code.created_at)
                .bind(code.expires_at),
        )
        .await
    }

    async fn redeem_code(
        &self,
        digest: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<Redemption<AuthCode>> {
        let row = Self::sql(
            "UPDATE idp_auth_codes SET consumed_at = $1 WHERE digest = $2 AND consumed_at IS NULL \
             RETURNING *, (SELECT f.revoked_at FROM idp_token_families f \
                           WHERE f.id = idp_auth_codes.family_id) AS family_revoked_at",
        )
        .bind(now)
        .bind(&digest[..])
        .fetch_optional(self.writer())
        .await?;
        if let Some(r) = row {
            return Ok(Redemption::Fresh(rows::code(&r)?));
        }
        let row = Self::sql(
            "SELECT c.*, f.revoked_at AS family_revoked_at FROM idp_auth_codes c \
             JOIN idp_token_families f ON f.id = c.family_id WHERE c.digest = $1",
        )
        .bind(&digest[..])
        .fetch_optional(self.reader())
        .await?;
        Ok(match row {
            Some(r) => Redemption::Reused(rows::code(&r)?),
            None => Redemption::Unknown,
        })
    }

    async fn find_family(&self, id: Uuid) -> Result<Option<TokenFamily>> {
        let row = Self::sql("SELECT * FROM idp_token_families WHERE id = $1")
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(rows::family).transpose()
    }

    async fn revoke_family(&self, id: Uuid, now: OffsetDateTime) -> Result<()> {
        Self::sql(
            "UPDATE idp_token_families SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn insert_refresh(&self, rt: &RefreshToken) -> Result<()> {
        insert_refresh::<B>(rt).execute(self.writer()).await?;
        Ok(())
    }

    async fn find_refresh(&self, digest: &[u8; 32]) -> Result<Option<RefreshToken>> {
        let row = Self::sql(
            "SELECT r.*, f.revoked_at AS family_revoked_at FROM idp_refresh_tokens r \
             LEFT JOIN idp_token_families f ON f.id = r.family_id WHERE r.digest = $1",
        )
        .bind(&digest[..])
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(rows::refresh).transpose()
    }

    async fn rotate_refresh(
        &self,
        digest: &[u8; 32],
        successor: &RefreshToken,
        now: OffsetDateTime,
    ) -> Result<Redemption<RefreshToken>> {
        let mut tx = self.begin_write().await?;
        let row = Self::sql(
            "UPDATE idp_refresh_tokens SET consumed_at = $1 WHERE digest = $2 AND consumed_at IS NULL \
             RETURNING *, (SELECT f.revoked_at FROM idp_token_families f \
                           WHERE f.id = idp_refresh_tokens.family_id) AS family_revoked_at",
        )
        .bind(now)
        .bind(&digest[..])
        .fetch_optional(&mut tx)
        .await?;
        let Some(row) = row else {
            drop(tx);
            return Ok(match self.find_refresh(digest).await? {
                Some(old) => Redemption::Reused(old),
                None => Redemption::Unknown,
            });
        };
        let old = rows::refresh(&row)?;
        // The successor carries the family and the scope of the token it replaces.
        let successor = RefreshToken {
            family_id: old.family_id,
            scope: old.scope.clone(),
            ..successor.clone()
        };
        insert_refresh::<B>(&successor).execute(&mut tx).await?;
        tx.commit().await?;
        Ok(Redemption::Fresh(old))
    }
}

/// The statement that stores a refresh token (also used by the device grants' families).
pub(super) fn insert_refresh<B: Backend>(rt: &RefreshToken) -> B::Stmt {
    B::sql(
        "INSERT INTO idp_refresh_tokens (digest, family_id, scope, created_at, expires_at, consumed_at) \
         VALUES ($1, $2, $3, $4, $5, NULL)",
    )
    .bind(&rt.digest[..])
    .bind(rt.family_id)
    .bind(&rt.scope)
    .bind(rt.created_at)
    .bind(rt.expires_at)
}

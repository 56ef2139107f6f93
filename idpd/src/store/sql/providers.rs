// Identity providers, upstream account links and relying-party login transactions (shared
// by both backends: included by sqlite/ and postgres/).

use async_trait::async_trait;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Backend, Columns, Statement, WriteTx};
use crate::model::providers::{ProviderConfig, ProviderRecord};
use crate::model::upstream::{UpstreamLink, UpstreamLogin};
use crate::model::users::UserRecord;
use crate::store::{ProviderStore, Result, StoreError, conflict};

fn provider(row: &impl Columns) -> Result<ProviderRecord> {
    let kind: String = row.try_get("kind")?;
    let Json(config): Json<ProviderConfig> = row.try_get("config")?;
    Ok(ProviderRecord {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        name: row.try_get("name")?,
        kind: serde_json::from_value(serde_json::Value::String(kind.clone()))
            .map_err(|_| StoreError::Corrupt(format!("unknown provider kind {kind:?}")))?,
        is_default: row.try_get("is_default")?,
        config,
        client_secret_sealed: row.try_get("client_secret_sealed")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn digest32(v: Vec<u8>) -> Result<[u8; 32]> {
    v.try_into()
        .map_err(|_| StoreError::Corrupt("digest is not 32 bytes".into()))
}

fn upstream_login(row: &impl Columns) -> Result<UpstreamLogin> {
    Ok(UpstreamLogin {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        provider_id: row.try_get("provider_id")?,
        flow_id: row.try_get("flow_id")?,
        state_digest: digest32(row.try_get("state_digest")?)?,
        nonce: row.try_get("nonce")?,
        pkce_verifier: row.try_get("pkce_verifier")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        consumed_at: row.try_get("consumed_at")?,
    })
}

#[async_trait]
impl<B: Backend> ProviderStore for B {
    async fn insert_provider(&self, p: &ProviderRecord) -> Result<()> {
        Self::sql(
            "INSERT INTO idp_identity_providers (id, tenant_id, name, kind, is_default, config, \
             client_secret_sealed, created_at, updated_at) \
             VALUES ($1, $2, $3, 'external_oidc', FALSE, $4, $5, $6, $7)",
        )
        .bind(p.id)
        .bind(p.tenant_id)
        .bind(&p.name)
        .bind(Json(&p.config))
        .bind(&p.client_secret_sealed)
        .bind(p.created_at)
        .bind(p.updated_at)
        .execute(self.writer())
        .await
        .map_err(conflict)?;
        self.changes()
            .publish(&crate::store::changes::Change::Tenant {
                tenant_id: p.tenant_id,
            });
        Ok(())
    }

    async fn find_provider(&self, tenant_id: Uuid, name: &str) -> Result<Option<ProviderRecord>> {
        let row =
            Self::sql("SELECT * FROM idp_identity_providers WHERE tenant_id = $1 AND name = $2")
                .bind(tenant_id)
                .bind(name)
                .fetch_optional(self.reader())
                .await?;
        row.as_ref().map(provider).transpose()
    }

    async fn list_providers(&self, tenant_id: Uuid) -> Result<Vec<ProviderRecord>> {
        let rows =
            Self::sql("SELECT * FROM idp_identity_providers WHERE tenant_id = $1 ORDER BY name")
                .bind(tenant_id)
                .fetch_all(self.reader())
                .await?;
        rows.iter().map(provider).collect()
    }

    async fn update_provider(&self, p: &ProviderRecord) -> Result<()> {
        let done = Self::sql(
            "UPDATE idp_identity_providers SET config = $1, client_secret_sealed = $2, updated_at = $3 \
             WHERE id = $4",
        )
        .bind(Json(&p.config))
        .bind(&p.client_secret_sealed)
        .bind(p.updated_at)
        .bind(p.id)
        .execute(self.writer())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn delete_provider(&self, id: Uuid) -> Result<()> {
        let done =
            Self::sql("DELETE FROM idp_identity_providers WHERE id = $1 AND is_default = FALSE")
                .bind(id)
                .execute(self.writer())
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn set_default_provider(&self, tenant_id: Uuid, provider_id: Uuid) -> Result<()> {
        let mut tx = self.begin_write().await?;
        Self::lock_tenant(&mut tx, tenant_id).await?;
        Self::sql(
            "UPDATE idp_identity_providers SET is_default = FALSE WHERE tenant_id = $1 AND is_default = TRUE",
        )
        .bind(tenant_id)
        .execute(&mut tx)
        .await?;
        let done = Self::sql(
            "UPDATE idp_identity_providers SET is_default = TRUE WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(provider_id)
        .execute(&mut tx)
        .await
        .map_err(conflict)?;
        if done.rows_affected() == 0 {
            // Dropping the transaction rolls the cleared default back.
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        // The tenant's default provider is part of the cached tenant.
        self.changes()
            .publish(&crate::store::changes::Change::Tenant { tenant_id });
        Ok(())
    }

    async fn find_upstream_link(&self, provider_id: Uuid, subject: &str) -> Result<Option<Uuid>> {
        let row = Self::sql(
            "SELECT user_id FROM idp_upstream_links WHERE provider_id = $1 AND subject = $2",
        )
        .bind(provider_id)
        .bind(subject)
        .fetch_optional(self.reader())
        .await?;
        Ok(match row {
            Some(r) => Some(r.try_get("user_id")?),
            None => None,
        })
    }

    async fn has_upstream_links(&self, user_id: Uuid) -> Result<bool> {
        let row = Self::sql("SELECT 1 AS one FROM idp_upstream_links WHERE user_id = $1 LIMIT 1")
            .bind(user_id)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.is_some())
    }

    async fn link_upstream(&self, user: Option<&UserRecord>, link: &UpstreamLink) -> Result<()> {
        let mut tx = self.begin_write().await?;
        if let Some(u) = user {
            super::users::insert_user::<B>(u)
                .execute(&mut tx)
                .await
                .map_err(conflict)?;
        }
        Self::sql(
            "INSERT INTO idp_upstream_links (provider_id, subject, tenant_id, user_id, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(link.provider_id)
        .bind(&link.subject)
        .bind(link.tenant_id)
        .bind(link.user_id)
        .bind(link.created_at)
        .execute(&mut tx)
        .await
        .map_err(conflict)?;
        tx.commit().await?;
        Ok(())
    }

    async fn insert_upstream_login(&self, l: &UpstreamLogin) -> Result<()> {
        Self::sql(
            "INSERT INTO idp_upstream_logins (id, tenant_id, provider_id, flow_id, state_digest, nonce, \
             pkce_verifier, created_at, expires_at, consumed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL)",
        )
        .bind(l.id)
        .bind(l.tenant_id)
        .bind(l.provider_id)
        .bind(l.flow_id)
        .bind(&l.state_digest[..])
        .bind(&l.nonce)
        .bind(&l.pkce_verifier)
        .bind(l.created_at)
        .bind(l.expires_at)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn find_upstream_login(
        &self,
        tenant_id: Uuid,
        state_digest: &[u8; 32],
    ) -> Result<Option<UpstreamLogin>> {
        let row = Self::sql(
            "SELECT * FROM idp_upstream_logins WHERE state_digest = $1 AND tenant_id = $2",
        )
        .bind(&state_digest[..])
        .bind(tenant_id)
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(upstream_login).transpose()
    }

    async fn consume_upstream_login(&self, id: Uuid, now: OffsetDateTime) -> Result<bool> {
        let done = Self::sql(
            "UPDATE idp_upstream_logins SET consumed_at = $1 \
             WHERE id = $2 AND consumed_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(id)
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

// `idp_signing_keys`. (for every backend).

use async_trait::async_trait;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Backend, Columns, Statement, WriteTx, rows};
use crate::model::keys::KeyRecord;
use crate::store::changes::Change;
use crate::store::{KeyStore, Result, StoreError};

const INSERT_KEY: &str = "INSERT INTO idp_signing_keys \
     (kid, tenant_id, alg, sealed_private, public_key, public_jwk, created_at, activates_at, removed_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

pub(super) fn insert_key<B: Backend>(k: &KeyRecord) -> B::Stmt {
    B::sql(INSERT_KEY)
        .bind(&k.kid)
        .bind(k.tenant_id)
        .bind(k.alg.as_str())
        .bind(&k.sealed_private)
        .bind(&k.public_key)
        .bind(Json(&k.public_jwk))
        .bind(k.created_at)
        .bind(k.activates_at)
        .bind(k.removed_at)
}

#[async_trait]
impl<B: Backend> KeyStore for B {
    async fn list_keys(&self, tenant_id: Uuid) -> Result<Vec<KeyRecord>> {
        let rows = Self::sql("SELECT * FROM idp_signing_keys WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(rows::key).collect()
    }

    async fn find_key(&self, kid: &str) -> Result<Option<KeyRecord>> {
        let row = Self::sql("SELECT * FROM idp_signing_keys WHERE kid = $1")
            .bind(kid)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(rows::key).transpose()
    }

    async fn insert_key(&self, k: &KeyRecord) -> Result<()> {
        insert_key::<B>(k).execute(self.writer()).await?;
        self.changes().publish(&Change::Keys {
            tenant_id: k.tenant_id,
        });
        Ok(())
    }

    async fn remove_key(&self, kid: &str, at: OffsetDateTime) -> Result<()> {
        let tenant = Self::sql(
            "UPDATE idp_signing_keys SET removed_at = $1 WHERE kid = $2 RETURNING tenant_id",
        )
        .bind(at)
        .bind(kid)
        .fetch_optional(self.writer())
        .await?;
        let Some(tenant) = tenant else {
            return Err(StoreError::NotFound);
        };
        self.changes().publish(&Change::Keys {
            tenant_id: tenant.try_get("tenant_id")?,
        });
        Ok(())
    }

    async fn insert_key_if_due(&self, k: &KeyRecord, due_before: OffsetDateTime) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        Self::lock_tenant(&mut tx, k.tenant_id).await?;
        let rows =
            Self::sql("SELECT created_at FROM idp_signing_keys WHERE tenant_id = $1 AND alg = $2")
                .bind(k.tenant_id)
                .bind(k.alg.as_str())
                .fetch_all(&mut tx)
                .await?;
        for r in &rows {
            if r.try_get::<OffsetDateTime>("created_at")? > due_before {
                return Ok(false);
            }
        }
        insert_key::<B>(k).execute(&mut tx).await?;
        tx.commit().await?;
        self.changes().publish(&Change::Keys {
            tenant_id: k.tenant_id,
        });
        Ok(true)
    }

    async fn tenants_with_rotation(&self) -> Result<Vec<(Uuid, i64)>> {
        let rows = Self::sql(
            "SELECT id, key_rotation_interval_seconds FROM idp_tenants \
             WHERE key_rotation_interval_seconds IS NOT NULL",
        )
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("id")?,
                    r.try_get("key_rotation_interval_seconds")?,
                ))
            })
            .collect()
    }
}

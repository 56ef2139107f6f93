// `idp_clients`. (for every backend).

use async_trait::async_trait;
use sqlx::types::Json;
use uuid::Uuid;

use super::{Backend, Statement, rows};
use crate::model::clients::ClientRecord;
use crate::store::changes::Change;
use crate::store::{ClientStore, Result, StoreError, conflict};

#[async_trait]
impl<B: Backend> ClientStore for B {
    async fn insert_client(&self, c: &ClientRecord) -> Result<()> {
        Self::sql(
            "INSERT INTO idp_clients (id, tenant_id, client_id, name, public, redirect_uris, \
             post_logout_redirect_uris, grant_types, scopes, access_token_ttl_seconds, disabled, \
             secret_digest, previous_secret_digest, previous_secret_expires_at, created_at, updated_at, \
             id_token_alg) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        )
        .bind(c.id)
        .bind(c.tenant_id)
        .bind(&c.client_id)
        .bind(&c.name)
        .bind(c.public)
        .bind(Json(&c.redirect_uris))
        .bind(Json(&c.post_logout_redirect_uris))
        .bind(Json(&c.grant_types))
        .bind(Json(&c.scopes))
        .bind(c.access_token_ttl_seconds)
        .bind(c.disabled)
        .bind(c.secret_digest.map(|d| d.to_vec()))
        .bind(c.previous_secret_digest.map(|d| d.to_vec()))
        .bind(c.previous_secret_expires_at)
        .bind(c.created_at)
        .bind(c.updated_at)
        .bind(c.id_token_alg.as_str())
        .execute(self.writer())
        .await
        .map_err(conflict)?;
        self.changes()
            .publish(&client_change(c.tenant_id, &c.client_id));
        Ok(())
    }

    async fn find_client(&self, tenant_id: Uuid, client_id: &str) -> Result<Option<ClientRecord>> {
        let row = Self::sql("SELECT * FROM idp_clients WHERE tenant_id = $1 AND client_id = $2")
            .bind(tenant_id)
            .bind(client_id)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(rows::client).transpose()
    }

    async fn list_clients(
        &self,
        tenant_id: Uuid,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ClientRecord>> {
        let rows = Self::sql(
            "SELECT * FROM idp_clients WHERE tenant_id = $1 AND client_id > $2 \
             ORDER BY client_id LIMIT $3",
        )
        .bind(tenant_id)
        .bind(after.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(rows::client).collect()
    }

    async fn update_client(&self, c: &ClientRecord) -> Result<()> {
        let done = Self::sql(
            "UPDATE idp_clients SET name = $1, redirect_uris = $2, post_logout_redirect_uris = $3, \
             grant_types = $4, scopes = $5, access_token_ttl_seconds = $6, disabled = $7, \
             secret_digest = $8, previous_secret_digest = $9, previous_secret_expires_at = $10, \
             updated_at = $11, id_token_alg = $14 WHERE tenant_id = $12 AND client_id = $13",
        )
        .bind(&c.name)
        .bind(Json(&c.redirect_uris))
        .bind(Json(&c.post_logout_redirect_uris))
        .bind(Json(&c.grant_types))
        .bind(Json(&c.scopes))
        .bind(c.access_token_ttl_seconds)
        .bind(c.disabled)
        .bind(c.secret_digest.map(|d| d.to_vec()))
        .bind(c.previous_secret_digest.map(|d| d.to_vec()))
        .bind(c.previous_secret_expires_at)
        .bind(c.updated_at)
        .bind(c.tenant_id)
        .bind(&c.client_id)
        .bind(c.id_token_alg.as_str())
        .execute(self.writer())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.changes()
            .publish(&client_change(c.tenant_id, &c.client_id));
        Ok(())
    }

    async fn delete_client(&self, tenant_id: Uuid, client_id: &str) -> Result<()> {
        let done = Self::sql("DELETE FROM idp_clients WHERE tenant_id = $1 AND client_id = $2")
            .bind(tenant_id)
            .bind(client_id)
            .execute(self.writer())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.changes().publish(&client_change(tenant_id, client_id));
        Ok(())
    }
}

fn client_change(tenant_id: Uuid, client_id: &str) -> Change {
    Change::Client {
        tenant_id,
        client_id: client_id.to_owned(),
    }
}

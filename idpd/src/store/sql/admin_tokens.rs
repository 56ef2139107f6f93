// `idp_admin_tokens`. (for every backend).

use async_trait::async_trait;

use super::{Backend, Statement, WriteTx, rows};
use crate::model::admin_tokens::AdminToken;
use crate::store::{AdminTokenStore, Result, conflict};

const INSERT: &str = "INSERT INTO idp_admin_tokens \
     (id, name, digest, tenant_id, created_at, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";

fn insert<B: Backend>(t: &AdminToken) -> B::Stmt {
    B::sql(INSERT)
        .bind(t.id)
        .bind(&t.name)
        .bind(&t.digest[..])
        .bind(t.tenant_id)
        .bind(t.created_at)
        .bind(t.expires_at)
        .bind(t.revoked_at)
}

#[async_trait]
impl<B: Backend> AdminTokenStore for B {
    async fn insert_admin_token(&self, t: &AdminToken) -> Result<()> {
        insert::<B>(t)
            .execute(self.writer())
            .await
            .map_err(conflict)?;
        Ok(())
    }

    async fn find_admin_token(&self, digest: &[u8; 32]) -> Result<Option<AdminToken>> {
        let row = Self::sql("SELECT * FROM idp_admin_tokens WHERE digest = $1")
            .bind(&digest[..])
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(rows::admin_token).transpose()
    }

    async fn insert_bootstrap_admin_token(&self, t: &AdminToken) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let marked = Self::sql(
            "INSERT INTO idp_meta (key, value) VALUES ('bootstrap_admin_token', $1) \
             ON CONFLICT (key) DO NOTHING",
        )
        .bind(t.id.to_string())
        .execute(&mut tx)
        .await?;
        if marked.rows_affected() == 0 {
            return Ok(false);
        }
        insert::<B>(t).execute(&mut tx).await?;
        tx.commit().await?;
        Ok(true)
    }
}

// `idp_admin_tokens`. (shared by both backends: included by sqlite/ and postgres/).

use async_trait::async_trait;

use super::{Args, Backend, Db};
use crate::model::admin_tokens::AdminToken;
use crate::store::{AdminTokenStore, Result, conflict, rows};

const INSERT: &str = "INSERT INTO idp_admin_tokens \
     (id, name, digest, tenant_id, created_at, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";

fn bind_insert<'q>(
    q: sqlx::query::Query<'q, Db, Args>,
    t: &'q AdminToken,
) -> sqlx::query::Query<'q, Db, Args> {
    q.bind(t.id)
        .bind(&t.name)
        .bind(&t.digest[..])
        .bind(t.tenant_id)
        .bind(t.created_at)
        .bind(t.expires_at)
        .bind(t.revoked_at)
}

#[async_trait]
impl AdminTokenStore for Backend {
    async fn insert_admin_token(&self, t: &AdminToken) -> Result<()> {
        bind_insert(sqlx::query(INSERT), t)
            .execute(self.writer())
            .await
            .map_err(conflict)?;
        Ok(())
    }

    async fn find_admin_token(&self, digest: &[u8; 32]) -> Result<Option<AdminToken>> {
        let row = sqlx::query("SELECT * FROM idp_admin_tokens WHERE digest = $1")
            .bind(&digest[..])
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::admin_token).transpose()
    }

    async fn insert_bootstrap_admin_token(&self, t: &AdminToken) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let marked = sqlx::query(
            "INSERT INTO idp_meta (key, value) VALUES ('bootstrap_admin_token', $1) \
             ON CONFLICT (key) DO NOTHING",
        )
        .bind(t.id.to_string())
        .execute(&mut *tx)
        .await?;
        if marked.rows_affected() == 0 {
            return Ok(false);
        }
        bind_insert(sqlx::query(INSERT), t)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }
}

// `idp_meta`. (shared by both backends: included by sqlite/ and postgres/).

use async_trait::async_trait;
use sqlx::Row;

use super::Backend;
use crate::store::{MetaStore, Result};

#[async_trait]
impl MetaStore for Backend {
    async fn get_meta(&self, key: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT value FROM idp_meta WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("value")).transpose()?)
    }

    async fn init_meta(&self, key: &str, value: &str) -> Result<String> {
        sqlx::query(
            "INSERT INTO idp_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(value)
        .execute(self.writer())
        .await?;
        let row = sqlx::query("SELECT value FROM idp_meta WHERE key = $1")
            .bind(key)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("value")?)
    }
}

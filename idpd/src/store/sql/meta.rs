// `idp_meta`. (for every backend).

use async_trait::async_trait;

use super::{Backend, Columns, Statement};
use crate::store::{MetaStore, Result};

#[async_trait]
impl<B: Backend> MetaStore for B {
    async fn get_meta(&self, key: &str) -> Result<Option<String>> {
        let row = Self::sql("SELECT value FROM idp_meta WHERE key = $1")
            .bind(key)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.map(|r| r.try_get("value")).transpose()?)
    }

    async fn init_meta(&self, key: &str, value: &str) -> Result<String> {
        Self::sql("INSERT INTO idp_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(value)
            .execute(self.writer())
            .await?;
        let row = Self::sql("SELECT value FROM idp_meta WHERE key = $1")
            .bind(key)
            .fetch_one(self.reader())
            .await?;
        Ok(row.try_get("value")?)
    }
}

// `idp_rate_limits` (for every backend).

use async_trait::async_trait;

use super::{Backend, Columns, Statement};
use crate::store::{RateLimitStore, Result};

#[async_trait]
impl<B: Backend> RateLimitStore for B {
    async fn hit(&self, key: &str, window_start: i64) -> Result<i64> {
        // One statement: concurrent hits never lose a count (no read-modify-write).
        let row = Self::sql(
            "INSERT INTO idp_rate_limits (key, window_start, count) VALUES ($1, $2, 1) \
             ON CONFLICT (key) DO UPDATE SET \
               count = CASE WHEN idp_rate_limits.window_start = $2 THEN idp_rate_limits.count + 1 ELSE 1 END, \
               window_start = $2 \
             RETURNING count",
        )
        .bind(key)
        .bind(window_start)
        .fetch_one(self.writer())
        .await?;
        Ok(row.try_get("count")?)
    }

    async fn purge_rate_limits(&self, before: i64) -> Result<u64> {
        let done = Self::sql("DELETE FROM idp_rate_limits WHERE window_start < $1")
            .bind(before)
            .execute(self.writer())
            .await?;
        Ok(done.rows_affected())
    }
}

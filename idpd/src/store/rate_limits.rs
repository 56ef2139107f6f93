//! Store trait of the rate-limit counters shared by every instance. Each method is one atomic unit.

use async_trait::async_trait;

use super::Result;

#[async_trait]
pub trait RateLimitStore: Send + Sync {
    /// Counts one hit on `key` in the window starting at `window_start` (Unix seconds; a new
    /// window resets the count) and returns the count so far, atomically.
    async fn hit(&self, key: &str, window_start: i64) -> Result<i64>;
    /// Deletes counters of windows that started before `before`.
    async fn purge_rate_limits(&self, before: i64) -> Result<u64>;
}

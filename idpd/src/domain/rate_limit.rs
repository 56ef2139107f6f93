//! Fixed-window rate limits with their counters in the database, so a limit holds across
//! restarts and across instances (docs/security.md invariant 4).

use crate::store::{Store, StoreError};

/// A limit: at most `max` hits per `window_seconds`.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub max: i64,
    pub window_seconds: i64,
}

/// Failed client authentications per client and minute (SEC-10), from the configuration:
/// secrets are 256-bit, so this refuses floods rather than guessing. `None`: no limit.
pub fn client_auth_failures(per_minute: u32) -> Option<Limit> {
    (per_minute > 0).then_some(Limit {
        max: i64::from(per_minute),
        window_seconds: 60,
    })
}

/// Failed client authentications per source address: five times the per-client limit, since
/// one address may front many clients.
pub fn ip_auth_failures(per_minute: u32) -> Option<Limit> {
    client_auth_failures(per_minute.saturating_mul(5))
}

/// Counts a hit on `key`; `Err(retry_after_seconds)` once the limit is exceeded.
pub async fn hit(
    store: &dyn Store,
    key: &str,
    limit: Limit,
) -> Result<Result<(), i64>, StoreError> {
    let now = crate::clock::now().unix_timestamp();
    let window_start = now - now.rem_euclid(limit.window_seconds);
    let count = store.hit(key, window_start).await?;
    if count > limit.max {
        Ok(Err((window_start + limit.window_seconds - now).max(1)))
    } else {
        Ok(Ok(()))
    }
}

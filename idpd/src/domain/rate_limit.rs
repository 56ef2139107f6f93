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
    Ok(hit_counted(store, key, limit)
        .await?
        .map_err(|o| o.retry_after))
}

/// A hit over the limit.
#[derive(Debug, Clone, Copy)]
pub struct Over {
    pub retry_after: i64,
    /// The first refused hit of its window (worth one audit event; the rest are not).
    pub first: bool,
}

/// [`hit`], telling whether a refusal is the window's first.
pub async fn hit_counted(
    store: &dyn Store,
    key: &str,
    limit: Limit,
) -> Result<Result<(), Over>, StoreError> {
    let now = crate::clock::now().unix_timestamp();
    let window_start = now - now.rem_euclid(limit.window_seconds);
    let count = store.hit(key, window_start).await?;
    if count > limit.max {
        Ok(Err(Over {
            retry_after: (window_start + limit.window_seconds - now).max(1),
            first: count == limit.max + 1,
        }))
    } else {
        Ok(Ok(()))
    }
}

/// A client address as rate-limit keys name it: an IPv4 address, or the /64 of an IPv6
/// address (one subscriber's network: a client with one IPv6 address has 2^64).
pub fn source(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_sources_are_their_64() {
        let a = source("2001:db8:1:2:aaaa::1".parse().unwrap());
        assert_eq!(a, "2001:db8:1:2::/64");
        assert_eq!(a, source("2001:db8:1:2:ffff:1:2:3".parse().unwrap()));
        assert_ne!(a, source("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(source("::ffff:192.0.2.1".parse().unwrap()), "192.0.2.1");
        assert_eq!(source("192.0.2.1".parse().unwrap()), "192.0.2.1");
    }
}

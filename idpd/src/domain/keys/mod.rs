//! Signing keys of a tenant: creation, life cycle and rotation (docs/contract.md "Secrets and keys").
//!
//! A key's state is derived from its timestamps, so no job has to flip states on time and
//! every instance agrees: `next` until `activates_at`; `active` while it is the newest
//! activated key of its algorithm; `retiring` once a newer key has activated, until every
//! token it signed has expired; then `removed` (also when an operator retires it early).

pub mod jws;
pub mod material;
mod ring;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use shared::admin::{Alg, KeyState};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

pub use ring::{KeyRing, LoadedKey, TenantKeys};

use super::error::{Error, Result};
use super::tenants::Tenant;
use crate::clock::now;
use crate::crypto::{self, MasterKey};
pub use crate::model::keys::KeyRecord;
use crate::store::Store;

/// `Cache-Control: max-age` of the JWKS.
pub const JWKS_MAX_AGE_SECONDS: i64 = 60;
/// Default delay between publishing a key and signing with it: a verifier that cached the
/// JWKS just before the rotation has refetched it by then (SEC-13).
pub const DEFAULT_PREPUBLISH_SECONDS: i64 = JWKS_MAX_AGE_SECONDS + 60;
/// The longest lifetime of any token idpd signs (the access-token TTL cap). A retired key
/// stays published this long after it last signed, plus clock skew.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::hours(24);
pub const CLOCK_SKEW: Duration = Duration::minutes(5);
/// How stale the in-memory key ring may get before it rereads the database: a rotation done
/// through another instance is seen within this bound.
pub const RING_REFRESH: StdDuration = StdDuration::from_secs(2);
/// Shortest automatic rotation interval.
pub const MIN_ROTATION_INTERVAL_SECONDS: i64 = 3600;

/// A key with its derived life-cycle state at some instant.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyView {
    pub record: KeyRecord,
    pub state: KeyState,
    /// When a newer key took over signing.
    pub retired_at: Option<OffsetDateTime>,
    /// When it leaves (or left) the JWKS.
    pub removed_at: Option<OffsetDateTime>,
}

/// Generates a key, sealing the private half under the master key (AAD: the kid, so a
/// sealed key cannot be swapped onto another record).
pub fn new_key(
    master: &MasterKey,
    tenant_id: Uuid,
    alg: Alg,
    activates_at: OffsetDateTime,
) -> Result<KeyRecord> {
    let kid = crypto::random_id::<15>();
    let generated = material::generate(alg).map_err(|e| Error::Internal(e.into()))?;
    let public_jwk = material::public_jwk(alg, &kid, &generated);
    Ok(KeyRecord {
        sealed_private: master.seal(kid.as_bytes(), &generated.pkcs8),
        public_key: generated.public,
        public_jwk,
        tenant_id,
        alg,
        created_at: now(),
        activates_at,
        removed_at: None,
        kid,
    })
}

/// The signing algorithms discovery advertises (`id_token_signing_alg_values_supported`).
pub const ADVERTISED_ALGS: [Alg; 3] = [Alg::RS256, Alg::ES256, Alg::EdDSA];

/// The keys a new tenant starts with: one of every advertised algorithm, all active at once
/// (nothing has been signed and no JWKS served yet). So a client or tenant switching to
/// another algorithm later finds its key already published: a first key made on demand
/// would sign before verifiers' cached JWKS (60 s) could know it.
pub fn initial_keys(master: &MasterKey, tenant_id: Uuid) -> Result<Vec<KeyRecord>> {
    let at = now();
    ADVERTISED_ALGS
        .into_iter()
        .map(|alg| new_key(master, tenant_id, alg, at))
        .collect()
}

/// Runs key generation off the async workers: an RSA key takes tens of milliseconds.
pub async fn generate_off_thread<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(anyhow::anyhow!("key generation task failed: {e}")))?
}

/// Makes sure the tenant has an active key of `alg`. Tenants have a key of every advertised
/// algorithm from their creation (and older tenants get the missing ones pre-published by
/// [`rotate_due`]), so this only makes a key, active at once, for a tenant whose keys of
/// `alg` were all retired by hand.
pub async fn ensure_active(
    store: &dyn Store,
    master: &Arc<MasterKey>,
    tenant_id: Uuid,
    alg: Alg,
) -> Result<()> {
    let existing = store.list_keys(tenant_id).await?;
    let has_key = lifecycle(&existing, crate::clock::now())
        .iter()
        .any(|v| v.record.alg == alg && v.state == KeyState::Active);
    if !has_key {
        let m = master.clone();
        let key = generate_off_thread(move || new_key(&m, tenant_id, alg, now())).await?;
        store.insert_key(&key).await?;
    }
    Ok(())
}

/// Derives the state of every key of one tenant at `at`.
pub fn lifecycle(keys: &[KeyRecord], at: OffsetDateTime) -> Vec<KeyView> {
    keys.iter()
        .map(|k| {
            // The key that took over: the earliest newer key of the same algorithm that has
            // activated by `at`.
            let successor = keys
                .iter()
                .filter(|o| o.alg == k.alg && o.kid != k.kid)
                // A key retired before it activated never took over.
                .filter(|o| o.removed_at.is_none_or(|r| r > o.activates_at))
                .filter(|o| (o.activates_at, o.created_at) > (k.activates_at, k.created_at))
                .filter(|o| o.activates_at <= at)
                .map(|o| o.activates_at)
                .min();
            let retired_at = successor.map(|s| s.max(k.activates_at));
            let natural_end = retired_at.map(|r| r + MAX_TOKEN_LIFETIME + CLOCK_SKEW);
            let removed_at = match (k.removed_at, natural_end) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let state = if removed_at.is_some_and(|r| r <= at) {
                KeyState::Removed
            } else if at < k.activates_at {
                KeyState::Next
            } else if retired_at.is_some() {
                KeyState::Retiring
            } else {
                KeyState::Active
            };
            KeyView {
                record: k.clone(),
                state,
                retired_at,
                removed_at,
            }
        })
        .collect()
}

pub async fn list(
    store: &dyn Store,
    tenant: &Tenant,
    include_removed: bool,
) -> Result<Vec<KeyView>> {
    let keys = store.list_keys(tenant.id).await?;
    let mut views: Vec<KeyView> = lifecycle(&keys, crate::clock::now())
        .into_iter()
        .filter(|v| include_removed || v.state != KeyState::Removed)
        .collect();
    views.sort_by(|a, b| {
        (a.record.alg.as_str(), a.record.activates_at)
            .cmp(&(b.record.alg.as_str(), b.record.activates_at))
    });
    Ok(views)
}

/// Creates a new key that is published at once and starts signing after `activate_in`.
pub async fn rotate(
    store: &dyn Store,
    master: &Arc<MasterKey>,
    tenant: &Tenant,
    alg: Alg,
    activate_in_seconds: Option<i64>,
) -> Result<KeyView> {
    let delay = activate_in_seconds.unwrap_or(DEFAULT_PREPUBLISH_SECONDS);
    if !(0..=30 * 86400).contains(&delay) {
        return Err(Error::invalid(
            "activate_in_seconds",
            "must be between 0 and 2592000 (30 days)",
        ));
    }
    let (master, tenant_id) = (master.clone(), tenant.id);
    let key = generate_off_thread(move || {
        new_key(&master, tenant_id, alg, now() + Duration::seconds(delay))
    })
    .await?;
    store.insert_key(&key).await?;
    view_of(store, tenant.id, &key.kid).await
}

/// Takes a key out of the JWKS. Refused for the active key (rotate first) and, without
/// `force`, while tokens it signed may still be valid.
/// Retires key `kid` (any tenant's: the operator names it by its unique kid); returns the
/// slug of its tenant and the key's new view.
pub async fn retire(store: &dyn Store, kid: &str, force: bool) -> Result<(String, KeyView)> {
    let key = store
        .find_key(kid)
        .await?
        .ok_or_else(|| Error::NotFound(format!("key {kid:?}")))?;
    let slug = store
        .find_tenant_by_id(key.tenant_id)
        .await?
        .map(|t| t.slug)
        .unwrap_or_default();
    let view = view_of(store, key.tenant_id, kid).await?;
    match view.state {
        KeyState::Removed => return Ok((slug, view)),
        KeyState::Active => {
            return Err(Error::Conflict(format!(
                "key {kid} is the active {} key; rotate first, then retire it",
                key.alg.as_str()
            )));
        }
        KeyState::Retiring if !force => {
            let until = view.removed_at.map(fmt_time).unwrap_or_default();
            return Err(Error::Conflict(format!(
                "tokens signed by key {kid} may be valid until {until}; it leaves the JWKS by \
                 itself then. Retire it now only with force (those tokens will fail verification)"
            )));
        }
        KeyState::Retiring | KeyState::Next => {}
    }
    store.remove_key(kid, now()).await?;
    Ok((slug, view_of(store, key.tenant_id, kid).await?))
}

async fn view_of(store: &dyn Store, tenant_id: Uuid, kid: &str) -> Result<KeyView> {
    let keys = store.list_keys(tenant_id).await?;
    lifecycle(&keys, crate::clock::now())
        .into_iter()
        .find(|v| v.record.kid == kid)
        .ok_or_else(|| Error::NotFound(format!("key {kid:?}")))
}

/// Automatic rotation: for every tenant with an interval, a new key of each algorithm whose
/// newest key is older than the interval. The store inserts only if no other instance did
/// so first, so each rotation happens once however many instances run.
pub async fn rotate_due(store: &dyn Store, master: &Arc<MasterKey>) -> Result<usize> {
    let mut made = 0;
    for (tenant_id, interval) in store.tenants_with_rotation().await? {
        let keys = store.list_keys(tenant_id).await?;
        // Every advertised algorithm: a tenant made before it had keys of each gets the
        // missing ones here, pre-published like any rotation.
        let mut algs: Vec<Alg> = keys.iter().map(|k| k.alg).chain(ADVERTISED_ALGS).collect();
        algs.sort_by_key(|a| a.as_str());
        algs.dedup();
        for alg in algs {
            let newest = keys
                .iter()
                .filter(|k| k.alg == alg)
                .map(|k| k.created_at)
                .max();
            let due_before = now() - Duration::seconds(interval);
            if newest.is_some_and(|n| n > due_before) {
                continue;
            }
            let master = master.clone();
            let key = generate_off_thread(move || {
                new_key(
                    &master,
                    tenant_id,
                    alg,
                    now() + Duration::seconds(DEFAULT_PREPUBLISH_SECONDS),
                )
            })
            .await?;
            if store.insert_key_if_due(&key, due_before).await? {
                tracing::info!(tenant = %tenant_id, kid = %key.kid, alg = alg.as_str(), "rotated signing key");
                made += 1;
            }
        }
    }
    Ok(made)
}

pub fn fmt_time(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(kid: &str, alg: Alg, activates: i64, removed: Option<i64>) -> KeyRecord {
        let t0 = OffsetDateTime::UNIX_EPOCH + Duration::days(20000);
        KeyRecord {
            kid: kid.into(),
            tenant_id: Uuid::nil(),
            alg,
            sealed_private: vec![],
            public_key: vec![],
            public_jwk: serde_json::Value::Null,
            created_at: t0 + Duration::seconds(activates.min(0)),
            activates_at: t0 + Duration::seconds(activates),
            removed_at: removed.map(|r| t0 + Duration::seconds(r)),
        }
    }

    fn states(keys: &[KeyRecord], at: i64) -> Vec<(String, KeyState)> {
        let t0 = OffsetDateTime::UNIX_EPOCH + Duration::days(20000);
        lifecycle(keys, t0 + Duration::seconds(at))
            .into_iter()
            .map(|v| (v.record.kid, v.state))
            .collect()
    }

    #[test]
    fn rotation_walks_the_life_cycle() {
        let keys = [
            rec("a", Alg::RS256, 0, None),
            rec("b", Alg::RS256, 120, None),
            rec("e", Alg::ES256, 0, None),
        ];
        use KeyState::*;
        assert_eq!(
            states(&keys, 60),
            [
                ("a".into(), Active),
                ("b".into(), Next),
                ("e".into(), Active)
            ]
        );
        assert_eq!(
            states(&keys, 121),
            [
                ("a".into(), Retiring),
                ("b".into(), Active),
                ("e".into(), Active)
            ]
        );
        let end = 120 + (MAX_TOKEN_LIFETIME + CLOCK_SKEW).whole_seconds();
        assert_eq!(states(&keys, end - 1)[0].1, Retiring);
        assert_eq!(states(&keys, end)[0].1, Removed);
    }

    #[test]
    fn exactly_one_active_key_per_alg() {
        let keys = [
            rec("a", Alg::ES256, 0, None),
            rec("b", Alg::ES256, 10, None),
            rec("c", Alg::ES256, 20, None),
            rec("d", Alg::ES256, 30, Some(25)),
        ];
        for at in 0..40 {
            let active = states(&keys, at)
                .iter()
                .filter(|(_, s)| *s == KeyState::Active)
                .count();
            assert_eq!(active, 1, "at {at}");
        }
        // A removed next key never takes over.
        assert_eq!(states(&keys, 35)[2].1, KeyState::Active);
    }
}

//! The key ring: every tenant's published keys held in memory, private keys parsed once.
//!
//! Signing reads no database and parses no key. Each tenant's entry is reread from the
//! database when it is older than `RING_REFRESH` (so a rotation through another instance is
//! seen within that bound) and whenever a key changes state; keys already parsed are reused
//! across rereads.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Instant;

use serde_json::json;
use shared::admin::{Alg, KeyState};
use time::OffsetDateTime;
use uuid::Uuid;

use super::material::{KeyError, Signer};
use super::{KeyRecord, RING_REFRESH, lifecycle};
use crate::crypto::MasterKey;
use crate::store::{Store, StoreError};

/// One published key.
pub struct LoadedKey {
    pub kid: String,
    pub alg: Alg,
    pub public_key: Vec<u8>,
    pub activates_at: OffsetDateTime,
    sealed_private: Vec<u8>,
    signer: OnceLock<Result<Signer, String>>,
}

impl LoadedKey {
    /// The parsed private key, unsealed and parsed on first use only.
    pub fn signer(&self, master: &MasterKey) -> Result<&Signer, KeyError> {
        self.signer
            .get_or_init(|| {
                let pkcs8 = master
                    .open(self.kid.as_bytes(), &self.sealed_private)
                    .ok_or_else(|| {
                        format!("key {} does not unseal under the master key", self.kid)
                    })?;
                Signer::from_pkcs8(self.alg, &self.kid, &pkcs8).map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| KeyError::Parse(e.clone()))
    }
}

/// A tenant's published keys at one moment.
pub struct TenantKeys {
    /// When the database read behind this entry began.
    read_started: Instant,
    /// The entry must be recomputed at this instant (a key activates or leaves the JWKS).
    valid_until: Option<OffsetDateTime>,
    keys: Vec<Arc<LoadedKey>>,
    /// The JWKS document, serialized once.
    jwks: Arc<[u8]>,
}

impl TenantKeys {
    /// The key that signs with `alg` now: the newest activated one.
    pub fn active(&self, alg: Alg) -> Option<&Arc<LoadedKey>> {
        let now = crate::clock::now();
        self.keys
            .iter()
            .filter(|k| k.alg == alg && k.activates_at <= now)
            .max_by_key(|k| k.activates_at)
    }

    /// A published key by exact kid (for verifying tokens idpd issued).
    pub fn by_kid(&self, kid: &str) -> Option<&Arc<LoadedKey>> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    pub fn jwks(&self) -> Arc<[u8]> {
        self.jwks.clone()
    }

    fn fresh(&self) -> bool {
        self.read_started.elapsed() < RING_REFRESH
            && self.valid_until.is_none_or(|t| crate::clock::now() < t)
    }
}

pub struct KeyRing {
    master: Arc<MasterKey>,
    tenants: RwLock<HashMap<Uuid, Slot>>,
    verified: VerifiedTokens,
}

/// Tokens whose signature was already checked: the SHA-256 of the whole compact token
/// (header with its `kid`, claims, signature) that verified under the published key it
/// names, until the token expires. A resource server introspects the same token for every
/// call it serves; the elliptic-curve verification (three times the cost of a signature)
/// runs once per token, not once per call. Everything else about the token (its key still
/// published, `typ`, issuer, expiry, revocation, client, family) is checked every time.
/// Only tokens that verified get an entry, so unknown tokens cannot fill it.
#[derive(Default)]
struct VerifiedTokens {
    entries: RwLock<HashMap<[u8; 32], i64>>,
}

impl VerifiedTokens {
    const MAX_ENTRIES: usize = 50_000;

    fn contains(&self, digest: &[u8; 32]) -> bool {
        self.entries
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(digest)
    }

    fn insert(&self, digest: [u8; 32], expires: i64) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= Self::MAX_ENTRIES {
            let now = crate::clock::now().unix_timestamp();
            entries.retain(|_, exp| *exp > now);
            if entries.len() >= Self::MAX_ENTRIES / 2 {
                entries.clear();
            }
        }
        entries.insert(digest, expires);
    }
}

#[derive(Default)]
struct Slot {
    entry: Option<Arc<TenantKeys>>,
    /// Last local key change: a database read that started before it may miss the change
    /// and must not be stored over it.
    invalidated: Option<Instant>,
}

impl KeyRing {
    pub fn new(master: Arc<MasterKey>) -> KeyRing {
        KeyRing {
            master,
            tenants: RwLock::new(HashMap::new()),
            verified: VerifiedTokens::default(),
        }
    }

    pub fn master(&self) -> &MasterKey {
        &self.master
    }

    /// Whether `u` (the compact `token`) is signed by `key`, checking each token's signature
    /// once while it is live (see [`VerifiedTokens`]). `expires` is the token's `exp`.
    pub fn signature_ok(
        &self,
        token: &str,
        u: &super::jws::Unverified<'_>,
        key: &LoadedKey,
        expires: i64,
    ) -> bool {
        let digest = crate::crypto::sha256(token.as_bytes());
        if self.verified.contains(&digest) {
            return true;
        }
        let ok = u.verify(key.alg, &key.public_key);
        if ok {
            self.verified.insert(digest, expires);
        }
        ok
    }

    /// The tenant's keys, from memory when fresh.
    pub async fn get(
        &self,
        store: &dyn Store,
        tenant_id: Uuid,
    ) -> Result<Arc<TenantKeys>, StoreError> {
        let cached = self.cached(tenant_id);
        if let Some(entry) = cached.as_ref().filter(|e| e.fresh()) {
            return Ok(entry.clone());
        }
        // Two tries: a read overtaken by a local change (rotate, retire) is read again.
        let mut previous = cached;
        for _ in 0..2 {
            let started = Instant::now();
            let records = match store.list_keys(tenant_id).await {
                Ok(records) => records,
                // The database is gone for now: keys a few seconds stale still sign and verify
                // correctly (nothing can rotate them meanwhile), and a refresh whose rotation
                // has committed must still be able to sign its successor's tokens.
                Err(e) => match previous {
                    Some(keys) if e.is_unavailable() => {
                        tracing::warn!(tenant = %tenant_id, "database unavailable: signing with the keys in memory");
                        return Ok(keys);
                    }
                    _ => return Err(e),
                },
            };
            let entry = Arc::new(build(records, previous.as_deref(), started));
            let mut map = self.tenants.write().unwrap_or_else(|e| e.into_inner());
            let slot = map.entry(tenant_id).or_default();
            if slot.invalidated.is_some_and(|i| i >= started) {
                previous = slot.entry.clone().or(previous);
                continue;
            }
            // Concurrent refreshes: keep whichever read started last.
            if slot
                .entry
                .as_ref()
                .is_none_or(|e| e.read_started <= started)
            {
                slot.entry = Some(entry.clone());
            }
            return Ok(entry);
        }
        let records = store.list_keys(tenant_id).await?;
        Ok(Arc::new(build(
            records,
            previous.as_deref(),
            Instant::now(),
        )))
    }

    /// Forgets a tenant's entry after a local change, so this instance sees it at once.
    pub fn invalidate(&self, tenant_id: Uuid) {
        let mut map = self.tenants.write().unwrap_or_else(|e| e.into_inner());
        let slot = map.entry(tenant_id).or_default();
        slot.entry = None;
        slot.invalidated = Some(Instant::now());
    }

    /// Forgets every tenant's entry (changes may have been missed).
    pub fn invalidate_all(&self) {
        let mut map = self.tenants.write().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        for slot in map.values_mut() {
            slot.entry = None;
            slot.invalidated = Some(now);
        }
    }

    fn cached(&self, tenant_id: Uuid) -> Option<Arc<TenantKeys>> {
        self.tenants
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&tenant_id)
            .and_then(|s| s.entry.clone())
    }
}

fn build(
    records: Vec<KeyRecord>,
    previous: Option<&TenantKeys>,
    read_started: Instant,
) -> TenantKeys {
    let now = crate::clock::now();
    let views = lifecycle(&records, now);
    let mut keys = Vec::new();
    let mut jwks = Vec::new();
    let mut valid_until: Option<OffsetDateTime> = None;
    let mut soonest = |t: OffsetDateTime| {
        if t > now {
            valid_until = Some(valid_until.map_or(t, |v| v.min(t)));
        }
    };
    for v in views {
        if v.state == KeyState::Removed {
            continue;
        }
        soonest(v.record.activates_at);
        if let Some(r) = v.removed_at {
            soonest(r);
        }
        jwks.push(v.record.public_jwk.clone());
        let reused = previous.and_then(|p| p.by_kid(&v.record.kid)).cloned();
        keys.push(reused.unwrap_or_else(|| {
            Arc::new(LoadedKey {
                kid: v.record.kid,
                alg: v.record.alg,
                public_key: v.record.public_key,
                activates_at: v.record.activates_at,
                sealed_private: v.record.sealed_private,
                signer: OnceLock::new(),
            })
        }));
    }
    let doc =
        serde_json::to_vec(&json!({ "keys": jwks })).unwrap_or_else(|_| b"{\"keys\":[]}".to_vec());
    TenantKeys {
        read_started,
        valid_until,
        keys,
        jwks: doc.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::keys::jws::{self, Unverified};
    use crate::domain::keys::material::{Signer, generate};
    use serde_json::json;

    fn loaded(kid: &str, public: Vec<u8>) -> LoadedKey {
        LoadedKey {
            kid: kid.into(),
            alg: Alg::ES256,
            public_key: public,
            activates_at: crate::clock::now(),
            sealed_private: Vec::new(),
            signer: OnceLock::new(),
        }
    }

    #[test]
    fn a_verified_signature_is_remembered_and_nothing_else_is() {
        let ring = KeyRing::new(Arc::new(MasterKey::from_bytes(&[7; 32])));
        let g = generate(Alg::ES256).unwrap();
        let signer = Signer::from_pkcs8(Alg::ES256, "k1", &g.pkcs8).unwrap();
        let key = loaded("k1", g.public.clone());
        let token = jws::sign(&signer, Alg::ES256, "k1", "at+jwt", &json!({"sub": "a"})).unwrap();
        let u = Unverified::parse(&token).unwrap();
        let exp = crate::clock::now().unix_timestamp() + 60;
        assert!(ring.signature_ok(&token, &u, &key, exp));
        // Remembered: the second check finds the token's digest and verifies nothing.
        assert!(
            ring.verified
                .contains(&crate::crypto::sha256(token.as_bytes()))
        );
        assert!(ring.signature_ok(&token, &u, &key, exp));

        // A forged signature, or a token another key signed, is refused and not remembered.
        let other = generate(Alg::ES256).unwrap();
        let other_signer = Signer::from_pkcs8(Alg::ES256, "k1", &other.pkcs8).unwrap();
        let forged = jws::sign(
            &other_signer,
            Alg::ES256,
            "k1",
            "at+jwt",
            &json!({"sub": "a"}),
        )
        .unwrap();
        let f = Unverified::parse(&forged).unwrap();
        assert!(!ring.signature_ok(&forged, &f, &key, exp));
        assert!(!ring.signature_ok(&forged, &f, &key, exp));
        assert!(
            !ring
                .verified
                .contains(&crate::crypto::sha256(forged.as_bytes()))
        );
        let (head, _) = token.rsplit_once('.').unwrap();
        let (_, sig) = forged.rsplit_once('.').unwrap();
        let spliced = format!("{head}.{sig}");
        let s = Unverified::parse(&spliced).unwrap();
        assert!(!ring.signature_ok(&spliced, &s, &key, exp));
    }

    #[test]
    fn the_memory_of_verified_tokens_is_bounded() {
        let v = VerifiedTokens::default();
        let live = crate::clock::now().unix_timestamp() + 60;
        for i in 0..(VerifiedTokens::MAX_ENTRIES as u32 + 10) {
            let mut d = [0u8; 32];
            d[..4].copy_from_slice(&i.to_be_bytes());
            v.insert(d, live);
        }
        assert!(v.entries.read().unwrap().len() <= VerifiedTokens::MAX_ENTRIES);
    }
}

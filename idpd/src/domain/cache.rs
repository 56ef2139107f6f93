//! Configuration every request reads (tenants by slug, clients), kept in memory so the hot
//! path makes no database round trip for it.
//!
//! An entry is used for at most [`TTL`] after its read began, and is forgotten as soon as the
//! store announces a change to it ([`crate::store::changes`]): a change made through this
//! instance before the admin call answers, one made through another instance (PostgreSQL)
//! when its notification arrives. The TTL is the safety net for notifications missed.
//! Misses are cached too, so a flood of unknown ids does not reach the database.
//!
//! A read that began before a change must not store what it read after the change was
//! heard: every change bumps a generation, and a read stores its result only if the
//! generation is still the one it began with.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::model::clients::ClientRecord;
use crate::model::tenants::Tenant;
use crate::store::changes::Change;
use crate::store::{Store, StoreError};

/// Longest an entry is used without a change being heard.
pub const TTL: Duration = Duration::from_secs(2);

/// Entries per cache; past it the cache starts over (unknown ids cannot grow it unbounded).
const MAX_ENTRIES: usize = 100_000;

/// What a read found, and when the read began.
struct Entry<V> {
    read_at: Instant,
    value: Option<Arc<V>>,
}

impl<V> Entry<V> {
    fn fresh(&self) -> Option<Option<Arc<V>>> {
        (self.read_at.elapsed() < TTL).then(|| self.value.clone())
    }
}

struct Entries<M> {
    map: M,
    len: usize,
    generation: u64,
}

impl<M: Default> Default for Entries<M> {
    fn default() -> Self {
        Entries {
            map: M::default(),
            len: 0,
            generation: 0,
        }
    }
}

impl<M: Default> Entries<M> {
    /// Stores what a read found unless a change was heard since the read began (its
    /// `generation`); starts over when full. `put` inserts and says whether the key is new.
    fn store(&mut self, generation: u64, put: impl FnOnce(&mut M) -> bool) {
        if self.generation != generation {
            return;
        }
        if self.len >= MAX_ENTRIES {
            self.map = M::default();
            self.len = 0;
        }
        if put(&mut self.map) {
            self.len += 1;
        }
    }

    fn forget_all(&mut self) {
        self.map = M::default();
        self.len = 0;
        self.generation += 1;
    }
}

/// Tenants by slug.
#[derive(Default)]
pub struct TenantCache {
    entries: RwLock<Entries<HashMap<String, Entry<Tenant>>>>,
}

impl TenantCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// The tenant named `slug`, from memory when fresh.
    pub async fn get(&self, store: &dyn Store, slug: &str) -> super::Result<Option<Arc<Tenant>>> {
        let generation = {
            let e = self.entries.read().unwrap_or_else(|e| e.into_inner());
            if let Some(found) = e.map.get(slug).and_then(Entry::fresh) {
                return Ok(found);
            }
            e.generation
        };
        // No slug is this long: not worth a query, nor an entry.
        if slug.len() > super::slug::MAX_LEN {
            return Ok(None);
        }
        let read_at = Instant::now();
        let value = store.find_tenant_by_slug(slug).await?.map(Arc::new);
        let entry = Entry {
            read_at,
            value: value.clone(),
        };
        let mut e = self.entries.write().unwrap_or_else(|e| e.into_inner());
        e.store(generation, |map| {
            map.insert(slug.to_owned(), entry).is_none()
        });
        Ok(value)
    }

    /// Forgets every tenant (tenant changes are rare; a rename changes the key itself).
    pub fn forget_all(&self) {
        self.entries
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .forget_all();
    }
}

/// Clients of one tenant by client_id.
type TenantClients = HashMap<String, Entry<ClientRecord>>;

/// Client registrations by tenant and client_id.
#[derive(Default)]
pub struct ClientCache {
    entries: RwLock<Entries<HashMap<Uuid, TenantClients>>>,
}

impl ClientCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// The client `client_id` of the tenant, from memory when fresh.
    pub async fn get(
        &self,
        store: &dyn Store,
        tenant_id: Uuid,
        client_id: &str,
    ) -> Result<Option<Arc<ClientRecord>>, StoreError> {
        let generation = {
            let e = self.entries.read().unwrap_or_else(|e| e.into_inner());
            let found = e.map.get(&tenant_id).and_then(|c| c.get(client_id));
            if let Some(found) = found.and_then(Entry::fresh) {
                return Ok(found);
            }
            e.generation
        };
        let read_at = Instant::now();
        let value = store.find_client(tenant_id, client_id).await?.map(Arc::new);
        let entry = Entry {
            read_at,
            value: value.clone(),
        };
        let mut e = self.entries.write().unwrap_or_else(|e| e.into_inner());
        e.store(generation, |map| {
            let tenant = map.entry(tenant_id).or_default();
            tenant.insert(client_id.to_owned(), entry).is_none()
        });
        Ok(value)
    }

    fn forget(&self, tenant_id: Uuid, client_id: Option<&str>) {
        let mut e = self.entries.write().unwrap_or_else(|e| e.into_inner());
        e.generation += 1;
        let removed = match client_id {
            Some(id) => {
                let tenant = e.map.get_mut(&tenant_id);
                usize::from(tenant.and_then(|t| t.remove(id)).is_some())
            }
            None => e.map.remove(&tenant_id).map_or(0, |t| t.len()),
        };
        e.len = e.len.saturating_sub(removed);
    }

    fn forget_all(&self) {
        self.entries
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .forget_all();
    }
}

/// Makes the caches forget what the store announces as changed.
pub fn subscribe(
    store: &dyn Store,
    tenants: Arc<TenantCache>,
    clients: Arc<ClientCache>,
    ring: Arc<super::keys::KeyRing>,
) {
    store.changes().subscribe(move |change| match change {
        Change::Client {
            tenant_id,
            client_id,
        } => clients.forget(*tenant_id, Some(client_id)),
        Change::Tenant { tenant_id } => {
            tenants.forget_all();
            clients.forget(*tenant_id, None);
        }
        Change::Keys { tenant_id } => ring.invalidate(*tenant_id),
        Change::Everything => {
            tenants.forget_all();
            clients.forget_all();
            ring.invalidate_all();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    type Map = HashMap<String, u32>;

    #[test]
    fn a_read_overtaken_by_a_change_is_not_stored() {
        let mut e = Entries::<Map>::default();
        let began = e.generation;
        e.forget_all(); // a change heard while the read was at the database
        e.store(began, |m| m.insert("a".into(), 1).is_none());
        assert!(e.map.is_empty() && e.len == 0);
        let now = e.generation;
        e.store(now, |m| m.insert("a".into(), 2).is_none());
        assert_eq!(e.map.get("a"), Some(&2));
        assert_eq!(e.len, 1);
    }

    #[test]
    fn entries_are_bounded() {
        let mut e = Entries::<Map>::default();
        for i in 0..MAX_ENTRIES + 10 {
            let g = e.generation;
            e.store(g, |m| m.insert(i.to_string(), 0).is_none());
            assert!(e.len <= MAX_ENTRIES && e.len == e.map.len());
        }
    }
}

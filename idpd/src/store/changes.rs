//! The change feed of configuration the hot path keeps in memory (tenants, clients, signing
//! keys): each write through this store announces what it changed, synchronously and
//! before the write returns, and on PostgreSQL the writes of every other instance arrive the
//! same way (triggers `NOTIFY idp_changes`, [`super::postgres`] listens). Caches subscribe
//! and forget what changed.

use std::sync::{Arc, RwLock};

use uuid::Uuid;

/// What a write changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A client registration (created, updated, disabled, secret rotated, deleted).
    Client { tenant_id: Uuid, client_id: String },
    /// A tenant's row or its default identity provider (created, updated, deleted).
    Tenant { tenant_id: Uuid },
    /// A tenant's signing keys.
    Keys { tenant_id: Uuid },
    /// Anything may have changed: a notification may have been missed (the listening
    /// connection was lost).
    Everything,
}

/// Channel of the PostgreSQL notifications (see migration 0009).
pub const CHANNEL: &str = "idp_changes";

impl Change {
    /// Parses a notification payload: `client:{tenant}:{client_id}`, `tenant:{tenant}`,
    /// `keys:{tenant}`. Anything else is `Everything` (forgetting too much is safe).
    pub fn parse(payload: &str) -> Change {
        let mut parts = payload.splitn(3, ':');
        let kind = parts.next().unwrap_or("");
        let tenant = parts.next().and_then(|t| Uuid::parse_str(t).ok());
        let rest = parts.next();
        match (kind, tenant, rest) {
            ("client", Some(tenant_id), Some(client_id)) => Change::Client {
                tenant_id,
                client_id: client_id.to_owned(),
            },
            ("tenant", Some(tenant_id), None) => Change::Tenant { tenant_id },
            ("keys", Some(tenant_id), None) => Change::Keys { tenant_id },
            _ => Change::Everything,
        }
    }
}

type Subscriber = Arc<dyn Fn(&Change) + Send + Sync>;

/// The subscribers of one store.
#[derive(Default)]
pub struct Changes {
    subscribers: RwLock<Vec<Subscriber>>,
}

impl Changes {
    /// Calls `f` for every change from now on, local or (PostgreSQL) remote.
    pub fn subscribe(&self, f: impl Fn(&Change) + Send + Sync + 'static) {
        self.subscribers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::new(f));
    }

    /// Tells every subscriber, before returning.
    pub fn publish(&self, change: &Change) {
        let subscribers = self
            .subscribers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for s in subscribers {
            s(change);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_parse_and_anything_odd_means_everything() {
        let t = Uuid::new_v4();
        assert_eq!(
            Change::parse(&format!("client:{t}:svc:with:colons")),
            Change::Client {
                tenant_id: t,
                client_id: "svc:with:colons".into()
            }
        );
        assert_eq!(
            Change::parse(&format!("tenant:{t}")),
            Change::Tenant { tenant_id: t }
        );
        assert_eq!(
            Change::parse(&format!("keys:{t}")),
            Change::Keys { tenant_id: t }
        );
        for odd in ["", "client", "tenant:nope", &format!("keys:{t}:x"), "x:y:z"] {
            assert_eq!(Change::parse(odd), Change::Everything, "{odd:?}");
        }
    }

    #[test]
    fn every_subscriber_hears_every_change() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let changes = Changes::default();
        let heard = Arc::new(AtomicUsize::new(0));
        for _ in 0..2 {
            let heard = heard.clone();
            changes.subscribe(move |_| {
                heard.fetch_add(1, Ordering::SeqCst);
            });
        }
        changes.publish(&Change::Everything);
        assert_eq!(heard.load(Ordering::SeqCst), 2);
    }
}

//! Shared state handed to every handler.

use std::sync::Arc;

use crate::config::Config;
use crate::crypto::MasterKey;
use crate::domain::cache::{self, ClientCache, TenantCache};
use crate::domain::keys::KeyRing;
use crate::domain::tenants::TenantRules;
use crate::store::Store;

/// Cloned for every request (axum hands each handler its own): one shared pointer, so a
/// clone is one reference count, whatever the state holds.
#[derive(Clone)]
pub struct AppState(Arc<State>);

impl std::ops::Deref for AppState {
    type Target = State;

    fn deref(&self) -> &State {
        &self.0
    }
}

pub struct State {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub master_key: Arc<MasterKey>,
    pub tenant_rules: Arc<TenantRules>,
    /// Parsed signing keys of every tenant.
    pub ring: Arc<KeyRing>,
    /// Tenants by slug for the public endpoints.
    pub tenants: Arc<TenantCache>,
    /// Clients by tenant and client_id for the client-authenticated endpoints.
    pub clients: Arc<ClientCache>,
    pub pages: Arc<super::pages::Pages>,
    /// Shared: the state is cloned per request, and the outbox variant owns a path.
    pub mailer: Arc<crate::mail::Mailer>,
    pub metrics: Arc<super::metrics::Metrics>,
    /// Outbound client and JWKS cache for external identity providers.
    pub upstreams: Arc<crate::domain::upstream::Upstreams>,
}

impl AppState {
    pub fn new(
        config: Config,
        store: Arc<dyn Store>,
        master_key: MasterKey,
        mailer: crate::mail::Mailer,
    ) -> AppState {
        let host = url::Url::parse(&config.public_url)
            .ok()
            .and_then(|u| match u.host() {
                Some(url::Host::Domain(d)) => Some(d.to_ascii_lowercase()),
                _ => None,
            });
        let tenant_rules = TenantRules {
            public_host: host,
            https: config.public_https(),
        };
        let upstreams = Arc::new(crate::domain::upstream::Upstreams::new(
            config.allow_loopback_upstreams,
        ));
        let master_key = Arc::new(master_key);
        let ring = Arc::new(KeyRing::new(master_key.clone()));
        let tenants = Arc::new(TenantCache::new());
        let clients = Arc::new(ClientCache::new());
        cache::subscribe(
            store.as_ref(),
            tenants.clone(),
            clients.clone(),
            ring.clone(),
        );
        AppState(Arc::new(State {
            config: Arc::new(config),
            store,
            ring,
            master_key,
            tenant_rules: Arc::new(tenant_rules),
            tenants,
            clients,
            pages: Arc::new(super::pages::Pages::new()),
            mailer: Arc::new(mailer),
            metrics: Arc::new(super::metrics::Metrics::new()),
            upstreams,
        }))
    }

    /// `{public_url}/t/{slug}`.
    pub fn issuer(&self, slug: &str) -> String {
        format!("{}/t/{slug}", self.config.public_url)
    }
}

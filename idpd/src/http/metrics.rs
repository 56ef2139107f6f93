//! Prometheus metrics: `/metrics` on the admin listener, in the text exposition format.
//! Labels are bounded: routes are templates (`/t/{slug}/token`), never raw paths; tenants are
//! slugs of existing tenants (requests for unknown tenants never reach a counter with one).

use axum::extract::{MatchedPath, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::http::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    listener: &'static str,
    method: &'static str,
    route: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    listener: &'static str,
    route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    tenant: String,
    grant_type: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LoginLabels {
    tenant: String,
    method: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

type LatencyFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    tokens: Family<TokenLabels, Counter>,
    logins: Family<LoginLabels, Counter>,
    pool: Family<PoolLabels, Gauge>,
}

fn latency_histogram() -> Histogram {
    // 0.25 ms .. ~4 s
    Histogram::new(exponential_buckets(0.00025, 2.0, 15))
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("idpd");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: LatencyFamily = Family::new_with_constructor(latency_histogram);
        let tokens = Family::<TokenLabels, Counter>::default();
        let logins = Family::<LoginLabels, Counter>::default();
        let pool = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "http_requests",
            "HTTP requests by listener, method, route template and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by listener and route template",
            latency.clone(),
        );
        registry.register(
            "tokens_issued",
            "Successful token endpoint responses by tenant and grant type",
            tokens.clone(),
        );
        registry.register(
            "logins",
            "Login attempts by tenant, method and outcome",
            logins.clone(),
        );
        registry.register(
            "db_connections",
            "Database pool connections: open, idle and the configured maximum",
            pool.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            tokens,
            logins,
            pool,
        }
    }

    /// Counts and times one request of a listener (called by `http::envelope`).
    pub fn request(
        &self,
        listener: &'static str,
        method: &axum::http::Method,
        route: Option<&MatchedPath>,
        status: StatusCode,
        elapsed: std::time::Duration,
    ) {
        let route = route.map_or("unmatched", |r| intern(r.as_str()));
        self.latency
            .get_or_create(&RouteLabels { listener, route })
            .observe(elapsed.as_secs_f64());
        self.requests
            .get_or_create(&RequestLabels {
                listener,
                method: method_label(method),
                route,
                status: status.as_u16(),
            })
            .inc();
    }

    pub fn token_issued(&self, tenant: &str, grant_type: &'static str) {
        self.tokens
            .get_or_create(&TokenLabels {
                tenant: tenant.to_owned(),
                grant_type,
            })
            .inc();
    }

    pub fn login(&self, tenant: &str, method: &'static str, success: bool) {
        self.logins
            .get_or_create(&LoginLabels {
                tenant: tenant.to_owned(),
                method,
                outcome: if success { "success" } else { "failure" },
            })
            .inc();
    }

    fn render(&self, state: &AppState) -> Result<String, std::fmt::Error> {
        let stats = state.store.pool_stats();
        for (label, value) in [
            ("open", stats.size),
            ("idle", stats.idle),
            ("max", stats.max),
        ] {
            self.pool
                .get_or_create(&PoolLabels { state: label })
                .set(i64::from(value));
        }
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// A route template as a `&'static str`, so labels cost no allocation per request. Routes
/// are the templates of the routers (a few dozen), each leaked once.
fn intern(route: &str) -> &'static str {
    use std::collections::HashSet;
    use std::sync::{OnceLock, RwLock};
    static ROUTES: OnceLock<RwLock<HashSet<&'static str>>> = OnceLock::new();
    let routes = ROUTES.get_or_init(RwLock::default);
    if let Some(r) = routes.read().unwrap_or_else(|e| e.into_inner()).get(route) {
        return r;
    }
    let mut routes = routes.write().unwrap_or_else(|e| e.into_inner());
    match routes.get(route) {
        Some(r) => r,
        None => {
            let r: &'static str = Box::leak(route.into());
            routes.insert(r);
            r
        }
    }
}

/// The method label without an allocation per request; extension methods share one value.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// `GET /metrics`: the Prometheus text format. Unauthenticated, like `/healthz`: the admin
/// listener is not public, and scrapers rarely hold admin tokens. It holds counts only.
pub async fn export(State(state): State<AppState>) -> Response {
    match state.metrics.render(&state) {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            )],
            text,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

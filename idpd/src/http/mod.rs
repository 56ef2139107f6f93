//! HTTP: the public router (OIDC endpoints, login pages, health) and the admin router
//! (`/api/v1`), each with one layer around every request ([`Envelope`]) and body limits.

pub mod admin;
pub mod csrf;
pub mod devices;
pub mod error;
pub mod extract;
pub mod health;
pub mod login;
pub mod metrics;
pub mod oidc;
pub mod pages;
pub mod state;

pub use state::AppState;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::domain::audit::{NewAuditEvent, Outcome};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Largest admin request body.
pub const ADMIN_BODY_LIMIT: usize = 64 * 1024;

/// Routes of the public listener.
pub fn public_router(state: AppState) -> Router {
    let envelope = Envelope::new(&state, "public");
    Router::new()
        .merge(health::router())
        .merge(oidc::router())
        .merge(login::router())
        .merge(devices::router())
        .fallback(|| async { oidc::error::public_error(StatusCode::NOT_FOUND, "no such endpoint") })
        .method_not_allowed_fallback(|| async {
            oidc::error::public_error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
        })
        .layer(axum::middleware::from_fn_with_state(
            envelope,
            Envelope::around,
        ))
        .with_state(state)
}

/// Routes of the admin listener. The admin API is never mounted on the public listener.
pub fn admin_router(state: AppState) -> Router {
    let envelope = Envelope::new(&state, "admin");
    admin::router(state.clone())
        .route("/metrics", axum::routing::get(metrics::export))
        .fallback(error::no_route)
        .method_not_allowed_fallback(error::wrong_method)
        .layer(DefaultBodyLimit::max(ADMIN_BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            envelope,
            Envelope::around,
        ))
        .with_state(state)
}

/// What every request of a listener goes through, as one layer (one hand-off instead of a
/// stack of them): its request id (the client's `X-Request-Id`, or a new UUID), echoed on the
/// response; a span carrying method, path and request id for whatever is logged while it is
/// served (never the query string or headers: those carry codes, tokens and credentials);
/// the task-local request metadata audit events read; the JSON rendering of admin errors;
/// the metrics; and one log line with status and latency.
#[derive(Clone)]
struct Envelope {
    metrics: Arc<metrics::Metrics>,
    listener: &'static str,
}

impl Envelope {
    fn new(state: &AppState, listener: &'static str) -> Self {
        Envelope {
            metrics: state.metrics.clone(),
            listener,
        }
    }

    async fn around(State(env): State<Envelope>, mut req: Request, next: Next) -> Response {
        let started = Instant::now();
        let id = match req.headers().get(REQUEST_ID) {
            Some(id) => id.clone(),
            None => {
                let id = new_request_id();
                req.headers_mut().insert(REQUEST_ID, id.clone());
                id
            }
        };
        let method = req.method().clone();
        let route = req.extensions().get::<MatchedPath>().cloned();
        let meta = RequestMeta {
            request_id: Some(id.clone()),
            peer: req
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0),
        };
        let span = tracing::info_span!(
            "request",
            method = %method,
            path = %req.uri().path(),
            request_id = %id.to_str().unwrap_or(""),
        );
        let res = REQUEST
            .scope(meta, next.run(req))
            .instrument(span.clone())
            .await;
        let mut res = error::finish(res, &id);
        res.headers_mut().insert(REQUEST_ID, id);
        let elapsed = started.elapsed();
        let status = res.status();
        env.metrics
            .request(env.listener, &method, route.as_ref(), status, elapsed);
        let latency_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let _in = span.enter();
        if status.is_server_error() {
            tracing::warn!(status = status.as_u16(), latency_us, "finished");
        } else {
            tracing::info!(status = status.as_u16(), latency_us, "finished");
        }
        drop(_in);
        res
    }
}

/// A random UUID for a request without one, from the process's user-space generator (no
/// system call per request).
fn new_request_id() -> HeaderValue {
    let uuid = uuid::Builder::from_random_bytes(crate::crypto::random_bytes()).into_uuid();
    let mut buf = uuid::Uuid::encode_buffer();
    HeaderValue::from_str(uuid.hyphenated().encode_lower(&mut buf))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// What the audit log needs to know about the request being served, wherever it is
/// recorded from: kept cheaply (a shared header value and an address), formatted only when
/// an event is made.
#[derive(Clone)]
struct RequestMeta {
    request_id: Option<HeaderValue>,
    peer: Option<SocketAddr>,
}

tokio::task_local! {
    static REQUEST: RequestMeta;
}

/// An audit event of the request being served: its request id and the client's address
/// filled in (empty outside a request).
pub(crate) fn audit_event_here(
    actor: impl Into<String>,
    action: &str,
    outcome: Outcome,
) -> NewAuditEvent {
    let mut event = NewAuditEvent::new(actor, action, outcome);
    let (request_id, peer) = request_here();
    event.request_id = request_id;
    event.client_ip = peer.map(|p| p.to_string());
    event
}

/// The request id and the client's address of the request being served (for audit events
/// the domain records).
pub(crate) fn request_here() -> (Option<String>, Option<std::net::IpAddr>) {
    REQUEST
        .try_with(|m| {
            (
                m.request_id
                    .as_ref()
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
                m.peer.map(|p| p.ip()),
            )
        })
        .unwrap_or((None, None))
}

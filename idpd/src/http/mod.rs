//! HTTP: the public router (OIDC endpoints, login pages, health) and the admin router
//! (`/api/v1`), each with one layer around every request ([`Envelope`]) and body limits.

pub mod admin;
pub mod csrf;
pub mod devices;
pub mod error;
pub mod extract;
pub mod forwarded;
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
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use crate::domain::audit::{NewAuditEvent, Outcome};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Largest admin request body.
pub const ADMIN_BODY_LIMIT: usize = 64 * 1024;

/// Routes of the public listener.
pub fn public_router(state: AppState) -> Router {
    crate::domain::audit::set_request_source(request_here);
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
        // Every form of the public listener is small; a larger body is refused before it
        // is buffered (axum's default would buffer 2 MB per request).
        .layer(DefaultBodyLimit::max(oidc::FORM_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            envelope,
            Envelope::around,
        ))
        .with_state(state)
}

/// Routes of the admin listener. The admin API is never mounted on the public listener.
pub fn admin_router(state: AppState) -> Router {
    crate::domain::audit::set_request_source(request_here);
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
    trusted_proxies: Arc<[ipnet::IpNet]>,
    /// `Strict-Transport-Security` on every answer: the public listener of an https
    /// `public_url` (served over TLS by idpd or by a proxy in front of it).
    hsts: bool,
    /// The admin listener's host names besides IP literals and localhost (`None` on the
    /// public listener, which answers for any host).
    admin_hosts: Option<Arc<[String]>>,
}

/// Two years, the HSTS preload list's minimum; subdomains are the operator's to decide.
const HSTS: HeaderValue = HeaderValue::from_static("max-age=63072000");

impl Envelope {
    fn new(state: &AppState, listener: &'static str) -> Self {
        Envelope {
            metrics: state.metrics.clone(),
            listener,
            trusted_proxies: state.config.connections.trusted_proxies.clone(),
            hsts: listener == "public" && state.config.public_https(),
            admin_hosts: (listener == "admin").then(|| state.config.admin_hosts.clone()),
        }
    }

    async fn around(State(env): State<Envelope>, mut req: Request, next: Next) -> Response {
        let started = Instant::now();
        // A caller's id is kept only if it is a short token (a proxy's or a client's
        // correlation id); anything else is replaced, so no caller can write arbitrary text
        // into every log line and audit row.
        let id = match req.headers().get(REQUEST_ID) {
            Some(id) if acceptable_request_id(id) => id.clone(),
            _ => {
                let id = new_request_id();
                req.headers_mut().insert(REQUEST_ID, id.clone());
                id
            }
        };
        let method = req.method().clone();
        let route = req.extensions().get::<MatchedPath>().cloned();
        let tcp_peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let client = tcp_peer
            .map(|peer| forwarded::client_address(peer, req.headers(), &env.trusted_proxies));
        if let Some(client) = client {
            req.extensions_mut().insert(ClientAddr(client));
        }
        let meta = RequestMeta {
            request_id: Some(id.clone()),
            peer: client,
        };
        let span = tracing::info_span!(
            "request",
            method = %method,
            path = %req.uri().path(),
            request_id = %id.to_str().unwrap_or(""),
        );
        let res = match &env.admin_hosts {
            Some(names) if !host_allowed(&req, names) => error::ApiError::new(
                StatusCode::MISDIRECTED_REQUEST,
                shared::error::codes::MISDIRECTED_REQUEST,
                "the admin listener does not answer for this host (see admin_hosts)",
            )
            .into_response(),
            _ => {
                REQUEST
                    .scope(meta, next.run(req))
                    .instrument(span.clone())
                    .await
            }
        };
        let mut res = error::finish(res, &id);
        res.headers_mut().insert(REQUEST_ID, id);
        if env.hsts {
            res.headers_mut()
                .insert(axum::http::header::STRICT_TRANSPORT_SECURITY, HSTS);
        }
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

/// Whether the admin listener answers a request naming its host: an IP literal, localhost
/// or a configured name. A web page that rebinds its own DNS name to 127.0.0.1 still sends
/// its name, and is refused (DNS rebinding against `/metrics` and the OpenAPI document).
fn host_allowed(req: &Request, names: &[String]) -> bool {
    let host = req
        .uri()
        .authority()
        .map(|a| a.host().to_owned())
        .or_else(|| {
            let h = req.headers().get(axum::http::header::HOST)?.to_str().ok()?;
            let authority: axum::http::uri::Authority = h.parse().ok()?;
            Some(authority.host().to_owned())
        });
    let Some(host) = host else {
        // HTTP/1.0 without Host: not a browser's request.
        return true;
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<std::net::IpAddr>().is_ok()
        || host == "localhost"
        || host.ends_with(".localhost")
        || names.contains(&host)
}

/// At most 64 characters of letters, digits, `-`, `_`, `.`, `:` (a UUID, a ULID, a trace
/// id).
fn acceptable_request_id(id: &HeaderValue) -> bool {
    let b = id.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b':'))
}

/// The client's address: the TCP peer, or, when the peer is a trusted proxy, the address
/// that proxy forwarded (set by the [`Envelope`] on every request).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub std::net::IpAddr);

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
    peer: Option<std::net::IpAddr>,
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
    crate::domain::audit::event_here(None, actor, action, outcome)
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
                m.peer,
            )
        })
        .unwrap_or((None, None))
}

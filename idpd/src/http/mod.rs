//! HTTP: the public router (OIDC endpoints, login pages, health) and the admin router
//! (`/api/v1`), each with its layers: request id, tracing without query strings, body limit.

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

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, StatusCode};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::domain::audit::{NewAuditEvent, Outcome};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Largest admin request body.
pub const ADMIN_BODY_LIMIT: usize = 64 * 1024;

/// Routes of the public listener.
pub fn public_router(state: AppState) -> Router {
    let router = Router::new()
        .merge(health::router())
        .merge(oidc::router())
        .merge(login::router())
        .merge(devices::router())
        .fallback(|| async { oidc::error::public_error(StatusCode::NOT_FOUND, "no such endpoint") })
        .method_not_allowed_fallback(|| async {
            oidc::error::public_error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
        })
        .layer(axum::middleware::from_fn_with_state(
            (state.metrics.clone(), "public"),
            metrics::track,
        ))
        .with_state(state);
    common_layers(router)
}

/// Routes of the admin listener. The admin API is never mounted on the public listener.
pub fn admin_router(state: AppState) -> Router {
    let router = admin::router(state.clone())
        .route("/metrics", axum::routing::get(metrics::export))
        .fallback(error::no_route)
        .method_not_allowed_fallback(error::wrong_method)
        .layer(DefaultBodyLimit::max(ADMIN_BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            (state.metrics.clone(), "admin"),
            metrics::track,
        ))
        .with_state(state);
    common_layers(router)
}

fn common_layers(router: Router) -> Router {
    router
        .layer(axum::middleware::from_fn(request_meta))
        .layer(axum::middleware::from_fn(error::finish_errors))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// The span of one request: method, path and request id. Never the query string or
/// headers: those carry codes, tokens and credentials.
fn request_span(req: &Request) -> tracing::Span {
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
}

/// What the audit log needs to know about the request being served, wherever it is
/// recorded from: kept cheaply (a shared header value and an address), formatted only when
/// an event is made.
#[derive(Clone)]
struct RequestMeta {
    request_id: Option<axum::http::HeaderValue>,
    peer: Option<std::net::SocketAddr>,
}

tokio::task_local! {
    static REQUEST: RequestMeta;
}

async fn request_meta(req: Request, next: axum::middleware::Next) -> axum::response::Response {
    let meta = RequestMeta {
        request_id: req.headers().get(REQUEST_ID).cloned(),
        peer: req
            .extensions()
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0),
    };
    REQUEST.scope(meta, next.run(req)).await
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

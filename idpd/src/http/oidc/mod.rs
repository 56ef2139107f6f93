//! The per-tenant OAuth 2.0 / OpenID Connect endpoints under `/t/{slug}`.

pub mod discovery;
pub mod error;
pub mod form;
pub mod token;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};

use crate::app::AppState;
use crate::domain::tenants::Tenant;

/// Largest form body accepted by the token, introspection and revocation endpoints.
pub const FORM_LIMIT: usize = 16 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/t/{slug}/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route(
            "/.well-known/oauth-authorization-server/t/{slug}",
            get(discovery::openid_configuration),
        )
        .route("/t/{slug}/jwks", get(discovery::jwks))
        .route("/t/{slug}/token", post(token::token))
        .route("/t/{slug}/introspect", post(token::introspect))
        .route("/t/{slug}/revoke", post(token::revoke))
        .layer(DefaultBodyLimit::max(FORM_LIMIT))
}

/// The tenant named in the path, or a 404.
pub async fn tenant(state: &AppState, slug: &str) -> Result<Arc<Tenant>, Response> {
    match state.tenants.get(state.store.as_ref(), slug).await {
        Ok(Some(t)) => Ok(t),
        Ok(None) => Err(error::public_error(StatusCode::NOT_FOUND, "unknown tenant")),
        Err(e) => {
            tracing::error!(cause = %e, "tenant lookup failed");
            let mut res =
                error::public_error(StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable");
            res.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
            Err(res)
        }
    }
}

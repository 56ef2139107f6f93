//! The per-tenant OAuth 2.0 / OpenID Connect endpoints under `/t/{slug}`.

pub mod authorize;
pub mod bearer;
pub mod client_auth;
pub mod discovery;
pub mod error;
pub mod form;
pub mod logout;
pub mod token;
pub mod userinfo;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts, RawPathParams};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::{get, post};

use crate::domain::oauth::token::Ctx;
use crate::domain::tenants::Tenant;
use crate::http::AppState;

/// Largest request body the public listener accepts (every form and JSON body there).
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
        .route(
            "/t/{slug}/authorize",
            get(authorize::authorize_get).post(authorize::authorize_post),
        )
        .route(
            "/t/{slug}/userinfo",
            get(userinfo::userinfo).post(userinfo::userinfo),
        )
        .route("/t/{slug}/logout", get(logout::logout).post(logout::logout))
}

/// The client's address: the TCP peer's, or the one a trusted proxy forwarded (never
/// `X-Forwarded-For` from anyone else); `None` when the server runs without connection info.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<crate::http::ClientAddr>()
                .map(|c| c.0)
                .or_else(|| {
                    parts
                        .extensions
                        .get::<ConnectInfo<SocketAddr>>()
                        .map(|c| c.0.ip())
                }),
        ))
    }
}

/// The tenant named by the `{slug}` of the path, with its issuer; a 404 when unknown.
pub struct TenantEndpoint {
    pub tenant: Arc<Tenant>,
    pub issuer: String,
}

impl TenantEndpoint {
    /// `/t/{slug}`: the issuer's path, for redirects within this server.
    pub fn issuer_path(&self) -> String {
        format!("/t/{}", self.tenant.slug)
    }

    pub fn ctx<'a>(&'a self, state: &'a AppState) -> Ctx<'a> {
        Ctx {
            store: state.store.as_ref(),
            ring: &state.ring,
            clients: &state.clients,
            tenant: &self.tenant,
            issuer: &self.issuer,
            auth_failure_limit: state.config.client_auth_failure_limit,
        }
    }
}

impl FromRequestParts<AppState> for TenantEndpoint {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| error::public_error(StatusCode::NOT_FOUND, "unknown tenant"))?;
        let slug = params
            .iter()
            .find_map(|(k, v)| (k == "slug").then_some(v))
            .unwrap_or("");
        match state.tenants.get(state.store.as_ref(), slug).await {
            Ok(Some(tenant)) => Ok(TenantEndpoint {
                issuer: state.issuer(&tenant.slug),
                tenant,
            }),
            Ok(None) => Err(error::public_error(StatusCode::NOT_FOUND, "unknown tenant")),
            // A slug PostgreSQL cannot even compare (a NUL) names no tenant.
            Err(crate::domain::Error::Invalid(_)) => {
                Err(error::public_error(StatusCode::NOT_FOUND, "unknown tenant"))
            }
            Err(e) => {
                tracing::error!(cause = %e, "tenant lookup failed");
                let mut res =
                    error::public_error(StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable");
                crate::http::error::retry_after(
                    &mut res,
                    crate::http::error::RETRY_UNAVAILABLE_SECONDS,
                );
                Err(res)
            }
        }
    }
}

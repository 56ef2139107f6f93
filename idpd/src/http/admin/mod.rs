//! The admin API: `/api/v1/...` on the admin listener, bearer admin tokens, OpenAPI document.

pub mod audit;
pub mod clients;
pub mod devices;
pub mod keys;
pub mod providers;
pub mod sessions;
pub mod status;
pub mod tenants;
pub mod users;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use shared::error::codes;
use std::sync::Arc;

use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use crate::domain::admin_tokens;
use crate::http::AppState;

/// The admin routes and their OpenAPI document, built from the same declarations
/// (utoipa-axum), so the document cannot drift from what is served.
pub fn router(state: AppState) -> Router<AppState> {
    let (authenticated, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(status::get))
        .routes(routes!(tenants::list, tenants::create))
        .routes(routes!(tenants::get, tenants::update, tenants::delete))
        .routes(routes!(clients::list, clients::create))
        .routes(routes!(clients::get, clients::update, clients::delete))
        .routes(routes!(clients::rotate_secret))
        .routes(routes!(keys::list))
        .routes(routes!(keys::rotate))
        .routes(routes!(keys::retire))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::get, users::update, users::delete))
        .routes(routes!(users::disable))
        .routes(routes!(sessions::list))
        .routes(routes!(sessions::revoke))
        .routes(routes!(providers::list, providers::create))
        .routes(routes!(
            providers::get,
            providers::update,
            providers::delete
        ))
        .routes(routes!(providers::set_default))
        .routes(routes!(providers::test))
        .routes(routes!(devices::list))
        .routes(routes!(devices::revoke))
        .routes(routes!(audit::list))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            audit::record_changes,
        ))
        .route_layer(axum::middleware::from_fn_with_state(state, require_admin))
        .split_for_parts();
    let doc = Arc::new(doc);
    Router::new()
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move { Json(doc.as_ref().clone()) }
            }),
        )
        .merge(authenticated)
}

#[derive(OpenApi)]
#[openapi(
    info(title = "idpd admin API", description = "Administration of idpd tenants, clients, keys, users, sessions and devices. Every route but this document needs `Authorization: Bearer <admin token>`."),
    components(schemas(shared::ErrorBody)),
    modifiers(&BearerAuth),
    tags(
        (name = "tenants", description = "Tenants (companies): issuer, locales, session cookie, signup policy"),
        (name = "clients", description = "OAuth clients of a tenant"),
        (name = "keys", description = "Signing keys of a tenant and their rotation"),
        (name = "users", description = "Users of a tenant: email, name, locale, disabled"),
        (name = "sessions", description = "Browser sessions of a tenant: list and revoke"),
        (name = "devices", description = "Registered devices of a tenant's users: list and revoke"),
        (name = "audit", description = "The audit log: admin changes and login attempts"),
        (name = "providers", description = "Identity providers of a tenant: native and external OpenID Connect")
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Checks `Authorization: Bearer <admin token>` (RFC 6750 §3 challenges on failure).
async fn require_admin(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        admin_tokens::audit_refusal(state.store.as_ref(), "missing_token").await;
        return ApiError {
            www_authenticate: Some("Bearer realm=\"idpd-admin\""),
            ..ApiError::new(
                StatusCode::UNAUTHORIZED,
                codes::UNAUTHORIZED,
                "missing Authorization: Bearer <admin token>",
            )
        }
        .into_response();
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    let Some(token) = token else {
        admin_tokens::audit_refusal(state.store.as_ref(), "malformed_authorization").await;
        return ApiError {
            www_authenticate: Some("Bearer realm=\"idpd-admin\", error=\"invalid_request\""),
            ..ApiError::new(
                StatusCode::UNAUTHORIZED,
                codes::UNAUTHORIZED,
                "the Authorization header must be: Bearer <admin token>",
            )
        }
        .into_response();
    };
    match admin_tokens::authenticate(state.store.as_ref(), token).await {
        Ok(t) => {
            req.extensions_mut().insert(t);
            next.run(req).await
        }
        Err(e) => {
            if matches!(e, crate::domain::Error::Unauthenticated) {
                admin_tokens::audit_refusal(state.store.as_ref(), "invalid_token").await;
            }
            ApiError::from(e).into_response()
        }
    }
}

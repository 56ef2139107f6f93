//! Devices over HTTP: the device authorization endpoint (RFC 8628 §3.1) and device
//! registration `{issuer}/devices` for bearer access tokens with the scope `devices`
//! (RFC 6750). The device page where a user approves is in `http/login`.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use uuid::Uuid;

use super::oidc::bearer::{BearerToken, refused};
use super::oidc::client_auth::ClientRequest;
use super::oidc::error::{no_store, public_error};
use super::oidc::token::json_reply;
use super::oidc::{FORM_LIMIT, TenantEndpoint};
use crate::domain::devices::{self, Device, Registration};
use crate::domain::oauth::{bearer, device_code};
use crate::http::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/t/{slug}/device_authorization", post(device_authorization))
        .route("/t/{slug}/devices", axum::routing::get(list).post(register))
        .route("/t/{slug}/devices/{id}", delete(remove))
        .layer(axum::extract::DefaultBodyLimit::max(FORM_LIMIT))
}

/// `POST {issuer}/device_authorization` (RFC 8628 §3.1–3.2).
async fn device_authorization(State(state): State<AppState>, r: ClientRequest) -> Response {
    let ctx = r.ep.ctx(&state);
    let timing = state.config.device_timing;
    let scope = r.form.get("scope");
    json_reply(device_code::authorize_device(&ctx, &r.client, scope, timing, r.peer.0).await)
}

/// The user of the request's access token, which must be a user token of this tenant with
/// the scope `devices`. Only the Authorization header carries the token (RFC 6750 §2.1).
async fn bearer_user(
    state: &AppState,
    ep: &TenantEndpoint,
    token: Option<&str>,
) -> Result<Uuid, Response> {
    bearer::user_token(&ep.ctx(state), token, "devices")
        .await
        .map(|(user, _)| user)
        .map_err(refused)
}

pub fn to_api(tenant: &str, d: Device) -> shared::admin::Device {
    shared::admin::Device {
        id: d.id,
        tenant: tenant.to_owned(),
        user_id: d.user_id,
        name: d.name,
        platform: d.platform,
        user_email: None,
        alg: d.alg.as_str().to_owned(),
        public_key: d.public_jwk,
        created_at: d.created_at,
        last_used_at: d.last_used_at,
    }
}

/// Domain failures of the registration API as RFC 6749-style JSON errors.
fn domain_error(e: crate::domain::Error) -> Response {
    use crate::domain::Error;
    match e {
        Error::NotFound(_) => public_error(StatusCode::NOT_FOUND, "no such device"),
        Error::Invalid(_) | Error::Conflict(_) => {
            public_error(StatusCode::BAD_REQUEST, &e.to_string())
        }
        e => {
            tracing::error!(error = %crate::domain::error::chain(&e), "device request failed");
            let mut res = public_error(StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable");
            super::error::retry_after(&mut res, super::error::RETRY_UNAVAILABLE_SECONDS);
            res
        }
    }
}

/// `POST {issuer}/devices` `{name, platform, public_key, proof}` → 201 with the device.
async fn register(
    State(state): State<AppState>,
    ep: TenantEndpoint,
    BearerToken(token): BearerToken,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let user = match bearer_user(&state, &ep, token.as_deref()).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let req: Registration = match body
        .ok()
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()).ok())
    {
        Some(r) => r,
        None => {
            return public_error(
                StatusCode::BAD_REQUEST,
                "the body must be JSON {\"name\", \"platform\", \"public_key\": JWK, \"proof\": JWS}",
            );
        }
    };
    // The proof must name this tenant and the token this request carries.
    let binding = devices::Binding {
        issuer: &ep.issuer,
        access_token: token.as_deref().unwrap_or_default(),
    };
    match devices::register(state.store.as_ref(), &ep.tenant, binding, user, req).await {
        Ok(d) => {
            tracing::info!(tenant = %ep.tenant.slug, device = %d.id, user = %user, "device registered");
            let location = format!("{}/devices/{}", ep.issuer, d.id);
            let mut res = (
                StatusCode::CREATED,
                no_store(),
                axum::Json(to_api(&ep.tenant.slug, d)),
            )
                .into_response();
            if let Ok(v) = HeaderValue::from_str(&location) {
                res.headers_mut().insert(header::LOCATION, v);
            }
            res
        }
        Err(e) => domain_error(e),
    }
}

/// `GET {issuer}/devices`: the caller's devices.
async fn list(
    State(state): State<AppState>,
    ep: TenantEndpoint,
    BearerToken(token): BearerToken,
) -> Response {
    let user = match bearer_user(&state, &ep, token.as_deref()).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    match devices::list_own(state.store.as_ref(), &ep.tenant, user).await {
        Ok(items) => (
            no_store(),
            axum::Json(shared::admin::DeviceList {
                items: items
                    .into_iter()
                    .map(|d| to_api(&ep.tenant.slug, d))
                    .collect(),
            }),
        )
            .into_response(),
        Err(e) => domain_error(e),
    }
}

/// `DELETE {issuer}/devices/{id}`: revokes one of the caller's devices; another user's is 404.
async fn remove(
    State(state): State<AppState>,
    ep: TenantEndpoint,
    BearerToken(token): BearerToken,
    axum::extract::Path(params): axum::extract::Path<HashMap<String, String>>,
) -> Response {
    let user = match bearer_user(&state, &ep, token.as_deref()).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let id = params.get("id").map(String::as_str).unwrap_or("");
    match devices::revoke(state.store.as_ref(), &ep.tenant, id, Some(user)).await {
        Ok(id) => {
            tracing::info!(tenant = %ep.tenant.slug, device = %id, user = %user, "device revoked by its user");
            (StatusCode::NO_CONTENT, no_store()).into_response()
        }
        Err(e) => domain_error(e),
    }
}

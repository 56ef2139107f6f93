//! Signing keys: `/api/v1/tenants/{tenant}/keys` (list, rotate) and `/api/v1/keys/{kid}/retire`.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use shared::ErrorBody;
use shared::admin::{Alg, KeyList, RetireKey, RotateKey, SigningKey};

use crate::domain::keys::{self, KeyView};
use crate::domain::tenants;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::{Json, Path, Query};

fn to_api(tenant: &str, v: KeyView) -> SigningKey {
    SigningKey {
        kid: v.record.kid,
        tenant: tenant.to_owned(),
        alg: v.record.alg,
        state: v.state,
        created_at: v.record.created_at,
        activates_at: v.record.activates_at,
        retired_at: v.retired_at,
        removed_at: v.removed_at,
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Include removed keys.
    all: Option<bool>,
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/keys", tag = "keys",
    params(("tenant" = String, Path, description = "slug or id"), ListParams),
    responses((status = 200, body = KeyList), (status = 404, body = ErrorBody)),
    security(("admin_token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Query(p): Query<ListParams>,
) -> Result<Json<KeyList>, ApiError> {
    let store = state.store.as_ref();
    let t = tenants::get(store, &tenant).await?;
    let views = keys::list(store, &t, p.all.unwrap_or(false)).await?;
    Ok(Json(KeyList {
        items: views.into_iter().map(|v| to_api(&t.slug, v)).collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/keys/rotate", tag = "keys", request_body = RotateKey,
    params(("tenant" = String, Path, description = "slug or id")),
    responses((status = 201, body = SigningKey), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("admin_token" = [])))]
pub async fn rotate(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Json(req): Json<RotateKey>,
) -> Result<(StatusCode, Json<SigningKey>), ApiError> {
    let store = state.store.as_ref();
    let t = tenants::get(store, &tenant).await?;
    let alg = req.alg.unwrap_or(Alg::RS256);
    let v = keys::rotate(store, &state.master_key, &t, alg, req.activate_in_seconds).await?;
    tracing::info!(tenant = %t.slug, kid = %v.record.kid, alg = alg.as_str(), "signing key rotated");
    Ok((StatusCode::CREATED, Json(to_api(&t.slug, v))))
}

#[utoipa::path(post, path = "/api/v1/keys/{kid}/retire", tag = "keys", request_body = RetireKey,
    params(("kid" = String, Path)),
    responses((status = 200, body = SigningKey), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("admin_token" = [])))]
pub async fn retire(
    State(state): State<AppState>,
    Path(kid): Path<String>,
    Json(req): Json<RetireKey>,
) -> Result<Json<SigningKey>, ApiError> {
    let (slug, v) = keys::retire(state.store.as_ref(), &kid, req.force).await?;
    tracing::info!(tenant = %slug, kid = %kid, force = req.force, "signing key retired");
    Ok(Json(to_api(&slug, v)))
}

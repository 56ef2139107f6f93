//! `/api/v1/tenants`: create, list, show, update, delete.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use shared::ErrorBody;
use shared::admin::{CreateTenant, Tenant, TenantList, UpdateTenant};

use crate::domain::tenants;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::{Json, Path, Query};

pub(super) fn to_api(state: &AppState, t: tenants::Tenant) -> Tenant {
    Tenant {
        issuer: state.issuer(&t.slug),
        id: t.id,
        slug: t.slug,
        display_name: t.display_name,
        locales: t.locales,
        session: t.session,
        signup_policy: t.signup_policy,
        default_provider: t.default_provider,
        access_token_alg: t.access_token_alg,
        key_rotation_interval_seconds: t.key_rotation_interval_seconds,
        created_at: t.created_at,
        updated_at: t.updated_at,
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Page size, 1 to 500 (default 50).
    limit: Option<u32>,
    /// Return tenants whose slug sorts after this one (from `next_after`).
    after: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/tenants", tag = "tenants", params(ListParams),
    responses((status = 200, body = TenantList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("admin_token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Query(p): Query<ListParams>,
) -> Result<Json<TenantList>, ApiError> {
    let limit = p.limit.unwrap_or(50);
    let items = tenants::list(state.store.as_ref(), p.after.as_deref(), Some(limit)).await?;
    let next_after = (items.len() == limit as usize)
        .then(|| items.last().map(|t| t.slug.clone()))
        .flatten();
    Ok(Json(TenantList {
        items: items.into_iter().map(|t| to_api(&state, t)).collect(),
        next_after,
    }))
}

#[utoipa::path(post, path = "/api/v1/tenants", tag = "tenants", request_body = CreateTenant,
    responses((status = 201, body = Tenant), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("admin_token" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Json(req): Json<CreateTenant>,
) -> Result<(StatusCode, Json<Tenant>), ApiError> {
    let t = tenants::create(
        state.store.as_ref(),
        &state.tenant_rules,
        &state.master_key,
        req,
    )
    .await?;
    tracing::info!(tenant = %t.slug, id = %t.id, "tenant created");
    Ok((StatusCode::CREATED, Json(to_api(&state, t))))
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}", tag = "tenants",
    params(("tenant" = String, Path, description = "slug or id")),
    responses((status = 200, body = Tenant), (status = 404, body = ErrorBody)),
    security(("admin_token" = [])))]
pub async fn get(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Json<Tenant>, ApiError> {
    let t = tenants::get(state.store.as_ref(), &key).await?;
    Ok(Json(to_api(&state, t)))
}

#[utoipa::path(patch, path = "/api/v1/tenants/{tenant}", tag = "tenants", request_body = UpdateTenant,
    params(("tenant" = String, Path, description = "slug or id")),
    responses((status = 200, body = Tenant), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("admin_token" = [])))]
pub async fn update(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Json(req): Json<UpdateTenant>,
) -> Result<Json<Tenant>, ApiError> {
    let t = tenants::update(
        state.store.as_ref(),
        &state.tenant_rules,
        &state.master_key,
        &key,
        req,
    )
    .await?;
    tracing::info!(tenant = %t.slug, "tenant updated");
    Ok(Json(to_api(&state, t)))
}

#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}", tag = "tenants",
    params(("tenant" = String, Path, description = "slug or id")),
    responses((status = 204), (status = 404, body = ErrorBody)),
    security(("admin_token" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<StatusCode, ApiError> {
    let t = tenants::delete(state.store.as_ref(), &key).await?;
    tracing::info!(tenant = %t.slug, "tenant deleted");
    Ok(StatusCode::NO_CONTENT)
}

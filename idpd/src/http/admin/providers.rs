//! `/api/v1/tenants/{tenant}/providers`: register, list, show, update and remove a tenant's
//! identity providers, switch the default one, and test an external one.

use axum::extract::State;
use axum::http::StatusCode;
use shared::ErrorBody;
use shared::admin::{CreateProvider, Provider, ProviderList, ProviderTest, UpdateProvider};

use crate::domain::providers::{self, ProviderRecord};
use crate::domain::tenants::{self, Tenant};
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::{Json, Path};

fn to_api(state: &AppState, t: &Tenant, p: ProviderRecord) -> Provider {
    let external = p.is_external();
    let c = p.config;
    let some = |s: String| (external && !s.is_empty()).then_some(s);
    Provider {
        id: p.id,
        tenant: t.slug.clone(),
        redirect_uri: external.then(|| providers::redirect_uri(&state.issuer(&t.slug), &p.name)),
        name: p.name,
        kind: p.kind,
        is_default: p.is_default,
        issuer: some(c.issuer),
        client_id: some(c.client_id),
        has_client_secret: p.client_secret_sealed.is_some(),
        authorization_endpoint: some(c.authorization_endpoint),
        token_endpoint: some(c.token_endpoint),
        jwks_uri: some(c.jwks_uri),
        userinfo_endpoint: c.userinfo_endpoint,
        discovery: c.discovery,
        scopes: c.scopes,
        email_domains: c.email_domains,
        link_by_email: c.link_by_email,
        created_at: p.created_at,
        updated_at: p.updated_at,
    }
}

#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/providers", tag = "providers", request_body = CreateProvider,
    params(("tenant" = String, Path, description = "slug or id")),
    responses((status = 201, body = Provider), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "validation_failed, upstream_unreachable or discovery_failed")),
    security(("admin_token" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Json(req): Json<CreateProvider>,
) -> Result<(StatusCode, Json<Provider>), ApiError> {
    let store = state.store.as_ref();
    let t = tenants::get(store, &tenant).await?;
    let p = providers::create(store, &state.master_key, &state.upstreams, &t, req).await?;
    tracing::info!(tenant = %t.slug, provider = %p.name, "provider created");
    Ok((StatusCode::CREATED, Json(to_api(&state, &t, p))))
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/providers", tag = "providers",
    params(("tenant" = String, Path, description = "slug or id")),
    responses((status = 200, body = ProviderList), (status = 404, body = ErrorBody)),
    security(("admin_token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Json<ProviderList>, ApiError> {
    let store = state.store.as_ref();
    let t = tenants::get(store, &tenant).await?;
    let items = providers::list(store, &t).await?;
    Ok(Json(ProviderList {
        items: items.into_iter().map(|p| to_api(&state, &t, p)).collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/providers/{name}", tag = "providers",
    params(("tenant" = String, Path, description = "slug or id"), ("name" = String, Path, description = "provider name")),
    responses((status = 200, body = Provider), (status = 404, body = ErrorBody)),
    security(("admin_token" = [])))]
pub async fn get(
    State(state): State<AppState>,
    Path((tenant, name)): Path<(String, String)>,
) -> Result<Json<Provider>, ApiError> {
    let store = state.store.as_ref();
    let t = tenants::get(store, &tenant).await?;
    let p = providers::get(store, &t, &name).await?;
    Ok(Json(to_api(&state, &t, p)))
}

#[utoipa::path(patch, path = "/api/v1/tenants/{tenant}/providers/{name}", tag = "providers", request_body = UpdateProvider,
    params(("tenant" = String, Path, description = "slug or id"), ("name" = String, Path, description = "provider name")),
    responses((status = 200, body = Provider), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("admin_token" = [])))]
pub async fn update(
    State(state): State<AppState>,
    Path((tenant, name)): Path<(String, String)>,
    Json(req): Json<UpdateProvider>,
) -> Result<Json<Provider>, ApiError> {
    let store = state.store.as_ref();
    let t = tenants::get(store, &tenant).await?;
    let p = providers::update(store, &state.master_key, &state.upstreams, &t, &name, req).await?;
    tracing::info!(tenant = %t.slug, provider = %p.name, "provider updated");
    Ok(Json(to_api(&state, &t, p)))
}

#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/providers/{name}", tag = "providers",
    params(("tenant" = String, Path, description = "slug or id"), ("name" = String, Path, description = "provider name")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("admin_token" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    Path((tenant, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let store = state.store.as_ref();
    let t = tenants::get(store, &tenant).await?;
    let p = providers::delete(store, &t, &name).await?;
    tracing::info!(tenant = %t.slug, provider = %p.name, "provider removed");
    Ok(StatusCode::NO_CONTENT)
}

/// Makes the provider (or `native`) the tenant's default, atomically.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/providers/{name}/default", tag = "providers",
    params(("tenant" = String, Path, description = "slug or id"), ("name" = String, Path, description = "provider name, or native")),
    responses((status = 200, body = Provider), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("admin_token" = [])))]
pub async fn set_default(
    State(state): State<AppState>,
    Path((tenant, name)): Path<(String, String)>,
) -> Result<Json<Provider>, ApiError> {
    let store = state.store.as_ref();
    let t = tenants::get(store, &tenant).await?;
    let p = providers::set_default(store, &t, &name).await?;
    tracing::info!(tenant = %t.slug, provider = %p.name, "default provider set");
    Ok(Json(to_api(&state, &t, p)))
}

/// Runs discovery (with its issuer check) and a JWKS fetch; reports each check.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/providers/{name}/test", tag = "providers",
    params(("tenant" = String, Path, description = "slug or id"), ("name" = String, Path, description = "provider name")),
    responses((status = 200, body = ProviderTest), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("admin_token" = [])))]
pub async fn test(
    State(state): State<AppState>,
    Path((tenant, name)): Path<(String, String)>,
) -> Result<Json<ProviderTest>, ApiError> {
    let store = state.store.as_ref();
    let t = tenants::get(store, &tenant).await?;
    Ok(Json(
        providers::test(store, &state.upstreams, &t, &name).await?,
    ))
}

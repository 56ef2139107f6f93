//! `/api/v1/tenants/{tenant}/clients`: register, list, show, update, delete, rotate secrets.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use shared::ErrorBody;
use shared::admin::{
    Client, ClientList, CreateClient, CreatedClient, RotateSecret, RotatedSecret, UpdateClient,
};

use crate::domain::clients::{self, ClientRecord};
use crate::domain::keys;
use crate::domain::tenants;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::{Json, Path, Query};

fn to_api(tenant: &str, c: ClientRecord) -> Client {
    Client {
        id: c.id,
        client_id: c.client_id,
        tenant: tenant.to_owned(),
        name: c.name,
        public: c.public,
        redirect_uris: c.redirect_uris,
        post_logout_redirect_uris: c.post_logout_redirect_uris,
        grant_types: c.grant_types,
        scopes: c.scopes,
        access_token_ttl_seconds: c.access_token_ttl_seconds,
        id_token_alg: c.id_token_alg,
        disabled: c.disabled,
        previous_secret_expires_at: c.previous_secret_expires_at,
        created_at: c.created_at,
        updated_at: c.updated_at,
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Page size, 1 to 500 (default 50).
    limit: Option<u32>,
    /// Return clients whose client_id sorts after this one (from `next_after`).
    after: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/clients", tag = "clients", request_body = CreateClient,
    params(("tenant" = String, Path, description = "slug or id")),
    responses((status = 201, body = CreatedClient), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("admin_token" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Json(req): Json<CreateClient>,
) -> Result<(StatusCode, Json<CreatedClient>), ApiError> {
    let store = state.store.as_ref();
    let t = tenants::get(store, &tenant).await?;
    let alg = req.id_token_alg;
    let (c, secret) = clients::create(store, &t, req).await?;
    if let Some(alg) = alg {
        keys::ensure_active(store, &state.master_key, t.id, alg).await?;
    }
    tracing::info!(tenant = %t.slug, client_id = %c.client_id, "client created");
    Ok((
        StatusCode::CREATED,
        Json(CreatedClient {
            client: to_api(&t.slug, c),
            client_secret: secret,
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/clients", tag = "clients",
    params(("tenant" = String, Path, description = "slug or id"), ListParams),
    responses((status = 200, body = ClientList), (status = 404, body = ErrorBody)),
    security(("admin_token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Query(p): Query<ListParams>,
) -> Result<Json<ClientList>, ApiError> {
    let store = state.store.as_ref();
    let t = tenants::get(store, &tenant).await?;
    let limit = p.limit.unwrap_or(50);
    let items = clients::list(store, &t, p.after.as_deref(), limit).await?;
    let next_after = (items.len() == limit as usize)
        .then(|| items.last().map(|c| c.client_id.clone()))
        .flatten();
    Ok(Json(ClientList {
        items: items.into_iter().map(|c| to_api(&t.slug, c)).collect(),
        next_after,
    }))
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/clients/{client_id}", tag = "clients",
    params(("tenant" = String, Path, description = "slug or id"), ("client_id" = String, Path)),
    responses((status = 200, body = Client), (status = 404, body = ErrorBody)),
    security(("admin_token" = [])))]
pub async fn get(
    State(state): State<AppState>,
    Path((tenant, client_id)): Path<(String, String)>,
) -> Result<Json<Client>, ApiError> {
    let store = state.store.as_ref();
    let t = tenants::get(store, &tenant).await?;
    let c = clients::get(store, &t, &client_id).await?;
    Ok(Json(to_api(&t.slug, c)))
}

#[utoipa::path(patch, path = "/api/v1/tenants/{tenant}/clients/{client_id}", tag = "clients", request_body = UpdateClient,
    params(("tenant" = String, Path, description = "slug or id"), ("client_id" = String, Path)),
    responses((status = 200, body = Client), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("admin_token" = [])))]
pub async fn update(
    State(state): State<AppState>,
    Path((tenant, client_id)): Path<(String, String)>,
    Json(req): Json<UpdateClient>,
) -> Result<Json<Client>, ApiError> {
    let store = state.store.as_ref();
    let t = tenants::get(store, &tenant).await?;
    let alg = req.id_token_alg;
    let c = clients::update(store, &t, &client_id, req).await?;
    if let Some(alg) = alg {
        keys::ensure_active(store, &state.master_key, t.id, alg).await?;
    }
    tracing::info!(tenant = %t.slug, client_id = %c.client_id, "client updated");
    Ok(Json(to_api(&t.slug, c)))
}

#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/clients/{client_id}", tag = "clients",
    params(("tenant" = String, Path, description = "slug or id"), ("client_id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)),
    security(("admin_token" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    Path((tenant, client_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let store = state.store.as_ref();
    let t = tenants::get(store, &tenant).await?;
    clients::delete(store, &t, &client_id).await?;
    tracing::info!(tenant = %t.slug, client_id = %client_id, "client deleted");
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/clients/{client_id}/rotate-secret", tag = "clients",
    request_body = RotateSecret,
    params(("tenant" = String, Path, description = "slug or id"), ("client_id" = String, Path)),
    responses((status = 200, body = RotatedSecret), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("admin_token" = [])))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    Path((tenant, client_id)): Path<(String, String)>,
    Json(req): Json<RotateSecret>,
) -> Result<Json<RotatedSecret>, ApiError> {
    let store = state.store.as_ref();
    let t = tenants::get(store, &tenant).await?;
    let (c, secret) =
        clients::rotate_secret(store, &t, &client_id, req.grace_seconds.unwrap_or(0)).await?;
    tracing::info!(tenant = %t.slug, client_id = %c.client_id, "client secret rotated");
    Ok(Json(RotatedSecret {
        client_id: c.client_id,
        client_secret: secret,
        previous_secret_expires_at: c.previous_secret_expires_at,
    }))
}

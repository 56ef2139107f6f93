//! `/api/v1/tenants/{tenant}/users`: create, list, show, update, disable and delete users.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use shared::ErrorBody;
use shared::admin::{CreateUser, UpdateUser, User, UserList};

use crate::domain::tenants;
use crate::domain::users::{self, UserRecord};
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::{Json, Path, Query};

fn to_api(tenant: &str, u: UserRecord) -> User {
    User {
        id: u.id,
        tenant: tenant.to_owned(),
        email: u.email,
        email_verified: u.email_verified,
        name: u.name,
        locale: u.locale,
        disabled: u.disabled,
        created_at: u.created_at,
        updated_at: u.updated_at,
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Page size, 1 to 500 (default 50).
    limit: Option<u32>,
    /// Return users whose email sorts after this one (from `next_after`).
    after: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/users", tag = "users", request_body = CreateUser,
    params(("tenant" = String, Path, description = "slug or id")),
    responses((status = 201, body = User), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("admin_token" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Json(req): Json<CreateUser>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    let store = state.store.as_ref();
    let t = tenants::get(store, &tenant).await?;
    let u = users::create(store, &t, req).await?;
    // The id, not the address: logs are not the place for personal data.
    tracing::info!(tenant = %t.slug, user = %u.id, "user created");
    Ok((StatusCode::CREATED, Json(to_api(&t.slug, u))))
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/users", tag = "users",
    params(("tenant" = String, Path, description = "slug or id"), ListParams),
    responses((status = 200, body = UserList), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("admin_token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Query(p): Query<ListParams>,
) -> Result<Json<UserList>, ApiError> {
    let store = state.store.as_ref();
    let t = tenants::get(store, &tenant).await?;
    let limit = p.limit.unwrap_or(50);
    let items = users::list(store, &t, p.after.as_deref(), limit).await?;
    let next_after = (items.len() == limit as usize)
        .then(|| items.last().map(|u| u.email.clone()))
        .flatten();
    Ok(Json(UserList {
        items: items.into_iter().map(|u| to_api(&t.slug, u)).collect(),
        next_after,
    }))
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/users/{user}", tag = "users",
    params(("tenant" = String, Path, description = "slug or id"), ("user" = String, Path, description = "id or email")),
    responses((status = 200, body = User), (status = 404, body = ErrorBody)),
    security(("admin_token" = [])))]
pub async fn get(
    State(state): State<AppState>,
    Path((tenant, user)): Path<(String, String)>,
) -> Result<Json<User>, ApiError> {
    let store = state.store.as_ref();
    let t = tenants::get(store, &tenant).await?;
    let u = users::get(store, &t, &user).await?;
    Ok(Json(to_api(&t.slug, u)))
}

#[utoipa::path(patch, path = "/api/v1/tenants/{tenant}/users/{user}", tag = "users", request_body = UpdateUser,
    params(("tenant" = String, Path, description = "slug or id"), ("user" = String, Path, description = "id or email")),
    responses((status = 200, body = User), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("admin_token" = [])))]
pub async fn update(
    State(state): State<AppState>,
    Path((tenant, user)): Path<(String, String)>,
    Json(req): Json<UpdateUser>,
) -> Result<Json<User>, ApiError> {
    let store = state.store.as_ref();
    let t = tenants::get(store, &tenant).await?;
    let u = users::update(store, &t, &user, req).await?;
    tracing::info!(tenant = %t.slug, user = %u.id, "user updated");
    Ok(Json(to_api(&t.slug, u)))
}

#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/users/{user}", tag = "users",
    params(("tenant" = String, Path, description = "slug or id"), ("user" = String, Path, description = "id or email")),
    responses((status = 204), (status = 404, body = ErrorBody)),
    security(("admin_token" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    Path((tenant, user)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let store = state.store.as_ref();
    let t = tenants::get(store, &tenant).await?;
    let u = users::delete(store, &t, &user).await?;
    tracing::info!(tenant = %t.slug, user = %u.id, "user deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// The same as `PATCH` with `{"disabled": true}`, for scripts and the CLI's confirmation.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/users/{user}/disable", tag = "users",
    params(("tenant" = String, Path, description = "slug or id"), ("user" = String, Path, description = "id or email")),
    responses((status = 200, body = User), (status = 404, body = ErrorBody)),
    security(("admin_token" = [])))]
pub async fn disable(
    State(state): State<AppState>,
    Path((tenant, user)): Path<(String, String)>,
) -> Result<Json<User>, ApiError> {
    let store = state.store.as_ref();
    let t = tenants::get(store, &tenant).await?;
    let u = users::disable(store, &t, &user).await?;
    tracing::info!(tenant = %t.slug, user = %u.id, "user disabled");
    Ok(Json(to_api(&t.slug, u)))
}

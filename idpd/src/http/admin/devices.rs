//! `/api/v1/tenants/{tenant}/devices`: list the registered devices of a tenant's users, and
//! revoke one (its refresh tokens fail and its access tokens turn inactive at once).

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use shared::ErrorBody;
use shared::admin::DeviceList;

use crate::domain::{devices, tenants};
use crate::http::AppState;
use crate::http::devices::to_api;
use crate::http::error::ApiError;
use crate::http::extract::{Json, Path, Query};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Only the devices of this user (id or email).
    user: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/devices", tag = "devices",
    params(("tenant" = String, Path, description = "slug or id"), ListParams),
    responses((status = 200, body = DeviceList), (status = 404, body = ErrorBody)),
    security(("admin_token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Query(p): Query<ListParams>,
) -> Result<Json<DeviceList>, ApiError> {
    let store = state.store.as_ref();
    let t = tenants::get(store, &tenant).await?;
    let items = devices::list(store, &t, p.user.as_deref()).await?;
    // People read these by address (idpctl device list).
    let emails =
        crate::domain::users::emails_of(store, &t, items.iter().map(|d| d.user_id).collect())
            .await
            .map_err(crate::domain::Error::from)?;
    Ok(Json(DeviceList {
        items: items
            .into_iter()
            .map(|d| {
                let user_email = emails.get(&d.user_id).cloned().flatten();
                shared::admin::Device {
                    user_email,
                    ..to_api(&t.slug, d)
                }
            })
            .collect(),
    }))
}

/// Revokes the device and every token bound to it, effective at once.
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/devices/{id}", tag = "devices",
    params(("tenant" = String, Path, description = "slug or id"),
           ("id" = String, Path, description = "device id")),
    responses((status = 204), (status = 404, body = ErrorBody)),
    security(("admin_token" = [])))]
pub async fn revoke(
    State(state): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let store = state.store.as_ref();
    let t = tenants::get(store, &tenant).await?;
    let id = devices::revoke(store, &t, &id, None).await?;
    tracing::info!(tenant = %t.slug, device = %id, "device revoked by an admin");
    Ok(StatusCode::NO_CONTENT)
}

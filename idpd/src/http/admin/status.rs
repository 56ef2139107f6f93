//! `GET /api/v1/status`: version, backend and readiness.

use std::time::Duration;

use axum::extract::State;
use shared::admin::Status;

use crate::domain::tenants;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::Json;

#[utoipa::path(get, path = "/api/v1/status", tag = "status",
    responses((status = 200, body = Status), (status = 401, body = shared::ErrorBody)),
    security(("admin_token" = [])))]
pub async fn get(State(state): State<AppState>) -> Result<Json<Status>, ApiError> {
    let (backend, count) = tenants::status(state.store.as_ref(), Duration::from_secs(2)).await;
    Ok(Json(Status {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        backend: backend.to_owned(),
        ready: count.is_some(),
        tenants: count.unwrap_or(0),
    }))
}

//! `GET /api/v1/status`: version, backend and readiness.

use std::time::Duration;

use axum::extract::State;
use shared::admin::Status;

use crate::app::AppState;
use crate::http::error::ApiError;
use crate::http::extract::Json;

#[utoipa::path(get, path = "/api/v1/status", tag = "status",
    responses((status = 200, body = Status), (status = 401, body = shared::ErrorBody)),
    security(("admin_token" = [])))]
pub async fn get(State(state): State<AppState>) -> Result<Json<Status>, ApiError> {
    let store = state.store.as_ref();
    let count = tokio::time::timeout(Duration::from_secs(2), store.count_tenants()).await;
    let (ready, tenants) = match count {
        Ok(Ok(n)) => (true, n),
        _ => (false, 0),
    };
    Ok(Json(Status {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        backend: store.backend().to_owned(),
        ready,
        tenants,
    }))
}

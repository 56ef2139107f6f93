//! `/api/v1/tenants/{tenant}/sessions` and `/api/v1/sessions/{id}`: list a tenant's live
//! browser sessions, revoke one.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use shared::ErrorBody;
use shared::admin::{Session, SessionList};

use crate::domain::sessions::{self, SessionView};
use crate::domain::tenants;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::{Json, Path, Query};

fn to_api(tenant: &str, v: SessionView) -> Session {
    let s = v.session;
    Session {
        id: s.id,
        tenant: tenant.to_owned(),
        user_id: s.user_id,
        user_email: v.user_email,
        provider: s.provider,
        amr: s.amr,
        auth_time: s.auth_time,
        created_at: s.created_at,
        last_seen_at: s.last_seen_at,
        expires_at: s.expires_at,
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Only the sessions of this user (id or email).
    user: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/sessions", tag = "sessions",
    params(("tenant" = String, Path, description = "slug or id"), ListParams),
    responses((status = 200, body = SessionList), (status = 404, body = ErrorBody)),
    security(("admin_token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Query(p): Query<ListParams>,
) -> Result<Json<SessionList>, ApiError> {
    let store = state.store.as_ref();
    let t = tenants::get(store, &tenant).await?;
    let items = sessions::list(store, &t, p.user.as_deref()).await?;
    Ok(Json(SessionList {
        items: items.into_iter().map(|v| to_api(&t.slug, v)).collect(),
    }))
}

/// Revokes the session and the tokens issued under it, effective at once: the browser must
/// sign in again and its refresh tokens fail with `invalid_grant`.
#[utoipa::path(delete, path = "/api/v1/sessions/{id}", tag = "sessions",
    params(("id" = String, Path, description = "session id")),
    responses((status = 204), (status = 404, body = ErrorBody)),
    security(("admin_token" = [])))]
pub async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let s = sessions::revoke(state.store.as_ref(), &id).await?;
    // Ids only: never the cookie value, nor the user's address.
    tracing::info!(tenant = %s.tenant_id, session = %s.id, user = %s.user_id, "session revoked");
    Ok(StatusCode::NO_CONTENT)
}

//! `/authorize` (OIDC Core §3.1.2): GET with a query, POST with a form; the decision is
//! `domain::front::authorize`'s.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::TenantEndpoint;
use crate::app::AppState;
use crate::domain::front::{self, Answer, Problem};
use crate::http::login::{browser, front_ctx, respond};

pub async fn authorize_get(
    State(state): State<AppState>,
    ep: TenantEndpoint,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    authorize(
        &state,
        &ep,
        &headers,
        false,
        q.unwrap_or_default().as_bytes(),
    )
    .await
}

pub async fn authorize_post(
    State(state): State<AppState>,
    ep: TenantEndpoint,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    authorize(&state, &ep, &headers, true, &body).await
}

async fn authorize(
    state: &AppState,
    ep: &TenantEndpoint,
    headers: &HeaderMap,
    post: bool,
    raw: &[u8],
) -> Response {
    let b = browser(state, ep, headers, post);
    let answer = match super::form::pairs(raw) {
        Ok(params) => front::authorize::authorize(&front_ctx(state, ep), &b, &params).await,
        Err(e) => Answer::problem(Problem::BadRequest(e)),
    };
    respond(state, ep, &b, answer)
}

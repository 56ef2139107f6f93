//! RP-initiated logout (OIDC RP-Initiated Logout 1.0): GET with a query, POST with a form
//! (the confirmation page posts back here); the decision is `domain::front::logout`'s.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;

use super::TenantEndpoint;
use crate::app::AppState;
use crate::domain::front;
use crate::http::login::{browser, fields, front_ctx, respond};

pub async fn logout(
    State(state): State<AppState>,
    ep: TenantEndpoint,
    method: Method,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let post = method == Method::POST;
    let raw = if post {
        body.to_vec()
    } else {
        q.unwrap_or_default().into_bytes()
    };
    let b = browser(&state, &ep, &headers, post);
    let params = fields(&raw);
    let answer = front::logout::logout(&front_ctx(&state, &ep), &b, params.as_ref()).await;
    respond(&state, &ep, &b, answer)
}

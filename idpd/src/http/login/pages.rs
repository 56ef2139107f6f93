//! Handlers of the login pages, the upstream callback and the device page: each reads the
//! request, calls its one `domain::front` function and answers with [`super::respond`].

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::{browser, fields, front_ctx, respond};
use crate::app::AppState;
use crate::domain::front;
use crate::http::oidc::TenantEndpoint;

type Params = Query<HashMap<String, String>>;

fn param<'a>(q: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    q.get(name).map(String::as_str)
}

/// `GET {issuer}/login?flow=…`.
pub async fn login_page(
    State(state): State<AppState>,
    ep: TenantEndpoint,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    let b = browser(&state, &ep, &headers, false);
    let answer = front::login::page(&front_ctx(&state, &ep), &b, param(&q, "flow")).await;
    respond(&state, &ep, &b, answer)
}

/// `POST {issuer}/login/email`.
pub async fn login_email(
    State(state): State<AppState>,
    ep: TenantEndpoint,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let b = browser(&state, &ep, &headers, true);
    let f = fields(&body);
    let answer = front::login::submit_email(&front_ctx(&state, &ep), &b, f.as_ref()).await;
    respond(&state, &ep, &b, answer)
}

/// `POST {issuer}/login/code`.
pub async fn login_code(
    State(state): State<AppState>,
    ep: TenantEndpoint,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let b = browser(&state, &ep, &headers, true);
    let f = fields(&body);
    let answer = front::login::submit_code(&front_ctx(&state, &ep), &b, f.as_ref()).await;
    respond(&state, &ep, &b, answer)
}

/// `GET {issuer}/login/link?flow=…&token=…`.
pub async fn login_link(
    State(state): State<AppState>,
    ep: TenantEndpoint,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    let b = browser(&state, &ep, &headers, false);
    let token = param(&q, "token").unwrap_or("");
    let answer =
        front::login::follow_link(&front_ctx(&state, &ep), &b, param(&q, "flow"), token).await;
    respond(&state, &ep, &b, answer)
}

/// `GET {issuer}/callback/{provider}`: the upstream's authorization response.
pub async fn callback(
    State(state): State<AppState>,
    ep: TenantEndpoint,
    Path(path): Path<HashMap<String, String>>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    let b = browser(&state, &ep, &headers, false);
    let name = param(&path, "provider").unwrap_or("");
    let answer = front::upstream::callback(&front_ctx(&state, &ep), &b, name, &q).await;
    respond(&state, &ep, &b, answer)
}

/// `GET {issuer}/device[?user_code=…]`.
pub async fn device_page(
    State(state): State<AppState>,
    ep: TenantEndpoint,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    let b = browser(&state, &ep, &headers, false);
    let answer = front::device::page(&front_ctx(&state, &ep), &b, param(&q, "user_code")).await;
    respond(&state, &ep, &b, answer)
}

/// `POST {issuer}/device`.
pub async fn device_post(
    State(state): State<AppState>,
    ep: TenantEndpoint,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let b = browser(&state, &ep, &headers, true);
    let f = fields(&body);
    let answer = front::device::submit(&front_ctx(&state, &ep), &b, f.as_ref()).await;
    respond(&state, &ep, &b, answer)
}

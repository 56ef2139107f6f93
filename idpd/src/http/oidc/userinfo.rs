//! `/userinfo` (OIDC Core §5.3): the token in the Authorization header, or in a form body
//! of a POST (RFC 6750 §2.2), never both.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};

use super::TenantEndpoint;
use super::bearer::{BearerToken, refused};
use crate::domain::oauth::bearer::{self, BearerError};
use crate::http::AppState;

pub async fn userinfo(
    State(state): State<AppState>,
    ep: TenantEndpoint,
    method: Method,
    BearerToken(header_token): BearerToken,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) => return super::error::public_error(e.status(), "the request body cannot be read"),
    };
    let body_token = if method == Method::POST {
        super::form::pairs(&body)
            .ok()
            .and_then(|mut p| p.remove("access_token"))
    } else {
        None
    };
    let token = match (header_token, body_token) {
        (Some(_), Some(_)) => return refused(BearerError::TwoTokens),
        (t, None) | (None, t) => t,
    };
    match bearer::userinfo(&ep.ctx(&state), token.as_deref()).await {
        Ok(claims) => ([(header::CACHE_CONTROL, "no-store")], axum::Json(claims)).into_response(),
        Err(e) => refused(e),
    }
}

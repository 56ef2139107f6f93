//! The token (RFC 6749 §3.2), introspection (RFC 7662) and revocation (RFC 7009) endpoints:
//! [`ClientRequest`] authenticates the client, the domain answers.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::client_auth::ClientRequest;
use super::error::{OAuthResponse, no_store};
use crate::domain::oauth::grant::{self, TokenRequest};
use crate::domain::oauth::{OAuthError, token};
use crate::http::AppState;

/// A JSON answer, never cached; errors as RFC 6749 §5.2.
pub(crate) fn json_reply(result: Result<impl serde::Serialize, OAuthError>) -> Response {
    match result {
        Ok(body) => (no_store(), Json(body)).into_response(),
        Err(e) => OAuthResponse::from(e).into_response(),
    }
}

pub async fn token(State(state): State<AppState>, r: ClientRequest) -> Response {
    let ctx = r.ep.ctx(&state);
    let result = async {
        let req = TokenRequest::parse(|name| r.form.get(name))?;
        let response = grant::token(&ctx, &r.client, &req).await?;
        state
            .metrics
            .token_issued(&r.ep.tenant.slug, req.grant_type());
        Ok(response)
    }
    .await;
    json_reply(result)
}

pub async fn introspect(State(state): State<AppState>, r: ClientRequest) -> Response {
    let ctx = r.ep.ctx(&state);
    let result = async {
        // Introspection reveals token contents: only confidential clients (RFC 7662 §2.1).
        if r.client.public {
            return Err(OAuthError::invalid_client());
        }
        token::introspect(&ctx, &r.client, r.form.require("token")?).await
    }
    .await;
    json_reply(result)
}

pub async fn revoke(State(state): State<AppState>, r: ClientRequest) -> Response {
    let ctx = r.ep.ctx(&state);
    let result = async { token::revoke(&ctx, &r.client, r.form.require("token")?).await }.await;
    match result {
        // RFC 7009 §2.2: 200 whether or not the token was valid.
        Ok(()) => (StatusCode::OK, no_store()).into_response(),
        Err(e) => OAuthResponse::from(e).into_response(),
    }
}

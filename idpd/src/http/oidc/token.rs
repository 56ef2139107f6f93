//! The token (RFC 6749 §3.2), introspection (RFC 7662) and revocation (RFC 7009) endpoints.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::{OAuthResponse, no_store};
use super::form::{self, Form};
use super::{Peer, TenantEndpoint};
use crate::app::AppState;
use crate::domain::clients::ClientRecord;
use crate::domain::clients::{GRANT_DEVICE_CODE, GRANT_JWT_BEARER};
use crate::domain::oauth::token::{self, Ctx};
use crate::domain::oauth::{ErrorCode, OAuthError};
use crate::domain::oauth::{code, device_code, jwt_bearer};

/// Parses the form and authenticates the client: the common first half of all three.
pub(crate) async fn begin<'a>(
    ctx: &Ctx<'a>,
    peer: Peer,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(Form, ClientRecord), OAuthResponse> {
    let body = body.map_err(|r| {
        OAuthError::invalid_request(if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            "request body too large"
        } else {
            "could not read the request body"
        })
    })?;
    let form = Form::parse(headers, &body)?;
    let (creds, basic) = form::credentials(headers, &form).map_err(|error| OAuthResponse {
        error,
        // A malformed Basic header still gets the Basic challenge (RFC 6749 §5.2).
        basic: form::uses_basic(headers),
    })?;
    match token::authenticate(ctx, &creds).await {
        Ok(client) => Ok((form, client)),
        Err(error) if error.code == ErrorCode::InvalidClient => {
            let limited = token::record_auth_failure(ctx, &creds, peer.0).await?;
            Err(OAuthResponse {
                error: limited.unwrap_or(error),
                basic,
            })
        }
        Err(error) => Err(OAuthResponse { error, basic }),
    }
}

/// A JSON answer, never cached; errors as RFC 6749 §5.2.
pub(crate) fn json_reply(result: Result<impl serde::Serialize, OAuthResponse>) -> Response {
    match result {
        Ok(body) => (no_store(), Json(body)).into_response(),
        Err(e) => e.into_response(),
    }
}

pub async fn token(
    State(state): State<AppState>,
    ep: TenantEndpoint,
    peer: Peer,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let ctx = ep.ctx(&state);
    let result = async {
        let (form, client) = begin(&ctx, peer, &headers, body).await?;
        let grant = form.require("grant_type")?;
        let response = match grant {
            "client_credentials" => {
                token::client_credentials(&ctx, &client, form.get("scope")).await?
            }
            "authorization_code" => {
                let code = form.require("code")?;
                code::exchange_code(
                    &ctx,
                    &client,
                    code,
                    form.get("redirect_uri"),
                    form.get("code_verifier"),
                )
                .await?
            }
            "refresh_token" => {
                let rt = form.require("refresh_token")?;
                code::refresh(&ctx, &client, rt, form.get("scope")).await?
            }
            GRANT_DEVICE_CODE => {
                device_code::poll(&ctx, &client, form.require("device_code")?).await?
            }
            GRANT_JWT_BEARER => {
                let assertion = form.require("assertion")?;
                jwt_bearer::grant(&ctx, &client, assertion, form.get("scope")).await?
            }
            other => {
                return Err(OAuthResponse::from(OAuthError::new(
                    ErrorCode::UnsupportedGrantType,
                    format!("grant_type {other:?} is not supported"),
                )));
            }
        };
        Ok::<_, OAuthResponse>((metric_grant(grant), response))
    }
    .await;
    json_reply(result.map(|(grant, response)| {
        state.metrics.token_issued(&ep.tenant.slug, grant);
        response
    }))
}

/// The `grant_type` label of the tokens-issued metric: a fixed set, so a client cannot
/// create label values.
fn metric_grant(grant: &str) -> &'static str {
    const KNOWN: [&str; 5] = [
        "client_credentials",
        "authorization_code",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:device_code",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
    ];
    KNOWN.into_iter().find(|k| *k == grant).unwrap_or("other")
}

pub async fn introspect(
    State(state): State<AppState>,
    ep: TenantEndpoint,
    peer: Peer,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let ctx = ep.ctx(&state);
    let result = async {
        let (form, client) = begin(&ctx, peer, &headers, body).await?;
        // Introspection reveals token contents: only confidential clients (RFC 7662 §2.1).
        if client.public {
            return Err(OAuthResponse::from(OAuthError::invalid_client()));
        }
        let t = form.require("token")?;
        Ok::<_, OAuthResponse>(token::introspect(&ctx, t).await?)
    }
    .await;
    json_reply(result)
}

pub async fn revoke(
    State(state): State<AppState>,
    ep: TenantEndpoint,
    peer: Peer,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let ctx = ep.ctx(&state);
    let result = async {
        let (form, client) = begin(&ctx, peer, &headers, body).await?;
        let t = form.require("token")?;
        token::revoke(&ctx, &client, t).await?;
        Ok::<_, OAuthResponse>(())
    }
    .await;
    match result {
        // RFC 7009 §2.2: 200 whether or not the token was valid.
        Ok(()) => (StatusCode::OK, no_store()).into_response(),
        Err(e) => e.into_response(),
    }
}

//! The one extractor of the client-authenticated endpoints (token, introspection,
//! revocation, device authorization): the tenant, the form body, and the client it
//! authenticates (RFC 6749 §2.3.1), or the RFC 6749 §5.2 error. Failures count against the
//! client id and the source address (SEC-10).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::error::OAuthResponse;
use super::form::{self, Form};
use super::{Peer, TenantEndpoint};
use crate::domain::clients::ClientRecord;
use crate::domain::oauth::{ErrorCode, OAuthError, token};
use crate::http::AppState;

/// A request of an authenticated client.
pub struct ClientRequest {
    pub ep: TenantEndpoint,
    pub peer: Peer,
    pub form: Form,
    pub client: std::sync::Arc<ClientRecord>,
}

impl FromRequest<AppState> for ClientRequest {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let ep = TenantEndpoint::from_request_parts(&mut parts, state).await?;
        let Ok(peer) = Peer::from_request_parts(&mut parts, state).await;
        // The body extractor needs no headers: take them instead of copying.
        let headers = std::mem::take(&mut parts.headers);
        let body = Bytes::from_request(Request::from_parts(parts, body), state).await;
        let body = body.map_err(|r| {
            OAuthResponse::from(OAuthError::invalid_request(
                if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    "request body too large"
                } else {
                    "could not read the request body"
                },
            ))
            .into_response()
        })?;
        let form =
            Form::parse(&headers, &body).map_err(|e| OAuthResponse::from(e).into_response())?;
        let (creds, basic) = form::credentials(&headers, &form).map_err(|error| {
            OAuthResponse {
                error,
                // A malformed Basic header still gets the Basic challenge (RFC 6749 §5.2).
                basic: form::uses_basic(&headers),
            }
            .into_response()
        })?;
        let ctx = ep.ctx(state);
        let error = match token::authenticate(&ctx, &creds).await {
            Ok(client) => {
                return Ok(ClientRequest {
                    ep,
                    peer,
                    form,
                    client,
                });
            }
            Err(error) if error.code == ErrorCode::InvalidClient => {
                match token::record_auth_failure(&ctx, &creds, peer.0).await {
                    Ok(limited) => limited.unwrap_or(error),
                    Err(e) => e,
                }
            }
            Err(error) => error,
        };
        Err(OAuthResponse { error, basic }.into_response())
    }
}

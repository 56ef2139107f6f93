//! Bearer tokens over HTTP (RFC 6750): the one extractor that reads a token from the
//! Authorization header, and the one renderer of refusals with their `WWW-Authenticate`
//! challenge.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::error::OAuthResponse;
use crate::domain::oauth::bearer::BearerError;
use crate::domain::oauth::{ErrorCode, OAuthError};

/// The token of an `Authorization: Bearer …` header (scheme case-insensitive), if any.
pub struct BearerToken(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for BearerToken {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(BearerToken(
            parts
                .headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split_once(' '))
                .filter(|(s, _)| s.eq_ignore_ascii_case("bearer"))
                .map(|(_, t)| t.trim().to_owned()),
        ))
    }
}

/// A refused bearer request (RFC 6750 §3): the status and challenge of each reason; a
/// failure of the check itself is an OAuth error (503 with Retry-After for an outage).
pub fn refused(e: BearerError) -> Response {
    let challenge = |status: StatusCode, value: String| {
        (
            status,
            [
                (header::WWW_AUTHENTICATE, value),
                (header::CACHE_CONTROL, "no-store".to_owned()),
            ],
        )
            .into_response()
    };
    match e {
        // RFC 6750 §3.1: no error code when no credentials were sent.
        BearerError::Missing => challenge(StatusCode::UNAUTHORIZED, "Bearer realm=\"idpd\"".into()),
        BearerError::TwoTokens => {
            let code = ErrorCode::InvalidRequest;
            let mut res =
                OAuthResponse::from(OAuthError::new(code, "use one way to send the token"))
                    .into_response();
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_request\""),
            );
            res
        }
        BearerError::InvalidToken => challenge(
            StatusCode::UNAUTHORIZED,
            format!("Bearer error=\"{}\"", ErrorCode::InvalidToken),
        ),
        BearerError::InsufficientScope(scope) => challenge(
            StatusCode::FORBIDDEN,
            format!(
                "Bearer error=\"{}\", scope=\"{scope}\"",
                ErrorCode::InsufficientScope
            ),
        ),
        BearerError::Failed(e) => OAuthResponse::from(e).into_response(),
    }
}

//! OAuth error responses (RFC 6749 §5.2): JSON `error`/`error_description`, never cached;
//! 401 with a Basic challenge for `invalid_client` when the client used Basic auth.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::domain::oauth::{ErrorCode, OAuthError};

/// An OAuth error and whether the request carried HTTP Basic credentials.
pub struct OAuthResponse {
    pub error: OAuthError,
    pub basic: bool,
}

impl From<OAuthError> for OAuthResponse {
    fn from(error: OAuthError) -> Self {
        OAuthResponse {
            error,
            basic: false,
        }
    }
}

impl IntoResponse for OAuthResponse {
    fn into_response(self) -> Response {
        let e = self.error;
        let status = match e.code {
            ErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::BAD_REQUEST,
        };
        if let Some(internal) = &e.internal {
            tracing::error!(error = %e.code, cause = %internal, "OAuth request failed");
        }
        let body = json!({ "error": e.code.as_str(), "error_description": e.description });
        let mut res = (status, no_store(), Json(body)).into_response();
        if e.code == ErrorCode::InvalidClient && self.basic {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"idpd\", charset=\"UTF-8\""),
            );
        }
        match e.code {
            ErrorCode::TemporarilyUnavailable => {
                crate::http::error::retry_after(
                    &mut res,
                    crate::http::error::RETRY_UNAVAILABLE_SECONDS,
                );
            }
            ErrorCode::RateLimited { retry_after } => {
                crate::http::error::retry_after(&mut res, retry_after);
            }
            _ => {}
        }
        res
    }
}

/// `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 §5.1).
pub fn no_store() -> [(header::HeaderName, &'static str); 2] {
    [
        (header::CACHE_CONTROL, "no-store"),
        (header::PRAGMA, "no-cache"),
    ]
}

/// JSON error for the public listener's unknown routes and methods.
pub fn public_error(status: StatusCode, description: &str) -> Response {
    let code = if status == StatusCode::NOT_FOUND {
        // Not an RFC 6749 code: no OAuth endpoint is there to answer.
        "not_found"
    } else if status == StatusCode::SERVICE_UNAVAILABLE {
        ErrorCode::TemporarilyUnavailable.as_str()
    } else {
        ErrorCode::InvalidRequest.as_str()
    };
    (
        status,
        no_store(),
        Json(json!({ "error": code, "error_description": description })),
    )
        .into_response()
}

//! OAuth protocol errors (RFC 6749 §5.2, RFC 7009 §2.2.1, RFC 7662 §2.3).

use std::fmt;

use crate::store::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    ServerError,
    TemporarilyUnavailable,
    /// RFC 8628 §3.5 polling answers.
    AuthorizationPending,
    SlowDown,
    AccessDenied,
    ExpiredToken,
    /// Authorization endpoint answers (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6).
    UnsupportedResponseType,
    RequestNotSupported,
    RequestUriNotSupported,
    LoginRequired,
    /// Bearer token refusals (RFC 6750 §3.1).
    InvalidToken,
    InsufficientScope,
    /// Too many failures from this client or address: HTTP 429 with `Retry-After`, sent as
    /// `temporarily_unavailable` (RFC 6749 has no code of its own for it).
    RateLimited {
        retry_after: i64,
    },
}

impl ErrorCode {
    /// The code as sent (`error=`), the same text as `Display` without an allocation.
    pub fn as_str(&self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::ServerError => "server_error",
            ErrorCode::AuthorizationPending => "authorization_pending",
            ErrorCode::SlowDown => "slow_down",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::ExpiredToken => "expired_token",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::RequestNotSupported => "request_not_supported",
            ErrorCode::RequestUriNotSupported => "request_uri_not_supported",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::TemporarilyUnavailable | ErrorCode::RateLimited { .. } => {
                "temporarily_unavailable"
            }
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug)]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: String,
    /// Logged, never sent.
    pub internal: Option<String>,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        OAuthError {
            code,
            description: description.into(),
            internal: None,
        }
    }

    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, d)
    }

    /// One message for every client-authentication failure, so the answer does not tell an
    /// unknown client from a wrong secret (SEC-10).
    pub fn invalid_client() -> Self {
        Self::new(ErrorCode::InvalidClient, "client authentication failed")
    }

    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidGrant, d)
    }
}

impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> Self {
        if e.is_bad_input() {
            return OAuthError::invalid_request(
                "the request contains a character that is not allowed (NUL)",
            );
        }
        let internal = Some(crate::domain::error::chain(&e));
        let code = if e.is_unavailable() {
            ErrorCode::TemporarilyUnavailable
        } else {
            ErrorCode::ServerError
        };
        OAuthError {
            code,
            description: "the server could not complete the request; retry later".into(),
            internal,
        }
    }
}

impl From<super::super::keys::material::KeyError> for OAuthError {
    fn from(e: super::super::keys::material::KeyError) -> Self {
        OAuthError {
            code: ErrorCode::ServerError,
            description: "the server could not sign the token".into(),
            internal: Some(e.to_string()),
        }
    }
}

//! Every `IntoResponse` for errors, and the middleware that finishes admin error bodies.
//!
//! Handlers return `ApiError`. Its response carries an `ErrorReport` extension; the
//! `finish` of the request envelope (which knows the request id) logs internal causes once and
//! writes the JSON `ErrorBody`. Internal details never reach the client.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use shared::ErrorBody;
use shared::error::codes;

use crate::domain;

/// An admin API error: status, stable code, and a message safe to show.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Logged, never sent.
    pub internal: Option<String>,
    pub www_authenticate: Option<&'static str>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            internal: None,
            www_authenticate: None,
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, codes::NOT_FOUND, message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, codes::BAD_REQUEST, message)
    }
}

/// Rides in the response extensions until `finish` renders it.
#[derive(Debug, Clone)]
struct ErrorReport {
    code: &'static str,
    message: String,
    internal: Option<String>,
}

/// The error code of an admin error response not yet finished by `finish`.
pub fn error_code(res: &Response) -> Option<&'static str> {
    res.extensions().get::<ErrorReport>().map(|r| r.code)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = self.status.into_response();
        if let Some(challenge) = self.www_authenticate {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            retry_after(&mut res, RETRY_UNAVAILABLE_SECONDS);
        }
        res.extensions_mut().insert(ErrorReport {
            code: self.code,
            message: self.message,
            internal: self.internal,
        });
        res
    }
}

impl From<domain::Error> for ApiError {
    fn from(e: domain::Error) -> Self {
        use domain::Error as E;
        match e {
            E::NotFound(what) => ApiError::not_found(format!("{what} not found")),
            E::Conflict(msg) => ApiError::new(StatusCode::CONFLICT, codes::CONFLICT, msg),
            e @ E::Invalid(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                codes::VALIDATION_FAILED,
                e.to_string(),
            ),
            E::Unauthenticated => ApiError {
                www_authenticate: Some("Bearer error=\"invalid_token\""),
                ..ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    codes::UNAUTHORIZED,
                    "the bearer token is invalid, expired or revoked",
                )
            },
            E::Upstream { code, message } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
            }
            E::Forbidden(msg) => ApiError::new(StatusCode::FORBIDDEN, codes::FORBIDDEN, msg),
            E::Unavailable(source) => ApiError {
                internal: Some(crate::domain::error::chain(&source)),
                ..ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    codes::UNAVAILABLE,
                    "the database is unavailable; retry shortly",
                )
            },
            E::Internal(source) => ApiError {
                internal: Some(format!("{source:#}")),
                ..ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    codes::INTERNAL,
                    "internal error; the server log has details under this request id",
                )
            },
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let (code, message) = match &r {
            JsonRejection::JsonSyntaxError(_) => (codes::MALFORMED_JSON, r.body_text()),
            JsonRejection::JsonDataError(_) => (codes::INVALID_BODY, r.body_text()),
            JsonRejection::MissingJsonContentType(_) => (
                codes::UNSUPPORTED_MEDIA_TYPE,
                "expected a request body with Content-Type: application/json".to_owned(),
            ),
            _ if r.status() == StatusCode::PAYLOAD_TOO_LARGE => (
                codes::PAYLOAD_TOO_LARGE,
                format!(
                    "request body is larger than {} bytes",
                    super::ADMIN_BODY_LIMIT
                ),
            ),
            _ => (codes::BAD_REQUEST, r.body_text()),
        };
        ApiError::new(r.status(), code, message)
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::bad_request(r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::bad_request(r.body_text())
    }
}

/// Renders an `ErrorReport` as JSON `ErrorBody` with the request id, and logs its internal
/// cause; any other response passes unchanged.
pub(crate) fn finish(mut res: Response, request_id: &HeaderValue) -> Response {
    let Some(report) = res.extensions_mut().remove::<ErrorReport>() else {
        return res;
    };
    if let Some(internal) = &report.internal {
        tracing::error!(code = report.code, cause = %internal, "request failed");
    }
    let body = ErrorBody {
        error: report.code.to_owned(),
        message: report.message,
        request_id: request_id.to_str().ok().map(str::to_owned),
    };
    let (mut parts, _) = res.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let json = Json(body).into_response();
    let (json_parts, json_body) = json.into_parts();
    parts.headers.extend(json_parts.headers);
    Response::from_parts(parts, json_body)
}

/// Seconds a client waits before retrying a 503: the database comes back, or a load balancer
/// takes the instance out of rotation, within about that time.
pub const RETRY_UNAVAILABLE_SECONDS: u64 = 1;

/// Sets `Retry-After` (RFC 9110 §10.2.3) on a 429 or 503 answer: the one place it is written.
pub fn retry_after(res: &mut Response, seconds: impl Into<HeaderValue>) {
    res.headers_mut()
        .insert(header::RETRY_AFTER, seconds.into());
}

/// JSON 404 for unknown routes.
pub async fn no_route() -> ApiError {
    ApiError::not_found("no such route")
}

/// JSON 405 for a known route with the wrong method.
pub async fn wrong_method() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        codes::METHOD_NOT_ALLOWED,
        "method not allowed on this route",
    )
}

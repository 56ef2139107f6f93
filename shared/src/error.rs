//! The JSON error body of the admin API.

use serde::{Deserialize, Serialize};

/// Every 4xx/5xx answer of the admin API carries this body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `not_found`, `conflict`, `validation_failed`.
    pub error: String,
    /// Human-readable explanation; safe to show to an operator.
    pub message: String,
    /// The request id (also sent as the `x-request-id` header), for finding the log lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// Error codes the admin API uses in [`ErrorBody::error`].
pub mod codes {
    pub const MALFORMED_JSON: &str = "malformed_json";
    pub const INVALID_BODY: &str = "invalid_body";
    pub const VALIDATION_FAILED: &str = "validation_failed";
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "unsupported_media_type";
    pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
    pub const NOT_FOUND: &str = "not_found";
    pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    pub const CONFLICT: &str = "conflict";
    pub const UNAUTHORIZED: &str = "unauthorized";
    pub const FORBIDDEN: &str = "forbidden";
    pub const BAD_REQUEST: &str = "bad_request";
    pub const INTERNAL: &str = "internal_error";
    pub const UNAVAILABLE: &str = "unavailable";
    /// 421: the admin listener does not answer for the request's `Host`.
    pub const MISDIRECTED_REQUEST: &str = "misdirected_request";
}

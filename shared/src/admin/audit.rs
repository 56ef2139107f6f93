//! The audit log: `/api/v1/audit`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// One audit event: an admin change or a login attempt. Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEvent {
    /// Position in the log; `after` in the next query continues from here.
    pub seq: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    /// Slug of the tenant concerned, if any.
    #[serde(default)]
    pub tenant: Option<String>,
    /// Who acted: `admin:<token name>`, `user:<id>`, `client:<id>` or `anonymous`.
    pub actor: String,
    /// What was done, `<noun>.<verb>`: `client.create`, `user.disable`, `login.code`, ...
    pub action: String,
    /// The object acted on (a slug, id, client id or email).
    #[serde(default)]
    pub target: Option<String>,
    /// `success` or `failure`.
    pub outcome: String,
    /// Why it failed: an error code.
    #[serde(default)]
    pub reason: Option<String>,
    /// The `x-request-id` of the request, as in idpd's log.
    #[serde(default)]
    pub request_id: Option<String>,
    #[serde(default)]
    pub client_ip: Option<String>,
}

/// Events: newest first, or oldest first when the query had `after`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditList {
    pub items: Vec<AuditEvent>,
}

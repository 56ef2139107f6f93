//! Records of audit: what the store keeps and returns (docs/architecture.md).

use time::OffsetDateTime;
use uuid::Uuid;

/// A recorded event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub seq: i64,
    pub at: OffsetDateTime,
    pub tenant: Option<String>,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub outcome: Outcome,
    pub reason: Option<String>,
    pub request_id: Option<String>,
    pub client_ip: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub tenant: Option<String>,
    /// An exact action, or a noun matching all its verbs.
    pub action: Option<String>,
    pub since: Option<OffsetDateTime>,
    /// Events after this sequence number, oldest first (for following the log).
    pub after: Option<i64>,
    pub limit: u32,
}

/// An event about to be recorded.
#[derive(Debug, Clone)]
pub struct NewAuditEvent {
    pub at: OffsetDateTime,
    pub tenant_id: Option<Uuid>,
    /// The tenant's slug at the time of the event.
    pub tenant: Option<String>,
    /// `admin:<token name>`, `user:<id>`, `client:<id>` or `anonymous`.
    pub actor: String,
    /// `<noun>.<verb>`, e.g. `client.create`, `login.code`.
    pub action: String,
    pub target: Option<String>,
    pub outcome: Outcome,
    /// Why it failed: an error code, never a secret.
    pub reason: Option<String>,
    pub request_id: Option<String>,
    pub client_ip: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
}

//! Store trait of the audit log. Each method is one atomic unit.

use async_trait::async_trait;

use super::Result;
use crate::model::audit::{AuditEvent, AuditQuery, NewAuditEvent};

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends an event; returns its sequence number.
    async fn insert_audit_event(&self, e: &NewAuditEvent) -> Result<i64>;
    /// Events matching `q`: with `q.after`, those after it, oldest first; otherwise the
    /// newest `q.limit`, newest first.
    async fn list_audit_events(&self, q: &AuditQuery) -> Result<Vec<AuditEvent>>;
    /// Deletes events older than `before` (the retention period); returns how many.
    async fn purge_audit_events(&self, before: time::OffsetDateTime) -> Result<u64>;
}

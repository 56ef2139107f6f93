// `idp_audit_events` (for every backend).

use async_trait::async_trait;

use super::{Backend, Columns, Statement};
use crate::model::audit::{AuditEvent, AuditQuery, NewAuditEvent, Outcome};
use crate::store::{AuditStore, Result, StoreError};

/// Optional filters are `($n IS NULL OR column = $n)`, so one statement serves every
/// combination and every value stays a bound parameter. An action filter `client` also
/// matches `client.create`, `client.delete`, ...
macro_rules! filtered {
    ($rest:literal) => {
        concat!(
            "SELECT * FROM idp_audit_events WHERE ($1 IS NULL OR tenant = $1) \
             AND ($2 IS NULL OR action = $2 OR action LIKE $2 || '.%') \
             AND ($3 IS NULL OR at >= $3) ",
            $rest
        )
    };
}

#[async_trait]
impl<B: Backend> AuditStore for B {
    async fn insert_audit_event(&self, e: &NewAuditEvent) -> Result<i64> {
        let row = Self::sql(
            "INSERT INTO idp_audit_events (at, tenant_id, tenant, actor, action, target, outcome, \
             reason, request_id, client_ip) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             RETURNING seq",
        )
        .bind(e.at)
        .bind(e.tenant_id)
        .bind(&e.tenant)
        .bind(&e.actor)
        .bind(&e.action)
        .bind(&e.target)
        .bind(e.outcome.as_str())
        .bind(&e.reason)
        .bind(&e.request_id)
        .bind(&e.client_ip)
        .fetch_one(self.writer())
        .await?;
        Ok(row.try_get("seq")?)
    }

    async fn purge_audit_events(&self, before: time::OffsetDateTime) -> Result<u64> {
        let done = Self::sql("DELETE FROM idp_audit_events WHERE at < $1")
            .bind(before)
            .execute(self.writer())
            .await?;
        Ok(done.rows_affected())
    }

    async fn list_audit_events(&self, q: &AuditQuery) -> Result<Vec<AuditEvent>> {
        let sql = match q.after {
            Some(_) => filtered!("AND seq > $4 ORDER BY seq ASC LIMIT $5"),
            None => filtered!("AND $4 IS NULL ORDER BY seq DESC LIMIT $5"),
        };
        let rows = Self::sql(sql)
            .bind(&q.tenant)
            .bind(&q.action)
            .bind(q.since)
            .bind(q.after)
            .bind(i64::from(q.limit))
            .fetch_all(self.reader())
            .await?;
        rows.iter()
            .map(|row| {
                let outcome: String = row.try_get("outcome")?;
                Ok(AuditEvent {
                    seq: row.try_get("seq")?,
                    at: row.try_get("at")?,
                    tenant: row.try_get("tenant")?,
                    actor: row.try_get("actor")?,
                    action: row.try_get("action")?,
                    target: row.try_get("target")?,
                    outcome: Outcome::parse(&outcome)
                        .ok_or_else(|| StoreError::Corrupt(format!("audit outcome {outcome:?}")))?,
                    reason: row.try_get("reason")?,
                    request_id: row.try_get("request_id")?,
                    client_ip: row.try_get("client_ip")?,
                })
            })
            .collect()
    }
}

// Login flows, one-time codes and sessions (shared by both backends: included by sqlite/
// and postgres/).

use async_trait::async_trait;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Backend, Statement, WriteTx, rows};
use crate::model::login::{LoginFlow, Otp, Session};
use crate::store::{LoginStore, Result};

#[async_trait]
impl<B: Backend> LoginStore for B {
    async fn insert_flow(&self, f: &LoginFlow) -> Result<()> {
        Self::sql(
            "INSERT INTO idp_login_flows (id, tenant_id, secret_digest, request, email, created_at, expires_at, resume) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(f.id)
        .bind(f.tenant_id)
        .bind(&f.secret_digest[..])
        .bind(Json(&f.request))
        .bind(&f.email)
        .bind(f.created_at)
        .bind(f.expires_at)
        .bind(&f.resume)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn find_flow(&self, tenant_id: Uuid, id: Uuid) -> Result<Option<LoginFlow>> {
        let row = Self::sql("SELECT * FROM idp_login_flows WHERE id = $1 AND tenant_id = $2")
            .bind(id)
            .bind(tenant_id)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(rows::flow).transpose()
    }

    async fn set_flow_email(&self, id: Uuid, email: &str) -> Result<()> {
        Self::sql("UPDATE idp_login_flows SET email = $1 WHERE id = $2")
            .bind(email)
            .bind(id)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    async fn insert_otp(&self, o: &Otp, now: OffsetDateTime) -> Result<()> {
        let mut tx = self.begin_write().await?;
        Self::sql(
            "UPDATE idp_otps SET consumed_at = $1 WHERE flow_id = $2 AND consumed_at IS NULL",
        )
        .bind(now)
        .bind(o.flow_id)
        .execute(&mut tx)
        .await?;
        Self::sql(
            "INSERT INTO idp_otps (id, tenant_id, flow_id, email, code_digest, link_digest, attempts, \
             created_at, expires_at, consumed_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, NULL)",
        )
        .bind(o.id)
        .bind(o.tenant_id)
        .bind(o.flow_id)
        .bind(&o.email)
        .bind(&o.code_digest[..])
        .bind(&o.link_digest[..])
        .bind(o.created_at)
        .bind(o.expires_at)
        .execute(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn try_otp(&self, flow_id: Uuid, max: i64) -> Result<Option<Otp>> {
        let row = Self::sql(
            "UPDATE idp_otps SET attempts = attempts + 1 \
             WHERE flow_id = $1 AND consumed_at IS NULL AND attempts < $2 RETURNING *",
        )
        .bind(flow_id)
        .bind(max)
        .fetch_optional(self.writer())
        .await?;
        row.as_ref().map(rows::otp).transpose()
    }

    async fn find_otp_by_link(&self, link_digest: &[u8; 32]) -> Result<Option<Otp>> {
        let row = Self::sql("SELECT * FROM idp_otps WHERE link_digest = $1")
            .bind(&link_digest[..])
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(rows::otp).transpose()
    }

    async fn consume_otp(&self, id: Uuid, now: OffsetDateTime) -> Result<bool> {
        let done =
            Self::sql("UPDATE idp_otps SET consumed_at = $1 WHERE id = $2 AND consumed_at IS NULL")
                .bind(now)
                .bind(id)
                .execute(self.writer())
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn insert_session(&self, s: &Session) -> Result<()> {
        Self::sql(
            "INSERT INTO idp_sessions (id, tenant_id, user_id, token_digest, provider, amr, auth_time, \
             created_at, last_seen_at, expires_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL)",
        )
        .bind(s.id)
        .bind(s.tenant_id)
        .bind(s.user_id)
        .bind(&s.token_digest[..])
        .bind(&s.provider)
        .bind(Json(&s.amr))
        .bind(s.auth_time)
        .bind(s.created_at)
        .bind(s.last_seen_at)
        .bind(s.expires_at)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn find_session(
        &self,
        tenant_id: Uuid,
        token_digest: &[u8; 32],
    ) -> Result<Option<Session>> {
        let row =
            Self::sql("SELECT * FROM idp_sessions WHERE token_digest = $1 AND tenant_id = $2")
                .bind(&token_digest[..])
                .bind(tenant_id)
                .fetch_optional(self.reader())
                .await?;
        row.as_ref().map(rows::session).transpose()
    }

    async fn find_signed_in(
        &self,
        tenant_id: Uuid,
        token_digest: &[u8; 32],
    ) -> Result<Option<Session>> {
        let row = Self::sql(
            "SELECT s.* FROM idp_sessions s JOIN idp_users u ON u.id = s.user_id \
             WHERE s.token_digest = $1 AND s.tenant_id = $2 AND u.tenant_id = $2 AND NOT u.disabled",
        )
        .bind(&token_digest[..])
        .bind(tenant_id)
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(rows::session).transpose()
    }

    async fn find_session_by_id(&self, id: Uuid) -> Result<Option<Session>> {
        let row = Self::sql("SELECT * FROM idp_sessions WHERE id = $1")
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(rows::session).transpose()
    }

    async fn touch_session(&self, id: Uuid, now: OffsetDateTime) -> Result<()> {
        Self::sql("UPDATE idp_sessions SET last_seen_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    async fn revoke_session(&self, id: Uuid, now: OffsetDateTime) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = Self::sql(
            "UPDATE idp_sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .execute(&mut tx)
        .await?;
        Self::sql("UPDATE idp_token_families SET revoked_at = $1 WHERE session_id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    async fn purge_expired(&self, before: OffsetDateTime) -> Result<u64> {
        let mut n = 0;
        for sql in [
            "DELETE FROM idp_login_flows WHERE expires_at < $1",
            "DELETE FROM idp_auth_codes WHERE expires_at < $1",
            "DELETE FROM idp_refresh_tokens WHERE expires_at < $1",
            "DELETE FROM idp_sessions WHERE expires_at < $1",
        ] {
            n += Self::sql(sql)
                .bind(before)
                .execute(self.writer())
                .await?
                .rows_affected();
        }
        Ok(n)
    }

    async fn purge_unused_flows(&self, now: OffsetDateTime) -> Result<u64> {
        Ok(
            Self::sql("DELETE FROM idp_login_flows WHERE expires_at < $1 AND email IS NULL")
                .bind(now)
                .execute(self.writer())
                .await?
                .rows_affected(),
        )
    }

    async fn list_sessions(&self, tenant_id: Uuid, user_id: Option<Uuid>) -> Result<Vec<Session>> {
        let rows = Self::sql(
            "SELECT * FROM idp_sessions WHERE tenant_id = $1 AND ($2 IS NULL OR user_id = $2) \
             AND revoked_at IS NULL ORDER BY created_at",
        )
        .bind(tenant_id)
        .bind(user_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(rows::session).collect()
    }
}

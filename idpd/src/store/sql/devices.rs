// Devices, device authorizations and used assertion jtis (for every backend).

use async_trait::async_trait;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Backend, Columns, Statement, WriteTx};
use crate::model::devices::{Device, DeviceAuthorization, DeviceState};
use crate::model::grants::{RefreshToken, TokenFamily};
use crate::store::{DeviceStore, Result, StoreError, UsedJti, conflict};

fn digest(r: &impl Columns, col: &str) -> Result<[u8; 32]> {
    <[u8; 32]>::try_from(r.try_get::<Vec<u8>>(col)?)
        .map_err(|_| StoreError::Corrupt(format!("{col} is not 32 bytes")))
}

fn device(r: &impl Columns) -> Result<Device> {
    let alg: String = r.try_get("alg")?;
    Ok(Device {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        user_id: r.try_get("user_id")?,
        name: r.try_get("name")?,
        platform: r.try_get("platform")?,
        alg: shared::admin::Alg::parse(&alg)
            .ok_or_else(|| StoreError::Corrupt(format!("device alg {alg:?}")))?,
        public_jwk: r.try_get::<Json<serde_json::Value>>("public_jwk")?.0,
        public_key: r.try_get("public_key")?,
        created_at: r.try_get("created_at")?,
        last_used_at: r.try_get("last_used_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

fn authorization(r: &impl Columns) -> Result<DeviceAuthorization> {
    let state: String = r.try_get("state")?;
    Ok(DeviceAuthorization {
        device_code_digest: digest(r, "device_code_digest")?,
        tenant_id: r.try_get("tenant_id")?,
        user_code_digest: digest(r, "user_code_digest")?,
        client_id: r.try_get("client_id")?,
        scope: r.try_get("scope")?,
        state: DeviceState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("device authorization state {state:?}")))?,
        user_id: r.try_get("user_id")?,
        session_id: r.try_get("session_id")?,
        auth_time: r.try_get("auth_time")?,
        interval_seconds: r.try_get("interval_seconds")?,
        next_poll_at: r.try_get("next_poll_at")?,
        last_poll_slow: r.try_get("last_poll_slow")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
    })
}

#[async_trait]
impl<B: Backend> DeviceStore for B {
    async fn insert_device(&self, d: &Device) -> Result<()> {
        Self::sql(
            "INSERT INTO idp_devices (id, tenant_id, user_id, name, platform, alg, public_jwk, public_key, \
             created_at, last_used_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, NULL)",
        )
        .bind(d.id)
        .bind(d.tenant_id)
        .bind(d.user_id)
        .bind(&d.name)
        .bind(&d.platform)
        .bind(d.alg.as_str())
        .bind(Json(&d.public_jwk))
        .bind(&d.public_key)
        .bind(d.created_at)
        .execute(self.writer())
        .await
        .map_err(conflict)?;
        Ok(())
    }

    async fn find_device(&self, tenant_id: Uuid, id: Uuid) -> Result<Option<Device>> {
        let row = Self::sql("SELECT * FROM idp_devices WHERE id = $1 AND tenant_id = $2")
            .bind(id)
            .bind(tenant_id)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(device).transpose()
    }

    async fn list_devices(&self, tenant_id: Uuid, user_id: Option<Uuid>) -> Result<Vec<Device>> {
        let rows = Self::sql(
            "SELECT * FROM idp_devices WHERE tenant_id = $1 AND ($2 IS NULL OR user_id = $2) \
             AND revoked_at IS NULL ORDER BY created_at, id",
        )
        .bind(tenant_id)
        .bind(user_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(device).collect()
    }

    async fn revoke_device(
        &self,
        tenant_id: Uuid,
        id: Uuid,
        owner: Option<Uuid>,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = Self::sql(
            "UPDATE idp_devices SET revoked_at = $1 WHERE id = $2 AND tenant_id = $3 \
             AND ($4 IS NULL OR user_id = $4) AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .bind(tenant_id)
        .bind(owner)
        .execute(&mut tx)
        .await?;
        Self::sql(
            "UPDATE idp_token_families SET revoked_at = $1 WHERE device_id = $2 AND tenant_id = $3 \
             AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .bind(tenant_id)
        .execute(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    async fn touch_device(&self, id: Uuid, now: OffsetDateTime) -> Result<()> {
        Self::sql("UPDATE idp_devices SET last_used_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    async fn insert_device_authorization(&self, a: &DeviceAuthorization) -> Result<()> {
        Self::sql(
            "INSERT INTO idp_device_authorizations (device_code_digest, tenant_id, user_code_digest, \
             client_id, scope, state, user_id, session_id, auth_time, interval_seconds, next_poll_at, \
             last_poll_slow, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, NULL, $7, $8, FALSE, $9, $10)",
        )
        .bind(&a.device_code_digest[..])
        .bind(a.tenant_id)
        .bind(&a.user_code_digest[..])
        .bind(&a.client_id)
        .bind(&a.scope)
        .bind(a.state.as_str())
        .bind(a.interval_seconds)
        .bind(a.next_poll_at)
        .bind(a.created_at)
        .bind(a.expires_at)
        .execute(self.writer())
        .await
        .map_err(conflict)?;
        Ok(())
    }

    async fn poll_device_authorization(
        &self,
        device_code_digest: &[u8; 32],
        now_ms: i64,
    ) -> Result<Option<DeviceAuthorization>> {
        // Every right-hand side reads the row as it was before this statement.
        let row = Self::sql(
            "UPDATE idp_device_authorizations SET \
               last_poll_slow = (next_poll_at > $2), \
               interval_seconds = interval_seconds + CASE WHEN next_poll_at > $2 THEN 5 ELSE 0 END, \
               next_poll_at = $2 + 1000 * (interval_seconds + CASE WHEN next_poll_at > $2 THEN 5 ELSE 0 END) \
             WHERE device_code_digest = $1 RETURNING *",
        )
        .bind(&device_code_digest[..])
        .bind(now_ms)
        .fetch_optional(self.writer())
        .await?;
        row.as_ref().map(authorization).transpose()
    }

    async fn consume_device_authorization(
        &self,
        device_code_digest: &[u8; 32],
    ) -> Result<Option<DeviceAuthorization>> {
        let row = Self::sql(
            "UPDATE idp_device_authorizations SET state = 'consumed' \
             WHERE device_code_digest = $1 AND state = 'approved' RETURNING *",
        )
        .bind(&device_code_digest[..])
        .fetch_optional(self.writer())
        .await?;
        row.as_ref().map(authorization).transpose()
    }

    async fn find_device_authorization(
        &self,
        tenant_id: Uuid,
        user_code_digest: &[u8; 32],
    ) -> Result<Option<DeviceAuthorization>> {
        let row = Self::sql(
            "SELECT * FROM idp_device_authorizations WHERE tenant_id = $1 AND user_code_digest = $2",
        )
        .bind(tenant_id)
        .bind(&user_code_digest[..])
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(authorization).transpose()
    }

    async fn decide_device_authorization(
        &self,
        tenant_id: Uuid,
        user_code_digest: &[u8; 32],
        approve: Option<(Uuid, Uuid, OffsetDateTime)>,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let state = if approve.is_some() {
            DeviceState::Approved
        } else {
            DeviceState::Denied
        };
        let done = Self::sql(
            "UPDATE idp_device_authorizations SET state = $1, user_id = $2, session_id = $3, auth_time = $4 \
             WHERE tenant_id = $5 AND user_code_digest = $6 AND state = 'pending' AND expires_at > $7",
        )
        .bind(state.as_str())
        .bind(approve.map(|a| a.0))
        .bind(approve.map(|a| a.1))
        .bind(approve.map(|a| a.2))
        .bind(tenant_id)
        .bind(&user_code_digest[..])
        .bind(now)
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn insert_family(&self, f: &TokenFamily, first: Option<&RefreshToken>) -> Result<()> {
        let mut tx = self.begin_write().await?;
        insert_family_tx::<B>(&mut tx, f, first).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn redeem_assertion(
        &self,
        jti: &UsedJti<'_>,
        f: &TokenFamily,
        first: Option<&RefreshToken>,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = Self::sql(
            "INSERT INTO idp_assertion_jtis (tenant_id, device_id, jti, expires_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(jti.tenant_id)
        .bind(jti.device_id)
        .bind(jti.jti)
        .bind(jti.expires_at)
        .execute(&mut tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        insert_family_tx::<B>(&mut tx, f, first).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn purge_devices(&self, now: OffsetDateTime) -> Result<u64> {
        let mut n = 0;
        for (sql, before) in [
            (
                "DELETE FROM idp_device_authorizations WHERE expires_at < $1",
                now - time::Duration::days(1),
            ),
            ("DELETE FROM idp_assertion_jtis WHERE expires_at < $1", now),
        ] {
            n += Self::sql(sql)
                .bind(before)
                .execute(self.writer())
                .await?
                .rows_affected();
        }
        Ok(n)
    }
}

/// A device family and its first refresh token, inside the caller's transaction.
async fn insert_family_tx<B: Backend>(
    tx: &mut B::Tx,
    f: &TokenFamily,
    first: Option<&RefreshToken>,
) -> Result<()> {
    B::sql(
        "INSERT INTO idp_token_families (id, tenant_id, client_id, user_id, session_id, created_at, \
         revoked_at, device_id) VALUES ($1, $2, $3, $4, $5, $6, NULL, $7)",
    )
    .bind(f.id)
    .bind(f.tenant_id)
    .bind(&f.client_id)
    .bind(f.user_id)
    .bind(f.session_id)
    .bind(f.created_at)
    .bind(f.device_id)
    .execute(&mut *tx)
    .await?;
    if let Some(rt) = first {
        super::grants::insert_refresh::<B>(rt)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

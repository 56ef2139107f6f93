//! Store trait of the devices aggregate: registered devices, device authorizations (RFC
//! 8628) and used assertion `jti`s (RFC 7523). Each method is one atomic unit.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::Result;
use crate::model::devices::{Device, DeviceAuthorization};
use crate::model::grants::{RefreshToken, TokenFamily};

/// An assertion `jti` of a device, kept until the assertion expires.
pub struct UsedJti<'a> {
    pub tenant_id: Uuid,
    pub device_id: Uuid,
    pub jti: &'a str,
    pub expires_at: OffsetDateTime,
}

#[async_trait]
pub trait DeviceStore: Send + Sync {
    async fn insert_device(&self, d: &Device) -> Result<()>;
    /// The device `id` of the tenant, revoked or not.
    async fn find_device(&self, tenant_id: Uuid, id: Uuid) -> Result<Option<Device>>;
    /// Devices not revoked, oldest first; only `user_id`'s when given.
    async fn list_devices(&self, tenant_id: Uuid, user_id: Option<Uuid>) -> Result<Vec<Device>>;
    /// Revokes the device (only if it belongs to `owner`, when given) and every token family
    /// bound to it, in one transaction; true if this call revoked it.
    async fn revoke_device(
        &self,
        tenant_id: Uuid,
        id: Uuid,
        owner: Option<Uuid>,
        now: OffsetDateTime,
    ) -> Result<bool>;
    async fn touch_device(&self, id: Uuid, now: OffsetDateTime) -> Result<()>;

    /// A taken user code (same tenant) is `Conflict`.
    async fn insert_device_authorization(&self, a: &DeviceAuthorization) -> Result<()>;
    /// Records a poll at `now` (Unix milliseconds) in one statement: a poll before
    /// `next_poll_at` sets `last_poll_slow` and adds 5 s to the interval (RFC 8628 §3.5).
    async fn poll_device_authorization(
        &self,
        device_code_digest: &[u8; 32],
        now_ms: i64,
    ) -> Result<Option<DeviceAuthorization>>;
    /// Moves an approved authorization to consumed; of concurrent callers exactly one gets it.
    async fn consume_device_authorization(
        &self,
        device_code_digest: &[u8; 32],
    ) -> Result<Option<DeviceAuthorization>>;
    async fn find_device_authorization(
        &self,
        tenant_id: Uuid,
        user_code_digest: &[u8; 32],
    ) -> Result<Option<DeviceAuthorization>>;
    /// Approves (with the user and session) or denies a pending, unexpired authorization;
    /// true if this call decided it.
    async fn decide_device_authorization(
        &self,
        tenant_id: Uuid,
        user_code_digest: &[u8; 32],
        approve: Option<(Uuid, Uuid, OffsetDateTime)>,
        now: OffsetDateTime,
    ) -> Result<bool>;

    /// Stores a token family that has no authorization code (device grants), with its first
    /// refresh token when there is one, in one transaction.
    async fn insert_family(&self, f: &TokenFamily, first: Option<&RefreshToken>) -> Result<()>;
    /// Records an assertion's `jti` (single use until its `exp`) and stores the family it
    /// starts, with its first refresh token, in one transaction; false, and nothing stored,
    /// if the `jti` was used before.
    async fn redeem_assertion(
        &self,
        jti: &UsedJti<'_>,
        f: &TokenFamily,
        first: Option<&RefreshToken>,
    ) -> Result<bool>;
    /// Deletes `jti`s that expired before `now`, and device authorizations a day after they
    /// expired (kept so a late poll still gets `expired_token`).
    async fn purge_devices(&self, now: OffsetDateTime) -> Result<u64>;
}

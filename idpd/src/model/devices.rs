//! Records of devices: what the store keeps and returns (docs/architecture.md).

use serde_json::Value;
use shared::admin::Alg;
use time::OffsetDateTime;
use uuid::Uuid;

/// A registered device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub platform: String,
    /// From the registered key, never from an assertion's header (RFC 8725 §3.1).
    pub alg: Alg,
    pub public_jwk: Value,
    /// Raw public key: Ed25519 `x`, or the uncompressed P-256 point `04 || x || y`.
    pub public_key: Vec<u8>,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}

/// One device authorization request (RFC 8628 §3.1–3.2) as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAuthorization {
    pub device_code_digest: [u8; 32],
    pub tenant_id: Uuid,
    pub user_code_digest: [u8; 32],
    pub client_id: String,
    pub scope: String,
    pub state: DeviceState,
    pub user_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    pub auth_time: Option<OffsetDateTime>,
    pub interval_seconds: i64,
    /// Unix milliseconds before which a poll is too early (`slow_down`).
    pub next_poll_at: i64,
    /// Whether the poll that returned this row came too early.
    pub last_poll_slow: bool,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// States of a device authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceState {
    Pending,
    Approved,
    Denied,
    /// Its tokens were issued.
    Consumed,
}

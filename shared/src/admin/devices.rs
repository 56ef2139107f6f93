//! Registered devices of a tenant's users: `/api/v1/tenants/{tenant}/devices`. The same
//! shape is returned to users by `{issuer}/devices`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// A registered device and its public key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Device {
    /// Device id: the `iss` of its assertions and the `did` claim of its tokens.
    pub id: Uuid,
    /// Slug of the tenant.
    pub tenant: String,
    /// Id of the user the device belongs to.
    pub user_id: Uuid,
    /// That user's email (admin API only; absent if the user is gone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_email: Option<String>,
    pub name: String,
    /// Free text, e.g. `linux`, `ios`.
    pub platform: String,
    /// Algorithm of its assertions: `EdDSA` (Ed25519) or `ES256` (P-256).
    pub alg: String,
    /// The public JWK as registered.
    #[schema(value_type = Object)]
    pub public_key: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// Last device login.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<OffsetDateTime>,
}

/// Devices that are not revoked, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeviceList {
    pub items: Vec<Device>,
}

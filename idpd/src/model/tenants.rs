//! Records of tenants: what the store keeps and returns (docs/architecture.md).

use shared::admin::{Alg, SessionSettings, SignupPolicy};
use time::OffsetDateTime;
use uuid::Uuid;

/// A tenant as the domain sees it. The issuer is derived from `public_url` at the edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: Uuid,
    pub slug: String,
    pub display_name: String,
    pub locales: Vec<String>,
    pub session: SessionSettings,
    pub signup_policy: SignupPolicy,
    /// Name of the default identity provider.
    pub default_provider: String,
    /// Algorithm of the access tokens this tenant issues.
    pub access_token_alg: Alg,
    /// Automatic key rotation interval; `None` is off.
    pub key_rotation_interval_seconds: Option<i64>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// Name of the built-in passwordless provider every tenant starts with.
pub const NATIVE_PROVIDER: &str = "native";

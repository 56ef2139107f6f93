//! Records of providers: what the store keeps and returns (docs/architecture.md).

use serde::{Deserialize, Serialize};
use shared::admin::ProviderKind;
use time::OffsetDateTime;
use uuid::Uuid;

/// What an external provider is configured with (the `config` JSON column).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProviderConfig {
    pub issuer: String,
    pub client_id: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub userinfo_endpoint: Option<String>,
    /// The endpoints came from discovery.
    pub discovery: bool,
    pub scopes: Vec<String>,
    pub email_domains: Vec<String>,
    pub link_by_email: bool,
}

/// A provider as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderRecord {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    pub kind: ProviderKind,
    pub is_default: bool,
    pub config: ProviderConfig,
    /// The upstream client secret, sealed with the master key and bound to the provider id.
    pub client_secret_sealed: Option<Vec<u8>>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

//! Identity providers of a tenant: `/api/v1/tenants/{tenant}/providers`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::tenants::ProviderKind;

/// An identity provider as the admin API returns it. The upstream client secret is never
/// returned; `has_client_secret` says whether one is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Provider {
    pub id: Uuid,
    /// Slug of the tenant the provider belongs to.
    pub tenant: String,
    /// Name, unique in the tenant; part of the callback URL.
    pub name: String,
    pub kind: ProviderKind,
    /// Whether the tenant's logins go to this provider.
    pub is_default: bool,
    /// The upstream issuer (external providers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// idpd's client id at the upstream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default)]
    pub has_client_secret: bool,
    /// The redirect URI to register at the upstream: `{issuer}/callback/{name}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<String>,
    /// Whether the endpoints came from the upstream's discovery document.
    #[serde(default)]
    pub discovery: bool,
    /// Scopes requested upstream (`openid` is always among them).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Addresses in these domains, typed on the native login page, go to this provider.
    #[serde(default)]
    pub email_domains: Vec<String>,
    /// Link a first upstream login to an existing local user with the same verified address,
    /// when the upstream asserts `email_verified`.
    #[serde(default)]
    pub link_by_email: bool,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

/// The providers of a tenant, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProviderList {
    pub items: Vec<Provider>,
}

/// `POST /api/v1/tenants/{tenant}/providers`: an external OpenID Connect provider. Without
/// explicit endpoints they come from the issuer's discovery document, whose `issuer` must
/// equal `issuer`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProvider {
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<String>,
    /// Default: `openid email profile`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub email_domains: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub link_by_email: bool,
    /// Make it the tenant's default provider at once.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub default: bool,
}

/// `PATCH /api/v1/tenants/{tenant}/providers/{name}`: only the fields present change. A
/// new issuer or `rediscover` runs discovery again (unless endpoints are given).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProvider {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_domains: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_by_email: Option<bool>,
    /// Fetch the discovery document again and take its endpoints.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rediscover: bool,
}

impl UpdateProvider {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// One check of `POST .../providers/{name}/test`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProviderCheck {
    /// `discovery`, `issuer`, `jwks`.
    pub check: String,
    pub ok: bool,
    pub detail: String,
}

/// The result of `POST .../providers/{name}/test`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProviderTest {
    pub provider: String,
    pub ok: bool,
    pub checks: Vec<ProviderCheck>,
}

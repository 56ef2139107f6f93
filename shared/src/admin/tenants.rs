//! Tenants: `/api/v1/tenants`.

use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// Who may sign in to a tenant's native login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SignupPolicy {
    /// A user is created at first login.
    Open,
    /// Only users created by an operator may sign in.
    Invite,
}

impl SignupPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            SignupPolicy::Open => "open",
            SignupPolicy::Invite => "invite",
        }
    }
}

/// The `SameSite` attribute of the session cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SameSite {
    Strict,
    Lax,
    None,
}

impl SameSite {
    pub fn as_str(self) -> &'static str {
        match self {
            SameSite::Strict => "strict",
            SameSite::Lax => "lax",
            SameSite::None => "none",
        }
    }
}

/// Kind of an identity provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// Built-in passwordless login (email one-time code).
    Native,
    /// The tenant's own OpenID Connect provider; idpd is the relying party.
    ExternalOidc,
}

/// Session-cookie settings of a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SessionSettings {
    /// Cookie name; by default `__Host-idp-<tenant id>`, so tenants never share a cookie.
    pub cookie_name: String,
    /// Cookie `Domain` attribute; absent means a host-only cookie (the default).
    pub cookie_domain: Option<String>,
    /// Absolute session lifetime in seconds.
    pub ttl_seconds: i64,
    /// A session unused for this many seconds ends.
    pub idle_ttl_seconds: i64,
    pub same_site: SameSite,
}

/// A tenant as the admin API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tenant {
    pub id: Uuid,
    pub slug: String,
    pub display_name: String,
    /// Ordered BCP 47 language tags; the first is the default.
    pub locales: Vec<String>,
    pub session: SessionSettings,
    pub signup_policy: SignupPolicy,
    /// Name of the default identity provider (`native` unless switched).
    pub default_provider: String,
    /// `{public_url}/t/{slug}`.
    pub issuer: String,
    /// Algorithm of the access tokens the tenant issues (default ES256).
    pub access_token_alg: super::clients::Alg,
    /// Automatic key rotation: a new key of each algorithm this often; absent means off.
    #[serde(default)]
    pub key_rotation_interval_seconds: Option<i64>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

/// One page of tenants, ordered by slug.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TenantList {
    pub items: Vec<Tenant>,
    /// Pass as `after` to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_after: Option<String>,
}

/// Session settings in a create or update request; absent fields keep their value
/// (or the default on create).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionSettingsPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie_name: Option<String>,
    /// `null` removes the domain (host-only cookie).
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub cookie_domain: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_ttl_seconds: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub same_site: Option<SameSite>,
}

impl SessionSettingsPatch {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// `POST /api/v1/tenants`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    /// Display name; the slug is derived from it unless `slug` is given.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locales: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionSettingsPatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signup_policy: Option<SignupPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_alg: Option<super::clients::Alg>,
    /// Seconds between automatic key rotations; `null` turns automatic rotation off.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<i64>)]
    pub key_rotation_interval_seconds: Option<Option<i64>>,
}

/// `PATCH /api/v1/tenants/{tenant}`: only the fields present change.
/// The slug is immutable: it is part of the issuer URL that every client has pinned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTenant {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locales: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionSettingsPatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signup_policy: Option<SignupPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_alg: Option<super::clients::Alg>,
    /// Seconds between automatic key rotations; `null` turns automatic rotation off.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<i64>)]
    pub key_rotation_interval_seconds: Option<Option<i64>>,
}

impl UpdateTenant {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
pub(crate) fn double_option<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_domain_null_differs_from_absent() {
        let p: SessionSettingsPatch = serde_json::from_str(r#"{"cookie_domain":null}"#).unwrap();
        assert_eq!(p.cookie_domain, Some(None));
        let p: SessionSettingsPatch = serde_json::from_str("{}").unwrap();
        assert_eq!(p.cookie_domain, None);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let e = serde_json::from_str::<CreateTenant>(r#"{"name":"a","colour":"red"}"#);
        assert!(e.unwrap_err().to_string().contains("colour"));
    }
}

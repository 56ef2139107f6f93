//! OAuth clients of a tenant: `/api/v1/tenants/{tenant}/clients`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// Grant types a client may use (RFC 6749 §4, RFC 8628, RFC 7523).
pub const GRANT_TYPES: &[&str] = &[
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
];

/// Signing algorithms idpd supports for tokens it issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Alg {
    RS256,
    ES256,
    EdDSA,
}

impl Alg {
    pub const ALL: [Alg; 3] = [Alg::RS256, Alg::ES256, Alg::EdDSA];

    pub fn as_str(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::ES256 => "ES256",
            Alg::EdDSA => "EdDSA",
        }
    }

    pub fn parse(s: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// A registered client as the admin API returns it. Secrets are never returned, except once
/// in [`CreatedClient`] and [`RotatedSecret`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Client {
    pub id: Uuid,
    pub client_id: String,
    pub tenant: String,
    pub name: String,
    /// Public clients (mobile, SPA) have no secret and must use PKCE.
    pub public: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    /// Scopes the client may request.
    pub scopes: Vec<String>,
    /// Access-token lifetime in seconds.
    pub access_token_ttl_seconds: i64,
    /// Algorithm of the ID tokens this client receives (RS256 unless set).
    pub id_token_alg: Alg,
    pub disabled: bool,
    /// Until when the previous secret is still accepted after a rotation.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub previous_secret_expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClientList {
    pub items: Vec<Client>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_after: Option<String>,
}

/// `POST /api/v1/tenants/{tenant}/clients`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClient {
    pub name: String,
    /// Chosen client_id (unique in the tenant); generated when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default)]
    pub public: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redirect_uris: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_logout_redirect_uris: Vec<String>,
    /// Default: `authorization_code` + `refresh_token`, or `client_credentials` when no
    /// redirect URI is given for a confidential client.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grant_types: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_ttl_seconds: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_alg: Option<Alg>,
}

/// `PATCH /api/v1/tenants/{tenant}/clients/{client_id}`: present fields replace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateClient {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uris: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_logout_redirect_uris: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_ttl_seconds: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_alg: Option<Alg>,
}

impl UpdateClient {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// The answer to a create: the client and, for confidential clients, its secret, shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CreatedClient {
    pub client: Client,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// `POST /api/v1/tenants/{tenant}/clients/{client_id}/rotate-secret`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateSecret {
    /// How long the old secret keeps working, in seconds (0 to 30 days; default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_seconds: Option<i64>,
}

/// The new secret, shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RotatedSecret {
    pub client_id: String,
    pub client_secret: String,
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub previous_secret_expires_at: Option<OffsetDateTime>,
}

/// Registration rules for redirect URIs (RFC 9700 §2.1, RFC 8252 §7): absolute, no
/// fragment, no wildcard; `http` only for loopback; private-use schemes must be
/// reverse-domain names. The URI is stored exactly as given and later compared as a
/// string, so anything a parser would rewrite is refused here.
pub fn redirect_uri_problem(uri: &str) -> Option<&'static str> {
    if uri.len() > 2000 {
        return Some("is longer than 2000 characters");
    }
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("contains whitespace or control characters");
    }
    if uri.contains('#') {
        return Some("must not contain a fragment (RFC 6749 §3.1.2)");
    }
    if uri.contains('*') {
        return Some("must not contain wildcards: redirect URIs are matched exactly");
    }
    let Ok(url) = url::Url::parse(uri) else {
        return Some("is not an absolute URI");
    };
    match url.scheme() {
        "https" => {
            if url.host().is_none() {
                return Some("has no host");
            }
        }
        "http" => match url.host() {
            Some(url::Host::Ipv4(ip)) if ip.is_loopback() => {}
            Some(url::Host::Ipv6(ip)) if ip.is_loopback() => {}
            Some(url::Host::Domain("localhost")) => {}
            _ => {
                return Some(
                    "uses http, which is allowed only for loopback (127.0.0.1, [::1], localhost)",
                );
            }
        },
        "javascript" | "data" | "file" | "vbscript" | "about" | "blob" | "ftp" | "ws" | "wss" => {
            return Some("uses a scheme that cannot be a redirect target");
        }
        scheme => {
            // RFC 8252 §7.1: private-use schemes are reverse domain names, e.g. com.example.app.
            if !scheme.contains('.') {
                return Some(
                    "uses a private-use scheme that is not a reverse domain name (e.g. com.example.app:/cb)",
                );
            }
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Some("must not contain credentials");
    }
    None
}

//! Browser sessions of a tenant: `/api/v1/tenants/{tenant}/sessions`, `/api/v1/sessions/{id}`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// A live login session as the admin API returns it. The cookie value is never shown: the
/// server keeps only its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Session {
    /// Session id; the `sid` claim of the ID tokens issued under it.
    pub id: Uuid,
    /// Slug of the tenant the session belongs to.
    pub tenant: String,
    /// Id of the signed-in user.
    pub user_id: Uuid,
    /// The user's email; absent if the user no longer exists.
    #[serde(default)]
    pub user_email: Option<String>,
    /// How the user signed in, e.g. `email` for the passwordless login.
    pub provider: String,
    /// Authentication methods (the `amr` claim), e.g. `["otp"]`.
    pub amr: Vec<String>,
    /// When the user authenticated (the `auth_time` claim).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub auth_time: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// Last use of the session; it ends after the tenant's idle TTL without use.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_seen_at: OffsetDateTime,
    /// End of the session's absolute lifetime.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: OffsetDateTime,
}

/// Live sessions, ordered by creation time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SessionList {
    pub items: Vec<Session>,
}

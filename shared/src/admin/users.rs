//! Users of a tenant: `/api/v1/tenants/{tenant}/users`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::tenants::double_option;

/// A user as the admin API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct User {
    /// Stable id; the `sub` of the user's tokens.
    pub id: Uuid,
    /// Slug of the tenant the user belongs to.
    pub tenant: String,
    /// The sign-in address, lower-cased; unique in the tenant.
    pub email: String,
    /// Whether the address is known to reach this user (the `email_verified` claim).
    pub email_verified: bool,
    /// Full name, for the `name` claim.
    #[serde(default)]
    pub name: Option<String>,
    /// Preferred language (BCP 47), for the login pages, mail and the `locale` claim.
    #[serde(default)]
    pub locale: Option<String>,
    /// A disabled user cannot sign in, and their tokens stop working.
    pub disabled: bool,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

/// One page of users, ordered by email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UserList {
    pub items: Vec<User>,
    /// Pass as `after` to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_after: Option<String>,
}

/// `POST /api/v1/tenants/{tenant}/users`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Sign-in address; stored lower-cased.
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// BCP 47 language tag, e.g. `nb` or `en-US`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Default `true`: an address an operator provisions is taken as verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
}

/// `PATCH /api/v1/tenants/{tenant}/users/{user}`: only the fields present change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `null` removes the name.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub name: Option<Option<String>>,
    /// `null` removes the locale.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub locale: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
}

impl UpdateUser {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_clears_and_absent_keeps() {
        let u: UpdateUser = serde_json::from_str(r#"{"name":null,"locale":"nb"}"#).unwrap();
        assert_eq!(u.name, Some(None));
        assert_eq!(u.locale, Some(Some("nb".into())));
        assert_eq!(u.email, None);
        let u: UpdateUser = serde_json::from_str("{}").unwrap();
        assert!(u.is_empty());
        let cleared = UpdateUser {
            name: Some(None),
            ..Default::default()
        };
        assert_eq!(serde_json::to_string(&cleared).unwrap(), r#"{"name":null}"#);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let e = serde_json::from_str::<CreateUser>(r#"{"email":"a@b.c","password":"x"}"#);
        assert!(e.unwrap_err().to_string().contains("password"));
        let e = serde_json::from_str::<UpdateUser>(r#"{"admin":true}"#);
        assert!(e.is_err());
    }
}

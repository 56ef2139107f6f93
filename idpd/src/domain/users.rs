//! Users of a tenant: email, name and locale rules, and the admin operations on users.
//!
//! The email is the sign-in name of the native (passwordless) login, so it is stored
//! trimmed and lower-cased: `Alice@Example.COM` and `alice@example.com` are one user.

use shared::admin::{CreateUser, UpdateUser};
use uuid::Uuid;

use super::error::{Error, FieldError, Result};
use super::locales::canonical_tag;
use super::tenants::{MAX_PAGE, Tenant};
use crate::clock::now;
pub use crate::model::users::UserRecord;
use crate::store::{Store, StoreError};

/// RFC 5321 §4.5.3.1.3 limits a path to 256 octets, which leaves 254 for the address.
pub const MAX_EMAIL_CHARS: usize = 254;
pub const MAX_NAME_CHARS: usize = 200;

/// Checks an email address and returns it trimmed and lower-cased, or what is wrong with it.
///
/// Only a bare RFC 5322 addr-spec with a dot-atom local part is accepted (checked by the
/// `email_address` crate, which lettre also uses): no display name (`"victim"
/// <attacker@evil.test>` would mail the attacker and become the victim's verified claim),
/// no quoted local part, no comments, no IP-literal domain, a domain of at least two labels,
/// at most 254 characters. The local part is lower-cased too (RFC 5321 lets a server treat
/// it case-sensitively, but no real mailbox does, and a login name that depends on case
/// invites duplicate accounts).
pub fn normalize_email(raw: &str) -> Result<String, String> {
    let email = raw.trim().to_lowercase();
    if email.is_empty() {
        return Err("must not be empty".into());
    }
    if email.chars().count() > MAX_EMAIL_CHARS {
        return Err(format!("must be at most {MAX_EMAIL_CHARS} characters"));
    }
    let problem = if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Some("contains whitespace or control characters")
    } else {
        match email.split_once('@') {
            None => Some("has no @"),
            Some((_, domain)) if domain.contains('@') => Some("has more than one @"),
            Some(("", _)) => Some("has nothing before the @"),
            Some((_, domain))
                if !domain.contains('.')
                    || domain.starts_with('.')
                    || domain.ends_with('.')
                    || domain.contains("..") =>
            {
                Some("needs a domain with a dot after the @, like example.com")
            }
            Some((local, _)) if local.contains('"') || !addr_spec(&email) => {
                Some("is not a plain address like name@example.com")
            }
            Some(_) => None,
        }
    };
    match problem {
        Some(p) => Err(format!("{:?} is not an email address: it {p}", raw.trim())),
        None => Ok(email),
    }
}

/// A bare addr-spec: dot-atom local part, a domain name of two labels or more.
fn addr_spec(email: &str) -> bool {
    let options = email_address::Options {
        minimum_sub_domains: 2,
        allow_domain_literal: false,
        allow_display_text: false,
        allow_long_local_parts: false,
    };
    email_address::EmailAddress::parse_with_options(email, options)
        .is_ok_and(|parsed| parsed.as_str() == email)
}

/// The emails of users `ids` of `tenant` (`None` for a user that is gone), each read once:
/// for lists that people read by address rather than by id.
pub async fn emails_of(
    store: &dyn crate::store::Store,
    tenant: &super::tenants::Tenant,
    ids: Vec<Uuid>,
) -> std::result::Result<std::collections::HashMap<Uuid, Option<String>>, crate::store::StoreError>
{
    let mut emails = std::collections::HashMap::new();
    for id in ids {
        if let std::collections::hash_map::Entry::Vacant(slot) = emails.entry(id) {
            slot.insert(store.find_user(tenant.id, id).await?.map(|u| u.email));
        }
    }
    Ok(emails)
}

fn check_email(raw: &str, errors: &mut Vec<FieldError>) -> String {
    normalize_email(raw).unwrap_or_else(|e| {
        errors.push(FieldError::new("email", e));
        String::new()
    })
}

fn check_name(name: &str, errors: &mut Vec<FieldError>) -> String {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > MAX_NAME_CHARS || n.chars().any(char::is_control) {
        errors.push(FieldError::new(
            "name",
            format!(
                "must be 1 to {MAX_NAME_CHARS} characters without control characters \
                 (null removes the name)"
            ),
        ));
    }
    n.to_owned()
}

fn check_locale(tag: &str, errors: &mut Vec<FieldError>) -> String {
    canonical_tag(tag).unwrap_or_else(|e| {
        errors.push(FieldError::new("locale", e));
        String::new()
    })
}

fn not_found(tenant: &Tenant, key: &str) -> Error {
    Error::NotFound(format!("user {key:?} of tenant {}", tenant.slug))
}

fn email_taken(tenant: &Tenant, email: &str) -> Error {
    Error::Conflict(format!(
        "tenant {} already has a user with email {email:?}",
        tenant.slug
    ))
}

pub async fn create(store: &dyn Store, tenant: &Tenant, req: CreateUser) -> Result<UserRecord> {
    let mut errors = Vec::new();
    let email = check_email(&req.email, &mut errors);
    let name = req.name.as_deref().map(|n| check_name(n, &mut errors));
    let locale = req.locale.as_deref().map(|l| check_locale(l, &mut errors));
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    let at = now();
    let user = UserRecord {
        id: Uuid::now_v7(),
        tenant_id: tenant.id,
        email,
        // An operator who types in an address is taken to know it is the user's.
        email_verified: req.email_verified.unwrap_or(true),
        name,
        locale,
        disabled: false,
        created_at: at,
        updated_at: at,
    };
    store.insert_user(&user).await.map_err(|e| match e {
        StoreError::Conflict { .. } => email_taken(tenant, &user.email),
        e => e.into(),
    })?;
    Ok(user)
}

/// Finds a user by id (a UUID) or email (any case). No email parses as a UUID: it has an @.
/// The user `id` of the tenant, if it exists (enabled or not: the caller decides).
pub async fn find_by_id(
    store: &dyn Store,
    tenant_id: Uuid,
    id: Uuid,
) -> std::result::Result<Option<UserRecord>, StoreError> {
    store.find_user(tenant_id, id).await
}

pub async fn get(store: &dyn Store, tenant: &Tenant, key: &str) -> Result<UserRecord> {
    let found = match Uuid::parse_str(key) {
        Ok(id) => store.find_user(tenant.id, id).await?,
        Err(_) => find_by_email(store, tenant, key).await?,
    };
    found.ok_or_else(|| not_found(tenant, key))
}

/// The user with this address, in any case and with surrounding blanks; `None` when there
/// is none (the address is not validated: an invalid one simply matches nobody).
pub async fn find_by_email(
    store: &dyn Store,
    tenant: &Tenant,
    email: &str,
) -> Result<Option<UserRecord>> {
    let email = email.trim().to_lowercase();
    Ok(store.find_user_by_email(tenant.id, &email).await?)
}

/// Users ordered by email, those after `after` (compared lower-cased, as stored).
pub async fn list(
    store: &dyn Store,
    tenant: &Tenant,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<UserRecord>> {
    if limit == 0 || limit > MAX_PAGE {
        return Err(Error::invalid(
            "limit",
            format!("must be between 1 and {MAX_PAGE}"),
        ));
    }
    let after = after.map(|a| a.trim().to_lowercase());
    Ok(store.list_users(tenant.id, after.as_deref(), limit).await?)
}

/// Applies the fields present in `req`. A new email keeps `email_verified` as it was unless
/// the request sets it too.
pub async fn update(
    store: &dyn Store,
    tenant: &Tenant,
    key: &str,
    req: UpdateUser,
) -> Result<UserRecord> {
    if req.is_empty() {
        return Err(Error::invalid("body", "nothing to update"));
    }
    let mut u = get(store, tenant, key).await?;
    let mut errors = Vec::new();
    if let Some(e) = &req.email {
        u.email = check_email(e, &mut errors);
    }
    if let Some(n) = &req.name {
        u.name = n.as_deref().map(|n| check_name(n, &mut errors));
    }
    if let Some(l) = &req.locale {
        u.locale = l.as_deref().map(|l| check_locale(l, &mut errors));
    }
    if let Some(v) = req.email_verified {
        u.email_verified = v;
    }
    if let Some(d) = req.disabled {
        u.disabled = d;
    }
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    u.updated_at = now();
    save(store, tenant, key, &u).await?;
    Ok(u)
}

/// Disables the user (idempotent): they can no longer sign in, and the policy check on
/// every grant refuses their tokens from then on.
pub async fn disable(store: &dyn Store, tenant: &Tenant, key: &str) -> Result<UserRecord> {
    let mut u = get(store, tenant, key).await?;
    if !u.disabled {
        u.disabled = true;
        u.updated_at = now();
        save(store, tenant, key, &u).await?;
    }
    Ok(u)
}

pub async fn delete(store: &dyn Store, tenant: &Tenant, key: &str) -> Result<UserRecord> {
    let u = get(store, tenant, key).await?;
    store
        .delete_user(tenant.id, u.id)
        .await
        .map_err(|e| match e {
            // Deleted by someone else in between.
            StoreError::NotFound => not_found(tenant, key),
            e => e.into(),
        })?;
    Ok(u)
}

async fn save(store: &dyn Store, tenant: &Tenant, key: &str, u: &UserRecord) -> Result<()> {
    store.update_user(u).await.map_err(|e| match e {
        StoreError::Conflict { .. } => email_taken(tenant, &u.email),
        StoreError::NotFound => not_found(tenant, key),
        e => e.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            normalize_email("  Alice@Example.COM \n").as_deref(),
            Ok("alice@example.com")
        );
        assert_eq!(
            normalize_email("o'brien+tag@mail.example.co.uk").as_deref(),
            Ok("o'brien+tag@mail.example.co.uk")
        );
        assert_eq!(
            normalize_email("ÅSE@Eksempel.NO").as_deref(),
            Ok("åse@eksempel.no")
        );
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in [
            "",
            "   ",
            "alice",
            "alice.example.com",
            "@example.com",
            "alice@",
            "alice@localhost",
            "alice@@example.com",
            "alice@bob@example.com",
            "alice@.example.com",
            "alice@example.com.",
            "alice@example..com",
            "al ice@example.com",
            "alice@exa mple.com",
            "alice\t@example.com",
            "alice\u{0}@example.com",
            "alice@example.com\u{7f}",
            "alice\u{a0}x@example.com",
            // Issue 16: not an addr-spec, though the old shape check let them through.
            "\"victim\"<attacker@evil.test>",
            "victim<attacker@evil.test>",
            "\"v\"@example.com",
            "alice(comment)@example.com",
            "alice@[192.0.2.1]",
            "a,b@example.com",
            "<alice@example.com>",
            ".alice@example.com",
            "alice.@example.com",
            "al..ice@example.com",
            "alice@-example.com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn email_length_limit() {
        // A local part of 64 octets (RFC 5321 §4.5.3.1.1) and a domain of 189.
        let domain = format!(
            "@{}.{}.{}.com",
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(57)
        );
        let fits = format!("{}{domain}", "a".repeat(64));
        assert_eq!(fits.len(), MAX_EMAIL_CHARS);
        assert_eq!(normalize_email(&fits).as_deref(), Ok(fits.as_str()));
        let long = format!("a{fits}");
        let err = normalize_email(&long).unwrap_err();
        assert!(err.contains("254"), "{err}");
        assert!(!err.contains(&long), "a long value is not echoed: {err}");
    }

    #[test]
    fn error_messages_quote_the_address() {
        let err = normalize_email(" bob ").unwrap_err();
        assert_eq!(err, "\"bob\" is not an email address: it has no @");
    }

    #[test]
    fn names_and_locales() {
        let mut e = Vec::new();
        assert_eq!(check_name("  Ada Lovelace ", &mut e), "Ada Lovelace");
        assert_eq!(check_locale("EN-gb", &mut e), "en-GB");
        assert!(e.is_empty(), "{e:?}");
        check_name("", &mut e);
        check_name(&"n".repeat(MAX_NAME_CHARS + 1), &mut e);
        check_name("a\nb", &mut e);
        check_locale("english", &mut e);
        check_locale("x-private", &mut e);
        let fields: Vec<&str> = e.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["name", "name", "name", "locale", "locale"]);
        assert!(check_name(&"n".repeat(MAX_NAME_CHARS), &mut Vec::new()).len() == MAX_NAME_CHARS);
    }
}

//! Tenants: validation, slug assignment and the create/update/delete rules.

use std::sync::Arc;

use shared::admin::{
    Alg, CreateTenant, SameSite, SessionSettings, SessionSettingsPatch, SignupPolicy, UpdateTenant,
};
use uuid::Uuid;

use super::error::{Error, FieldError, Result};
use super::keys::{self, MIN_ROTATION_INTERVAL_SECONDS};
use super::locales::canonical_tag;
use super::slug;
use crate::crypto::MasterKey;
pub use crate::model::tenants::{NATIVE_PROVIDER, Tenant};
use crate::store::{Store, StoreError};

pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_LOCALES: usize = 32;
pub const MIN_TTL_SECONDS: i64 = 60;
/// 90 days: long-lived browser sessions are a liability, and browsers cap cookies at 400 days.
pub const MAX_TTL_SECONDS: i64 = 90 * 24 * 3600;
pub const DEFAULT_TTL_SECONDS: i64 = 24 * 3600;
pub const DEFAULT_IDLE_TTL_SECONDS: i64 = 8 * 3600;
pub const MAX_PAGE: u32 = 500;

/// What tenant validation needs to know about the deployment.
#[derive(Debug, Clone)]
pub struct TenantRules {
    /// Host of `public_url`, lower-case; `None` when it is an IP literal.
    pub public_host: Option<String>,
    /// Whether `public_url` is https (cookies can then be `Secure`).
    pub https: bool,
}

/// `__Host-` cookies are host-only, `Secure` and `Path=/` (RFC 6265bis §4.1.3.2); the tenant
/// id in the name keeps tenants on one host from ever sharing a session.
pub fn default_cookie_name(id: Uuid, domain: Option<&str>) -> String {
    match domain {
        None => format!("__Host-idp-{}", id.simple()),
        Some(_) => format!("__Secure-idp-{}", id.simple()),
    }
}

pub async fn create(
    store: &dyn Store,
    rules: &TenantRules,
    master: &Arc<MasterKey>,
    req: CreateTenant,
) -> Result<Tenant> {
    let mut errors = Vec::new();
    let interval = req.key_rotation_interval_seconds.flatten();
    check_interval(interval, &mut errors);
    let display_name = check_name(&req.name, "name", &mut errors);
    let locales = match req.locales {
        Some(l) => check_locales(&l, &mut errors),
        None => vec!["en".to_owned()],
    };
    if let Some(s) = &req.slug
        && let Some(p) = slug::problem(s)
    {
        errors.push(FieldError::new("slug", format!("{s:?} {p}")));
    }
    let id = Uuid::now_v7();
    let base = SessionSettings {
        cookie_name: default_cookie_name(id, None),
        cookie_domain: None,
        ttl_seconds: DEFAULT_TTL_SECONDS,
        idle_ttl_seconds: DEFAULT_IDLE_TTL_SECONDS,
        same_site: SameSite::Lax,
    };
    let session = apply_session_patch(id, &base, req.session.as_ref(), rules, &mut errors);
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    let now = crate::clock::now();
    let mut tenant = Tenant {
        id,
        slug: String::new(),
        display_name,
        locales,
        session,
        signup_policy: req.signup_policy.unwrap_or(SignupPolicy::Open),
        default_provider: NATIVE_PROVIDER.to_owned(),
        access_token_alg: req.access_token_alg.unwrap_or(Alg::ES256),
        key_rotation_interval_seconds: interval,
        created_at: now,
        updated_at: now,
    };
    let m = master.clone();
    let initial_keys = keys::generate_off_thread(move || keys::initial_keys(&m, id)).await?;

    if let Some(s) = req.slug {
        tenant.slug = s;
        return store
            .insert_tenant(&tenant, &initial_keys)
            .await
            .map_err(|e| {
                if let Some(taken) = cookie_name_taken(&e, &tenant.session.cookie_name) {
                    return taken;
                }
                match e {
                    StoreError::Conflict { .. } => Error::Conflict(format!(
                        "a tenant with slug {:?} already exists",
                        tenant.slug
                    )),
                    e => e.into(),
                }
            });
    }

    // Generated slug: pick the first free suffix, and retry when a concurrent creation took
    // it first. The unique index decides; this loop only makes the common case one insert.
    let base = slug::from_name(&tenant.display_name);
    for _ in 0..50 {
        let taken = store.slugs_with_prefix(&base).await?;
        let n = slug::first_free(&base, &taken);
        tenant.slug = slug::candidate(&base, n).unwrap_or_else(|| format!("{base}-{n}"));
        match store.insert_tenant(&tenant, &initial_keys).await {
            Err(e) => {
                if let Some(taken) = cookie_name_taken(&e, &tenant.session.cookie_name) {
                    return Err(taken);
                }
                if matches!(e, StoreError::Conflict { .. }) {
                    continue;
                }
                return Err(e.into());
            }
            Ok(t) => return Ok(t),
        }
    }
    Err(Error::Conflict(format!(
        "could not find a free slug for {:?}; give one with slug",
        tenant.display_name
    )))
}

/// Finds a tenant by id (a UUID) or slug.
/// What `GET /api/v1/status` reports of the store: its backend and, if it answers within
/// `wait`, the number of tenants (`None`: not ready).
pub async fn status(store: &dyn Store, wait: std::time::Duration) -> (&'static str, Option<u64>) {
    let count = tokio::time::timeout(wait, store.count_tenants()).await;
    (store.backend(), count.ok().and_then(|c| c.ok()))
}

pub async fn get(store: &dyn Store, key: &str) -> Result<Tenant> {
    let found = match Uuid::parse_str(key) {
        Ok(id) => store.find_tenant_by_id(id).await?,
        Err(_) => store.find_tenant_by_slug(key).await?,
    };
    found.ok_or_else(|| Error::NotFound(format!("tenant {key:?}")))
}

pub async fn list(
    store: &dyn Store,
    after: Option<&str>,
    limit: Option<u32>,
) -> Result<Vec<Tenant>> {
    let limit = limit.unwrap_or(50);
    if limit == 0 || limit > MAX_PAGE {
        return Err(Error::invalid(
            "limit",
            format!("must be between 1 and {MAX_PAGE}"),
        ));
    }
    Ok(store.list_tenants(after, limit).await?)
}

pub async fn update(
    store: &dyn Store,
    rules: &TenantRules,
    master: &Arc<MasterKey>,
    key: &str,
    req: UpdateTenant,
) -> Result<Tenant> {
    if req.is_empty() {
        return Err(Error::invalid("body", "nothing to update"));
    }
    let mut tenant = get(store, key).await?;
    let mut errors = Vec::new();
    if let Some(name) = &req.display_name {
        tenant.display_name = check_name(name, "display_name", &mut errors);
    }
    if let Some(l) = &req.locales {
        tenant.locales = check_locales(l, &mut errors);
    }
    if let Some(p) = req.signup_policy {
        tenant.signup_policy = p;
    }
    if let Some(i) = req.key_rotation_interval_seconds {
        check_interval(i, &mut errors);
        tenant.key_rotation_interval_seconds = i;
    }
    tenant.session = apply_session_patch(
        tenant.id,
        &tenant.session,
        req.session.as_ref(),
        rules,
        &mut errors,
    );
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    if let Some(alg) = req.access_token_alg {
        tenant.access_token_alg = alg;
        keys::ensure_active(store, master, tenant.id, alg).await?;
    }
    tenant.updated_at = crate::clock::now();
    store
        .update_tenant(&tenant)
        .await
        .map_err(|e| cookie_name_taken(&e, &tenant.session.cookie_name).unwrap_or_else(|| e.into()))
}

fn check_interval(interval: Option<i64>, errors: &mut Vec<FieldError>) {
    if let Some(i) = interval
        && !(MIN_ROTATION_INTERVAL_SECONDS..=366 * 86_400).contains(&i)
    {
        errors.push(FieldError::new(
            "key_rotation_interval_seconds",
            format!(
                "must be between {MIN_ROTATION_INTERVAL_SECONDS} and 31622400 seconds, or null"
            ),
        ));
    }
}

pub async fn delete(store: &dyn Store, key: &str) -> Result<Tenant> {
    let tenant = get(store, key).await?;
    store.delete_tenant(tenant.id).await?;
    Ok(tenant)
}

fn check_name(name: &str, field: &str, errors: &mut Vec<FieldError>) -> String {
    let name = name.trim();
    if name.is_empty() {
        errors.push(FieldError::new(field, "must not be empty"));
    } else if name.chars().count() > MAX_NAME_CHARS {
        errors.push(FieldError::new(
            field,
            format!("must be at most {MAX_NAME_CHARS} characters"),
        ));
    } else if name.chars().any(char::is_control) {
        errors.push(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    name.to_owned()
}

/// Validates BCP 47 tags (RFC 5646) and returns them in canonical case (`nb`, `en-US`).
fn check_locales(locales: &[String], errors: &mut Vec<FieldError>) -> Vec<String> {
    if locales.is_empty() {
        errors.push(FieldError::new(
            "locales",
            "must list at least one language tag",
        ));
    }
    if locales.len() > MAX_LOCALES {
        errors.push(FieldError::new(
            "locales",
            format!("at most {MAX_LOCALES} tags"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(locales.len());
    for (i, tag) in locales.iter().enumerate() {
        let field = format!("locales[{i}]");
        match canonical_tag(tag) {
            Ok(canonical) => {
                if out.iter().any(|o| o.eq_ignore_ascii_case(&canonical)) {
                    errors.push(FieldError::new(field, format!("{tag:?} is listed twice")));
                } else {
                    out.push(canonical);
                }
            }
            Err(e) => errors.push(FieldError::new(field, e)),
        }
    }
    out
}

fn apply_session_patch(
    id: Uuid,
    current: &SessionSettings,
    patch: Option<&SessionSettingsPatch>,
    rules: &TenantRules,
    errors: &mut Vec<FieldError>,
) -> SessionSettings {
    let mut s = current.clone();
    let Some(p) = patch else { return s };
    if let Some(domain) = &p.cookie_domain {
        s.cookie_domain = domain
            .as_deref()
            .map(|d| d.trim_start_matches('.').to_ascii_lowercase());
        // Keep a default name in step with the domain: `__Host-` forbids a Domain attribute.
        let was_default = [None, Some("x")]
            .iter()
            .any(|d| current.cookie_name == default_cookie_name(id, *d));
        if was_default && p.cookie_name.is_none() {
            s.cookie_name = default_cookie_name(id, s.cookie_domain.as_deref());
        }
    }
    if let Some(name) = &p.cookie_name {
        s.cookie_name = name.clone();
    }
    if let Some(t) = p.ttl_seconds {
        s.ttl_seconds = t;
    }
    if let Some(t) = p.idle_ttl_seconds {
        s.idle_ttl_seconds = t;
    }
    if let Some(ss) = p.same_site {
        s.same_site = ss;
    }

    if let Some(msg) = cookie_name_problem(id, &s.cookie_name) {
        errors.push(FieldError::new("session.cookie_name", msg));
    }
    if s.cookie_name.starts_with("__Host-") && s.cookie_domain.is_some() {
        errors.push(FieldError::new(
            "session.cookie_domain",
            "a __Host- cookie must not have a Domain; choose another cookie_name",
        ));
    }
    if let Some(d) = &s.cookie_domain
        && let Some(msg) = cookie_domain_problem(d, rules)
    {
        errors.push(FieldError::new("session.cookie_domain", msg));
    }
    for (field, v) in [
        ("session.ttl_seconds", s.ttl_seconds),
        ("session.idle_ttl_seconds", s.idle_ttl_seconds),
    ] {
        if !(MIN_TTL_SECONDS..=MAX_TTL_SECONDS).contains(&v) {
            errors.push(FieldError::new(
                field,
                format!("must be between {MIN_TTL_SECONDS} and {MAX_TTL_SECONDS} seconds, got {v}"),
            ));
        }
    }
    if s.idle_ttl_seconds > s.ttl_seconds {
        errors.push(FieldError::new(
            "session.idle_ttl_seconds",
            "must not exceed session.ttl_seconds",
        ));
    }
    if s.same_site == SameSite::None && !rules.https {
        errors.push(FieldError::new(
            "session.same_site",
            "none requires an https public_url: browsers drop SameSite=None cookies that are not Secure",
        ));
    }
    s
}

/// A cookie name is an RFC 6265 `token`: visible ASCII without separators.
fn cookie_name_problem(id: Uuid, name: &str) -> Option<&'static str> {
    if name.is_empty() || name.len() > 128 {
        return Some("must be 1 to 128 characters");
    }
    let separator = |c: char| "()<>@,;:\\\"/[]?={} \t".contains(c);
    if !name.chars().all(|c| c.is_ascii_graphic() && !separator(c)) {
        return Some("may contain only visible ASCII characters without separators");
    }
    let key = cookie_key(name);
    if key.is_empty() {
        return Some("must have a name after its __Host-/__Secure- prefix");
    }
    if key.starts_with("__host-") || key.starts_with("__secure-") {
        return Some("may carry one __Host- or __Secure- prefix, not two");
    }
    // The names idpd derives from tenant ids: every tenant's login-flow cookie, and the
    // default session cookie of the other tenants (SEC-19).
    if key.starts_with("idp-flow-") {
        return Some("idp-flow-… names belong to idpd's login-flow cookies");
    }
    if let Some(hex) = key.strip_prefix("idp-")
        && hex.len() == 32
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
        && hex != id.simple().to_string()
    {
        return Some("is the default session cookie name of another tenant");
    }
    None
}

/// The name a session cookie is compared under across tenants (SEC-19), which must be
/// unique: without one `__Host-`/`__Secure-` prefix (an http deployment drops it, see
/// `http/login/cookies.rs`) and in lower case (browsers match prefixes in any case). The
/// unique index `idp_tenants_cookie_key` (migration 0010, both backends) computes the same.
pub fn cookie_key(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    lower
        .strip_prefix("__host-")
        .or_else(|| lower.strip_prefix("__secure-"))
        .unwrap_or(&lower)
        .to_owned()
}

/// The store's unique index on [`cookie_key`].
const COOKIE_NAME_INDEX: &str = "idp_tenants_cookie_key";

/// A write refused because another tenant holds the session cookie name (the index names
/// itself in the constraint on PostgreSQL and in the message on SQLite).
fn cookie_name_taken(e: &StoreError, name: &str) -> Option<Error> {
    match e {
        StoreError::Conflict { constraint } if constraint.contains(COOKIE_NAME_INDEX) => {
            Some(Error::Conflict(format!(
                "session.cookie_name {name:?} is used by another tenant (names are compared \
                 without __Host-/__Secure- and ignoring case); choose another"
            )))
        }
        _ => None,
    }
}

/// The cookie domain must domain-match the public host (RFC 6265 §5.1.3) and have at least
/// two labels, so `Domain=com` can never spread the session to unrelated sites.
fn cookie_domain_problem(domain: &str, rules: &TenantRules) -> Option<String> {
    let Some(host) = &rules.public_host else {
        return Some("public_url is an IP address; only host-only cookies are possible".into());
    };
    let valid_label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if !domain.split('.').all(valid_label) {
        return Some(format!("{domain:?} is not a valid domain name"));
    }
    if !domain.contains('.') {
        return Some(format!("{domain:?} is too broad: use at least two labels"));
    }
    if host != domain && !host.ends_with(&format!(".{domain}")) {
        return Some(format!(
            "{domain:?} does not cover the public host {host:?}; the browser would drop the cookie"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> TenantRules {
        TenantRules {
            public_host: Some("login.acme.example".into()),
            https: true,
        }
    }

    #[test]
    fn locales_are_validated_and_canonicalized() {
        let mut e = Vec::new();
        let out = check_locales(&["NB".into(), "en-us".into(), "zh-hant-tw".into()], &mut e);
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(out, ["nb", "en-US", "zh-Hant-TW"]);
        for bad in ["", "english", "en_US", "x-private", "e", "en--us", "12"] {
            let mut e = Vec::new();
            check_locales(&[bad.into()], &mut e);
            assert!(!e.is_empty(), "{bad:?} should be refused");
        }
        let mut e = Vec::new();
        check_locales(&["en".into(), "EN".into()], &mut e);
        assert_eq!(e.len(), 1);
    }

    #[test]
    fn cookie_names_compare_without_prefix_and_case() {
        for (name, key) in [
            ("sess", "sess"),
            ("__Host-Sess", "sess"),
            ("__Secure-SESS", "sess"),
            ("__host-sess", "sess"),
            ("__Host-__Secure-x", "__secure-x"),
            ("idp-Flow-x", "idp-flow-x"),
        ] {
            assert_eq!(cookie_key(name), key, "{name}");
        }
        let id = Uuid::now_v7();
        let other = Uuid::now_v7();
        assert_eq!(
            cookie_name_problem(id, &default_cookie_name(id, None)),
            None
        );
        assert_eq!(
            cookie_name_problem(id, &default_cookie_name(id, Some("x"))),
            None
        );
        assert_eq!(cookie_name_problem(id, "__Host-sess"), None);
        for bad in [
            default_cookie_name(other, None),
            default_cookie_name(other, Some("x")),
            format!("IDP-{}", other.simple()),
            format!("__Host-idp-flow-{}", id.simple()),
            "idp-flow-x".into(),
            "__Host-__Secure-x".into(),
            "__Host-".into(),
        ] {
            assert!(cookie_name_problem(id, &bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn session_rules() {
        let id = Uuid::nil();
        let base = SessionSettings {
            cookie_name: default_cookie_name(id, None),
            cookie_domain: None,
            ttl_seconds: DEFAULT_TTL_SECONDS,
            idle_ttl_seconds: DEFAULT_IDLE_TTL_SECONDS,
            same_site: SameSite::Lax,
        };
        let check = |p: SessionSettingsPatch, r: &TenantRules| {
            let mut e = Vec::new();
            let s = apply_session_patch(id, &base, Some(&p), r, &mut e);
            (s, e)
        };
        let (s, e) = check(
            SessionSettingsPatch {
                cookie_domain: Some(Some(".acme.example".into())),
                ..Default::default()
            },
            &rules(),
        );
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(s.cookie_domain.as_deref(), Some("acme.example"));
        assert!(s.cookie_name.starts_with("__Secure-"), "{}", s.cookie_name);

        let bad = [
            SessionSettingsPatch {
                cookie_domain: Some(Some("com".into())),
                ..Default::default()
            },
            SessionSettingsPatch {
                cookie_domain: Some(Some("evil.example".into())),
                ..Default::default()
            },
            SessionSettingsPatch {
                ttl_seconds: Some(-1),
                ..Default::default()
            },
            SessionSettingsPatch {
                ttl_seconds: Some(10 * 365 * 86400),
                ..Default::default()
            },
            SessionSettingsPatch {
                idle_ttl_seconds: Some(DEFAULT_TTL_SECONDS + 1),
                ..Default::default()
            },
            SessionSettingsPatch {
                cookie_name: Some("a b".into()),
                ..Default::default()
            },
            SessionSettingsPatch {
                cookie_name: Some("__Host-x".into()),
                cookie_domain: Some(Some("acme.example".into())),
                ..Default::default()
            },
        ];
        for p in bad {
            let (_, e) = check(p.clone(), &rules());
            assert!(!e.is_empty(), "{p:?} should be refused");
        }
        let http = TenantRules {
            public_host: None,
            https: false,
        };
        let (_, e) = check(
            SessionSettingsPatch {
                same_site: Some(SameSite::None),
                ..Default::default()
            },
            &http,
        );
        assert_eq!(e[0].field, "session.same_site");
    }
}

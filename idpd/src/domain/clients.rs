//! OAuth clients: registration rules (redirect URIs, grants, scopes), secrets, and the
//! admin operations on them.

use shared::admin::{CreateClient, GRANT_TYPES, UpdateClient};
use time::Duration;
use uuid::Uuid;

use super::error::{Error, FieldError, Result};
use super::tenants::Tenant;
use crate::clock::now;
use crate::crypto;
use crate::store::{Store, StoreError};

/// Prefix of client secrets, so a leaked one is recognizable.
pub const SECRET_PREFIX: &str = "idp_cs_";
pub const DEFAULT_ACCESS_TOKEN_TTL: i64 = 600;
pub const MIN_ACCESS_TOKEN_TTL: i64 = 60;
/// Also bounds how long a retired signing key stays published (`keys::MAX_TOKEN_LIFETIME`).
pub const MAX_ACCESS_TOKEN_TTL: i64 = 86_400;
pub const MAX_SECRET_GRACE: i64 = 30 * 86_400;
const MAX_URIS: usize = 50;
const MAX_SCOPES: usize = 100;

pub const GRANT_CLIENT_CREDENTIALS: &str = "client_credentials";
pub const GRANT_AUTHORIZATION_CODE: &str = "authorization_code";
pub const GRANT_REFRESH_TOKEN: &str = "refresh_token";
pub const GRANT_DEVICE_CODE: &str = "urn:ietf:params:oauth:grant-type:device_code";
pub const GRANT_JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The scopes of a client registered without any: the OpenID Connect ones for every grant
/// that signs a user in (and so yields ID tokens), `devices` too for device login, none for
/// a client acting for itself (client_credentials asks for its own scopes).
pub fn default_scopes(grant_types: &[String]) -> Vec<String> {
    let has = |g: &str| grant_types.iter().any(|x| x == g);
    let mut scopes = Vec::new();
    if has(GRANT_AUTHORIZATION_CODE) || has(GRANT_DEVICE_CODE) || has(GRANT_JWT_BEARER) {
        scopes.extend(["openid", "profile", "email", "offline_access"].map(String::from));
    }
    if has(GRANT_JWT_BEARER) {
        scopes.push("devices".to_owned());
    }
    scopes
}

impl ClientRecord {
    pub fn allows_grant(&self, grant: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant)
    }

    /// Whether `secret` is this client's secret (or its previous one, within the grace
    /// period). Both digests are always compared, in constant time, so timing tells nothing.
    pub fn secret_matches(&self, secret: &str) -> bool {
        let presented = crypto::sha256(secret.as_bytes());
        let current = self
            .secret_digest
            .is_some_and(|d| crypto::ct_eq(&d, &presented));
        let previous_valid = self
            .previous_secret_expires_at
            .is_some_and(|t| t > crate::clock::now());
        let previous = self
            .previous_secret_digest
            .is_some_and(|d| crypto::ct_eq(&d, &presented));
        current | (previous & previous_valid)
    }
}

/// Burns the same work as a real secret check, for unknown client ids (SEC-10).
pub fn dummy_secret_check(secret: &str) {
    let presented = crypto::sha256(secret.as_bytes());
    let _ = crypto::ct_eq(&[0u8; 32], &presented);
}

fn new_secret() -> (String, [u8; 32]) {
    let secret = crypto::new_secret(SECRET_PREFIX);
    let digest = crypto::sha256(secret.as_bytes());
    (secret, digest)
}

pub async fn create(
    store: &dyn Store,
    tenant: &Tenant,
    req: CreateClient,
) -> Result<(ClientRecord, Option<String>)> {
    let mut errors = Vec::new();
    let name = check_name(&req.name, &mut errors);
    let client_id = match req.client_id {
        Some(id) => {
            if let Some(p) = client_id_problem(&id) {
                errors.push(FieldError::new("client_id", p));
            }
            id
        }
        None => base64_id(),
    };
    let redirect_uris = check_uris("redirect_uris", &req.redirect_uris, &mut errors);
    let post_logout = check_uris(
        "post_logout_redirect_uris",
        &req.post_logout_redirect_uris,
        &mut errors,
    );
    let grant_types = if req.grant_types.is_empty() {
        default_grants(req.public, !redirect_uris.is_empty())
    } else {
        req.grant_types.clone()
    };
    let scopes = if req.scopes.is_empty() {
        default_scopes(&grant_types)
    } else {
        req.scopes.clone()
    };
    let ttl = req
        .access_token_ttl_seconds
        .unwrap_or(DEFAULT_ACCESS_TOKEN_TTL);
    check_policy(
        req.public,
        &redirect_uris,
        &grant_types,
        &scopes,
        ttl,
        &mut errors,
    );
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    let (secret, digest) = if req.public {
        (None, None)
    } else {
        let (s, d) = new_secret();
        (Some(s), Some(d))
    };
    let at = now();
    let record = ClientRecord {
        id: Uuid::now_v7(),
        tenant_id: tenant.id,
        client_id,
        name,
        public: req.public,
        redirect_uris,
        post_logout_redirect_uris: post_logout,
        grant_types,
        scopes,
        access_token_ttl_seconds: ttl,
        id_token_alg: req.id_token_alg.unwrap_or(shared::admin::Alg::RS256),
        disabled: false,
        secret_digest: digest,
        previous_secret_digest: None,
        previous_secret_expires_at: None,
        created_at: at,
        updated_at: at,
    };
    store.insert_client(&record).await.map_err(|e| match e {
        StoreError::Conflict { .. } => Error::Conflict(format!(
            "tenant {} already has a client {:?}",
            tenant.slug, record.client_id
        )),
        e => e.into(),
    })?;
    Ok((record, secret))
}

/// The client `client_id` of the tenant, if registered: for protocol endpoints, which answer
/// an unknown client with their own error (an error page at `/authorize`, SEC-06).
pub async fn find(
    store: &dyn Store,
    tenant_id: Uuid,
    client_id: &str,
) -> std::result::Result<Option<ClientRecord>, StoreError> {
    store.find_client(tenant_id, client_id).await
}

pub async fn get(store: &dyn Store, tenant: &Tenant, client_id: &str) -> Result<ClientRecord> {
    store
        .find_client(tenant.id, client_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("client {client_id:?} of tenant {}", tenant.slug)))
}

pub async fn list(
    store: &dyn Store,
    tenant: &Tenant,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<ClientRecord>> {
    if limit == 0 || limit > super::tenants::MAX_PAGE {
        return Err(Error::invalid("limit", "must be between 1 and 500"));
    }
    Ok(store.list_clients(tenant.id, after, limit).await?)
}

pub async fn update(
    store: &dyn Store,
    tenant: &Tenant,
    client_id: &str,
    req: UpdateClient,
) -> Result<ClientRecord> {
    if req.is_empty() {
        return Err(Error::invalid("body", "nothing to update"));
    }
    let mut c = get(store, tenant, client_id).await?;
    let mut errors = Vec::new();
    if let Some(n) = &req.name {
        c.name = check_name(n, &mut errors);
    }
    if let Some(u) = &req.redirect_uris {
        c.redirect_uris = check_uris("redirect_uris", u, &mut errors);
    }
    if let Some(u) = &req.post_logout_redirect_uris {
        c.post_logout_redirect_uris = check_uris("post_logout_redirect_uris", u, &mut errors);
    }
    if let Some(g) = &req.grant_types {
        c.grant_types = g.clone();
    }
    if let Some(s) = &req.scopes {
        c.scopes = s.clone();
    }
    if let Some(t) = req.access_token_ttl_seconds {
        c.access_token_ttl_seconds = t;
    }
    if let Some(a) = req.id_token_alg {
        c.id_token_alg = a;
    }
    if let Some(d) = req.disabled {
        c.disabled = d;
    }
    check_policy(
        c.public,
        &c.redirect_uris,
        &c.grant_types,
        &c.scopes,
        c.access_token_ttl_seconds,
        &mut errors,
    );
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    c.updated_at = now();
    store.update_client(&c).await?;
    Ok(c)
}

pub async fn delete(store: &dyn Store, tenant: &Tenant, client_id: &str) -> Result<()> {
    store
        .delete_client(tenant.id, client_id)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => {
                Error::NotFound(format!("client {client_id:?} of tenant {}", tenant.slug))
            }
            e => e.into(),
        })
}

/// A new secret; the old one stays valid for `grace_seconds` (0: not at all).
pub async fn rotate_secret(
    store: &dyn Store,
    tenant: &Tenant,
    client_id: &str,
    grace_seconds: i64,
) -> Result<(ClientRecord, String)> {
    if !(0..=MAX_SECRET_GRACE).contains(&grace_seconds) {
        return Err(Error::invalid(
            "grace_seconds",
            format!("must be between 0 and {MAX_SECRET_GRACE}"),
        ));
    }
    let mut c = get(store, tenant, client_id).await?;
    if c.public {
        return Err(Error::Conflict(format!(
            "client {client_id:?} is public and has no secret"
        )));
    }
    let (secret, digest) = new_secret();
    let at = now();
    (c.previous_secret_digest, c.previous_secret_expires_at) = if grace_seconds > 0 {
        (c.secret_digest, Some(at + Duration::seconds(grace_seconds)))
    } else {
        (None, None)
    };
    c.secret_digest = Some(digest);
    c.updated_at = at;
    store.update_client(&c).await?;
    Ok((c, secret))
}

fn base64_id() -> String {
    crypto::random_id::<16>()
}

fn default_grants(public: bool, has_redirects: bool) -> Vec<String> {
    let g: &[&str] = match (public, has_redirects) {
        (_, true) => &[GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN],
        (false, false) => &[GRANT_CLIENT_CREDENTIALS],
        (true, false) => &[GRANT_DEVICE_CODE, GRANT_REFRESH_TOKEN],
    };
    g.iter().map(|s| (*s).to_owned()).collect()
}

fn check_name(name: &str, errors: &mut Vec<FieldError>) -> String {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 200 || n.chars().any(char::is_control) {
        errors.push(FieldError::new(
            "name",
            "must be 1 to 200 characters without control characters",
        ));
    }
    n.to_owned()
}

/// Client ids are RFC 3986 unreserved characters only: no `:` to escape in Basic auth, no
/// `/` or `%` to confuse paths.
fn client_id_problem(id: &str) -> Option<&'static str> {
    if id.is_empty() || id.len() > 128 {
        return Some("must be 1 to 128 characters");
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
    {
        return Some("may contain only ASCII letters, digits and - . _ ~");
    }
    None
}

fn check_uris(field: &str, uris: &[String], errors: &mut Vec<FieldError>) -> Vec<String> {
    if uris.len() > MAX_URIS {
        errors.push(FieldError::new(field, format!("at most {MAX_URIS} URIs")));
    }
    for (i, u) in uris.iter().enumerate() {
        if let Some(p) = redirect_uri_problem(u) {
            errors.push(FieldError::new(
                format!("{field}[{i}]"),
                format!("{u:?} {p}"),
            ));
        }
    }
    let mut seen = std::collections::HashSet::new();
    for u in uris {
        if !seen.insert(u) {
            errors.push(FieldError::new(field, format!("{u:?} is listed twice")));
        }
    }
    uris.to_vec()
}

pub use crate::model::clients::ClientRecord;
/// Registration rules for redirect URIs, shared with idpctl (which checks apply files
/// before sending anything).
pub use shared::admin::redirect_uri_problem;

/// A scope token is 1*NQCHAR (RFC 6749 §3.3).
pub fn scope_token_ok(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

fn check_policy(
    public: bool,
    redirect_uris: &[String],
    grants: &[String],
    scopes: &[String],
    ttl: i64,
    errors: &mut Vec<FieldError>,
) {
    for (i, g) in grants.iter().enumerate() {
        if !GRANT_TYPES.contains(&g.as_str()) {
            errors.push(FieldError::new(
                format!("grant_types[{i}]"),
                format!("{g:?} is not one of: {}", GRANT_TYPES.join(", ")),
            ));
        }
    }
    if grants.is_empty() {
        errors.push(FieldError::new(
            "grant_types",
            "must list at least one grant type",
        ));
    }
    if public && grants.iter().any(|g| g == GRANT_CLIENT_CREDENTIALS) {
        errors.push(FieldError::new(
            "grant_types",
            "a public client cannot use client_credentials",
        ));
    }
    if grants.iter().any(|g| g == GRANT_AUTHORIZATION_CODE) && redirect_uris.is_empty() {
        errors.push(FieldError::new(
            "redirect_uris",
            "authorization_code needs at least one redirect URI",
        ));
    }
    if scopes.len() > MAX_SCOPES {
        errors.push(FieldError::new(
            "scopes",
            format!("at most {MAX_SCOPES} scopes"),
        ));
    }
    for (i, s) in scopes.iter().enumerate() {
        if !scope_token_ok(s) {
            errors.push(FieldError::new(
                format!("scopes[{i}]"),
                format!("{s:?} is not a valid scope token"),
            ));
        }
    }
    if !(MIN_ACCESS_TOKEN_TTL..=MAX_ACCESS_TOKEN_TTL).contains(&ttl) {
        errors.push(FieldError::new(
            "access_token_ttl_seconds",
            format!("must be between {MIN_ACCESS_TOKEN_TTL} and {MAX_ACCESS_TOKEN_TTL}, got {ttl}"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_scopes_follow_the_grants() {
        let g = |gs: &[&str]| default_scopes(&gs.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let oidc = ["openid", "profile", "email", "offline_access"];
        assert_eq!(g(&[GRANT_AUTHORIZATION_CODE]), oidc);
        assert_eq!(g(&[GRANT_DEVICE_CODE, GRANT_REFRESH_TOKEN]), oidc);
        let mut devices = oidc.to_vec();
        devices.push("devices");
        assert_eq!(g(&[GRANT_DEVICE_CODE, GRANT_JWT_BEARER]), devices);
        assert!(g(&[GRANT_CLIENT_CREDENTIALS]).is_empty());
    }

    #[test]
    fn redirect_uri_registration_rules() {
        for good in [
            "https://rp.test/cb",
            "https://rp.test:8443/cb?x=1",
            "http://127.0.0.1/cb",
            "http://[::1]:8080/cb",
            "http://localhost/cb",
            "com.example.app:/oauth2redirect",
        ] {
            assert_eq!(redirect_uri_problem(good), None, "{good}");
        }
        for bad in [
            "/cb",
            "rp.test/cb",
            "https://rp.test/cb#frag",
            "https://*.rp.test/cb",
            "https://rp.test/*",
            "http://rp.test/cb",
            "http://10.0.0.1/cb",
            "javascript:alert(1)",
            "myapp:/cb",
            "https://user:pw@rp.test/cb",
            "https://rp.test/c b",
            "",
        ] {
            assert!(
                redirect_uri_problem(bad).is_some(),
                "{bad:?} must be refused"
            );
        }
    }

    #[test]
    fn scope_tokens() {
        assert!(
            scope_token_ok("openid") && scope_token_ok("read:messages") && scope_token_ok("a/b")
        );
        for bad in ["", "a b", "a\"b", "a\\b", "é"] {
            assert!(!scope_token_ok(bad), "{bad:?}");
        }
    }

    #[test]
    fn secret_check_covers_grace_period() {
        let (s1, d1) = new_secret();
        let (s2, d2) = new_secret();
        let mut c = ClientRecord {
            id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            client_id: "c".into(),
            name: "c".into(),
            public: false,
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            grant_types: vec![],
            scopes: vec![],
            access_token_ttl_seconds: 600,
            id_token_alg: shared::admin::Alg::RS256,
            disabled: false,
            secret_digest: Some(d2),
            previous_secret_digest: Some(d1),
            previous_secret_expires_at: Some(crate::clock::now() + Duration::minutes(5)),
            created_at: crate::clock::now(),
            updated_at: crate::clock::now(),
        };
        assert!(c.secret_matches(&s2) && c.secret_matches(&s1));
        assert!(!c.secret_matches(&format!("{s2}x")) && !c.secret_matches(&s2[..s2.len() - 1]));
        c.previous_secret_expires_at = Some(crate::clock::now() - Duration::seconds(1));
        assert!(!c.secret_matches(&s1), "expired grace");
    }
}

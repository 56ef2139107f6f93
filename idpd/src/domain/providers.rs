//! Identity providers of a tenant: the built-in `native` one and external OpenID Connect
//! providers (bring-your-own IdP). Validation of what an operator registers (SEC-15: URLs
//! are https and point nowhere internal), discovery at registration (the document's
//! `issuer` must equal the configured one, OIDC Discovery §4.3), the sealed upstream client
//! secret, the atomic switch of the default provider, and `provider test`.

use shared::admin::{CreateProvider, ProviderCheck, ProviderKind, ProviderTest, UpdateProvider};
use uuid::Uuid;

use super::error::{Error, FieldError, Result};
use super::tenants::{NATIVE_PROVIDER, Tenant};
use super::upstream::{self, Upstreams};
use crate::clock::now;
use crate::crypto::MasterKey;
pub use crate::model::providers::{ProviderConfig, ProviderRecord};
use crate::store::{Store, StoreError};

pub const MAX_SCOPES: usize = 20;
pub const MAX_DOMAINS: usize = 50;
pub const DEFAULT_SCOPES: [&str; 3] = ["openid", "email", "profile"];

impl ProviderRecord {
    pub fn is_external(&self) -> bool {
        self.kind == ProviderKind::ExternalOidc
    }

    /// Whether this provider takes addresses of `email`'s domain.
    pub fn routes_email(&self, email: &str) -> bool {
        let domain = email.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
        self.is_external()
            && self
                .config
                .email_domains
                .iter()
                .any(|d| d.eq_ignore_ascii_case(domain))
    }

    pub fn client_secret(&self, master: &MasterKey) -> Option<String> {
        let sealed = self.client_secret_sealed.as_ref()?;
        let plain = master.open(&secret_context(self.id), sealed)?;
        String::from_utf8(plain).ok()
    }
}

/// The AAD of a sealed client secret: a sealed value moved to another provider row fails
/// to open.
fn secret_context(id: Uuid) -> Vec<u8> {
    let mut c = b"idp upstream client secret\0".to_vec();
    c.extend_from_slice(id.as_bytes());
    c
}

/// `{issuer}/callback/{name}`: the redirect URI to register at the upstream.
pub fn redirect_uri(tenant_issuer: &str, name: &str) -> String {
    format!("{tenant_issuer}/callback/{name}")
}

fn not_found(tenant: &Tenant, name: &str) -> Error {
    Error::NotFound(format!("provider {name:?} of tenant {}", tenant.slug))
}

pub async fn get(store: &dyn Store, tenant: &Tenant, name: &str) -> Result<ProviderRecord> {
    store
        .find_provider(tenant.id, name)
        .await?
        .ok_or_else(|| not_found(tenant, name))
}

/// The external provider `name` of the tenant, for a login (`None`: unknown or native).
pub async fn find_external(
    store: &dyn Store,
    tenant_id: Uuid,
    name: &str,
) -> std::result::Result<Option<ProviderRecord>, StoreError> {
    Ok(store
        .find_provider(tenant_id, name)
        .await?
        .filter(ProviderRecord::is_external))
}

/// The external provider of the tenant that claims the domain of `email` (a normalized
/// address), if one does: e-mail-domain routing of the login page.
pub async fn routing_email(
    store: &dyn Store,
    tenant_id: Uuid,
    email: &str,
) -> std::result::Result<Option<ProviderRecord>, StoreError> {
    Ok(store
        .list_providers(tenant_id)
        .await?
        .into_iter()
        .find(|p| p.routes_email(email)))
}

pub async fn list(store: &dyn Store, tenant: &Tenant) -> Result<Vec<ProviderRecord>> {
    Ok(store.list_providers(tenant.id).await?)
}

fn check_name(name: &str, errors: &mut Vec<FieldError>) {
    if name == NATIVE_PROVIDER {
        errors.push(FieldError::new(
            "name",
            "\"native\" is the built-in provider",
        ));
    } else if let Some(p) = super::slug::problem(name) {
        errors.push(FieldError::new("name", format!("{name:?} {p}")));
    }
}

fn check_text(field: &str, value: &str, errors: &mut Vec<FieldError>) -> String {
    let v = value.trim();
    if v.is_empty() {
        errors.push(FieldError::new(field, "is required"));
    } else if v.len() > 1024 || v.chars().any(char::is_control) {
        errors.push(FieldError::new(
            field,
            "must be at most 1024 characters without control characters",
        ));
    }
    v.to_owned()
}

fn check_endpoint(
    field: &str,
    value: &str,
    allow_loopback: bool,
    errors: &mut Vec<FieldError>,
) -> String {
    let v = value.trim();
    if v.is_empty() {
        errors.push(FieldError::new(field, "is required"));
        return String::new();
    }
    match crate::outbound::check_url(v, allow_loopback) {
        Ok(_) => v.to_owned(),
        Err(why) => {
            errors.push(FieldError::new(field, format!("{v:?} {why}")));
            String::new()
        }
    }
}

fn check_scopes(scopes: &[String], errors: &mut Vec<FieldError>) -> Vec<String> {
    let mut out = vec!["openid".to_owned()];
    for s in scopes.iter().flat_map(|s| s.split_whitespace()) {
        if s.len() > 200
            || !s
                .chars()
                .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
        {
            errors.push(FieldError::new("scopes", format!("{s:?} is not a scope")));
        } else if !out.iter().any(|o| o == s) {
            out.push(s.to_owned());
        }
    }
    if out.len() > MAX_SCOPES {
        errors.push(FieldError::new(
            "scopes",
            format!("at most {MAX_SCOPES} scopes"),
        ));
    }
    out
}

fn check_domains(domains: &[String], errors: &mut Vec<FieldError>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for d in domains {
        let d = d.trim().trim_start_matches('@').to_ascii_lowercase();
        let ok = d.contains('.')
            && d.len() <= 253
            && d.split('.').all(|l| {
                !l.is_empty()
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !ok {
            errors.push(FieldError::new(
                "email_domains",
                format!("{d:?} is not a domain name like example.com"),
            ));
        } else if !out.contains(&d) {
            out.push(d);
        }
    }
    if out.len() > MAX_DOMAINS {
        errors.push(FieldError::new(
            "email_domains",
            format!("at most {MAX_DOMAINS} domains"),
        ));
    }
    out
}

/// Endpoints given by the operator: all three of authorization, token and JWKS, or none
/// (then discovery finds them).
struct Endpoints<'a> {
    authorization: Option<&'a str>,
    token: Option<&'a str>,
    jwks: Option<&'a str>,
    userinfo: Option<&'a str>,
}

impl<'a> Endpoints<'a> {
    fn given(
        authorization: &'a Option<String>,
        token: &'a Option<String>,
        jwks: &'a Option<String>,
        userinfo: &'a Option<String>,
    ) -> Self {
        Endpoints {
            authorization: authorization.as_deref(),
            token: token.as_deref(),
            jwks: jwks.as_deref(),
            userinfo: userinfo.as_deref(),
        }
    }

    fn any(&self) -> bool {
        self.authorization.is_some() || self.token.is_some() || self.jwks.is_some()
    }

    /// Writes explicit endpoints into `c` (naming each one missing), or leaves `c` for
    /// discovery.
    fn apply(&self, c: &mut ProviderConfig, allow_loopback: bool, errors: &mut Vec<FieldError>) {
        let mut set = |field: &str, v: Option<&str>, out: &mut String| {
            *out = check_endpoint(field, v.unwrap_or(""), allow_loopback, errors);
        };
        set(
            "authorization_endpoint",
            self.authorization,
            &mut c.authorization_endpoint,
        );
        set("token_endpoint", self.token, &mut c.token_endpoint);
        set("jwks_uri", self.jwks, &mut c.jwks_uri);
        c.userinfo_endpoint = self
            .userinfo
            .map(|u| check_endpoint("userinfo_endpoint", u, allow_loopback, errors));
        c.discovery = false;
    }
}

/// Runs discovery for `c.issuer` and takes the endpoints it names (each vetted like an
/// operator's). The upstream's JWKS is fetched too, so a provider whose keys cannot be read
/// is refused at registration.
async fn discover_into(up: &Upstreams, c: &mut ProviderConfig) -> Result<()> {
    let found = upstream::discover(up, &c.issuer)
        .await
        .map_err(upstream_error)?;
    let mut errors = Vec::new();
    let allow = up.outbound.allow_loopback();
    let mut vet = |field: &str, v: Option<String>| match v {
        Some(v) => check_endpoint(field, &v, allow, &mut errors),
        None => {
            errors.push(FieldError::new(
                field,
                "is missing from the discovery document",
            ));
            String::new()
        }
    };
    c.authorization_endpoint = vet("authorization_endpoint", Some(found.authorization_endpoint));
    c.token_endpoint = vet("token_endpoint", found.token_endpoint);
    c.jwks_uri = vet("jwks_uri", Some(found.jwks_uri));
    c.userinfo_endpoint = found
        .userinfo_endpoint
        .map(|u| vet("userinfo_endpoint", Some(u)));
    c.discovery = true;
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Upstream {
            code: "discovery_failed",
            message: format!(
                "the discovery document of {} is not usable: {}",
                c.issuer,
                errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        })
    }
}

fn upstream_error(e: upstream::UpstreamError) -> Error {
    let code = match e {
        upstream::UpstreamError::Unreachable(_) => "upstream_unreachable",
        _ => "discovery_failed",
    };
    Error::Upstream {
        code,
        message: e.to_string(),
    }
}

pub async fn create(
    store: &dyn Store,
    master: &MasterKey,
    up: &Upstreams,
    tenant: &Tenant,
    req: CreateProvider,
) -> Result<ProviderRecord> {
    let allow = up.outbound.allow_loopback();
    let mut errors = Vec::new();
    check_name(&req.name, &mut errors);
    let mut c = ProviderConfig {
        issuer: check_endpoint("issuer", &req.issuer, allow, &mut errors),
        client_id: check_text("client_id", &req.client_id, &mut errors),
        scopes: check_scopes(
            &if req.scopes.is_empty() {
                DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect()
            } else {
                req.scopes.clone()
            },
            &mut errors,
        ),
        email_domains: check_domains(&req.email_domains, &mut errors),
        link_by_email: req.link_by_email,
        ..ProviderConfig::default()
    };
    let secret = check_text("client_secret", &req.client_secret, &mut errors);
    let endpoints = Endpoints::given(
        &req.authorization_endpoint,
        &req.token_endpoint,
        &req.jwks_uri,
        &req.userinfo_endpoint,
    );
    if endpoints.any() {
        endpoints.apply(&mut c, allow, &mut errors);
    } else if req.userinfo_endpoint.is_some() {
        errors.push(FieldError::new(
            "userinfo_endpoint",
            "needs authorization_endpoint, token_endpoint and jwks_uri too (or none of them, for discovery)",
        ));
    }
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    if store.find_provider(tenant.id, &req.name).await?.is_some() {
        return Err(Error::Conflict(format!(
            "tenant {} already has a provider named {:?}",
            tenant.slug, req.name
        )));
    }
    if !endpoints.any() {
        discover_into(up, &mut c).await?;
    }
    let at = now();
    let id = Uuid::now_v7();
    let p = ProviderRecord {
        id,
        tenant_id: tenant.id,
        name: req.name.clone(),
        kind: ProviderKind::ExternalOidc,
        is_default: false,
        config: c,
        client_secret_sealed: Some(master.seal(&secret_context(id), secret.as_bytes())),
        created_at: at,
        updated_at: at,
    };
    store.insert_provider(&p).await.map_err(|e| match e {
        StoreError::Conflict { .. } => Error::Conflict(format!(
            "tenant {} already has a provider named {:?}",
            tenant.slug, req.name
        )),
        e => e.into(),
    })?;
    if req.default {
        return set_default(store, tenant, &p.name).await;
    }
    Ok(p)
}

pub async fn update(
    store: &dyn Store,
    master: &MasterKey,
    up: &Upstreams,
    tenant: &Tenant,
    name: &str,
    req: UpdateProvider,
) -> Result<ProviderRecord> {
    if req.is_empty() {
        return Err(Error::invalid("body", "nothing to update"));
    }
    let mut p = get(store, tenant, name).await?;
    if !p.is_external() {
        return Err(Error::invalid(
            "name",
            "the native provider has no settings to change",
        ));
    }
    let allow = up.outbound.allow_loopback();
    let mut errors = Vec::new();
    let c = &mut p.config;
    let issuer_changed = req.issuer.as_ref().is_some_and(|i| i.trim() != c.issuer);
    if let Some(i) = &req.issuer {
        c.issuer = check_endpoint("issuer", i, allow, &mut errors);
    }
    if let Some(id) = &req.client_id {
        c.client_id = check_text("client_id", id, &mut errors);
    }
    if let Some(s) = &req.scopes {
        c.scopes = check_scopes(s, &mut errors);
    }
    if let Some(d) = &req.email_domains {
        c.email_domains = check_domains(d, &mut errors);
    }
    if let Some(l) = req.link_by_email {
        c.link_by_email = l;
    }
    let endpoints = Endpoints::given(
        &req.authorization_endpoint,
        &req.token_endpoint,
        &req.jwks_uri,
        &req.userinfo_endpoint,
    );
    if endpoints.any() {
        // Partial changes keep the other stored endpoints.
        let kept = Endpoints {
            authorization: endpoints
                .authorization
                .or(Some(c.authorization_endpoint.as_str())),
            token: endpoints.token.or(Some(c.token_endpoint.as_str())),
            jwks: endpoints.jwks.or(Some(c.jwks_uri.as_str())),
            userinfo: endpoints.userinfo.or(c.userinfo_endpoint.as_deref()),
        };
        let mut next = c.clone();
        kept.apply(&mut next, allow, &mut errors);
        *c = next;
    } else if let Some(u) = endpoints.userinfo {
        c.userinfo_endpoint = Some(check_endpoint("userinfo_endpoint", u, allow, &mut errors));
    }
    let secret = req
        .client_secret
        .as_deref()
        .map(|s| check_text("client_secret", s, &mut errors));
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    if !endpoints.any() && (req.rediscover || (issuer_changed && c.discovery)) {
        discover_into(up, c).await?;
    }
    if let Some(s) = secret {
        p.client_secret_sealed = Some(master.seal(&secret_context(p.id), s.as_bytes()));
    }
    p.updated_at = now();
    store.update_provider(&p).await?;
    up.forget_jwks();
    Ok(p)
}

/// Removes an external provider and its account links; the default one must be switched
/// away from first.
pub async fn delete(store: &dyn Store, tenant: &Tenant, name: &str) -> Result<ProviderRecord> {
    let p = get(store, tenant, name).await?;
    if !p.is_external() {
        return Err(Error::invalid(
            "name",
            "the native provider cannot be removed",
        ));
    }
    if p.is_default {
        return Err(Error::Conflict(format!(
            "{name:?} is the default provider of tenant {}: switch first (idpctl provider set-default --tenant {} native)",
            tenant.slug, tenant.slug
        )));
    }
    store.delete_provider(p.id).await?;
    Ok(p)
}

/// Makes `name` (or `native`) the tenant's default provider: one transaction clears the old
/// default and sets the new one, so there is always exactly one.
pub async fn set_default(store: &dyn Store, tenant: &Tenant, name: &str) -> Result<ProviderRecord> {
    let p = get(store, tenant, name).await?;
    if p.is_external() && p.client_secret_sealed.is_none() {
        return Err(Error::invalid("name", "the provider has no client secret"));
    }
    store.set_default_provider(tenant.id, p.id).await?;
    get(store, tenant, name).await
}

/// `provider test`: discovery (when the provider uses it) with its issuer check, then a
/// JWKS fetch; each reported.
pub async fn test(
    store: &dyn Store,
    up: &Upstreams,
    tenant: &Tenant,
    name: &str,
) -> Result<ProviderTest> {
    let p = get(store, tenant, name).await?;
    if !p.is_external() {
        return Err(Error::invalid(
            "name",
            "the native provider has nothing to test",
        ));
    }
    let mut checks = Vec::new();
    let check = |name: &str, r: Result<String, String>| ProviderCheck {
        check: name.to_owned(),
        ok: r.is_ok(),
        detail: r.unwrap_or_else(|e| e),
    };
    if p.config.discovery {
        let r = upstream::discover(up, &p.config.issuer).await;
        checks.push(check(
            "discovery",
            r.as_ref()
                .map(|_| format!("{}/.well-known/openid-configuration", p.config.issuer))
                .map_err(|e| e.to_string()),
        ));
        if let Ok(found) = r {
            let same = found.authorization_endpoint == p.config.authorization_endpoint
                && found.token_endpoint.as_deref() == Some(p.config.token_endpoint.as_str())
                && found.jwks_uri == p.config.jwks_uri;
            checks.push(check(
                "endpoints",
                if same {
                    Ok("the stored endpoints match the discovery document".into())
                } else {
                    Err("the discovery document names other endpoints: run `idpctl provider update --rediscover`".into())
                },
            ));
        }
    }
    let jwks = up.fetch_jwks(&p.config.jwks_uri).await;
    checks.push(check(
        "jwks",
        jwks.map(|n| format!("{n} signing key(s) at {}", p.config.jwks_uri))
            .map_err(|e| e.to_string()),
    ));
    Ok(ProviderTest {
        provider: p.name,
        ok: checks.iter().all(|c| c.ok),
        checks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_always_include_openid_once() {
        let mut e = Vec::new();
        assert_eq!(
            check_scopes(&["email profile".into(), "openid".into()], &mut e),
            ["openid", "email", "profile"]
        );
        assert!(e.is_empty());
        check_scopes(&["a\"b".into()], &mut e);
        assert_eq!(e.len(), 1);
    }

    #[test]
    fn domains_are_lower_case_names() {
        let mut e = Vec::new();
        assert_eq!(
            check_domains(&["@Corp.Example".into(), "corp.example".into()], &mut e),
            ["corp.example"]
        );
        assert!(e.is_empty());
        check_domains(
            &["nodot".into(), "a..b".into(), "x_y.example".into()],
            &mut e,
        );
        assert_eq!(e.len(), 3);
    }

    #[test]
    fn sealed_secret_is_bound_to_its_provider() {
        let m = MasterKey::from_bytes(&[3u8; 32]);
        let id = Uuid::new_v4();
        let mut p = ProviderRecord {
            id,
            tenant_id: Uuid::nil(),
            name: "corp".into(),
            kind: ProviderKind::ExternalOidc,
            is_default: false,
            config: ProviderConfig::default(),
            client_secret_sealed: Some(m.seal(&secret_context(id), b"s3cret")),
            created_at: now(),
            updated_at: now(),
        };
        assert_eq!(p.client_secret(&m).as_deref(), Some("s3cret"));
        p.id = Uuid::new_v4();
        assert_eq!(p.client_secret(&m), None);
    }
}

//! `idpctl apply` and `idpctl export`: converge idpd to tenant documents, and write documents
//! that describe a tenant as it is.
//!
//! A plan compares each described object with the server's copy, field by field; only the
//! fields a document sets are compared, so a document can leave the rest to the server.

pub mod doc;

use reqwest::Method;
use serde::Serialize;
use serde_json::{Value, json};
use shared::admin::{
    Client, CreateClient, CreateProvider, CreateTenant, CreateUser, Provider, ProviderKind,
    ProviderList, SessionSettingsPatch, Tenant, UpdateClient, UpdateProvider, UpdateTenant,
    UpdateUser, User,
};

use crate::client::Client as Api;
use crate::duration::{format_seconds, parse_seconds};
use crate::error::Error;
use doc::{ClientDoc, ProviderDoc, SessionDoc, TenantDoc, UserDoc};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Unchanged,
    Delete,
}

/// One field that differs: what the server has, what the document wants.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    pub field: &'static str,
    pub from: Value,
    pub to: Value,
}

/// What the plan does to one object.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub action: Action,
    /// `tenant`, `client` or `user`.
    pub kind: &'static str,
    pub tenant: String,
    /// Slug, client_id or email.
    pub name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<FieldChange>,
    #[serde(skip)]
    op: Op,
    /// Why idpd would refuse this change: the whole plan is refused before it starts.
    #[serde(skip)]
    blocked: Option<String>,
}

#[derive(Debug, Clone)]
enum Op {
    None,
    CreateTenant(Box<CreateTenant>),
    UpdateTenant(Box<UpdateTenant>),
    CreateClient(Box<CreateClient>, bool),
    UpdateClient(Box<UpdateClient>),
    DeleteClient,
    CreateUser(Box<CreateUser>, Option<bool>),
    UpdateUser(Box<UpdateUser>),
    DeleteUser,
    CreateProvider(Box<CreateProvider>),
    UpdateProvider(Box<UpdateProvider>),
    DeleteProvider,
    SetDefaultProvider(String),
}

/// A client secret made by apply: shown once.
#[derive(Debug, Clone, Serialize)]
pub struct NewSecret {
    pub tenant: String,
    pub client_id: String,
    pub client_secret: String,
}

struct Diff {
    changes: Vec<FieldChange>,
}

impl Diff {
    fn new() -> Self {
        Diff {
            changes: Vec::new(),
        }
    }

    /// Records `field` when the document sets it and it differs; returns the wanted value
    /// to send.
    fn field<T: Serialize + PartialEq + Clone>(
        &mut self,
        field: &'static str,
        current: &T,
        wanted: Option<&T>,
    ) -> Option<T> {
        let wanted = wanted?;
        if wanted == current {
            return None;
        }
        self.changes.push(FieldChange {
            field,
            from: json!(current),
            to: json!(wanted),
        });
        Some(wanted.clone())
    }
}

fn seconds(text: &Option<String>) -> Option<i64> {
    text.as_deref().and_then(|t| parse_seconds(t).ok())
}

/// `off` is no automatic rotation.
fn rotation(text: &Option<String>) -> Option<Option<i64>> {
    match text.as_deref() {
        None => None,
        Some("off") => Some(None),
        Some(t) => parse_seconds(t).ok().map(Some),
    }
}

fn session_patch(s: &SessionDoc) -> SessionSettingsPatch {
    SessionSettingsPatch {
        cookie_name: s.cookie_name.clone(),
        cookie_domain: s.cookie_domain.clone().map(Some),
        ttl_seconds: seconds(&s.ttl),
        idle_ttl_seconds: seconds(&s.idle_ttl),
        same_site: s.same_site,
    }
}

/// The plan for the documents against the server, with deletions when `prune`.
pub fn plan(api: &Api, docs: &[TenantDoc], prune: bool) -> Result<Vec<Change>, Error> {
    let mut plan = Vec::new();
    for d in docs {
        let current = match api.get_tenant(&d.slug) {
            Ok(t) => Some(t),
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e),
        };
        match &current {
            None => plan.push(Change {
                action: Action::Create,
                kind: "tenant",
                tenant: d.slug.clone(),
                name: d.slug.clone(),
                changes: Vec::new(),
                blocked: None,
                op: Op::CreateTenant(Box::new(CreateTenant {
                    name: d.name.clone(),
                    slug: Some(d.slug.clone()),
                    locales: d.locales.clone(),
                    session: d.session.as_ref().map(session_patch),
                    signup_policy: d.signup_policy,
                    access_token_alg: d.access_token_alg,
                    key_rotation_interval_seconds: rotation(&d.key_rotation),
                })),
            }),
            Some(t) => plan.push(tenant_update(t, d)),
        }
        let (clients, users, providers) = match &current {
            Some(_) => (
                api.list_all_clients(&d.slug, None)?.items,
                api.list_all_users(&d.slug, None)?.items,
                api.json::<(), ProviderList>(
                    Method::GET,
                    &["tenants", &d.slug, "providers"],
                    None,
                )?
                .items,
            ),
            None => (Vec::new(), Vec::new(), Vec::new()),
        };
        for p in &d.providers {
            plan.push(match providers.iter().find(|x| x.name == p.name) {
                None => provider_create(&d.slug, p),
                Some(x) => provider_update(&d.slug, x, p),
            });
        }
        let current_default = current
            .as_ref()
            .map_or("native", |t| t.default_provider.as_str());
        if let Some(wanted) = &d.default_provider
            && wanted != current_default
        {
            plan.push(Change {
                action: Action::Update,
                kind: "tenant",
                tenant: d.slug.clone(),
                name: d.slug.clone(),
                changes: vec![FieldChange {
                    field: "defaultProvider",
                    from: json!(current_default),
                    to: json!(wanted),
                }],
                op: Op::SetDefaultProvider(wanted.clone()),
                blocked: None,
            });
        }
        for c in &d.clients {
            plan.push(match clients.iter().find(|x| x.client_id == c.client_id) {
                None => client_create(&d.slug, c),
                Some(x) => client_update(&d.slug, x, c),
            });
        }
        for u in &d.users {
            let email = u.email.trim().to_lowercase();
            plan.push(match users.iter().find(|x| x.email == email) {
                None => user_create(&d.slug, u),
                Some(x) => user_update(&d.slug, x, u),
            });
        }
        if prune {
            for x in &providers {
                if x.kind == ProviderKind::ExternalOidc
                    && !d.providers.iter().any(|p| p.name == x.name)
                {
                    let mut delete = deletion("provider", &d.slug, &x.name, Op::DeleteProvider);
                    let default_after = d.default_provider.as_deref().unwrap_or(current_default);
                    if default_after == x.name {
                        delete.blocked = Some(
                            "it is the default provider: set defaultProvider to another one to \
                             prune it"
                                .into(),
                        );
                    }
                    plan.push(delete);
                }
            }
            for x in &clients {
                if !d.clients.iter().any(|c| c.client_id == x.client_id) {
                    plan.push(deletion("client", &d.slug, &x.client_id, Op::DeleteClient));
                }
            }
            for x in &users {
                if !d
                    .users
                    .iter()
                    .any(|u| u.email.trim().eq_ignore_ascii_case(&x.email))
                {
                    plan.push(deletion("user", &d.slug, &x.email, Op::DeleteUser));
                }
            }
        }
    }
    Ok(plan)
}

fn deletion(kind: &'static str, tenant: &str, name: &str, op: Op) -> Change {
    Change {
        action: Action::Delete,
        kind,
        tenant: tenant.to_owned(),
        name: name.to_owned(),
        changes: Vec::new(),
        op,
        blocked: None,
    }
}

fn change(kind: &'static str, tenant: &str, name: &str, diff: Diff, op: Op) -> Change {
    let action = if diff.changes.is_empty() {
        Action::Unchanged
    } else {
        Action::Update
    };
    Change {
        action,
        kind,
        tenant: tenant.to_owned(),
        name: name.to_owned(),
        changes: diff.changes,
        op: if action == Action::Unchanged {
            Op::None
        } else {
            op
        },
        blocked: None,
    }
}

fn tenant_update(t: &Tenant, d: &TenantDoc) -> Change {
    let mut diff = Diff::new();
    let mut session = SessionSettingsPatch::default();
    if let Some(s) = &d.session {
        let cur = &t.session;
        session.cookie_name = diff.field(
            "session.cookieName",
            &cur.cookie_name,
            s.cookie_name.as_ref(),
        );
        session.cookie_domain = diff
            .field(
                "session.cookieDomain",
                &cur.cookie_domain,
                s.cookie_domain.clone().map(Some).as_ref(),
            )
            .map(|domain| domain.filter(|d| !d.is_empty()));
        session.ttl_seconds = diff.field("session.ttl", &cur.ttl_seconds, seconds(&s.ttl).as_ref());
        session.idle_ttl_seconds = diff.field(
            "session.idleTtl",
            &cur.idle_ttl_seconds,
            seconds(&s.idle_ttl).as_ref(),
        );
        session.same_site = diff.field("session.sameSite", &cur.same_site, s.same_site.as_ref());
    }
    let update = UpdateTenant {
        display_name: diff.field("name", &t.display_name, Some(&d.name)),
        locales: diff.field("locales", &t.locales, d.locales.as_ref()),
        signup_policy: diff.field("signupPolicy", &t.signup_policy, d.signup_policy.as_ref()),
        access_token_alg: diff.field(
            "accessTokenAlg",
            &t.access_token_alg,
            d.access_token_alg.as_ref(),
        ),
        key_rotation_interval_seconds: diff.field(
            "keyRotation",
            &t.key_rotation_interval_seconds,
            rotation(&d.key_rotation).as_ref(),
        ),
        session: (!session.is_empty()).then_some(session),
    };
    change(
        "tenant",
        &t.slug,
        &t.slug,
        diff,
        Op::UpdateTenant(Box::new(update)),
    )
}

fn client_create(tenant: &str, c: &ClientDoc) -> Change {
    Change {
        action: Action::Create,
        kind: "client",
        tenant: tenant.to_owned(),
        name: c.client_id.clone(),
        changes: Vec::new(),
        blocked: None,
        op: Op::CreateClient(
            Box::new(CreateClient {
                name: c.name.clone(),
                client_id: Some(c.client_id.clone()),
                public: c.public,
                redirect_uris: c.redirect_uris.clone().unwrap_or_default(),
                post_logout_redirect_uris: c.post_logout_redirect_uris.clone().unwrap_or_default(),
                grant_types: c.grant_types.clone().unwrap_or_default(),
                scopes: c.scopes.clone().unwrap_or_default(),
                access_token_ttl_seconds: seconds(&c.access_token_ttl),
                id_token_alg: c.id_token_alg,
            }),
            c.disabled == Some(true),
        ),
    }
}

fn client_update(tenant: &str, x: &Client, c: &ClientDoc) -> Change {
    let mut diff = Diff::new();
    // A client cannot change between public and confidential: its secret (or lack of one)
    // is part of what it is. The plan says so rather than silently ignoring the field.
    if x.public != c.public {
        diff.changes.push(FieldChange {
            field: "public",
            from: json!(x.public),
            to: json!(c.public),
        });
    }
    let update = UpdateClient {
        name: diff.field("name", &x.name, Some(&c.name)),
        redirect_uris: diff.field("redirectUris", &x.redirect_uris, c.redirect_uris.as_ref()),
        post_logout_redirect_uris: diff.field(
            "postLogoutRedirectUris",
            &x.post_logout_redirect_uris,
            c.post_logout_redirect_uris.as_ref(),
        ),
        grant_types: diff.field("grantTypes", &x.grant_types, c.grant_types.as_ref()),
        scopes: diff.field("scopes", &x.scopes, c.scopes.as_ref()),
        access_token_ttl_seconds: diff.field(
            "accessTokenTtl",
            &x.access_token_ttl_seconds,
            seconds(&c.access_token_ttl).as_ref(),
        ),
        disabled: diff.field("disabled", &x.disabled, c.disabled.as_ref()),
        id_token_alg: diff.field("idTokenAlg", &x.id_token_alg, c.id_token_alg.as_ref()),
    };
    let flipped = x.public != c.public;
    let mut change = change(
        "client",
        tenant,
        &c.client_id,
        diff,
        Op::UpdateClient(Box::new(update)),
    );
    if flipped {
        change.blocked = Some(
            "cannot change between public and confidential; delete it (or give it another \
             clientId) and apply again"
                .into(),
        );
    }
    change
}

fn user_create(tenant: &str, u: &UserDoc) -> Change {
    Change {
        action: Action::Create,
        kind: "user",
        tenant: tenant.to_owned(),
        name: u.email.trim().to_lowercase(),
        changes: Vec::new(),
        blocked: None,
        op: Op::CreateUser(
            Box::new(CreateUser {
                email: u.email.trim().to_owned(),
                name: u.name.clone(),
                locale: u.locale.clone(),
                email_verified: u.email_verified,
            }),
            u.disabled,
        ),
    }
}

fn user_update(tenant: &str, x: &User, u: &UserDoc) -> Change {
    let mut diff = Diff::new();
    let update = UpdateUser {
        email: None,
        name: diff.field("name", &x.name, u.name.clone().map(Some).as_ref()),
        locale: diff.field("locale", &x.locale, u.locale.clone().map(Some).as_ref()),
        email_verified: diff.field(
            "emailVerified",
            &x.email_verified,
            u.email_verified.as_ref(),
        ),
        disabled: diff.field("disabled", &x.disabled, u.disabled.as_ref()),
    };
    change(
        "user",
        tenant,
        &x.email,
        diff,
        Op::UpdateUser(Box::new(update)),
    )
}

fn provider_create(tenant: &str, p: &ProviderDoc) -> Change {
    Change {
        action: Action::Create,
        kind: "provider",
        tenant: tenant.to_owned(),
        name: p.name.clone(),
        changes: Vec::new(),
        blocked: p.client_secret.is_none().then(|| {
            "a new provider needs its client secret: clientSecretFile or clientSecretEnv".into()
        }),
        op: Op::CreateProvider(Box::new(CreateProvider {
            name: p.name.clone(),
            issuer: p.issuer.clone(),
            client_id: p.client_id.clone(),
            client_secret: p.client_secret.clone().unwrap_or_default(),
            authorization_endpoint: p.authorization_endpoint.clone(),
            token_endpoint: p.token_endpoint.clone(),
            jwks_uri: p.jwks_uri.clone(),
            userinfo_endpoint: p.userinfo_endpoint.clone(),
            scopes: p.scopes.clone().unwrap_or_default(),
            email_domains: p.email_domains.clone().unwrap_or_default(),
            link_by_email: p.link_by_email.unwrap_or(false),
            default: false,
        })),
    }
}

fn provider_update(tenant: &str, x: &Provider, p: &ProviderDoc) -> Change {
    let mut diff = Diff::new();
    let update = UpdateProvider {
        issuer: diff
            .field("issuer", &x.issuer, Some(&Some(p.issuer.clone())))
            .flatten(),
        client_id: diff
            .field("clientId", &x.client_id, Some(&Some(p.client_id.clone())))
            .flatten(),
        client_secret: None,
        authorization_endpoint: diff
            .field(
                "authorizationEndpoint",
                &x.authorization_endpoint,
                p.authorization_endpoint.clone().map(Some).as_ref(),
            )
            .flatten(),
        token_endpoint: diff
            .field(
                "tokenEndpoint",
                &x.token_endpoint,
                p.token_endpoint.clone().map(Some).as_ref(),
            )
            .flatten(),
        jwks_uri: diff
            .field(
                "jwksUri",
                &x.jwks_uri,
                p.jwks_uri.clone().map(Some).as_ref(),
            )
            .flatten(),
        userinfo_endpoint: diff
            .field(
                "userinfoEndpoint",
                &x.userinfo_endpoint,
                p.userinfo_endpoint.clone().map(Some).as_ref(),
            )
            .flatten(),
        scopes: diff.field("scopes", &x.scopes, p.scopes.as_ref()),
        email_domains: diff.field("emailDomains", &x.email_domains, p.email_domains.as_ref()),
        link_by_email: diff.field("linkByEmail", &x.link_by_email, p.link_by_email.as_ref()),
        rediscover: false,
    };
    change(
        "provider",
        tenant,
        &p.name,
        diff,
        Op::UpdateProvider(Box::new(update)),
    )
}

/// Problems in a plan that idpd would refuse; checked before anything is applied.
pub fn refusals(plan: &[Change]) -> Vec<String> {
    plan.iter()
        .filter_map(|c| {
            let name = if c.kind == "tenant" {
                c.name.clone()
            } else {
                format!("{}/{}", c.tenant, c.name)
            };
            c.blocked
                .as_ref()
                .map(|why| format!("{} {name}: {why}", c.kind))
        })
        .collect()
}

/// Carries out one change; returns a new client secret if one was made.
pub fn execute(api: &Api, c: &Change) -> Result<Option<NewSecret>, Error> {
    let t = c.tenant.as_str();
    match &c.op {
        Op::None => {}
        Op::CreateTenant(req) => {
            api.create_tenant(req)?;
        }
        Op::UpdateTenant(req) => {
            api.update_tenant(t, req)?;
        }
        Op::CreateClient(req, disabled) => {
            let created = api.create_client(t, req)?;
            if *disabled {
                api.update_client(
                    t,
                    &created.client.client_id,
                    &UpdateClient {
                        disabled: Some(true),
                        ..Default::default()
                    },
                )?;
            }
            return Ok(created.client_secret.map(|client_secret| NewSecret {
                tenant: t.to_owned(),
                client_id: created.client.client_id,
                client_secret,
            }));
        }
        Op::UpdateClient(req) => {
            api.update_client(t, &c.name, req)?;
        }
        Op::DeleteClient => api.delete_client(t, &c.name)?,
        Op::CreateUser(req, disabled) => {
            let user = api.create_user(t, req)?;
            if *disabled == Some(true) {
                api.disable_user(t, &user.id.to_string())?;
            }
        }
        Op::UpdateUser(req) => {
            api.update_user(t, &c.name, req)?;
        }
        Op::DeleteUser => api.delete_user(t, &c.name)?,
        Op::CreateProvider(req) => {
            api.json::<_, Provider>(
                Method::POST,
                &["tenants", t, "providers"],
                Some(req.as_ref()),
            )?;
        }
        Op::UpdateProvider(req) => {
            api.json::<_, Provider>(
                Method::PATCH,
                &["tenants", t, "providers", &c.name],
                Some(req.as_ref()),
            )?;
        }
        Op::DeleteProvider => api.empty(Method::DELETE, &["tenants", t, "providers", &c.name])?,
        Op::SetDefaultProvider(name) => {
            api.json::<(), Provider>(
                Method::POST,
                &["tenants", t, "providers", name, "default"],
                None,
            )?;
        }
    }
    Ok(None)
}

/// The document describing a tenant as it is: every field set, so that applying it back
/// changes nothing. Secrets are not included (idpd keeps only their digests).
pub fn export(api: &Api, tenant: &str) -> Result<TenantDoc, Error> {
    let t = api.get_tenant(tenant)?;
    let clients = api.list_all_clients(&t.slug, None)?.items;
    let users = api.list_all_users(&t.slug, None)?.items;
    let providers = api
        .json::<(), ProviderList>(Method::GET, &["tenants", &t.slug, "providers"], None)?
        .items;
    Ok(TenantDoc {
        default_provider: Some(t.default_provider.clone()),
        providers: providers
            .into_iter()
            .filter(|p| p.kind == ProviderKind::ExternalOidc)
            .map(|p| {
                // Endpoints found by discovery are found again; only explicit ones are kept.
                let explicit = |e: Option<String>| if p.discovery { None } else { e };
                ProviderDoc {
                    name: p.name,
                    issuer: p.issuer.unwrap_or_default(),
                    client_id: p.client_id.unwrap_or_default(),
                    client_secret_file: None,
                    client_secret_env: None,
                    authorization_endpoint: explicit(p.authorization_endpoint),
                    token_endpoint: explicit(p.token_endpoint),
                    jwks_uri: explicit(p.jwks_uri),
                    userinfo_endpoint: explicit(p.userinfo_endpoint),
                    scopes: Some(p.scopes),
                    email_domains: Some(p.email_domains),
                    link_by_email: Some(p.link_by_email),
                    client_secret: None,
                }
            })
            .collect(),
        api_version: doc::API_VERSION.into(),
        kind: doc::KIND.into(),
        slug: t.slug.clone(),
        name: t.display_name.clone(),
        locales: Some(t.locales.clone()),
        signup_policy: Some(t.signup_policy),
        access_token_alg: Some(t.access_token_alg),
        key_rotation: Some(
            t.key_rotation_interval_seconds
                .map_or_else(|| "off".to_owned(), format_seconds),
        ),
        session: Some(SessionDoc {
            cookie_name: Some(t.session.cookie_name.clone()),
            cookie_domain: t.session.cookie_domain.clone(),
            ttl: Some(format_seconds(t.session.ttl_seconds)),
            idle_ttl: Some(format_seconds(t.session.idle_ttl_seconds)),
            same_site: Some(t.session.same_site),
        }),
        clients: clients
            .into_iter()
            .map(|c| ClientDoc {
                client_id: c.client_id,
                name: c.name,
                public: c.public,
                redirect_uris: Some(c.redirect_uris),
                post_logout_redirect_uris: Some(c.post_logout_redirect_uris),
                grant_types: Some(c.grant_types),
                scopes: Some(c.scopes),
                access_token_ttl: Some(format_seconds(c.access_token_ttl_seconds)),
                id_token_alg: Some(c.id_token_alg),
                disabled: Some(c.disabled),
            })
            .collect(),
        users: users
            .into_iter()
            .map(|u| UserDoc {
                email: u.email,
                name: u.name,
                locale: u.locale,
                email_verified: Some(u.email_verified),
                disabled: Some(u.disabled),
            })
            .collect(),
    })
}

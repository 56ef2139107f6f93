//! `idpctl provider add|list|show|update|remove|set-default|test`: a tenant's identity
//! providers (the built-in `native` one and external OpenID Connect providers).

use std::io::Read;

use reqwest::Method;
use shared::admin::{CreateProvider, Provider, ProviderList, ProviderTest, UpdateProvider};

use super::{Context, confirm};
use crate::cli::{
    ProviderCommand, ProviderRef, ProviderSecretArgs, ProviderTenantArgs, ProviderUpdateArgs,
};
use crate::error::Error;
use crate::output::{Rows, Tabular};

/// The secret from `--client-secret-file` or `--client-secret-stdin`, without the final
/// line break.
fn read_secret(args: &ProviderSecretArgs) -> Result<Option<String>, Error> {
    let text = if let Some(path) = &args.client_secret_file {
        std::fs::read_to_string(path).map_err(|e| {
            Error::Usage(format!(
                "could not read the client secret from {}: {e}",
                path.display()
            ))
        })?
    } else if args.client_secret_stdin {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(|e| {
            Error::Usage(format!(
                "could not read the client secret from standard input: {e}"
            ))
        })?;
        text
    } else {
        return Ok(None);
    };
    let secret = text.trim_end_matches(['\r', '\n']).to_owned();
    if secret.is_empty() {
        return Err(Error::Usage("the client secret is empty".into()));
    }
    Ok(Some(secret))
}

fn opt_list(v: Vec<String>) -> Option<Vec<String>> {
    (!v.is_empty()).then_some(v)
}

pub fn run(command: ProviderCommand, ctx: &mut Context<'_>) -> Result<(), Error> {
    match command {
        ProviderCommand::Add(args) => {
            let Some(secret) = read_secret(&args.secret)? else {
                return Err(Error::Usage(
                    "the client secret is required: pass --client-secret-file PATH or \
                     --client-secret-stdin"
                        .into(),
                ));
            };
            let s = args.settings;
            let request = CreateProvider {
                name: args.name,
                issuer: args.issuer,
                client_id: args.client_id,
                client_secret: secret,
                authorization_endpoint: s.authorization_endpoint,
                token_endpoint: s.token_endpoint,
                jwks_uri: s.jwks_uri,
                userinfo_endpoint: s.userinfo_endpoint,
                scopes: s.scopes,
                email_domains: s.email_domains,
                link_by_email: args.link_by_email,
                default: args.default,
            };
            let p: Provider = ctx.client()?.json(
                Method::POST,
                &["tenants", &args.tenant, "providers"],
                Some(&request),
            )?;
            ctx.print(&p)
        }
        ProviderCommand::List(ProviderTenantArgs { tenant }) => {
            let list: ProviderList =
                ctx.client()?
                    .json(Method::GET, &["tenants", &tenant, "providers"], None::<&()>)?;
            ctx.print(&list)
        }
        ProviderCommand::Show(ProviderRef { tenant, name }) => {
            let p: Provider = ctx.client()?.json(
                Method::GET,
                &["tenants", &tenant, "providers", &name],
                None::<&()>,
            )?;
            ctx.print(&p)
        }
        ProviderCommand::Update(args) => update(args, ctx),
        ProviderCommand::Remove(args) => {
            let ProviderRef { tenant, name } = args.provider;
            if !args.yes && !ctx.interactive {
                return Err(Error::NotConfirmed(format!(
                    "remove provider {name} of tenant {tenant}"
                )));
            }
            let client = ctx.client()?;
            if !args.yes {
                confirm(format!(
                    "Remove provider {name} of tenant {tenant}? Its users stay, but lose the \
                     link to their upstream accounts."
                ))?;
            }
            client.empty(Method::DELETE, &["tenants", &tenant, "providers", &name])?;
            ctx.note(&format!("removed provider {name} of tenant {tenant}"));
            Ok(())
        }
        ProviderCommand::SetDefault(ProviderRef { tenant, name }) => {
            let p: Provider = ctx.client()?.json(
                Method::POST,
                &["tenants", &tenant, "providers", &name, "default"],
                None::<&()>,
            )?;
            ctx.print(&p)
        }
        ProviderCommand::Test(ProviderRef { tenant, name }) => {
            let result: ProviderTest = ctx.client()?.json(
                Method::POST,
                &["tenants", &tenant, "providers", &name, "test"],
                None::<&()>,
            )?;
            ctx.print(&result)?;
            if result.ok {
                Ok(())
            } else {
                Err(Error::CheckFailed(format!(
                    "provider {name} failed a check (see above)"
                )))
            }
        }
    }
}

fn update(args: ProviderUpdateArgs, ctx: &mut Context<'_>) -> Result<(), Error> {
    let ProviderRef { tenant, name } = args.provider;
    let s = args.settings;
    let request = UpdateProvider {
        issuer: args.issuer,
        client_id: args.client_id,
        client_secret: read_secret(&args.secret)?,
        authorization_endpoint: s.authorization_endpoint,
        token_endpoint: s.token_endpoint,
        jwks_uri: s.jwks_uri,
        userinfo_endpoint: s.userinfo_endpoint,
        scopes: opt_list(s.scopes),
        email_domains: if args.no_email_domains {
            Some(Vec::new())
        } else {
            opt_list(s.email_domains)
        },
        link_by_email: match (args.link_by_email, args.no_link_by_email) {
            (true, _) => Some(true),
            (false, true) => Some(false),
            _ => None,
        },
        rediscover: args.rediscover,
    };
    if request.is_empty() {
        return Err(Error::Usage(
            "nothing to change: pass at least one setting (see idpctl provider update --help)"
                .into(),
        ));
    }
    let p: Provider = ctx.client()?.json(
        Method::PATCH,
        &["tenants", &tenant, "providers", &name],
        Some(&request),
    )?;
    ctx.print(&p)
}

impl Tabular for Provider {
    fn rows(&self) -> Rows {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        Rows::fields(vec![
            ("id", self.id.to_string()),
            ("tenant", self.tenant.clone()),
            ("name", self.name.clone()),
            ("kind", kind(self)),
            ("default", self.is_default.to_string()),
            ("issuer", opt(&self.issuer)),
            ("client_id", opt(&self.client_id)),
            ("client_secret", secret_state(self)),
            ("redirect_uri", opt(&self.redirect_uri)),
            ("discovery", self.discovery.to_string()),
            ("authorization_endpoint", opt(&self.authorization_endpoint)),
            ("token_endpoint", opt(&self.token_endpoint)),
            ("jwks_uri", opt(&self.jwks_uri)),
            ("userinfo_endpoint", opt(&self.userinfo_endpoint)),
            ("scopes", self.scopes.join(" ")),
            ("email_domains", self.email_domains.join(", ")),
            ("link_by_email", self.link_by_email.to_string()),
        ])
    }
}

fn kind(p: &Provider) -> String {
    match p.kind {
        shared::admin::ProviderKind::Native => "native".into(),
        shared::admin::ProviderKind::ExternalOidc => "external_oidc".into(),
    }
}

fn secret_state(p: &Provider) -> String {
    if p.has_client_secret {
        "(stored encrypted)".into()
    } else {
        String::new()
    }
}

impl Tabular for ProviderList {
    fn rows(&self) -> Rows {
        Rows {
            header: vec!["NAME", "KIND", "DEFAULT", "ISSUER", "EMAIL_DOMAINS"],
            rows: self
                .items
                .iter()
                .map(|p| {
                    vec![
                        p.name.clone(),
                        kind(p),
                        if p.is_default { "yes" } else { "" }.into(),
                        p.issuer.clone().unwrap_or_default(),
                        p.email_domains.join(", "),
                    ]
                })
                .collect(),
        }
    }
}

impl Tabular for ProviderTest {
    fn rows(&self) -> Rows {
        Rows {
            header: vec!["CHECK", "RESULT", "DETAIL"],
            rows: self
                .checks
                .iter()
                .map(|c| {
                    vec![
                        c.check.clone(),
                        if c.ok { "ok" } else { "FAILED" }.into(),
                        c.detail.clone(),
                    ]
                })
                .collect(),
        }
    }
}

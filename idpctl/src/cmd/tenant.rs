//! `idpctl tenant create|list|show|update|delete`.

use dialoguer::{Confirm, Input};
use shared::admin::{CreateTenant, SessionSettingsPatch, SignupPolicy, UpdateTenant};

use super::Context;
use crate::cli::{CreateArgs, DeleteArgs, ListArgs, SettingsArgs, TenantCommand, UpdateArgs};
use crate::error::Error;
use crate::output::Format;

pub fn run(command: TenantCommand, ctx: &mut Context<'_>) -> Result<(), Error> {
    match command {
        TenantCommand::Create(args) => create(args, ctx),
        TenantCommand::List(args) => list(args, ctx),
        TenantCommand::Show(args) => {
            let tenant = ctx.client()?.get_tenant(&args.tenant)?;
            ctx.print(&tenant)
        }
        TenantCommand::Update(args) => update(args, ctx),
        TenantCommand::Delete(args) => delete(args, ctx),
    }
}

fn create(args: CreateArgs, ctx: &mut Context<'_>) -> Result<(), Error> {
    if args.name.is_none() && !ctx.interactive {
        return Err(Error::Usage(
            "missing the tenant NAME: pass it as an argument, e.g. `idpctl tenant create \
             \"Acme Corp\"` (idpctl asks for it only on a terminal, with table output)"
                .into(),
        ));
    }
    let Settings {
        locales,
        signup_policy,
        mut session,
    } = args.settings.into();
    session.cookie_domain = args.cookie_domain.map(Some);
    // The token comes before the prompt: better to fail before the operator types.
    let client = ctx.client()?;
    let name = match args.name {
        Some(name) => name,
        None => Input::<String>::new()
            .with_prompt("Tenant name")
            .interact_text()
            .map_err(Error::Prompt)?,
    };
    let request = CreateTenant {
        name,
        slug: args.slug,
        locales,
        session: (!session.is_empty()).then_some(session),
        signup_policy,
    };
    let tenant = client.create_tenant(&request)?;
    ctx.print(&tenant)
}

fn list(args: ListArgs, ctx: &mut Context<'_>) -> Result<(), Error> {
    let client = ctx.client()?;
    let page = match args.limit {
        Some(limit) => client.list_tenants(Some(limit), args.after.as_deref())?,
        None => client.list_all_tenants(args.after.as_deref())?,
    };
    ctx.print(&page)?;
    // JSON and YAML carry next_after themselves; a table has nowhere to show it.
    if let (Format::Table, Some(next)) = (ctx.output.format, &page.next_after) {
        ctx.note(&format!("more tenants follow: pass --after {next}"));
    }
    Ok(())
}

fn update(args: UpdateArgs, ctx: &mut Context<'_>) -> Result<(), Error> {
    let Settings {
        locales,
        signup_policy,
        mut session,
    } = args.settings.into();
    session.cookie_domain = match (args.cookie_domain, args.no_cookie_domain) {
        (Some(domain), _) => Some(Some(domain)),
        (None, true) => Some(None),
        (None, false) => None,
    };
    let request = UpdateTenant {
        display_name: args.name,
        locales,
        session: (!session.is_empty()).then_some(session),
        signup_policy,
    };
    if request.is_empty() {
        return Err(Error::Usage(
            "nothing to change: pass at least one of --name, --locale, --signup-policy, \
             --cookie-name, --cookie-domain, --no-cookie-domain, --session-ttl, --idle-ttl, \
             --same-site"
                .into(),
        ));
    }
    let tenant = ctx.client()?.update_tenant(&args.tenant, &request)?;
    ctx.print(&tenant)
}

fn delete(args: DeleteArgs, ctx: &mut Context<'_>) -> Result<(), Error> {
    if !args.yes && !ctx.interactive {
        return Err(Error::NotConfirmed(args.tenant));
    }
    let client = ctx.client()?;
    let target = if args.yes {
        args.tenant
    } else {
        // Show what is about to go, by its name, before asking; a typo fails here with 404.
        let tenant = client.get_tenant(&args.tenant)?;
        let confirmed = Confirm::new()
            .with_prompt(format!(
                "Delete tenant {} ({}) with all its users, clients, keys and sessions?",
                tenant.slug, tenant.display_name
            ))
            .default(false)
            .interact()
            .map_err(Error::Prompt)?;
        if !confirmed {
            return Err(Error::Aborted);
        }
        tenant.slug
    };
    client.delete_tenant(&target)?;
    ctx.note(&format!("deleted tenant {target}"));
    Ok(())
}

/// The settings `create` and `update` share, in request form.
struct Settings {
    locales: Option<Vec<String>>,
    signup_policy: Option<SignupPolicy>,
    session: SessionSettingsPatch,
}

impl From<SettingsArgs> for Settings {
    fn from(args: SettingsArgs) -> Self {
        Settings {
            locales: (!args.locales.is_empty()).then_some(args.locales),
            signup_policy: args.signup_policy.map(Into::into),
            session: SessionSettingsPatch {
                cookie_name: args.cookie_name,
                cookie_domain: None,
                ttl_seconds: args.session_ttl,
                idle_ttl_seconds: args.idle_ttl,
                same_site: args.same_site.map(Into::into),
            },
        }
    }
}

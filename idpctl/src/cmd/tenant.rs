//! `idpctl tenant create|list|show|update|delete`.

use dialoguer::Input;
use shared::admin::{Alg, CreateTenant, SessionSettingsPatch, SignupPolicy, UpdateTenant};

use super::{Context, confirm};
use crate::cli::{CreateArgs, DeleteArgs, ListArgs, SettingsArgs, TenantCommand, UpdateArgs};
use crate::error::Error;

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

fn create(mut args: CreateArgs, ctx: &mut Context<'_>) -> Result<(), Error> {
    if args.name.is_none() && !ctx.interactive {
        return Err(Error::Usage(
            "missing the tenant NAME: pass it as an argument, e.g. `idpctl tenant create \
             \"Acme Corp\"` (idpctl asks for it only on a terminal, with table output)"
                .into(),
        ));
    }
    // The token comes before the prompt: better to fail before the operator types.
    let client = ctx.client()?;
    let name = match args.name.take() {
        Some(name) => name,
        None => Input::<String>::new()
            .with_prompt("Tenant name")
            .interact_text()
            .map_err(Error::Prompt)?,
    };
    let request = create_request(args, name);
    let tenant = client.create_tenant(&request)?;
    ctx.print(&tenant)
}

fn create_request(args: CreateArgs, name: String) -> CreateTenant {
    let Settings {
        locales,
        signup_policy,
        mut session,
        access_token_alg,
        key_rotation_interval,
    } = args.settings.into();
    session.cookie_domain = args.cookie_domain.map(Some);
    CreateTenant {
        name,
        slug: args.slug,
        locales,
        session: (!session.is_empty()).then_some(session),
        signup_policy,
        access_token_alg,
        key_rotation_interval_seconds: key_rotation_interval.map(Some),
    }
}

fn list(args: ListArgs, ctx: &mut Context<'_>) -> Result<(), Error> {
    let client = ctx.client()?;
    let page = match args.limit {
        Some(limit) => client.list_tenants(Some(limit), args.after.as_deref())?,
        None => client.list_all_tenants(args.after.as_deref())?,
    };
    ctx.print(&page)?;
    // JSON and YAML carry next_after themselves; a table has nowhere to show it.
    if let (true, Some(next)) = (ctx.output.format.is_table(), &page.next_after) {
        ctx.note(&format!("more tenants follow: pass --after {next}"));
    }
    Ok(())
}

fn update(args: UpdateArgs, ctx: &mut Context<'_>) -> Result<(), Error> {
    let tenant = args.tenant.clone();
    let request = update_request(args);
    if request.is_empty() {
        return Err(Error::Usage(
            "nothing to change: pass at least one of --name, --locale, --signup-policy, \
             --cookie-name, --cookie-domain, --no-cookie-domain, --session-ttl, --idle-ttl, \
             --same-site, --access-token-alg, --key-rotation-interval, --no-key-rotation"
                .into(),
        ));
    }
    let tenant = ctx.client()?.update_tenant(&tenant, &request)?;
    ctx.print(&tenant)
}

fn update_request(args: UpdateArgs) -> UpdateTenant {
    let Settings {
        locales,
        signup_policy,
        mut session,
        access_token_alg,
        key_rotation_interval,
    } = args.settings.into();
    session.cookie_domain = match (args.cookie_domain, args.no_cookie_domain) {
        (Some(domain), _) => Some(Some(domain)),
        (None, true) => Some(None),
        (None, false) => None,
    };
    UpdateTenant {
        display_name: args.name,
        locales,
        session: (!session.is_empty()).then_some(session),
        signup_policy,
        access_token_alg,
        // `null` turns rotation off; an absent field leaves it as it is.
        key_rotation_interval_seconds: match (key_rotation_interval, args.no_key_rotation) {
            (Some(every), _) => Some(Some(every)),
            (None, true) => Some(None),
            (None, false) => None,
        },
    }
}

fn delete(args: DeleteArgs, ctx: &mut Context<'_>) -> Result<(), Error> {
    if !args.yes && !ctx.interactive {
        return Err(Error::NotConfirmed(format!(
            "delete tenant {}",
            args.tenant
        )));
    }
    let client = ctx.client()?;
    let target = if args.yes {
        args.tenant
    } else {
        // Show what is about to go, by its name, before asking; a typo fails here with 404.
        let tenant = client.get_tenant(&args.tenant)?;
        confirm(format!(
            "Delete tenant {} ({}) with all its users, clients, keys and sessions?",
            tenant.slug, tenant.display_name
        ))?;
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
    access_token_alg: Option<Alg>,
    key_rotation_interval: Option<i64>,
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
            access_token_alg: args.access_token_alg.map(Into::into),
            key_rotation_interval: args.key_rotation_interval,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::cli::{self, Command};

    fn tenant_command(args: &[&str]) -> TenantCommand {
        let argv = ["idpctl", "tenant"].iter().chain(args);
        match cli::parse(argv.copied()).map(|inv| inv.cli.command) {
            Ok(Command::Tenant(command)) => command,
            Ok(_) => panic!("{args:?} is not a tenant command"),
            Err(e) => panic!("{args:?} did not parse: {e}"),
        }
    }

    fn update_body(args: &[&str]) -> Value {
        let mut argv = vec!["update", "acme"];
        argv.extend(args);
        let TenantCommand::Update(args) = tenant_command(&argv) else {
            unreachable!()
        };
        serde_json::to_value(update_request(args)).unwrap()
    }

    #[test]
    fn no_key_rotation_sends_null() {
        assert_eq!(
            update_body(&["--no-key-rotation"]),
            json!({"key_rotation_interval_seconds": null})
        );
        assert_eq!(
            update_body(&[
                "--key-rotation-interval",
                "90d",
                "--access-token-alg",
                "EdDSA"
            ]),
            json!({"key_rotation_interval_seconds": 7_776_000, "access_token_alg": "EdDSA"})
        );
        assert_eq!(update_body(&["--name", "A"]), json!({"display_name": "A"}));
    }

    #[test]
    fn no_cookie_domain_sends_null_inside_session() {
        assert_eq!(
            update_body(&["--no-cookie-domain", "--idle-ttl", "1h"]),
            json!({"session": {"cookie_domain": null, "idle_ttl_seconds": 3600}})
        );
    }

    #[test]
    fn create_sends_only_what_was_given() {
        let TenantCommand::Create(args) = tenant_command(&[
            "create",
            "Acme",
            "--access-token-alg",
            "rs256",
            "--key-rotation-interval",
            "30d",
        ]) else {
            unreachable!()
        };
        let body = serde_json::to_value(create_request(args, "Acme".into())).unwrap();
        assert_eq!(
            body,
            json!({
                "name": "Acme",
                "access_token_alg": "RS256",
                "key_rotation_interval_seconds": 2_592_000
            })
        );
    }

    #[test]
    fn key_rotation_flags_conflict() {
        let err = cli::parse([
            "idpctl",
            "tenant",
            "update",
            "a",
            "--key-rotation-interval",
            "30d",
            "--no-key-rotation",
        ]);
        assert_eq!(
            err.err().map(|e| e.kind()),
            Some(clap::error::ErrorKind::ArgumentConflict)
        );
    }
}

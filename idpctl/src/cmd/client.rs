//! `idpctl client create|list|show|update|delete|rotate-secret`: a tenant's OAuth clients.

use dialoguer::Input;
use shared::admin::{CreateClient, RotateSecret, UpdateClient};

use super::{Context, confirm};
use crate::cli::{
    ClientCommand, ClientCreateArgs, ClientDeleteArgs, ClientListArgs, ClientRef,
    ClientSettingsArgs, ClientUpdateArgs, RotateSecretArgs, Scopes,
};
use crate::duration::format_seconds;
use crate::error::Error;

pub fn run(command: ClientCommand, ctx: &mut Context<'_>) -> Result<(), Error> {
    match command {
        ClientCommand::Create(args) => create(args, ctx),
        ClientCommand::List(args) => list(args, ctx),
        ClientCommand::Show(ClientRef { tenant, client_id }) => {
            let client = ctx.client()?.get_client(&tenant, &client_id)?;
            ctx.print(&client)
        }
        ClientCommand::Update(args) => update(args, ctx),
        ClientCommand::Delete(args) => delete(args, ctx),
        ClientCommand::RotateSecret(args) => rotate_secret(args, ctx),
    }
}

fn create(mut args: ClientCreateArgs, ctx: &mut Context<'_>) -> Result<(), Error> {
    let missing: Vec<&str> = [
        ("--tenant", args.tenant.is_none()),
        ("--name", args.name.is_none()),
    ]
    .into_iter()
    .filter_map(|(flag, missing)| missing.then_some(flag))
    .collect();
    if !missing.is_empty() && !ctx.interactive {
        return Err(Error::Usage(format!(
            "missing {}: e.g. `idpctl client create --tenant acme --name \"Web app\" \
             --redirect-uri https://app.example.com/callback` (idpctl asks for them only on a \
             terminal, with table output)",
            missing.join(" and ")
        )));
    }
    // The token comes before the prompts: better to fail before the operator types.
    let client = ctx.client()?;
    let tenant = match args.tenant.take() {
        Some(tenant) => tenant,
        None => Input::<String>::new()
            .with_prompt("Tenant (slug or id)")
            .validate_with(|value: &String| crate::cli::parse_tenant_ref(value).map(drop))
            .interact_text()
            .map_err(Error::Prompt)?,
    };
    let name = match args.name.take() {
        Some(name) => name,
        None => Input::<String>::new()
            .with_prompt("Client name")
            .interact_text()
            .map_err(Error::Prompt)?,
    };
    let created = client.create_client(&tenant, &create_request(args, name))?;
    ctx.print(&created)?;
    // JSON and YAML are for scripts, which have the field; a person may not notice.
    if ctx.output.format.is_table() && created.client_secret.is_some() {
        ctx.note(
            "the client_secret is shown only this once: store it now (it cannot be shown \
             again, only replaced with `idpctl client rotate-secret`)",
        );
    }
    Ok(())
}

fn create_request(args: ClientCreateArgs, name: String) -> CreateClient {
    let ClientSettingsArgs {
        redirect_uris,
        post_logout_redirect_uris,
        grants,
        scopes,
        access_token_ttl,
        id_token_alg,
    } = args.settings;
    CreateClient {
        name,
        client_id: args.client_id,
        public: args.public,
        redirect_uris,
        post_logout_redirect_uris,
        grant_types: grants,
        scopes: flatten(scopes),
        access_token_ttl_seconds: access_token_ttl,
        id_token_alg: id_token_alg.map(Into::into),
    }
}

fn list(args: ClientListArgs, ctx: &mut Context<'_>) -> Result<(), Error> {
    let client = ctx.client()?;
    let page = match args.limit {
        Some(limit) => client.list_clients(&args.tenant, Some(limit), args.after.as_deref())?,
        None => client.list_all_clients(&args.tenant, args.after.as_deref())?,
    };
    ctx.print(&page)?;
    // JSON and YAML carry next_after themselves; a table has nowhere to show it.
    if let (true, Some(next)) = (ctx.output.format.is_table(), &page.next_after) {
        ctx.note(&format!("more clients follow: pass --after {next}"));
    }
    Ok(())
}

fn update(args: ClientUpdateArgs, ctx: &mut Context<'_>) -> Result<(), Error> {
    let (tenant, client_id) = (args.client.tenant.clone(), args.client.client_id.clone());
    let request = update_request(args);
    if request.is_empty() {
        return Err(Error::Usage(
            "nothing to change: pass at least one of --name, --redirect-uri, \
             --no-redirect-uris, --post-logout-redirect-uri, --no-post-logout-redirect-uris, \
             --grant, --scope, --access-token-ttl, --id-token-alg, --disable, --enable"
                .into(),
        ));
    }
    let client = ctx.client()?.update_client(&tenant, &client_id, &request)?;
    ctx.print(&client)
}

/// Lists given on the command line replace the client's whole list.
fn update_request(args: ClientUpdateArgs) -> UpdateClient {
    let ClientSettingsArgs {
        redirect_uris,
        post_logout_redirect_uris,
        grants,
        scopes,
        access_token_ttl,
        id_token_alg,
    } = args.settings;
    UpdateClient {
        name: args.name,
        redirect_uris: replacement(redirect_uris, args.no_redirect_uris),
        post_logout_redirect_uris: replacement(
            post_logout_redirect_uris,
            args.no_post_logout_redirect_uris,
        ),
        grant_types: replacement(grants, false),
        scopes: replacement(flatten(scopes), false),
        access_token_ttl_seconds: access_token_ttl,
        id_token_alg: id_token_alg.map(Into::into),
        disabled: match (args.disable, args.enable) {
            (true, _) => Some(true),
            (false, true) => Some(false),
            (false, false) => None,
        },
    }
}

/// The new list, an empty one when `clear`, or `None` (unchanged) when neither was given.
fn replacement(list: Vec<String>, clear: bool) -> Option<Vec<String>> {
    if clear {
        Some(Vec::new())
    } else {
        (!list.is_empty()).then_some(list)
    }
}

fn flatten(scopes: Vec<Scopes>) -> Vec<String> {
    scopes.into_iter().flat_map(|Scopes(s)| s).collect()
}

fn delete(args: ClientDeleteArgs, ctx: &mut Context<'_>) -> Result<(), Error> {
    let ClientRef { tenant, client_id } = args.client;
    if !args.yes && !ctx.interactive {
        return Err(Error::NotConfirmed(format!(
            "delete client {client_id} of tenant {tenant}"
        )));
    }
    let client = ctx.client()?;
    if !args.yes {
        // Show what is about to go, by its name, before asking; a typo fails here with 404.
        let found = client.get_client(&tenant, &client_id)?;
        confirm(format!(
            "Delete client {} ({}) of tenant {}? It can no longer get tokens.",
            found.client_id, found.name, tenant
        ))?;
    }
    client.delete_client(&tenant, &client_id)?;
    ctx.note(&format!("deleted client {client_id} of tenant {tenant}"));
    Ok(())
}

fn rotate_secret(args: RotateSecretArgs, ctx: &mut Context<'_>) -> Result<(), Error> {
    let ClientRef { tenant, client_id } = args.client;
    if !args.yes && !ctx.interactive {
        return Err(Error::NotConfirmed(format!(
            "rotate the secret of client {client_id} of tenant {tenant}"
        )));
    }
    let client = ctx.client()?;
    if !args.yes {
        let found = client.get_client(&tenant, &client_id)?;
        let until = match args.grace {
            None | Some(0) => "at once".to_owned(),
            Some(grace) => format!("in {}", format_seconds(grace)),
        };
        confirm(format!(
            "Rotate the secret of client {} ({}) of tenant {}? The current secret stops \
             working {until}.",
            found.client_id, found.name, tenant
        ))?;
    }
    let request = RotateSecret {
        grace_seconds: args.grace,
    };
    let rotated = client.rotate_client_secret(&tenant, &client_id, &request)?;
    ctx.print(&rotated)?;
    if ctx.output.format.is_table() {
        ctx.note("the new client_secret is shown only this once: store it now");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::cli::{self, Command};

    fn client_command(args: &[&str]) -> ClientCommand {
        let argv = ["idpctl", "client"].iter().chain(args);
        match cli::parse(argv.copied()).map(|inv| inv.cli.command) {
            Ok(Command::Client(command)) => command,
            Ok(_) => panic!("{args:?} is not a client command"),
            Err(e) => panic!("{args:?} did not parse: {e}"),
        }
    }

    fn update_body(args: &[&str]) -> Value {
        let mut argv = vec!["update", "--tenant", "acme", "web"];
        argv.extend(args);
        let ClientCommand::Update(args) = client_command(&argv) else {
            unreachable!()
        };
        serde_json::to_value(update_request(args)).unwrap()
    }

    #[test]
    fn update_sends_only_what_changes() {
        assert_eq!(update_body(&[]), json!({}));
        assert_eq!(
            update_body(&["--name", "Web", "--access-token-ttl", "5m"]),
            json!({"name": "Web", "access_token_ttl_seconds": 300})
        );
        assert_eq!(update_body(&["--disable"]), json!({"disabled": true}));
        assert_eq!(update_body(&["--enable"]), json!({"disabled": false}));
    }

    #[test]
    fn update_lists_replace_and_can_be_cleared() {
        assert_eq!(
            update_body(&[
                "--redirect-uri",
                "https://a.example/cb?x=1,2",
                "--redirect-uri",
                "https://b.example/cb",
                "--no-post-logout-redirect-uris",
            ]),
            json!({
                "redirect_uris": ["https://a.example/cb?x=1,2", "https://b.example/cb"],
                "post_logout_redirect_uris": []
            })
        );
        assert_eq!(
            update_body(&["--no-redirect-uris"]),
            json!({"redirect_uris": []})
        );
    }

    #[test]
    fn grants_take_short_names_and_scopes_split_on_spaces_and_commas() {
        assert_eq!(
            update_body(&[
                "--grant",
                "authorization_code,device_code",
                "--grant",
                "jwt-bearer",
                "--scope",
                "openid profile",
                "--scope",
                "email,offline_access",
            ]),
            json!({
                "grant_types": [
                    "authorization_code",
                    "urn:ietf:params:oauth:grant-type:device_code",
                    "urn:ietf:params:oauth:grant-type:jwt-bearer"
                ],
                "scopes": ["openid", "profile", "email", "offline_access"]
            })
        );
    }

    #[test]
    fn bad_grants_empty_scopes_and_conflicts_are_usage_errors() {
        use clap::error::ErrorKind;
        let kind = |args: &[&str]| {
            let argv = ["idpctl", "client", "update", "--tenant", "t", "x"];
            cli::parse(argv.iter().chain(args).copied())
                .err()
                .map(|e| e.kind())
        };
        assert_eq!(
            kind(&["--grant", "password"]),
            Some(ErrorKind::ValueValidation)
        );
        assert_eq!(kind(&["--scope", " "]), Some(ErrorKind::ValueValidation));
        assert_eq!(
            kind(&["--disable", "--enable"]),
            Some(ErrorKind::ArgumentConflict)
        );
        assert_eq!(
            kind(&["--redirect-uri", "https://a/cb", "--no-redirect-uris"]),
            Some(ErrorKind::ArgumentConflict)
        );
    }

    #[test]
    fn create_sends_defaults_as_absent() {
        let ClientCommand::Create(args) = client_command(&[
            "create",
            "--tenant",
            "acme",
            "--name",
            "CLI",
            "--public",
            "--redirect-uri",
            "http://127.0.0.1/cb",
            "--scope",
            "openid",
        ]) else {
            unreachable!()
        };
        assert_eq!(args.tenant.as_deref(), Some("acme"));
        let body = serde_json::to_value(create_request(args, "CLI".into())).unwrap();
        assert_eq!(
            body,
            json!({
                "name": "CLI",
                "public": true,
                "redirect_uris": ["http://127.0.0.1/cb"],
                "scopes": ["openid"]
            })
        );
    }
}

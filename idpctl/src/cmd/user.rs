//! `idpctl user create|list|show|update|disable|delete`: a tenant's users.

use shared::admin::{CreateUser, UpdateUser};

use super::{Context, confirm};
use crate::cli::{
    UserCommand, UserConfirmArgs, UserCreateArgs, UserListArgs, UserRef, UserUpdateArgs,
};
use crate::error::Error;

pub fn run(command: UserCommand, ctx: &mut Context<'_>) -> Result<(), Error> {
    match command {
        UserCommand::Create(args) => {
            let tenant = args.tenant.clone();
            let user = ctx.client()?.create_user(&tenant, &create_request(args))?;
            ctx.print(&user)
        }
        UserCommand::List(args) => list(args, ctx),
        UserCommand::Show(UserRef { tenant, user }) => {
            let user = ctx.client()?.get_user(&tenant, &user)?;
            ctx.print(&user)
        }
        UserCommand::Update(args) => update(args, ctx),
        UserCommand::Disable(args) => disable(args, ctx),
        UserCommand::Delete(args) => delete(args, ctx),
    }
}

/// Defaults (a verified address) are left to the server, so only what was given is sent.
fn create_request(args: UserCreateArgs) -> CreateUser {
    CreateUser {
        email: args.email,
        name: args.name,
        locale: args.locale,
        email_verified: args.unverified.then_some(false),
    }
}

fn list(args: UserListArgs, ctx: &mut Context<'_>) -> Result<(), Error> {
    let client = ctx.client()?;
    let page = match args.limit {
        Some(limit) => client.list_users(&args.tenant, Some(limit), args.after.as_deref())?,
        None => client.list_all_users(&args.tenant, args.after.as_deref())?,
    };
    ctx.print(&page)?;
    // JSON and YAML carry next_after themselves; a table has nowhere to show it.
    if let (true, Some(next)) = (ctx.output.format.is_table(), &page.next_after) {
        ctx.note(&format!("more users follow: pass --after {next}"));
    }
    Ok(())
}

fn update(args: UserUpdateArgs, ctx: &mut Context<'_>) -> Result<(), Error> {
    let (tenant, user) = (args.user.tenant.clone(), args.user.user.clone());
    let request = update_request(args);
    if request.is_empty() {
        return Err(Error::Usage(
            "nothing to change: pass at least one of --email, --name, --no-name, --locale, \
             --no-locale, --verified, --unverified, --enable (to disable a user, use \
             `idpctl user disable`)"
                .into(),
        ));
    }
    let user = ctx.client()?.update_user(&tenant, &user, &request)?;
    ctx.print(&user)
}

/// `--no-name` and `--no-locale` send `null`, which clears the field.
fn update_request(args: UserUpdateArgs) -> UpdateUser {
    let clearable = |value: Option<String>, clear: bool| {
        if clear { Some(None) } else { value.map(Some) }
    };
    UpdateUser {
        email: args.email,
        name: clearable(args.name, args.no_name),
        locale: clearable(args.locale, args.no_locale),
        email_verified: match (args.verified, args.unverified) {
            (true, _) => Some(true),
            (false, true) => Some(false),
            (false, false) => None,
        },
        disabled: args.enable.then_some(false),
    }
}

fn disable(args: UserConfirmArgs, ctx: &mut Context<'_>) -> Result<(), Error> {
    let UserRef { tenant, user } = args.user;
    if !args.yes && !ctx.interactive {
        return Err(Error::NotConfirmed(format!(
            "disable user {user} of tenant {tenant}"
        )));
    }
    let client = ctx.client()?;
    if !args.yes {
        // Show whom this is about, by address, before asking; a typo fails here with 404.
        let found = client.get_user(&tenant, &user)?;
        confirm(format!(
            "Disable user {} of tenant {tenant}? They can no longer sign in, and their tokens \
             stop working.",
            found.email
        ))?;
    }
    let disabled = client.disable_user(&tenant, &user)?;
    ctx.print(&disabled)
}

fn delete(args: UserConfirmArgs, ctx: &mut Context<'_>) -> Result<(), Error> {
    let UserRef { tenant, user } = args.user;
    if !args.yes && !ctx.interactive {
        return Err(Error::NotConfirmed(format!(
            "delete user {user} of tenant {tenant}"
        )));
    }
    let client = ctx.client()?;
    if !args.yes {
        let found = client.get_user(&tenant, &user)?;
        confirm(format!(
            "Delete user {} of tenant {tenant}? This cannot be undone; `idpctl user disable` \
             can be.",
            found.email
        ))?;
    }
    client.delete_user(&tenant, &user)?;
    ctx.note(&format!("deleted user {user} of tenant {tenant}"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::cli::{self, Command};

    fn user_command(args: &[&str]) -> UserCommand {
        let argv = ["idpctl", "user"].iter().chain(args);
        match cli::parse(argv.copied()).map(|inv| inv.cli.command) {
            Ok(Command::User(command)) => command,
            Ok(_) => panic!("{args:?} is not a user command"),
            Err(e) => panic!("{args:?} did not parse: {e}"),
        }
    }

    fn update_body(args: &[&str]) -> Value {
        let mut argv = vec!["update", "--tenant", "acme", "alice@example.com"];
        argv.extend(args);
        let UserCommand::Update(args) = user_command(&argv) else {
            unreachable!()
        };
        serde_json::to_value(update_request(args)).unwrap()
    }

    #[test]
    fn update_sends_only_what_changes() {
        assert_eq!(update_body(&[]), json!({}));
        assert_eq!(
            update_body(&["--name", "Alice", "--locale", "nb"]),
            json!({"name": "Alice", "locale": "nb"})
        );
        assert_eq!(
            update_body(&["--no-name", "--no-locale"]),
            json!({"name": null, "locale": null})
        );
        assert_eq!(
            update_body(&["--email", "a@b.example", "--unverified"]),
            json!({"email": "a@b.example", "email_verified": false})
        );
        assert_eq!(
            update_body(&["--verified"]),
            json!({"email_verified": true})
        );
        assert_eq!(update_body(&["--enable"]), json!({"disabled": false}));
    }

    #[test]
    fn create_leaves_defaults_to_the_server() {
        let body = |args: &[&str]| {
            let mut argv = vec!["create", "--tenant", "acme", "--email", "Alice@Example.com"];
            argv.extend(args);
            let UserCommand::Create(args) = user_command(&argv) else {
                unreachable!()
            };
            serde_json::to_value(create_request(args)).unwrap()
        };
        assert_eq!(body(&[]), json!({"email": "Alice@Example.com"}));
        assert_eq!(
            body(&["--name", "Alice", "--locale", "en-US", "--unverified"]),
            json!({"email": "Alice@Example.com", "name": "Alice", "locale": "en-US", "email_verified": false})
        );
    }

    #[test]
    fn conflicting_or_missing_flags_are_usage_errors() {
        use clap::error::ErrorKind;
        let kind = |args: &[&str]| {
            cli::parse(["idpctl", "user"].iter().chain(args).copied())
                .err()
                .map(|e| e.kind())
        };
        let update = ["update", "--tenant", "t", "u@x.example"];
        for (extra, expected) in [
            (
                &["--name", "A", "--no-name"][..],
                ErrorKind::ArgumentConflict,
            ),
            (
                &["--locale", "nb", "--no-locale"],
                ErrorKind::ArgumentConflict,
            ),
            (&["--verified", "--unverified"], ErrorKind::ArgumentConflict),
        ] {
            let args: Vec<&str> = update.iter().chain(extra).copied().collect();
            assert_eq!(kind(&args), Some(expected), "{args:?}");
        }
        assert_eq!(
            kind(&["create", "--tenant", "t"]),
            Some(ErrorKind::MissingRequiredArgument)
        );
        assert_eq!(
            kind(&["show", "u@x.example"]),
            Some(ErrorKind::MissingRequiredArgument)
        );
        assert_eq!(
            kind(&["show", "--tenant", "t", ".."]),
            Some(ErrorKind::ValueValidation)
        );
    }

    #[test]
    fn user_arguments_may_start_with_a_hyphen() {
        let UserCommand::Delete(args) =
            user_command(&["delete", "--tenant", "acme", "-bob@example.com", "--yes"])
        else {
            unreachable!()
        };
        assert_eq!(args.user.user, "-bob@example.com");
        assert!(args.yes);
        let UserCommand::Create(args) =
            user_command(&["create", "--tenant", "acme", "--email", "-bob@example.com"])
        else {
            unreachable!()
        };
        assert_eq!(args.email, "-bob@example.com");
    }
}

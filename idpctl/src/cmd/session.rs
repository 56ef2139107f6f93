//! `idpctl session list|revoke`: a tenant's browser sessions.

use super::{Context, confirm};
use crate::cli::{SessionCommand, SessionRevokeArgs};
use crate::error::Error;

pub fn run(command: SessionCommand, ctx: &mut Context<'_>) -> Result<(), Error> {
    match command {
        SessionCommand::List(args) => {
            let list = ctx
                .client()?
                .list_sessions(&args.tenant, args.user.as_deref())?;
            ctx.print(&list)
        }
        SessionCommand::Revoke(args) => revoke(args, ctx),
    }
}

fn revoke(args: SessionRevokeArgs, ctx: &mut Context<'_>) -> Result<(), Error> {
    let SessionRevokeArgs { id, yes } = args;
    if !yes && !ctx.interactive {
        return Err(Error::NotConfirmed(format!("revoke session {id}")));
    }
    let client = ctx.client()?;
    if !yes {
        confirm(format!(
            "Revoke session {id}? The browser has to sign in again, and the refresh tokens \
             issued under the session stop working."
        ))?;
    }
    client.revoke_session(&id)?;
    ctx.note(&format!("revoked session {id}"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{self, Command};

    fn session_command(args: &[&str]) -> SessionCommand {
        let argv = ["idpctl", "session"].iter().chain(args);
        match cli::parse(argv.copied()).map(|inv| inv.cli.command) {
            Ok(Command::Session(command)) => command,
            Ok(_) => panic!("{args:?} is not a session command"),
            Err(e) => panic!("{args:?} did not parse: {e}"),
        }
    }

    #[test]
    fn list_takes_a_tenant_and_an_optional_user() {
        let SessionCommand::List(args) =
            session_command(&["list", "--tenant", "acme", "--user", "-bob@example.com"])
        else {
            unreachable!()
        };
        assert_eq!(args.tenant, "acme");
        assert_eq!(args.user.as_deref(), Some("-bob@example.com"));
        let SessionCommand::List(args) = session_command(&["list", "--tenant", "acme"]) else {
            unreachable!()
        };
        assert_eq!(args.user, None);
        let missing = cli::parse(["idpctl", "session", "list"])
            .err()
            .map(|e| e.kind());
        assert_eq!(
            missing,
            Some(clap::error::ErrorKind::MissingRequiredArgument)
        );
    }

    #[test]
    fn revoke_ids_may_start_with_a_hyphen() {
        let SessionCommand::Revoke(args) = session_command(&["revoke", "-x", "--yes"]) else {
            unreachable!()
        };
        assert_eq!(args.id, "-x");
        assert!(args.yes);
        let dots = cli::parse(["idpctl", "session", "revoke", ".."])
            .err()
            .map(|e| e.kind());
        assert_eq!(dots, Some(clap::error::ErrorKind::ValueValidation));
    }
}

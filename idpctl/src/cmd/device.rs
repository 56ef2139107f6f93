//! `idpctl device list|revoke`: the registered devices of a tenant's users.

use super::{Context, confirm};
use crate::cli::{DeviceCommand, DeviceRevokeArgs};
use crate::error::Error;

pub fn run(command: DeviceCommand, ctx: &mut Context<'_>) -> Result<(), Error> {
    match command {
        DeviceCommand::List(args) => {
            let list = ctx
                .client()?
                .list_devices(&args.tenant, args.user.as_deref())?;
            ctx.print(&list)
        }
        DeviceCommand::Revoke(args) => revoke(args, ctx),
    }
}

fn revoke(args: DeviceRevokeArgs, ctx: &mut Context<'_>) -> Result<(), Error> {
    let DeviceRevokeArgs { tenant, id, yes } = args;
    if !yes && !ctx.interactive {
        return Err(Error::NotConfirmed(format!("revoke device {id}")));
    }
    let client = ctx.client()?;
    if !yes {
        confirm(format!(
            "Revoke device {id} of tenant {tenant}? Its refresh tokens stop working and its \
             access tokens turn inactive at once; it must be registered again."
        ))?;
    }
    client.revoke_device(&tenant, &id)?;
    ctx.note(&format!("revoked device {id}"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::cli::{self, Command, DeviceCommand};

    fn device_command(args: &[&str]) -> DeviceCommand {
        let argv = ["idpctl", "device"].iter().chain(args);
        match cli::parse(argv.copied()).map(|inv| inv.cli.command) {
            Ok(Command::Device(command)) => command,
            Ok(_) => panic!("{args:?} is not a device command"),
            Err(e) => panic!("{args:?} did not parse: {e}"),
        }
    }

    #[test]
    fn list_and_revoke_arguments() {
        let DeviceCommand::List(args) =
            device_command(&["list", "--tenant", "acme", "--user", "bob@example.com"])
        else {
            unreachable!()
        };
        assert_eq!(
            (args.tenant.as_str(), args.user.as_deref()),
            ("acme", Some("bob@example.com"))
        );
        let DeviceCommand::Revoke(args) =
            device_command(&["revoke", "--tenant", "acme", "-x", "--yes"])
        else {
            unreachable!()
        };
        assert_eq!((args.id.as_str(), args.yes), ("-x", true));
        for bad in [
            &["idpctl", "device", "list"][..],
            &["idpctl", "device", "revoke", "ID"],
            &["idpctl", "device", "revoke", "--tenant", "acme"],
            &["idpctl", "device", "revoke", "--tenant", "acme", ".."],
        ] {
            assert!(cli::parse(bad.iter().copied()).is_err(), "{bad:?}");
        }
    }
}

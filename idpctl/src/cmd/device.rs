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

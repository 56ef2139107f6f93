//! `idpctl status`.

use super::Context;
use crate::error::Error;

pub fn show(ctx: &mut Context<'_>) -> Result<(), Error> {
    let status = ctx.client()?.status()?;
    ctx.print(&status)
}

//! `idpctl audit list|tail`: the audit log of admin changes and login attempts.

use std::time::Duration;

use shared::admin::AuditEvent;

use super::Context;
use crate::cli::{AuditCommand, AuditTailArgs};
use crate::client::AuditQuery;
use crate::error::Error;
use crate::output::{Format, timestamp};

pub fn run(command: AuditCommand, ctx: &mut Context<'_>) -> Result<(), Error> {
    match command {
        AuditCommand::List(args) => {
            let list = ctx.client()?.list_audit(&AuditQuery {
                tenant: args.filter.tenant.as_deref(),
                action: args.filter.action.as_deref(),
                since: args.since,
                after: None,
                limit: args.limit,
            })?;
            ctx.print(&list)
        }
        AuditCommand::Tail(args) => tail(args, ctx),
    }
}

/// Prints the newest `lines` events oldest first, then polls for newer ones: one line per
/// event (a JSON object per line with `-o json`, a YAML document per event with `-o yaml`).
fn tail(args: AuditTailArgs, ctx: &mut Context<'_>) -> Result<(), Error> {
    let client = ctx.client()?;
    let query = AuditQuery {
        tenant: args.filter.tenant.as_deref(),
        action: args.filter.action.as_deref(),
        since: None,
        after: None,
        limit: args.lines.max(1),
    };
    let mut newest = client.list_audit(&query)?.items;
    let mut after = newest.first().map_or(0, |e| e.seq);
    newest.truncate(args.lines as usize);
    newest.reverse();
    print_events(ctx, &newest)?;
    loop {
        std::thread::sleep(Duration::from_secs(args.interval));
        let events = client
            .list_audit(&AuditQuery {
                after: Some(after),
                limit: 1000,
                ..query
            })?
            .items;
        if let Some(last) = events.last() {
            after = last.seq;
        }
        print_events(ctx, &events)?;
    }
}

fn print_events(ctx: &mut Context<'_>, events: &[AuditEvent]) -> Result<(), Error> {
    let format = ctx.output.format;
    for e in events {
        let line = match format {
            Format::Json => serde_json::to_string(e).map_err(|e| Error::Usage(e.to_string()))?,
            Format::Yaml => format!(
                "---\n{}",
                serde_yaml::to_string(e).map_err(|e| Error::Usage(e.to_string()))?
            )
            .trim_end()
            .to_owned(),
            Format::Table | Format::Wide => format!(
                "{}  {}  {}  {}  {}  {}{}",
                timestamp(e.at),
                e.tenant.as_deref().unwrap_or("-"),
                e.actor,
                e.action,
                e.target.as_deref().unwrap_or("-"),
                e.outcome,
                e.reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default(),
            ),
        };
        writeln!(ctx.out, "{line}").map_err(Error::Output)?;
    }
    ctx.out.flush().map_err(Error::Output)
}

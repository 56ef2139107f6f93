//! `idpctl apply` and `idpctl export`.

use std::io::Write;

use serde::Serialize;

use super::{Context, confirm};
use crate::apply::{self, Action, Change, NewSecret};
use crate::cli::{ApplyArgs, ExportArgs};
use crate::error::Error;
use crate::output::Format;

/// What `apply -o json|yaml` prints: the plan, whether it was carried out, new secrets.
#[derive(Serialize)]
struct Report<'a> {
    changes: &'a [Change],
    summary: Summary,
    applied: bool,
    #[serde(skip_serializing_if = "<[NewSecret]>::is_empty")]
    secrets: &'a [NewSecret],
}

#[derive(Serialize, Default)]
struct Summary {
    create: usize,
    update: usize,
    delete: usize,
    unchanged: usize,
}

impl Summary {
    fn of(plan: &[Change]) -> Self {
        let mut s = Summary::default();
        for c in plan {
            match c.action {
                Action::Create => s.create += 1,
                Action::Update => s.update += 1,
                Action::Delete => s.delete += 1,
                Action::Unchanged => s.unchanged += 1,
            }
        }
        s
    }

    fn changes(&self) -> usize {
        self.create + self.update + self.delete
    }
}

pub fn apply(args: ApplyArgs, ctx: &mut Context<'_>) -> Result<(), Error> {
    let docs = apply::doc::load(&args.files).map_err(|p| Error::Documents(p.to_string()))?;
    let client = ctx.client()?;
    let plan = apply::plan(&client, &docs, args.prune)?;
    let refusals = apply::refusals(&plan);
    if !refusals.is_empty() {
        return Err(Error::Documents(format!(
            "{}\nnothing was applied",
            refusals.join("\n")
        )));
    }
    let summary = Summary::of(&plan);
    let table = ctx.output.format.is_table();
    if table {
        print_plan(ctx, &plan, &summary)?;
    }
    let mut secrets = Vec::new();
    let applied = !args.dry_run && summary.changes() > 0;
    if applied {
        if summary.delete > 0 && !args.yes {
            if !ctx.interactive {
                return Err(Error::NotConfirmed(format!(
                    "delete {} object(s) with --prune",
                    summary.delete
                )));
            }
            confirm(format!(
                "Apply the plan, deleting {} object(s)?",
                summary.delete
            ))?;
        }
        secrets = carry_out(ctx, &client, &plan, summary.changes())?;
    }
    if let Some(path) = &args.secrets_out
        && !secrets.is_empty()
    {
        write_secrets(path, &secrets)?;
        ctx.note(&format!(
            "{} new client secret(s) written to {}",
            secrets.len(),
            path.display()
        ));
    }
    let shown: &[NewSecret] = if args.secrets_out.is_some() {
        &[]
    } else {
        &secrets
    };
    if table {
        for s in shown {
            writeln!(
                ctx.out,
                "secret of client {}/{} (shown once): {}",
                s.tenant, s.client_id, s.client_secret
            )
            .map_err(Error::Output)?;
        }
    } else {
        let report = Report {
            changes: &plan,
            summary,
            applied,
            secrets: shown,
        };
        ctx.output.print_value(ctx.out, &report)?;
    }
    if args.dry_run {
        ctx.note("dry run: nothing was changed");
    } else if !applied {
        ctx.note("no changes");
    } else {
        ctx.note("applied");
    }
    Ok(())
}

/// Runs the changes in plan order, with a progress bar on a terminal.
fn carry_out(
    ctx: &mut Context<'_>,
    client: &crate::client::Client,
    plan: &[Change],
    total: usize,
) -> Result<Vec<NewSecret>, Error> {
    let bar = if ctx.progress {
        indicatif::ProgressBar::new(total as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut secrets = Vec::new();
    for c in plan.iter().filter(|c| c.action != Action::Unchanged) {
        bar.set_message(format!("{} {}/{}", c.kind, c.tenant, c.name));
        match apply::execute(client, c) {
            Ok(secret) => secrets.extend(secret),
            Err(e) => {
                bar.abandon();
                // Secrets already made must not be lost with the error.
                for s in &secrets {
                    ctx.note(&format!(
                        "secret of client {}/{} (shown once): {}",
                        s.tenant, s.client_id, s.client_secret
                    ));
                }
                ctx.note(&format!(
                    "stopped at {:?} {} {}/{}; the changes before it were applied",
                    c.action, c.kind, c.tenant, c.name
                ));
                return Err(e);
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(secrets)
}

fn print_plan(ctx: &mut Context<'_>, plan: &[Change], summary: &Summary) -> Result<(), Error> {
    let mut text = String::new();
    for c in plan {
        let (mark, verb) = match c.action {
            Action::Create => ('+', "create"),
            Action::Update => ('~', "update"),
            Action::Delete => ('-', "delete"),
            Action::Unchanged => (' ', "unchanged"),
        };
        let name = if c.kind == "tenant" {
            c.name.clone()
        } else {
            format!("{}/{}", c.tenant, c.name)
        };
        text.push_str(&format!("{mark} {verb} {} {name}\n", c.kind));
        for f in &c.changes {
            text.push_str(&format!("    {}: {} -> {}\n", f.field, f.from, f.to));
        }
    }
    text.push_str(&format!(
        "Plan: {} to create, {} to update, {} to delete, {} unchanged.\n",
        summary.create, summary.update, summary.delete, summary.unchanged
    ));
    ctx.out.write_all(text.as_bytes()).map_err(Error::Output)
}

fn write_secrets(path: &std::path::Path, secrets: &[NewSecret]) -> Result<(), Error> {
    use std::os::unix::fs::OpenOptionsExt;
    let text = serde_yaml::to_string(secrets).map_err(|e| Error::Usage(e.to_string()))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::Usage(format!("--secrets-out {}: {e}", path.display())))?;
    file.write_all(text.as_bytes())
        .map_err(|e| Error::Usage(format!("--secrets-out {}: {e}", path.display())))
}

pub fn export(args: ExportArgs, ctx: &mut Context<'_>) -> Result<(), Error> {
    if ctx.output.format == Format::Json {
        return Err(Error::Usage(
            "export writes YAML documents for apply; -o json is not supported".into(),
        ));
    }
    let client = ctx.client()?;
    let mut text = String::new();
    for tenant in &args.tenant {
        let doc = apply::export(&client, tenant)?;
        text.push_str("---\n");
        text.push_str(&serde_yaml::to_string(&doc).map_err(|e| Error::Usage(e.to_string()))?);
    }
    ctx.out.write_all(text.as_bytes()).map_err(Error::Output)
}

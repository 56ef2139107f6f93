//! Runs a parsed command line: one module per noun, sharing a [`Context`].

mod apply;
mod audit;
mod client;
mod context;
mod device;
mod key;
pub(crate) mod provider;
mod session;
mod status;
mod tenant;
mod user;

use std::io::Write;

use reqwest::Url;
use serde::Serialize;

use crate::Terminal;
use crate::cli::{Command, Invocation};
use crate::client::Client;
use crate::error::Error;
use crate::output::{Output, Tabular};
use crate::token::TokenSpec;

/// What a command needs from the invocation and the process.
pub struct Context<'a> {
    url: Url,
    token: TokenSpec,
    output: Output,
    /// Prompts are allowed: stdin and stderr are terminals and the output is for people.
    interactive: bool,
    /// stderr is a terminal: progress may be drawn there.
    progress: bool,
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
}

impl Context<'_> {
    /// Reads the token and builds the client. Commands call this after checking their own
    /// arguments, so a usage error is reported as such even without a token.
    fn client(&self) -> Result<Client, Error> {
        Client::new(self.url.clone(), self.token.resolve()?)
    }

    fn print<T: Serialize + Tabular>(&mut self, value: &T) -> Result<(), Error> {
        self.output.print(self.out, value)
    }

    /// A message for the operator; stdout stays data only.
    fn note(&mut self, message: &str) {
        // Nothing useful is left to do if stderr is gone.
        let _ = writeln!(self.err, "{message}");
    }
}

pub fn execute(
    invocation: Invocation,
    terminal: Terminal,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let Invocation {
        cli,
        mut token,
        url_given,
    } = invocation;
    let format = cli.global.output;
    let mut url = cli.global.url;
    // A context fills in what the command line and environment left open.
    let uses_server = !matches!(
        cli.command,
        Command::Context(_) | Command::Completion { .. }
    );
    let wants_context = cli.global.context.is_some() || !url_given || token == TokenSpec::Default;
    if uses_server
        && wants_context
        && let Some((named, context_url)) =
            crate::contexts::selected(cli.global.context.as_deref())?
    {
        if !url_given {
            url = context_url;
        }
        if token == TokenSpec::Default
            && let Some(file) = named.token_file
        {
            token = TokenSpec::File(file);
        }
    }
    let mut ctx = Context {
        url,
        token,
        output: Output {
            format,
            terminal: terminal.stdout,
        },
        interactive: terminal.stdin && terminal.stderr && format.is_table(),
        progress: terminal.stderr,
        out,
        err,
    };
    match cli.command {
        Command::Status => status::show(&mut ctx),
        Command::Tenant(command) => tenant::run(command, &mut ctx),
        Command::Client(command) => client::run(command, &mut ctx),
        Command::Key(command) => key::run(command, &mut ctx),
        Command::User(command) => user::run(command, &mut ctx),
        Command::Session(command) => session::run(command, &mut ctx),
        Command::Provider(command) => provider::run(command, &mut ctx),
        Command::Device(command) => device::run(command, &mut ctx),
        Command::Audit(command) => audit::run(command, &mut ctx),
        Command::Apply(args) => apply::apply(args, &mut ctx),
        Command::Export(args) => apply::export(args, &mut ctx),
        Command::Context(command) => {
            let target = context::Target {
                url: url_given.then(|| ctx.url.clone()),
                token_file: match &ctx.token {
                    TokenSpec::File(path) => Some(path.clone()),
                    _ => None,
                },
            };
            context::run(command, target, &mut ctx)
        }
        Command::Completion { shell } => {
            // clap_complete panics on a write error, so render into memory first.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut crate::command(), "idpctl", &mut script);
            ctx.out.write_all(&script).map_err(Error::Output)
        }
    }
}

/// Asks a yes/no question on the terminal, "no" by default; "no" is [`Error::Aborted`].
fn confirm(prompt: String) -> Result<(), Error> {
    let confirmed = dialoguer::Confirm::new()
        .with_prompt(prompt)
        .default(false)
        .interact()
        .map_err(Error::Prompt)?;
    if confirmed {
        Ok(())
    } else {
        Err(Error::Aborted)
    }
}

//! idpctl, the command-line client of idpd's admin API: the entry point, error reporting and
//! the one place where an outcome becomes an exit code.

mod apply;
mod cli;
mod client;
mod cmd;
mod contexts;
mod duration;
mod error;
mod man;
mod output;
mod token;

use std::ffi::OsString;
use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

pub use error::{Error, Exit};
pub use man::man_pages;
pub use output::Format;

/// Parses and validates an apply document given as text, as `idpctl apply -f` would,
/// without reading files or calling idpd. For the fuzz target in `fuzz/`; returns the
/// number of tenant documents, or the problems found.
#[doc(hidden)]
pub fn fuzz_apply_document(text: &str) -> Result<usize, String> {
    apply::doc::parse(&[("<fuzz>".into(), text.to_owned())], Default::default())
        .map(|docs| docs.len())
        .map_err(|p| p.to_string())
}

/// The clap command: for completions, man pages and tests.
pub fn command() -> clap::Command {
    cli::command()
}

/// Which standard streams are terminals. Prompts need stdin and stderr; table styling
/// follows stdout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Terminal {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
}

impl Terminal {
    /// The process's own streams.
    pub fn detect() -> Self {
        Terminal {
            stdin: io::stdin().is_terminal(),
            stdout: io::stdout().is_terminal(),
            stderr: io::stderr().is_terminal(),
        }
    }
}

/// Runs idpctl with no terminal attached: never prompts, prints plain tables. For tests and
/// for embedding; `args` starts with the program name.
pub fn run<I, T>(args: I, stdout: &mut dyn Write, stderr: &mut dyn Write) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    run_with(args, Terminal::default(), stdout, stderr).into()
}

/// Runs idpctl as `main` does, and returns the exit class.
pub fn run_with<I, T>(
    args: I,
    terminal: Terminal,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Exit
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let invocation = match cli::parse(args) {
        Ok(invocation) => invocation,
        Err(e) => return clap_exit(&e, terminal, stdout, stderr),
    };
    let outcome = cmd::execute(invocation, terminal, stdout, stderr)
        .and_then(|()| stdout.flush().map_err(Error::Output));
    match outcome {
        Ok(()) => Exit::Success,
        Err(e) if e.is_broken_pipe() => Exit::Success,
        Err(e) => {
            // If stderr is gone too there is no one left to tell.
            let _ = writeln!(stderr, "idpctl: error: {}", error::one_line(&e));
            if let Some(hint) = e.hint() {
                let _ = writeln!(stderr, "idpctl: hint: {hint}");
            }
            e.exit()
        }
    }
}

/// clap's own messages: help and version on stdout (success), errors on stderr (usage).
fn clap_exit(
    e: &clap::Error,
    terminal: Terminal,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Exit {
    let (stream, colour): (&mut dyn Write, bool) = if e.use_stderr() {
        (stderr, terminal.stderr)
    } else {
        (stdout, terminal.stdout)
    };
    let rendered = e.render();
    let text = if colour {
        rendered.ansi().to_string()
    } else {
        rendered.to_string()
    };
    // A closed pipe after `idpctl --help | head` is fine; anything else has nowhere to go.
    let _ = stream
        .write_all(text.as_bytes())
        .and_then(|()| stream.flush());
    if e.exit_code() == 0 {
        Exit::Success
    } else {
        Exit::Usage
    }
}

#[cfg(test)]
mod fuzz_entry_tests {
    /// The fuzz target's entry point: the committed seed is valid, garbage is reported.
    #[test]
    fn apply_document_from_text() {
        let seed = include_str!("../../fuzz/corpus/apply_document/seed-acme.yaml");
        assert_eq!(super::fuzz_apply_document(seed), Ok(2));
        for bad in [
            "",
            "kind: [",
            "---\n---\n",
            "apiVersion: idp/v2\nkind: Tenant\nslug: a\nname: A\n",
        ] {
            assert!(super::fuzz_apply_document(bad).is_err(), "{bad:?}");
        }
    }
}

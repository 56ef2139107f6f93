//! Man pages generated from the clap definitions: `idpctl.1` and one page per subcommand.

use std::io::{self, Write};

use clap::Command;
use clap_mangen::Man;

use crate::cli::{DEFAULT_TOKEN_FILE, ENVIRONMENT};
use crate::error::Exit;

/// `(file name, roff)` for `idpctl.1`, `idpctl-tenant.1`, `idpctl-tenant-create.1`, ...
pub fn man_pages() -> Vec<(String, Vec<u8>)> {
    let mut command = crate::command().disable_help_subcommand(true);
    command.build();
    let mut pages = Vec::new();
    collect(&command, true, &mut pages);
    pages
}

fn collect(command: &Command, top: bool, pages: &mut Vec<(String, Vec<u8>)>) {
    let man = Man::new(command.clone())
        .source(format!("idpctl {}", env!("CARGO_PKG_VERSION")))
        .manual("idp manual");
    let mut page = Vec::new();
    // Writing into a Vec cannot fail.
    if render(&man, command, top, &mut page).is_ok() {
        pages.push((man.get_filename(), page));
    }
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        collect(sub, false, pages);
    }
}

/// Man's own `render`, with proper ENVIRONMENT, FILES and EXIT STATUS sections on the top
/// page (`--help` shows the same facts as its after-help text) and SEE ALSO everywhere.
fn render(man: &Man, command: &Command, top: bool, w: &mut dyn Write) -> io::Result<()> {
    man.render_title(w)?;
    man.render_name_section(w)?;
    man.render_synopsis_section(w)?;
    man.render_description_section(w)?;
    if command.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(w)?;
    }
    if command.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(w)?;
    }
    if top {
        writeln!(w, ".SH ENVIRONMENT")?;
        for (name, about) in ENVIRONMENT {
            writeln!(w, ".TP\n\\fB{}\\fR\n{}", roff(name), roff(about))?;
        }
        writeln!(w, ".SH FILES")?;
        writeln!(
            w,
            ".TP\n\\fI{}\\fR\n{}",
            roff(DEFAULT_TOKEN_FILE),
            roff(
                "The admin token a local idpd writes at first start; read when neither a token \
                 nor a token file is given."
            )
        )?;
        writeln!(w, ".SH \"EXIT STATUS\"")?;
        for exit in Exit::ALL {
            writeln!(
                w,
                ".TP\n\\fB{}\\fR\n{}",
                exit.code(),
                roff(exit.description())
            )?;
        }
        writeln!(w, ".SH \"SEE ALSO\"\n\\fBidpd\\fR(8)")?;
        man.render_version_section(w)?;
    } else {
        writeln!(w, ".SH \"SEE ALSO\"\n\\fBidpctl\\fR(1)")?;
    }
    Ok(())
}

/// Escapes plain text for a roff text line.
fn roff(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_page_per_command() {
        let names: Vec<String> = man_pages().into_iter().map(|(name, _)| name).collect();
        for expected in [
            "idpctl.1",
            "idpctl-status.1",
            "idpctl-tenant.1",
            "idpctl-tenant-create.1",
            "idpctl-tenant-list.1",
            "idpctl-tenant-show.1",
            "idpctl-tenant-update.1",
            "idpctl-tenant-delete.1",
            "idpctl-client.1",
            "idpctl-client-create.1",
            "idpctl-client-list.1",
            "idpctl-client-show.1",
            "idpctl-client-update.1",
            "idpctl-client-delete.1",
            "idpctl-client-rotate-secret.1",
            "idpctl-key.1",
            "idpctl-key-list.1",
            "idpctl-key-rotate.1",
            "idpctl-key-retire.1",
            "idpctl-completion.1",
        ] {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} in {names:?}"
            );
        }
        assert!(!names.iter().any(|n| n.contains("help")), "{names:?}");
    }

    #[test]
    fn top_page_documents_exit_codes_and_environment() {
        let pages = man_pages();
        let Some((_, top)) = pages.iter().find(|(name, _)| name == "idpctl.1") else {
            panic!("no idpctl.1");
        };
        let top = String::from_utf8_lossy(top);
        assert!(top.contains(".SH \"EXIT STATUS\""));
        assert!(top.contains(".SH ENVIRONMENT"));
        for (name, _) in ENVIRONMENT {
            assert!(top.contains(&roff(name)), "{name}");
        }
        assert!(
            !top.contains(".SH EXTRA"),
            "after-help text is not repeated"
        );
    }

    #[test]
    fn roff_escapes() {
        assert_eq!(roff("--url"), "\\-\\-url");
        assert_eq!(roff(".hidden"), "\\&.hidden");
        assert_eq!(roff("a\\b"), "a\\eb");
    }
}

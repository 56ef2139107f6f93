//! The command line: clap definitions, value parsers and the help text on exit codes and environment.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use reqwest::Url;
use shared::admin::{SameSite, SignupPolicy};

use crate::error::Exit;
use crate::output::Format;
use crate::token::{TokenOrigin, TokenSpec};

pub const DEFAULT_URL: &str = "http://127.0.0.1:8081";
/// Where a local idpd with the default data dir writes its first admin token.
pub const DEFAULT_TOKEN_FILE: &str = "./idpd-data/admin-token";

/// The environment variables idpctl reads, for `--help` and `idpctl.1`.
pub const ENVIRONMENT: [(&str, &str); 3] = [
    ("IDPCTL_URL", "base URL of idpd's admin listener (--url)"),
    ("IDPCTL_TOKEN", "admin token (--token)"),
    (
        "IDPCTL_TOKEN_FILE",
        "file holding the admin token (--token-file)",
    ),
];

/// Talk to the admin API of idpd, the multi-tenant OAuth 2.0 / OpenID Connect identity provider.
#[derive(Parser)]
#[command(name = "idpctl", version, arg_required_else_help = true)]
#[command(
    long_about = "Talk to the admin API of idpd, the multi-tenant OAuth 2.0 / OpenID Connect \
identity provider.\n\nResults go to standard output, messages and errors to standard error. \
The default table output is for people; scripts should use -o json or -o yaml, whose field \
names are stable."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Args)]
#[command(next_help_heading = "Global options", next_display_order = 1000)]
pub struct Global {
    /// Base URL of idpd's admin listener
    #[arg(
        long,
        global = true,
        env = "IDPCTL_URL",
        value_name = "URL",
        hide_env_values = true,
        default_value = DEFAULT_URL,
        value_parser = parse_url,
    )]
    pub url: Url,

    /// Admin token (prefer --token-file: a flag value shows up in the process list)
    #[arg(
        long,
        global = true,
        env = "IDPCTL_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,

    /// File holding the admin token, `-` for standard input [default: ./idpd-data/admin-token
    /// when it exists]
    #[arg(
        long,
        global = true,
        env = "IDPCTL_TOKEN_FILE",
        value_name = "PATH",
        hide_env_values = true
    )]
    pub token_file: Option<PathBuf>,

    /// Output format
    #[arg(short, long, global = true, value_enum, default_value_t = Format::Table)]
    pub output: Format,
}

#[derive(Subcommand)]
pub enum Command {
    /// Show idpd's version, database backend, readiness and tenant count
    Status,
    /// Create, list, show, update and delete tenants
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Print a shell completion script to standard output
    Completion {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Subcommand)]
pub enum TenantCommand {
    /// Create a tenant and print it
    Create(CreateArgs),
    /// List tenants, ordered by slug
    List(ListArgs),
    /// Show one tenant
    Show(ShowArgs),
    /// Change a tenant's settings and print the result
    Update(UpdateArgs),
    /// Delete a tenant with its users, clients, keys and sessions
    Delete(DeleteArgs),
}

#[derive(Args)]
pub struct CreateArgs {
    /// Display name of the tenant; asked for on a terminal when missing
    pub name: Option<String>,

    /// Slug used in the issuer URL (a-z, 0-9, -); derived from the name when absent
    #[arg(long)]
    pub slug: Option<String>,

    #[command(flatten)]
    pub settings: SettingsArgs,

    /// Cookie Domain attribute [default: none, a host-only cookie]
    #[arg(long, value_name = "DOMAIN")]
    pub cookie_domain: Option<String>,
}

#[derive(Args)]
pub struct ListArgs {
    /// Fetch one page of at most N tenants instead of all of them
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: Option<u32>,

    /// Start after this slug (the next_after of a previous page)
    #[arg(long, value_name = "SLUG")]
    pub after: Option<String>,
}

#[derive(Args)]
pub struct ShowArgs {
    /// Slug or id of the tenant
    #[arg(value_parser = parse_tenant_ref)]
    pub tenant: String,
}

#[derive(Args)]
pub struct UpdateArgs {
    /// Slug or id of the tenant (the slug itself cannot change)
    #[arg(value_parser = parse_tenant_ref)]
    pub tenant: String,

    /// New display name
    #[arg(long)]
    pub name: Option<String>,

    #[command(flatten)]
    pub settings: SettingsArgs,

    /// Cookie Domain attribute
    #[arg(long, value_name = "DOMAIN")]
    pub cookie_domain: Option<String>,

    /// Remove the cookie Domain attribute (host-only cookie)
    #[arg(long, conflicts_with = "cookie_domain")]
    pub no_cookie_domain: bool,
}

/// Tenant settings that `create` and `update` share.
#[derive(Args)]
pub struct SettingsArgs {
    /// Language tag (BCP 47), repeatable or comma-separated; the first is the default.
    /// The list is set as a whole
    #[arg(long = "locale", value_name = "TAG", value_delimiter = ',')]
    pub locales: Vec<String>,

    /// Who may sign in to the native login
    #[arg(long, value_enum)]
    pub signup_policy: Option<SignupPolicyArg>,

    /// Name of the session cookie
    #[arg(long, value_name = "NAME")]
    pub cookie_name: Option<String>,

    /// Absolute session lifetime: 90s, 30m, 8h, 7d, 1h30m or seconds
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse_seconds)]
    pub session_ttl: Option<i64>,

    /// A session unused this long ends: 90s, 30m, 8h, 7d, 1h30m or seconds
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse_seconds)]
    pub idle_ttl: Option<i64>,

    /// SameSite attribute of the session cookie
    #[arg(long, value_enum)]
    pub same_site: Option<SameSiteArg>,
}

#[derive(Args)]
pub struct DeleteArgs {
    /// Slug or id of the tenant
    #[arg(value_parser = parse_tenant_ref)]
    pub tenant: String,

    /// Do not ask for confirmation (required without a terminal)
    #[arg(short, long)]
    pub yes: bool,
}

/// [`SignupPolicy`] for clap; `shared` stays free of CLI code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SignupPolicyArg {
    /// A user is created at first login
    Open,
    /// Only users created by an operator may sign in
    Invite,
}

impl From<SignupPolicyArg> for SignupPolicy {
    fn from(arg: SignupPolicyArg) -> Self {
        match arg {
            SignupPolicyArg::Open => SignupPolicy::Open,
            SignupPolicyArg::Invite => SignupPolicy::Invite,
        }
    }
}

/// [`SameSite`] for clap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SameSiteArg {
    Strict,
    Lax,
    None,
}

impl From<SameSiteArg> for SameSite {
    fn from(arg: SameSiteArg) -> Self {
        match arg {
            SameSiteArg::Strict => SameSite::Strict,
            SameSiteArg::Lax => SameSite::Lax,
            SameSiteArg::None => SameSite::None,
        }
    }
}

/// The full clap command, with the help text that the derive cannot compute.
pub fn command() -> clap::Command {
    Cli::command().after_long_help(after_long_help())
}

fn after_long_help() -> String {
    let mut text = String::from("Exit status:\n");
    for exit in Exit::ALL {
        text.push_str(&format!("  {}  {}\n", exit.code(), exit.description()));
    }
    text.push_str("\nEnvironment:\n");
    let width = ENVIRONMENT.iter().map(|(name, _)| name.len()).max();
    for (name, about) in ENVIRONMENT {
        text.push_str(&format!("  {name:<w$}  {about}\n", w = width.unwrap_or(0)));
    }
    text
}

/// A parsed command line and where its admin token is to come from.
pub struct Invocation {
    pub cli: Cli,
    pub token: TokenSpec,
}

pub fn parse<I, T>(args: I) -> Result<Invocation, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let mut cmd = command();
    let matches = cmd.try_get_matches_from_mut(args)?;
    let cli = Cli::from_arg_matches(&matches)?;

    // A flag beats the environment, whichever of the two token options it names, so an
    // exported IDPCTL_TOKEN does not shadow an explicit --token-file (or the reverse).
    let on_command_line = |id: &str| matches.value_source(id) == Some(ValueSource::CommandLine);
    let (token_flag, file_flag) = (on_command_line("token"), on_command_line("token_file"));
    if token_flag && file_flag {
        return Err(cmd.error(
            ErrorKind::ArgumentConflict,
            "--token and --token-file cannot be used together",
        ));
    }
    let token = match (&cli.global.token, &cli.global.token_file) {
        (Some(secret), _) if token_flag => TokenSpec::Value(secret.clone(), TokenOrigin::Flag),
        (_, Some(path)) if file_flag => TokenSpec::File(path.clone()),
        (Some(secret), _) => TokenSpec::Value(secret.clone(), TokenOrigin::Env),
        (None, Some(path)) => TokenSpec::File(path.clone()),
        (None, None) => TokenSpec::Default,
    };
    Ok(Invocation { cli, token })
}

fn parse_url(value: &str) -> Result<Url, String> {
    let url = Url::parse(value).map_err(|e| format!("{e}: expected a URL like {DEFAULT_URL}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(format!(
            "expected an http:// or https:// URL like {DEFAULT_URL}"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("the URL must not have a query or fragment".into());
    }
    Ok(url)
}

/// A tenant's slug or id goes into a URL path. Anything else is percent-encoded by the
/// client, but `.` and `..` would be read as "this" and "parent" path segments, so they are
/// refused here (neither can be a slug).
fn parse_tenant_ref(value: &str) -> Result<String, String> {
    match value {
        "" => Err("the tenant slug or id is empty".into()),
        "." | ".." => Err(format!("{value:?} is not a tenant slug or id")),
        _ => Ok(value.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(args: &[&str]) -> Invocation {
        match parse(args.iter().copied()) {
            Ok(inv) => inv,
            Err(e) => panic!("{args:?} did not parse: {e}"),
        }
    }

    #[test]
    fn clap_definition_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn global_options_work_after_the_subcommand() {
        let inv = parse_ok(&[
            "idpctl",
            "tenant",
            "list",
            "-o",
            "json",
            "--url",
            "http://h:1",
            "--token",
            "t",
        ]);
        assert_eq!(inv.cli.global.output, Format::Json);
        assert_eq!(inv.cli.global.url.as_str(), "http://h:1/");
        assert!(matches!(inv.token, TokenSpec::Value(ref s, TokenOrigin::Flag) if s == "t"));
    }

    #[test]
    fn token_and_token_file_flags_conflict() {
        let err = parse(["idpctl", "status", "--token", "a", "--token-file", "f"])
            .err()
            .map(|e| e.kind());
        assert_eq!(err, Some(ErrorKind::ArgumentConflict));
    }

    #[test]
    fn bad_urls_are_usage_errors() {
        for url in [
            "127.0.0.1:8081",
            "localhost:8081",
            "ftp://h",
            "http://h/?x=1",
        ] {
            assert!(parse_url(url).is_err(), "{url}");
        }
        assert!(parse_url("https://idp.example.com/admin/").is_ok());
    }

    #[test]
    fn dot_segments_are_not_tenant_refs() {
        assert!(parse_tenant_ref("..").is_err());
        assert!(parse_tenant_ref(".").is_err());
        assert!(parse_tenant_ref("").is_err());
        assert_eq!(parse_tenant_ref("../x"), Ok("../x".into()));
    }

    #[test]
    fn no_cookie_domain_conflicts_with_cookie_domain() {
        let err = parse([
            "idpctl",
            "tenant",
            "update",
            "a",
            "--cookie-domain",
            "x",
            "--no-cookie-domain",
        ])
        .err()
        .map(|e| e.kind());
        assert_eq!(err, Some(ErrorKind::ArgumentConflict));
    }
}

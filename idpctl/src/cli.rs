//! The command line: clap definitions, value parsers and the help text on exit codes and environment.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use reqwest::Url;
use shared::admin::{Alg, GRANT_TYPES, SameSite, SignupPolicy};

use crate::error::Exit;
use crate::output::Format;
use crate::token::{TokenOrigin, TokenSpec};

pub const DEFAULT_URL: &str = "http://127.0.0.1:8081";
/// Where a local idpd with the default data dir writes its first admin token.
pub const DEFAULT_TOKEN_FILE: &str = "./idpd-data/admin-token";

/// The environment variables idpctl reads, for `--help` and `idpctl.1`.
pub const ENVIRONMENT: [(&str, &str); 5] = [
    ("IDPCTL_URL", "base URL of idpd's admin listener (--url)"),
    ("IDPCTL_CONTEXT", "named context to use (--context)"),
    (
        "IDPCTL_CONFIG",
        "contexts file [default: ~/.config/idpctl/config.yaml]",
    ),
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

    /// Named context (URL and token file) to use instead of the current one; see
    /// `idpctl context`
    #[arg(
        long,
        global = true,
        env = "IDPCTL_CONTEXT",
        value_name = "NAME",
        hide_env_values = true
    )]
    pub context: Option<String>,

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
    /// Register, list, show, update and delete a tenant's OAuth clients; rotate their secrets
    #[command(subcommand)]
    Client(ClientCommand),
    /// List, rotate and retire a tenant's signing keys
    #[command(subcommand, visible_alias = "keys")]
    #[command(long_about = "List, rotate and retire a tenant's signing keys.\n\n\
`idpctl keys` is the same command.")]
    Key(KeyCommand),
    /// Create, list, show, update, disable and delete a tenant's users
    #[command(subcommand)]
    User(UserCommand),
    /// List and revoke a tenant's browser sessions
    #[command(subcommand)]
    Session(SessionCommand),
    /// Register a tenant's external OpenID Connect provider, list, show, update, remove and
    /// test providers, and pick the default one
    #[command(subcommand)]
    Provider(ProviderCommand),
    /// List and revoke the registered devices of a tenant's users
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Create and update tenants, clients and users to match YAML documents
    #[command(long_about = APPLY_ABOUT)]
    Apply(ApplyArgs),
    /// Print a tenant as a YAML document that `idpctl apply` accepts (secrets left out)
    Export(ExportArgs),
    /// Read the audit log: admin changes and login attempts
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Remember admin URLs and token files under names, and switch between them
    #[command(subcommand)]
    #[command(
        long_about = "Remember admin URLs and token files under names, and switch \
between them, like kubectl contexts. They live in ~/.config/idpctl/config.yaml (or \
$XDG_CONFIG_HOME/idpctl/config.yaml, or $IDPCTL_CONFIG). The file holds token file paths, \
never tokens.\n\nThe current context gives the URL and token file when neither --url / \
IDPCTL_URL nor a token option is given; --context NAME picks another for one command."
    )]
    Context(ContextCommand),
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
    #[arg(long, value_name = "SLUG", allow_hyphen_values = true)]
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

    /// Turn automatic key rotation off
    #[arg(long, conflicts_with = "key_rotation_interval")]
    pub no_key_rotation: bool,
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

    /// Signing algorithm of the tenant's access tokens
    #[arg(long, value_enum, value_name = "ALG", ignore_case = true)]
    pub access_token_alg: Option<AlgArg>,

    /// Rotate the signing keys automatically this often: 30d, 12w or seconds
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse_seconds)]
    pub key_rotation_interval: Option<i64>,
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

#[derive(Subcommand)]
pub enum ClientCommand {
    /// Register a client and print it with its secret, which is shown only this once
    Create(ClientCreateArgs),
    /// List a tenant's clients, ordered by client_id
    List(ClientListArgs),
    /// Show one client
    Show(ClientRef),
    /// Change a client's settings and print the result
    Update(ClientUpdateArgs),
    /// Delete a client; it can no longer get tokens
    Delete(ClientDeleteArgs),
    /// Give a confidential client a new secret and print it, shown only this once
    RotateSecret(RotateSecretArgs),
}

#[derive(Args)]
pub struct ClientCreateArgs {
    /// Slug or id of the tenant; asked for on a terminal when missing
    #[arg(long, value_parser = parse_tenant_ref)]
    pub tenant: Option<String>,

    /// Display name of the client; asked for on a terminal when missing
    #[arg(long)]
    pub name: Option<String>,

    /// client_id to register, unique in the tenant [default: generated]
    #[arg(long, value_name = "ID", value_parser = parse_client_id, allow_hyphen_values = true)]
    pub client_id: Option<String>,

    /// A public client (SPA, mobile or desktop app): no secret, PKCE required
    #[arg(long)]
    pub public: bool,

    #[command(flatten)]
    pub settings: ClientSettingsArgs,
}

#[derive(Args)]
pub struct ClientListArgs {
    /// Slug or id of the tenant
    #[arg(long, value_parser = parse_tenant_ref)]
    pub tenant: String,

    /// Fetch one page of at most N clients instead of all of them
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: Option<u32>,

    /// Start after this client_id (the next_after of a previous page)
    #[arg(long, value_name = "CLIENT_ID", allow_hyphen_values = true)]
    pub after: Option<String>,
}

/// One client of one tenant.
#[derive(Args)]
pub struct ClientRef {
    /// Slug or id of the tenant
    #[arg(long, value_parser = parse_tenant_ref)]
    pub tenant: String,

    /// client_id of the client
    #[arg(value_parser = parse_client_id, allow_hyphen_values = true)]
    pub client_id: String,
}

#[derive(Args)]
pub struct ClientUpdateArgs {
    #[command(flatten)]
    pub client: ClientRef,

    /// New display name
    #[arg(long)]
    pub name: Option<String>,

    #[command(flatten)]
    pub settings: ClientSettingsArgs,

    /// Remove every redirect URI
    #[arg(long, conflicts_with = "redirect_uris")]
    pub no_redirect_uris: bool,

    /// Remove every post-logout redirect URI
    #[arg(long, conflicts_with = "post_logout_redirect_uris")]
    pub no_post_logout_redirect_uris: bool,

    /// Stop the client from getting tokens
    #[arg(long, conflicts_with = "enable")]
    pub disable: bool,

    /// Accept the client again after --disable
    #[arg(long)]
    pub enable: bool,
}

/// Client settings that `create` and `update` share. Each list is set as a whole.
#[derive(Args)]
pub struct ClientSettingsArgs {
    /// Redirect URI (exact match), repeatable
    #[arg(long = "redirect-uri", value_name = "URI")]
    pub redirect_uris: Vec<String>,

    /// Where the client may ask to be sent after logout, repeatable
    #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
    pub post_logout_redirect_uris: Vec<String>,

    /// Grant type, repeatable or comma-separated: authorization_code, refresh_token,
    /// client_credentials, device_code or jwt-bearer
    ///
    /// device_code and jwt-bearer are short for the registered names
    /// urn:ietf:params:oauth:grant-type:device_code and
    /// urn:ietf:params:oauth:grant-type:jwt-bearer, which are accepted too. Without --grant,
    /// create registers authorization_code and refresh_token, or client_credentials for a
    /// confidential client without redirect URIs.
    #[arg(
        long = "grant",
        value_name = "GRANT",
        value_delimiter = ',',
        value_parser = parse_grant
    )]
    pub grants: Vec<String>,

    /// Scope the client may request, repeatable, comma- or space-separated [default: openid,
    /// profile, email, offline_access for grants that sign users in, plus devices with
    /// jwt-bearer; none for client_credentials alone]
    #[arg(long = "scope", value_name = "SCOPE", value_delimiter = ',', value_parser = parse_scopes)]
    pub scopes: Vec<Scopes>,

    /// Lifetime of the access tokens it gets: 90s, 10m, 1h or seconds
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse_seconds)]
    pub access_token_ttl: Option<i64>,

    /// Signing algorithm of the ID tokens it gets [server default: RS256]
    #[arg(long, value_enum, value_name = "ALG", ignore_case = true)]
    pub id_token_alg: Option<AlgArg>,
}

#[derive(Args)]
pub struct ClientDeleteArgs {
    #[command(flatten)]
    pub client: ClientRef,

    /// Do not ask for confirmation (required without a terminal)
    #[arg(short, long)]
    pub yes: bool,
}

#[derive(Args)]
pub struct RotateSecretArgs {
    #[command(flatten)]
    pub client: ClientRef,

    /// How long the old secret keeps working, up to 30d [default: 0, it stops at once]
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse_seconds)]
    pub grace: Option<i64>,

    /// Do not ask for confirmation (required without a terminal)
    #[arg(short, long)]
    pub yes: bool,
}

#[derive(Subcommand)]
pub enum KeyCommand {
    /// List a tenant's signing keys: next, active and retiring
    List(KeyListArgs),
    /// Publish a new signing key, which takes over signing after --activate-in
    Rotate(KeyRotateArgs),
    /// Remove a retiring key from the JWKS; refused while tokens it signed may be valid
    Retire(KeyRetireArgs),
}

#[derive(Args)]
pub struct KeyListArgs {
    /// Slug or id of the tenant
    #[arg(long, value_parser = parse_tenant_ref)]
    pub tenant: String,

    /// Include removed keys
    #[arg(long)]
    pub all: bool,
}

#[derive(Args)]
pub struct KeyRotateArgs {
    /// Slug or id of the tenant
    #[arg(long, value_parser = parse_tenant_ref)]
    pub tenant: String,

    /// Algorithm of the new key [default: RS256]
    #[arg(long, value_enum, value_name = "ALG", ignore_case = true)]
    pub alg: Option<AlgArg>,

    /// Time between publication and first signature; 0 for a compromised key [default: the
    /// JWKS cache lifetime plus 60s, so verifiers see the key before any token it signs]
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse_seconds)]
    pub activate_in: Option<i64>,
}

#[derive(Args)]
pub struct KeyRetireArgs {
    /// kid of the key (see `idpctl key list`)
    #[arg(value_parser = parse_kid, allow_hyphen_values = true)]
    pub kid: String,

    /// Remove it now, even though tokens it signed may still be valid: they then fail
    /// verification
    #[arg(long)]
    pub force: bool,

    /// Do not ask for confirmation (required with --force without a terminal)
    #[arg(short, long)]
    pub yes: bool,
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user and print it
    Create(UserCreateArgs),
    /// List a tenant's users, ordered by email
    List(UserListArgs),
    /// Show one user, by id or email
    Show(UserRef),
    /// Change a user's email, name, locale or status and print the result
    Update(UserUpdateArgs),
    /// Disable a user: they can no longer sign in, and their tokens stop working
    #[command(
        long_about = "Disable a user: they can no longer sign in, and their tokens \
stop working.\n\n`idpctl user update --enable` lets them in again."
    )]
    Disable(UserConfirmArgs),
    /// Delete a user for good
    Delete(UserConfirmArgs),
}

#[derive(Args)]
pub struct UserCreateArgs {
    /// Slug or id of the tenant
    #[arg(long, value_parser = parse_tenant_ref)]
    pub tenant: String,

    /// The user's sign-in address (stored lower-cased)
    #[arg(long, value_name = "EMAIL", allow_hyphen_values = true)]
    pub email: String,

    /// Full name
    #[arg(long)]
    pub name: Option<String>,

    /// Preferred language (BCP 47), e.g. nb or en-US
    #[arg(long, value_name = "TAG")]
    pub locale: Option<String>,

    /// Record the address as not verified [default: verified, since an operator entered it]
    #[arg(long)]
    pub unverified: bool,
}

#[derive(Args)]
pub struct UserListArgs {
    /// Slug or id of the tenant
    #[arg(long, value_parser = parse_tenant_ref)]
    pub tenant: String,

    /// Fetch one page of at most N users instead of all of them
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: Option<u32>,

    /// Start after this email (the next_after of a previous page)
    #[arg(long, value_name = "EMAIL", allow_hyphen_values = true)]
    pub after: Option<String>,
}

/// One user of one tenant.
#[derive(Args)]
pub struct UserRef {
    /// Slug or id of the tenant
    #[arg(long, value_parser = parse_tenant_ref)]
    pub tenant: String,

    /// Id or email of the user
    #[arg(value_parser = parse_user_ref, allow_hyphen_values = true)]
    pub user: String,
}

#[derive(Args)]
pub struct UserUpdateArgs {
    #[command(flatten)]
    pub user: UserRef,

    /// New sign-in address (email_verified stays as it is unless --verified or
    /// --unverified is given too)
    #[arg(long, value_name = "EMAIL", allow_hyphen_values = true)]
    pub email: Option<String>,

    /// New full name
    #[arg(long)]
    pub name: Option<String>,

    /// Remove the name
    #[arg(long, conflicts_with = "name")]
    pub no_name: bool,

    /// New preferred language (BCP 47)
    #[arg(long, value_name = "TAG")]
    pub locale: Option<String>,

    /// Remove the preferred language
    #[arg(long, conflicts_with = "locale")]
    pub no_locale: bool,

    /// Record the address as verified
    #[arg(long, conflicts_with = "unverified")]
    pub verified: bool,

    /// Record the address as not verified
    #[arg(long)]
    pub unverified: bool,

    /// Let a disabled user sign in again
    #[arg(long)]
    pub enable: bool,
}

/// A user and the confirmation a destructive command needs.
#[derive(Args)]
pub struct UserConfirmArgs {
    #[command(flatten)]
    pub user: UserRef,

    /// Do not ask for confirmation (required without a terminal)
    #[arg(short, long)]
    pub yes: bool,
}

const APPLY_ABOUT: &str = "Create and update tenants, their clients and their users to match \
YAML documents, and (with --prune) delete the clients and users of those tenants that the \
documents no longer list. Tenants not named in the documents are never touched.

Each YAML document describes one tenant; a file may hold several, separated by `---`. Every \
file and document is read and checked first; a single problem (reported as file:line: field: \
problem) means nothing is applied. Fields a document leaves out are left as they are on the \
server. A second apply of the same documents reports no changes.

  apiVersion: idp/v1
  kind: Tenant
  slug: acme
  name: Acme Corp
  locales: [en, nb]
  signupPolicy: invite          # open | invite
  accessTokenAlg: ES256         # RS256 | ES256 | EdDSA
  keyRotation: 90d              # a duration, or off
  session: {ttl: 12h, idleTtl: 2h, sameSite: lax}
  defaultProvider: corp         # native, or one of providers
  providers:
    - name: corp
      issuer: https://login.acme.example
      clientId: idp-acme
      clientSecretFile: /etc/idp/corp-secret   # or clientSecretEnv: VAR
      emailDomains: [acme.example]
  clients:
    - clientId: web
      name: Web app
      public: true
      redirectUris: [https://app.acme.example/callback]
    - clientId: billing
      name: Billing service
      grantTypes: [client_credentials]
      scopes: [invoices]
  users:
    - email: alice@acme.example
      name: Alice
      locale: nb

Secrets never appear in documents. A confidential client created by apply gets a new secret, \
printed once (or written to the --secrets-out file, mode 0600). A provider's upstream client \
secret is read from clientSecretFile or clientSecretEnv when apply creates the provider; idpd \
never shows it again, so apply does not compare it (change it with `idpctl provider update`). \
--prune also removes external providers the documents no longer list (not the default one). `idpctl export --tenant T` \
writes a document that applies back with no changes.";

#[derive(Args)]
pub struct ApplyArgs {
    /// A YAML file, a directory of *.yaml/*.yml files, or - for standard input; repeatable
    #[arg(short = 'f', long = "file", value_name = "PATH", required = true)]
    pub files: Vec<PathBuf>,

    /// Print the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Also delete the clients and users of the described tenants that the documents do not list
    #[arg(long)]
    pub prune: bool,

    /// Apply (with --prune: delete) without asking
    #[arg(long)]
    pub yes: bool,

    /// Write new client secrets to this file (YAML, mode 0600) instead of standard output
    #[arg(long, value_name = "PATH")]
    pub secrets_out: Option<PathBuf>,
}

#[derive(Args)]
pub struct ExportArgs {
    /// Slug or id of the tenant; repeatable
    #[arg(long, value_parser = parse_tenant_ref, required = true)]
    pub tenant: Vec<String>,
}

#[derive(Subcommand)]
pub enum ContextCommand {
    /// Add a context (the global --url and --token-file), or replace the one of that name
    #[command(
        long_about = "Add a context, or replace the one of that name: `idpctl context add prod \
--url https://idp-admin.internal:8081 --token-file ~/.idp/prod-token`. The URL is required; \
the token file is stored as an absolute path."
    )]
    Add(ContextAddArgs),
    /// Make a context the current one
    Use {
        /// Name of the context
        name: String,
    },
    /// List contexts; the current one is marked
    List,
    /// Forget a context
    Remove {
        /// Name of the context
        name: String,
    },
}

#[derive(Args)]
pub struct ContextAddArgs {
    /// Name of the context, e.g. prod or staging
    #[arg(value_parser = parse_context_name)]
    pub name: String,

    /// Also make it the current context
    #[arg(long = "use")]
    pub make_current: bool,
}

fn parse_context_name(value: &str) -> Result<String, String> {
    if value.is_empty()
        || value.len() > 64
        || !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err("a context name is 1 to 64 letters, digits, '-', '_' or '.'".into());
    }
    Ok(value.to_owned())
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// List audit events, newest first
    List(AuditListArgs),
    /// Print the newest events, then follow the log as events arrive (until interrupted)
    Tail(AuditTailArgs),
}

#[derive(Args)]
pub struct AuditFilter {
    /// Only events of this tenant (slug)
    #[arg(long, value_parser = parse_tenant_ref)]
    pub tenant: Option<String>,

    /// Only this action (`client.create`), or every action of a noun (`client`)
    #[arg(long, value_name = "ACTION")]
    pub action: Option<String>,
}

#[derive(Args)]
pub struct AuditListArgs {
    #[command(flatten)]
    pub filter: AuditFilter,

    /// Only events at or after this time: RFC 3339 (2026-11-28T10:00:00Z) or an age (90m, 2h, 7d)
    #[arg(long, value_name = "WHEN", value_parser = parse_since)]
    pub since: Option<time::OffsetDateTime>,

    /// At most this many events (1..=1000)
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: u32,
}

#[derive(Args)]
pub struct AuditTailArgs {
    #[command(flatten)]
    pub filter: AuditFilter,

    /// How many past events to print first
    #[arg(short = 'n', long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(0..=1000))]
    pub lines: u32,

    /// Seconds between polls of the server
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=3600), value_name = "SECONDS")]
    pub interval: u64,
}

/// RFC 3339, or an age before now.
fn parse_since(input: &str) -> Result<time::OffsetDateTime, String> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(at) = time::OffsetDateTime::parse(input, &Rfc3339) {
        return Ok(at);
    }
    let seconds = crate::duration::parse_seconds(input)
        .map_err(|e| format!("{e}; or a time as RFC 3339 (2026-11-28T10:00:00Z)"))?;
    Ok(time::OffsetDateTime::now_utc() - time::Duration::seconds(seconds))
}

#[derive(Subcommand)]
pub enum SessionCommand {
    /// List a tenant's live sessions, oldest first
    List(SessionListArgs),
    /// Revoke a session and the tokens issued under it, effective at once
    #[command(
        long_about = "Revoke a session and the tokens issued under it, effective at once: the \
browser has to sign in again, and the session's refresh tokens stop working."
    )]
    Revoke(SessionRevokeArgs),
}

#[derive(Args)]
pub struct SessionListArgs {
    /// Slug or id of the tenant
    #[arg(long, value_parser = parse_tenant_ref)]
    pub tenant: String,

    /// Only the sessions of this user (id or email)
    #[arg(long, value_name = "USER", value_parser = parse_user_ref, allow_hyphen_values = true)]
    pub user: Option<String>,
}

#[derive(Args)]
pub struct SessionRevokeArgs {
    /// Id of the session (see `idpctl session list`)
    #[arg(value_parser = parse_session_id, allow_hyphen_values = true)]
    pub id: String,

    /// Do not ask for confirmation (required without a terminal)
    #[arg(short, long)]
    pub yes: bool,
}

#[derive(Subcommand)]
pub enum DeviceCommand {
    /// List a tenant's registered devices, oldest first
    List(DeviceListArgs),
    /// Revoke a device: its refresh tokens fail and its access tokens turn inactive at once
    Revoke(DeviceRevokeArgs),
}

#[derive(Args)]
pub struct DeviceListArgs {
    /// Slug or id of the tenant
    #[arg(long, value_parser = parse_tenant_ref)]
    pub tenant: String,

    /// Only the devices of this user (id or email)
    #[arg(long, value_name = "USER", value_parser = parse_user_ref, allow_hyphen_values = true)]
    pub user: Option<String>,
}

#[derive(Args)]
pub struct DeviceRevokeArgs {
    /// Slug or id of the tenant
    #[arg(long, value_parser = parse_tenant_ref)]
    pub tenant: String,

    /// Id of the device (see `idpctl device list`)
    #[arg(value_parser = parse_session_id, allow_hyphen_values = true)]
    pub id: String,

    /// Do not ask for confirmation (required without a terminal)
    #[arg(short, long)]
    pub yes: bool,
}

/// [`Alg`] for clap, spelt as in JOSE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AlgArg {
    /// RSA PKCS#1 v1.5 with SHA-256, the one every OIDC client supports
    #[value(name = "RS256")]
    Rs256,
    /// ECDSA P-256 with SHA-256
    #[value(name = "ES256")]
    Es256,
    /// Ed25519
    #[value(name = "EdDSA")]
    EdDsa,
}

impl From<AlgArg> for Alg {
    fn from(arg: AlgArg) -> Self {
        match arg {
            AlgArg::Rs256 => Alg::RS256,
            AlgArg::Es256 => Alg::ES256,
            AlgArg::EdDsa => Alg::EdDSA,
        }
    }
}

/// The scopes of one `--scope` value, which may hold several separated by spaces (OAuth's
/// own separator, RFC 6749 §3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scopes(pub Vec<String>);

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
    /// `--url` or `IDPCTL_URL` was given: it beats any context.
    pub url_given: bool,
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
    let url_given = matches!(
        matches.value_source("url"),
        Some(ValueSource::CommandLine | ValueSource::EnvVariable)
    );
    Ok(Invocation {
        cli,
        token,
        url_given,
    })
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
pub fn parse_tenant_ref(value: &str) -> Result<String, String> {
    match value {
        "" => Err("the tenant slug or id is empty".into()),
        "." | ".." => Err(format!("{value:?} is not a tenant slug or id")),
        _ => Ok(value.to_owned()),
    }
}

/// A client_id goes into a URL path too.
fn parse_client_id(value: &str) -> Result<String, String> {
    match value {
        "" => Err("the client_id is empty".into()),
        "." | ".." => Err(format!("{value:?} is not a client_id")),
        _ => Ok(value.to_owned()),
    }
}

/// And so does a kid.
fn parse_kid(value: &str) -> Result<String, String> {
    match value {
        "" => Err("the kid is empty".into()),
        "." | ".." => Err(format!("{value:?} is not a kid")),
        _ => Ok(value.to_owned()),
    }
}

/// And so does a user's id or email.
fn parse_user_ref(value: &str) -> Result<String, String> {
    match value {
        "" => Err("the user id or email is empty".into()),
        "." | ".." => Err(format!("{value:?} is not a user id or email")),
        _ => Ok(value.to_owned()),
    }
}

/// And so does a session id.
fn parse_session_id(value: &str) -> Result<String, String> {
    match value {
        "" => Err("the session id is empty".into()),
        "." | ".." => Err(format!("{value:?} is not a session id")),
        _ => Ok(value.to_owned()),
    }
}

/// Short names for the grant types whose registered names are URNs.
const GRANT_ALIASES: [(&str, &str); 2] = [
    (
        "device_code",
        "urn:ietf:params:oauth:grant-type:device_code",
    ),
    ("jwt-bearer", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
];

/// A grant type idpd knows, by its registered name or its short name.
fn parse_grant(value: &str) -> Result<String, String> {
    let value = value.trim();
    if let Some(known) = GRANT_TYPES.iter().find(|g| **g == value) {
        return Ok((*known).to_owned());
    }
    if let Some((_, urn)) = GRANT_ALIASES.iter().find(|(short, _)| *short == value) {
        return Ok((*urn).to_owned());
    }
    Err(format!(
        "unknown grant type {value:?}: expected one of authorization_code, refresh_token, \
         client_credentials, device_code, jwt-bearer"
    ))
}

fn parse_scopes(value: &str) -> Result<Scopes, String> {
    let scopes: Vec<String> = value.split_whitespace().map(str::to_owned).collect();
    if scopes.is_empty() {
        return Err("the scope is empty".into());
    }
    Ok(Scopes(scopes))
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

// ---- idpctl provider ----------------------------------------------------------------

#[derive(Subcommand)]
pub enum ProviderCommand {
    /// Register an external OpenID Connect provider and print it with the redirect URI to
    /// register there
    #[command(
        long_about = "Register an external OpenID Connect provider and print it.\n\n\
The endpoints come from the issuer's discovery document (whose issuer must equal --issuer), \
unless --authorization-endpoint, --token-endpoint and --jwks-uri are all given. Register \
the printed redirect_uri ({issuer}/callback/{name}) as a redirect URI of idpd's client at the \
upstream. The client secret is read from a file or standard input, stored encrypted and \
never shown again."
    )]
    Add(ProviderAddArgs),
    /// List a tenant's providers
    List(ProviderTenantArgs),
    /// Show one provider, with its redirect URI
    Show(ProviderRef),
    /// Change a provider's settings and print the result
    Update(ProviderUpdateArgs),
    /// Remove an external provider and its account links
    Remove(ProviderRemoveArgs),
    /// Make a provider the tenant's default (`native` goes back to the built-in login)
    SetDefault(ProviderRef),
    /// Run discovery and a JWKS fetch against a provider and report each check
    Test(ProviderRef),
}

#[derive(Args)]
pub struct ProviderTenantArgs {
    /// Slug or id of the tenant
    #[arg(long, value_parser = parse_tenant_ref)]
    pub tenant: String,
}

#[derive(Args)]
pub struct ProviderRef {
    /// Slug or id of the tenant
    #[arg(long, value_parser = parse_tenant_ref)]
    pub tenant: String,

    /// Name of the provider
    #[arg(value_parser = parse_provider_name)]
    pub name: String,
}

/// Where the upstream client secret comes from: never a flag value.
#[derive(Args)]
#[group(multiple = false)]
pub struct ProviderSecretArgs {
    /// File holding idpd's client secret at the upstream
    #[arg(long, value_name = "PATH")]
    pub client_secret_file: Option<PathBuf>,

    /// Read idpd's client secret at the upstream from standard input
    #[arg(long)]
    pub client_secret_stdin: bool,
}

/// Settings `add` and `update` share.
#[derive(Args)]
pub struct ProviderSettingsArgs {
    /// Authorization endpoint, when the upstream has no discovery
    #[arg(long, value_name = "URL")]
    pub authorization_endpoint: Option<String>,

    /// Token endpoint, when the upstream has no discovery
    #[arg(long, value_name = "URL")]
    pub token_endpoint: Option<String>,

    /// JWKS URL, when the upstream has no discovery
    #[arg(long, value_name = "URL")]
    pub jwks_uri: Option<String>,

    /// Userinfo endpoint (optional); its `sub` must equal the ID token's
    #[arg(long, value_name = "URL")]
    pub userinfo_endpoint: Option<String>,

    /// Scope to request upstream, repeatable; openid is always requested
    /// [default: openid email profile]
    #[arg(long = "scope", value_name = "SCOPE", value_delimiter = ',')]
    pub scopes: Vec<String>,

    /// Send addresses of this domain, typed on the native login page, to this provider;
    /// repeatable
    #[arg(long = "email-domain", value_name = "DOMAIN", value_delimiter = ',')]
    pub email_domains: Vec<String>,
}

#[derive(Args)]
pub struct ProviderAddArgs {
    /// Slug or id of the tenant
    #[arg(long, value_parser = parse_tenant_ref)]
    pub tenant: String,

    /// Name of the provider, unique in the tenant (a-z, 0-9, -); part of the callback URL
    #[arg(long, value_parser = parse_provider_name)]
    pub name: String,

    /// The upstream's issuer URL (https)
    #[arg(long, value_name = "URL")]
    pub issuer: String,

    /// idpd's client id at the upstream
    #[arg(long, value_name = "ID")]
    pub client_id: String,

    #[command(flatten)]
    pub secret: ProviderSecretArgs,

    #[command(flatten)]
    pub settings: ProviderSettingsArgs,

    /// Link a first login to an existing local user with the same verified address, when
    /// the upstream asserts email_verified
    #[arg(long)]
    pub link_by_email: bool,

    /// Make it the tenant's default provider at once
    #[arg(long)]
    pub default: bool,
}

#[derive(Args)]
pub struct ProviderUpdateArgs {
    #[command(flatten)]
    pub provider: ProviderRef,

    /// New issuer URL (discovery runs again unless endpoints are given)
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,

    /// New client id at the upstream
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,

    #[command(flatten)]
    pub secret: ProviderSecretArgs,

    #[command(flatten)]
    pub settings: ProviderSettingsArgs,

    /// Remove every email domain
    #[arg(long, conflicts_with = "email_domains")]
    pub no_email_domains: bool,

    /// Allow linking by verified email address
    #[arg(long, conflicts_with = "no_link_by_email")]
    pub link_by_email: bool,

    /// Stop linking by email address
    #[arg(long)]
    pub no_link_by_email: bool,

    /// Fetch the discovery document again and take its endpoints
    #[arg(long)]
    pub rediscover: bool,
}

#[derive(Args)]
pub struct ProviderRemoveArgs {
    #[command(flatten)]
    pub provider: ProviderRef,

    /// Do not ask for confirmation (required without a terminal)
    #[arg(short, long)]
    pub yes: bool,
}

fn parse_provider_name(value: &str) -> Result<String, String> {
    match value {
        "" => Err("the provider name is empty".into()),
        "." | ".." => Err(format!("{value:?} is not a provider name")),
        _ => Ok(value.to_owned()),
    }
}

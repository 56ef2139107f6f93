//! The `idpd` command line: `serve` (default), `migrate`, `config show|check|example`,
//! `admin-token create`.

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{Config, ConfigArgs, EXAMPLE};
use crate::{domain, serve, store, telemetry};

#[derive(Debug, Parser)]
#[command(
    name = "idpd",
    version,
    about = "Multi-tenant OAuth 2.0 / OpenID Connect identity provider",
    long_about = "Multi-tenant OAuth 2.0 / OpenID Connect identity provider.\n\n\
        Serves the OIDC endpoints and login pages of every tenant on the public listener, and \
        the admin JSON API (used by idpctl) on the admin listener. With no arguments it runs on \
        SQLite in ./idpd-data; on first start it creates the master key and writes an admin \
        token to <data_dir>/admin-token.\n\n\
        Configuration precedence: flags > IDPD_* environment > YAML file (--config) > defaults.",
    after_help = "Run `idpd config example` for a commented configuration file."
)]
pub struct Cli {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon (the default).
    Serve,
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Manage admin API tokens offline (directly on the database).
    #[command(subcommand, name = "admin-token")]
    AdminToken(AdminTokenCommand),
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration as YAML, secrets masked.
    Show,
    /// Validate the configuration and exit.
    Check,
    /// Print a commented example configuration file.
    Example,
}

#[derive(Debug, Subcommand)]
pub enum AdminTokenCommand {
    /// Mint a new admin token and print it once on stdout.
    Create {
        /// A name to recognize the token by.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Lifetime in seconds; without it the token does not expire.
        #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u32).range(60..))]
        expires_in: Option<u32>,
    },
}

/// The clap definition, for man pages and completions.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// Entry point of the `idpd` binary.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    if let Some(Command::Config(ConfigCommand::Example)) = cli.command {
        print!("{EXAMPLE}");
        return ExitCode::SUCCESS;
    }
    let config = match Config::load(&cli.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("idpd: error: {e}");
            return ExitCode::from(2);
        }
    };
    let log = telemetry::init(config.log_format, &config.log_level);
    crate::crypto::warm_up_rng();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("idpd: error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli.command, config));
    // The log lines still queued go out before the last word.
    drop(log);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("idpd: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Option<Command>, config: Config) -> anyhow::Result<()> {
    match command.unwrap_or(Command::Serve) {
        Command::Serve => serve::run(config).await,
        Command::Migrate => {
            serve::open_store(&config).await?;
            println!(
                "database {} is up to date",
                store::redact_url(&config.database_url)
            );
            Ok(())
        }
        Command::Config(ConfigCommand::Show) => {
            let yaml = serde_yaml::to_string(&config.masked())?;
            std::io::stdout().write_all(yaml.as_bytes())?;
            Ok(())
        }
        Command::Config(ConfigCommand::Check) => {
            eprintln!("configuration is valid");
            Ok(())
        }
        Command::Config(ConfigCommand::Example) => unreachable!("handled before loading config"),
        Command::AdminToken(AdminTokenCommand::Create { name, expires_in }) => {
            let (store, _) = serve::open_store(&config).await?;
            let expires = expires_in.map(|s| time::Duration::seconds(i64::from(s)));
            let token = domain::admin_tokens::create(store.as_ref(), &name, expires).await?;
            println!("{token}");
            Ok(())
        }
    }
}

//! Configuration: flags > `IDPD_*` environment > YAML file > defaults (docs/contract.md).
//!
//! Flags and environment arrive through clap (`ConfigArgs`, each flag with its `env`); the
//! YAML file is a `FileConfig` with the same keys. Both are merged into `Config`, which is
//! validated and typed. Any bad value or unknown key is an error that names the key.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use serde::{Deserialize, Serialize};

use crate::store::redact_url;

/// Every configuration flag of idpd; also valid on every subcommand.
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigArgs {
    /// YAML configuration file (keys as in `idpd config example`).
    #[arg(long, global = true, env = "IDPD_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address of the public listener (OIDC endpoints, login pages) [default: 127.0.0.1:8080].
    #[arg(long, global = true, env = "IDPD_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
    /// Address of the admin API listener [default: 127.0.0.1:8081].
    #[arg(long, global = true, env = "IDPD_ADMIN_LISTEN", value_name = "ADDR")]
    pub admin_listen: Option<String>,
    /// External base URL; tenant issuers are {public_url}/t/{slug} [default: http://127.0.0.1:8080].
    #[arg(long, global = true, env = "IDPD_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// Directory for the SQLite database, master key, admin token and mail outbox [default: ./idpd-data].
    #[arg(long, global = true, env = "IDPD_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// sqlite://PATH or postgres://USER@HOST/DB [default: sqlite://<data_dir>/idpd.db].
    #[arg(long, global = true, env = "IDPD_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
    /// File holding the 32-byte master key that encrypts secrets at rest [default: <data_dir>/master.key].
    #[arg(long, global = true, env = "IDPD_MASTER_KEY_FILE", value_name = "FILE")]
    pub master_key_file: Option<PathBuf>,
    /// SMTP server for outgoing mail, e.g. smtp://127.0.0.1:2525; unset: write mail to <data_dir>/outbox.
    #[arg(long, global = true, env = "IDPD_SMTP_URL", value_name = "URL")]
    pub smtp_url: Option<String>,
    /// Log format: text or json [default: text].
    #[arg(long, global = true, env = "IDPD_LOG_FORMAT", value_name = "FORMAT")]
    pub log_format: Option<String>,
    /// Log filter, e.g. info or idpd=debug,info [default: info].
    #[arg(long, global = true, env = "IDPD_LOG_LEVEL", value_name = "FILTER")]
    pub log_level: Option<String>,
    /// PEM certificate chain: serve the public listener over TLS (needs --tls-key-file).
    #[arg(long, global = true, env = "IDPD_TLS_CERT_FILE", value_name = "FILE")]
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key for --tls-cert-file.
    #[arg(long, global = true, env = "IDPD_TLS_KEY_FILE", value_name = "FILE")]
    pub tls_key_file: Option<PathBuf>,
    /// Failed client authentications per client and minute before the token endpoint answers
    /// 429; each source address gets five times as many. 0 turns the limit off [default: 20].
    #[arg(
        long,
        global = true,
        env = "IDPD_CLIENT_AUTH_FAILURE_LIMIT",
        value_name = "N"
    )]
    pub client_auth_failure_limit: Option<String>,
    /// Lifetime of device codes (RFC 8628) in seconds, 1 to 3600 [default: 600].
    #[arg(
        long,
        global = true,
        env = "IDPD_DEVICE_CODE_TTL",
        value_name = "SECONDS"
    )]
    pub device_code_ttl: Option<String>,
    /// Seconds a device must wait between polls of the token endpoint, 1 to 60 [default: 5].
    #[arg(
        long,
        global = true,
        env = "IDPD_DEVICE_POLL_INTERVAL",
        value_name = "SECONDS"
    )]
    pub device_poll_interval: Option<String>,
    /// Let external OIDC providers live on loopback addresses (development and tests only).
    #[arg(
        long,
        global = true,
        env = "IDPD_ALLOW_LOOPBACK_UPSTREAMS",
        value_name = "BOOL",
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    pub allow_loopback_upstreams: Option<String>,
    /// Seconds a client has to send a request head (and finish a TLS handshake) [default: 10].
    #[arg(
        long,
        global = true,
        env = "IDPD_HEADER_READ_TIMEOUT",
        value_name = "SECONDS"
    )]
    pub header_read_timeout: Option<String>,
    /// Seconds a client has to send a request body once its head arrived [default: 15].
    #[arg(
        long,
        global = true,
        env = "IDPD_BODY_READ_TIMEOUT",
        value_name = "SECONDS"
    )]
    pub body_read_timeout: Option<String>,
    /// Seconds a keep-alive connection may sit idle between requests [default: 60].
    #[arg(long, global = true, env = "IDPD_IDLE_TIMEOUT", value_name = "SECONDS")]
    pub idle_timeout: Option<String>,
    /// Connections the public listener serves at once; more wait in the kernel's backlog
    /// [default: 10000, lowered to what the open-files limit holds].
    #[arg(long, global = true, env = "IDPD_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<String>,
    /// Connections one client address (IPv6: one /64) may hold open on the public listener
    /// [default: 256].
    #[arg(
        long,
        global = true,
        env = "IDPD_MAX_CONNECTIONS_PER_ADDRESS",
        value_name = "N"
    )]
    pub max_connections_per_address: Option<String>,
    /// Comma-separated addresses or CIDR ranges of reverse proxies whose `Forwarded` /
    /// `X-Forwarded-For` headers name the client [default: none].
    #[arg(
        long,
        global = true,
        env = "IDPD_TRUSTED_PROXIES",
        value_name = "CIDRS"
    )]
    pub trusted_proxies: Option<String>,
    /// Days audit events are kept before the maintenance task deletes them, 1 to 36500
    /// [default: 90].
    #[arg(
        long,
        global = true,
        env = "IDPD_AUDIT_RETENTION_DAYS",
        value_name = "DAYS"
    )]
    pub audit_retention_days: Option<String>,
    /// Comma-separated host names the admin listener answers for, besides IP addresses and
    /// localhost (a request naming any other host is refused: DNS rebinding) [default: none].
    #[arg(long, global = true, env = "IDPD_ADMIN_HOSTS", value_name = "HOSTS")]
    pub admin_hosts: Option<String>,
}

/// Environment variables idpd reads; any other `IDPD_*` variable is a typo and an error.
pub const ENV_VARS: &[&str] = &[
    "IDPD_CONFIG",
    "IDPD_LISTEN",
    "IDPD_ADMIN_LISTEN",
    "IDPD_PUBLIC_URL",
    "IDPD_DATA_DIR",
    "IDPD_DATABASE_URL",
    "IDPD_MASTER_KEY_FILE",
    "IDPD_SMTP_URL",
    "IDPD_LOG_FORMAT",
    "IDPD_LOG_LEVEL",
    "IDPD_TLS_CERT_FILE",
    "IDPD_TLS_KEY_FILE",
    "IDPD_ALLOW_LOOPBACK_UPSTREAMS",
    "IDPD_CLIENT_AUTH_FAILURE_LIMIT",
    "IDPD_DEVICE_CODE_TTL",
    "IDPD_DEVICE_POLL_INTERVAL",
    "IDPD_HEADER_READ_TIMEOUT",
    "IDPD_BODY_READ_TIMEOUT",
    "IDPD_IDLE_TIMEOUT",
    "IDPD_MAX_CONNECTIONS",
    "IDPD_MAX_CONNECTIONS_PER_ADDRESS",
    "IDPD_TRUSTED_PROXIES",
    "IDPD_AUDIT_RETENTION_DAYS",
    "IDPD_ADMIN_HOSTS",
];

/// The YAML file, as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    listen: Option<String>,
    admin_listen: Option<String>,
    public_url: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    master_key_file: Option<PathBuf>,
    smtp_url: Option<String>,
    log_format: Option<String>,
    log_level: Option<String>,
    tls_cert_file: Option<PathBuf>,
    tls_key_file: Option<PathBuf>,
    allow_loopback_upstreams: Option<bool>,
    client_auth_failure_limit: Option<u32>,
    device_code_ttl: Option<i64>,
    device_poll_interval: Option<i64>,
    header_read_timeout: Option<i64>,
    body_read_timeout: Option<i64>,
    idle_timeout: Option<i64>,
    max_connections: Option<i64>,
    max_connections_per_address: Option<i64>,
    trusted_proxies: Option<Vec<String>>,
    audit_retention_days: Option<i64>,
    admin_hosts: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize)]
pub struct TlsFiles {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

/// The validated configuration.
#[derive(Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub admin_listen: SocketAddr,
    /// Without a trailing slash.
    pub public_url: String,
    /// The origin of `public_url` as browsers serialize it in `Origin` (scheme, host, and
    /// the port unless it is the scheme's default), made once at start.
    pub public_origin: String,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub master_key_file: PathBuf,
    pub smtp_url: Option<String>,
    pub log_format: LogFormat,
    pub log_level: String,
    pub tls: Option<TlsFiles>,
    pub allow_loopback_upstreams: bool,
    /// Failed client authentications per client and minute (0: unlimited).
    pub client_auth_failure_limit: u32,
    /// Lifetime of device codes and the polling interval (RFC 8628).
    pub device_timing: crate::domain::oauth::device_code::Timing,
    /// Timeouts and caps of connections.
    pub connections: Connections,
    /// How long audit events are kept.
    pub audit_retention_days: i64,
    /// Host names (lower case, without port) the admin listener answers for, besides IP
    /// literals and `localhost`.
    pub admin_hosts: Arc<[String]>,
}

/// How long a connection may take over each part of a request.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub idle_timeout: Duration,
}

/// What the listeners allow their connections.
#[derive(Debug, Clone)]
pub struct Connections {
    pub timeouts: Timeouts,
    pub max_connections: usize,
    pub max_connections_per_address: usize,
    /// Reverse proxies: only their `Forwarded`/`X-Forwarded-For` headers are believed, and
    /// they are exempt from the per-address cap.
    pub trusted_proxies: Arc<[ipnet::IpNet]>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid value for `{key}`: {message}")]
    Invalid { key: &'static str, message: String },
    #[error("unknown environment variable {0} (idpd reads: {list})", list = ENV_VARS.join(", "))]
    UnknownEnv(String),
}

fn invalid(key: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        message: message.into(),
    }
}

impl Config {
    /// Merges flags/environment over the YAML file over defaults, and validates.
    pub fn load(args: &ConfigArgs) -> Result<Config, ConfigError> {
        check_env(std::env::vars_os().filter_map(|(k, _)| k.into_string().ok()))?;
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        Self::merge(args, file)
    }

    fn merge(args: &ConfigArgs, file: FileConfig) -> Result<Config, ConfigError> {
        let a = args.clone();
        let listen = parse_addr("listen", a.listen.or(file.listen), "127.0.0.1:8080")?;
        let admin_listen = parse_addr(
            "admin_listen",
            a.admin_listen.or(file.admin_listen),
            "127.0.0.1:8081",
        )?;
        let public_url = parse_public_url(
            a.public_url
                .or(file.public_url)
                .unwrap_or_else(|| "http://127.0.0.1:8080".into()),
        )?;
        let data_dir = a
            .data_dir
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("./idpd-data"));
        if data_dir.as_os_str().is_empty() {
            return Err(invalid("data_dir", "must not be empty"));
        }
        let database_url = match a.database_url.or(file.database_url) {
            Some(u) => {
                let scheme_ok = ["sqlite:", "postgres:", "postgresql:"]
                    .iter()
                    .any(|s| u.starts_with(s));
                if !scheme_ok {
                    return Err(invalid(
                        "database_url",
                        "must start with sqlite:// or postgres://",
                    ));
                }
                u
            }
            None => format!("sqlite://{}", data_dir.join("idpd.db").display()),
        };
        let master_key_file = a
            .master_key_file
            .or(file.master_key_file)
            .unwrap_or_else(|| data_dir.join("master.key"));
        let smtp_url = a.smtp_url.or(file.smtp_url);
        if let Some(u) = &smtp_url {
            match url::Url::parse(u) {
                Ok(p) if ["smtp", "smtps"].contains(&p.scheme()) && p.host().is_some() => {}
                _ => {
                    return Err(invalid(
                        "smtp_url",
                        "must look like smtp://HOST:PORT or smtps://USER:PASS@HOST",
                    ));
                }
            }
        }
        let log_format = match a.log_format.or(file.log_format).as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(invalid(
                    "log_format",
                    format!("{other:?} is not one of: text, json"),
                ));
            }
        };
        let log_level = a
            .log_level
            .or(file.log_level)
            .unwrap_or_else(|| "info".into());
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&log_level) {
            return Err(invalid("log_level", e.to_string()));
        }
        let tls = match (
            a.tls_cert_file.or(file.tls_cert_file),
            a.tls_key_file.or(file.tls_key_file),
        ) {
            (None, None) => None,
            (Some(cert_file), Some(key_file)) => Some(TlsFiles {
                cert_file,
                key_file,
            }),
            (Some(_), None) => return Err(invalid("tls_key_file", "required with tls_cert_file")),
            (None, Some(_)) => return Err(invalid("tls_cert_file", "required with tls_key_file")),
        };
        let allow_loopback_upstreams = match a.allow_loopback_upstreams {
            Some(v) => parse_bool(&v).ok_or_else(|| {
                invalid(
                    "allow_loopback_upstreams",
                    format!("{v:?} is not true or false"),
                )
            })?,
            None => file.allow_loopback_upstreams.unwrap_or(false),
        };
        let client_auth_failure_limit = match a.client_auth_failure_limit {
            Some(v) => v.parse().map_err(|_| {
                invalid(
                    "client_auth_failure_limit",
                    format!("{v:?} is not a whole number"),
                )
            })?,
            None => file.client_auth_failure_limit.unwrap_or(20),
        };
        let seconds =
            |key, flag, file, default, max| number(key, flag, file, default, 1..=max, "seconds");
        let device_timing = crate::domain::oauth::device_code::Timing {
            ttl_seconds: seconds(
                "device_code_ttl",
                a.device_code_ttl,
                file.device_code_ttl,
                600,
                3600,
            )?,
            interval_seconds: seconds(
                "device_poll_interval",
                a.device_poll_interval,
                file.device_poll_interval,
                5,
                60,
            )?,
        };
        let secs = |key, flag, file, default, max| {
            seconds(key, flag, file, default, max).map(|s: i64| Duration::from_secs(s as u64))
        };
        let count = |key, flag, file, default, range| {
            number(key, flag, file, default, range, "connections").map(|n| n as usize)
        };
        let connections = Connections {
            timeouts: Timeouts {
                header_read_timeout: secs(
                    "header_read_timeout",
                    a.header_read_timeout,
                    file.header_read_timeout,
                    10,
                    300,
                )?,
                body_read_timeout: secs(
                    "body_read_timeout",
                    a.body_read_timeout,
                    file.body_read_timeout,
                    15,
                    300,
                )?,
                idle_timeout: secs("idle_timeout", a.idle_timeout, file.idle_timeout, 60, 3600)?,
            },
            max_connections: count(
                "max_connections",
                a.max_connections,
                file.max_connections,
                10_000,
                16..=1_000_000,
            )?,
            max_connections_per_address: count(
                "max_connections_per_address",
                a.max_connections_per_address,
                file.max_connections_per_address,
                256,
                1..=1_000_000,
            )?,
            trusted_proxies: parse_cidrs(
                "trusted_proxies",
                match a.trusted_proxies {
                    Some(v) => v
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect(),
                    None => file.trusted_proxies.unwrap_or_default(),
                },
            )?,
        };
        let audit_retention_days = number(
            "audit_retention_days",
            a.audit_retention_days,
            file.audit_retention_days,
            90,
            1..=36_500,
            "days",
        )?;
        let admin_hosts = match a.admin_hosts {
            Some(v) => v.split(',').map(str::to_owned).collect(),
            None => file.admin_hosts.unwrap_or_default(),
        }
        .into_iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .map(|h| {
            let ok = h.len() <= 253
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
            if ok {
                Ok(h)
            } else {
                Err(invalid(
                    "admin_hosts",
                    format!("{h:?} is not a host name like admin.example.com"),
                ))
            }
        })
        .collect::<Result<Arc<[String]>, _>>()?;
        let public_origin = url::Url::parse(&public_url)
            .map(|u| u.origin().ascii_serialization())
            .map_err(|e| invalid("public_url", e.to_string()))?;
        Ok(Config {
            admin_hosts,
            audit_retention_days,
            connections,
            device_timing,
            client_auth_failure_limit,
            listen,
            admin_listen,
            public_url,
            public_origin,
            data_dir,
            database_url,
            master_key_file,
            smtp_url,
            log_format,
            log_level,
            tls,
            allow_loopback_upstreams,
        })
    }

    /// Whether the public listener is reached over https (cookies can be `Secure`).
    pub fn public_https(&self) -> bool {
        self.public_url.starts_with("https:")
    }

    /// The effective configuration with secrets masked, as YAML keys.
    pub fn masked(&self) -> BTreeMap<&'static str, serde_yaml::Value> {
        use serde_yaml::Value;
        let s = |v: &str| Value::String(v.to_owned());
        let p = |v: &Path| Value::String(v.display().to_string());
        let mut m = BTreeMap::new();
        m.insert("listen", s(&self.listen.to_string()));
        m.insert("admin_listen", s(&self.admin_listen.to_string()));
        m.insert("public_url", s(&self.public_url));
        m.insert("data_dir", p(&self.data_dir));
        m.insert("database_url", s(&redact_url(&self.database_url)));
        m.insert("master_key_file", p(&self.master_key_file));
        m.insert(
            "smtp_url",
            self.smtp_url
                .as_deref()
                .map(|u| s(&redact_url(u)))
                .unwrap_or(Value::Null),
        );
        m.insert(
            "log_format",
            s(match self.log_format {
                LogFormat::Text => "text",
                LogFormat::Json => "json",
            }),
        );
        m.insert("log_level", s(&self.log_level));
        let tls = self.tls.as_ref();
        m.insert(
            "tls_cert_file",
            tls.map(|t| p(&t.cert_file)).unwrap_or(Value::Null),
        );
        m.insert(
            "tls_key_file",
            tls.map(|t| p(&t.key_file)).unwrap_or(Value::Null),
        );
        m.insert(
            "allow_loopback_upstreams",
            Value::Bool(self.allow_loopback_upstreams),
        );
        m.insert(
            "client_auth_failure_limit",
            Value::Number(self.client_auth_failure_limit.into()),
        );
        m.insert(
            "device_code_ttl",
            Value::Number(self.device_timing.ttl_seconds.into()),
        );
        m.insert(
            "device_poll_interval",
            Value::Number(self.device_timing.interval_seconds.into()),
        );
        m.insert(
            "admin_hosts",
            Value::Sequence(self.admin_hosts.iter().map(|h| s(h)).collect()),
        );
        m.insert(
            "audit_retention_days",
            Value::Number(self.audit_retention_days.into()),
        );
        let c = &self.connections;
        let t = &c.timeouts;
        for (key, d) in [
            ("header_read_timeout", t.header_read_timeout),
            ("body_read_timeout", t.body_read_timeout),
            ("idle_timeout", t.idle_timeout),
        ] {
            m.insert(key, Value::Number(d.as_secs().into()));
        }
        m.insert(
            "max_connections",
            Value::Number((c.max_connections as u64).into()),
        );
        m.insert(
            "max_connections_per_address",
            Value::Number((c.max_connections_per_address as u64).into()),
        );
        m.insert(
            "trusted_proxies",
            Value::Sequence(
                c.trusted_proxies
                    .iter()
                    .map(|n| s(&n.to_string()))
                    .collect(),
            ),
        );
        m
    }
}

/// Debug never prints credentials embedded in URLs.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.masked()).finish()
    }
}

/// An example file with every key, for `idpd config example`.
pub const EXAMPLE: &str = "\
# idpd configuration. Precedence: flags > IDPD_* environment > this file > defaults.
listen: 127.0.0.1:8080            # public listener: OIDC endpoints, login pages, /healthz, /readyz
admin_listen: 127.0.0.1:8081      # admin API (/api/v1) and /metrics; never expose publicly
public_url: http://127.0.0.1:8080 # issuer of tenant acme: {public_url}/t/acme
data_dir: ./idpd-data             # SQLite database, master key, first admin token, mail outbox
# database_url: postgres://idp@db.example/idp   # default: sqlite://<data_dir>/idpd.db
# master_key_file: /etc/idpd/master.key         # default: <data_dir>/master.key
# smtp_url: smtp://127.0.0.1:2525               # default: write mail to <data_dir>/outbox
log_format: text                  # text or json
log_level: info                   # tracing filter, e.g. idpd=debug,info
# tls_cert_file: /etc/idpd/tls/cert.pem         # serve the public listener over TLS
# tls_key_file: /etc/idpd/tls/key.pem
allow_loopback_upstreams: false   # development only: external providers on 127.0.0.1
client_auth_failure_limit: 20     # failed client authentications per client and minute (x5 per address); 0: off
device_code_ttl: 600              # seconds a device code (RFC 8628) stays valid
device_poll_interval: 5           # seconds a device waits between token polls
header_read_timeout: 10           # seconds to send a request head (and finish a TLS handshake)
body_read_timeout: 15             # seconds to send a request body after its head
idle_timeout: 60                  # seconds a keep-alive connection may sit idle
max_connections: 10000            # public listener; lowered to what the open-files limit holds
max_connections_per_address: 256  # per client address (IPv6: per /64) on the public listener
trusted_proxies: []               # e.g. [10.0.0.0/8]: proxies whose X-Forwarded-For is believed
audit_retention_days: 90          # audit events older than this are deleted
admin_hosts: []                   # host names of the admin listener besides IPs and localhost
";

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    if text.trim().is_empty() {
        return Ok(FileConfig::default());
    }
    // serde_yaml names the unknown or mistyped key and its line.
    serde_yaml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

fn check_env(names: impl Iterator<Item = String>) -> Result<(), ConfigError> {
    for name in names {
        if name.starts_with("IDPD_") && !ENV_VARS.contains(&name.as_str()) {
            return Err(ConfigError::UnknownEnv(name));
        }
    }
    Ok(())
}

fn parse_addr(
    key: &'static str,
    value: Option<String>,
    default: &str,
) -> Result<SocketAddr, ConfigError> {
    let v = value.unwrap_or_else(|| default.to_owned());
    v.parse().map_err(|_| {
        invalid(
            key,
            format!("{v:?} is not an IP address with port, like 127.0.0.1:8080 or [::1]:8080"),
        )
    })
}

fn parse_public_url(v: String) -> Result<String, ConfigError> {
    let u = url::Url::parse(&v).map_err(|e| invalid("public_url", format!("{v:?}: {e}")))?;
    if !["http", "https"].contains(&u.scheme()) {
        return Err(invalid("public_url", "must be an http or https URL"));
    }
    if u.host().is_none() || u.query().is_some() || u.fragment().is_some() {
        return Err(invalid(
            "public_url",
            "must have a host and no query or fragment",
        ));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(invalid("public_url", "must not contain credentials"));
    }
    Ok(u.as_str().trim_end_matches('/').to_owned())
}

/// A whole number from a flag (text) or the file, within `range`.
fn number(
    key: &'static str,
    flag: Option<String>,
    file: Option<i64>,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
    unit: &str,
) -> Result<i64, ConfigError> {
    let v = match flag {
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| invalid(key, format!("{v:?} is not a whole number")))?,
        None => file.unwrap_or(default),
    };
    if range.contains(&v) {
        Ok(v)
    } else {
        Err(invalid(
            key,
            format!(
                "must be between {} and {} {unit}",
                range.start(),
                range.end()
            ),
        ))
    }
}

/// Addresses (a /32 or /128) and CIDR ranges.
fn parse_cidrs(key: &'static str, items: Vec<String>) -> Result<Arc<[ipnet::IpNet]>, ConfigError> {
    items
        .iter()
        .map(|item| {
            item.parse::<ipnet::IpNet>()
                .map(|n| n.trunc())
                .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| invalid(key, format!("{item:?} is not an IP address or CIDR range")))
        })
        .collect()
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Result<FileConfig, String> {
        serde_yaml::from_str(text).map_err(|e| e.to_string())
    }

    /// The origin browsers send in `Origin`: lower-case host, default port left out, no path.
    #[test]
    fn public_origin_is_what_browsers_send() {
        for (url, origin) in [
            ("https://ID.Example.com:443/base", "https://id.example.com"),
            ("http://localhost:8080/", "http://localhost:8080"),
        ] {
            let args = ConfigArgs {
                public_url: Some(url.into()),
                ..ConfigArgs::default()
            };
            let c = Config::merge(&args, FileConfig::default()).unwrap();
            assert_eq!(c.public_origin, origin, "{url}");
        }
    }

    #[test]
    fn defaults() {
        let c = Config::merge(&ConfigArgs::default(), FileConfig::default()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.admin_listen.to_string(), "127.0.0.1:8081");
        assert_eq!(c.public_url, "http://127.0.0.1:8080");
        assert_eq!(c.public_origin, "http://127.0.0.1:8080");
        assert_eq!(c.database_url, "sqlite://./idpd-data/idpd.db");
        assert_eq!(c.master_key_file, PathBuf::from("./idpd-data/master.key"));
        assert!(!c.allow_loopback_upstreams);
    }

    #[test]
    fn flags_beat_file() {
        let file = yaml("listen: 127.0.0.1:9000\nadmin_listen: 127.0.0.1:9001\n").unwrap();
        let args = ConfigArgs {
            listen: Some("127.0.0.1:7000".into()),
            ..Default::default()
        };
        let c = Config::merge(&args, file).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:7000");
        assert_eq!(c.admin_listen.to_string(), "127.0.0.1:9001");
    }

    #[test]
    fn unknown_file_key_is_named() {
        let e = yaml("lisen: 127.0.0.1:1\n").unwrap_err();
        assert!(e.contains("lisen"), "{e}");
    }

    #[test]
    fn bad_values_name_the_key() {
        let cases: &[(&str, ConfigArgs)] = &[
            (
                "listen",
                ConfigArgs {
                    listen: Some("nope".into()),
                    ..Default::default()
                },
            ),
            (
                "public_url",
                ConfigArgs {
                    public_url: Some("ftp://x".into()),
                    ..Default::default()
                },
            ),
            (
                "public_url",
                ConfigArgs {
                    public_url: Some("https://x/?a=b".into()),
                    ..Default::default()
                },
            ),
            (
                "database_url",
                ConfigArgs {
                    database_url: Some("mysql://x".into()),
                    ..Default::default()
                },
            ),
            (
                "log_format",
                ConfigArgs {
                    log_format: Some("xml".into()),
                    ..Default::default()
                },
            ),
            (
                "smtp_url",
                ConfigArgs {
                    smtp_url: Some("mail.example".into()),
                    ..Default::default()
                },
            ),
            (
                "tls_key_file",
                ConfigArgs {
                    tls_cert_file: Some("c.pem".into()),
                    ..Default::default()
                },
            ),
            (
                "allow_loopback_upstreams",
                ConfigArgs {
                    allow_loopback_upstreams: Some("maybe".into()),
                    ..Default::default()
                },
            ),
        ];
        for (key, args) in cases {
            let e = Config::merge(args, FileConfig::default())
                .unwrap_err()
                .to_string();
            assert!(e.contains(&format!("`{key}`")), "{key}: {e}");
        }
    }

    #[test]
    fn device_timing() {
        let c = Config::merge(&ConfigArgs::default(), FileConfig::default()).unwrap();
        assert_eq!(
            (
                c.device_timing.ttl_seconds,
                c.device_timing.interval_seconds
            ),
            (600, 5)
        );
        let file = yaml("device_code_ttl: 60\ndevice_poll_interval: 2\n").unwrap();
        let args = ConfigArgs {
            device_poll_interval: Some("1".into()),
            ..Default::default()
        };
        let c = Config::merge(&args, file).unwrap();
        assert_eq!(
            (
                c.device_timing.ttl_seconds,
                c.device_timing.interval_seconds
            ),
            (60, 1)
        );
        for (key, ttl, interval) in [
            ("device_code_ttl", "0", "5"),
            ("device_code_ttl", "3601", "5"),
            ("device_poll_interval", "600", "61"),
            ("device_poll_interval", "600", "soon"),
        ] {
            let args = ConfigArgs {
                device_code_ttl: Some(ttl.into()),
                device_poll_interval: Some(interval.into()),
                ..Default::default()
            };
            let e = Config::merge(&args, FileConfig::default()).unwrap_err();
            assert!(e.to_string().contains(key), "{e}");
        }
    }

    #[test]
    fn unknown_env_is_refused() {
        assert!(check_env(["IDPD_LISTEN".to_owned(), "PATH".to_owned()].into_iter()).is_ok());
        let e = check_env(["IDPD_LISTN".to_owned()].into_iter()).unwrap_err();
        assert!(e.to_string().contains("IDPD_LISTN"));
    }

    #[test]
    fn secrets_are_masked() {
        let args = ConfigArgs {
            database_url: Some("postgres://idp:hunter2@db/idp".into()),
            smtp_url: Some("smtp://u:pw123@mail.example:587".into()),
            ..Default::default()
        };
        let c = Config::merge(&args, FileConfig::default()).unwrap();
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("pw123"),
            "{shown}"
        );
        assert!(shown.contains("***"));
    }
}

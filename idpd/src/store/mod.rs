//! Storage. What the rest of the daemon may ask of the database is stated by one trait per
//! aggregate, one per file here (`tenants.rs`: `TenantStore`, …), and the `Store`
//! supertrait joins them. `sql/` implements every one of them once, for any backend that
//! fulfils its `Backend` contract; `sqlite/` and `postgres/` fulfil it. SQL lives only
//! below this module.

/// The embedded migrations of a backend: the same versions and names in both folders.
macro_rules! migrations {
    ($backend:literal) => {
        &[
            (
                1,
                "init",
                include_str!(concat!(
                    "../../../../migrations/",
                    $backend,
                    "/0001_init.sql"
                )),
            ),
            (
                2,
                "oidc_core",
                include_str!(concat!(
                    "../../../../migrations/",
                    $backend,
                    "/0002_oidc_core.sql"
                )),
            ),
            (
                3,
                "users",
                include_str!(concat!(
                    "../../../../migrations/",
                    $backend,
                    "/0003_users.sql"
                )),
            ),
            (
                4,
                "rate_limits",
                include_str!(concat!(
                    "../../../../migrations/",
                    $backend,
                    "/0004_rate_limits.sql"
                )),
            ),
            (
                5,
                "login",
                include_str!(concat!(
                    "../../../../migrations/",
                    $backend,
                    "/0005_login.sql"
                )),
            ),
            (
                6,
                "providers",
                include_str!(concat!(
                    "../../../../migrations/",
                    $backend,
                    "/0006_providers.sql"
                )),
            ),
            (
                7,
                "devices",
                include_str!(concat!(
                    "../../../../migrations/",
                    $backend,
                    "/0007_devices.sql"
                )),
            ),
            (
                8,
                "audit",
                include_str!(concat!(
                    "../../../../migrations/",
                    $backend,
                    "/0008_audit.sql"
                )),
            ),
            (
                9,
                "change_feed",
                include_str!(concat!(
                    "../../../../migrations/",
                    $backend,
                    "/0009_change_feed.sql"
                )),
            ),
            (
                10,
                "cookie_names",
                include_str!(concat!(
                    "../../../../migrations/",
                    $backend,
                    "/0010_cookie_names.sql"
                )),
            ),
        ]
    };
}

mod admin_tokens;
mod audit;
pub mod changes;
mod clients;
mod devices;
mod grants;
mod keys;
mod login;
mod meta;
pub mod postgres;
mod providers;
mod rate_limits;
mod revocations;
mod sql;
pub mod sqlite;
mod tenants;
mod users;

use std::sync::Arc;

use async_trait::async_trait;

pub use admin_tokens::AdminTokenStore;
pub use audit::AuditStore;
pub use clients::ClientStore;
pub use devices::{DeviceStore, UsedJti};
pub use grants::GrantStore;
pub use keys::KeyStore;
pub use login::LoginStore;
pub use meta::MetaStore;
pub use providers::ProviderStore;
pub use rate_limits::RateLimitStore;
pub use revocations::RevocationStore;
pub use tenants::TenantStore;
pub use users::UserStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("unique constraint {constraint} violated")]
    Conflict { constraint: String },
    #[error("database error")]
    Backend(#[from] sqlx::Error),
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
}

/// Database error codes that mean "cannot use the database now" rather than "this statement
/// is wrong": PostgreSQL connection exceptions (08), shutdown and start-up (57P0x), too many
/// connections (53300), a database that is gone (3D000) or refuses our credentials (28);
/// SQLite BUSY (5) and LOCKED (6) after the busy timeout.
fn unavailable_code(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("57P0")
        || code.starts_with("28")
        || matches!(code, "53300" | "3D000" | "5" | "6")
}

impl StoreError {
    /// True when the database could not be reached (rather than refusing a statement):
    /// such failures become 503 with `Retry-After`, never a 500.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Backend(e) => {
                matches!(
                    e,
                    sqlx::Error::Io(_)
                        // The connection broke mid-exchange (a server shutting down
                        // answers the TLS or start-up request with a closed socket).
                        | sqlx::Error::Protocol(_)
                        | sqlx::Error::PoolTimedOut
                        | sqlx::Error::PoolClosed
                        | sqlx::Error::WorkerCrashed
                        | sqlx::Error::Tls(_)
                ) || e
                    .as_database_error()
                    .and_then(|d| d.code())
                    .is_some_and(|c| unavailable_code(&c))
            }
            _ => false,
        }
    }
}

impl StoreError {
    /// True when the database refused a parameter value itself: PostgreSQL cannot hold a NUL
    /// character in text (SQLSTATE 22021) or a character outside the encoding (22P05). Such
    /// a value cannot be stored and matches no row, so the request was bad input: a 4xx.
    pub fn is_bad_input(&self) -> bool {
        match self {
            StoreError::Backend(e) => e
                .as_database_error()
                .and_then(|d| d.code())
                .is_some_and(|c| matches!(c.as_ref(), "22021" | "22P05")),
            _ => false,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[async_trait]
pub trait Store:
    LoginStore
    + GrantStore
    + ProviderStore
    + TenantStore
    + KeyStore
    + ClientStore
    + UserStore
    + RevocationStore
    + RateLimitStore
    + AdminTokenStore
    + AuditStore
    + MetaStore
    + DeviceStore
{
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// A round trip to the database, for readiness.
    async fn ping(&self) -> Result<()>;
    /// Connections of the pool now, for metrics.
    fn pool_stats(&self) -> PoolStats;
    async fn close(&self);
    /// Writes of cached configuration (tenants, clients, keys) made through this store,
    /// and once [`Store::follow_changes`] ran, those of other instances.
    fn changes(&self) -> &changes::Changes;
    /// Starts hearing the changes other instances make (PostgreSQL `LISTEN`), until
    /// `close`. Without it (and on SQLite, where one process owns the file) caches rely on
    /// their time to live.
    async fn follow_changes(&self) -> Result<()> {
        Ok(())
    }
}

/// Connections of a pool: open, idle among them, and the configured maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

impl PoolStats {
    fn of<DB: sqlx::Database>(pool: &sqlx::Pool<DB>) -> Self {
        PoolStats {
            size: pool.size(),
            idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
            max: pool.options().get_max_connections(),
        }
    }

    /// Two pools counted as one (SQLite's readers and writer).
    fn plus(self, other: PoolStats) -> Self {
        PoolStats {
            size: self.size + other.size,
            idle: self.idle + other.idle,
            max: self.max + other.max,
        }
    }
}

/// Opens the database named by `url` (`sqlite://…` or `postgres://…`) and brings its
/// schema up to date. Migrations take a lock (PostgreSQL advisory lock, SQLite write lock),
/// so instances starting together are safe.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>> {
    let store: Arc<dyn Store> = if url.starts_with("sqlite:") {
        Arc::new(sqlite::SqliteStore::connect(url).await?)
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Arc::new(postgres::PgStore::connect(url).await?)
    } else {
        return Err(StoreError::Corrupt(format!(
            "unsupported database URL scheme in {:?}: use sqlite:// or postgres://",
            redact_url(url)
        )));
    };
    Ok(store)
}

/// The URL with any password replaced by `***`, for messages and `config show`.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "<unparsable URL>".into(),
    }
}

/// Migrations of one backend, embedded at compile time. The two folders hold the same
/// versions and names (a test checks it).
fn migrator(files: &[(i64, &'static str, &'static str)]) -> sqlx::migrate::Migrator {
    use sqlx::SqlSafeStr;
    use sqlx::migrate::{Migration, MigrationType, Migrator};
    Migrator::with_migrations(
        files
            .iter()
            .map(|(version, name, sql)| {
                Migration::new(
                    *version,
                    (*name).into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

fn conflict(e: sqlx::Error) -> StoreError {
    if let Some(db) = e.as_database_error()
        && db.is_unique_violation()
    {
        let constraint = db
            .constraint()
            .map(str::to_owned)
            .unwrap_or_else(|| db.message().to_owned());
        return StoreError::Conflict { constraint };
    }
    StoreError::Backend(e)
}

#[cfg(test)]
mod tests {
    use super::StoreError;

    #[test]
    fn broken_connections_are_unavailable_and_refusals_are_not() {
        let unavailable = [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::Io(std::io::ErrorKind::ConnectionReset.into()),
            // What a PostgreSQL shutting down made of a new connection's TLS request.
            sqlx::Error::Protocol("unexpected response from SSLRequest: 0x00".into()),
        ];
        for e in unavailable {
            let text = e.to_string();
            assert!(StoreError::Backend(e).is_unavailable(), "{text}");
        }
        for e in [
            sqlx::Error::RowNotFound,
            sqlx::Error::ColumnNotFound("x".into()),
        ] {
            let text = e.to_string();
            assert!(!StoreError::Backend(e).is_unavailable(), "{text}");
        }
        assert!(!StoreError::NotFound.is_unavailable());
    }
}

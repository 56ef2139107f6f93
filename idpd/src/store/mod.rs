//! Storage: one trait per aggregate, a `Store` supertrait, and a hand-written sqlx
//! implementation per backend (`sqlite/`, `postgres/`). SQL lives only below this module.

/// Compiles the shared SQL of each named aggregate (`store/common/<name>.rs`; paths are
/// relative to the backend module that invokes this) into the
/// calling backend module, which defines `Backend`, `Db` and `Args`. SQLite accepts `$N`
/// parameters and `TRUE`, so the statements are the same on both backends.
macro_rules! common_aggregates {
    ($($name:ident),* $(,)?) => {
        $(mod $name {
            include!(concat!("../common/", stringify!($name), ".rs"));
        })*
    };
}

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
        ]
    };
}

mod devices;
mod login;
pub mod postgres;
mod providers;
mod rows;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

use time::OffsetDateTime;

pub use devices::{DeviceStore, UsedJti};
pub use login::{GrantStore, LoginStore};
pub use providers::ProviderStore;

use crate::model::admin_tokens::AdminToken;
use crate::model::audit::{AuditEvent, AuditQuery, NewAuditEvent};
use crate::model::clients::ClientRecord;
use crate::model::keys::KeyRecord;
use crate::model::tenants::Tenant;
use crate::model::users::UserRecord;

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
pub trait TenantStore: Send + Sync {
    /// Inserts the tenant, its `native` default provider and its first signing keys in one
    /// transaction. A taken slug is `Conflict`.
    async fn insert_tenant(&self, t: &Tenant, keys: &[KeyRecord]) -> Result<Tenant>;
    async fn find_tenant_by_id(&self, id: Uuid) -> Result<Option<Tenant>>;
    async fn find_tenant_by_slug(&self, slug: &str) -> Result<Option<Tenant>>;
    /// Slugs equal to `base` or starting with `base-`.
    async fn slugs_with_prefix(&self, base: &str) -> Result<Vec<String>>;
    /// Tenants ordered by slug, those after `after`.
    async fn list_tenants(&self, after: Option<&str>, limit: u32) -> Result<Vec<Tenant>>;
    async fn count_tenants(&self) -> Result<u64>;
    /// Writes the mutable fields (not slug, id or created_at).
    async fn update_tenant(&self, t: &Tenant) -> Result<Tenant>;
    /// Deletes the tenant and everything that belongs to it.
    async fn delete_tenant(&self, id: Uuid) -> Result<()>;
}

#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Every key of the tenant, removed ones included.
    async fn list_keys(&self, tenant_id: Uuid) -> Result<Vec<KeyRecord>>;
    async fn find_key(&self, kid: &str) -> Result<Option<KeyRecord>>;
    async fn insert_key(&self, k: &KeyRecord) -> Result<()>;
    /// Sets `removed_at` (an operator retired the key early).
    async fn remove_key(&self, kid: &str, at: OffsetDateTime) -> Result<()>;
    /// Inserts `k` only if no key of its tenant and algorithm was created after
    /// `due_before`, deciding under a lock on the tenant row: several instances running the
    /// rotation job together rotate once.
    async fn insert_key_if_due(&self, k: &KeyRecord, due_before: OffsetDateTime) -> Result<bool>;
    /// `(tenant id, interval)` of tenants with automatic rotation.
    async fn tenants_with_rotation(&self) -> Result<Vec<(Uuid, i64)>>;
}

#[async_trait]
pub trait ClientStore: Send + Sync {
    /// A taken `(tenant, client_id)` is `Conflict`.
    async fn insert_client(&self, c: &ClientRecord) -> Result<()>;
    async fn find_client(&self, tenant_id: Uuid, client_id: &str) -> Result<Option<ClientRecord>>;
    /// Ordered by client_id, those after `after`.
    async fn list_clients(
        &self,
        tenant_id: Uuid,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ClientRecord>>;
    /// Writes every mutable field, secrets included.
    async fn update_client(&self, c: &ClientRecord) -> Result<()>;
    async fn delete_client(&self, tenant_id: Uuid, client_id: &str) -> Result<()>;
}

#[async_trait]
pub trait UserStore: Send + Sync {
    /// A taken `(tenant, email)` is `Conflict`.
    async fn insert_user(&self, u: &UserRecord) -> Result<()>;
    async fn find_user(&self, tenant_id: Uuid, id: Uuid) -> Result<Option<UserRecord>>;
    /// `email` as stored: lower-cased.
    async fn find_user_by_email(&self, tenant_id: Uuid, email: &str) -> Result<Option<UserRecord>>;
    /// Ordered by email, those after `after` (an email).
    async fn list_users(
        &self,
        tenant_id: Uuid,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<UserRecord>>;
    /// Writes every mutable field; an email taken by another user is `Conflict`.
    async fn update_user(&self, u: &UserRecord) -> Result<()>;
    async fn delete_user(&self, tenant_id: Uuid, id: Uuid) -> Result<()>;
}

#[async_trait]
pub trait RevocationStore: Send + Sync {
    /// Records a revoked access token until it would have expired anyway.
    async fn revoke_token(
        &self,
        jti: &str,
        tenant_id: Uuid,
        expires_at: OffsetDateTime,
    ) -> Result<()>;
    async fn is_revoked(&self, jti: &str) -> Result<bool>;
    /// Deletes revocations of tokens that have expired; returns how many.
    async fn purge_revocations(&self, now: OffsetDateTime) -> Result<u64>;
}

#[async_trait]
pub trait RateLimitStore: Send + Sync {
    /// Counts one hit on `key` in the window starting at `window_start` (Unix seconds; a new
    /// window resets the count) and returns the count so far, atomically.
    async fn hit(&self, key: &str, window_start: i64) -> Result<i64>;
    /// Deletes counters of windows that started before `before`.
    async fn purge_rate_limits(&self, before: i64) -> Result<u64>;
}

#[async_trait]
pub trait AdminTokenStore: Send + Sync {
    async fn insert_admin_token(&self, t: &AdminToken) -> Result<()>;
    async fn find_admin_token(&self, digest: &[u8; 32]) -> Result<Option<AdminToken>>;
    /// Inserts `t` only if no bootstrap token was ever created (decided in the database, so
    /// two instances starting together create one). Returns whether it was inserted.
    async fn insert_bootstrap_admin_token(&self, t: &AdminToken) -> Result<bool>;
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends an event; returns its sequence number.
    async fn insert_audit_event(&self, e: &NewAuditEvent) -> Result<i64>;
    /// Events matching `q`: with `q.after`, those after it, oldest first; otherwise the
    /// newest `q.limit`, newest first.
    async fn list_audit_events(&self, q: &AuditQuery) -> Result<Vec<AuditEvent>>;
}

#[async_trait]
pub trait MetaStore: Send + Sync {
    async fn get_meta(&self, key: &str) -> Result<Option<String>>;
    /// Sets `key` unless it is set; returns the value now stored.
    async fn init_meta(&self, key: &str, value: &str) -> Result<String>;
}

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

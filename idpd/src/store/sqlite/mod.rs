//! SQLite backend: the embedded default. One file, WAL, foreign keys on, `synchronous=FULL`
//! so an acknowledged write survives a crash, and write transactions that take the write
//! lock up front (`BEGIN IMMEDIATE`) so concurrent writers queue on `busy_timeout` instead
//! of failing with SQLITE_BUSY.

common_aggregates!(
    admin_tokens,
    audit,
    clients,
    devices,
    grants,
    keys,
    login,
    meta,
    providers,
    rate_limits,
    revocations,
    tenants,
    users
);

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

use super::{Result, Store, migrator};

pub struct SqliteStore {
    pool: SqlitePool,
}

type Backend = SqliteStore;
type Db = Sqlite;
type Args = sqlx::sqlite::SqliteArguments;

const MIGRATIONS: &[(i64, &str, &str)] = migrations!("sqlite");

impl SqliteStore {
    pub async fn connect(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        migrator(MIGRATIONS).run(&pool).await?;
        Ok(Self { pool })
    }

    /// A write transaction that holds the database write lock from its first statement.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Serializes writers of one tenant: `BEGIN IMMEDIATE` already locks the whole database.
    async fn lock_tenant(
        _tx: &mut Transaction<'static, Sqlite>,
        _tenant_id: uuid::Uuid,
    ) -> Result<()> {
        Ok(())
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn pool_stats(&self) -> super::PoolStats {
        super::PoolStats::of(&self.pool)
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

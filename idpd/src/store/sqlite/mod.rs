//! SQLite backend: the embedded default. One file, WAL, foreign keys on, `synchronous=FULL`
//! so an acknowledged write survives a crash, and write transactions that take the write
//! lock up front (`BEGIN IMMEDIATE`) so concurrent writers queue on `busy_timeout` instead
//! of failing with SQLITE_BUSY.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{SqlSafeStr, Sqlite, SqlitePool, Transaction};

use super::changes::Changes;
use super::sql::Backend;
use super::{Result, Store, migrator};

/// Readers and the one writer. SQLite allows one writer at a time, and a connection that
/// finds the write lock taken sleeps in SQLite's busy handler (1, 2, 5, 10… ms) rather than
/// being woken when it frees; under load those sleeps made the p99. So every write goes
/// through `writer`, a pool of one connection where writers queue in order and are woken at
/// once, and reads run in parallel on `pool` (read-only connections: a write sent there by
/// mistake fails instead of contending).
pub struct SqliteStore {
    pool: SqlitePool,
    writer: SqlitePool,
    changes: Changes,
}

const MIGRATIONS: &[(i64, &str, &str)] = migrations!("sqlite");

impl SqliteStore {
    pub async fn connect(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await?;
        migrator(MIGRATIONS).run(&writer).await?;
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.read_only(true))
            .await?;
        Ok(Self {
            pool,
            writer,
            changes: Changes::default(),
        })
    }
}

super::sql::sqlx_backend!(SqliteStore, Sqlite, SqliteStmt);

impl SqliteStore {
    fn read_pool(&self) -> &SqlitePool {
        &self.pool
    }

    fn write_pool(&self) -> &SqlitePool {
        &self.writer
    }
}

impl Backend for SqliteStore {
    type Row = SqliteRow;
    type Stmt = SqliteStmt;
    type Tx = Transaction<'static, Sqlite>;
    const SLOT: usize = 0;

    fn sql(text: impl SqlSafeStr) -> SqliteStmt {
        SqliteStmt::new(text)
    }

    /// `BEGIN IMMEDIATE`: the transaction holds the database write lock from its first
    /// statement, so it cannot fail later with SQLITE_BUSY on upgrading a read lock.
    async fn begin_write(&self) -> Result<Self::Tx> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Nothing to do: `BEGIN IMMEDIATE` already locks the whole database.
    async fn lock_tenant(_tx: &mut Self::Tx, _tenant_id: uuid::Uuid) -> Result<()> {
        Ok(())
    }

    /// SQLite has no data-modifying CTEs: the two inserts and their transaction become
    /// one script.
    fn atomic_pair(first: &str, second: &str) -> String {
        format!("BEGIN IMMEDIATE; {first}; {second}; COMMIT")
    }

    /// Every statement of the script goes in a single request to the writer connection's
    /// thread, where a transaction of separate statements costs a hand-off each and holds
    /// the one writer while the task waits to be polled between them (on the hot path, four
    /// hand-offs became one). If a statement fails, the rest do not run and the transaction
    /// is rolled back here; a connection that cannot roll back is closed, so none goes back
    /// to the pool inside a transaction.
    async fn execute_atomic(&self, script: SqliteStmt) -> Result<()> {
        let mut conn = self.writer.acquire().await?;
        let Err(e) = script.0.execute(&mut *conn).await else {
            return Ok(());
        };
        if let Err(rollback) = sqlx::query("ROLLBACK").execute(&mut *conn).await {
            // "no transaction is active": BEGIN itself failed, so nothing is open.
            if !rollback.to_string().contains("no transaction is active") {
                tracing::warn!(error = %rollback, "rollback failed; closing the writer connection");
                conn.close_on_drop();
            }
        }
        Err(e.into())
    }

    fn changes(&self) -> &Changes {
        &self.changes
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn pool_stats(&self) -> super::PoolStats {
        super::PoolStats::of(&self.pool).plus(super::PoolStats::of(&self.writer))
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
    }

    fn changes(&self) -> &Changes {
        &self.changes
    }
}

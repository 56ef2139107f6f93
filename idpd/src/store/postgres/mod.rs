//! PostgreSQL backend: for production and for several idpd instances on one database.
//! Bounded pool-acquire and statement timeouts keep requests from piling up while the
//! database is away; those failures surface as 503, not as hung connections.

use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions, PgRow};
use sqlx::{PgPool, Postgres, SqlSafeStr, Transaction};

use super::changes::{CHANNEL, Change, Changes};
use super::sql::{Backend, Statement};
use super::{Result, Store, migrator};

pub struct PgStore {
    pool: PgPool,
    changes: Arc<Changes>,
    /// The task that hears other instances' changes (see `follow_changes`).
    follower: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

const MIGRATIONS: &[(i64, &str, &str)] = migrations!("postgres");

impl PgStore {
    pub async fn connect(url: &str) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)?
            .application_name("idpd")
            .options([("statement_timeout", "10s")]);
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(3))
            .connect_with(options)
            .await?;
        // sqlx's migrator holds a PostgreSQL advisory lock while it runs, so two instances
        // starting at once apply each migration exactly once.
        migrator(MIGRATIONS).run(&pool).await?;
        Ok(Self {
            pool,
            changes: Arc::default(),
            follower: Mutex::new(None),
        })
    }
}

super::sql::sqlx_backend!(PgStore, Postgres, PgStmt);

impl PgStore {
    fn read_pool(&self) -> &PgPool {
        &self.pool
    }

    /// PostgreSQL has no single writer: writes use the one pool.
    fn write_pool(&self) -> &PgPool {
        &self.pool
    }
}

impl Backend for PgStore {
    type Row = PgRow;
    type Stmt = PgStmt;
    type Tx = Transaction<'static, Postgres>;
    const SLOT: usize = 1;

    fn sql(text: impl SqlSafeStr) -> PgStmt {
        PgStmt::new(text)
    }

    /// READ COMMITTED; conflicts surface as unique violations.
    async fn begin_write(&self) -> Result<Self::Tx> {
        Ok(self.pool.begin().await?)
    }

    /// Locks the tenant's row until the transaction ends.
    async fn lock_tenant(tx: &mut Self::Tx, tenant_id: uuid::Uuid) -> Result<()> {
        Self::sql("SELECT id FROM idp_tenants WHERE id = $1 FOR UPDATE")
            .bind(tenant_id)
            .execute(tx)
            .await?;
        Ok(())
    }

    /// One statement (a data-modifying CTE). The two may share parameters: the extended
    /// protocol binds one list per statement.
    fn atomic_pair(first: &str, second: &str) -> String {
        format!("WITH first AS ({first}) {second}")
    }

    /// A single statement is atomic by itself.
    async fn execute_atomic(&self, script: PgStmt) -> Result<()> {
        script.execute(self.writer()).await?;
        Ok(())
    }

    fn changes(&self) -> &Changes {
        &self.changes
    }
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn pool_stats(&self) -> super::PoolStats {
        super::PoolStats::of(&self.pool)
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.stop_following();
        self.pool.close().await;
    }

    fn changes(&self) -> &Changes {
        &self.changes
    }

    /// Triggers on the cached tables (migration 0009) `NOTIFY` every committed change; one
    /// connection of the pool listens and tells this store's subscribers.
    async fn follow_changes(&self) -> Result<()> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(CHANNEL).await?;
        let changes = self.changes.clone();
        let task = tokio::spawn(follow(listener, changes));
        if let Some(old) = self
            .follower
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .replace(task)
        {
            old.abort();
        }
        Ok(())
    }
}

impl PgStore {
    fn stop_following(&self) {
        if let Some(task) = self
            .follower
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            task.abort();
        }
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        self.stop_following();
    }
}

/// Relays notifications until the pool closes. A lost connection may have lost
/// notifications with it: subscribers then forget everything, and sqlx reconnects and
/// listens again.
async fn follow(mut listener: PgListener, changes: Arc<Changes>) {
    loop {
        match listener.try_recv().await {
            Ok(Some(n)) => changes.publish(&Change::parse(n.payload())),
            Ok(None) => {
                tracing::warn!("change notifications interrupted; reconnecting");
                changes.publish(&Change::Everything);
            }
            Err(sqlx::Error::PoolClosed) => return,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for change notifications; retrying");
                changes.publish(&Change::Everything);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

//! PostgreSQL backend: for production and for several idpd instances on one database.
//! Bounded pool-acquire and statement timeouts keep requests from piling up while the
//! database is away; those failures surface as 503, not as hung connections.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{PgPool, Postgres, SqlSafeStr, Transaction};

use super::sql::{Backend, Statement};
use super::{Result, Store, migrator};

pub struct PgStore {
    pool: PgPool,
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
        Ok(Self { pool })
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
        self.pool.close().await;
    }
}

//! PostgreSQL backend: for production and for several idpd instances on one database.
//! Bounded pool-acquire and statement timeouts keep requests from piling up while the
//! database is away; those failures surface as 503, not as hung connections.

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
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};

use super::{Result, Store, migrator};

pub struct PgStore {
    pool: PgPool,
}

type Backend = PgStore;
type Db = Postgres;
type Args = sqlx::postgres::PgArguments;

const MIGRATIONS: &[(i64, &str, &str)] = migrations!("postgres");

/// Two inserts as one statement (a data-modifying CTE), run by `execute_atomic`. They may
/// share parameters: the extended protocol binds one list per statement.
fn atomic_pair(first: &str, second: &str) -> String {
    format!("WITH first AS ({first}) {second}")
}

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

    /// Where statements that write go: the one pool (PostgreSQL has no single writer).
    fn writer(&self) -> &PgPool {
        &self.pool
    }

    /// A write transaction (READ COMMITTED; conflicts surface as unique violations).
    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>> {
        Ok(self.pool.begin().await?)
    }

    /// Runs a statement made by [`atomic_pair`]: a single statement is atomic by itself.
    async fn execute_atomic(&self, q: sqlx::query::Query<'_, Postgres, Args>) -> Result<()> {
        q.execute(&self.pool).await?;
        Ok(())
    }

    /// Serializes writers of one tenant (e.g. two instances rotating its keys) on its row.
    async fn lock_tenant(
        tx: &mut Transaction<'static, Postgres>,
        tenant_id: uuid::Uuid,
    ) -> Result<()> {
        sqlx::query("SELECT id FROM idp_tenants WHERE id = $1 FOR UPDATE")
            .bind(tenant_id)
            .execute(&mut **tx)
            .await?;
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

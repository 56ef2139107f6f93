//! PostgreSQL backend: for production and for several idpd instances on one database.
//! Bounded pool-acquire and statement timeouts keep requests from piling up while the
//! database is away; those failures surface as 503, not as hung connections.

mod admin_tokens;
mod clients;
mod keys;
mod meta;
mod revocations;
mod tenants;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::{Result, Store, migrator};

pub struct PgStore {
    pool: PgPool,
}

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../../../../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "oidc_core",
        include_str!("../../../../migrations/postgres/0002_oidc_core.sql"),
    ),
];

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

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

//! The SQL of every aggregate, written once for both backends, and the contract a backend
//! fulfils to run it: [`Backend`].
//!
//! Each file here implements one store trait for every `B: Backend` (`impl<B: Backend>
//! ClientStore for B`). The statements are the same on SQLite and PostgreSQL (SQLite accepts
//! `$N` parameters and `TRUE`); what differs (pools, how a write transaction starts, tenant
//! locks, atomic scripts) is a method of the contract, implemented in `store/sqlite/` and
//! `store/postgres/`.
//!
//! Values cross the contract through two small traits, so generic code names no database
//! type: a [`Param`] is a value both backends can bind, a [`Column`] one both can decode, and
//! a row of either backend is read through [`Columns`].

mod admin_tokens;
mod audit;
mod clients;
mod devices;
mod grants;
mod keys;
mod login;
mod meta;
mod providers;
mod rate_limits;
mod revocations;
pub(super) mod rows;
mod tenants;
mod users;

use std::future::Future;

use sqlx::{Decode, Encode, Postgres, SqlSafeStr, Sqlite, Type};
use uuid::Uuid;

use super::Result;
use super::changes::Changes;

/// A value both backends bind as a statement parameter.
pub(crate) trait Param<'t>:
    Encode<'t, Sqlite> + Type<Sqlite> + Encode<'t, Postgres> + Type<Postgres>
{
}

impl<'t, T> Param<'t> for T where
    T: Encode<'t, Sqlite> + Type<Sqlite> + Encode<'t, Postgres> + Type<Postgres>
{
}

/// A value both backends decode from a column.
pub(crate) trait Column:
    for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres>
{
}

impl<T> Column for T where
    T: for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres>
{
}

/// A result row of either backend, read by column name.
pub(crate) trait Columns: Send + Sync {
    fn try_get<T: Column>(&self, column: &str) -> sqlx::Result<T>;
}

impl Columns for sqlx::sqlite::SqliteRow {
    fn try_get<T: Column>(&self, column: &str) -> sqlx::Result<T> {
        sqlx::Row::try_get(self, column)
    }
}

impl Columns for sqlx::postgres::PgRow {
    fn try_get<T: Column>(&self, column: &str) -> sqlx::Result<T> {
        sqlx::Row::try_get(self, column)
    }
}

/// Where a statement runs: on the pool for reads, on the connection for writes, or inside a
/// write transaction. `&mut tx` converts into `On::Tx`.
pub(crate) enum On<'a, B: Backend> {
    Reader(&'a B),
    Writer(&'a B),
    Tx(&'a mut B::Tx),
}

impl<'a, B: Backend> From<&'a mut B::Tx> for On<'a, B> {
    fn from(tx: &'a mut B::Tx) -> Self {
        On::Tx(tx)
    }
}

/// What a statement that returns no rows reports.
pub(crate) struct Done {
    rows_affected: u64,
}

impl Done {
    pub(crate) fn new(rows_affected: u64) -> Self {
        Done { rows_affected }
    }

    pub(crate) fn rows_affected(&self) -> u64 {
        self.rows_affected
    }
}

/// A statement of backend `B` with its parameters bound so far.
pub(crate) trait Statement<B: Backend>: Send + Sized {
    /// Binds the next `$N` parameter.
    #[must_use]
    fn bind<'t, T: Param<'t>>(self, value: T) -> Self;
    fn execute<'a>(
        self,
        on: impl Into<On<'a, B>> + Send,
    ) -> impl Future<Output = sqlx::Result<Done>> + Send;
    fn fetch_optional<'a>(
        self,
        on: impl Into<On<'a, B>> + Send,
    ) -> impl Future<Output = sqlx::Result<Option<B::Row>>> + Send;
    fn fetch_one<'a>(
        self,
        on: impl Into<On<'a, B>> + Send,
    ) -> impl Future<Output = sqlx::Result<B::Row>> + Send;
    fn fetch_all<'a>(
        self,
        on: impl Into<On<'a, B>> + Send,
    ) -> impl Future<Output = sqlx::Result<Vec<B::Row>>> + Send;
}

/// An open write transaction: dropped without `commit`, it rolls back.
pub(crate) trait WriteTx: Send {
    fn commit(self) -> impl Future<Output = Result<()>> + Send;
}

/// How many backends there are: the length of per-backend caches indexed by `Backend::SLOT`.
pub(crate) const BACKENDS: usize = 2;

/// What a database backend provides to the shared SQL.
pub(crate) trait Backend: Send + Sync + Sized + 'static {
    type Row: Columns;
    type Stmt: Statement<Self>;
    type Tx: WriteTx;

    /// This backend's index in caches of statement text built once per process (a `static`
    /// in generic code is shared by every backend).
    const SLOT: usize;

    /// A statement with no parameters bound yet.
    fn sql(text: impl SqlSafeStr) -> Self::Stmt;

    /// Reads run here, in parallel.
    fn reader(&self) -> On<'_, Self> {
        On::Reader(self)
    }

    /// Statements that write run here (SQLite's one writer; PostgreSQL's pool).
    fn writer(&self) -> On<'_, Self> {
        On::Writer(self)
    }

    /// A write transaction that holds what it needs to from its first statement.
    fn begin_write(&self) -> impl Future<Output = Result<Self::Tx>> + Send;

    /// Serializes writers of one tenant until the transaction ends (e.g. two instances
    /// rotating its keys together).
    fn lock_tenant(tx: &mut Self::Tx, tenant_id: Uuid) -> impl Future<Output = Result<()>> + Send;

    /// Two inserts as one script that `execute_atomic` runs in one round trip. `$N`
    /// parameters are numbered across the script; the second insert may reuse the first's.
    fn atomic_pair(first: &str, second: &str) -> String;

    /// Runs a script made by [`Backend::atomic_pair`]: both inserts or neither.
    fn execute_atomic(&self, script: Self::Stmt) -> impl Future<Output = Result<()>> + Send;

    /// Where writes of cached configuration announce themselves (after they commit).
    fn changes(&self) -> &Changes;
}

/// The parts of a backend that differ only in the sqlx database type: its statement type
/// `$stmt` (implementing [`Statement`]) and its transaction's [`WriteTx`]. `$backend` has
/// inherent `read_pool()` and `write_pool()`.
macro_rules! sqlx_backend {
    ($backend:ty, $db:ty, $stmt:ident) => {
        /// A statement of this backend with its parameters bound so far.
        pub struct $stmt(sqlx::query::Query<'static, $db, <$db as sqlx::Database>::Arguments>);

        impl $stmt {
            fn new(text: impl sqlx::SqlSafeStr) -> Self {
                $stmt(sqlx::query(text))
            }
        }

        /// Runs `$q.$method` where `$on` says.
        macro_rules! run_on {
            ($q:expr, $on:expr, $method:ident) => {
                match $on.into() {
                    $crate::store::sql::On::Reader(b) => $q.$method(b.read_pool()).await,
                    $crate::store::sql::On::Writer(b) => $q.$method(b.write_pool()).await,
                    $crate::store::sql::On::Tx(tx) => $q.$method(&mut **tx).await,
                }
            };
        }

        impl $crate::store::sql::Statement<$backend> for $stmt {
            fn bind<'t, T: $crate::store::sql::Param<'t>>(self, value: T) -> Self {
                $stmt(self.0.bind(value))
            }

            async fn execute<'a>(
                self,
                on: impl Into<$crate::store::sql::On<'a, $backend>> + Send,
            ) -> sqlx::Result<$crate::store::sql::Done> {
                let done = run_on!(self.0, on, execute)?;
                Ok($crate::store::sql::Done::new(done.rows_affected()))
            }

            async fn fetch_optional<'a>(
                self,
                on: impl Into<$crate::store::sql::On<'a, $backend>> + Send,
            ) -> sqlx::Result<Option<<$db as sqlx::Database>::Row>> {
                run_on!(self.0, on, fetch_optional)
            }

            async fn fetch_one<'a>(
                self,
                on: impl Into<$crate::store::sql::On<'a, $backend>> + Send,
            ) -> sqlx::Result<<$db as sqlx::Database>::Row> {
                run_on!(self.0, on, fetch_one)
            }

            async fn fetch_all<'a>(
                self,
                on: impl Into<$crate::store::sql::On<'a, $backend>> + Send,
            ) -> sqlx::Result<Vec<<$db as sqlx::Database>::Row>> {
                run_on!(self.0, on, fetch_all)
            }
        }

        impl $crate::store::sql::WriteTx for sqlx::Transaction<'static, $db> {
            async fn commit(self) -> $crate::store::Result<()> {
                Ok(sqlx::Transaction::commit(self).await?)
            }
        }
    };
}

pub(super) use sqlx_backend;

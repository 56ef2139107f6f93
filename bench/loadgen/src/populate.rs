//! Bulk data with SQL, straight into idpd's database while idpd is stopped: copies of a
//! template tenant (new id, slug `bulk-N`) and of a template user (new id, email
//! `userN@bulk.test`), the users spread evenly over all tenants. Every other column is
//! copied from the template row, so the rows have the shape idpd's migrations give them.

use std::time::Instant;

use anyhow::{Context, ensure};
use sqlx::{Connection, Row};

#[derive(clap::Args)]
pub struct Args {
    /// idpd's database: postgres://… or sqlite://path
    #[arg(long)]
    database_url: String,
    /// Tenants to add
    #[arg(long, default_value_t = 10_000)]
    tenants: u64,
    /// Users to add
    #[arg(long, default_value_t = 1_000_000)]
    users: u64,
    /// Slug of the tenant to copy
    #[arg(long)]
    template_tenant: String,
    /// Email of the user to copy (in the template tenant)
    #[arg(long)]
    template_email: String,
}

/// The SQL dialect's pieces.
struct Dialect {
    columns: &'static str,
    new_id: &'static str,
    numbered: &'static str,
    series: fn(u64) -> String,
}

const POSTGRES: Dialect = Dialect {
    columns: "SELECT column_name::text FROM information_schema.columns \
              WHERE table_name = $1 AND table_schema = current_schema() ORDER BY ordinal_position",
    new_id: "gen_random_uuid()",
    numbered: "CREATE TEMPORARY TABLE bulk_numbered (rn BIGINT PRIMARY KEY, id UUID)",
    series: |n| format!("(SELECT generate_series(1, {n}) AS n)"),
};

const SQLITE: Dialect = Dialect {
    columns: "SELECT name FROM pragma_table_info($1) ORDER BY cid",
    new_id: "randomblob(16)",
    numbered: "CREATE TEMPORARY TABLE bulk_numbered (rn INTEGER PRIMARY KEY, id BLOB)",
    series: |n| {
        format!(
            "(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {n}) SELECT n FROM s)"
        )
    },
};

/// `INSERT INTO table (cols) SELECT <override or x.col> ...`: the column lists.
fn lists(columns: &[String], overrides: &[(&str, String)]) -> (String, String) {
    let exprs: Vec<String> = columns
        .iter()
        .map(|c| {
            overrides
                .iter()
                .find(|(name, _)| name == c)
                .map_or_else(|| format!("x.{c}"), |(_, e)| e.clone())
        })
        .collect();
    (columns.join(", "), exprs.join(", "))
}

/// The statements, in order: tenants, a numbered list of all tenants, users.
fn statements(d: &Dialect, a: &Args, tenant_cols: &[String], user_cols: &[String]) -> Vec<String> {
    let (tc, te) = lists(
        tenant_cols,
        &[
            ("id", d.new_id.into()),
            ("slug", "'bulk-' || g.n".into()),
            ("display_name", "'Bulk tenant ' || g.n".into()),
        ],
    );
    let (uc, ue) = lists(
        user_cols,
        &[
            ("id", d.new_id.into()),
            ("tenant_id", "b.id".into()),
            ("email", "'user' || g.n || '@bulk.test'".into()),
        ],
    );
    let q = |s: &str| s.replace('\'', "''");
    vec![
        format!(
            "INSERT INTO idp_tenants ({tc}) SELECT {te} FROM idp_tenants x, {} g WHERE x.slug = '{}'",
            (d.series)(a.tenants),
            q(&a.template_tenant)
        ),
        d.numbered.into(),
        "INSERT INTO bulk_numbered SELECT row_number() OVER (ORDER BY slug) - 1, id FROM idp_tenants".into(),
        format!(
            "INSERT INTO idp_users ({uc}) SELECT {ue} FROM {} g \
             JOIN bulk_numbered b ON b.rn = g.n % (SELECT count(*) FROM bulk_numbered) \
             CROSS JOIN (SELECT * FROM idp_users WHERE email = '{}' LIMIT 1) x",
            (d.series)(a.users),
            q(&a.template_email)
        ),
    ]
}

macro_rules! populate {
    ($conn:ty, $dialect:expr, $a:expr) => {{
        let a = $a;
        let d = $dialect;
        let mut conn = <$conn>::connect(&a.database_url).await?;
        let mut cols = Vec::new();
        for table in ["idp_tenants", "idp_users"] {
            let names: Vec<String> = sqlx::query(d.columns)
                .bind(table)
                .fetch_all(&mut conn)
                .await?
                .iter()
                .map(|r| r.get::<String, _>(0))
                .collect();
            ensure!(
                !names.is_empty(),
                "no table {table}: is this idpd's database?"
            );
            cols.push(names);
        }
        let stmts = statements(&d, &a, &cols[0], &cols[1]);
        let mut tx = conn.begin().await?;
        for s in &stmts {
            let t0 = Instant::now();
            // Built from the catalog's column names and our own literals (templates quoted).
            let done = sqlx::query(sqlx::AssertSqlSafe(s.as_str()))
                .execute(&mut *tx)
                .await
                .with_context(|| s.chars().take(120).collect::<String>())?;
            eprintln!(
                "{:>9} rows in {:>6.1} s: {}",
                done.rows_affected(),
                t0.elapsed().as_secs_f64(),
                s.chars().take(40).collect::<String>()
            );
        }
        tx.commit().await?;
        // Fresh statistics, as a database in service would have.
        sqlx::query("ANALYZE").execute(&mut conn).await?;
        Ok(())
    }};
}

pub async fn run(a: Args) -> anyhow::Result<()> {
    if a.database_url.starts_with("postgres") {
        populate!(sqlx::PgConnection, POSTGRES, a)
    } else {
        populate!(sqlx::SqliteConnection, SQLITE, a)
    }
}

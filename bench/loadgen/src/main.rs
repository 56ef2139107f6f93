//! loadgen: the parts of `bench/run.sh` that wrk cannot do.
//!
//! - `flows`: flows of dependent requests against a running idpd — authorize → token with
//!   a live session, refresh-token rotation (each refresh token is single use), and device
//!   login (JWT bearer, each `jti` single use) — with N concurrent workers for D seconds;
//!   prints one Markdown table row per flow (per second, p50, p99 from the sorted samples,
//!   errors).
//! - `ready`: starts a command (idpd) and prints the milliseconds until `/readyz` answers
//!   200, and the pid, leaving the process running.
//! - `populate`: bulk-inserts tenants and users into an idpd database with SQL.
//!
//! Loopback only: it talks to the URLs it is given and nothing else.

mod flows;
mod populate;
mod ready;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "loadgen", about = "Load generator of bench/run.sh")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run flows of dependent requests against a running idpd; print Markdown rows
    Flows(flows::Args),
    /// Start a command, print "<ms until /readyz is 200> <pid>", leave it running
    Ready(ready::Args),
    /// Bulk-insert tenants and users with SQL (idpd stopped)
    Populate(populate::Args),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().cmd {
        Cmd::Flows(a) => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(a.threads)
                .enable_all()
                .build()?;
            rt.block_on(flows::run(a))
        }
        Cmd::Ready(a) => ready::run(a),
        Cmd::Populate(a) => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(populate::run(a))
        }
    }
}

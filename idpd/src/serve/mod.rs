//! Start-up and serving: bootstrap, bind both listeners, serve until a shutdown signal, then
//! let in-flight requests finish.

use std::future::Future;
use std::net::{SocketAddr, TcpListener};

mod conn;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::watch;

use crate::config::Config;
use crate::crypto::MasterKey;
use crate::http::AppState;
use crate::store::Store;
use crate::{bootstrap, store};

/// How long in-flight requests get after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(30);

/// `idpd serve`: everything from an empty data dir to a serving daemon.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let state = prepare(config).await?;
    let public = bind(state.config.listen, "public")?;
    let admin = bind(state.config.admin_listen, "admin")?;
    serve(state, public, admin, shutdown_signal()).await
}

/// Data dir, database (migrated), master key and first admin token.
pub async fn prepare(config: Config) -> anyhow::Result<AppState> {
    let (store, master_key) = open_store(&config).await?;
    if let Some(path) = bootstrap::first_admin_token(&config, store.as_ref()).await? {
        tracing::info!(path = %path.display(), "wrote the first admin token; idpctl reads it from there");
    }
    tracing::info!(backend = store.backend(), "database ready");
    // Other instances' changes to tenants, clients and keys reach this one's caches.
    store
        .follow_changes()
        .await
        .context("cannot listen for configuration changes")?;
    let mailer = crate::mail::Mailer::new(config.smtp_url.as_deref(), &config.data_dir)
        .context("cannot set up outgoing mail")?;
    if config.smtp_url.is_none() {
        tracing::info!(outbox = %config.data_dir.join("outbox").display(), "no smtp_url: mail goes to the outbox");
    }
    Ok(AppState::new(config, store, master_key, mailer))
}

/// Data dir, database (migrated) and master key: what every subcommand that touches the
/// database needs.
pub async fn open_store(config: &Config) -> anyhow::Result<(Arc<dyn Store>, MasterKey)> {
    bootstrap::data_dir(config)?;
    let store = store::connect(&config.database_url)
        .await
        .with_context(|| {
            format!(
                "cannot open the database at {}",
                store::redact_url(&config.database_url)
            )
        })?;
    let master_key = bootstrap::master_key(config, store.as_ref()).await?;
    Ok((store, master_key))
}

fn bind(addr: SocketAddr, name: &str) -> anyhow::Result<TcpListener> {
    let l = TcpListener::bind(addr)
        .with_context(|| format!("cannot listen on {addr} ({name} listener)"))?;
    l.set_nonblocking(true)?;
    Ok(l)
}

/// Serves both listeners until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    state: AppState,
    public: TcpListener,
    admin: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let public_addr = public.local_addr()?;
    let admin_addr = admin.local_addr()?;
    let tls = state.config.tls.clone();
    let limits = state.config.connections.clone();
    let store = state.store.clone();
    let state_for_jobs = state.clone();
    let stop_rx_jobs = stop_rx.clone();
    let public_app = crate::http::public_router(state.clone());
    let admin_app = crate::http::admin_router(state);

    let public_tls = match &tls {
        Some(files) => Some(conn::tls_acceptor(&files.cert_file, &files.key_file)?),
        None => None,
    };
    let (public_max, admin_max) = connection_caps(limits.max_connections);
    let public_gate = conn::Gate::new(
        "public",
        limits.timeouts,
        public_max,
        Some(limits.max_connections_per_address),
        limits.trusted_proxies.clone(),
    );
    // The admin listener has slots of its own, and no per-address cap: whatever the public
    // listener suffers, operators and monitoring still get in.
    let admin_gate = conn::Gate::new("admin", limits.timeouts, admin_max, None, Arc::from([]));
    tracing::info!(listener = "public", addr = %public_addr, tls = public_tls.is_some(), max_connections = public_max, "listening");
    let public_task = tokio::spawn(conn::serve(
        tokio::net::TcpListener::from_std(public)?,
        public_tls,
        public_app,
        public_gate,
        stopped(stop_rx.clone()),
        DRAIN,
    ));
    tracing::info!(listener = "admin", addr = %admin_addr, tls = false, "listening");
    let admin_task = tokio::spawn(conn::serve(
        tokio::net::TcpListener::from_std(admin)?,
        None,
        admin_app,
        admin_gate,
        stopped(stop_rx),
        DRAIN,
    ));

    let maintenance = tokio::spawn(maintain(state_for_jobs, stop_rx_jobs));
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down: no new connections, finishing in-flight requests");
        let _ = stop_tx.send(true);
    });
    let (p, a) = tokio::join!(public_task, admin_task);
    maintenance.abort();
    p??;
    a??;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Background work of every instance: automatic key rotation (each rotation decided in the
/// database, so it happens once however many instances run) and purging expired rows.
async fn maintain(state: AppState, stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stopped(stop.clone()) => return,
        }
        let store = state.store.as_ref();
        match crate::domain::keys::rotate_due(store, &state.master_key).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(keys = n, "automatic key rotation"),
            Err(e) => tracing::warn!(error = %e, "automatic key rotation failed; will retry"),
        }
        if let Err(e) = purge(store, state.config.audit_retention_days).await {
            tracing::warn!(error = %e, "purging expired rows failed; will retry");
        }
    }
}

/// Deletes what can no longer be used: revocations of expired tokens, rate-limit windows
/// that ended an hour ago (the longest window is a day), login records a day after they
/// expired (kept that long so a late replay still finds its row and is recognized as a
/// replay), login flows that never got an address as soon as they expire, and audit events
/// older than the retention period.
async fn purge(
    store: &dyn crate::store::Store,
    audit_retention_days: i64,
) -> Result<(), crate::store::StoreError> {
    let now = crate::clock::now();
    store.purge_revocations(now).await?;
    store
        .purge_rate_limits(now.unix_timestamp() - 86_400 - 3600)
        .await?;
    store.purge_expired(now - time::Duration::days(1)).await?;
    store.purge_unused_flows(now).await?;
    store
        .purge_audit_events(now - time::Duration::days(audit_retention_days))
        .await?;
    store.purge_devices(now).await?;
    Ok(())
}

use conn::stopped;

/// Connections the admin listener serves at once.
const ADMIN_MAX_CONNECTIONS: usize = 256;
/// Open files kept free for the database pool, log and key files, outgoing mail and
/// requests to upstream providers.
const RESERVED_FILES: u64 = 256;

/// The public and the admin listener's connection caps: the configured public cap, lowered
/// if the open-files limit (raised to its hard limit first) cannot hold it beside the admin
/// listener's slots and the files idpd needs for itself.
fn connection_caps(configured: usize) -> (usize, usize) {
    let files = conn::raise_open_files_limit();
    let room = files.saturating_sub(RESERVED_FILES + ADMIN_MAX_CONNECTIONS as u64);
    let public = usize::try_from(room).unwrap_or(usize::MAX).min(configured);
    if public < configured {
        tracing::warn!(
            open_files = files,
            max_connections = public,
            configured,
            "the open-files limit holds fewer connections than max_connections; raise `ulimit -n` (LimitNOFILE=)"
        );
    }
    (public.max(16), ADMIN_MAX_CONNECTIONS)
}

/// SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

//! Start-up and serving: bootstrap, bind both listeners, serve until a shutdown signal, then
//! let in-flight requests finish.

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use hyper_util::rt::TokioExecutor;
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
    let store = state.store.clone();
    let state_for_jobs = state.clone();
    let stop_rx_jobs = stop_rx.clone();
    let public_app = crate::http::public_router(state.clone());
    let admin_app = crate::http::admin_router(state);

    let public_task = match tls {
        Some(files) => {
            let rustls = axum_server::tls_rustls::RustlsConfig::from_pem_file(
                &files.cert_file,
                &files.key_file,
            )
            .await
            .with_context(|| {
                format!(
                    "cannot load TLS certificate {} / key {}",
                    files.cert_file.display(),
                    files.key_file.display()
                )
            })?;
            tracing::info!(listener = "public", addr = %public_addr, tls = true, "listening");
            tokio::spawn(serve_tls(public, rustls, public_app, stop_rx.clone()))
        }
        None => {
            tracing::info!(listener = "public", addr = %public_addr, tls = false, "listening");
            tokio::spawn(serve_plain(public, public_app, stop_rx.clone()))
        }
    };
    tracing::info!(listener = "admin", addr = %admin_addr, tls = false, "listening");
    let admin_task = tokio::spawn(serve_plain(admin, admin_app, stop_rx));

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
        if let Err(e) = purge(store).await {
            tracing::warn!(error = %e, "purging expired rows failed; will retry");
        }
    }
}

/// Deletes what can no longer be used: revocations of expired tokens, rate-limit windows
/// that ended an hour ago, and login records a day after they expired (kept that long so a
/// late replay still finds its row and is recognized as a replay).
async fn purge(store: &dyn crate::store::Store) -> Result<(), crate::store::StoreError> {
    let now = crate::clock::now();
    store.purge_revocations(now).await?;
    store.purge_rate_limits(now.unix_timestamp() - 3600).await?;
    store.purge_expired(now - time::Duration::days(1)).await?;
    store.purge_devices(now).await?;
    Ok(())
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

/// The largest request head (request line and headers) read before answering 431. hyper's
/// default is about 400 KiB; nothing a browser or an OAuth client sends comes near 64 KiB
/// (browsers stop at 16–32 KiB of cookies), and a smaller buffer bounds what each of many
/// slow connections can make idpd hold.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// The most header fields in one request (hyper's default is 100).
const MAX_HEADERS: usize = 100;

/// Sets the head limits on the HTTP builder of either listener.
fn limit_heads(builder: &mut hyper_util::server::conn::auto::Builder<TokioExecutor>) {
    builder
        .http1()
        .max_buf_size(MAX_HEAD_BYTES)
        .max_headers(MAX_HEADERS);
    builder.http2().max_header_list_size(MAX_HEAD_BYTES as u32);
}

/// A handle that starts draining in-flight requests (for at most `DRAIN`) once `stop` is set.
fn drain_on(stop: watch::Receiver<bool>) -> axum_server::Handle<SocketAddr> {
    let handle = axum_server::Handle::new();
    let h = handle.clone();
    tokio::spawn(async move {
        stopped(stop).await;
        h.graceful_shutdown(Some(DRAIN));
    });
    handle
}

/// The plain listener: axum's own accept loop (`axum::serve`), plus the head limits, which
/// `axum::serve` cannot set. (axum-server, used for TLS, can, but served about a third fewer
/// requests per second here.)
async fn serve_plain(
    listener: TcpListener,
    app: Router,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    use hyper_util::rt::TokioIo;
    use hyper_util::server::conn::auto::Builder;
    use tower::ServiceExt;

    let listener = tokio::net::TcpListener::from_std(listener)?;
    let mut builder = Builder::new(TokioExecutor::new());
    limit_heads(&mut builder);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut stop = std::pin::pin!(stopped(stop));
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // Out of file descriptors and the like: back off rather than spin.
                Err(e) => {
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service =
            hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(remote));
                app.clone().oneshot(req.map(axum::body::Body::new))
            });
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    // Idle keep-alive connections close now; requests in flight get up to DRAIN.
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still running after {DRAIN:?}; stopping anyway");
    }
    Ok(())
}

async fn serve_tls(
    listener: TcpListener,
    rustls: axum_server::tls_rustls::RustlsConfig,
    app: Router,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let mut server = axum_server::from_tcp_rustls(listener, rustls)?.handle(drain_on(stop));
    limit_heads(server.http_builder());
    server
        .serve(app.into_make_service_with_connect_info::<SocketAddr>())
        .await?;
    Ok(())
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

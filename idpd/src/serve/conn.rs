//! Connections: what every socket of either listener goes through, below HTTP.
//!
//! A connection takes a slot of its listener (a global cap) and of its client's address (a
//! per-address cap; IPv6 addresses count by /64) before it is served; when the listener is
//! full, new connections wait in the kernel's backlog until a slot frees, and a client over
//! its address's cap is closed at once. Each connection has a watchdog that closes it when
//! it sends a request head (or a TLS handshake) too slowly, or sits idle between requests
//! for too long; each request body must arrive within its own deadline. Nothing here knows
//! about routes: the listener hands finished requests to its router.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{Semaphore, watch};
use tokio::time::{Instant, Sleep};

use crate::config::Timeouts;

/// The largest request head (request line and headers) read before answering 431. hyper's
/// default is about 400 KiB; nothing a browser or an OAuth client sends comes near 64 KiB
/// (browsers stop at 16–32 KiB of cookies), and a smaller buffer bounds what each of many
/// slow connections can make idpd hold.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// The most header fields in one request (hyper's default is 100).
const MAX_HEADERS: usize = 100;

/// One listener's connection policy, shared by its accept loop and its connections.
pub struct Gate {
    limits: Timeouts,
    slots: Arc<Semaphore>,
    per_address: Option<Arc<PerAddress>>,
    /// Peers exempt from the per-address cap: the operator's proxies, through which every
    /// client arrives.
    trusted: Arc<[ipnet::IpNet]>,
    listener: &'static str,
}

impl Gate {
    /// A gate allowing `max` connections at once, and `per_address` from one address
    /// (`None`: no per-address cap, as on the admin listener).
    pub fn new(
        listener: &'static str,
        limits: Timeouts,
        max: usize,
        per_address: Option<usize>,
        trusted: Arc<[ipnet::IpNet]>,
    ) -> Gate {
        Gate {
            limits,
            slots: Arc::new(Semaphore::new(max.max(1))),
            per_address: per_address.map(|cap| {
                Arc::new(PerAddress {
                    cap,
                    open: Mutex::new(HashMap::new()),
                })
            }),
            trusted,
            listener,
        }
    }
}

/// Open connections per client address, for the per-address cap.
struct PerAddress {
    cap: usize,
    open: Mutex<HashMap<AddressKey, usize>>,
}

/// An IPv4 address, or the /64 of an IPv6 address (one subscriber's network).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressKey {
    V4(u32),
    V6(u64),
}

impl AddressKey {
    pub fn of(ip: IpAddr) -> AddressKey {
        match ip {
            IpAddr::V4(v4) => AddressKey::V4(u32::from(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => AddressKey::V4(u32::from(v4)),
                None => AddressKey::V6((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

/// A connection's place in its address's count, given back when the connection ends.
struct AddressSlot {
    table: Arc<PerAddress>,
    key: AddressKey,
}

impl PerAddress {
    fn enter(self: &Arc<Self>, ip: IpAddr) -> Option<AddressSlot> {
        let key = AddressKey::of(ip);
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(key).or_insert(0);
        if *n >= self.cap {
            return None;
        }
        *n += 1;
        Some(AddressSlot {
            table: self.clone(),
            key,
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self.table.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// Sets the head limits on the HTTP builder of either listener.
fn builder() -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        // The watchdog below times heads (hyper's own timer would also cut idle keep-alive
        // connections at the head timeout).
        .header_read_timeout(None)
        .max_buf_size(MAX_HEAD_BYTES)
        .max_headers(MAX_HEADERS);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(MAX_HEAD_BYTES as u32)
        .max_concurrent_streams(64);
    builder
}

/// Accepts and serves connections until `stop` resolves, then lets requests in flight
/// finish for up to `drain`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    app: Router,
    gate: Gate,
    stop: impl std::future::Future<Output = ()>,
    drain: Duration,
) -> anyhow::Result<()> {
    let builder = Arc::new(builder());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut stop = std::pin::pin!(stop);
    let gate = Arc::new(gate);
    loop {
        // A free slot first: when the listener is full, new connections wait in the
        // kernel's backlog (not in idpd's memory) until one ends.
        let permit = tokio::select! {
            p = gate.slots.clone().acquire_owned() => p?,
            () = &mut stop => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // Out of file descriptors and the like: back off rather than spin.
                Err(e) => {
                    tracing::warn!(listener = gate.listener, error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let address_slot = match &gate.per_address {
            Some(table) if !gate.trusted.iter().any(|n| n.contains(&remote.ip())) => {
                match table.enter(remote.ip()) {
                    Some(slot) => Some(slot),
                    None => {
                        tracing::debug!(listener = gate.listener, peer = %remote.ip(), "too many connections from this address");
                        continue;
                    }
                }
            }
            _ => None,
        };
        let _ = stream.set_nodelay(true);
        let watch = Arc::new(Activity::new());
        let io = Watched {
            inner: stream,
            activity: watch.clone(),
        };
        let service = Service {
            app: app.clone(),
            remote,
            activity: watch.clone(),
            body_timeout: gate.limits.body_read_timeout,
        };
        let builder = builder.clone();
        let limits = gate.limits;
        let tls = tls.clone();
        let shutdown = graceful.watcher();
        tokio::spawn(async move {
            let _slots = (permit, address_slot);
            let served = async {
                match tls {
                    None => {
                        let conn =
                            builder.serve_connection_with_upgrades(TokioIo::new(io), service);
                        shutdown.watch(conn.into_owned()).await
                    }
                    Some(acceptor) => {
                        let Ok(stream) = acceptor.accept(io).await else {
                            return Ok(());
                        };
                        let conn =
                            builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                        shutdown.watch(conn.into_owned()).await
                    }
                }
            };
            tokio::select! {
                r = served => if let Err(e) = r {
                    tracing::debug!(error = %e, "connection ended with an error");
                },
                why = watch.watchdog(limits) => {
                    tracing::debug!(peer = %remote.ip(), reason = why, "connection closed");
                }
            }
        });
    }
    drop(listener);
    // Idle keep-alive connections close now; requests in flight get up to `drain`.
    if tokio::time::timeout(drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still running after {drain:?}; stopping anyway");
    }
    Ok(())
}

/// What the watchdog of a connection knows: when bytes last moved, since when a request
/// head (or a TLS handshake) has been arriving, and how many requests are being served.
/// Times are milliseconds since the connection was accepted.
struct Activity {
    start: Instant,
    last: AtomicU64,
    /// 1 + the time the first byte of a head arrived; 0 while no head is arriving.
    head_since: AtomicU64,
    in_flight: AtomicU32,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            start: Instant::now(),
            last: AtomicU64::new(0),
            head_since: AtomicU64::new(1),
            in_flight: AtomicU32::new(0),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn read(&self) {
        let now = self.now();
        self.last.store(now, Ordering::Relaxed);
        if self.in_flight.load(Ordering::Relaxed) == 0
            && self.head_since.load(Ordering::Relaxed) == 0
        {
            self.head_since.store(now + 1, Ordering::Relaxed);
        }
    }

    fn wrote(&self) {
        self.last.store(self.now(), Ordering::Relaxed);
    }

    fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.head_since.store(0, Ordering::Relaxed);
    }

    fn request_ended(&self) {
        self.last.store(self.now(), Ordering::Relaxed);
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    /// Resolves when the connection must close: a head (or handshake) not complete within
    /// the head timeout, or no request and no traffic for the idle timeout. A connection
    /// with a request in flight is left alone (its body has its own deadline).
    async fn watchdog(&self, limits: Timeouts) -> &'static str {
        let head = limits.header_read_timeout.as_millis() as u64;
        let idle = limits.idle_timeout.as_millis() as u64;
        loop {
            let now = self.now();
            let (deadline, why) = if self.in_flight.load(Ordering::Relaxed) > 0 {
                (now + idle, "")
            } else {
                match self.head_since.load(Ordering::Relaxed) {
                    0 => (self.last.load(Ordering::Relaxed) + idle, "idle"),
                    since => (since - 1 + head, "request head too slow"),
                }
            };
            if deadline <= now && !why.is_empty() {
                return why;
            }
            tokio::time::sleep_until(self.start + Duration::from_millis(deadline.max(now + 1)))
                .await;
        }
    }
}

/// A socket that tells its connection's [`Activity`] when bytes move.
struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read();
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The HTTP service of one connection: each request gets the client's address, a body
/// deadline, and counts as in flight until its response is ready.
#[derive(Clone)]
struct Service {
    app: Router,
    remote: SocketAddr,
    activity: Arc<Activity>,
    body_timeout: Duration,
}

impl hyper::service::Service<hyper::Request<Incoming>> for Service {
    type Response = axum::response::Response;
    type Error = std::convert::Infallible;
    type Future =
        Pin<Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn call(&self, req: hyper::Request<Incoming>) -> Self::Future {
        use tower::ServiceExt;
        self.activity.request_started();
        let in_flight = InFlight(self.activity.clone());
        let deadline = Instant::now() + self.body_timeout;
        let mut req = req.map(|body| {
            axum::body::Body::new(Deadline {
                inner: body,
                deadline,
                sleep: None,
            })
        });
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(self.remote));
        let app = self.app.clone();
        Box::pin(async move {
            let res = app.oneshot(req).await;
            drop(in_flight);
            res
        })
    }
}

/// Ends a request's time in flight, also when hyper drops it half way.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_ended();
    }
}

/// The request body ran past its deadline.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
pub struct BodyTimeout;

/// A request body that must arrive by a deadline. The timer is only made if the body
/// is not there at once (most bodies arrive with their head).
struct Deadline {
    inner: Incoming,
    deadline: Instant,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl Body for Deadline {
    type Data = hyper::body::Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending => {
                let deadline = this.deadline;
                let sleep = this
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                match sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(BodyTimeout.into()))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The TLS acceptor for the public listener: the certificate chain and key from PEM files,
/// HTTP/2 and HTTP/1.1 offered by ALPN.
pub fn tls_acceptor(
    cert_file: &std::path::Path,
    key_file: &std::path::Path,
) -> anyhow::Result<tokio_rustls::TlsAcceptor> {
    use anyhow::Context as _;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert_file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("cannot read TLS certificate {}", cert_file.display()))?;
    let key = PrivateKeyDer::from_pem_file(key_file)
        .with_context(|| format!("cannot read TLS key {}", key_file.display()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .with_context(|| {
            format!(
                "TLS certificate {} does not match key {}",
                cert_file.display(),
                key_file.display()
            )
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// Raises the soft limit on open files to the hard limit (services often start with a soft
/// limit of 1,024, which a few hundred slow clients exhaust). Returns the limit now in force.
pub fn raise_open_files_limit() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    let before = limit.current;
    if limit.current < limit.maximum {
        limit.current = limit.maximum;
        if setrlimit(Resource::Nofile, limit).is_err() {
            limit.current = before;
        }
    }
    limit.current.unwrap_or(u64::MAX)
}

/// Stops when the watch says so.
pub async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_count_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert!(AddressKey::of(a) == AddressKey::of(b));
        assert!(AddressKey::of(a) != AddressKey::of(c));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(AddressKey::of(mapped) == AddressKey::of(v4));
    }

    #[test]
    fn the_per_address_cap_holds_and_frees() {
        let table = Arc::new(PerAddress {
            cap: 2,
            open: Mutex::new(HashMap::new()),
        });
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let one = table.enter(ip).unwrap();
        let _two = table.enter(ip).unwrap();
        assert!(table.enter(ip).is_none());
        assert!(table.enter("192.0.2.8".parse().unwrap()).is_some());
        drop(one);
        assert!(table.enter(ip).is_some());
    }

    #[test]
    fn the_open_files_limit_is_raised_to_the_hard_limit() {
        let now = raise_open_files_limit();
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        assert_eq!(limit.current, limit.maximum);
        assert_eq!(Some(now), limit.current);
    }
}

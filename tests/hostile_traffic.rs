//! Issue 16 §1: slow and greedy clients cannot take idpd down. Stalled sockets (no head, half
//! a head, a short body, a large body) are cut at their timeouts; a listener over its
//! connection cap queues new clients instead of failing; one address cannot hold more than
//! its share; the admin listener answers whatever the public one suffers; memory stays
//! bounded.

use std::net::SocketAddr;
use std::time::Duration;

use idp_tests::oauth::{self, Op};
// Connections are below storage: these run on SQLite only.
use idp_tests::{Backend, setup_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Connects to `to` from the loopback address `from` (127.0.0.0/8 is all loopback: each
/// source address is another "client").
async fn connect_from(from: [u8; 4], to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::from((from, 0)))
        .expect("bind source address");
    tokio::time::timeout(Duration::from_secs(10), socket.connect(to))
        .await
        .expect("connect in time")
        .expect("connect")
}

/// Reads until the server closes; what it sent. `None` if it is still open at `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut got = Vec::new();
    let read = tokio::time::timeout(within, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok()
        .map(|()| String::from_utf8_lossy(&got).into_owned())
}

/// Sends one `GET path` (Host `host`, `Connection: close`) from `from` to `to` on a new
/// connection; everything the server sent before closing it.
async fn get_once(from: [u8; 4], to: SocketAddr, path: &str, host: &str) -> String {
    let mut c = connect_from(from, to).await;
    c.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    closed_within(&mut c, Duration::from_secs(5))
        .await
        .expect("closed within 5 s")
}

/// idpd's resident memory in MB.
fn rss_mb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

/// Lets this test process hold a few thousand sockets.
fn raise_own_open_files() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    limit.current = limit.maximum;
    let _ = setrlimit(Resource::Nofile, limit);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_sockets_do_not_take_the_server_down() {
    let backend = Backend::Sqlite;
    raise_own_open_files();
    let head_timeout = 3;
    let s = setup_with(
        backend,
        &[
            "--header-read-timeout",
            "3",
            "--body-read-timeout",
            "3",
            "--max-connections",
            "1000",
            "--max-connections-per-address",
            "200",
        ],
    )
    .await;
    let api = s.idpd.api();
    oauth::create_tenant(&api, "acme").await;
    let svc = oauth::service_client(&api, "acme", Some("svc")).await;
    let public = s.idpd.public;
    let before = rss_mb(s.idpd.pid());

    // 1,500 stalled sockets from 8 addresses, more than the listener's 1,000 slots:
    // nothing sent at all, half a request line, a 60 KB half head, a token request whose
    // body stops after 10 of 100 bytes, and a 2 MB body to a login form.
    let half_head = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: {}",
        "a".repeat(60_000)
    );
    let mut stalled = Vec::new();
    for i in 0..1500u32 {
        let from = [127, 0, 0, 2 + (i % 8) as u8];
        let mut c = connect_from(from, public).await;
        let sent: Vec<u8> = match i % 5 {
            0 => Vec::new(),
            1 => b"GET / HTTP/1.1\r\n".to_vec(),
            2 => half_head.clone().into_bytes(),
            3 => b"POST /t/acme/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type".to_vec(),
            _ => format!(
                "POST /t/acme/login/email HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 2000000\r\n\r\n{}",
                "e".repeat(20_000)
            )
            .into_bytes(),
        };
        // Sockets waiting in the backlog take what fits in the kernel's buffers.
        let _ = tokio::time::timeout(Duration::from_millis(200), c.write_all(&sent)).await;
        stalled.push(c);
    }

    // The admin listener has its own slots: it answers while the public one is full.
    let tenants = tokio::time::timeout(
        Duration::from_secs(5),
        api.send(reqwest::Method::GET, "/tenants", None),
    )
    .await
    .expect("the admin API answers during the flood");
    assert_eq!(tenants.0, 200);

    // The public listener serves newcomers as stalled sockets are cut at their timeouts.
    let health = tokio::time::timeout(
        Duration::from_secs(4 * head_timeout),
        idp_tests::http_client()
            .get(format!("http://{public}/healthz"))
            .send(),
    )
    .await
    .expect("/healthz answers during the flood")
    .expect("/healthz");
    assert_eq!(health.status().as_u16(), 200);
    let op = Op::new(&s.idpd, "acme");
    let token = tokio::time::timeout(
        Duration::from_secs(4 * head_timeout),
        op.client_credentials(&svc.basic(), None),
    )
    .await
    .expect("a token request is answered during the flood");
    assert_eq!(token.status, 200, "{:?}", token.json());
    let during = rss_mb(s.idpd.pid());

    // Every stalled socket is closed by the server, those in the backlog too, within a few
    // timeouts; the oversized bodies were refused without being buffered.
    let mut still_open = 0;
    let mut refused = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(6 * head_timeout);
    for c in &mut stalled {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match closed_within(c, left.max(Duration::from_millis(50))).await {
            None => still_open += 1,
            Some(answer) => refused += usize::from(answer.starts_with("HTTP/1.1 4")),
        }
    }
    assert_eq!(still_open, 0, "sockets the server did not close");
    assert!(
        refused >= 250,
        "4xx answers to 2 MB bodies: {refused} of 300"
    );
    drop(stalled);
    assert!(
        during < before + 120,
        "RSS grew from {before} MB to {during} MB under the flood"
    );
    let after = rss_mb(s.idpd.pid());
    eprintln!("RSS: {before} MB before, {during} MB during, {after} MB after the flood");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_hold_every_connection() {
    let backend = Backend::Sqlite;
    raise_own_open_files();
    let s = setup_with(backend, &["--max-connections-per-address", "20"]).await;
    let public = s.idpd.public;
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(connect_from([127, 0, 0, 5], public).await);
    }
    // The 21st connection from that address is closed without an answer…
    let answer = get_once([127, 0, 0, 5], public, "/healthz", "x").await;
    assert!(answer.is_empty(), "{answer}");
    // …while another address is served,
    let answer = get_once([127, 0, 0, 6], public, "/healthz", "x").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // …and the address gets its slots back as its connections end.
    held.truncate(10);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let answer = get_once([127, 0, 0, 5], public, "/healthz", "x").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_keep_alive_connections_are_closed() {
    let backend = Backend::Sqlite;
    let s = setup_with(
        backend,
        &["--idle-timeout", "2", "--header-read-timeout", "5"],
    )
    .await;
    let mut c = connect_from([127, 0, 0, 1], s.idpd.public).await;
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = c.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // Kept alive after the answer, then closed once idle for the idle timeout.
    let rest = closed_within(&mut c, Duration::from_secs(8))
        .await
        .expect("an idle keep-alive connection is closed");
    assert!(rest.is_empty(), "{rest}");
}

/// Issue 16 §2: a caller's `X-Request-Id` is kept only when short and well-formed; the
/// client's address is the TCP peer unless the peer is a trusted proxy, whose
/// `X-Forwarded-For` then names it (the rightmost hop not trusted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_and_client_addresses_cannot_be_forged() {
    let s = setup_with(Backend::Sqlite, &["--trusted-proxies", "127.0.0.2"]).await;
    let api = s.idpd.api();
    let from = |ip: [u8; 4]| {
        reqwest::Client::builder()
            .local_address(std::net::IpAddr::from(ip))
            .build()
            .unwrap()
    };
    let create = |client: reqwest::Client, slug: &'static str, xff: &'static str, id: String| {
        let api = api.clone();
        async move {
            let res = client
                .post(format!("{}/tenants", api.base))
                .bearer_auth(&api.token)
                .header("x-forwarded-for", xff)
                .header("x-request-id", id)
                .json(&serde_json::json!({"slug": slug, "name": slug}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status().as_u16(), 201);
            res.headers()["x-request-id"].to_str().unwrap().to_owned()
        }
    };
    let huge = "x".repeat(60_000);
    let id = create(from([127, 0, 0, 1]), "direct", "198.51.100.7", huge.clone()).await;
    assert!(id.len() == 36 && uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    let id = create(
        from([127, 0, 0, 1]),
        "spaced",
        "198.51.100.7",
        "a b\tc".into(),
    )
    .await;
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    let id = create(
        from([127, 0, 0, 2]),
        "proxied",
        "1.2.3.4, 198.51.100.9",
        "trace-01.abc:7".into(),
    )
    .await;
    assert_eq!(id, "trace-01.abc:7");

    let (status, log) = api
        .send(reqwest::Method::GET, "/audit?action=tenant.create", None)
        .await;
    assert_eq!(status, 200, "{log}");
    let events = log["items"].as_array().expect("items").clone();
    let ip_of = |slug: &str| {
        events
            .iter()
            .find(|e| e["target"] == slug)
            .map(|e| e["client_ip"].clone())
            .unwrap_or_else(|| panic!("no event for {slug}: {events:#?}"))
    };
    // Not a trusted proxy: its X-Forwarded-For is ignored.
    assert_eq!(ip_of("direct"), "127.0.0.1");
    // A trusted proxy: the hop it appended, not what the client wrote before it.
    assert_eq!(ip_of("proxied"), "198.51.100.9");
    assert!(!log.to_string().contains(&huge[..100]));
    assert!(!s.idpd.logs.text().contains(&huge[..100]));
}

/// Issue 16 §6: the admin listener answers only for IP literals, localhost and its configured
/// names: a page that rebinds its DNS name to 127.0.0.1 cannot read /metrics or the API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_listener_refuses_foreign_host_names() {
    let s = setup_with(Backend::Sqlite, &["--admin-hosts", "idp-admin.internal"]).await;
    let admin = s.idpd.admin;
    for (host, want) in [
        ("evil.example:8081", 421),
        ("evil.example", 421),
        ("127.0.0.1", 200),
        ("localhost:8081", 200),
        ("[::1]:8081", 200),
        ("IDP-ADMIN.internal:8081", 200),
    ] {
        let answer = get_once([127, 0, 0, 1], admin, "/metrics", host).await;
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {want}")),
            "{host}: {answer}"
        );
        if want == 421 {
            assert!(answer.contains("misdirected_request"), "{answer}");
        }
    }
    // The public listener answers for any host (it sits behind the operator's names).
    let answer = get_once([127, 0, 0, 1], s.idpd.public, "/healthz", "evil.example").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

//! Start-up, restarts, crashes and shutdown of the real idpd process.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use idp_tests::{Backend, Ctl, Idpd, TestDb, bin, both_backends, http_client, json, setup, signal};
use tokio::sync::Mutex;

both_backends!(
    first_start_writes_key_and_token,
    tenants_survive_restart_and_kill9,
    master_key_must_match_database,
    admin_token_create_offline,
    health_and_readiness,
    graceful_shutdown_finishes_in_flight_requests,
    every_request_is_logged_once_without_secrets,
);

/// The default request log (issue 15 made it cheap, not optional): one line per request with
/// method, path, status, latency and the request id the response carries; never the query
/// string, the credentials or the token.
async fn every_request_is_logged_once_without_secrets(backend: Backend) {
    use idp_tests::oauth::{self, Op};
    let s = setup(backend).await;
    let api = s.idpd.api();
    oauth::create_tenant(&api, "logged").await;
    let op = Op::new(&s.idpd, "logged");
    let svc = oauth::service_client(&api, "logged", None).await;
    let res = op.client_credentials(&svc.basic(), None).await;
    assert_eq!(res.status, 200, "{res:?}");
    let token = res.json()["access_token"].as_str().unwrap().to_owned();
    let id = res.header("x-request-id").expect("a request id").to_owned();
    let probe = op.get("/jwks?code=secret-code-value&state=s").await;
    assert_eq!(probe.status, 200);
    let probe_id = probe
        .header("x-request-id")
        .expect("a request id")
        .to_owned();
    // A request id the client sent is kept.
    let mine = op
        .http
        .get(op.url("/jwks"))
        .header("x-request-id", "client-chose-this")
        .send()
        .await
        .unwrap();
    assert_eq!(mine.headers()["x-request-id"], "client-chose-this");

    // Lines reach the log through the logging thread: wait for them.
    let started = std::time::Instant::now();
    let line = |id: &str| {
        s.idpd
            .logs
            .lines()
            .into_iter()
            .filter(|l| l.contains(id) && l.contains("finished"))
            .collect::<Vec<_>>()
    };
    while line(&probe_id).is_empty() || line("client-chose-this").is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no request line: {}",
            s.idpd.logs.text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let lines = line(&id);
    assert_eq!(lines.len(), 1, "one line per request: {lines:?}");
    for want in ["POST", "/t/logged/token", "200", "latency_us"] {
        assert!(lines[0].contains(want), "{want} missing: {}", lines[0]);
    }
    let logs = s.idpd.logs.text();
    for secret in [svc.secret.as_str(), token.as_str(), "secret-code-value"] {
        assert!(!logs.contains(secret), "{secret} is in the log");
    }
}

async fn first_start_writes_key_and_token(backend: Backend) {
    let s = setup(backend).await;
    let data = &s.idpd.data_dir;
    for f in ["master.key", "admin-token"] {
        let mode = std::fs::metadata(data.join(f))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{f} must be private");
    }
    let token = s.idpd.admin_token();
    assert!(
        token.starts_with("idp_admin_") && token.len() >= 50,
        "{token}"
    );
    let logs = s.idpd.logs.text();
    assert!(
        logs.contains("admin-token"),
        "start-up says where the token is"
    );
    assert!(!logs.contains(&token), "the token itself is never logged");

    // idpctl finds a local idpd's token file without flags (run from the data dir's parent).
    let out = Command::new(bin("idpctl"))
        .args(["--url", &s.idpd.admin_url(), "-o", "json", "status"])
        .current_dir(s.dir.path())
        .env_remove("IDPCTL_TOKEN")
        .env_remove("IDPCTL_TOKEN_FILE")
        .env_remove("IDPCTL_URL")
        .output()
        .unwrap();
    // The data dir of this test is `<tmp>/data`; idpctl looks for ./idpd-data/admin-token.
    assert_ne!(out.status.code(), Some(0), "no ./idpd-data here yet");
    std::fs::create_dir_all(s.dir.path().join("idpd-data")).unwrap();
    std::fs::copy(
        data.join("admin-token"),
        s.dir.path().join("idpd-data/admin-token"),
    )
    .unwrap();
    let out = Command::new(bin("idpctl"))
        .args(["--url", &s.idpd.admin_url(), "-o", "json", "status"])
        .current_dir(s.dir.path())
        .env_remove("IDPCTL_TOKEN")
        .env_remove("IDPCTL_TOKEN_FILE")
        .env_remove("IDPCTL_URL")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn tenants_survive_restart_and_kill9(backend: Backend) {
    let mut s = setup(backend).await;
    let api = s.idpd.api();
    for name in ["Acme", "Globex", "Initech"] {
        assert_eq!(api.create_tenant(json!({ "name": name })).await.0, 201);
    }
    s.idpd.restart();
    let (_, page) = s
        .idpd
        .api()
        .send(reqwest::Method::GET, "/tenants", None)
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 3);

    // kill -9 during a burst: every acknowledged creation must be there afterwards.
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let api = s.idpd.api();
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let (api, acked, stop) = (api.clone(), acked.clone(), stop.clone());
            tokio::spawn(async move {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let slug = format!("burst-{w}-{i}");
                    let r = api
                        .req(reqwest::Method::POST, "/tenants")
                        .json(&json!({"name": slug, "slug": slug}))
                        .send()
                        .await;
                    match r {
                        Ok(res) if res.status().as_u16() == 201 => acked.lock().await.push(slug),
                        _ => break, // the server is gone
                    }
                }
            })
        })
        .collect();
    // Wait until some creations were acknowledged, then kill mid-burst.
    for _ in 0..100 {
        if acked.lock().await.len() >= 6 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    s.idpd.kill9();
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    let acked = acked.lock().await.clone();
    assert!(
        acked.len() >= 4,
        "the burst made progress before the kill: {}",
        acked.len()
    );
    s.idpd.restart();
    let api = s.idpd.api();
    for slug in &acked {
        let (status, _) = api
            .send(reqwest::Method::GET, &format!("/tenants/{slug}"), None)
            .await;
        assert_eq!(status, 200, "acknowledged tenant {slug} was lost");
    }
}

async fn master_key_must_match_database(backend: Backend) {
    let mut s = setup(backend).await;
    let data = s.idpd.data_dir.clone();
    s.idpd.kill9();
    let key = std::fs::read(data.join("master.key")).unwrap();

    // Missing key for an existing database: a clear error, and no new key file.
    std::fs::remove_file(data.join("master.key")).unwrap();
    let (_, err) = Idpd::builder(&data, &s.db.url).start_expecting_failure();
    assert!(
        err.contains("master key") && err.contains("missing"),
        "{err}"
    );
    assert!(
        !data.join("master.key").exists(),
        "never silently generate a new key"
    );

    // A different key: refused too.
    std::fs::write(data.join("master.key"), [7u8; 32]).unwrap();
    let (_, err) = Idpd::builder(&data, &s.db.url).start_expecting_failure();
    assert!(
        err.contains("does not match") || err.contains("initialized with"),
        "{err}"
    );

    // The right key (given as a file elsewhere, via the flag): starts.
    let elsewhere = s.dir.path().join("kek");
    std::fs::write(&elsewhere, &key).unwrap();
    std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o600)).unwrap();
    let idpd = Idpd::builder(&data, &s.db.url)
        .arg("--master-key-file")
        .arg(elsewhere.display().to_string())
        .start();
    assert_eq!(
        idpd.api()
            .send(reqwest::Method::GET, "/tenants", None)
            .await
            .0,
        200
    );
}

async fn admin_token_create_offline(backend: Backend) {
    let s = setup(backend).await;
    let out = Command::new(bin("idpd"))
        .args(["admin-token", "create", "--name", "ci", "--data-dir"])
        .arg(&s.idpd.data_dir)
        .args(["--database-url", &s.idpd.db_url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(token.starts_with("idp_admin_"), "{token}");
    assert_ne!(token, s.idpd.admin_token());
    let ctl = Ctl::new(&s.idpd.admin_url(), token);
    ctl.run(["tenant", "create", "Made With Second Token"]).ok();
}

async fn health_and_readiness(backend: Backend) {
    let mut s = setup(backend).await;
    let http = http_client();
    let get = |path: &str| http.get(format!("{}{path}", s.idpd.public_url())).send();
    assert_eq!(get("/healthz").await.unwrap().status().as_u16(), 200);
    assert_eq!(get("/readyz").await.unwrap().status().as_u16(), 200);
    if backend == Backend::Postgres {
        // The database disappears under the running server: not ready, admin calls 503.
        s.db.drop_now().await;
        let res = get("/readyz").await.unwrap();
        assert_eq!(res.status().as_u16(), 503);
        assert!(res.headers().contains_key("retry-after"));
        assert_eq!(
            get("/healthz").await.unwrap().status().as_u16(),
            200,
            "still alive"
        );
        let (status, body) = s
            .idpd
            .api()
            .send(reqwest::Method::GET, "/status", None)
            .await;
        assert!(status == 503 || status == 401, "{status} {body}");
        assert_ne!(status, 500);
    }
    s.idpd.kill9();
}

/// A request whose body is still arriving when SIGTERM comes is answered; then idpd exits 0.
async fn graceful_shutdown_finishes_in_flight_requests(backend: Backend) {
    let mut s = setup(backend).await;
    let body = json!({"name": "Late Corp"}).to_string();
    let mut conn = std::net::TcpStream::connect(s.idpd.admin).unwrap();
    write!(
        conn,
        "POST /api/v1/tenants HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        s.idpd.admin_token(),
        body.len()
    )
    .unwrap();
    conn.write_all(&body.as_bytes()[..5]).unwrap();
    conn.flush().unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    signal(s.idpd.pid(), "TERM");
    tokio::time::sleep(Duration::from_millis(300)).await;
    conn.write_all(&body.as_bytes()[5..]).unwrap();
    let mut response = String::new();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    conn.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    let status = s.idpd.terminate();
    assert!(status.success(), "idpd exits 0 after SIGTERM: {status:?}");
    // The log reader thread may still be draining the pipe.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !s.idpd.logs.text().contains("stopped") {
        assert!(
            std::time::Instant::now() < deadline,
            "no \"stopped\" log line"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Two instances starting at once on one PostgreSQL database: migrations run once, both serve.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_start_together_on_postgres() {
    if idp_tests::postgres_url().is_none() {
        eprintln!("skipped: IDP_TEST_POSTGRES_URL is not set");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::empty(Backend::Postgres, dir.path()).await;
    // Both share one master key file, as instances behind a load balancer do.
    let key = dir.path().join("master.key");
    std::fs::write(&key, [42u8; 32]).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let start = |name: &str| {
        let (d, url, key) = (dir.path().join(name), db.url.clone(), key.clone());
        std::thread::spawn(move || {
            Idpd::builder(&d, &url)
                .arg("--master-key-file")
                .arg(key.display().to_string())
                .start()
        })
    };
    let (ta, tb) = (start("a"), start("b"));
    let (ia, ib) = (ta.join().unwrap(), tb.join().unwrap());
    // Exactly one of them minted the bootstrap token.
    let files: Vec<_> = [&ia, &ib]
        .iter()
        .filter_map(|i| std::fs::read_to_string(i.data_dir.join("admin-token")).ok())
        .collect();
    assert_eq!(files.len(), 1, "one bootstrap admin token for one database");
    let token = files[0].trim().to_owned();
    let created = Ctl::new(&ia.admin_url(), token.clone())
        .run(["-o", "json", "tenant", "create", "Shared"])
        .ok()
        .json();
    let seen = Ctl::new(&ib.admin_url(), token)
        .run(["-o", "json", "tenant", "show", "shared"])
        .ok()
        .json();
    assert_eq!(seen["id"], created["id"]);
}

/// `--tls-cert-file`/`--tls-key-file` serve the public listener over TLS (rustls).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_listener_serves_tls() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ])
        .args([
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output();
    if !made.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: the openssl command is not available to make a test certificate");
        return;
    }
    let data = dir.path().join("data");
    let db = TestDb::new(Backend::Sqlite, &data).await;
    let tls = |b: idp_tests::IdpdBuilder| {
        b.arg("--tls-cert-file")
            .arg(cert.display().to_string())
            .arg("--tls-key-file")
            .arg(key.display().to_string())
    };
    let idpd = tls(Idpd::builder(&data, &db.url))
        .own_public_url_at("https://127.0.0.1")
        .arg("--header-read-timeout")
        .arg("2")
        .start();
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&cert).unwrap()).unwrap();
    let https = reqwest::Client::builder()
        .tls_certs_only([ca])
        .build()
        .unwrap();
    let res = https
        .get(format!("https://{}/healthz", idpd.public))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(
        res.headers()["strict-transport-security"],
        "max-age=63072000"
    );
    // Issue 16: a connection that never finishes its handshake (nothing sent, or half a
    // ClientHello) is closed at the head timeout; it is not held forever.
    for sent in [
        &b""[..],
        &b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"[..],
    ] {
        let mut c = tokio::net::TcpStream::connect(idpd.public).await.unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut c, sent)
            .await
            .unwrap();
        let mut buf = [0u8; 64];
        let closed = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            tokio::io::AsyncReadExt::read(&mut c, &mut buf),
        )
        .await;
        assert!(
            matches!(closed, Ok(Ok(0) | Err(_))),
            "a stalled TLS handshake was not closed: {closed:?}"
        );
    }
    // Plain HTTP to the TLS port does not get an answer from the app.
    let plain = http_client()
        .get(format!("http://{}/healthz", idpd.public))
        .send()
        .await;
    assert!(plain.map(|r| r.status().as_u16() != 200).unwrap_or(true));
    drop(idpd);

    // A missing key file is a clear start-up error.
    let (_, err) = Idpd::builder(&data, &db.url)
        .arg("--tls-cert-file")
        .arg(cert.display().to_string())
        .arg("--tls-key-file")
        .arg("/nonexistent/key.pem")
        .start_expecting_failure();
    assert!(err.contains("TLS"), "{err}");
}

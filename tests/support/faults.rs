//! Helpers of the fault tests: refresh-token families from a signed-in browser, one refresh
//! with its outcome classified (a connection error is not an answer), 50-way races, and a
//! private PostgreSQL cluster that a test may stop and start without disturbing the
//! machine's shared server.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::browser::{self, Browser, REDIRECT, pkce, query};
use crate::{Idpd, Value, http_client};

/// A signed-in browser of tenant acme with its public web client: each [`Signed::family`]
/// is a new authorization code redeemed for a new refresh-token family.
pub struct Signed {
    pub b: Browser,
    pub client_id: String,
}

impl Signed {
    /// Tenant acme with a web client, and `email` signed in through the mailed code.
    pub async fn acme(idpd: &Idpd, email: &str) -> Signed {
        let client_id = browser::acme_with_web_client(idpd).await;
        let mut b = Browser::new(idpd);
        let (_, challenge) = pkce();
        browser::login(&mut b, idpd, &client_id, &challenge, email).await;
        Signed { b, client_id }
    }

    /// A fresh authorization code of the signed-in session: (code, verifier).
    pub async fn code(&mut self) -> (String, String) {
        let (verifier, challenge) = pkce();
        let p = self
            .b
            .get(&browser::authorize_url(&self.client_id, &challenge, ""))
            .await;
        assert_eq!(p.status, StatusCode::FOUND, "{}", p.body);
        let to = p.location.expect("redirect");
        assert!(to.starts_with(REDIRECT), "{to}");
        (query(&to)["code"].clone(), verifier)
    }

    /// The token form that redeems `code`.
    pub fn redeem_form(&self, code: &str, verifier: &str) -> Vec<(String, String)> {
        pairs(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
            ("client_id", &self.client_id),
        ])
    }

    /// The token form that refreshes `rt`.
    pub fn refresh_form(&self, rt: &str) -> Vec<(String, String)> {
        pairs(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("client_id", &self.client_id),
        ])
    }

    /// A new family: its first refresh token.
    pub async fn family(&mut self, idpd: &Idpd) -> String {
        let (code, verifier) = self.code().await;
        let (st, t) = browser::redeem(idpd, &self.client_id, &code, &verifier).await;
        assert_eq!(st, 200, "{t}");
        t["refresh_token"]
            .as_str()
            .expect("refresh_token")
            .to_owned()
    }
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// What one token request came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 200 with this body.
    Ok(Value),
    /// An answer other than 200: status, `error`, `Retry-After`.
    Refused(u16, String, Option<String>),
    /// No answer: the connection failed or closed (the server may or may not have acted).
    Lost(String),
}

impl Outcome {
    pub fn refresh_token(&self) -> Option<String> {
        match self {
            Outcome::Ok(v) => v["refresh_token"].as_str().map(str::to_owned),
            _ => None,
        }
    }

    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok(_))
    }
}

/// POSTs `form` to `{url}/t/acme/token` and classifies the answer.
pub async fn post_token(http: &reqwest::Client, url: &str, form: &[(String, String)]) -> Outcome {
    let body = {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in form {
            s.append_pair(k, v);
        }
        s.finish()
    };
    let res = http
        .post(format!("{url}/t/acme/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await;
    let res = match res {
        Ok(r) => r,
        Err(e) => return Outcome::Lost(e.to_string()),
    };
    let status = res.status().as_u16();
    let retry = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = match res.text().await {
        Ok(t) => t,
        Err(e) => return Outcome::Lost(format!("body: {e}")),
    };
    let v: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("token endpoint answered {status} with non-JSON {text:?}: {e}"));
    if status == 200 {
        Outcome::Ok(v)
    } else {
        let error = v["error"].as_str().unwrap_or("").to_owned();
        Outcome::Refused(status, error, retry)
    }
}

/// Sends `form` `n` times at once (all requests built first, then released together);
/// returns the outcomes.
pub async fn race(idpd: &Idpd, form: Vec<(String, String)>, n: usize) -> Vec<Outcome> {
    let url = idpd.public_url();
    let gate = std::sync::Arc::new(tokio::sync::Barrier::new(n));
    // One client: concurrent requests each open a connection of their own.
    let http = http_client();
    let mut tasks = Vec::new();
    for _ in 0..n {
        let (url, form, gate, http) = (url.clone(), form.clone(), gate.clone(), http.clone());
        tasks.push(tokio::spawn(async move {
            gate.wait().await;
            post_token(&http, &url, &form).await
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("race task"));
    }
    out
}

/// Waits until `/healthz` of `url` answers (after a restart).
pub async fn wait_healthy(url: &str) {
    let http = http_client();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = http.get(format!("{url}/healthz")).send().await
            && r.status() == StatusCode::OK
        {
            return;
        }
        assert!(Instant::now() < deadline, "{url} never became healthy");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// True when the log of a daemon shows a panic.
pub fn panicked(log: &str) -> bool {
    log.contains("panicked at") || log.contains("\"panic\"")
}

/// The story of one family as its client saw it.
#[derive(Debug, Default)]
pub struct Family {
    /// Every refresh token this client received in a 200, in order.
    pub received: Vec<String>,
    /// Requests that got no answer, and what the retry of the same token then got.
    pub cut_off: Vec<(String, Outcome)>,
    /// 503 answers (the database was away); the client retried the same token.
    pub unavailable: usize,
    /// Set when a retry after a cut-off request was refused: the family is gone by design.
    pub lost: bool,
    /// Set when the request refused with 503 had consumed the token anyway (the database
    /// went away between the rotation's commit and the reads after it).
    pub lost_after_503: bool,
}

/// A client that refreshes its family until `stop`, retrying a cut-off request with the same
/// token once the server answers again.
pub async fn rotating_client(
    url: String,
    form: impl Fn(&str) -> Vec<(String, String)>,
    first: String,
    stop: Arc<AtomicBool>,
) -> Family {
    let http = http_client();
    let mut fam = Family {
        received: vec![first],
        ..Family::default()
    };
    let mut retrying = false;
    let mut last_503: Option<String> = None;
    while !stop.load(Ordering::Relaxed) {
        let rt = fam.received.last().unwrap().clone();
        let out = post_token(&http, &url, &form(&rt)).await;
        if retrying && !matches!(out, Outcome::Lost(_)) {
            fam.cut_off.last_mut().unwrap().1 = out.clone();
            retrying = false;
        }
        match out {
            Outcome::Ok(v) => {
                fam.received
                    .push(v["refresh_token"].as_str().expect("refresh_token").into());
            }
            Outcome::Lost(e) => {
                if !retrying {
                    fam.cut_off.push((rt, Outcome::Lost(e)));
                    retrying = true;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            // The database is away: 503 with Retry-After, and the same token again later.
            Outcome::Refused(503, e, retry) => {
                assert_eq!(e, "temporarily_unavailable");
                assert!(retry.is_some(), "a 503 without Retry-After");
                fam.unavailable += 1;
                last_503 = Some(rt);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Outcome::Refused(400, e, _)
                if e == "invalid_grant"
                    && (fam.cut_off.last().is_some_and(|c| c.0 == rt)
                        || last_503.as_deref() == Some(rt.as_str())) =>
            {
                fam.lost = true;
                fam.lost_after_503 = last_503.as_deref() == Some(rt.as_str());
                return fam;
            }
            other => panic!("refresh of a token received in a 200 failed: {other:?} ({fam:?})"),
        }
    }
    fam
}

/// A private PostgreSQL cluster on an ephemeral loopback port, trust auth, removed on drop.
/// Tests that stop PostgreSQL use it so the machine's shared server keeps serving others.
pub struct PrivatePg {
    pub port: u16,
    bin: PathBuf,
    data: PathBuf,
    _dir: tempfile::TempDir,
    as_postgres: bool,
}

impl PrivatePg {
    /// Creates and starts a cluster, or `None` (with a message) when the PostgreSQL server
    /// binaries are not installed (`scripts/postgres-up.sh` installs them).
    pub fn start() -> Option<PrivatePg> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .filter(|b| b.join("initdb").exists() && b.join("pg_ctl").exists())
            .max()?;
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("pgdata");
        // initdb refuses to run as root: then the cluster belongs to the postgres user.
        let as_postgres = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        if as_postgres {
            let ok = Command::new("chown")
                .args(["postgres:", &dir.path().display().to_string()])
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "chown of the cluster dir to postgres failed");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let pg = PrivatePg {
            port,
            bin,
            data,
            _dir: dir,
            as_postgres,
        };
        let data = pg.data.display().to_string();
        pg.run(
            "initdb",
            &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
        );
        pg.pg_ctl_start();
        Some(pg)
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let exe = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = cmd
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {tool}: {e}"));
        assert!(
            out.status.success(),
            "{tool} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the server and waits until it accepts connections.
    pub fn pg_ctl_start(&self) {
        let data = self.data.display().to_string();
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -c port={} -c unix_socket_directories={} -c fsync=off",
            self.port, data
        );
        let log = self.data.join("server.log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D", &data, "-o", &opts, "-l", &log, "-w", "-t", "30", "start",
            ],
        );
    }

    /// `pg_ctl stop -m immediate`: the server goes away as in a crash.
    pub fn stop_immediate(&self) {
        let data = self.data.display().to_string();
        self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
    }

    /// The URL of database `postgres` of this cluster.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let data = self.data.display().to_string();
        let exe = self.bin.join("pg_ctl");
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let _ = cmd
            .args(["-D", &data, "-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

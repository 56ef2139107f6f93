//! Test support: run the real `idpd` and `idpctl` binaries on loopback, each test with its
//! own data dir and database (a fresh SQLite file, or a fresh PostgreSQL database on the
//! server named by `IDP_TEST_POSTGRES_URL`).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use serde_json::{Value, json};

pub mod browser;
pub mod chrome;
pub mod devices;
pub mod faults;
pub mod oauth;
pub mod upstream;

/// Runs `$body` (an `async fn(Backend)`) once per backend: `name_sqlite` always, and
/// `name_postgres` when `IDP_TEST_POSTGRES_URL` is set (CI always sets it).
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::Backend::Sqlite).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if $crate::postgres_url().is_none() {
                        eprintln!("skipped: IDP_TEST_POSTGRES_URL is not set");
                        return;
                    }
                    super::$name($crate::Backend::Postgres).await;
                }
            }
        )*
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn postgres_url() -> Option<String> {
    std::env::var("IDP_TEST_POSTGRES_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

/// A built binary of the workspace (`idpd` or `idpctl`), next to this test executable.
/// `cargo test --workspace` builds both: each binary crate has integration tests of its own.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test --workspace`, which builds it",
        path.display()
    );
    path
}

/// A database of one test: a SQLite file in the data dir, or a new PostgreSQL database that
/// is dropped when the test ends (kept when `IDP_TEST_KEEP_DB` is set).
pub struct TestDb {
    pub url: String,
    pg_name: Option<String>,
}

impl TestDb {
    /// A database with the schema in place and nothing else: on PostgreSQL a copy of a
    /// template migrated once per test run (migrating costs about half a second of DDL
    /// commits per database; copying a template, a tenth of that). idpd's own start-up still
    /// checks every migration and initializes the database as on a first start.
    pub async fn new(backend: Backend, data_dir: &Path) -> TestDb {
        match backend {
            Backend::Sqlite => Self::empty(backend, data_dir).await,
            Backend::Postgres => Self::pg(Some(pg_template())).await,
        }
    }

    /// A database without even the schema: for tests of start-up and migrations.
    pub async fn empty(backend: Backend, data_dir: &Path) -> TestDb {
        match backend {
            Backend::Sqlite => TestDb {
                url: format!("sqlite://{}", data_dir.join("idpd.db").display()),
                pg_name: None,
            },
            Backend::Postgres => Self::pg(None).await,
        }
    }

    async fn pg(template: Option<&str>) -> TestDb {
        let name = format!("idp_test_{}", uuid::Uuid::new_v4().simple());
        create_pg(&name, template).await;
        TestDb {
            url: pg_url(&name),
            pg_name: Some(name),
        }
    }

    /// Drops the PostgreSQL database under running servers (their next query fails).
    pub async fn drop_now(&mut self) {
        if let Some(name) = self.pg_name.take() {
            drop_pg(&name).await;
        }
    }
}

async fn pg_connect(url: &str) -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to IDP_TEST_POSTGRES_URL: {e}"))
}

/// `IDP_TEST_POSTGRES_URL` with the database `name`.
fn pg_url(name: &str) -> String {
    let admin = postgres_url().expect("IDP_TEST_POSTGRES_URL");
    let mut url = url::Url::parse(&admin).expect("IDP_TEST_POSTGRES_URL is a URL");
    url.set_path(name);
    url.to_string()
}

async fn create_pg(name: &str, template: Option<&str>) {
    let admin = postgres_url().expect("IDP_TEST_POSTGRES_URL");
    let mut conn = pg_connect(&admin).await;
    let sql = match template {
        Some(t) => format!("CREATE DATABASE {name} TEMPLATE {t}"),
        None => format!("CREATE DATABASE {name}"),
    };
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("create test database {name}: {e}"));
}

/// The name of a PostgreSQL database holding idpd's migrated schema and no data, made by
/// idpd's own migrator (`idpd::store::connect`) once per test process. Its name carries a
/// digest of the migrations, so a changed schema gets a new template; it is built under a
/// temporary name and renamed when complete, so concurrent test processes never copy a
/// half-built one.
fn pg_template() -> &'static str {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        // Runs once, from inside some test's runtime: build on a thread with its own.
        std::thread::spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(build_pg_template())
        })
        .join()
        .expect("build the PostgreSQL template")
    })
}

async fn build_pg_template() -> String {
    use aws_lc_rs::digest;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/postgres");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("migrations/postgres")
        .map(|e| e.expect("migration file").path())
        .collect();
    files.sort();
    let mut ctx = digest::Context::new(&digest::SHA256);
    for f in &files {
        ctx.update(f.file_name().expect("name").as_encoded_bytes());
        ctx.update(&std::fs::read(f).expect("read migration"));
    }
    let hex: String = ctx.finish().as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let name = format!("idp_template_{hex}");
    let admin = postgres_url().expect("IDP_TEST_POSTGRES_URL");
    let mut conn = pg_connect(&admin).await;
    let exists = sqlx::query("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_optional(&mut conn)
        .await
        .expect("look up the template");
    if exists.is_some() {
        return name;
    }
    let building = format!("idp_building_{}", uuid::Uuid::new_v4().simple());
    create_pg(&building, None).await;
    let store = idpd::store::connect(&pg_url(&building))
        .await
        .unwrap_or_else(|e| panic!("migrate the template database: {e}"));
    store.close().await;
    let renamed = sqlx::query(sqlx::AssertSqlSafe(format!(
        "ALTER DATABASE {building} RENAME TO {name}"
    )))
    .execute(&mut conn)
    .await;
    if renamed.is_err() {
        // Another test process finished its template first; use that one.
        drop_pg(&building).await;
    }
    name
}

async fn drop_pg(name: &str) {
    let Some(admin) = postgres_url() else { return };
    let mut conn = pg_connect(&admin).await;
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await;
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        if std::env::var_os("IDP_TEST_KEEP_DB").is_some() {
            eprintln!("kept test database {name}");
            return;
        }
        // Drop runs inside the test's runtime; use a thread with its own.
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(drop_pg(&name));
        })
        .join();
    }
}

/// Log lines of a running idpd (its stderr, JSON).
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<String>>>);

impl Logs {
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().expect("logs").clone()
    }

    pub fn text(&self) -> String {
        self.lines().join("\n")
    }
}

/// A running `idpd` with its own data dir and database, stopped (SIGKILL) on drop.
pub struct Idpd {
    pub public: SocketAddr,
    pub admin: SocketAddr,
    pub data_dir: PathBuf,
    pub db_url: String,
    pub logs: Logs,
    pub extra_args: Vec<String>,
    child: Option<Child>,
}

/// Starts idpd on ephemeral loopback ports and waits until both listeners are bound.
pub struct IdpdBuilder {
    data_dir: PathBuf,
    db_url: String,
    args: Vec<String>,
    public: SocketAddr,
}

impl IdpdBuilder {
    pub fn arg(mut self, a: impl Into<String>) -> Self {
        self.args.push(a.into());
        self
    }

    /// Listens publicly on a free port known in advance, with the public URL (and so the
    /// issuers) naming it: for tests where idpd fetches its own endpoints.
    pub fn own_public_url(self) -> Self {
        self.own_public_url_at("http://127.0.0.1")
    }

    /// Like [`own_public_url`](Self::own_public_url) with another scheme and host naming the
    /// loopback port, e.g. `http://localhost` (browsers refuse WebAuthn and some cookie
    /// prefixes on IP addresses) or `https://localhost` with `--tls-*-file`.
    pub fn own_public_url_at(mut self, scheme_and_host: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        self.public = SocketAddr::from(([127, 0, 0, 1], port));
        self.arg("--public-url")
            .arg(format!("{scheme_and_host}:{port}"))
    }

    pub fn start(self) -> Idpd {
        let mut idpd = Idpd {
            public: self.public,
            admin: "127.0.0.1:0".parse().expect("addr"),
            data_dir: self.data_dir,
            db_url: self.db_url,
            logs: Logs::default(),
            extra_args: self.args,
            child: None,
        };
        idpd.spawn().unwrap_or_else(|e| panic!("{e}"));
        idpd
    }

    /// Starts and expects start-up to fail; returns (exit code, stderr).
    pub fn start_expecting_failure(self) -> (i32, String) {
        let out = Command::new(bin("idpd"))
            .args(base_args(
                &self.data_dir,
                &self.db_url,
                "127.0.0.1:0",
                "127.0.0.1:0",
            ))
            .args(&self.args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .output()
            .expect("run idpd");
        assert!(!out.status.success(), "idpd was expected to fail to start");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

fn base_args(data_dir: &Path, db: &str, listen: &str, admin: &str) -> Vec<String> {
    vec![
        "serve".into(),
        "--data-dir".into(),
        data_dir.display().to_string(),
        "--database-url".into(),
        db.into(),
        "--listen".into(),
        listen.into(),
        "--admin-listen".into(),
        admin.into(),
        "--log-format".into(),
        "json".into(),
    ]
}

impl Idpd {
    pub fn builder(data_dir: &Path, db_url: &str) -> IdpdBuilder {
        IdpdBuilder {
            data_dir: data_dir.to_owned(),
            db_url: db_url.to_owned(),
            args: Vec::new(),
            public: "127.0.0.1:0".parse().expect("addr"),
        }
    }

    fn spawn(&mut self) -> Result<(), String> {
        // On a restart, reuse the ports so clients keep working.
        let listen = self.public.to_string();
        let admin = self.admin.to_string();
        let mut child = Command::new(bin("idpd"))
            .args(base_args(&self.data_dir, &self.db_url, &listen, &admin))
            .args(&self.extra_args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start idpd: {e}"))?;
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = std::sync::mpsc::channel::<(String, SocketAddr)>();
        let logs = self.logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && v["message"] == "listening"
                    && let (Some(l), Some(a)) = (v["listener"].as_str(), v["addr"].as_str())
                    && let Ok(addr) = a.parse()
                {
                    let _ = tx.send((l.to_owned(), addr));
                }
                logs.0.lock().expect("logs").push(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let (mut public, mut admin) = (None, None);
        while public.is_none() || admin.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok((l, addr)) if l == "public" => public = Some(addr),
                Ok((_, addr)) => admin = Some(addr),
                Err(_) => {
                    let _ = child.kill();
                    let status = child.wait().ok();
                    std::thread::sleep(Duration::from_millis(50));
                    return Err(format!(
                        "idpd did not start (exit {status:?}); its log:\n{}",
                        self.logs.text()
                    ));
                }
            }
        }
        self.public = public.expect("public");
        self.admin = admin.expect("admin");
        self.child = Some(child);
        Ok(())
    }

    pub fn admin_url(&self) -> String {
        format!("http://{}", self.admin)
    }

    pub fn public_url(&self) -> String {
        format!("http://{}", self.public)
    }

    /// The `public_url` idpd was configured with (its default unless `--public-url` was
    /// given): the origin users' browsers see, through whatever forwards to the listener.
    pub fn configured_public_url(&self) -> String {
        self.extra_args
            .iter()
            .position(|a| a == "--public-url")
            .and_then(|i| self.extra_args.get(i + 1))
            .cloned()
            .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned())
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// The token idpd wrote at first start.
    pub fn admin_token(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("admin-token"))
            .expect("admin-token file")
            .trim()
            .to_owned()
    }

    /// SIGKILL, no chance to clean up.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("running");
        signal(c.id(), "TERM");
        c.wait().expect("wait idpd")
    }

    /// Starts again on the same ports, data dir and database.
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn().unwrap_or_else(|e| panic!("{e}"));
    }

    /// An idpctl command line pointed at this server.
    pub fn ctl(&self) -> Ctl {
        Ctl::new(&self.admin_url(), self.admin_token())
    }

    /// An HTTP client for the admin API with the bearer token set.
    pub fn api(&self) -> Api {
        Api {
            base: format!("{}/api/v1", self.admin_url()),
            token: self.admin_token(),
            http: http_client(),
        }
    }
}

impl Drop for Idpd {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .args([format!("-{sig}"), pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{sig} {pid} failed");
}

pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
}

/// The admin API over HTTP.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    /// POST/PATCH a JSON body; returns (status, JSON body).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut r = self.req(method, path);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let res = r.send().await.expect("admin API request");
        let status = res.status().as_u16();
        let text = res.text().await.expect("body");
        let v = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("non-JSON body {text:?}: {e}"))
        };
        (status, v)
    }

    pub async fn create_tenant(&self, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, "/tenants", Some(body))
            .await
    }
}

/// One run of the real `idpctl` binary.
pub struct Ctl {
    url: String,
    token: String,
}

#[derive(Debug)]
pub struct CtlOutput {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl CtlOutput {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("idpctl stdout is not JSON ({e}): {self:?}"))
    }

    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(self.code, 0, "idpctl failed: {self:?}");
        self
    }
}

impl Ctl {
    pub fn new(url: &str, token: String) -> Ctl {
        Ctl {
            url: url.to_owned(),
            token,
        }
    }

    /// Runs an idpctl command against the server, in this process through idpctl's library
    /// entry point (`idpctl::run_with`, what its `main` calls, with no terminal attached as
    /// under a pipe). The binary's own behaviour (exit status, streams, environment) is
    /// tested in `idpctl/tests/cli.rs`; tests here that need it spawn `bin("idpctl")`.
    pub fn run<I, S>(&self, args: I) -> CtlOutput
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut argv: Vec<std::ffi::OsString> =
            ["idpctl", "--url", &self.url, "--token", &self.token]
                .into_iter()
                .map(Into::into)
                .collect();
        argv.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let exit = idpctl::run_with(argv, idpctl::Terminal::default(), &mut stdout, &mut stderr);
        CtlOutput {
            code: i32::from(exit.code()),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }
}

/// A temp data dir, a database and a started idpd: the common start of a test.
pub struct Setup {
    pub idpd: Idpd,
    pub db: TestDb,
    pub dir: tempfile::TempDir,
}

impl Setup {
    /// Another idpd on the same database and master key, with its own data dir (`second`):
    /// two instances behind one load balancer.
    pub fn second_instance(&self) -> Idpd {
        Idpd::builder(&self.dir.path().join("second"), &self.db.url)
            .arg("--master-key-file")
            .arg(self.idpd.data_dir.join("master.key").display().to_string())
            .start()
    }
}

pub async fn setup(backend: Backend) -> Setup {
    setup_with(backend, &[]).await
}

/// `setup` with extra idpd arguments.
pub async fn setup_with(backend: Backend, args: &[&str]) -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let db = TestDb::new(backend, &data).await;
    let mut builder = Idpd::builder(&data, &db.url);
    for a in args {
        builder = builder.arg(*a);
    }
    let idpd = builder.start();
    Setup { idpd, db, dir }
}

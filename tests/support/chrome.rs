//! A real browser for end-to-end tests: Debian's headless Chromium driven by chromedriver over
//! W3C WebDriver (JSON over loopback HTTP, spoken here with reqwest). The browser sends its own
//! headers (`Origin`, `Sec-Fetch-*`, cookies by its own rules): a test that goes through here
//! submits the forms as a user's browser does.
//!
//! Every page a test looks at can be kept as a screenshot, at desktop and phone width, under
//! `target/browser-shots/<test>/` (the paths are printed in the test output).
//!
//! Chromium and chromedriver are installed by `scripts/test-deps.sh`. Without them a test
//! prints `skipped: ...` on a developer's machine, and fails under CI (`CI` set), where the
//! script has installed them.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The key under which WebDriver returns an element reference (W3C WebDriver §12.1).
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
const DESKTOP: (u32, u32) = (1280, 900);
const PHONE: (u32, u32) = (390, 844);

/// One headless Chromium with its own profile, stopped (with its driver) on drop.
pub struct Chrome {
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT/session/ID`
    session: String,
    driver: Child,
    shots: PathBuf,
    taken: usize,
    _profile: tempfile::TempDir,
}

/// Whether a browser test can run: `None` when it should be skipped (message printed).
/// Under CI a missing browser is a failure, not a skip.
fn installed() -> bool {
    let ok = Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists();
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "{CHROMIUM} or {CHROMEDRIVER} is missing under CI: scripts/test-deps.sh installs them"
        );
        eprintln!("skipped: chromium/chromium-driver are not installed (run scripts/test-deps.sh)");
    }
    ok
}

impl Chrome {
    /// Starts chromedriver and a browser session; `None` (skipped) without Chromium.
    /// `name` names the screenshot folder. Certificates are not checked (`acceptInsecureCerts`):
    /// the https tests use a throw-away certificate.
    pub async fn start(name: &str) -> Option<Chrome> {
        if !installed() {
            return None;
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let log = profile.path().join("chromedriver.log");
        let mut driver = Command::new(CHROMEDRIVER)
            .arg("--port=0")
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            // Its own process group, so that drop ends the browser with the driver.
            .process_group(0)
            .spawn()
            .expect("start chromedriver");
        let port = driver_port(&mut driver);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("http client");
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "acceptInsecureCerts": true,
            "pageLoadStrategy": "normal",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                    "--disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable",
                    format!("--window-size={},{}", DESKTOP.0, DESKTOP.1),
                    format!("--user-data-dir={}", profile.path().join("profile").display()),
                ],
            },
        }}});
        let res: Value = http
            .post(format!("http://127.0.0.1:{port}/session"))
            .json(&caps)
            .send()
            .await
            .expect("new WebDriver session")
            .json()
            .await
            .expect("WebDriver JSON");
        let id = res["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {res}"))
            .to_owned();
        let shots = shots_dir(name);
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).expect("screenshot dir");
        Some(Chrome {
            http,
            session: format!("http://127.0.0.1:{port}/session/{id}"),
            driver,
            shots,
            taken: 0,
            _profile: profile,
        })
    }

    /// One WebDriver command; its `value`. A WebDriver error fails the test with its message.
    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.session));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("WebDriver request");
        let ok = res.status().is_success();
        let v: Value = res.json().await.expect("WebDriver JSON");
        assert!(ok, "WebDriver {method} {path}: {v}");
        v["value"].clone()
    }

    async fn try_cmd(&self, path: &str, body: Value) -> Option<Value> {
        let res = self
            .http
            .post(format!("{}{path}", self.session))
            .json(&body)
            .send()
            .await
            .ok()?;
        let ok = res.status().is_success();
        let v: Value = res.json().await.ok()?;
        ok.then(|| v["value"].clone())
    }

    /// Navigates to `url` as if typed into the address bar; waits for the page to load.
    pub async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    pub async fn url(&self) -> String {
        let v = self.cmd(reqwest::Method::GET, "/url", None).await;
        v.as_str().expect("URL").to_owned()
    }

    /// The page's HTML as the browser holds it.
    pub async fn source(&self) -> String {
        let v = self.cmd(reqwest::Method::GET, "/source", None).await;
        v.as_str().unwrap_or_default().to_owned()
    }

    /// The visible text of the page.
    pub async fn text(&self) -> String {
        let Some(body) = self.find_now("body").await else {
            return String::new();
        };
        // The page may be replaced between the two commands (a navigation under way).
        let res = self
            .http
            .get(format!("{}/element/{body}/text", self.session))
            .send()
            .await;
        let v: Value = match res {
            Ok(r) if r.status().is_success() => r.json().await.unwrap_or_default(),
            _ => return String::new(),
        };
        v["value"].as_str().unwrap_or_default().to_owned()
    }

    /// Waits up to 15 s until the page's text contains `needle`; returns the text.
    pub async fn wait_for_text(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let text = self.text().await;
            if text.contains(needle) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "the page at {} never said {needle:?}:\n{text}",
                self.url().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn find_now(&self, css: &str) -> Option<String> {
        let v = self
            .try_cmd("/element", json!({"using": "css selector", "value": css}))
            .await?;
        v[ELEMENT].as_str().map(str::to_owned)
    }

    /// The element matching `css`, waiting up to 10 s for it to appear.
    pub async fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(e) = self.find_now(css).await {
                return e;
            }
            assert!(
                Instant::now() < deadline,
                "no `{css}` on {}:\n{}",
                self.url().await,
                self.text().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Whether an element matching `css` is on the page now.
    pub async fn has(&self, css: &str) -> bool {
        self.find_now(css).await.is_some()
    }

    /// Types `text` into the field matching `css`, as keystrokes.
    pub async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{e}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    /// Clicks the element matching `css` (a submit button submits its form, and the browser
    /// follows the answer's redirects).
    pub async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{e}/click"),
            Some(json!({})),
        )
        .await;
    }

    /// Waits up to 15 s until the current URL satisfies `pred`; returns it.
    pub async fn wait_for_url(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let url = self.url().await;
            if pred(&url) {
                return url;
            }
            assert!(
                Instant::now() < deadline,
                "the browser never reached {what}; it is at {url}:\n{}",
                self.text().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The cookies the browser holds for the current page (WebDriver cookie objects:
    /// `name`, `value`, `secure`, `httpOnly`, `sameSite`, ...).
    pub async fn cookies(&self) -> Vec<Value> {
        let v = self.cmd(reqwest::Method::GET, "/cookie", None).await;
        v.as_array().cloned().unwrap_or_default()
    }

    /// Deletes every cookie the current page can see (WebDriver "Delete All Cookies"): the
    /// browser of someone else, as far as that site is concerned.
    pub async fn clear_cookies(&self) {
        self.cmd(reqwest::Method::DELETE, "/cookie", None).await;
    }

    /// Keeps the page as two screenshots (desktop and phone width), named `NN-label-*.png`.
    pub async fn shot(&mut self, label: &str) {
        self.taken += 1;
        for (size, (w, h)) in [("desktop", DESKTOP), ("phone", PHONE)] {
            self.cmd(
                reqwest::Method::POST,
                "/window/rect",
                Some(json!({"width": w, "height": h})),
            )
            .await;
            let png = self.cmd(reqwest::Method::GET, "/screenshot", None).await;
            let bytes = STANDARD
                .decode(png.as_str().expect("screenshot"))
                .expect("base64 screenshot");
            let path = self
                .shots
                .join(format!("{:02}-{label}-{size}.png", self.taken));
            std::fs::write(&path, bytes).expect("write screenshot");
            eprintln!("screenshot: {}", path.display());
        }
        self.cmd(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": DESKTOP.0, "height": DESKTOP.1})),
        )
        .await;
    }
}

impl Drop for Chrome {
    fn drop(&mut self) {
        // Ends the session, so chromedriver closes the browser and all its processes (it
        // answers once they are gone); a plain blocking request, as drop cannot await.
        if let Some((addr, path)) = self
            .session
            .strip_prefix("http://")
            .and_then(|s| s.split_once('/'))
            && let Ok(mut conn) = std::net::TcpStream::connect(addr)
        {
            use std::io::{Read, Write};
            let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
            let req =
                format!("DELETE /{path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
            if conn.write_all(req.as_bytes()).is_ok() {
                // Until the whole answer is in (chromedriver may keep the connection open, and
                // waiting for it to close would cost the full timeout).
                let mut got = Vec::new();
                let mut buf = [0u8; 4096];
                while let Ok(n) = conn.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                    if answer_complete(&got) {
                        break;
                    }
                }
            }
        }
        // Then the whole process group: chromedriver and anything left of the browser.
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{}", self.driver.id())])
            .status();
        let _ = self.driver.wait();
    }
}

/// Reads "ChromeDriver was started successfully on port N." from the driver's stdout.
/// Whether `got` holds an HTTP/1.1 response's head and all of its `Content-Length` body.
fn answer_complete(got: &[u8]) -> bool {
    let text = String::from_utf8_lossy(got);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let length = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse::<usize>().ok())?
    });
    length.is_some_and(|n| body.len() >= n)
}

fn driver_port(driver: &mut Child) -> u16 {
    use std::io::{BufRead, BufReader};
    let out = driver.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("started successfully on port ").nth(1) {
                let port = rest.trim_end_matches('.').trim().parse::<u16>();
                let _ = tx.send(port);
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(Ok(port)) => port,
        other => {
            let _ = driver.kill();
            panic!("chromedriver did not report its port: {other:?}")
        }
    }
}

/// `target/browser-shots/<name>`, beside the test executable's target dir.
fn shots_dir(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let target = exe
        .ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "target"))
        .map(Path::to_owned)
        .unwrap_or_else(std::env::temp_dir);
    target.join("browser-shots").join(name)
}

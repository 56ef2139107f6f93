//! Flows of dependent requests. One sign-in per tenant through the real login pages (code
//! from the dev outbox) gives a session cookie that every worker shares; then:
//!
//! - `authcode`: GET /authorize with the session (302 with a code) → POST /token (code +
//!   PKCE verifier) → an ID token; one sample per flow;
//! - `refresh`: each worker gets its own refresh token (authorize → token with
//!   offline_access) and rotates it; one sample per refresh;
//! - `device`: a registered Ed25519 device key signs a fresh assertion (new `jti`) per token
//!   request (JWT bearer grant); one sample per token request.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow, bail, ensure};
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};

const REDIRECT: &str = "http://127.0.0.1:9/cb";
const GRANT_JWT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const FORM: &str = "application/x-www-form-urlencoded";

#[derive(clap::Args)]
pub struct Args {
    /// idpd's public listener, e.g. http://127.0.0.1:18080
    #[arg(long)]
    public: String,
    /// idpd's dev outbox directory (<data_dir>/outbox)
    #[arg(long)]
    outbox: PathBuf,
    /// Issuer prefix (idpd's public URL), for the assertions' aud
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    public_url: String,
    /// TENANT=CLIENT_ID of a public client redirecting to http://127.0.0.1:9/cb with the
    /// grants authorization_code, refresh_token and jwt-bearer, repeatable; authcode runs on
    /// each, refresh and device on the first
    #[arg(long = "tenant", required = true)]
    tenants: Vec<String>,
    /// The user who signs in (one per tenant, created beforehand)
    #[arg(long, default_value = "bench@bench.test")]
    email: String,
    /// Flows to run, comma-separated
    #[arg(long, value_delimiter = ',', default_value = "authcode,refresh,device")]
    flows: Vec<String>,
    /// Seconds each flow is measured
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Seconds of warm-up before each measurement
    #[arg(long, default_value_t = 1)]
    warmup: u64,
    /// Concurrent workers
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Threads of the load generator's runtime
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
}

/// A tenant with a signed-in session.
struct Tenant {
    slug: String,
    client_id: String,
    cookie: String,
}

struct Env {
    http: reqwest::Client,
    public: String,
    public_url: String,
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

fn b64(b: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(b)
}

fn pkce() -> (String, String) {
    let verifier = b64(&[
        uuid::Uuid::new_v4().into_bytes(),
        uuid::Uuid::new_v4().into_bytes(),
    ]
    .concat());
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    (verifier, b64(digest.as_ref()))
}

fn jwt_part(token: &str, i: usize) -> anyhow::Result<Value> {
    let part = token.split('.').nth(i).context("not a JWT")?;
    Ok(serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part)?)?)
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Env {
    fn authorize_path(&self, t: &Tenant, scope: &str, challenge: &str) -> String {
        format!(
            "{}/t/{}/authorize?{}",
            self.public,
            t.slug,
            form(&[
                ("response_type", "code"),
                ("client_id", &t.client_id),
                ("redirect_uri", REDIRECT),
                ("scope", scope),
                ("state", "s"),
                ("nonce", "n"),
                ("code_challenge", challenge),
                ("code_challenge_method", "S256"),
            ])
        )
    }

    async fn post_form(
        &self,
        path: &str,
        cookie: &str,
        body: String,
    ) -> anyhow::Result<reqwest::Response> {
        let mut req = self
            .http
            .post(format!("{}{path}", self.public))
            .header(CONTENT_TYPE, FORM)
            .body(body);
        if !cookie.is_empty() {
            req = req.header(COOKIE, cookie);
        }
        Ok(req.send().await?)
    }

    async fn token(&self, t: &Tenant, pairs: &[(&str, &str)]) -> anyhow::Result<Value> {
        let res = self
            .post_form(&format!("/t/{}/token", t.slug), "", form(pairs))
            .await?;
        let status = res.status();
        let body: Value = res.json().await?;
        ensure!(status == StatusCode::OK, "token endpoint: {status} {body}");
        Ok(body)
    }

    /// One authorize → token flow with the tenant's session; the token response.
    async fn code_flow(&self, t: &Tenant, scope: &str) -> anyhow::Result<Value> {
        let (verifier, challenge) = pkce();
        let res = self
            .http
            .get(self.authorize_path(t, scope, &challenge))
            .header(COOKIE, &t.cookie)
            .send()
            .await?;
        ensure!(
            res.status() == StatusCode::FOUND,
            "authorize: {}",
            res.status()
        );
        let to = res
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .context("authorize: no Location")?;
        let code = code_of(to)?;
        let body = self
            .token(
                t,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", &verifier),
                    ("client_id", &t.client_id),
                ],
            )
            .await?;
        ensure!(body["id_token"].is_string(), "no id_token: {body}");
        Ok(body)
    }

    /// Signs in through the login pages; returns the session cookie.
    async fn sign_in(
        &self,
        slug: &str,
        client_id: &str,
        email: &str,
        outbox: &std::path::Path,
    ) -> anyhow::Result<String> {
        let mut jar: HashMap<String, String> = HashMap::new();
        let cookie = |jar: &HashMap<String, String>| {
            jar.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let keep = |jar: &mut HashMap<String, String>, res: &reqwest::Response| {
            for v in res.headers().get_all(SET_COOKIE) {
                let Ok(v) = v.to_str() else { continue };
                let pair = v.split(';').next().unwrap_or("");
                if let Some((n, val)) = pair.split_once('=') {
                    jar.insert(n.to_owned(), val.to_owned());
                }
            }
        };
        let t = Tenant {
            slug: slug.to_owned(),
            client_id: client_id.to_owned(),
            cookie: String::new(),
        };
        let (_, challenge) = pkce();
        let res = self
            .http
            .get(self.authorize_path(&t, "openid", &challenge))
            .send()
            .await?;
        keep(&mut jar, &res);
        let login = res
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .with_context(|| format!("authorize without a session: {}", res.status()))?
            .to_owned();
        let res = self
            .http
            .get(format!("{}{login}", self.public))
            .header(COOKIE, cookie(&jar))
            .send()
            .await?;
        keep(&mut jar, &res);
        let page = res.text().await?;
        let (flow, csrf) = (hidden(&page, "flow")?, hidden(&page, "csrf")?);
        let seen = mails_to(outbox, email).len();
        let res = self
            .post_form(
                &format!("/t/{slug}/login/email"),
                &cookie(&jar),
                form(&[("flow", &flow), ("csrf", &csrf), ("email", email)]),
            )
            .await?;
        ensure!(
            res.status() == StatusCode::SEE_OTHER,
            "login/email: {}",
            res.status()
        );
        keep(&mut jar, &res);
        let deadline = Instant::now() + Duration::from_secs(10);
        let code = loop {
            let mails = mails_to(outbox, email);
            if mails.len() > seen {
                break otp_in(mails.last().unwrap_or(&String::new()))?;
            }
            ensure!(
                Instant::now() < deadline,
                "no mail to {email} in {}",
                outbox.display()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let res = self
            .post_form(
                &format!("/t/{slug}/login/code"),
                &cookie(&jar),
                form(&[("flow", &flow), ("csrf", &csrf), ("code", &code)]),
            )
            .await?;
        ensure!(
            res.status() == StatusCode::SEE_OTHER,
            "login/code: {}",
            res.status()
        );
        keep(&mut jar, &res);
        Ok(cookie(&jar))
    }
}

fn code_of(location: &str) -> anyhow::Result<String> {
    let u = url::Url::parse(location)?;
    u.query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| anyhow!("no code in {location}"))
}

fn hidden(body: &str, name: &str) -> anyhow::Result<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let i = body
        .find(&marker)
        .with_context(|| format!("no {name} on the login page"))?
        + marker.len();
    let end = body[i..].find('"').context("unterminated value")?;
    Ok(body[i..i + end].to_owned())
}

/// The outbox mails to `to`, oldest first.
fn mails_to(outbox: &std::path::Path, to: &str) -> Vec<String> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(outbox)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    paths.sort();
    let header = format!("To: {}", to.to_ascii_lowercase());
    paths
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .filter(|m| m.contains(&header))
        .collect()
}

/// The one-time code of a sign-in mail: the first run of exactly six digits in its body
/// (quoted-printable soft breaks removed).
fn otp_in(mail: &str) -> anyhow::Result<String> {
    let mail = mail.replace("\r\n", "\n");
    let body = mail.split_once("\n\n").map_or(mail.as_str(), |(_, b)| b);
    let body = body.replace("=\n", "");
    let b = body.as_bytes();
    (0..b.len().saturating_sub(5))
        .find(|&i| {
            b[i..i + 6].iter().all(u8::is_ascii_digit)
                && (i == 0 || !b[i - 1].is_ascii_digit())
                && b.get(i + 6).is_none_or(|c| !c.is_ascii_digit())
        })
        .map(|i| body[i..i + 6].to_owned())
        .context("no code in the mail")
}

/// What a worker measured.
#[derive(Default)]
struct Samples {
    ok: Vec<Duration>,
    errors: u64,
    first_error: Option<String>,
}

impl Samples {
    fn record(&mut self, r: anyhow::Result<()>, took: Duration) {
        match r {
            Ok(()) => self.ok.push(took),
            Err(e) => {
                self.errors += 1;
                self.first_error.get_or_insert_with(|| format!("{e:#}"));
            }
        }
    }
}

/// A flow's per-worker state and one iteration of it.
enum Worker {
    Code {
        scope: &'static str,
    },
    Refresh {
        rt: String,
    },
    Device {
        key: Arc<Ed25519KeyPair>,
        device: String,
        user: String,
    },
}

impl Worker {
    async fn step(&mut self, env: &Env, t: &Tenant) -> anyhow::Result<()> {
        match self {
            Worker::Code { scope } => env.code_flow(t, scope).await.map(drop),
            Worker::Refresh { rt } => {
                let r = env
                    .token(
                        t,
                        &[
                            ("grant_type", "refresh_token"),
                            ("refresh_token", rt),
                            ("client_id", &t.client_id),
                        ],
                    )
                    .await;
                match r {
                    Ok(body) => {
                        *rt = body["refresh_token"]
                            .as_str()
                            .context("no refresh_token")?
                            .to_owned();
                        Ok(())
                    }
                    Err(e) => {
                        // The family may be gone (a lost response looks like reuse): start
                        // a new one so the worker keeps going.
                        *rt = new_refresh_token(env, t).await?;
                        Err(e)
                    }
                }
            }
            Worker::Device { key, device, user } => {
                let t0 = now();
                let claims = json!({
                    "iss": device, "sub": user,
                    "aud": format!("{}/t/{}/token", env.public_url, t.slug),
                    "iat": t0, "exp": t0 + 120,
                    "jti": uuid::Uuid::new_v4().to_string(),
                });
                let input = format!(
                    "{}.{}",
                    b64(br#"{"alg":"EdDSA","typ":"JWT"}"#),
                    b64(claims.to_string().as_bytes())
                );
                let assertion = format!("{input}.{}", b64(key.sign(input.as_bytes()).as_ref()));
                let body = env
                    .token(
                        t,
                        &[
                            ("grant_type", GRANT_JWT),
                            ("assertion", &assertion),
                            ("client_id", &t.client_id),
                        ],
                    )
                    .await?;
                ensure!(body["access_token"].is_string(), "no access_token: {body}");
                Ok(())
            }
        }
    }
}

async fn new_refresh_token(env: &Env, t: &Tenant) -> anyhow::Result<String> {
    let body = env.code_flow(t, "openid offline_access").await?;
    Ok(body["refresh_token"]
        .as_str()
        .context("no refresh_token (does the client allow refresh_token?)")?
        .to_owned())
}

/// Runs `workers` concurrently until `until`; merges what they measured.
async fn measure(env: &Arc<Env>, t: &Arc<Tenant>, workers: Vec<Worker>, seconds: u64) -> Samples {
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for mut w in workers {
        let (env, t) = (env.clone(), t.clone());
        tasks.push(tokio::spawn(async move {
            let mut s = Samples::default();
            while Instant::now() < until {
                let t0 = Instant::now();
                let r = w.step(&env, &t).await;
                s.record(r, t0.elapsed());
            }
            (w, s)
        }));
    }
    let mut all = Samples::default();
    for task in tasks {
        if let Ok((_, s)) = task.await {
            all.ok.extend(s.ok);
            all.errors += s.errors;
            if all.first_error.is_none() {
                all.first_error = s.first_error;
            }
        }
    }
    all
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn row(name: &str, mut s: Samples, seconds: u64) -> String {
    s.ok.sort_unstable();
    let pct = |p: usize| {
        s.ok.get((s.ok.len() * p / 100).min(s.ok.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    if let Some(e) = &s.first_error {
        eprintln!("{name}: {} errors, the first: {e}", s.errors);
    }
    format!(
        "| {name} | {} | {} | {} | {} |",
        s.ok.len() as u64 / seconds.max(1),
        ms(pct(50)),
        ms(pct(99)),
        s.errors
    )
}

/// Builds the workers of a flow (done before the clock starts).
async fn workers(env: &Env, t: &Tenant, flow: &str, n: usize) -> anyhow::Result<Vec<Worker>> {
    match flow {
        "authcode" => Ok((0..n)
            .map(|_| Worker::Code {
                scope: "openid email",
            })
            .collect()),
        "refresh" => {
            let mut out = Vec::new();
            for _ in 0..n {
                out.push(Worker::Refresh {
                    rt: new_refresh_token(env, t).await?,
                });
            }
            Ok(out)
        }
        "device" => {
            let body = env.code_flow(t, "openid devices").await?;
            let at = body["access_token"].as_str().context("no access_token")?;
            let user = jwt_part(at, 1)?["sub"]
                .as_str()
                .context("no sub")?
                .to_owned();
            let key = Arc::new(Ed25519KeyPair::generate().map_err(|_| anyhow!("key generation"))?);
            let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": b64(key.public_key().as_ref())});
            // Proof of possession: the new key signs the issuer, the access token's hash
            // and a fresh jti.
            let ath =
                b64(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, at.as_bytes()).as_ref());
            let claims = json!({
                "aud": format!("{}/t/{}", env.public_url, t.slug), "ath": ath,
                "iat": now(), "jti": uuid::Uuid::new_v4().to_string(),
            });
            let input = format!(
                "{}.{}",
                b64(br#"{"alg":"EdDSA","typ":"device-registration+jwt"}"#),
                b64(claims.to_string().as_bytes())
            );
            let proof = format!("{input}.{}", b64(key.sign(input.as_bytes()).as_ref()));
            let res = env
                .http
                .post(format!("{}/t/{}/devices", env.public, t.slug))
                .bearer_auth(at)
                .json(&json!({"name": "bench", "platform": "linux", "public_key": jwk, "proof": proof}))
                .send()
                .await?;
            let status = res.status();
            let d: Value = res.json().await?;
            ensure!(
                status == StatusCode::CREATED,
                "device registration: {status} {d}"
            );
            let device = d["id"].as_str().context("no device id")?.to_owned();
            Ok((0..n)
                .map(|_| Worker::Device {
                    key: key.clone(),
                    device: device.clone(),
                    user: user.clone(),
                })
                .collect())
        }
        other => bail!("unknown flow {other:?} (authcode, refresh, device)"),
    }
}

pub async fn run(a: Args) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(a.concurrency * 2)
        .build()?;
    let env = Arc::new(Env {
        http,
        public: a.public.trim_end_matches('/').to_owned(),
        public_url: a.public_url.trim_end_matches('/').to_owned(),
    });
    let mut tenants = Vec::new();
    for spec in &a.tenants {
        let (slug, client_id) = spec.split_once('=').context("--tenant TENANT=CLIENT_ID")?;
        let cookie = env
            .sign_in(slug, client_id, &a.email, &a.outbox)
            .await
            .with_context(|| format!("signing in at {slug}"))?;
        tenants.push(Arc::new(Tenant {
            slug: slug.into(),
            client_id: client_id.into(),
            cookie,
        }));
    }
    for flow in &a.flows {
        let on: &[Arc<Tenant>] = if flow == "authcode" {
            &tenants
        } else {
            &tenants[..1]
        };
        for t in on {
            let name = match flow.as_str() {
                "authcode" => {
                    let body = env.code_flow(t, "openid").await?;
                    let alg = jwt_part(body["id_token"].as_str().unwrap_or(""), 0)?["alg"]
                        .as_str()
                        .unwrap_or("?")
                        .to_owned();
                    format!("authorize → token, {alg} ID token (flows/s)")
                }
                "refresh" => "refresh rotation".to_owned(),
                "device" => "device-key login (JWT bearer, Ed25519)".to_owned(),
                other => bail!("unknown flow {other:?}"),
            };
            if a.warmup > 0 {
                let w = workers(&env, t, flow, a.concurrency.min(4)).await?;
                measure(&env, t, w, a.warmup).await;
            }
            let w = workers(&env, t, flow, a.concurrency).await?;
            let s = measure(&env, t, w, a.duration).await;
            println!("{}", row(&name, s, a.duration));
        }
    }
    Ok(())
}

//! A cookie-keeping browser and the steps of a native login, shared by the login, session
//! and mail tests: authorize, email, code from the dev outbox (any language, quoted-printable
//! decoded), token exchange, userinfo.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::{Idpd, Value, http_client, json};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;

pub const REDIRECT: &str = "http://127.0.0.1:9/cb";

/// `(Origin, Sec-Fetch-Site)` of form POSTs that another site's page can make a browser send
/// (`None`: header absent); idpd refuses each, whatever the CSRF token (SEC-07).
pub const FORGED_POST_HEADERS: [(Option<&str>, Option<&str>); 5] = [
    (Some("https://evil.test"), None),
    (Some("https://evil.test"), Some("cross-site")),
    (Some("null"), Some("cross-site")),
    (Some("null"), None),
    (None, Some("cross-site")),
];

/// A browser: follows nothing by itself, keeps cookies by name.
pub struct Browser {
    pub http: reqwest::Client,
    pub base: String,
    /// The origin of the pages as the browser loaded them: idpd's public URL.
    pub origin: String,
    pub cookies: HashMap<String, String>,
}

#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// All `Set-Cookie` values of the answer.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }
}

impl Browser {
    pub fn new(idpd: &Idpd) -> Browser {
        Browser {
            http: http_client(),
            base: idpd.public_url(),
            origin: idpd.configured_public_url(),
            cookies: HashMap::new(),
        }
    }

    /// A browser on another machine: its requests come from `ip` (any 127.0.0.0/8 address).
    pub fn from_address(idpd: &Idpd, ip: [u8; 4]) -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .local_address(std::net::IpAddr::from(ip))
                .build()
                .expect("http client"),
            ..Browser::new(idpd)
        }
    }

    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn take(&mut self, res: reqwest::Response) -> Page {
        for v in res.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let (pair, attrs) = v.split_once(';').unwrap_or((v, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || attrs.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        Page {
            status: res.status(),
            location: res
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_owned()),
            headers: res.headers().clone(),
            body: res.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        let res = self
            .http
            .get(url)
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.take(res).await
    }

    /// Submits a form of one of idpd's pages with the headers a browser sends for it: the
    /// pages' `Referrer-Policy: same-origin` gives a same-origin POST its real `Origin` (the
    /// public URL's, where the browser loaded the page from), and
    /// Fetch Metadata says `same-origin` (what Chromium 156 sends; `tests/browser_flows.rs`
    /// drives the real browser).
    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let origin = self.origin.clone();
        self.post_from(path, form, Some(&origin), Some("same-origin"))
            .await
    }

    /// A form POST with the given `Origin` and `Sec-Fetch-Site` (`None`: header not sent),
    /// for what another site, an old browser or a script would send.
    pub async fn post_from(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
        origin: Option<&str>,
        fetch_site: Option<&str>,
    ) -> Page {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        if let Some(s) = fetch_site {
            req = req.header("sec-fetch-site", s);
        }
        let res = req.body(crate::oauth::form(form)).send().await.unwrap();
        self.take(res).await
    }
}

pub fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes().repeat(2));
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    (verifier, URL_SAFE_NO_PAD.encode(digest.as_ref()))
}

/// An authorization request of tenant `slug` (scope openid email offline_access).
pub fn authorize_url_at(slug: &str, client_id: &str, challenge: &str, extra: &str) -> String {
    format!(
        "/t/{slug}/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid%20email%20offline_access&state=st-1&nonce=n-1&code_challenge={challenge}&code_challenge_method=S256{extra}",
        crate::oauth::form(&[("x", REDIRECT)]).trim_start_matches("x=")
    )
}

pub fn authorize_url(client_id: &str, challenge: &str, extra: &str) -> String {
    authorize_url_at("acme", client_id, challenge, extra)
}

pub fn query(url: &str) -> HashMap<String, String> {
    let u = url::Url::parse(url).unwrap();
    u.query_pairs().into_owned().collect()
}

pub fn hidden(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let i = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {body}"))
        + marker.len();
    body[i..i + body[i..].find('"').unwrap()].to_owned()
}

/// The body of a mail as text: headers dropped, quoted-printable decoded.
pub fn mail_body(mail: &str) -> String {
    let mail = mail.replace("\r\n", "\n");
    let (head, body) = mail.split_once("\n\n").unwrap_or(("", &mail));
    if !head
        .to_ascii_lowercase()
        .contains("content-transfer-encoding: quoted-printable")
    {
        return body.to_owned();
    }
    let body = body.replace("=\n", "");
    let bytes = body.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'=')
            .then(|| body.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        if let Some(b) = hex {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).expect("UTF-8 mail body")
}

/// The one-time code of a sign-in mail: the first run of exactly six digits in its body.
pub fn code_in(mail: &str) -> String {
    let body = mail_body(mail);
    let b = body.as_bytes();
    (0..b.len().saturating_sub(5))
        .find(|&i| {
            b[i..i + 6].iter().all(u8::is_ascii_digit)
                && (i == 0 || !b[i - 1].is_ascii_digit())
                && b.get(i + 6).is_none_or(|c| !c.is_ascii_digit())
        })
        .map(|i| body[i..i + 6].to_owned())
        .unwrap_or_else(|| panic!("no code in {body}"))
}

/// The dev-outbox mails to `to`, oldest first.
pub fn outbox_mails(idpd: &Idpd, to: &str) -> Vec<String> {
    let dir = idpd.data_dir.join("outbox");
    let mut mails: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    mails.sort();
    mails
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .filter(|m| m.contains(&format!("To: {}", to.to_ascii_lowercase())))
        .collect()
}

/// The code of the newest mail to `to` in the outbox, waiting until there are more than
/// `seen` mails to that address.
pub async fn mailed_code(idpd: &Idpd, to: &str, seen: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mine = outbox_mails(idpd, to);
        if mine.len() > seen {
            return code_in(mine.last().unwrap());
        }
        assert!(Instant::now() < deadline, "no mail to {to} in the outbox");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Creates tenant `slug` with a public client redirecting to [`REDIRECT`]; returns its id.
pub async fn tenant_with_web_client(idpd: &Idpd, slug: &str) -> String {
    let api = idpd.api();
    let (st, t) = api.create_tenant(json!({"name": slug, "slug": slug})).await;
    assert_eq!(st, 201, "{t}");
    let (st, c) = api
        .send(
            reqwest::Method::POST,
            &format!("/tenants/{slug}/clients"),
            Some(json!({"name": "web", "public": true, "redirect_uris": [REDIRECT]})),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    c["client"]["client_id"].as_str().unwrap().to_owned()
}

/// The login flow started by an authorization request: (flow, csrf).
pub async fn start_login(b: &mut Browser, client_id: &str, challenge: &str) -> (String, String) {
    let p = b.get(&authorize_url(client_id, challenge, "")).await;
    assert_eq!(p.status, StatusCode::FOUND, "{}", p.body);
    let login = p.location.unwrap();
    assert!(login.starts_with("/t/acme/login?flow="), "{login}");
    let page = b.get(&login).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    (hidden(&page.body, "flow"), hidden(&page.body, "csrf"))
}

pub async fn submit_email(b: &mut Browser, flow: &str, csrf: &str, email: &str) -> Page {
    b.post(
        "/t/acme/login/email",
        &[("flow", flow), ("csrf", csrf), ("email", email)],
    )
    .await
}

pub async fn submit_code(b: &mut Browser, flow: &str, csrf: &str, code: &str) -> Page {
    b.post(
        "/t/acme/login/code",
        &[("flow", flow), ("csrf", csrf), ("code", code)],
    )
    .await
}

/// Runs the login from /authorize to the redirect carrying the code (dev outbox); returns
/// the query of that redirect.
pub async fn login(
    b: &mut Browser,
    idpd: &Idpd,
    client_id: &str,
    challenge: &str,
    email: &str,
) -> HashMap<String, String> {
    let seen = outbox_mails(idpd, email).len();
    let (flow, csrf) = start_login(b, client_id, challenge).await;
    let p = submit_email(b, &flow, &csrf, email).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let code = mailed_code(idpd, email, seen).await;
    let p = submit_code(b, &flow, &csrf, &code).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let to = p.location.unwrap();
    assert!(to.starts_with(REDIRECT), "{to}");
    query(&to)
}

/// A token request at tenant acme; (status, JSON body).
pub async fn token(idpd: &Idpd, form: &[(&str, &str)]) -> (u16, Value) {
    let res = http_client()
        .post(format!("{}/t/acme/token", idpd.public_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(crate::oauth::form(form))
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

/// Exchanges an authorization code of the public client; (status, JSON body).
pub async fn redeem(idpd: &Idpd, client_id: &str, code: &str, verifier: &str) -> (u16, Value) {
    token(
        idpd,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
            ("client_id", client_id),
        ],
    )
    .await
}

/// The session cookie name of a tenant as idpd uses it on an http public URL: the
/// `__Host-`/`__Secure-` prefixes are dropped (they need `Secure`).
pub async fn session_cookie_name(idpd: &Idpd, slug: &str) -> String {
    let (st, t) = idpd
        .api()
        .send(reqwest::Method::GET, &format!("/tenants/{slug}"), None)
        .await;
    assert_eq!(st, 200, "{t}");
    let name = t["session"]["cookie_name"].as_str().unwrap();
    name.trim_start_matches("__Host-")
        .trim_start_matches("__Secure-")
        .to_owned()
}

/// Tenant `acme` with a public client redirecting to [`REDIRECT`]; returns its id.
pub async fn acme_with_web_client(idpd: &Idpd) -> String {
    tenant_with_web_client(idpd, "acme").await
}

/// GET /userinfo of tenant acme with a bearer token; (status, JSON body or null).
pub async fn userinfo(idpd: &Idpd, at: &str) -> (u16, Value) {
    let res = http_client()
        .get(format!("{}/t/acme/userinfo", idpd.public_url()))
        .bearer_auth(at)
        .send()
        .await
        .unwrap();
    let st = res.status().as_u16();
    (st, res.json().await.unwrap_or(Value::Null))
}

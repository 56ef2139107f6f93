//! A small cookie-keeping browser and the steps of the native login, over real HTTP: the
//! authorize request, the email and code forms (the code read from the dev outbox), the
//! token endpoint and userinfo. Tenant `acme` with one public client redirecting to
//! [`REDIRECT`].

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;

use crate::{Idpd, Value, http_client, json};

pub const REDIRECT: &str = "http://127.0.0.1:9/cb";

/// A browser: follows nothing by itself, keeps cookies by name.
pub struct Browser {
    pub http: reqwest::Client,
    pub base: String,
    pub cookies: HashMap<String, String>,
}

pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Browser {
    pub fn new(idpd: &Idpd) -> Browser {
        Browser {
            http: http_client(),
            base: idpd.public_url(),
            cookies: HashMap::new(),
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

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(crate::oauth::form(form))
            .send()
            .await
            .unwrap();
        self.take(res).await
    }
}

pub fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes().repeat(2));
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    (verifier, URL_SAFE_NO_PAD.encode(digest.as_ref()))
}

pub fn authorize_url(client_id: &str, challenge: &str, extra: &str) -> String {
    format!(
        "/t/acme/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid%20email%20offline_access&state=st-1&nonce=n-1&code_challenge={challenge}&code_challenge_method=S256{extra}",
        crate::oauth::form(&[("x", REDIRECT)]).trim_start_matches("x=")
    )
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

/// The newest mail to `to` in the outbox, waiting for it to be written.
pub async fn mailed_code(idpd: &Idpd, to: &str, seen: usize) -> (String, String) {
    let dir = idpd.data_dir.join("outbox");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut mails: Vec<_> = std::fs::read_dir(&dir)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        mails.sort();
        let mine: Vec<String> = mails
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .filter(|m| m.contains(to))
            .collect();
        if mine.len() > seen {
            let mail = mine.last().unwrap().clone();
            let i = mail.find(" is ").expect("code in mail") + 4;
            let code = mail[i..i + 6].to_owned();
            assert!(code.bytes().all(|b| b.is_ascii_digit()), "{mail}");
            let link = mail
                .lines()
                .find(|l| l.contains("/login/link?"))
                .unwrap_or("")
                .trim()
                .to_owned();
            return (code, link);
        }
        assert!(
            Instant::now() < deadline,
            "no mail to {to} in {}",
            dir.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn acme_with_web_client(idpd: &Idpd) -> String {
    let api = idpd.api();
    let (st, _) = api
        .create_tenant(json!({"name": "Acme", "slug": "acme"}))
        .await;
    assert_eq!(st, 201);
    let (st, c) = api
        .send(
            reqwest::Method::POST,
            "/tenants/acme/clients",
            Some(json!({"name": "web", "public": true, "redirect_uris": [REDIRECT]})),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    c["client"]["client_id"].as_str().unwrap().to_owned()
}

/// Runs the login from /authorize to the redirect carrying the code.
pub async fn login(
    b: &mut Browser,
    idpd: &Idpd,
    client_id: &str,
    challenge: &str,
    email: &str,
    mails_before: usize,
) -> HashMap<String, String> {
    let p = b.get(&authorize_url(client_id, challenge, "")).await;
    assert_eq!(p.status, StatusCode::FOUND, "{}", p.body);
    let login = p.location.unwrap();
    assert!(login.starts_with("/t/acme/login?flow="), "{login}");
    let page = b.get(&login).await;
    assert_eq!(page.status, StatusCode::OK);
    for (h, v) in [
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
    ] {
        assert_eq!(page.headers[h], v);
    }
    assert!(
        page.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let (flow, csrf) = (hidden(&page.body, "flow"), hidden(&page.body, "csrf"));
    let p = b
        .post(
            "/t/acme/login/email",
            &[("flow", &flow), ("csrf", &csrf), ("email", email)],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let (code, _) = mailed_code(idpd, email, mails_before).await;
    let p = b
        .post(
            "/t/acme/login/code",
            &[("flow", &flow), ("csrf", &csrf), ("code", &code)],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let to = p.location.unwrap();
    assert!(to.starts_with(REDIRECT), "{to}");
    query(&to)
}

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

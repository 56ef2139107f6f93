//! The interactive half over real HTTP, as a browser and a client app would do it:
//! authorize → email → code from the dev outbox → redirect with code, state and iss → token
//! exchange with PKCE → ID token verified against the JWKS → userinfo → SSO → refresh
//! rotation and reuse detection → logout. Plus the SEC rows that fit on that path.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use idp_tests::{Backend, Idpd, Value, both_backends, http_client, json, setup};
use reqwest::StatusCode;

both_backends!(
    full_login_flow,
    otp_brute_force_burns_the_code,
    login_forms_need_csrf_and_their_own_flow
);

const REDIRECT: &str = "http://127.0.0.1:9/cb";

/// A browser: follows nothing by itself, keeps cookies by name.
struct Browser {
    http: reqwest::Client,
    base: String,
    cookies: HashMap<String, String>,
}

struct Page {
    status: StatusCode,
    location: Option<String>,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Browser {
    fn new(idpd: &Idpd) -> Browser {
        Browser {
            http: http_client(),
            base: idpd.public_url(),
            cookies: HashMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn take(&mut self, res: reqwest::Response) -> Page {
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

    async fn get(&mut self, path: &str) -> Page {
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

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(idp_tests::oauth::form(form))
            .send()
            .await
            .unwrap();
        self.take(res).await
    }
}

fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes().repeat(2));
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    (verifier, URL_SAFE_NO_PAD.encode(digest.as_ref()))
}

fn authorize_url(client_id: &str, challenge: &str, extra: &str) -> String {
    format!(
        "/t/acme/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid%20email%20offline_access&state=st-1&nonce=n-1&code_challenge={challenge}&code_challenge_method=S256{extra}",
        idp_tests::oauth::form(&[("x", REDIRECT)]).trim_start_matches("x=")
    )
}

fn query(url: &str) -> HashMap<String, String> {
    let u = url::Url::parse(url).unwrap();
    u.query_pairs().into_owned().collect()
}

fn hidden(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let i = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {body}"))
        + marker.len();
    body[i..i + body[i..].find('"').unwrap()].to_owned()
}

/// The newest mail to `to` in the outbox, waiting for it to be written.
async fn mailed_code(idpd: &Idpd, to: &str, seen: usize) -> (String, String) {
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

async fn acme_with_web_client(idpd: &Idpd) -> String {
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
async fn login(
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

async fn token(idpd: &Idpd, form: &[(&str, &str)]) -> (u16, Value) {
    let res = http_client()
        .post(format!("{}/t/acme/token", idpd.public_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(idp_tests::oauth::form(form))
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn userinfo(idpd: &Idpd, at: &str) -> (u16, Value) {
    let res = http_client()
        .get(format!("{}/t/acme/userinfo", idpd.public_url()))
        .bearer_auth(at)
        .send()
        .await
        .unwrap();
    let st = res.status().as_u16();
    (st, res.json().await.unwrap_or(Value::Null))
}

async fn full_login_flow(backend: Backend) {
    let s = setup(backend).await;
    let idpd = &s.idpd;
    let client_id = acme_with_web_client(idpd).await;
    let disco: Value = http_client()
        .get(format!(
            "{}/t/acme/.well-known/openid-configuration",
            idpd.public_url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let issuer = disco["issuer"].as_str().unwrap().to_owned();

    let mut b = Browser::new(idpd);
    let (verifier, challenge) = pkce();
    let q = login(&mut b, idpd, &client_id, &challenge, "alice@example.com", 0).await;
    assert_eq!(q["state"], "st-1");
    assert_eq!(q["iss"], issuer, "RFC 9207 iss");
    let code = q["code"].clone();

    let (st, t) = token(
        idpd,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!(st, 200, "{t}");
    let (at, id_token, rt1) = (
        t["access_token"].as_str().unwrap(),
        t["id_token"].as_str().unwrap(),
        t["refresh_token"].as_str().unwrap().to_owned(),
    );

    // The ID token, checked with jsonwebtoken against the JWKS over HTTP.
    idp_tests::oauth::install_crypto_provider();
    let jwks: jsonwebtoken::jwk::JwkSet = http_client()
        .get(
            disco["jwks_uri"]
                .as_str()
                .unwrap()
                .replace(&issuer, &format!("{}/t/acme", idpd.public_url())),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("kid in JWKS");
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_audience(&[&client_id]);
    v.set_issuer(&[&issuer]);
    let claims = jsonwebtoken::decode::<Value>(
        id_token,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
        &v,
    )
    .unwrap()
    .claims;
    assert_eq!(claims["nonce"], "n-1");
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["email_verified"], true);
    assert!(claims["auth_time"].is_i64() && claims["sid"].is_string());
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, at.as_bytes());
    assert_eq!(
        claims["at_hash"],
        URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16])
    );

    let (st, info) = userinfo(idpd, at).await;
    assert_eq!(st, 200, "{info}");
    assert_eq!(info["sub"], claims["sub"]);
    assert_eq!(info["email"], "alice@example.com");
    // An ID token is not an access token (SEC-12).
    assert_eq!(userinfo(idpd, id_token).await.0, 401);

    // SSO: a second authorization in the same browser is silent.
    let (verifier2, challenge2) = pkce();
    let p = b.get(&authorize_url(&client_id, &challenge2, "")).await;
    assert_eq!(p.status, StatusCode::FOUND);
    let q2 = query(p.location.as_deref().unwrap());
    let (st, t2) = token(
        idpd,
        &[
            ("grant_type", "authorization_code"),
            ("code", &q2["code"]),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier2),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!(st, 200, "{t2}");

    // Code reuse: invalid_grant, and the tokens of the first redemption stop working (SEC-03).
    let (st, e) = token(
        idpd,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!((st, e["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(userinfo(idpd, at).await.0, 401, "revoked with its code");
    let (st, e) = token(
        idpd,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt1),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!((st, e["error"].as_str()), (400, Some("invalid_grant")));

    // Refresh rotation and reuse detection on the second grant (SEC-04).
    let rt_a = t2["refresh_token"].as_str().unwrap().to_owned();
    let (st, t3) = token(
        idpd,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt_a),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!(st, 200, "{t3}");
    let rt_b = t3["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rt_a, rt_b);
    assert_eq!(
        userinfo(idpd, t3["access_token"].as_str().unwrap()).await.0,
        200
    );
    let (st, _) = token(
        idpd,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt_a),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!(st, 400, "replayed refresh token");
    let (st, e) = token(
        idpd,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt_b),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!(
        (st, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "the family is revoked"
    );
    assert_eq!(
        userinfo(idpd, t3["access_token"].as_str().unwrap()).await.0,
        401
    );

    // Wrong verifier, wrong redirect_uri: invalid_grant (SEC-01, SEC-02).
    let (v4, c4) = pkce();
    let p = b.get(&authorize_url(&client_id, &c4, "")).await;
    let c = query(p.location.as_deref().unwrap())["code"].clone();
    let (st, e) = token(
        idpd,
        &[
            ("grant_type", "authorization_code"),
            ("code", &c),
            ("redirect_uri", "http://127.0.0.1:9/other"),
            ("code_verifier", &v4),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!((st, e["error"].as_str()), (400, Some("invalid_grant")));
    let p = b.get(&authorize_url(&client_id, &c4, "")).await;
    let c = query(p.location.as_deref().unwrap())["code"].clone();
    let (st, _) = token(
        idpd,
        &[
            ("grant_type", "authorization_code"),
            ("code", &c),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!(st, 400, "wrong verifier");

    // prompt=none in a browser without a session: login_required with state and iss.
    let mut stranger = Browser::new(idpd);
    let p = stranger
        .get(&authorize_url(&client_id, &challenge, "&prompt=none"))
        .await;
    let q = query(p.location.as_deref().unwrap());
    assert_eq!(
        (q["error"].as_str(), q["state"].as_str(), q["iss"].as_str()),
        ("login_required", "st-1", issuer.as_str())
    );
    // An unregistered redirect URI: an error page, never a redirect (SEC-01, SEC-06).
    let p = stranger
        .get(
            &authorize_url(&client_id, &challenge, "")
                .replace("127.0.0.1%3A9%2Fcb", "evil.test%2Fcb"),
        )
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(p.location.is_none());
    let p = stranger
        .get(
            &authorize_url(&client_id, &challenge, "")
                .replace("code_challenge_method=S256", "code_challenge_method=plain"),
        )
        .await;
    assert_eq!(
        query(p.location.as_deref().unwrap())["error"],
        "invalid_request",
        "plain PKCE refused"
    );

    // Logout with the ID token as hint ends the session at once (SEC-18).
    let p = b
        .get(&format!(
            "/t/acme/logout?id_token_hint={}",
            t2["id_token"].as_str().unwrap()
        ))
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    let p = b
        .get(&authorize_url(&client_id, &challenge, "&prompt=none"))
        .await;
    assert_eq!(
        query(p.location.as_deref().unwrap())["error"],
        "login_required"
    );
}

async fn otp_brute_force_burns_the_code(backend: Backend) {
    let s = setup(backend).await;
    let idpd = &s.idpd;
    let client_id = acme_with_web_client(idpd).await;
    let mut b = Browser::new(idpd);
    let (_, challenge) = pkce();
    let p = b.get(&authorize_url(&client_id, &challenge, "")).await;
    let page = b.get(p.location.as_deref().unwrap()).await;
    let (flow, csrf) = (hidden(&page.body, "flow"), hidden(&page.body, "csrf"));
    b.post(
        "/t/acme/login/email",
        &[
            ("flow", &flow),
            ("csrf", &csrf),
            ("email", "bob@example.com"),
        ],
    )
    .await;
    let (code, _) = mailed_code(idpd, "bob@example.com", 0).await;
    let wrong = if code == "000000" { "000001" } else { "000000" };
    for _ in 0..5 {
        let p = b
            .post(
                "/t/acme/login/code",
                &[("flow", &flow), ("csrf", &csrf), ("code", wrong)],
            )
            .await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST);
    }
    let p = b
        .post(
            "/t/acme/login/code",
            &[("flow", &flow), ("csrf", &csrf), ("code", &code)],
        )
        .await;
    assert_eq!(
        p.status,
        StatusCode::BAD_REQUEST,
        "after 5 wrong tries the right code fails too (SEC-16)"
    );
    assert!(p.location.is_none());
}

async fn login_forms_need_csrf_and_their_own_flow(backend: Backend) {
    let s = setup(backend).await;
    let idpd = &s.idpd;
    let client_id = acme_with_web_client(idpd).await;
    let (_, challenge) = pkce();
    let mut a = Browser::new(idpd);
    let p = a.get(&authorize_url(&client_id, &challenge, "")).await;
    let page = a.get(p.location.as_deref().unwrap()).await;
    let (flow, csrf) = (hidden(&page.body, "flow"), hidden(&page.body, "csrf"));
    // No CSRF token, a wrong one, a foreign Origin: 403 and no mail (SEC-07).
    let p = a
        .post(
            "/t/acme/login/email",
            &[("flow", &flow), ("email", "c@example.com")],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let p = a
        .post(
            "/t/acme/login/email",
            &[("flow", &flow), ("csrf", "00"), ("email", "c@example.com")],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let res = http_client()
        .post(format!("{}/t/acme/login/email", idpd.public_url()))
        .header("cookie", a.cookie_header())
        .header("origin", "https://evil.test")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(idp_tests::oauth::form(&[
            ("flow", &flow),
            ("csrf", &csrf),
            ("email", "c@example.com"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // Another browser (no flow cookie) cannot use the flow even with its CSRF token.
    let mut other = Browser::new(idpd);
    let p = other
        .post(
            "/t/acme/login/email",
            &[("flow", &flow), ("csrf", &csrf), ("email", "c@example.com")],
        )
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(!idpd.data_dir.join("outbox").exists(), "no mail was sent");
}

//! A fake upstream OpenID provider on 127.0.0.1:0 for the hostile cases of brokered login:
//! discovery, authorize (redirects straight back), token (ES256 ID tokens, or broken ones on
//! request), JWKS and userinfo, each steerable through [`Behavior`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// How the ID token is spoiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spoil {
    None,
    WrongAud,
    WrongIss,
    WrongNonce,
    MissingNonce,
    BadSignature,
    AlgNone,
    Hs256,
    Expired,
}

#[derive(Debug, Clone)]
pub struct Behavior {
    /// The `issuer` of the discovery document (default: the base URL).
    pub discovery_issuer: Option<String>,
    /// Discovery answers 302 to this URL.
    pub discovery_redirect: Option<String>,
    pub with_userinfo: bool,
    /// The `jwks_uri` of the discovery document (default: the fake's own).
    pub jwks_uri: Option<String>,
    pub spoil: Spoil,
    /// The kid the ID token is signed with: "k1" or "k2".
    pub kid: &'static str,
    /// k2 is published only from this JWKS fetch on (1-based); `None`: never.
    pub k2_from_fetch: Option<usize>,
    /// A JWKS padded past 1 MiB.
    pub huge_jwks: bool,
    /// The token endpoint answers after this long.
    pub token_delay: Option<Duration>,
    /// `/authorize` answers with this error instead of a code.
    pub authorize_error: Option<String>,
    pub sub: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub userinfo_sub: Option<String>,
    pub userinfo_email: Option<(String, bool)>,
}

impl Default for Behavior {
    fn default() -> Self {
        Behavior {
            discovery_issuer: None,
            discovery_redirect: None,
            with_userinfo: true,
            jwks_uri: None,
            spoil: Spoil::None,
            kid: "k1",
            k2_from_fetch: None,
            huge_jwks: false,
            token_delay: None,
            authorize_error: None,
            sub: "upstream-user-1".into(),
            email: Some("fed@corp.example".into()),
            email_verified: true,
            name: Some("Fed User".into()),
            userinfo_sub: None,
            userinfo_email: None,
        }
    }
}

/// What the fake saw.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    /// Query of the last `/authorize`.
    pub authorize: HashMap<String, String>,
    pub jwks_fetches: usize,
    pub token_requests: usize,
    /// Form of the last token request.
    pub token_form: HashMap<String, String>,
}

struct Key {
    pkcs8: Vec<u8>,
    jwk: Value,
}

fn es256_key(kid: &str) -> Key {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .expect("P-256 key");
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).expect("key");
    let point = pair.public_key().as_ref();
    let jwk = json!({
        "kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
        "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
    });
    Key {
        pkcs8: pkcs8.as_ref().to_vec(),
        jwk,
    }
}

pub struct Inner {
    pub base: String,
    pub client_id: String,
    pub client_secret: String,
    pub behavior: Behavior,
    pub seen: Seen,
    k1: Key,
    k2: Key,
    rogue: Key,
    /// code → (nonce, code_challenge)
    codes: HashMap<String, (Option<String>, Option<String>)>,
}

/// A running fake upstream; stops when dropped.
pub struct FakeUpstream {
    pub base: String,
    pub state: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Shared = Arc<Mutex<Inner>>;

impl FakeUpstream {
    pub async fn start(client_id: &str, client_secret: &str) -> FakeUpstream {
        crate::oauth::install_crypto_provider();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake upstream");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(Mutex::new(Inner {
            base: base.clone(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            behavior: Behavior::default(),
            seen: Seen::default(),
            k1: es256_key("k1"),
            k2: es256_key("k2"),
            rogue: es256_key("k1"),
            codes: HashMap::new(),
        }));
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/jwks", get(jwks))
            .route("/userinfo", get(userinfo))
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeUpstream { base, state, task }
    }

    pub fn set(&self, f: impl FnOnce(&mut Behavior)) {
        f(&mut self.state.lock().unwrap().behavior);
    }

    pub fn seen(&self) -> Seen {
        self.state.lock().unwrap().seen.clone()
    }
}

async fn discovery(State(s): State<Shared>) -> Response {
    let s = s.lock().unwrap();
    let b = &s.behavior;
    if let Some(to) = &b.discovery_redirect {
        return (StatusCode::FOUND, [(header::LOCATION, to.clone())]).into_response();
    }
    let base = &s.base;
    let mut doc = json!({
        "issuer": b.discovery_issuer.clone().unwrap_or_else(|| base.clone()),
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "jwks_uri": b.jwks_uri.clone().unwrap_or_else(|| format!("{base}/jwks")),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
    });
    if b.with_userinfo {
        doc["userinfo_endpoint"] = format!("{base}/userinfo").into();
    }
    axum::Json(doc).into_response()
}

async fn authorize(State(s): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let mut s = s.lock().unwrap();
    s.seen.authorize = q.clone();
    let mut to = url::Url::parse(
        q.get("redirect_uri")
            .map(String::as_str)
            .unwrap_or("http://x/"),
    )
    .expect("redirect_uri");
    {
        let mut qp = to.query_pairs_mut();
        if let Some(e) = &s.behavior.authorize_error {
            qp.append_pair("error", e);
        } else {
            let code = uuid::Uuid::new_v4().simple().to_string();
            qp.append_pair("code", &code);
            let entry = (q.get("nonce").cloned(), q.get("code_challenge").cloned());
            s.codes.insert(code, entry);
        }
        if let Some(st) = q.get("state") {
            qp.append_pair("state", st);
        }
    }
    (StatusCode::FOUND, [(header::LOCATION, to.to_string())]).into_response()
}

fn form_pairs(body: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

async fn token(
    State(shared): State<Shared>,
    headers: axum::http::HeaderMap,
    body: String,
) -> Response {
    let delay = shared.lock().unwrap().behavior.token_delay;
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    let mut s = shared.lock().unwrap();
    s.seen.token_requests += 1;
    let form = form_pairs(&body);
    s.seen.token_form = form.clone();
    let bad = |e: &str| (StatusCode::BAD_REQUEST, axum::Json(json!({"error": e}))).into_response();
    // client_secret_basic
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", s.client_id, s.client_secret))
    );
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        != Some(expected.as_str())
    {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let code = form.get("code").cloned().unwrap_or_default();
    let Some((nonce, challenge)) = s.codes.remove(&code) else {
        return bad("invalid_grant");
    };
    // PKCE S256 (RFC 7636 §4.6).
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    if challenge.as_deref() != Some(URL_SAFE_NO_PAD.encode(digest.as_ref()).as_str()) {
        return bad("invalid_grant");
    }
    let b = s.behavior.clone();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut claims = json!({
        "iss": s.base, "sub": b.sub, "aud": s.client_id,
        "iat": now, "exp": now + 300, "nonce": nonce,
    });
    if let Some(e) = &b.email {
        claims["email"] = e.clone().into();
        claims["email_verified"] = b.email_verified.into();
    }
    if let Some(n) = &b.name {
        claims["name"] = n.clone().into();
    }
    match b.spoil {
        Spoil::WrongAud => claims["aud"] = "someone-else".into(),
        Spoil::WrongIss => claims["iss"] = "https://evil.example".into(),
        Spoil::WrongNonce => claims["nonce"] = "not-the-nonce".into(),
        Spoil::MissingNonce => {
            claims.as_object_mut().unwrap().remove("nonce");
        }
        Spoil::Expired => {
            claims["exp"] = (now - 600).into();
            claims["iat"] = (now - 900).into();
        }
        _ => {}
    }
    let id_token = match b.spoil {
        Spoil::AlgNone => format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        ),
        Spoil::Hs256 => {
            let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
            h.kid = Some("k1".into());
            jsonwebtoken::encode(
                &h,
                &claims,
                &jsonwebtoken::EncodingKey::from_secret(s.client_secret.as_bytes()).unwrap(),
            )
            .unwrap()
        }
        spoil => {
            let key = if spoil == Spoil::BadSignature {
                &s.rogue
            } else if b.kid == "k2" {
                &s.k2
            } else {
                &s.k1
            };
            let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
            h.kid = Some(b.kid.into());
            jsonwebtoken::encode(
                &h,
                &claims,
                &jsonwebtoken::EncodingKey::from_ec_der(&key.pkcs8),
            )
            .unwrap()
        }
    };
    axum::Json(json!({
        "access_token": format!("at-{}", b.sub),
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": id_token,
    }))
    .into_response()
}

async fn jwks(State(s): State<Shared>) -> Response {
    let mut s = s.lock().unwrap();
    s.seen.jwks_fetches += 1;
    let mut keys = vec![s.k1.jwk.clone()];
    if s.behavior
        .k2_from_fetch
        .is_some_and(|n| s.seen.jwks_fetches >= n)
    {
        keys.push(s.k2.jwk.clone());
    }
    let mut doc = json!({ "keys": keys });
    if s.behavior.huge_jwks {
        doc["padding"] = "x".repeat(1024 * 1024).into();
    }
    axum::Json(doc).into_response()
}

async fn userinfo(State(s): State<Shared>, headers: axum::http::HeaderMap) -> Response {
    let s = s.lock().unwrap();
    let b = &s.behavior;
    let expected = format!("Bearer at-{}", b.sub);
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        != Some(expected.as_str())
    {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let mut doc = json!({ "sub": b.userinfo_sub.clone().unwrap_or_else(|| b.sub.clone()) });
    if let Some((e, v)) = &b.userinfo_email {
        doc["email"] = e.clone().into();
        doc["email_verified"] = (*v).into();
    }
    axum::Json(doc).into_response()
}

/// idpd with its public URL on its real port (so issuers and callbacks resolve) and loopback
/// upstreams allowed.
pub async fn setup_federation(backend: crate::Backend) -> crate::Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let db = crate::TestDb::new(backend, &data).await;
    let idpd = crate::Idpd::builder(&data, &db.url)
        .own_public_url()
        .arg("--allow-loopback-upstreams")
        .start();
    crate::Setup { idpd, db, dir }
}

/// Registers `up` as provider `name` of `tenant` (admin API); returns the JSON answer.
pub async fn add_provider(
    idpd: &crate::Idpd,
    tenant: &str,
    name: &str,
    up: &FakeUpstream,
    extra: Value,
) -> (u16, Value) {
    let (client_id, secret) = {
        let s = up.state.lock().unwrap();
        (s.client_id.clone(), s.client_secret.clone())
    };
    let mut body = json!({
        "name": name, "issuer": up.base, "client_id": client_id, "client_secret": secret,
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    idpd.api()
        .send(
            reqwest::Method::POST,
            &format!("/tenants/{tenant}/providers"),
            Some(body),
        )
        .await
}

/// From `/authorize` of `slug` through the upstream's redirects: (the callback URL, the
/// answer of the callback).
pub async fn login_via_upstream(
    b: &mut crate::browser::Browser,
    slug: &str,
    client_id: &str,
    challenge: &str,
) -> (String, crate::browser::Page) {
    let p = b
        .get(&crate::browser::authorize_url_at(
            slug, client_id, challenge, "",
        ))
        .await;
    assert_eq!(p.status, reqwest::StatusCode::FOUND, "{}", p.body);
    let at_upstream = p.location.expect("redirect to the upstream");
    let p = b.get(&at_upstream).await;
    assert_eq!(p.status, reqwest::StatusCode::FOUND, "{}", p.body);
    let callback = p.location.expect("redirect to the callback");
    let page = b.get(&callback).await;
    (callback, page)
}

/// Number of users and live sessions of a tenant.
pub async fn counts(idpd: &crate::Idpd, tenant: &str) -> (usize, usize) {
    let api = idpd.api();
    let (st, users) = api
        .send(
            reqwest::Method::GET,
            &format!("/tenants/{tenant}/users"),
            None,
        )
        .await;
    assert_eq!(st, 200, "{users}");
    let (st, sessions) = api
        .send(
            reqwest::Method::GET,
            &format!("/tenants/{tenant}/sessions"),
            None,
        )
        .await;
    assert_eq!(st, 200, "{sessions}");
    (
        users["items"].as_array().map_or(0, Vec::len),
        sessions["items"].as_array().map_or(0, Vec::len),
    )
}

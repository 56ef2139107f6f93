//! Helpers of the device tests: a daemon client, the device authorization request and its
//! polling, the browser's approval on the device page, device keys (Ed25519 and P-256 with
//! aws-lc-rs) and signed assertions.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;

use crate::browser::{Browser, Page, hidden, mailed_code, outbox_mails, token};
use crate::{Idpd, Value, http_client, json};

pub const GRANT_DEVICE: &str = "urn:ietf:params:oauth:grant-type:device_code";
pub const GRANT_JWT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Tenant `slug` (created unless it exists) with a public "daemon" client registered for the
/// device grant, device login and refresh; returns its client_id.
pub async fn daemon_client(idpd: &Idpd, slug: &str) -> String {
    let api = idpd.api();
    let (st, _) = api
        .send(reqwest::Method::GET, &format!("/tenants/{slug}"), None)
        .await;
    if st == 404 {
        let (st, t) = api.create_tenant(json!({"name": slug, "slug": slug})).await;
        assert_eq!(st, 201, "{t}");
    }
    let (st, c) = api
        .send(
            reqwest::Method::POST,
            &format!("/tenants/{slug}/clients"),
            Some(json!({
                "name": "Backup daemon", "public": true,
                "grant_types": [GRANT_DEVICE, GRANT_JWT, "refresh_token"],
                "scopes": ["openid", "email", "offline_access", "devices"],
            })),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    c["client"]["client_id"].as_str().unwrap().to_owned()
}

/// POST `{issuer}/device_authorization` of tenant `slug`; (status, JSON).
pub async fn device_authorization(
    idpd: &Idpd,
    slug: &str,
    client_id: &str,
    scope: &str,
) -> (u16, Value) {
    let res = http_client()
        .post(format!(
            "{}/t/{slug}/device_authorization",
            idpd.public_url()
        ))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(crate::oauth::form(&[
            ("client_id", client_id),
            ("scope", scope),
        ]))
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

/// One poll of the token endpoint of tenant acme with the device code.
pub async fn poll(idpd: &Idpd, client_id: &str, device_code: &str) -> (u16, Value) {
    token(
        idpd,
        &[
            ("grant_type", GRANT_DEVICE),
            ("device_code", device_code),
            ("client_id", client_id),
        ],
    )
    .await
}

/// Opens the device page of tenant acme, signing in first if needed (`path` is where the login starts,
/// e.g. `/t/acme/device?user_code=…`) with a mailed code; returns the device page the login
/// comes back to.
pub async fn sign_in_via_device_page(
    b: &mut Browser,
    idpd: &Idpd,
    path: &str,
    email: &str,
) -> Page {
    let seen = outbox_mails(idpd, email).len();
    let p = b.get(path).await;
    if p.status == StatusCode::OK {
        // Signed in already.
        return p;
    }
    assert_eq!(p.status, StatusCode::FOUND, "{}", p.body);
    let login = p.location.unwrap();
    assert!(login.starts_with("/t/acme/login?flow="), "{login}");
    let page = b.get(&login).await;
    let (flow, csrf) = (hidden(&page.body, "flow"), hidden(&page.body, "csrf"));
    let p = crate::browser::submit_email(b, &flow, &csrf, email).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let code = mailed_code(idpd, email, seen).await;
    let p = crate::browser::submit_code(b, &flow, &csrf, &code).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let back = p.location.unwrap();
    assert!(back.starts_with("/t/acme/device"), "{back}");
    let page = b.get(&back).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page
}

/// Signs in via `verification_uri_complete` and approves (or denies) `user_code`; returns
/// the final page.
pub async fn decide(
    b: &mut Browser,
    idpd: &Idpd,
    complete_uri: &str,
    email: &str,
    approve: bool,
) -> Page {
    let path = local_path(complete_uri);
    let page = sign_in_via_device_page(b, idpd, &path, email).await;
    let user_code = hidden(&page.body, "user_code");
    assert!(
        path.ends_with(&user_code),
        "the code is carried through the login"
    );
    let csrf = hidden(&page.body, "csrf");
    let confirm = b
        .post(
            "/t/acme/device",
            &[("csrf", &csrf), ("user_code", &user_code)],
        )
        .await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    assert!(confirm.body.contains("Backup daemon"), "{}", confirm.body);
    let action = if approve { "approve" } else { "deny" };
    b.post(
        "/t/acme/device",
        &[
            ("csrf", &csrf),
            ("user_code", &user_code),
            ("action", action),
        ],
    )
    .await
}

/// A device key pair.
pub enum DeviceKey {
    Ed25519(Ed25519KeyPair),
    P256(EcdsaKeyPair),
}

pub fn b64(b: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(b)
}

impl DeviceKey {
    pub fn ed25519() -> DeviceKey {
        DeviceKey::Ed25519(Ed25519KeyPair::generate().unwrap())
    }

    pub fn p256() -> DeviceKey {
        DeviceKey::P256(EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap())
    }

    pub fn alg(&self) -> &'static str {
        match self {
            DeviceKey::Ed25519(_) => "EdDSA",
            DeviceKey::P256(_) => "ES256",
        }
    }

    pub fn public_bytes(&self) -> Vec<u8> {
        match self {
            DeviceKey::Ed25519(k) => k.public_key().as_ref().to_vec(),
            DeviceKey::P256(k) => k.public_key().as_ref().to_vec(),
        }
    }

    /// The public JWK.
    pub fn jwk(&self) -> Value {
        let p = self.public_bytes();
        match self {
            DeviceKey::Ed25519(_) => json!({"kty": "OKP", "crv": "Ed25519", "x": b64(&p)}),
            DeviceKey::P256(_) => {
                json!({"kty": "EC", "crv": "P-256", "x": b64(&p[1..33]), "y": b64(&p[33..65])})
            }
        }
    }

    pub fn sign_bytes(&self, msg: &[u8]) -> Vec<u8> {
        match self {
            DeviceKey::Ed25519(k) => k.sign(msg).as_ref().to_vec(),
            DeviceKey::P256(k) => k.sign(&SystemRandom::new(), msg).unwrap().as_ref().to_vec(),
        }
    }

    /// A compact JWS of `claims` under `header`, signed with this key.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let sig = self.sign_bytes(input.as_bytes());
        format!("{input}.{}", b64(&sig))
    }

    /// A registration proof for tenant `slug` sent with access token `at`: a JWS signed by
    /// this key (`typ` device-registration+jwt) with `aud` = the issuer, `ath` = the token's
    /// hash, `iat` = now and a fresh `jti`.
    pub fn proof(&self, slug: &str, at: &str) -> String {
        let header = json!({"alg": self.alg(), "typ": "device-registration+jwt"});
        self.sign(&header, &proof_claims(slug, at))
    }

    /// A registration body for this key with a good proof.
    pub fn registration(&self, slug: &str, at: &str) -> Value {
        json!({
            "name": "backup box", "platform": "linux",
            "public_key": self.jwk(), "proof": self.proof(slug, at),
        })
    }

    /// A good assertion of `device` for `user` at tenant `slug` of `idpd`.
    pub fn assertion(&self, slug: &str, device: &str, user: &str) -> String {
        let header = json!({"alg": self.alg(), "typ": "JWT"});
        self.sign(&header, &claims(slug, device, user))
    }
}

/// The path of a URL under an issuer: idpd's issuers use its configured public URL (the
/// default `http://127.0.0.1:8080` in these tests), not the ephemeral port it listens on.
pub fn local_path(url: &str) -> String {
    url[url.find("/t/").expect("an issuer URL")..].to_owned()
}

/// The issuer of tenant `slug` under idpd's default public URL.
pub fn issuer(slug: &str) -> String {
    format!("http://127.0.0.1:8080/t/{slug}")
}

/// Good assertion claims: 2 minutes, a fresh jti, aud = the token endpoint.
pub fn claims(slug: &str, device: &str, user: &str) -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    json!({
        "iss": device, "sub": user,
        "aud": format!("{}/token", issuer(slug)),
        "iat": now, "exp": now + 120,
        "jti": uuid::Uuid::new_v4().to_string(),
    })
}

/// The `ath` of access token `at` (base64url SHA-256, as in RFC 9449 §4.2).
pub fn ath(at: &str) -> String {
    b64(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, at.as_bytes()).as_ref())
}

/// Good registration proof claims for tenant `slug` and access token `at`.
pub fn proof_claims(slug: &str, at: &str) -> Value {
    json!({
        "aud": issuer(slug), "ath": ath(at), "iat": unix_now(),
        "jti": uuid::Uuid::new_v4().to_string(),
    })
}

pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The JWT bearer grant at tenant `slug`; (status, JSON).
pub async fn device_login(
    idpd: &Idpd,
    slug: &str,
    client_id: &str,
    assertion: &str,
) -> (u16, Value) {
    let res = http_client()
        .post(format!("{}/t/{slug}/token", idpd.public_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(crate::oauth::form(&[
            ("grant_type", GRANT_JWT),
            ("assertion", assertion),
            ("client_id", client_id),
        ]))
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

/// A request to `{issuer}/devices…` of tenant acme with a bearer token.
pub async fn devices_api(
    idpd: &Idpd,
    method: reqwest::Method,
    path: &str,
    at: &str,
    body: Option<Value>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = http_client()
        .request(
            method,
            format!("{}/t/acme/devices{path}", idpd.public_url()),
        )
        .bearer_auth(at);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let st = res.status().as_u16();
    let headers = res.headers().clone();
    (st, headers, res.json().await.unwrap_or(Value::Null))
}

/// Registers `key` at tenant acme with access token `at` and a good proof; returns the
/// device id.
pub async fn register(idpd: &Idpd, at: &str, key: &DeviceKey) -> String {
    let body = key.registration("acme", at);
    let (st, _, d) = devices_api(idpd, reqwest::Method::POST, "", at, Some(body)).await;
    assert_eq!(st, 201, "{d}");
    d["id"].as_str().unwrap().to_owned()
}

/// The claims of a JWT, unverified (the tests verify signatures elsewhere).
pub fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// Introspects `token` at tenant acme with a fresh confidential client's credentials.
pub async fn introspect(idpd: &Idpd, token: &str) -> Value {
    let creds = crate::oauth::service_client(&idpd.api(), "acme", None).await;
    let op = crate::oauth::Op::new(idpd, "acme");
    op.introspect(&creds.basic(), token).await.json()
}

/// Polls until the answer is not `authorization_pending`: at once (the first poll may come
/// at any time), then every `interval` seconds (RFC 8628 §3.5); (status, JSON).
pub async fn poll_until_decided(
    idpd: &Idpd,
    client_id: &str,
    device_code: &str,
    interval: u64,
) -> (u16, Value) {
    for _ in 0..20 {
        let (st, v) = poll(idpd, client_id, device_code).await;
        if v["error"] != "authorization_pending" {
            return (st, v);
        }
        tokio::time::sleep(std::time::Duration::from_millis(interval * 1000 + 100)).await;
    }
    panic!("the device authorization was never decided");
}

/// The whole device flow at tenant acme (idpd started with `--device-poll-interval 1`):
/// `email` signs in with `b` and approves; returns the token response.
pub async fn device_flow_tokens(
    b: &mut Browser,
    idpd: &Idpd,
    client_id: &str,
    email: &str,
) -> Value {
    let (st, da) =
        device_authorization(idpd, "acme", client_id, "openid offline_access devices").await;
    assert_eq!(st, 200, "{da}");
    let page = decide(
        b,
        idpd,
        da["verification_uri_complete"].as_str().unwrap(),
        email,
        true,
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let (st, t) = poll_until_decided(idpd, client_id, da["device_code"].as_str().unwrap(), 1).await;
    assert_eq!(st, 200, "{t}");
    t
}

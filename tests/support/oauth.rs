//! The public OAuth endpoints of one tenant from a client's side: form posts with each kind
//! of client authentication, and an access-token verifier built on jsonwebtoken (not idpd's
//! signing code) that caches the JWKS and refetches it only on an unknown `kid`, as
//! openid-client does.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::{Api, Idpd, http_client, json};

/// An HTTP answer, read whole.
#[derive(Debug)]
pub struct Res {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Res {
    /// Sends a request built by hand.
    pub async fn send(req: reqwest::RequestBuilder) -> Res {
        Res::read(req.send().await.expect("request")).await
    }

    async fn read(res: reqwest::Response) -> Res {
        Res {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            text: res.text().await.expect("response body"),
        }
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {self:?}"))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// An OAuth error answer (RFC 6749 §5.2): this status and `error`, JSON, never cached.
    #[track_caller]
    pub fn assert_error(&self, status: u16, error: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.json()["error"], error, "{self:?}");
        assert!(
            self.header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "{self:?}"
        );
        assert_eq!(self.header("cache-control"), Some("no-store"), "{self:?}");
    }

    /// 401 `invalid_client` with the Basic challenge RFC 6749 §5.2 asks for when the client
    /// used the Authorization header.
    #[track_caller]
    pub fn assert_invalid_client_basic(&self) {
        self.assert_error(401, "invalid_client");
        let challenge = self.header("www-authenticate").unwrap_or("");
        assert!(
            challenge.starts_with("Basic ") && challenge.contains("realm="),
            "Basic auth failed without a Basic challenge: {self:?}"
        );
    }

    /// 401 `invalid_client` without a challenge (the client did not use Basic).
    #[track_caller]
    pub fn assert_invalid_client_no_challenge(&self) {
        self.assert_error(401, "invalid_client");
        assert_eq!(self.header("www-authenticate"), None, "{self:?}");
    }
}

/// A client's credentials.
#[derive(Debug, Clone)]
pub struct Creds {
    pub id: String,
    pub secret: String,
}

impl Creds {
    pub fn basic(&self) -> Auth {
        Auth::Basic(self.id.clone(), self.secret.clone())
    }

    pub fn post(&self) -> Auth {
        Auth::Post(self.id.clone(), self.secret.clone())
    }
}

/// How a request authenticates the client (RFC 6749 §2.3.1).
#[derive(Debug, Clone)]
pub enum Auth {
    None,
    /// `client_secret_basic`; both halves sent as given (no form-encoding added).
    Basic(String, String),
    /// `client_secret_post`.
    Post(String, String),
    /// Just `client_id` in the body, as a public client does.
    IdOnly(String),
}

/// `application/x-www-form-urlencoded` of `pairs`.
pub fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// The public endpoints of one tenant, at the address idpd really listens on.
#[derive(Clone)]
pub struct Op {
    /// `http://127.0.0.1:{port}/t/{slug}`.
    pub base: String,
    pub public_url: String,
    pub slug: String,
    pub http: reqwest::Client,
}

impl Op {
    pub fn new(idpd: &Idpd, slug: &str) -> Op {
        Op {
            base: format!("{}/t/{slug}", idpd.public_url()),
            public_url: idpd.public_url(),
            slug: slug.to_owned(),
            http: http_client(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// GET a path of the tenant (`/jwks`, `/.well-known/openid-configuration`).
    pub async fn get(&self, path: &str) -> Res {
        Res::read(self.http.get(self.url(path)).send().await.expect("GET")).await
    }

    /// GET an absolute path on the public listener.
    pub async fn get_root(&self, path: &str) -> Res {
        let url = format!("{}{path}", self.public_url);
        Res::read(self.http.get(url).send().await.expect("GET")).await
    }

    /// POSTs a form with the client authentication added.
    pub async fn post_form(&self, path: &str, auth: &Auth, params: &[(&str, &str)]) -> Res {
        let mut pairs: Vec<(&str, &str)> = params.to_vec();
        let mut req = self.http.post(self.url(path));
        match auth {
            Auth::None => {}
            Auth::Basic(id, secret) => req = req.basic_auth(id, Some(secret)),
            Auth::Post(id, secret) => {
                pairs.push(("client_id", id));
                pairs.push(("client_secret", secret));
            }
            Auth::IdOnly(id) => pairs.push(("client_id", id)),
        }
        let res = req
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&pairs))
            .send()
            .await
            .expect("POST");
        Res::read(res).await
    }

    /// A POST to a path of the tenant, to finish by hand (raw bodies, odd headers).
    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.post(self.url(path))
    }

    /// A client_credentials token request.
    pub async fn client_credentials(&self, auth: &Auth, scope: Option<&str>) -> Res {
        let mut params = vec![("grant_type", "client_credentials")];
        if let Some(s) = scope {
            params.push(("scope", s));
        }
        self.post_form("/token", auth, &params).await
    }

    /// An access token for `creds` (Basic auth); panics unless the answer is 200.
    pub async fn access_token(&self, creds: &Creds) -> String {
        let res = self.client_credentials(&creds.basic(), None).await;
        assert_eq!(res.status, 200, "token request failed: {res:?}");
        res.json()["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    pub async fn introspect(&self, auth: &Auth, token: &str) -> Res {
        self.post_form("/introspect", auth, &[("token", token)])
            .await
    }

    /// `active` of an introspection by `creds`, asserting a well-formed 200.
    pub async fn active(&self, creds: &Creds, token: &str) -> bool {
        let res = self.introspect(&creds.basic(), token).await;
        assert_eq!(res.status, 200, "{res:?}");
        assert_eq!(res.header("cache-control"), Some("no-store"), "{res:?}");
        let body = res.json();
        let active = body["active"].as_bool().expect("active is a boolean");
        if !active {
            assert_eq!(
                body,
                json!({"active": false}),
                "inactive tokens reveal nothing"
            );
        }
        active
    }

    pub async fn revoke(&self, auth: &Auth, token: &str) -> Res {
        self.post_form("/revoke", auth, &[("token", token)]).await
    }

    /// The kids in the tenant's JWKS, fetched now.
    pub async fn kids(&self) -> Vec<String> {
        let res = self.get("/jwks").await;
        assert_eq!(res.status, 200, "{res:?}");
        res.json()["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .map(|k| k["kid"].as_str().expect("kid").to_owned())
            .collect()
    }
}

/// Creates a tenant with this slug through the admin API.
pub async fn create_tenant(api: &Api, slug: &str) {
    let (status, body) = api.create_tenant(json!({"name": slug, "slug": slug})).await;
    assert_eq!(status, 201, "{body}");
}

/// Registers a client through the admin API; `body` is the CreateClient JSON.
pub async fn create_client(api: &Api, slug: &str, body: Value) -> Creds {
    let (status, created) = api
        .send(
            reqwest::Method::POST,
            &format!("/tenants/{slug}/clients"),
            Some(body),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    Creds {
        id: created["client"]["client_id"]
            .as_str()
            .expect("client_id")
            .to_owned(),
        secret: created["client_secret"].as_str().unwrap_or("").to_owned(),
    }
}

/// A confidential client_credentials client with scopes `read` and `write`.
pub async fn service_client(api: &Api, slug: &str, client_id: Option<&str>) -> Creds {
    let mut body = json!({
        "name": "svc",
        "grant_types": ["client_credentials"],
        "scopes": ["read", "write"],
    });
    if let Some(id) = client_id {
        body["client_id"] = json!(id);
    }
    create_client(api, slug, body).await
}

/// A token that passed verification.
#[derive(Debug)]
pub struct Verified {
    pub header: Header,
    pub claims: Value,
}

impl Verified {
    pub fn kid(&self) -> &str {
        self.header.kid.as_deref().unwrap_or("")
    }
}

/// Verifies idpd's access tokens with jsonwebtoken against the JWKS fetched over HTTP.
pub struct Verifier {
    /// `issuer` of the discovery document: what `iss` and `aud` must be.
    pub issuer: String,
    jwks_url: String,
    http: reqwest::Client,
    keys: Mutex<Vec<Value>>,
    fetches: AtomicUsize,
}

/// jsonwebtoken needs one crypto provider per process; the first caller installs it.
pub fn install_crypto_provider() {
    let _ = jsonwebtoken::crypto::CryptoProvider::install_default(
        &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER,
    );
}

impl Verifier {
    /// Reads discovery like a relying party: the issuer and the JWKS location come from it.
    pub async fn new(op: &Op) -> Verifier {
        install_crypto_provider();
        let disc = op.get("/.well-known/openid-configuration").await;
        assert_eq!(disc.status, 200, "{disc:?}");
        let doc = disc.json();
        let issuer = doc["issuer"].as_str().expect("issuer").to_owned();
        assert!(
            issuer.ends_with(&format!("/t/{}", op.slug)),
            "issuer {issuer}"
        );
        // idpd listens on an ephemeral port while its public_url keeps the default, so the
        // JWKS is fetched from where idpd listens, at the path discovery names.
        assert_eq!(doc["jwks_uri"], format!("{issuer}/jwks"));
        let v = Verifier {
            issuer,
            jwks_url: op.url("/jwks"),
            http: op.http.clone(),
            keys: Mutex::new(Vec::new()),
            fetches: AtomicUsize::new(0),
        };
        v.refetch().await.expect("JWKS");
        v
    }

    /// How often the JWKS was fetched.
    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    pub async fn refetch(&self) -> Result<(), String> {
        let res = self
            .http
            .get(&self.jwks_url)
            .send()
            .await
            .map_err(|e| format!("JWKS fetch: {e}"))?;
        if res.status() != 200 {
            return Err(format!("JWKS fetch: {}", res.status()));
        }
        let doc: Value = res.json().await.map_err(|e| format!("JWKS body: {e}"))?;
        let keys = doc["keys"].as_array().ok_or("JWKS without keys")?.clone();
        *self.keys.lock().expect("keys") = keys;
        self.fetches.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn find(&self, kid: &str) -> Option<Value> {
        self.keys
            .lock()
            .expect("keys")
            .iter()
            .find(|k| k["kid"] == kid)
            .cloned()
    }

    /// Verifies an access token signed with `alg`: signature with the JWKS key of its kid
    /// (refetching the JWKS once if the kid is unknown), `typ: at+jwt`, `iss` and `aud` equal
    /// to the issuer, `exp` in the future, `sub` present.
    pub async fn verify(&self, token: &str, alg: Algorithm) -> Result<Verified, String> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| format!("header: {e}"))?;
        let kid = header.kid.clone().ok_or("no kid in the header")?;
        let jwk = match self.find(&kid) {
            Some(k) => k,
            None => {
                self.refetch().await?;
                self.find(&kid)
                    .ok_or_else(|| format!("kid {kid} is not in the JWKS, even after a refetch"))?
            }
        };
        if header.typ.as_deref() != Some("at+jwt") {
            return Err(format!("typ is {:?}, not at+jwt", header.typ));
        }
        if jwk["alg"] != format!("{alg:?}") || jwk["use"] != "sig" {
            return Err(format!("JWK {jwk} is not a {alg:?} signing key"));
        }
        let jwk: Jwk = serde_json::from_value(jwk).map_err(|e| format!("JWK: {e}"))?;
        let key = DecodingKey::from_jwk(&jwk).map_err(|e| format!("JWK key: {e}"))?;
        let mut validation = Validation::new(alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<Value>(token, &key, &validation)
            .map_err(|e| format!("verification: {e}"))?;
        Ok(Verified {
            header: data.header,
            claims: data.claims,
        })
    }
}

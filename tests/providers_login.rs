//! End to end: tenant `corp` of the same idpd is the external OpenID provider of tenant
//! `acme`, registered with the real idpctl. acme's client signs a corp user in through corp
//! and receives acme tokens (iss = acme, verified against acme's JWKS, `idp` = corp). A
//! second login reuses the linked user; `set-default native` brings the native login back.
//! And the same through an independent OpenID provider: npm's oidc-provider (installed by
//! scripts/test-deps.sh; skipped without it).

use idp_tests::browser::{
    Browser, REDIRECT, acme_with_web_client, authorize_url, hidden, mailed_code, outbox_mails,
    pkce, query, redeem, tenant_with_web_client,
};
use idp_tests::upstream::{counts, setup_federation};
use idp_tests::{Backend, Idpd, Value, both_backends, http_client, json};
use reqwest::{Method, StatusCode};

both_backends!(
    acme_signs_in_through_corp,
    acme_signs_in_through_node_oidc_provider
);

/// One login at acme through corp, for `email`; returns acme's authorization code query.
async fn login_through_corp(
    idpd: &Idpd,
    b: &mut Browser,
    client_id: &str,
    challenge: &str,
    email: &str,
) -> std::collections::HashMap<String, String> {
    let p = b.get(&authorize_url(client_id, challenge, "")).await;
    assert_eq!(p.status, StatusCode::FOUND, "{}", p.body);
    let to_corp = p.location.unwrap();
    assert!(
        to_corp.starts_with(&format!("{}/t/corp/authorize?", idpd.public_url())),
        "{to_corp}"
    );
    let p = b.get(&to_corp).await;
    assert_eq!(p.status, StatusCode::FOUND, "{}", p.body);
    let callback = match p.location.clone().unwrap() {
        // Not signed in at corp yet: corp's own passwordless login.
        login if login.starts_with("/t/corp/login") => {
            let page = b.get(&login).await;
            let (flow, csrf) = (hidden(&page.body, "flow"), hidden(&page.body, "csrf"));
            let seen = outbox_mails(idpd, email).len();
            let p = b
                .post(
                    "/t/corp/login/email",
                    &[("flow", &flow), ("csrf", &csrf), ("email", email)],
                )
                .await;
            assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
            let code = mailed_code(idpd, email, seen).await;
            let p = b
                .post(
                    "/t/corp/login/code",
                    &[("flow", &flow), ("csrf", &csrf), ("code", &code)],
                )
                .await;
            assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
            p.location.unwrap()
        }
        // Signed in at corp (SSO): straight back.
        callback => callback,
    };
    assert!(
        callback.starts_with(&format!("{}/t/acme/callback/corp?", idpd.public_url())),
        "{callback}"
    );
    let p = b.get(&callback).await;
    assert_eq!(p.status, StatusCode::FOUND, "{}", p.body);
    let to = p.location.unwrap();
    assert!(to.starts_with(REDIRECT), "{to}");
    query(&to)
}

async fn acme_signs_in_through_corp(backend: Backend) {
    let s = setup_federation(backend).await;
    let idpd = &s.idpd;
    let api = idpd.api();
    let acme_client = acme_with_web_client(idpd).await;
    tenant_with_web_client(idpd, "corp").await;
    let callback = format!("{}/t/acme/callback/corp", idpd.public_url());
    // idpd's confidential client at corp, redirecting to acme's callback.
    let (st, c) = api
        .send(
            Method::POST,
            "/tenants/corp/clients",
            Some(json!({"name": "acme broker", "redirect_uris": [callback]})),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    let (corp_client, corp_secret) = (
        c["client"]["client_id"].as_str().unwrap().to_owned(),
        c["client_secret"].as_str().unwrap().to_owned(),
    );
    let secret_file = s.dir.path().join("corp-secret");
    std::fs::write(&secret_file, format!("{corp_secret}\n")).unwrap();

    let ctl = idpd.ctl();
    let corp_issuer = format!("{}/t/corp", idpd.public_url());
    let out = ctl
        .run([
            "-o",
            "json",
            "provider",
            "add",
            "--tenant",
            "acme",
            "--name",
            "corp",
            "--issuer",
            &corp_issuer,
            "--client-id",
            &corp_client,
            "--client-secret-file",
            secret_file.to_str().unwrap(),
            "--scope",
            "openid",
            "--scope",
            "email profile",
        ])
        .ok();
    let p = out.json();
    assert_eq!(p["redirect_uri"], callback.as_str(), "{p}");
    assert_eq!(p["discovery"], true);
    assert_eq!(p["token_endpoint"], format!("{corp_issuer}/token").as_str());
    assert!(
        !out.stdout.contains(&corp_secret),
        "the secret is never shown"
    );
    let out = ctl
        .run(["provider", "show", "--tenant", "acme", "corp"])
        .ok();
    assert!(out.stdout.contains(&callback), "{}", out.stdout);
    let out = ctl
        .run(["provider", "set-default", "--tenant", "acme", "corp"])
        .ok();
    assert!(out.stdout.contains("true"), "{}", out.stdout);
    let (_, t) = api.send(Method::GET, "/tenants/acme", None).await;
    assert_eq!(t["default_provider"], "corp", "{t}");

    // The login: acme → corp (mailed code) → acme's callback → acme's code.
    let mut b = Browser::new(idpd);
    let (verifier, challenge) = pkce();
    let q = login_through_corp(idpd, &mut b, &acme_client, &challenge, "bob@corp.example").await;
    let acme_issuer = format!("{}/t/acme", idpd.public_url());
    assert_eq!(q["iss"], acme_issuer);
    assert_eq!(q["state"], "st-1");
    let (st, tokens) = redeem(idpd, &acme_client, &q["code"], &verifier).await;
    assert_eq!(st, 200, "{tokens}");
    let claims =
        verify_acme_id_token(idpd, tokens["id_token"].as_str().unwrap(), &acme_client).await;
    assert_eq!(claims["iss"], acme_issuer.as_str());
    assert_eq!(claims["idp"], "corp");
    assert_eq!(claims["email"], "bob@corp.example");
    assert_eq!(claims["nonce"], "n-1");
    assert_eq!(claims["amr"], json!(["fed"]));
    // The access token too, verified against acme's JWKS; and it works at acme's userinfo.
    let at = tokens["access_token"].as_str().unwrap();
    let verifier = idp_tests::oauth::Verifier::new(&idp_tests::oauth::Op::new(idpd, "acme")).await;
    let at_claims = verifier
        .verify(at, jsonwebtoken::Algorithm::ES256)
        .await
        .expect("acme's access token verifies");
    assert_eq!(at_claims.claims["idp"], "corp", "{:?}", at_claims.claims);
    let (st, info) = idp_tests::browser::userinfo(idpd, at).await;
    assert_eq!(
        (st, info["email"].as_str()),
        (200, Some("bob@corp.example")),
        "{info}"
    );
    let sub = claims["sub"].as_str().unwrap().to_owned();
    let (_, user) = api
        .send(Method::GET, &format!("/tenants/acme/users/{sub}"), None)
        .await;
    assert_eq!(user["email"], "bob@corp.example", "{user}");
    assert_eq!(counts(idpd, "acme").await, (1, 1));

    // Second login in a new acme session (prompt=login at acme is not needed: a fresh
    // browser at acme, still signed in at corp via the same cookie jar minus acme's session).
    let acme_cookie = idp_tests::browser::session_cookie_name(idpd, "acme").await;
    b.cookies.remove(&acme_cookie);
    let (verifier, challenge) = pkce();
    let q = login_through_corp(idpd, &mut b, &acme_client, &challenge, "bob@corp.example").await;
    let (st, tokens) = redeem(idpd, &acme_client, &q["code"], &verifier).await;
    assert_eq!(st, 200, "{tokens}");
    let claims =
        verify_acme_id_token(idpd, tokens["id_token"].as_str().unwrap(), &acme_client).await;
    assert_eq!(claims["sub"], sub.as_str(), "the linked user is reused");
    assert_eq!(counts(idpd, "acme").await.0, 1);

    // Refresh keeps the idp claim.
    if let Some(rt) = tokens["refresh_token"].as_str() {
        let (st, t) = idp_tests::browser::token(
            idpd,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", rt),
                ("client_id", &acme_client),
            ],
        )
        .await;
        assert_eq!(st, 200, "{t}");
        if let Some(id) = t["id_token"].as_str() {
            assert_eq!(
                verify_acme_id_token(idpd, id, &acme_client).await["idp"],
                "corp"
            );
        }
    }

    // Back to native: acme's authorize shows its own login page again.
    ctl.run(["provider", "set-default", "--tenant", "acme", "native"])
        .ok();
    let mut b = Browser::new(idpd);
    let (_, challenge) = pkce();
    let p = b.get(&authorize_url(&acme_client, &challenge, "")).await;
    assert!(
        p.location
            .as_deref()
            .unwrap()
            .starts_with("/t/acme/login?flow="),
        "{:?}",
        p.location
    );
    // Exactly one default at every point.
    let out = ctl
        .run(["-o", "json", "provider", "list", "--tenant", "acme"])
        .ok();
    let list = out.json();
    let defaults: Vec<&Value> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["is_default"] == true)
        .collect();
    assert_eq!(defaults.len(), 1, "{list}");
    assert_eq!(defaults[0]["name"], "native");
}

async fn verify_acme_id_token(idpd: &Idpd, id_token: &str, client_id: &str) -> Value {
    idp_tests::oauth::install_crypto_provider();
    let jwks: jsonwebtoken::jwk::JwkSet = http_client()
        .get(format!("{}/t/acme/jwks", idpd.public_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("kid in acme's JWKS");
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.set_audience(&[client_id]);
    v.set_issuer(&[format!("{}/t/acme", idpd.public_url())]);
    jsonwebtoken::decode::<Value>(
        id_token,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
        &v,
    )
    .expect("the ID token verifies against acme's JWKS")
    .claims
}

/// oidc-provider with one confidential client and its development login pages.
const NODE_OP: &str = r#"
const [, , port, clientId, secret, redirect, modPath] = process.argv;
const { default: Provider } = await import(modPath);
const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: clientId, client_secret: secret, redirect_uris: [redirect],
    grant_types: ['authorization_code'], response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  async findAccount(ctx, id) {
    return { accountId: id, async claims() {
      return { sub: id, email: `${id}@op.example`, email_verified: true, name: 'Op User' };
    } };
  },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  features: { devInteractions: { enabled: true } },
});
provider.listen(Number(port), '127.0.0.1', () => console.log('listening'));
"#;

/// A child process killed on drop.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The value of attribute `attr` in the first tag that has `marker`.
fn attr_after(body: &str, marker: &str, attr: &str) -> Option<String> {
    let i = body.find(marker)?;
    let tag_start = body[..=i].rfind('<')?;
    let tag = &body[tag_start..tag_start + body[tag_start..].find('>')?];
    let key = format!("{attr}=\"");
    let j = tag.find(&key)? + key.len();
    Some(tag[j..j + tag[j..].find('"')?].to_owned())
}

async fn acme_signs_in_through_node_oidc_provider(backend: Backend) {
    let module = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/test-tools/oidc-provider/node_modules/oidc-provider/lib/index.js");
    if !module.exists() || which_node().is_none() {
        eprintln!("skipped: npm's oidc-provider is not installed (run scripts/test-deps.sh)");
        return;
    }
    let s = setup_federation(backend).await;
    let idpd = &s.idpd;
    let acme_client = acme_with_web_client(idpd).await;
    let callback = format!("{}/t/acme/callback/op", idpd.public_url());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let script = s.dir.path().join("op.mjs");
    std::fs::write(&script, NODE_OP).unwrap();
    let module_url = format!("file://{}", module.canonicalize().unwrap().display());
    let mut child = std::process::Command::new("node")
        .arg(&script)
        .args([
            &port.to_string(),
            "idp-acme",
            "op-secret-0123456789",
            &callback,
            &module_url,
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start node");
    let stdout = child.stdout.take().unwrap();
    let _op = Child(child);
    // Read its output to the end (a closed pipe would kill it at its next log line).
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("listening") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(std::time::Duration::from_secs(30))
        .expect("oidc-provider starts");
    let issuer = format!("http://127.0.0.1:{port}");
    let (st, p) = idpd
        .api()
        .send(
            Method::POST,
            "/tenants/acme/providers",
            Some(
                json!({"name": "op", "issuer": issuer, "client_id": "idp-acme",
                        "client_secret": "op-secret-0123456789", "default": true}),
            ),
        )
        .await;
    assert_eq!(st, 201, "{p}");
    assert_eq!(p["discovery"], true);
    let out = idpd
        .ctl()
        .run(["-o", "json", "provider", "test", "--tenant", "acme", "op"])
        .ok();
    assert_eq!(out.json()["ok"], true, "{}", out.stdout);

    // acme → oidc-provider's login and consent pages → acme's callback → the client.
    let mut b = Browser::new(idpd);
    let (verifier, challenge) = pkce();
    let p = b.get(&authorize_url(&acme_client, &challenge, "")).await;
    let mut url = p.location.expect("to the OP");
    assert!(url.starts_with(&issuer), "{url}");
    let mut final_page = None;
    for _ in 0..12 {
        if url.starts_with(&callback) {
            final_page = Some(b.get(&url).await);
            break;
        }
        let page = b.get(&url).await;
        let here = url::Url::parse(&url).unwrap();
        let next = if let Some(to) = &page.location {
            to.clone()
        } else {
            assert_eq!(page.status, StatusCode::OK, "{url}: {}", page.body);
            let action = attr_after(&page.body, "<form", "action")
                .unwrap_or_else(|| panic!("no form at {url}: {}", page.body));
            let prompt = attr_after(&page.body, "name=\"prompt\"", "value").unwrap_or_default();
            let mut form = vec![("prompt", prompt.as_str())];
            if prompt == "login" {
                form.extend([("login", "carol"), ("password", "x")]);
            }
            let res = b
                .http
                .post(here.join(&action).unwrap())
                .header("cookie", b.cookie_header())
                .header("content-type", "application/x-www-form-urlencoded")
                .body(idp_tests::oauth::form(&form))
                .send()
                .await
                .unwrap();
            let page = b.take(res).await;
            page.location.expect("the form answers with a redirect")
        };
        url = here.join(&next).unwrap().to_string();
    }
    let page = final_page.expect("back at acme's callback");
    assert_eq!(page.status, StatusCode::FOUND, "{}", page.body);
    let q = query(page.location.as_deref().unwrap());
    let (st, tokens) = redeem(idpd, &acme_client, &q["code"], &verifier).await;
    assert_eq!(st, 200, "{tokens}");
    let claims =
        verify_acme_id_token(idpd, tokens["id_token"].as_str().unwrap(), &acme_client).await;
    assert_eq!(claims["idp"], "op");
    assert_eq!(
        claims["email"], "carol@op.example",
        "from oidc-provider's userinfo"
    );
}

fn which_node() -> Option<()> {
    std::process::Command::new("node")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(drop)
}

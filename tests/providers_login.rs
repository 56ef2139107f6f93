//! End to end: tenant `corp` of the same idpd is the external OpenID provider of tenant
//! `acme`, registered with the real idpctl. acme's client signs a corp user in through corp
//! and receives acme tokens (iss = acme, verified against acme's JWKS, `idp` = corp). A
//! second login reuses the linked user; `set-default native` brings the native login back.

use idp_tests::browser::{
    Browser, REDIRECT, acme_with_web_client, authorize_url, hidden, mailed_code, outbox_mails,
    pkce, query, redeem, tenant_with_web_client,
};
use idp_tests::upstream::{counts, setup_federation};
use idp_tests::{Backend, Idpd, Value, both_backends, http_client, json};
use reqwest::{Method, StatusCode};

both_backends!(acme_signs_in_through_corp);

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

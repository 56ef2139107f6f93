//! Brokered login against a hostile or broken upstream (fake, in-process): SEC-11 (inbound
//! ID tokens), SEC-15 (outbound fetches) and SEC-26 (relying-party binding), plus the
//! failure pages. After every failure nothing is half-created: no user, no session.

use std::time::{Duration, Instant};

use idp_tests::browser::{Browser, REDIRECT, acme_with_web_client, pkce, query, redeem};
use idp_tests::upstream::{
    FakeUpstream, Spoil, add_provider, counts, login_via_upstream, setup_federation,
};
use idp_tests::{Backend, Value, both_backends, json, setup};
use reqwest::{Method, StatusCode};

both_backends!(
    hostile_id_tokens_are_refused,
    state_is_bound_to_provider_browser_and_single_use,
    unknown_kid_refetches_the_jwks_once,
    userinfo_sub_mismatch_and_email_linking,
    slow_upstream_times_out,
    registration_refuses_bad_upstreams,
    registration_urls_are_vetted_without_the_switch,
    upstream_accounts_cannot_pre_empt_an_address
);

async fn fed(backend: Backend) -> (idp_tests::Setup, FakeUpstream, String) {
    let s = setup_federation(backend).await;
    let client_id = acme_with_web_client(&s.idpd).await;
    let up = FakeUpstream::start("idp-acme", "upstream-secret").await;
    let (st, p) = add_provider(&s.idpd, "acme", "fake", &up, json!({"default": true})).await;
    assert_eq!(st, 201, "{p}");
    (s, up, client_id)
}

/// Whether the audit log holds an upstream login of tenant acme through provider `fake`
/// with `reason` (`login`: a success); it is written in the background, so an event may
/// arrive just after the response.
async fn audit(idpd: &idp_tests::Idpd, reason: &str) -> bool {
    audit_of(idpd, "fake", reason).await
}

async fn audit_of(idpd: &idp_tests::Idpd, provider: &str, reason: &str) -> bool {
    for _ in 0..100 {
        let (st, list) = idpd
            .api()
            .send(
                reqwest::Method::GET,
                "/audit?tenant=acme&action=login.upstream",
                None,
            )
            .await;
        assert_eq!(st, 200, "{list}");
        let found = list["items"].as_array().is_some_and(|items| {
            items.iter().any(|e| {
                e["target"] == provider
                    && if reason == "login" {
                        e["outcome"] == "success"
                    } else {
                        e["outcome"] == "failure" && e["reason"] == reason
                    }
            })
        });
        if found {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

async fn hostile_id_tokens_are_refused(backend: Backend) {
    let (s, up, client_id) = fed(backend).await;
    let idpd = &s.idpd;
    for spoil in [
        Spoil::WrongAud,
        Spoil::WrongIss,
        Spoil::WrongNonce,
        Spoil::MissingNonce,
        Spoil::BadSignature,
        Spoil::AlgNone,
        Spoil::Hs256,
        Spoil::Expired,
    ] {
        up.set(|b| b.spoil = spoil);
        let mut b = Browser::new(idpd);
        let (_, challenge) = pkce();
        let (_, page) = login_via_upstream(&mut b, "acme", &client_id, &challenge).await;
        assert_eq!(
            page.status,
            StatusCode::BAD_GATEWAY,
            "{spoil:?}: {}",
            page.body
        );
        assert!(page.body.contains("failed"), "{spoil:?}: {}", page.body);
        assert_eq!(counts(idpd, "acme").await, (0, 0), "{spoil:?}");
    }
    assert!(audit(idpd, "id_token_invalid").await);

    // The same upstream, unspoiled: the login works, our PKCE S256 and nonce went upstream.
    up.set(|b| b.spoil = Spoil::None);
    let mut b = Browser::new(idpd);
    let (verifier, challenge) = pkce();
    let (_, page) = login_via_upstream(&mut b, "acme", &client_id, &challenge).await;
    assert_eq!(page.status, StatusCode::FOUND, "{}", page.body);
    let seen = up.seen();
    assert_eq!(seen.authorize["code_challenge_method"], "S256");
    assert!(seen.authorize["nonce"].len() >= 32 && seen.authorize["state"].len() >= 32);
    assert_ne!(
        seen.authorize["code_challenge"], challenge,
        "our own PKCE, not the client's"
    );
    let q = query(page.location.as_deref().unwrap());
    let (st, t) = redeem(idpd, &client_id, &q["code"], &verifier).await;
    assert_eq!(st, 200, "{t}");
    assert_eq!(counts(idpd, "acme").await, (1, 1));
    assert!(audit(idpd, "login").await);
}

async fn state_is_bound_to_provider_browser_and_single_use(backend: Backend) {
    let (s, up, client_id) = fed(backend).await;
    let idpd = &s.idpd;
    // A second upstream B of the same tenant.
    let up_b = FakeUpstream::start("idp-acme-b", "secret-b").await;
    let (st, p) = add_provider(idpd, "acme", "other", &up_b, json!({})).await;
    assert_eq!(st, 201, "{p}");

    // access_denied at the upstream: a localized page, nothing created.
    up.set(|b| b.authorize_error = Some("access_denied".into()));
    let mut b = Browser::new(idpd);
    let (_, challenge) = pkce();
    let (_, page) = login_via_upstream(&mut b, "acme", &client_id, &challenge).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert!(page.body.contains("cancelled"), "{}", page.body);
    assert!(audit(idpd, "access_denied").await);
    up.set(|b| b.authorize_error = None);

    // Upstream A's response delivered to upstream B's callback (SEC-26 mix-up).
    let mut b = Browser::new(idpd);
    let (_, challenge) = pkce();
    let p = b
        .get(&idp_tests::browser::authorize_url(
            &client_id, &challenge, "",
        ))
        .await;
    let p = b.get(p.location.as_deref().unwrap()).await;
    let callback = p.location.unwrap();
    assert!(callback.contains("/t/acme/callback/fake?"), "{callback}");
    let wrong = callback.replace("/callback/fake?", "/callback/other?");
    let page = b.get(&wrong).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    // The audit line names the provider whose callback was hit.
    assert!(audit_of(idpd, "other", "state_of_another_provider").await);
    // The same response in another browser (no flow cookie): refused.
    let mut other = Browser::new(idpd);
    let page = other.get(&callback).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    // A made-up state: refused.
    let forged = callback.replace("state=", "state=x");
    assert_eq!(b.get(&forged).await.status, StatusCode::BAD_REQUEST);
    // A wrong RFC 9207 iss: refused.
    let page = b.get(&format!("{callback}&iss=https://evil.example")).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    // The iss check consumed that transaction: the genuine callback is now spent too.
    let page = b.get(&callback).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert_eq!(counts(idpd, "acme").await, (0, 0));

    // A clean run works once, and its callback cannot be replayed.
    let mut b = Browser::new(idpd);
    let (_, challenge) = pkce();
    let (callback, page) = login_via_upstream(&mut b, "acme", &client_id, &challenge).await;
    assert_eq!(page.status, StatusCode::FOUND, "{}", page.body);
    assert!(page.location.unwrap().starts_with(REDIRECT));
    let replay = b.get(&callback).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST, "{}", replay.body);
    assert_eq!(counts(idpd, "acme").await, (1, 1));
    assert_eq!(
        up.seen().token_requests,
        1,
        "refused callbacks never reach the token endpoint"
    );

    // Localized: a Norwegian request gets the Norwegian page.
    up.set(|b| b.authorize_error = Some("access_denied".into()));
    let mut b = Browser::new(idpd);
    let (_, challenge) = pkce();
    let p = b
        .get(&idp_tests::browser::authorize_url(
            &client_id,
            &challenge,
            "&ui_locales=nb&prompt=login&max_age=60",
        ))
        .await;
    let p = b.get(p.location.as_deref().unwrap()).await;
    let asked = up.seen().authorize;
    assert_eq!(
        (
            asked["prompt"].as_str(),
            asked["max_age"].as_str(),
            asked["ui_locales"].as_str()
        ),
        ("login", "60", "nb"),
        "the client's demands are passed on"
    );
    let page = b.get(p.location.as_deref().unwrap()).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert!(page.body.contains("avbrutt"), "{}", page.body);
}

async fn unknown_kid_refetches_the_jwks_once(backend: Backend) {
    let (s, up, client_id) = fed(backend).await;
    let idpd = &s.idpd;
    // The upstream rotates: tokens are signed with k2, published from the next fetch on.
    let before = up.seen().jwks_fetches;
    up.set(|b| {
        b.kid = "k2";
        b.k2_from_fetch = Some(before + 2);
    });
    let mut b = Browser::new(idpd);
    let (_, challenge) = pkce();
    let (_, page) = login_via_upstream(&mut b, "acme", &client_id, &challenge).await;
    assert_eq!(page.status, StatusCode::FOUND, "{}", page.body);
    assert_eq!(up.seen().jwks_fetches, before + 2, "one fetch, one refetch");
    // A kid nobody publishes: one refetch at most in a short while, then refused.
    up.set(|b| {
        b.kid = "k3";
        b.k2_from_fetch = None;
    });
    let fetches = up.seen().jwks_fetches;
    for _ in 0..2 {
        let mut b = Browser::new(idpd);
        let (_, challenge) = pkce();
        let (_, page) = login_via_upstream(&mut b, "acme", &client_id, &challenge).await;
        assert_eq!(page.status, StatusCode::BAD_GATEWAY, "{}", page.body);
    }
    assert!(up.seen().jwks_fetches <= fetches + 1);
}

async fn userinfo_sub_mismatch_and_email_linking(backend: Backend) {
    let (s, up, client_id) = fed(backend).await;
    let idpd = &s.idpd;
    let api = idpd.api();
    let login = |idpd| fresh_login(idpd, &client_id);
    // userinfo answers for someone else.
    up.set(|b| b.userinfo_sub = Some("someone-else".into()));
    let page = login(idpd).await;
    assert_eq!(page.status, StatusCode::BAD_GATEWAY, "{}", page.body);
    assert!(audit(idpd, "userinfo_invalid").await);
    up.set(|b| b.userinfo_sub = None);
    // No address from the upstream at all: no account can be made for it.
    up.set(|b| b.email = None);
    assert_eq!(login(idpd).await.status, StatusCode::FORBIDDEN);
    up.set(|b| b.email = Some("fed@corp.example".into()));
    assert_eq!(counts(idpd, "acme").await, (0, 0));

    // A local user owns the address, unverified: never linked, even though the upstream
    // asserts email_verified and linking is on (SEC-26).
    let (st, u) = api
        .send(
            Method::POST,
            "/tenants/acme/users",
            Some(json!({"email": "fed@corp.example", "email_verified": false})),
        )
        .await;
    assert_eq!(st, 201, "{u}");
    let (st, _) = api
        .send(
            Method::PATCH,
            "/tenants/acme/providers/fake",
            Some(json!({"link_by_email": true})),
        )
        .await;
    assert_eq!(st, 200);
    let page = login(idpd).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert!(audit(idpd, "account_refused").await);
    // Verified locally, but the upstream does not assert email_verified: refused.
    let (st, _) = api
        .send(
            Method::PATCH,
            "/tenants/acme/users/fed@corp.example",
            Some(json!({"email_verified": true})),
        )
        .await;
    assert_eq!(st, 200);
    up.set(|b| b.email_verified = false);
    assert_eq!(login(idpd).await.status, StatusCode::FORBIDDEN);
    // A verified address from userinfo does not vouch for the ID token's address.
    up.set(|b| b.userinfo_email = Some(("fed@corp.example".into(), true)));
    assert_eq!(login(idpd).await.status, StatusCode::FORBIDDEN);
    // Linking off: refused even when everything is verified.
    up.set(|b| b.email_verified = true);
    api.send(
        Method::PATCH,
        "/tenants/acme/providers/fake",
        Some(json!({"link_by_email": false})),
    )
    .await;
    assert_eq!(login(idpd).await.status, StatusCode::FORBIDDEN);
    assert_eq!(counts(idpd, "acme").await, (1, 0));
    // Linking on, both sides verified: the existing user is linked, no new one.
    api.send(
        Method::PATCH,
        "/tenants/acme/providers/fake",
        Some(json!({"link_by_email": true})),
    )
    .await;
    let page = login(idpd).await;
    assert_eq!(page.status, StatusCode::FOUND, "{}", page.body);
    assert_eq!(counts(idpd, "acme").await, (1, 1));
    // From now on the link (provider, sub) decides, whatever the address says.
    up.set(|b| b.email = Some("renamed@corp.example".into()));
    assert_eq!(login(idpd).await.status, StatusCode::FOUND);
    assert_eq!(counts(idpd, "acme").await, (1, 2));
    // A disabled local user cannot sign in through the upstream (SEC-25).
    let (st, _) = api
        .send(
            Method::POST,
            "/tenants/acme/users/fed@corp.example/disable",
            None,
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(login(idpd).await.status, StatusCode::FORBIDDEN);
}

async fn fresh_login(idpd: &idp_tests::Idpd, client_id: &str) -> idp_tests::browser::Page {
    let mut b = Browser::new(idpd);
    let (_, challenge) = pkce();
    login_via_upstream(&mut b, "acme", client_id, &challenge)
        .await
        .1
}

async fn slow_upstream_times_out(backend: Backend) {
    let (s, up, client_id) = fed(backend).await;
    up.set(|b| b.token_delay = Some(Duration::from_secs(8)));
    let mut b = Browser::new(&s.idpd);
    let (_, challenge) = pkce();
    let started = Instant::now();
    let (_, page) = login_via_upstream(&mut b, "acme", &client_id, &challenge).await;
    assert_eq!(page.status, StatusCode::BAD_GATEWAY, "{}", page.body);
    assert!(
        started.elapsed() < Duration::from_secs(7),
        "{:?}",
        started.elapsed()
    );
    assert!(audit(&s.idpd, "upstream_unreachable").await);
    assert_eq!(counts(&s.idpd, "acme").await, (0, 0));
}

async fn registration_refuses_bad_upstreams(backend: Backend) {
    let s = setup_federation(backend).await;
    let idpd = &s.idpd;
    acme_with_web_client(idpd).await;
    let up = FakeUpstream::start("c", "s").await;
    let add = |extra: Value| add_provider(idpd, "acme", "corp", &up, extra);
    // Discovery names another issuer (OIDC Discovery §4.3).
    up.set(|b| b.discovery_issuer = Some("https://other.example".into()));
    let (st, e) = add(json!({})).await;
    assert_eq!(
        (st, e["error"].as_str()),
        (422, Some("discovery_failed")),
        "{e}"
    );
    assert!(e["message"].as_str().unwrap().contains("issuer"), "{e}");
    up.set(|b| b.discovery_issuer = None);
    // Discovery redirecting elsewhere is not followed.
    up.set(|b| b.discovery_redirect = Some("http://127.0.0.1:9/x".into()));
    let (st, e) = add(json!({})).await;
    assert_eq!(
        (st, e["error"].as_str()),
        (422, Some("discovery_failed")),
        "{e}"
    );
    assert!(e["message"].as_str().unwrap().contains("302"), "{e}");
    up.set(|b| b.discovery_redirect = None);
    // Discovery naming an internal JWKS: refused before any fetch (SEC-15).
    up.set(|b| b.jwks_uri = Some("https://10.0.0.1/jwks".into()));
    let (st, e) = add(json!({})).await;
    assert_eq!(
        (st, e["error"].as_str()),
        (422, Some("discovery_failed")),
        "{e}"
    );
    assert!(e["message"].as_str().unwrap().contains("private"), "{e}");
    up.set(|b| b.jwks_uri = None);
    // A JWKS past the size cap.
    up.set(|b| b.huge_jwks = true);
    let (st, e) = add(json!({})).await;
    assert_eq!(st, 422, "{e}");
    assert!(e["message"].as_str().unwrap().contains("larger"), "{e}");
    up.set(|b| b.huge_jwks = false);
    // Nobody listening.
    let (st, e) = idpd
        .api()
        .send(
            Method::POST,
            "/tenants/acme/providers",
            Some(json!({"name": "gone", "issuer": "http://127.0.0.1:9", "client_id": "c", "client_secret": "s"})),
        )
        .await;
    assert_eq!(
        (st, e["error"].as_str()),
        (422, Some("upstream_unreachable")),
        "{e}"
    );
    // Missing fields are named.
    let (st, e) = idpd
        .api()
        .send(
            Method::POST,
            "/tenants/acme/providers",
            Some(
                json!({"name": "x", "issuer": up.base, "client_id": " ", "client_secret": "s",
                        "authorization_endpoint": format!("{}/authorize", up.base)}),
            ),
        )
        .await;
    assert_eq!(st, 422, "{e}");
    let m = e["message"].as_str().unwrap();
    assert!(
        m.contains("client_id") && m.contains("token_endpoint") && m.contains("jwks_uri"),
        "{m}"
    );
    // Nothing was registered by any of it; then the good one is.
    let (_, list) = idpd
        .api()
        .send(Method::GET, "/tenants/acme/providers", None)
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    let (st, p) = add(json!({})).await;
    assert_eq!(st, 201, "{p}");
    assert!(p.get("client_secret").is_none(), "{p}");
    assert!(!p.to_string().contains("\"s\""), "{p}");
}

async fn registration_urls_are_vetted_without_the_switch(backend: Backend) {
    let s = setup(backend).await;
    let api = s.idpd.api();
    let (st, _) = api
        .create_tenant(json!({"name": "acme", "slug": "acme"}))
        .await;
    assert_eq!(st, 201);
    for (field, url) in [
        ("issuer", "http://127.0.0.1:5432"),
        ("issuer", "https://169.254.169.254/"),
        ("issuer", "https://10.0.0.1/"),
        ("issuer", "https://[::ffff:127.0.0.1]/"),
        ("issuer", "file:///etc/passwd"),
        ("issuer", "https://user:pw@idp.example/"),
        ("issuer", "https://localhost/"),
        ("jwks_uri", "https://192.168.0.1/jwks"),
    ] {
        let mut body = json!({"name": "corp", "issuer": "https://login.corp.example",
            "client_id": "c", "client_secret": "s"});
        body[field] = url.into();
        if field != "issuer" {
            body["authorization_endpoint"] = "https://login.corp.example/a".into();
            body["token_endpoint"] = "https://login.corp.example/t".into();
        }
        let (st, e) = api
            .send(Method::POST, "/tenants/acme/providers", Some(body))
            .await;
        assert_eq!(st, 422, "{url}: {e}");
        assert_eq!(e["error"], "validation_failed", "{url}: {e}");
        assert!(
            e["message"].as_str().unwrap().starts_with(field),
            "{url}: {e}"
        );
    }
}

/// Issue 16 §3 (SEC-26), pre-account takeover: an upstream that does not vouch for an address
/// (or names one outside the provider's domains) creates no account for it, and an
/// unverified account linked to an upstream is never merged into the mailbox owner's native
/// login.
async fn upstream_accounts_cannot_pre_empt_an_address(backend: Backend) {
    let (s, up, client_id) = fed(backend).await;
    let idpd = &s.idpd;
    let api = idpd.api();
    // email_verified: false: no account.
    up.set(|b| {
        b.email = Some("victim@corp.example".into());
        b.email_verified = false;
    });
    let page = fresh_login(idpd, &client_id).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert_eq!(counts(idpd, "acme").await, (0, 0));
    // Verified, but outside the provider's domains: no account either.
    let (st, _) = api
        .send(
            Method::PATCH,
            "/tenants/acme/providers/fake",
            Some(json!({"email_domains": ["corp.example"]})),
        )
        .await;
    assert_eq!(st, 200);
    up.set(|b| {
        b.email = Some("victim@elsewhere.example".into());
        b.email_verified = true;
    });
    let page = fresh_login(idpd, &client_id).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert_eq!(counts(idpd, "acme").await, (0, 0));
    // Inside them and verified: the account is made, its address verified.
    up.set(|b| b.email = Some("fed@corp.example".into()));
    let page = fresh_login(idpd, &client_id).await;
    assert_eq!(page.status, StatusCode::FOUND, "{}", page.body);
    assert_eq!(counts(idpd, "acme").await, (1, 1));

    // An account linked upstream whose address is (now) unverified: the native e-mail code
    // of that address does not sign in to it.
    let (st, u) = api
        .send(
            Method::PATCH,
            "/tenants/acme/users/fed@corp.example",
            Some(json!({"email_verified": false})),
        )
        .await;
    assert_eq!(st, 200, "{u}");
    let (st, _) = api
        .send(Method::POST, "/tenants/acme/providers/native/default", None)
        .await;
    assert!(st == 200 || st == 204, "{st}");
    // (No domain routing: the address is asked for on the native page.)
    let (st, _) = api
        .send(
            Method::PATCH,
            "/tenants/acme/providers/fake",
            Some(json!({"email_domains": []})),
        )
        .await;
    assert_eq!(st, 200);
    let (verifier, challenge) = pkce();
    let mut b = Browser::new(idpd);
    let seen = idp_tests::browser::outbox_mails(idpd, "fed@corp.example").len();
    let (flow, csrf) = idp_tests::browser::start_login(&mut b, &client_id, &challenge).await;
    let p = idp_tests::browser::submit_email(&mut b, &flow, &csrf, "fed@corp.example").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let code = idp_tests::browser::mailed_code(idpd, "fed@corp.example", seen).await;
    let p = idp_tests::browser::submit_code(&mut b, &flow, &csrf, &code).await;
    assert!(
        p.location.as_deref().is_none_or(|l| !l.contains("code=")),
        "signed in to the upstream's account: {:?}",
        p.location
    );
    let _ = verifier;
    let (_, user) = api
        .send(Method::GET, "/tenants/acme/users/fed@corp.example", None)
        .await;
    assert_eq!(user["email_verified"], false, "{user}");
}

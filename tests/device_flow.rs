//! The device authorization grant (RFC 8628) over HTTP: a daemon polls while a browser signs
//! in with a mailed code and approves on the device page; deny, expiry, slow_down, parallel
//! polls, user-code guessing, CSRF and foreign Origin on the device page (SEC-07/08/17/22/25).

use std::time::Duration;

use idp_tests::browser::Browser;
use idp_tests::devices::{
    GRANT_DEVICE, daemon_client, decide, device_authorization, issuer, jwt_claims, local_path,
    poll, poll_until_decided, sign_in_via_device_page,
};
use idp_tests::oauth::Op;
use idp_tests::{Backend, both_backends, json, setup_with};
use reqwest::{Method, StatusCode};

both_backends!(
    device_flow_end_to_end,
    deny_and_expiry,
    slow_down_and_parallel_polls,
    user_code_guesses_are_limited,
    device_page_refuses_forged_posts,
    device_grant_policy,
    default_scopes_follow_the_grants,
);

const FAST: &[&str] = &["--device-poll-interval", "1"];

fn user_code_ok(code: &str) -> bool {
    let (a, b) = code.split_once('-').unwrap_or(("", ""));
    a.len() == 4
        && b.len() == 4
        && a.chars()
            .chain(b.chars())
            .all(|c| "BCDFGHJKLMNPQRSTVWXZ".contains(c))
}

async fn device_flow_end_to_end(backend: Backend) {
    let s = setup_with(backend, FAST).await;
    let idpd = &s.idpd;
    let client_id = daemon_client(idpd, "acme").await;
    let op = Op::new(idpd, "acme");

    let d = op.get("/.well-known/openid-configuration").await.json();
    assert_eq!(
        d["device_authorization_endpoint"],
        format!("{}/device_authorization", issuer("acme"))
    );
    let grants = d["grant_types_supported"].as_array().unwrap();
    assert!(grants.contains(&json!(GRANT_DEVICE)), "{d}");

    let (st, da) =
        device_authorization(idpd, "acme", &client_id, "openid email offline_access").await;
    assert_eq!(st, 200, "{da}");
    let user_code = da["user_code"].as_str().unwrap();
    assert!(user_code_ok(user_code), "{user_code}");
    assert_eq!(da["verification_uri"], format!("{}/device", issuer("acme")));
    assert_eq!(
        da["verification_uri_complete"],
        format!("{}/device?user_code={user_code}", issuer("acme"))
    );
    assert_eq!(da["expires_in"], 600);
    assert_eq!(da["interval"], 1);
    let device_code = da["device_code"].as_str().unwrap();
    assert!(device_code.len() >= 43, "256 bits: {device_code}");

    let (st, p) = poll(idpd, &client_id, device_code).await;
    assert_eq!(
        (st, p["error"].as_str()),
        (400, Some("authorization_pending"))
    );

    // The user approves in a browser: sign in through the device page, then approve.
    let mut b = Browser::new(idpd);
    let page = decide(
        &mut b,
        idpd,
        da["verification_uri_complete"].as_str().unwrap(),
        "alice@example.com",
        true,
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Return to your device"), "{}", page.body);
    // The decision is in the audit log, by the user, naming the client.
    let (st, audit) = idpd
        .api()
        .send(
            reqwest::Method::GET,
            "/audit?tenant=acme&action=device.approve",
            None,
        )
        .await;
    assert_eq!(st, 200, "{audit}");
    let events = audit["items"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{audit}");
    assert_eq!(events[0]["target"], client_id.as_str());
    assert!(events[0]["actor"].as_str().unwrap().starts_with("user:"));

    // This device polled before the approval: the next poll waits its interval.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (st, t) = poll_until_decided(idpd, &client_id, device_code, 1).await;
    assert_eq!(st, 200, "{t}");
    assert!(
        t["refresh_token"].is_string() && t["id_token"].is_string(),
        "{t}"
    );
    let at = t["access_token"].as_str().unwrap();
    let (st, info) = idp_tests::browser::userinfo(idpd, at).await;
    assert_eq!(st, 200, "{info}");
    assert_eq!(info["email"], "alice@example.com");
    assert_eq!(jwt_claims(at)["client_id"], client_id);

    // Exactly once: the next poll finds the code used.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (st, p) = poll(idpd, &client_id, device_code).await;
    assert_eq!(
        (st, p["error"].as_str()),
        (400, Some("invalid_grant")),
        "{p}"
    );

    // The refresh token of the daemon works (rotated).
    let (st, r) = idp_tests::browser::token(
        idpd,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!(st, 200, "{r}");
}

async fn deny_and_expiry(backend: Backend) {
    let s = setup_with(
        backend,
        &["--device-poll-interval", "1", "--device-code-ttl", "2"],
    )
    .await;
    let idpd = &s.idpd;
    let client_id = daemon_client(idpd, "acme").await;

    let (_, denied) = device_authorization(idpd, "acme", &client_id, "openid").await;
    let mut b = Browser::new(idpd);
    let page = decide(
        &mut b,
        idpd,
        denied["verification_uri_complete"].as_str().unwrap(),
        "bob@example.com",
        false,
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("denied"), "{}", page.body);
    let (st, p) = poll(idpd, &client_id, denied["device_code"].as_str().unwrap()).await;
    assert_eq!(
        (st, p["error"].as_str()),
        (400, Some("access_denied")),
        "{p}"
    );

    let (_, late) = device_authorization(idpd, "acme", &client_id, "openid").await;
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let (st, p) = poll(idpd, &client_id, late["device_code"].as_str().unwrap()).await;
    assert_eq!(
        (st, p["error"].as_str()),
        (400, Some("expired_token")),
        "{p}"
    );
    // The expired code cannot be approved either.
    let page = b
        .get(&local_path(
            late["verification_uri_complete"].as_str().unwrap(),
        ))
        .await;
    let csrf = idp_tests::browser::hidden(&page.body, "csrf");
    let code = late["user_code"].as_str().unwrap();
    let p = b
        .post(
            "/t/acme/device",
            &[("csrf", &csrf), ("user_code", code), ("action", "approve")],
        )
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST, "{}", p.body);
    // An unknown device code is invalid_grant.
    let (st, p) = poll(idpd, &client_id, "idp_dc_unknown").await;
    assert_eq!((st, p["error"].as_str()), (400, Some("invalid_grant")));
}

async fn slow_down_and_parallel_polls(backend: Backend) {
    let s = setup_with(backend, FAST).await;
    let idpd = &s.idpd;
    let client_id = daemon_client(idpd, "acme").await;

    let (_, da) = device_authorization(idpd, "acme", &client_id, "openid").await;
    let dc = da["device_code"].as_str().unwrap();
    let (_, p) = poll(idpd, &client_id, dc).await;
    assert_eq!(p["error"], "authorization_pending");
    // Too fast: slow_down, and the interval grows by 5 s each time (1 -> 6 -> 11).
    let (st, p) = poll(idpd, &client_id, dc).await;
    assert_eq!((st, p["error"].as_str()), (400, Some("slow_down")), "{p}");
    assert!(
        p["error_description"].as_str().unwrap().contains(" 6 "),
        "{p}"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (_, p) = poll(idpd, &client_id, dc).await;
    assert_eq!(p["error"], "slow_down", "1 s is too early now: {p}");
    assert!(
        p["error_description"].as_str().unwrap().contains(" 11 "),
        "{p}"
    );

    // Parallel polls after approval: exactly one gets the tokens.
    let (_, da) = device_authorization(idpd, "acme", &client_id, "openid").await;
    let mut b = Browser::new(idpd);
    let page = decide(
        &mut b,
        idpd,
        da["verification_uri_complete"].as_str().unwrap(),
        "carol@example.com",
        true,
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    let dc = da["device_code"].as_str().unwrap().to_owned();
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (url, client_id, dc) = (idpd.public_url(), client_id.clone(), dc.clone());
        tasks.push(tokio::spawn(async move {
            let res = idp_tests::http_client()
                .post(format!("{url}/t/acme/token"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(idp_tests::oauth::form(&[
                    ("grant_type", GRANT_DEVICE),
                    ("device_code", &dc),
                    ("client_id", &client_id),
                ]))
                .send()
                .await
                .unwrap();
            let st = res.status().as_u16();
            let v: serde_json::Value = res.json().await.unwrap();
            (st, v)
        }));
    }
    let mut ok = 0;
    for t in tasks {
        let (st, v) = t.await.unwrap();
        if st == 200 {
            ok += 1;
        } else {
            assert_eq!(st, 400, "{v}");
            let e = v["error"].as_str().unwrap();
            assert!(e == "slow_down" || e == "invalid_grant", "{v}");
        }
    }
    assert_eq!(ok, 1, "exactly one poll gets the tokens");
}

async fn user_code_guesses_are_limited(backend: Backend) {
    let s = setup_with(backend, FAST).await;
    let idpd = &s.idpd;
    let client_id = daemon_client(idpd, "acme").await;
    let (_, da) = device_authorization(idpd, "acme", &client_id, "openid").await;
    let mut b = Browser::new(idpd);
    let page = sign_in_via_device_page(&mut b, idpd, "/t/acme/device", "dave@example.com").await;
    let csrf = idp_tests::browser::hidden(&page.body, "csrf");

    // Unknown, malformed and used-up codes all get the same answer (SEC-17).
    let mut bodies = Vec::new();
    for guess in ["BCDF-GHJK", "bcdfghjl", "XXXX", "BCDF-GHJM"] {
        let p = b
            .post("/t/acme/device", &[("csrf", &csrf), ("user_code", guess)])
            .await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{}", p.body);
        bodies.push(p.body.replace(guess, ""));
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
    for i in 0..6 {
        let p = b
            .post(
                "/t/acme/device",
                &[("csrf", &csrf), ("user_code", "BCDF-GHJK")],
            )
            .await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "guess {i}");
    }
    // The 11th guess of this session is refused, even with the right code.
    let p = b
        .post(
            "/t/acme/device",
            &[
                ("csrf", &csrf),
                ("user_code", da["user_code"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::TOO_MANY_REQUESTS, "{}", p.body);
    assert!(p.header("retry-after").is_some());
}

async fn device_page_refuses_forged_posts(backend: Backend) {
    let s = setup_with(backend, FAST).await;
    let idpd = &s.idpd;
    let client_id = daemon_client(idpd, "acme").await;
    let (_, da) = device_authorization(idpd, "acme", &client_id, "openid").await;
    let code = da["user_code"].as_str().unwrap();

    let mut victim = Browser::new(idpd);
    let page =
        sign_in_via_device_page(&mut victim, idpd, "/t/acme/device", "erin@example.com").await;
    // SEC-08/09 headers on the device page.
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert!(
        page.header("content-security-policy")
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(page.header("referrer-policy"), Some("same-origin"));
    let csrf = idp_tests::browser::hidden(&page.body, "csrf");

    let mut attacker = Browser::new(idpd);
    let other =
        sign_in_via_device_page(&mut attacker, idpd, "/t/acme/device", "mallory@example.com").await;
    let foreign_csrf = idp_tests::browser::hidden(&other.body, "csrf");
    assert_ne!(csrf, foreign_csrf);

    let approve = |csrf: &str| {
        vec![
            ("csrf".to_owned(), csrf.to_owned()),
            ("user_code".to_owned(), code.to_owned()),
            ("action".to_owned(), "approve".to_owned()),
        ]
    };
    for form in [approve(""), approve(&foreign_csrf), approve("0123")] {
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let p = victim.post("/t/acme/device", &pairs).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "{}", p.body);
    }
    // The right token, but sent by another site's page: a foreign `Origin`, or `Origin: null`
    // without the browser's `Sec-Fetch-Site: same-origin`.
    let right = [
        ("csrf", csrf.as_str()),
        ("user_code", code),
        ("action", "approve"),
    ];
    for (origin, site) in idp_tests::browser::FORGED_POST_HEADERS {
        let p = victim
            .post_from("/t/acme/device", &right, origin, site)
            .await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "{origin:?} {site:?}");
    }
    // No cookies at all: no decision either.
    let res = idp_tests::http_client()
        .post(format!("{}/t/acme/device", idpd.public_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(idp_tests::oauth::form(&[
            ("csrf", &csrf),
            ("user_code", code),
            ("action", "approve"),
        ]))
        .send()
        .await
        .unwrap();
    assert_ne!(res.status(), StatusCode::OK);

    let (_, p) = poll(idpd, &client_id, da["device_code"].as_str().unwrap()).await;
    assert_eq!(
        p["error"], "authorization_pending",
        "nothing was approved: {p}"
    );
}

/// SEC-22/25: the same policy as the other grants.
async fn device_grant_policy(backend: Backend) {
    let s = setup_with(backend, FAST).await;
    let idpd = &s.idpd;
    let api = idpd.api();
    let client_id = daemon_client(idpd, "acme").await;
    let (_, da) = device_authorization(idpd, "acme", &client_id, "openid").await;

    // A client without the grant type.
    let web = idp_tests::browser::tenant_with_web_client(idpd, "web").await;
    let (st, v) = device_authorization(idpd, "web", &web, "openid").await;
    assert_eq!(
        (st, v["error"].as_str()),
        (400, Some("unauthorized_client")),
        "{v}"
    );
    // A scope the client may not have.
    let (st, v) = device_authorization(idpd, "acme", &client_id, "profile").await;
    assert_eq!(
        (st, v["error"].as_str()),
        (400, Some("invalid_scope")),
        "{v}"
    );

    // Disable the client: authorization, the device page and polling refuse.
    let (st, _) = api
        .send(
            Method::PATCH,
            &format!("/tenants/acme/clients/{client_id}"),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(st, 200);
    let (st, v) = device_authorization(idpd, "acme", &client_id, "openid").await;
    assert_eq!(
        (st, v["error"].as_str()),
        (401, Some("invalid_client")),
        "{v}"
    );
    let mut b = Browser::new(idpd);
    let page = sign_in_via_device_page(&mut b, idpd, "/t/acme/device", "frank@example.com").await;
    let csrf = idp_tests::browser::hidden(&page.body, "csrf");
    let p = b
        .post(
            "/t/acme/device",
            &[
                ("csrf", &csrf),
                ("user_code", da["user_code"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST, "{}", p.body);
    let (st, v) = poll(idpd, &client_id, da["device_code"].as_str().unwrap()).await;
    assert_eq!(
        (st, v["error"].as_str()),
        (401, Some("invalid_client")),
        "{v}"
    );

    // Approved, then the user is disabled before the poll: no tokens.
    let (st, _) = api
        .send(
            Method::PATCH,
            &format!("/tenants/acme/clients/{client_id}"),
            Some(json!({"disabled": false})),
        )
        .await;
    assert_eq!(st, 200);
    let (_, da) = device_authorization(idpd, "acme", &client_id, "openid").await;
    let page = decide(
        &mut b,
        idpd,
        da["verification_uri_complete"].as_str().unwrap(),
        "frank@example.com",
        true,
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    let (st, _) = api
        .send(
            Method::POST,
            "/tenants/acme/users/frank@example.com/disable",
            None,
        )
        .await;
    assert_eq!(st, 200);
    let (st, v) =
        poll_until_decided(idpd, &client_id, da["device_code"].as_str().unwrap(), 1).await;
    assert_eq!(
        (st, v["error"].as_str()),
        (400, Some("invalid_grant")),
        "{v}"
    );
}

/// Issue 16 §6: a client registered with the device grant and no scopes may ask for the
/// OpenID Connect scopes, as an authorization-code client registered the same way may.
async fn default_scopes_follow_the_grants(backend: Backend) {
    let s = setup_with(backend, &[]).await;
    let idpd = &s.idpd;
    let api = idpd.api();
    let (st, t) = api
        .create_tenant(json!({"name": "acme", "slug": "acme"}))
        .await;
    assert_eq!(st, 201, "{t}");
    let (st, c) = api
        .send(
            reqwest::Method::POST,
            "/tenants/acme/clients",
            Some(json!({"name": "tv", "public": true, "grant_types": [GRANT_DEVICE]})),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    let client_id = c["client"]["client_id"].as_str().unwrap();
    assert_eq!(
        c["client"]["scopes"],
        json!(["openid", "profile", "email", "offline_access"])
    );
    let (st, d) = device_authorization(idpd, "acme", client_id, "openid email").await;
    assert_eq!(st, 200, "{d}");
}

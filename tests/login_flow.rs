//! The interactive half over real HTTP, as a browser and a client app would do it:
//! authorize → email → code from the dev outbox → redirect with code, state and iss → token
//! exchange with PKCE → ID token verified against the JWKS → userinfo → SSO → refresh
//! rotation and reuse detection → logout. Plus the SEC rows that fit on that path.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use idp_tests::browser::{
    Browser, REDIRECT, acme_with_web_client, authorize_url, hidden, login, mailed_code, pkce,
    query, start_login, submit_code, submit_email, token, userinfo,
};
use idp_tests::{Backend, Value, both_backends, http_client, setup};
use reqwest::StatusCode;

both_backends!(
    full_login_flow,
    otp_brute_force_burns_the_code,
    login_forms_need_csrf_and_their_own_flow,
    refresh_tokens_follow_offline_access,
    a_new_address_in_the_same_flow_retires_the_first_code,
    loopback_redirect_uris_match_as_registered_but_the_port,
);

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
    let q = login(&mut b, idpd, &client_id, &challenge, "alice@example.com").await;
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
    let code = mailed_code(idpd, "bob@example.com", 0).await;
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
    // The right token, but sent by another site's page: a foreign `Origin`, `Origin: null`
    // without the browser's `Sec-Fetch-Site: same-origin`, or `Sec-Fetch-Site: cross-site`.
    let own_origin = a.origin.clone();
    let right = [
        ("flow", flow.as_str()),
        ("csrf", &csrf),
        ("email", "c@example.com"),
    ];
    let lying = (Some(own_origin.as_str()), Some("cross-site"));
    for (origin, site) in idp_tests::browser::FORGED_POST_HEADERS
        .into_iter()
        .chain([lying])
    {
        let p = a
            .post_from("/t/acme/login/email", &right, origin, site)
            .await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "{origin:?} {site:?}");
    }
    // Cross-site, and no CSRF token either.
    let p = a
        .post_from(
            "/t/acme/login/email",
            &[("flow", &flow), ("email", "c@example.com")],
            Some("https://evil.test"),
            Some("cross-site"),
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
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
    // What Chromium sends for the page's own form under a `no-referrer` policy (a page served
    // before the policy changed): `Origin: null` vouched for by `Sec-Fetch-Site: same-origin`.
    let p = a
        .post_from(
            "/t/acme/login/email",
            &right,
            Some("null"),
            Some("same-origin"),
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
}

/// OIDC requests get a refresh token only with `offline_access` (OIDC Core §11); plain
/// OAuth requests of a client registered for the refresh_token grant get one anyway.
async fn refresh_tokens_follow_offline_access(backend: Backend) {
    let s = setup(backend).await;
    let idpd = &s.idpd;
    let client_id = acme_with_web_client(idpd).await;
    let mut b = Browser::new(idpd);
    let (_, c0) = pkce();
    login(&mut b, idpd, &client_id, &c0, "carol@example.com").await;
    for (scope, wants_refresh) in [
        ("openid%20email", false),
        ("email", true),
        ("openid%20offline_access", true),
    ] {
        let (verifier, challenge) = pkce();
        let url = authorize_url(&client_id, &challenge, "").replace(
            "scope=openid%20email%20offline_access",
            &format!("scope={scope}"),
        );
        let p = b.get(&url).await;
        assert_eq!(p.status, StatusCode::FOUND, "{}", p.body);
        let q = query(p.location.as_deref().unwrap());
        let (st, t) = token(
            idpd,
            &[
                ("grant_type", "authorization_code"),
                ("code", &q["code"]),
                ("redirect_uri", REDIRECT),
                ("code_verifier", &verifier),
                ("client_id", &client_id),
            ],
        )
        .await;
        assert_eq!(st, 200, "{t}");
        assert_eq!(
            t.get("refresh_token").is_some(),
            wants_refresh,
            "scope {scope}: {t}"
        );
        assert_eq!(
            t.get("id_token").is_some(),
            scope.contains("openid"),
            "scope {scope}: {t}"
        );
    }
}

/// Changing the address within one login flow retires the code sent to the first address:
/// a flow has one live code at a time.
async fn a_new_address_in_the_same_flow_retires_the_first_code(backend: Backend) {
    let s = setup(backend).await;
    let idpd = &s.idpd;
    let client_id = acme_with_web_client(idpd).await;
    let mut b = Browser::new(idpd);
    let (_, challenge) = pkce();
    let (flow, csrf) = start_login(&mut b, &client_id, &challenge).await;
    submit_email(&mut b, &flow, &csrf, "first@example.com").await;
    let first = mailed_code(idpd, "first@example.com", 0).await;
    submit_email(&mut b, &flow, &csrf, "second@example.com").await;
    let second = mailed_code(idpd, "second@example.com", 0).await;
    if first != second {
        let p = submit_code(&mut b, &flow, &csrf, &first).await;
        assert_eq!(
            p.status,
            StatusCode::BAD_REQUEST,
            "the first address's code is retired"
        );
    }
    let p = submit_code(&mut b, &flow, &csrf, &second).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert!(p.location.unwrap().starts_with(REDIRECT));
}

/// SEC-01 with RFC 8252 §7.3 (issue 16): the web client registered `http://127.0.0.1:9/cb`.
/// A signed-in browser gets a code at any port of that URI, and an error page (400, no
/// `Location`) for every spelling that only a URL parser would call the same.
async fn loopback_redirect_uris_match_as_registered_but_the_port(backend: Backend) {
    let s = setup(backend).await;
    let idpd = &s.idpd;
    let client_id = acme_with_web_client(idpd).await;
    let mut b = Browser::new(idpd);
    let (_, challenge) = pkce();
    login(&mut b, idpd, &client_id, &challenge, "loop@example.com").await;
    let encoded = idp_tests::oauth::form(&[("x", REDIRECT)])
        .trim_start_matches("x=")
        .to_owned();
    let at = |uri: &str| {
        let with = idp_tests::oauth::form(&[("x", uri)])
            .trim_start_matches("x=")
            .to_owned();
        authorize_url(&client_id, &challenge, "&prompt=none").replace(&encoded, &with)
    };
    for good in [REDIRECT, "http://127.0.0.1:49152/cb", "http://127.0.0.1/cb"] {
        let p = b.get(&at(good)).await;
        let to = p.location.unwrap_or_else(|| panic!("{good}: {}", p.body));
        assert!(to.starts_with(&format!("{good}?code=")), "{good}: {to}");
    }
    for bad in [
        "http://127.0.0.1:9/x/../cb",
        "http://127.0.0.1/x/../cb",
        "http://0x7f.0.0.1:9/cb",
        "http://127.1:9/cb",
        "http://127.0.0.1.:9/cb",
        "http://127.0.0.1:0/cb",
        "http://127.0.0.1:09/cb",
        "http://127.0.0.1:9\\cb",
        "HTTP://127.0.0.1:9/cb",
        "http://127.0.0.1:9/cb?x=1",
        "http://[::1]:9/cb",
        "http://localhost:9/cb",
    ] {
        let p = b.get(&at(bad)).await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{bad}: {:?}", p.location);
        assert!(p.location.is_none(), "{bad}");
    }
}

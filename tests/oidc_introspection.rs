//! Token introspection (RFC 7662) and revocation (RFC 7009): client authentication, what an
//! inactive token reveals, exact-length token checks (SEC-12), no cross-client revocation
//! (SEC-23), and tokens of disabled or deleted clients.

use idp_tests::oauth::{self, Auth, Creds, Op, Verifier};
use idp_tests::{Backend, both_backends, json, setup};
use jsonwebtoken::Algorithm;

both_backends!(
    introspection,
    revocation,
    tokens_of_disabled_and_deleted_clients_are_inactive,
    reused_client_id_does_not_revive_tokens,
    refresh_tokens_are_introspected,
);

async fn introspection(backend: Backend) {
    let s = setup(backend).await;
    let api = s.idpd.api();
    oauth::create_tenant(&api, "acme").await;
    let svc = oauth::service_client(&api, "acme", None).await;
    let rs = oauth::service_client(&api, "acme", Some("resource-server")).await;
    let op = Op::new(&s.idpd, "acme");
    let verifier = Verifier::new(&op).await;
    let token = op.access_token(&svc).await;

    // Client authentication is required (RFC 7662 §2.1).
    op.introspect(&Auth::None, &token)
        .await
        .assert_invalid_client_no_challenge();
    let wrong = Creds {
        id: rs.id.clone(),
        secret: format!("{}x", rs.secret),
    };
    op.introspect(&wrong.basic(), &token)
        .await
        .assert_invalid_client_basic();
    op.introspect(&wrong.post(), &token)
        .await
        .assert_invalid_client_no_challenge();
    op.introspect(
        &Auth::Basic("no-such-client".into(), rs.secret.clone()),
        &token,
    )
    .await
    .assert_invalid_client_basic();

    // A public client has no credentials to prove who it is: no introspection.
    let public = oauth::create_client(&api, "acme", json!({"name": "app", "public": true})).await;
    assert!(public.secret.is_empty());
    op.introspect(&Auth::IdOnly(public.id.clone()), &token)
        .await
        .assert_invalid_client_no_challenge();
    op.introspect(&Auth::Post(public.id.clone(), "guess".into()), &token)
        .await
        .assert_invalid_client_no_challenge();

    // The token parameter is required.
    op.post_form("/introspect", &rs.basic(), &[])
        .await
        .assert_error(400, "invalid_request");

    // An authenticated client (here a resource server, and the token's own client) sees the
    // claims of the JWT.
    let v = verifier.verify(&token, Algorithm::ES256).await.unwrap();
    for who in [rs.basic(), rs.post(), svc.basic()] {
        let res = op.introspect(&who, &token).await;
        assert_eq!(res.status, 200, "{res:?}");
        assert_eq!(res.header("cache-control"), Some("no-store"));
        let body = res.json();
        assert_eq!(body["active"], true, "{body}");
        assert_eq!(body["token_type"], "Bearer", "{body}");
        for claim in [
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "jti",
            "client_id",
            "scope",
        ] {
            assert_eq!(body[claim], v.claims[claim], "{claim}: {body}");
        }
        assert_eq!(body["iss"], verifier.issuer);
        assert_eq!(body["client_id"], svc.id);
        assert_eq!(body["scope"], "read write");
    }

    // Anything but the exact token is inactive and reveals nothing (SEC-12).
    let other = op.access_token(&rs).await;
    let parts: Vec<&str> = token.split('.').collect();
    let other_parts: Vec<&str> = other.split('.').collect();
    let forged_none = format!(
        "eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.{}.",
        other_parts[1]
    );
    let bad = [
        "garbage".to_owned(),
        "a.b.c".to_owned(),
        token[..token.len() - 1].to_owned(),
        format!("{token}A"),
        format!("{token}."),
        format!(" {token}"),
        // another token's claims under this token's signature
        format!("{}.{}.{}", parts[0], other_parts[1], parts[2]),
        // alg none, empty signature
        forged_none,
        // the signature alone changed in its last character
        format!(
            "{}{}",
            &token[..token.len() - 1],
            if token.ends_with('A') { "B" } else { "A" }
        ),
    ];
    for b in &bad {
        assert!(!op.active(&rs, b).await, "{b:?} must be inactive");
    }
    assert!(op.active(&rs, &token).await, "the real token is still fine");
}

async fn revocation(backend: Backend) {
    let s = setup(backend).await;
    let api = s.idpd.api();
    oauth::create_tenant(&api, "acme").await;
    let svc = oauth::service_client(&api, "acme", Some("svc")).await;
    let other = oauth::service_client(&api, "acme", Some("other")).await;
    let op = Op::new(&s.idpd, "acme");
    let verifier = Verifier::new(&op).await;
    let mine = op.access_token(&svc).await;
    let keep = op.access_token(&svc).await;
    let theirs = op.access_token(&other).await;

    // Client authentication and the token parameter are required.
    op.revoke(&Auth::None, &mine)
        .await
        .assert_invalid_client_no_challenge();
    op.revoke(
        &Creds {
            id: svc.id.clone(),
            secret: other.secret.clone(),
        }
        .basic(),
        &mine,
    )
    .await
    .assert_invalid_client_basic();
    op.post_form("/revoke", &svc.basic(), &[])
        .await
        .assert_error(400, "invalid_request");
    op.post_form(
        "/revoke",
        &svc.basic(),
        &[("token", &mine), ("token", &mine)],
    )
    .await
    .assert_error(400, "invalid_request");
    assert!(op.active(&other, &mine).await);

    // Another client's token: 200, and it stays active (no cross-client revocation).
    let res = op.revoke(&svc.basic(), &theirs).await;
    assert_eq!(res.status, 200, "{res:?}");
    assert!(op.active(&svc, &theirs).await, "revoked by a stranger");

    // Unknown or altered tokens: 200, nothing changes.
    for unknown in [
        "garbage".to_owned(),
        format!("{mine}A"),
        mine[..mine.len() - 1].to_owned(),
    ] {
        let res = op.revoke(&svc.basic(), &unknown).await;
        assert_eq!(res.status, 200, "{unknown:?}: {res:?}");
    }
    assert!(op.active(&other, &mine).await);

    // The owner revokes: 200, then inactive for everyone; its other tokens live on.
    let res = op.revoke(&svc.post(), &mine).await;
    assert_eq!(res.status, 200, "{res:?}");
    assert_eq!(res.header("cache-control"), Some("no-store"));
    assert!(!op.active(&svc, &mine).await);
    assert!(!op.active(&other, &mine).await);
    assert!(op.active(&other, &keep).await, "only that token is revoked");
    // A self-contained JWT still verifies offline; only introspection knows.
    verifier.verify(&mine, Algorithm::ES256).await.unwrap();
    // Revoking twice is fine.
    assert_eq!(op.revoke(&svc.basic(), &mine).await.status, 200);
    assert!(!op.active(&svc, &mine).await);

    // token_type_hint is accepted (RFC 7009 §2.1).
    let res = op
        .post_form(
            "/revoke",
            &other.basic(),
            &[("token", &theirs), ("token_type_hint", "access_token")],
        )
        .await;
    assert_eq!(res.status, 200, "{res:?}");
    assert!(!op.active(&svc, &theirs).await);
}

async fn tokens_of_disabled_and_deleted_clients_are_inactive(backend: Backend) {
    let s = setup(backend).await;
    let api = s.idpd.api();
    let ctl = s.idpd.ctl();
    oauth::create_tenant(&api, "acme").await;
    let svc = oauth::service_client(&api, "acme", Some("svc")).await;
    let rs = oauth::service_client(&api, "acme", Some("rs")).await;
    let op = Op::new(&s.idpd, "acme");
    let token = op.access_token(&svc).await;
    assert!(op.active(&rs, &token).await);

    ctl.run(["client", "update", "--tenant", "acme", "svc", "--disable"])
        .ok();
    assert!(
        !op.active(&rs, &token).await,
        "a disabled client's token is inactive"
    );
    // ... and the disabled client can neither introspect nor revoke.
    op.introspect(&svc.basic(), &token)
        .await
        .assert_invalid_client_basic();
    op.revoke(&svc.basic(), &token)
        .await
        .assert_invalid_client_basic();

    ctl.run(["client", "update", "--tenant", "acme", "svc", "--enable"])
        .ok();
    let token = op.access_token(&svc).await;
    assert!(op.active(&rs, &token).await);
    ctl.run(["client", "delete", "--tenant", "acme", "svc", "--yes"])
        .ok();
    assert!(
        !op.active(&rs, &token).await,
        "a deleted client's token is inactive"
    );
}

/// A client deleted and registered again under the same client_id is a new client: the
/// tokens of the old one stay dead.
async fn reused_client_id_does_not_revive_tokens(backend: Backend) {
    let s = setup(backend).await;
    let api = s.idpd.api();
    let ctl = s.idpd.ctl();
    oauth::create_tenant(&api, "acme").await;
    let old = oauth::service_client(&api, "acme", Some("svc")).await;
    let rs = oauth::service_client(&api, "acme", Some("rs")).await;
    let op = Op::new(&s.idpd, "acme");
    let token = op.access_token(&old).await;
    ctl.run(["client", "delete", "--tenant", "acme", "svc", "--yes"])
        .ok();
    assert!(!op.active(&rs, &token).await);
    let new = oauth::service_client(&api, "acme", Some("svc")).await;
    assert_ne!(new.secret, old.secret);
    assert!(
        !op.active(&rs, &token).await,
        "a token of the deleted client is active again once its client_id is reused"
    );
    let fresh = op.access_token(&new).await;
    assert!(op.active(&rs, &fresh).await);
}

/// SEC-23: when the database fails, revocation answers 503 with `Retry-After`, never a 200
/// that would let the client believe the token is dead; introspection and the token
/// endpoint fail the same way rather than with `active: false` or a 500, and so does a logout
/// that needs the client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_failure_is_503_never_200_on_postgres() {
    if idp_tests::postgres_url().is_none() {
        eprintln!("skipped: IDP_TEST_POSTGRES_URL is not set");
        return;
    }
    let mut s = setup(Backend::Postgres).await;
    let api = s.idpd.api();
    oauth::create_tenant(&api, "acme").await;
    let svc = oauth::service_client(&api, "acme", None).await;
    let op = Op::new(&s.idpd, "acme");
    let token = op.access_token(&svc).await;
    assert!(op.active(&svc, &token).await);
    s.db.drop_now().await;
    for (what, res) in [
        ("revoke", op.revoke(&svc.basic(), &token).await),
        ("introspect", op.introspect(&svc.basic(), &token).await),
        ("token", op.client_credentials(&svc.basic(), None).await),
    ] {
        assert_eq!(res.status, 503, "{what}: {res:?}");
        assert!(res.header("retry-after").is_some(), "{what}: {res:?}");
        assert_eq!(res.header("cache-control"), Some("no-store"), "{what}");
    }
    // RP-initiated logout that must look up the client: the outage is a 503 page, not
    // "post_logout_redirect_uri is not registered" (a client mistake).
    let logout = format!(
        "/logout?client_id={}&post_logout_redirect_uri=https%3A%2F%2Frp.test%2Fbye",
        svc.id
    );
    let res = op.get(&logout).await;
    assert_eq!(res.status, 503, "logout: {res:?}");
    assert!(res.header("retry-after").is_some(), "logout: {res:?}");
}

/// Issue 16 §6, RFC 7662 §2.1: a live refresh token is active for its own client (with or
/// without `token_type_hint`), and inactive once used, revoked, or for another client.
async fn refresh_tokens_are_introspected(backend: Backend) {
    use idp_tests::browser::{Browser, REDIRECT, login, pkce, token};
    let s = setup(backend).await;
    let idpd = &s.idpd;
    let api = idpd.api();
    oauth::create_tenant(&api, "acme").await;
    let web = oauth::create_client(
        &api,
        "acme",
        json!({"name": "web", "redirect_uris": [REDIRECT],
               "grant_types": ["authorization_code", "refresh_token"]}),
    )
    .await;
    let other = oauth::service_client(&api, "acme", Some("other")).await;
    let (verifier, challenge) = pkce();
    let mut b = Browser::new(idpd);
    let q = login(&mut b, idpd, &web.id, &challenge, "rt@example.com").await;
    let form = |pairs: Vec<(&'static str, String)>| pairs;
    let redeem = form(vec![
        ("grant_type", "authorization_code".into()),
        ("code", q["code"].clone()),
        ("redirect_uri", REDIRECT.into()),
        ("code_verifier", verifier),
        ("client_id", web.id.clone()),
        ("client_secret", web.secret.clone()),
    ]);
    let pairs: Vec<(&str, &str)> = redeem.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (st, tokens) = token(idpd, &pairs).await;
    assert_eq!(st, 200, "{tokens}");
    let rt = tokens["refresh_token"].as_str().unwrap().to_owned();

    let op = Op::new(idpd, "acme");
    for hint in [None, Some("refresh_token"), Some("access_token")] {
        let mut params = vec![("token", rt.as_str())];
        if let Some(h) = hint {
            params.push(("token_type_hint", h));
        }
        let res = op.post_form("/introspect", &web.basic(), &params).await;
        assert_eq!(res.status, 200, "{res:?}");
        let body = res.json();
        assert_eq!(body["active"], true, "{hint:?}: {body}");
        assert_eq!(body["client_id"], web.id.as_str());
        assert_eq!(body["token_type"], "refresh_token");
        assert!(body["scope"].as_str().unwrap().contains("openid"), "{body}");
        assert!(body["sub"].is_string() && body["exp"].is_i64(), "{body}");
    }
    // Another client learns nothing about it.
    assert!(!op.active(&other, &rt).await);
    // Used: its successor is active, it is not.
    let (st, next) = token(
        idpd,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt),
            ("client_id", &web.id),
            ("client_secret", &web.secret),
        ],
    )
    .await;
    assert_eq!(st, 200, "{next}");
    assert!(!op.active(&web, &rt).await);
    let next_rt = next["refresh_token"].as_str().unwrap();
    assert!(op.active(&web, next_rt).await);
    // Revoked: inactive.
    let res = op
        .post_form("/revoke", &web.basic(), &[("token", next_rt)])
        .await;
    assert_eq!(res.status, 200);
    assert!(!op.active(&web, next_rt).await);
}

//! docs/security.md rows of the native login as end-to-end tests over real HTTP: enumeration
//! (SEC-17), signup policy, issuance rate limit and newest-code-only (SEC-16), session
//! fixation and revocation (SEC-18), cookie flags and per-tenant cookies (SEC-19), parallel
//! code redemption (SEC-03), bearer transport at userinfo (SEC-24), disabled users on every
//! path (SEC-25), page language, page headers and 303 after POST (SEC-08/09).

use std::collections::BTreeSet;

use idp_tests::oauth::{Op, service_client};
use idp_tests::{Backend, Idpd, Value, both_backends, http_client, json, setup};
use reqwest::{Method, StatusCode};

use idp_tests::browser::{
    Browser, Page, authorize_url, authorize_url_at, hidden, login, mailed_code, outbox_mails, pkce,
    query, redeem, session_cookie_name, start_login, submit_code, submit_email,
    tenant_with_web_client, token,
};

both_backends!(
    no_enumeration_under_invite_policy,
    open_signup_creates_the_user_at_first_login,
    code_issuance_is_rate_limited_and_only_the_newest_code_counts,
    codes_live_in_their_own_flows_and_links_are_single_use,
    session_fixation_and_revocation,
    session_cookie_flags_and_per_tenant_names,
    cookie_names_are_unique_across_tenants,
    parallel_redemptions_of_one_code_have_one_winner,
    userinfo_bearer_transport,
    disabled_user_loses_every_path,
    login_page_language,
    page_headers_and_303_after_post,
);

async fn patch_tenant(idpd: &Idpd, slug: &str, body: Value) {
    let (st, t) = idpd
        .api()
        .send(Method::PATCH, &format!("/tenants/{slug}"), Some(body))
        .await;
    assert_eq!(st, 200, "{t}");
}

async fn create_user(idpd: &Idpd, slug: &str, email: &str) -> Value {
    let (st, u) = idpd
        .api()
        .send(
            Method::POST,
            &format!("/tenants/{slug}/users"),
            Some(json!({ "email": email })),
        )
        .await;
    assert_eq!(st, 201, "{u}");
    u
}

async fn disable_user(idpd: &Idpd, slug: &str, email: &str) {
    let (st, u) = idpd
        .api()
        .send(
            Method::POST,
            &format!("/tenants/{slug}/users/{email}/disable"),
            None,
        )
        .await;
    assert_eq!(st, 200, "{u}");
    assert_eq!(u["disabled"], true, "{u}");
}

async fn user_emails(idpd: &Idpd, slug: &str) -> Vec<String> {
    let (st, list) = idpd
        .api()
        .send(Method::GET, &format!("/tenants/{slug}/users"), None)
        .await;
    assert_eq!(st, 200, "{list}");
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect()
}

/// The header names of an answer, less those that legitimately vary.
fn header_names(p: &Page) -> BTreeSet<String> {
    p.headers
        .keys()
        .map(|k| k.as_str().to_owned())
        .filter(|k| k != "date")
        .collect()
}

#[track_caller]
fn assert_page_headers(p: &Page) {
    let csp = p.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("frame-ancestors 'none'"), "{p:?}");
    assert!(
        csp.contains("default-src 'none'"),
        "scripts restricted: {p:?}"
    );
    assert_eq!(p.header("x-frame-options"), Some("DENY"), "{p:?}");
    // No `Referer` leaves the public origin (flow ids, codes in URLs stay here), while the
    // pages' own form POSTs still carry a real `Origin` (under `no-referrer` browsers send
    // `Origin: null` and the CSRF check could not tell them from another site's).
    assert_eq!(p.header("referrer-policy"), Some("same-origin"), "{p:?}");
    assert!(
        p.header("content-type")
            .is_some_and(|c| c.starts_with("text/html")),
        "{p:?}"
    );
}

/// SEC-17: an existing, an unknown and a disabled address get the same answer; only the
/// existing one gets mail; the unknown one cannot finish a login.
async fn no_enumeration_under_invite_policy(backend: Backend) {
    let s = setup(backend).await;
    let idpd = &s.idpd;
    let client_id = tenant_with_web_client(idpd, "acme").await;
    patch_tenant(idpd, "acme", json!({"signup_policy": "invite"})).await;
    create_user(idpd, "acme", "known@example.com").await;
    create_user(idpd, "acme", "gone@example.com").await;
    disable_user(idpd, "acme", "gone@example.com").await;

    let (_, challenge) = pkce();
    let mut answers = Vec::new();
    for email in [
        "known@example.com",
        "nobody@example.com",
        "gone@example.com",
    ] {
        let mut b = Browser::new(idpd);
        let (flow, csrf) = start_login(&mut b, &client_id, &challenge).await;
        let p = submit_email(&mut b, &flow, &csrf, email).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{email}: {p:?}");
        let location = p.location.clone().unwrap().replace(&flow, "FLOW");
        // The next page (the code step) must not tell either.
        let next = b
            .get(&format!("/t/acme/login?flow={flow}"))
            .await
            .body
            .replace(&flow, "FLOW")
            .replace(&csrf, "CSRF");
        answers.push((
            email,
            p.status,
            location,
            p.body.clone(),
            header_names(&p),
            next,
            (b, flow, csrf),
        ));
    }
    let (_, st0, loc0, body0, h0, next0, _) = &answers[0];
    assert_eq!(loc0, "/t/acme/login?flow=FLOW");
    assert!(next0.contains("If this address can sign in"), "{next0}");
    for (email, st, loc, body, h, next, _) in &answers[1..] {
        assert_eq!(st, st0, "{email}");
        assert_eq!(loc, loc0, "{email}");
        assert_eq!(body, body0, "{email}");
        assert_eq!(h, h0, "{email}");
        assert_eq!(next, next0, "{email}: the code page differs");
    }

    // Mail only for the existing address (sent in the background: wait for it first).
    mailed_code(idpd, "known@example.com", 0).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(outbox_mails(idpd, "nobody@example.com").len(), 0);
    assert_eq!(outbox_mails(idpd, "gone@example.com").len(), 0);
    let all = std::fs::read_dir(idpd.data_dir.join("outbox"))
        .unwrap()
        .count();
    assert_eq!(all, 1, "exactly one mail");

    // The unknown address cannot finish: whatever code it types, a 400 with the same
    // generic message as a wrong code for a known address.
    let mut rest = answers.into_iter();
    let (_, _, _, _, _, _, (mut known, kflow, kcsrf)) = rest.next().unwrap();
    let (_, _, _, _, _, _, (mut nobody, nflow, ncsrf)) = rest.next().unwrap();
    let code = mailed_code(idpd, "known@example.com", 0).await;
    let p = submit_code(&mut nobody, &nflow, &ncsrf, &code).await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST, "{p:?}");
    assert!(p.location.is_none() && p.set_cookies().is_empty(), "{p:?}");
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let k = submit_code(&mut known, &kflow, &kcsrf, wrong).await;
    assert_eq!(k.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        p.body.replace(&nflow, "FLOW").replace(&ncsrf, "CSRF"),
        k.body
            .replace(&kflow, "FLOW")
            .replace(&kcsrf, "CSRF")
            .replace("known@example.com", "nobody@example.com"),
        "wrong code for known vs unknown address"
    );
    // The known one still logs in with its code.
    let p = submit_code(&mut known, &kflow, &kcsrf, &code).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{p:?}");
    assert!(query(p.location.as_deref().unwrap()).contains_key("code"));
    assert_eq!(
        user_emails(idpd, "acme").await,
        ["gone@example.com", "known@example.com"],
        "invite: no user was created for the unknown address"
    );
}

/// Signup policy `open` (the default): the first login creates the user.
async fn open_signup_creates_the_user_at_first_login(backend: Backend) {
    let s = setup(backend).await;
    let idpd = &s.idpd;
    let client_id = tenant_with_web_client(idpd, "acme").await;
    assert!(user_emails(idpd, "acme").await.is_empty());
    let mut b = Browser::new(idpd);
    let (verifier, challenge) = pkce();
    let q = login(
        &mut b,
        idpd,
        &client_id,
        &challenge,
        "New.Person@Example.com",
    )
    .await;
    assert_eq!(user_emails(idpd, "acme").await, ["new.person@example.com"]);
    let (st, u) = idpd
        .api()
        .send(
            Method::GET,
            "/tenants/acme/users/new.person@example.com",
            None,
        )
        .await;
    assert_eq!(st, 200, "{u}");
    assert_eq!(u["email_verified"], true, "the code proved the address");
    let (st, t) = redeem(idpd, &client_id, &q["code"], &verifier).await;
    assert_eq!(st, 200, "{t}");
}

/// SEC-16: more than 5 codes for one address → 429 with Retry-After (and it holds across a
/// restart); a second code replaces the first.
async fn code_issuance_is_rate_limited_and_only_the_newest_code_counts(backend: Backend) {
    let mut s = setup(backend).await;
    let client_id = tenant_with_web_client(&s.idpd, "acme").await;
    let (_, challenge) = pkce();

    // Only the newest code is valid.
    let idpd = &s.idpd;
    let mut b = Browser::new(idpd);
    let (flow, csrf) = start_login(&mut b, &client_id, &challenge).await;
    let email = "carol@example.com";
    assert_eq!(
        submit_email(&mut b, &flow, &csrf, email).await.status,
        StatusCode::SEE_OTHER
    );
    let first = mailed_code(idpd, email, 0).await;
    assert_eq!(
        submit_email(&mut b, &flow, &csrf, email).await.status,
        StatusCode::SEE_OTHER
    );
    let second = mailed_code(idpd, email, 1).await;
    if first != second {
        let p = submit_code(&mut b, &flow, &csrf, &first).await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "the older code: {p:?}");
        assert!(p.location.is_none());
    }
    let p = submit_code(&mut b, &flow, &csrf, &second).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "the newest code: {p:?}");
    assert!(
        p.location
            .unwrap()
            .starts_with(idp_tests::browser::REDIRECT)
    );

    // Issuance per address: 5 in 10 minutes, then 429 with Retry-After.
    let email = "dave@example.com";
    let mut b = Browser::new(idpd);
    let (flow, csrf) = start_login(&mut b, &client_id, &challenge).await;
    for i in 0..5 {
        let p = submit_email(&mut b, &flow, &csrf, email).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "request {i}: {p:?}");
    }
    let p = submit_email(&mut b, &flow, &csrf, email).await;
    assert_eq!(p.status, StatusCode::TOO_MANY_REQUESTS, "{p:?}");
    let retry: u64 = p
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("delta-seconds");
    assert!((1..=600).contains(&retry), "{retry}");
    assert!(p.body.contains("Too many attempts"), "{}", p.body);
    assert_page_headers(&p);
    // Another address is not affected.
    let mut b2 = Browser::new(idpd);
    let (f2, c2) = start_login(&mut b2, &client_id, &challenge).await;
    assert_eq!(
        submit_email(&mut b2, &f2, &c2, "erin@example.com")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    // The counter lives in the database: still 429 after a restart.
    s.idpd.restart();
    let mut b = Browser::new(&s.idpd);
    let (flow, csrf) = start_login(&mut b, &client_id, &challenge).await;
    let p = submit_email(&mut b, &flow, &csrf, email).await;
    assert_eq!(p.status, StatusCode::TOO_MANY_REQUESTS, "after restart");
    assert!(p.header("retry-after").is_some());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        outbox_mails(&s.idpd, email).len(),
        5,
        "no mail past the limit"
    );
}

/// Only the newest code of an address is valid, whichever flow asked for the older one; the
/// magic link works once, only in the browser (flow) that asked for it.
async fn codes_live_in_their_own_flows_and_links_are_single_use(backend: Backend) {
    let s = setup(backend).await;
    let idpd = &s.idpd;
    let client_id = tenant_with_web_client(idpd, "acme").await;
    let email = "olga@example.com";
    let (_, challenge) = pkce();
    let mut a = Browser::new(idpd);
    let (fa, ca) = start_login(&mut a, &client_id, &challenge).await;
    submit_email(&mut a, &fa, &ca, email).await;
    let code_a = mailed_code(idpd, email, 0).await;
    let link_a = mail_link(&outbox_mails(idpd, email)[0]);
    let mut b = Browser::new(idpd);
    let (fb, cb) = start_login(&mut b, &client_id, &challenge).await;
    submit_email(&mut b, &fb, &cb, email).await;
    mailed_code(idpd, email, 1).await;
    let link_b = mail_link(&outbox_mails(idpd, email)[1]);
    // Issue 16: flow B's request did not cancel flow A's code (another browser cannot lock
    // the address's owner out); A's code is valid in A, never in B.
    let p = submit_code(&mut b, &fb, &cb, &code_a).await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST, "{p:?}");
    let p = submit_code(&mut a, &fa, &ca, &code_a).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{p:?}");
    // Within a flow only the newest code counts; A's link went with A's finished flow.
    let p = a.get(&link_a).await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST, "{p:?}");
    assert!(p.location.is_none());
    // B's link in browser A (no flow cookie of B): refused, and it stays usable for B.
    let p = a.get(&link_b).await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST, "{p:?}");
    let p = b.get(&link_b).await;
    assert_eq!(
        p.status,
        StatusCode::FOUND,
        "a GET link redirects with 302: {p:?}"
    );
    let q = query(p.location.as_deref().unwrap());
    assert!(
        q.contains_key("code") && q["iss"].ends_with("/t/acme"),
        "{q:?}"
    );
    // Single use: the link again (the flow is over) gives nothing.
    let p = b.get(&link_b).await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST, "{p:?}");
    assert!(p.location.is_none());
}

/// The magic link of a mail, as a path on the public listener.
fn mail_link(mail: &str) -> String {
    let body = idp_tests::browser::mail_body(mail);
    let line = body
        .lines()
        .find(|l| l.contains("/login/link?"))
        .unwrap_or_else(|| panic!("no link in {body}"))
        .trim();
    let u = url::Url::parse(line).unwrap();
    format!("{}?{}", u.path(), u.query().unwrap())
}

/// SEC-18: a cookie value planted before the login is ignored and replaced; after logout the
/// old session cookie grants nothing.
async fn session_fixation_and_revocation(backend: Backend) {
    let s = setup(backend).await;
    let idpd = &s.idpd;
    let client_id = tenant_with_web_client(idpd, "acme").await;
    let name = session_cookie_name(idpd, "acme").await;
    let planted = "attacker-chosen-session-value-0123456789abcdef";

    let mut b = Browser::new(idpd);
    b.cookies.insert(name.clone(), planted.to_owned());
    let (verifier, challenge) = pkce();
    // The planted value is no session: the login page, not a code.
    let p = b
        .get(&authorize_url(&client_id, &challenge, "&prompt=none"))
        .await;
    assert_eq!(
        query(p.location.as_deref().unwrap())["error"],
        "login_required"
    );
    let q = login(&mut b, idpd, &client_id, &challenge, "frank@example.com").await;
    let session = b.cookies[&name].clone();
    assert_ne!(session, planted, "a new session id is minted at login");
    assert!(session.len() >= 32, "{session}");

    // The planted value still grants nothing.
    let mut attacker = Browser::new(idpd);
    attacker.cookies.insert(name.clone(), planted.to_owned());
    let p = attacker
        .get(&authorize_url(&client_id, &challenge, "&prompt=none"))
        .await;
    assert_eq!(
        query(p.location.as_deref().unwrap())["error"],
        "login_required"
    );
    // The real session works (SSO), from a copy of the cookie too.
    let mut copy = Browser::new(idpd);
    copy.cookies.insert(name.clone(), session.clone());
    let p = copy
        .get(&authorize_url(&client_id, &challenge, "&prompt=none"))
        .await;
    assert_eq!(p.status, StatusCode::FOUND);
    assert!(query(p.location.as_deref().unwrap()).contains_key("code"));
    let (st, t) = redeem(idpd, &client_id, &q["code"], &verifier).await;
    assert_eq!(st, 200, "{t}");

    // Logout without a hint: a confirmation page, then a POST with its CSRF token.
    let p = b.get("/t/acme/logout").await;
    assert_eq!(p.status, StatusCode::OK);
    assert_page_headers(&p);
    let csrf = hidden(&p.body, "csrf");
    let p = b.post("/t/acme/logout", &[("csrf", "wrong")]).await;
    assert_eq!(p.status, StatusCode::OK, "a new confirmation page");
    assert!(b.cookies.contains_key(&name), "not signed out without CSRF");
    // The right token, posted by another site's page: still only a confirmation page.
    for (origin, site) in [
        (Some("https://evil.test"), Some("cross-site")),
        (Some("null"), None),
    ] {
        let p = b
            .post_from("/t/acme/logout", &[("csrf", &csrf)], origin, site)
            .await;
        assert_eq!(p.status, StatusCode::OK, "{origin:?} {site:?}");
        assert!(
            p.body.contains("name=\"csrf\""),
            "a new confirmation page: {}",
            p.body
        );
        assert!(b.cookies.contains_key(&name), "not signed out cross-site");
    }
    let p = b.post("/t/acme/logout", &[("csrf", &csrf)]).await;
    assert_eq!(p.status, StatusCode::OK, "{p:?}");
    assert!(p.body.contains("You are signed out."), "{}", p.body);
    assert!(
        p.set_cookies()
            .iter()
            .any(|c| c.starts_with(&format!("{name}=;")) && c.contains("Max-Age=0")),
        "the cookie is cleared: {:?}",
        p.set_cookies()
    );
    // The old value, replayed: nothing.
    for mut br in [copy, {
        let mut x = Browser::new(idpd);
        x.cookies.insert(name.clone(), session.clone());
        x
    }] {
        let p = br
            .get(&authorize_url(&client_id, &challenge, "&prompt=none"))
            .await;
        assert_eq!(p.status, StatusCode::FOUND);
        let q = query(p.location.as_deref().unwrap());
        assert_eq!(q["error"], "login_required", "{q:?}");
        assert_eq!(q["state"], "st-1");
    }
}

/// SEC-19: HttpOnly, Path=/, SameSite=Lax, no Domain, the tenant's cookie name (no `__Host-`
/// on http); a session of tenant A is nothing at tenant B.
async fn session_cookie_flags_and_per_tenant_names(backend: Backend) {
    let s = setup(backend).await;
    let idpd = &s.idpd;
    let client_a = tenant_with_web_client(idpd, "acme").await;
    let client_b = tenant_with_web_client(idpd, "beta").await;
    let (st, tenant) = idpd.api().send(Method::GET, "/tenants/acme", None).await;
    assert_eq!(st, 200);
    let configured = tenant["session"]["cookie_name"].as_str().unwrap();
    assert!(
        configured.starts_with("__Host-"),
        "default is a __Host- name: {configured}"
    );
    let ttl = tenant["session"]["ttl_seconds"].as_i64().unwrap();
    let name_a = session_cookie_name(idpd, "acme").await;
    let name_b = session_cookie_name(idpd, "beta").await;
    assert_eq!(name_a, configured.trim_start_matches("__Host-"));
    assert_ne!(name_a, name_b, "per-tenant cookie names");

    // Log in by hand to see the Set-Cookie of the login answer.
    let mut b = Browser::new(idpd);
    let (_, challenge) = pkce();
    let (flow, csrf) = start_login(&mut b, &client_a, &challenge).await;
    submit_email(&mut b, &flow, &csrf, "gina@example.com").await;
    let code = mailed_code(idpd, "gina@example.com", 0).await;
    let p = submit_code(&mut b, &flow, &csrf, &code).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let cookies = p.set_cookies();
    let session = cookies
        .iter()
        .find(|c| c.starts_with(&format!("{name_a}=")))
        .unwrap_or_else(|| panic!("no session cookie {name_a} in {cookies:?}"));
    let attrs: Vec<&str> = session.split(';').map(str::trim).collect();
    for a in ["HttpOnly", "Path=/", "SameSite=Lax"] {
        assert!(attrs.contains(&a), "{a} missing: {session}");
    }
    assert!(
        attrs.contains(&format!("Max-Age={ttl}").as_str()),
        "{session}"
    );
    assert!(
        !attrs
            .iter()
            .any(|a| a.to_ascii_lowercase().starts_with("domain")),
        "host-only by default: {session}"
    );
    assert!(
        !attrs.contains(&"Secure"),
        "no Secure on an http public URL: {session}"
    );
    // The flow cookie is cleared at login, and is HttpOnly too.
    assert!(
        cookies
            .iter()
            .any(|c| c.contains("idp-flow-") && c.contains("Max-Age=0")),
        "{cookies:?}"
    );
    let session_value = b.cookies[&name_a].clone();

    // At tenant B the session of A is nothing: neither under A's name nor under B's.
    let (_, challenge_b) = pkce();
    let p = b
        .get(&authorize_url_at(
            "beta",
            &client_b,
            &challenge_b,
            "&prompt=none",
        ))
        .await;
    assert_eq!(
        query(p.location.as_deref().unwrap())["error"],
        "login_required"
    );
    let mut forged = Browser::new(idpd);
    forged.cookies.insert(name_b.clone(), session_value.clone());
    let p = forged
        .get(&authorize_url_at(
            "beta",
            &client_b,
            &challenge_b,
            "&prompt=none",
        ))
        .await;
    let q = query(p.location.as_deref().unwrap());
    assert_eq!(q["error"], "login_required", "{q:?}");
    assert!(q["iss"].ends_with("/t/beta"), "{q:?}");
    // ...while at A it is a session (SSO).
    let p = b
        .get(&authorize_url(&client_a, &challenge, "&prompt=none"))
        .await;
    assert!(query(p.location.as_deref().unwrap()).contains_key("code"));
}

/// SEC-03: 20 parallel redemptions of one code: exactly one 200, the others invalid_grant.
/// Ten rounds (new codes by SSO) over warmed-up connections, to make the race likely.
async fn parallel_redemptions_of_one_code_have_one_winner(backend: Backend) {
    let s = setup(backend).await;
    let idpd = &s.idpd;
    let client_id = tenant_with_web_client(idpd, "acme").await;
    let mut b = Browser::new(idpd);
    let (verifier, challenge) = pkce();
    let mut code =
        login(&mut b, idpd, &client_id, &challenge, "hank@example.com").await["code"].clone();
    let url = format!("{}/t/acme/token", idpd.public_url());
    let clients: Vec<reqwest::Client> = (0..20).map(|_| http_client()).collect();
    for c in &clients {
        c.get(format!("{}/healthz", idpd.public_url()))
            .send()
            .await
            .unwrap();
    }
    let mut failures = Vec::new();
    for round in 0..10 {
        if round > 0 {
            let p = b.get(&authorize_url(&client_id, &challenge, "")).await;
            code = query(p.location.as_deref().expect("SSO redirect"))["code"].clone();
        }
        let body = idp_tests::oauth::form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", idp_tests::browser::REDIRECT),
            ("code_verifier", &verifier),
            ("client_id", &client_id),
        ]);
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(clients.len()));
        let mut tasks = Vec::new();
        for http in &clients {
            let (http, url, body, barrier) =
                (http.clone(), url.clone(), body.clone(), barrier.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                let res = http
                    .post(url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let st = res.status().as_u16();
                (st, res.json::<Value>().await.unwrap())
            }));
        }
        let mut ok = 0;
        let mut reasons = BTreeSet::new();
        for t in tasks {
            let (st, v) = t.await.unwrap();
            match st {
                200 => ok += 1,
                400 => {
                    assert_eq!(v["error"], "invalid_grant", "{v}");
                    reasons.insert(v["error_description"].as_str().unwrap_or("").to_owned());
                }
                _ => panic!("unexpected {st}: {v}"),
            }
        }
        if ok != 1 {
            failures.push(format!("round {round}: {ok} winners; errors {reasons:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "exactly one redemption must win each round: {failures:#?}"
    );
}

/// SEC-24: RFC 6750 transport rules at /userinfo.
async fn userinfo_bearer_transport(backend: Backend) {
    let s = setup(backend).await;
    let idpd = &s.idpd;
    let client_id = tenant_with_web_client(idpd, "acme").await;
    let mut b = Browser::new(idpd);
    let (verifier, challenge) = pkce();
    let q = login(&mut b, idpd, &client_id, &challenge, "ida@example.com").await;
    let (st, t) = redeem(idpd, &client_id, &q["code"], &verifier).await;
    assert_eq!(st, 200, "{t}");
    let at = t["access_token"].as_str().unwrap().to_owned();
    let url = format!("{}/t/acme/userinfo", idpd.public_url());
    let http = http_client();
    let send = |req: reqwest::RequestBuilder| async move { idp_tests::oauth::Res::send(req).await };

    // The valid ways: header (GET and POST), form body (POST).
    let r = send(http.get(&url).bearer_auth(&at)).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["email"], "ida@example.com");
    let r = send(http.post(&url).bearer_auth(&at)).await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = send(
        http.post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(idp_tests::oauth::form(&[("access_token", &at)])),
    )
    .await;
    assert_eq!(r.status, 200, "body token: {r:?}");

    // No token: 401 with a bare challenge.
    let bare = |r: &idp_tests::oauth::Res| {
        assert_eq!(r.status, 401, "{r:?}");
        let c = r.header("www-authenticate").unwrap_or_default();
        assert!(c.starts_with("Bearer realm="), "{r:?}");
        assert!(
            !c.contains("error="),
            "no error code without credentials: {r:?}"
        );
    };
    bare(&send(http.get(&url)).await);
    bare(&send(http.post(&url)).await);
    // A token in the query string is not a way to send it.
    bare(&send(http.get(format!("{url}?access_token={at}"))).await);
    // Two ways at once.
    let r = send(
        http.post(&url)
            .bearer_auth(&at)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(idp_tests::oauth::form(&[("access_token", &at)])),
    )
    .await;
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(r.json()["error"], "invalid_request", "{r:?}");
    // Garbage.
    let r = send(http.get(&url).bearer_auth("garbage.not-a.token")).await;
    assert_eq!(r.status, 401, "{r:?}");
    assert!(
        r.header("www-authenticate")
            .unwrap_or_default()
            .contains("error=\"invalid_token\""),
        "{r:?}"
    );
    // A client_credentials token: no openid, no user.
    let svc = service_client(&idpd.api(), "acme", None).await;
    let cc = Op::new(idpd, "acme").access_token(&svc).await;
    let r = send(http.get(&url).bearer_auth(&cc)).await;
    assert_eq!(r.status, 403, "{r:?}");
    assert!(
        r.header("www-authenticate")
            .unwrap_or_default()
            .contains("error=\"insufficient_scope\""),
        "{r:?}"
    );
}

/// SEC-25: a disabled user's refresh token, access token, session, pending code and new
/// logins all stop working at once.
async fn disabled_user_loses_every_path(backend: Backend) {
    let s = setup(backend).await;
    let idpd = &s.idpd;
    let client_id = tenant_with_web_client(idpd, "acme").await;
    let email = "jane@example.com";
    let mut b = Browser::new(idpd);
    let (verifier, challenge) = pkce();
    let q = login(&mut b, idpd, &client_id, &challenge, email).await;
    let (st, t) = redeem(idpd, &client_id, &q["code"], &verifier).await;
    assert_eq!(st, 200, "{t}");
    let (at, rt) = (
        t["access_token"].as_str().unwrap().to_owned(),
        t["refresh_token"].as_str().unwrap().to_owned(),
    );
    // A code is pending in a second browser when the user is disabled.
    let mut pending = Browser::new(idpd);
    let (pflow, pcsrf) = start_login(&mut pending, &client_id, &challenge).await;
    submit_email(&mut pending, &pflow, &pcsrf, email).await;
    let pending_code = mailed_code(idpd, email, 1).await;

    disable_user(idpd, "acme", email).await;

    let (st, e) = token(
        idpd,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!(
        (st, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "{e}"
    );
    let r = idp_tests::oauth::Res::send(
        http_client()
            .get(format!("{}/t/acme/userinfo", idpd.public_url()))
            .bearer_auth(&at),
    )
    .await;
    assert_eq!(r.status, 401, "{r:?}");
    // The browser session no longer signs anyone in.
    let p = b
        .get(&authorize_url(&client_id, &challenge, "&prompt=none"))
        .await;
    assert_eq!(
        query(p.location.as_deref().unwrap())["error"],
        "login_required"
    );
    // The code mailed before the disable does not log in.
    let p = submit_code(&mut pending, &pflow, &pcsrf, &pending_code).await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST, "{p:?}");
    assert!(p.location.is_none());
    // A new attempt: the same answer as for anyone, no mail, no login.
    let mut again = Browser::new(idpd);
    let (flow, csrf) = start_login(&mut again, &client_id, &challenge).await;
    let p = submit_email(&mut again, &flow, &csrf, email).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(outbox_mails(idpd, email).len(), 2, "no new mail");
    let p = submit_code(&mut again, &flow, &csrf, &pending_code).await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(p.location.is_none());
}

async fn login_page_at(idpd: &Idpd, client_id: &str, extra: &str) -> Page {
    let mut b = Browser::new(idpd);
    let (_, challenge) = pkce();
    let p = b.get(&authorize_url(client_id, &challenge, extra)).await;
    assert_eq!(p.status, StatusCode::FOUND, "{p:?}");
    let page = b.get(p.location.as_deref().unwrap()).await;
    assert_eq!(page.status, StatusCode::OK);
    page
}

/// Pages in English by default, in Norwegian by `ui_locales` or by the tenant's locales.
async fn login_page_language(backend: Backend) {
    let s = setup(backend).await;
    let idpd = &s.idpd;
    let client_id = tenant_with_web_client(idpd, "acme").await;
    let english = |p: &Page| {
        assert!(p.body.contains("<html lang=\"en\">"), "{}", p.body);
        assert!(p.body.contains("Sign in to acme"), "{}", p.body);
        assert!(p.body.contains("Email address"), "{}", p.body);
    };
    let norwegian = |p: &Page| {
        assert!(p.body.contains("<html lang=\"nb\">"), "{}", p.body);
        assert!(p.body.contains("Logg inn på acme"), "{}", p.body);
        assert!(p.body.contains("E-postadresse"), "{}", p.body);
    };
    english(&login_page_at(idpd, &client_id, "").await);
    norwegian(&login_page_at(idpd, &client_id, "&ui_locales=nb").await);
    norwegian(&login_page_at(idpd, &client_id, "&ui_locales=fr%20nb-NO").await);
    english(&login_page_at(idpd, &client_id, "&ui_locales=fr").await);
    // login_hint prefills the address (escaped).
    let p = login_page_at(idpd, &client_id, "&login_hint=kim%40example.com").await;
    assert!(p.body.contains("value=\"kim@example.com\""), "{}", p.body);

    patch_tenant(idpd, "acme", json!({"locales": ["nb", "en"]})).await;
    let p = login_page_at(idpd, &client_id, "").await;
    norwegian(&p);
    // The code step and its mail follow the flow's language too.
    let mut b = Browser::new(idpd);
    let (_, challenge) = pkce();
    let (flow, csrf) = start_login(&mut b, &client_id, &challenge).await;
    submit_email(&mut b, &flow, &csrf, "lars@example.com").await;
    let page = b.get(&format!("/t/acme/login?flow={flow}")).await;
    assert!(page.body.contains("Engangskode"), "{}", page.body);
    mailed_code(idpd, "lars@example.com", 0).await;
    let mail = outbox_mails(idpd, "lars@example.com").pop().unwrap();
    assert!(mail.contains("innloggingskode"), "{mail}");
    // ui_locales still wins over the tenant's order.
    english(&login_page_at(idpd, &client_id, "&ui_locales=en").await);
}

/// SEC-08/09: the page headers on login, error and CSRF pages; 303 after every POST; no CORS
/// at /authorize; no third-party origins in the HTML.
async fn page_headers_and_303_after_post(backend: Backend) {
    let s = setup(backend).await;
    let idpd = &s.idpd;
    let client_id = tenant_with_web_client(idpd, "acme").await;
    let mut b = Browser::new(idpd);
    let (_, challenge) = pkce();

    // Unknown client with an attacker's redirect URI: the error page, no redirect.
    let p = b
        .get("/t/acme/authorize?response_type=code&client_id=nope&redirect_uri=https%3A%2F%2Fevil.test%2Fcb&scope=openid&code_challenge=abc&code_challenge_method=S256")
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST, "{p:?}");
    assert!(p.location.is_none());
    assert!(!p.body.contains("evil.test"), "{}", p.body);
    assert_page_headers(&p);
    // An unknown flow.
    let p = b
        .get("/t/acme/login?flow=00000000-0000-0000-0000-000000000000")
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert_page_headers(&p);

    // The login page, then a CSRF failure page.
    let p = b.get(&authorize_url(&client_id, &challenge, "")).await;
    assert_eq!(p.status, StatusCode::FOUND, "a GET redirects with 302");
    let page = b.get(p.location.as_deref().unwrap()).await;
    assert_page_headers(&page);
    assert!(!page.body.contains("http://") && !page.body.contains("https://"));
    assert!(!page.body.contains("<script"), "{}", page.body);
    assert!(
        page.body.contains("<label for=\"email\">"),
        "labelled input: {}",
        page.body
    );
    let (flow, csrf) = (hidden(&page.body, "flow"), hidden(&page.body, "csrf"));
    let p = b
        .post(
            "/t/acme/login/email",
            &[("flow", &flow), ("email", "x@example.com")],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert_page_headers(&p);

    // 303 after each POST: /authorize, /login/email, /login/code.
    let form = query(&format!(
        "http://x{}",
        authorize_url(&client_id, &challenge, "")
    ));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut b2 = Browser::new(idpd);
    let p = b2.post("/t/acme/authorize", &pairs).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{p:?}");
    assert!(p.location.unwrap().starts_with("/t/acme/login?flow="));
    let p = submit_email(&mut b, &flow, &csrf, "mia@example.com").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let code = mailed_code(idpd, "mia@example.com", 0).await;
    let p = submit_code(&mut b, &flow, &csrf, &code).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    // A wrong code: the page again (400), with the headers.
    let p = submit_code(&mut b, &flow, &csrf, "12345x").await;
    assert!(p.status.is_client_error());
    assert_page_headers(&p);

    // No CORS at /authorize.
    let res = http_client()
        .request(
            Method::OPTIONS,
            format!(
                "{}{}",
                idpd.public_url(),
                authorize_url(&client_id, &challenge, "")
            ),
        )
        .header("origin", "https://evil.test")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert!(
        res.headers().get("access-control-allow-origin").is_none(),
        "{res:?}"
    );
    let res = http_client()
        .get(format!(
            "{}{}",
            idpd.public_url(),
            authorize_url(&client_id, &challenge, "")
        ))
        .header("origin", "https://evil.test")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
}

/// SEC-19, issue 16: two tenants on one host with one session cookie name would read each
/// other's cookies. A name another tenant holds (compared without `__Host-`/`__Secure-` and
/// ignoring case) is a 409 conflict at create, update and apply; another tenant's default
/// name (`__Host-idp-{its id}`) and the login-flow names are refused as invalid (422).
async fn cookie_names_are_unique_across_tenants(backend: Backend) {
    let s = setup(backend).await;
    let idpd = &s.idpd;
    let api = idpd.api();
    let (st, acme) = api
        .create_tenant(
            json!({"name": "Acme", "slug": "acme", "session": {"cookie_name": "__Host-sess"}}),
        )
        .await;
    assert_eq!(st, 201, "{acme}");
    let conflict = |st: u16, body: &Value| {
        assert_eq!(
            (st, body["error"].as_str()),
            (409, Some("conflict")),
            "{body}"
        );
        assert!(
            body["message"].as_str().unwrap().contains("cookie_name"),
            "{body}"
        );
    };
    let (st, body) = api
        .create_tenant(json!({"name": "Beta", "slug": "beta", "session": {"cookie_name": "SESS"}}))
        .await;
    conflict(st, &body);
    let (st, beta) = api
        .create_tenant(json!({"name": "Beta", "slug": "beta"}))
        .await;
    assert_eq!(st, 201, "{beta}");
    let patch = |name: String| {
        let api = idpd.api();
        async move {
            api.send(
                Method::PATCH,
                "/tenants/beta",
                Some(json!({"session": {"cookie_name": name}})),
            )
            .await
        }
    };
    for taken in ["__Secure-sess", "sess", "__Host-Sess"] {
        let (st, body) = patch(taken.into()).await;
        conflict(st, &body);
    }
    let acme_id = acme["id"].as_str().unwrap().replace('-', "");
    for reserved in [
        format!("__Host-idp-{acme_id}"),
        format!("idp-{acme_id}"),
        format!("__Host-idp-flow-{acme_id}"),
    ] {
        let (st, body) = patch(reserved.clone()).await;
        assert_eq!(
            (st, body["error"].as_str()),
            (422, Some("validation_failed")),
            "{reserved}: {body}"
        );
    }
    let out = idpd
        .ctl()
        .run(["tenant", "update", "beta", "--cookie-name", "__Secure-SESS"]);
    assert_eq!(out.code, 5, "{out:?}");
    assert!(out.stderr.contains("cookie_name"), "{out:?}");
    let (st, body) = patch("__Host-beta".into()).await;
    assert_eq!(st, 200, "{body}");
    // The browser sees two names.
    assert_ne!(
        session_cookie_name(idpd, "acme").await,
        session_cookie_name(idpd, "beta").await
    );
}

//! Issue 16 §3: account safety. Scopes removed from a client are not granted again by an old
//! grant; id_token_hint is honoured at /authorize; logout by hint needs the session's own
//! user; e-mail addresses are addr-specs; upstream accounts are not silently merged.

use idp_tests::browser::{Browser, acme_with_web_client, login, pkce, redeem, token};
use idp_tests::{Backend, both_backends, json, setup};

both_backends!(removed_scopes_do_not_survive_refresh);

/// SEC-25: after `client update --scope` narrows a client, its refresh tokens (and codes)
/// only ever yield the scopes it still has.
async fn removed_scopes_do_not_survive_refresh(backend: Backend) {
    let s = setup(backend).await;
    let idpd = &s.idpd;
    let client_id = acme_with_web_client(idpd).await;
    let (verifier, challenge) = pkce();
    let mut b = Browser::new(idpd);
    let q = login(&mut b, idpd, &client_id, &challenge, "ann@example.com").await;
    let (st, tokens) = redeem(idpd, &client_id, &q["code"], &verifier).await;
    assert_eq!(st, 200, "{tokens}");
    assert_eq!(tokens["scope"], "openid email offline_access");

    let (st, c) = idpd
        .api()
        .send(
            reqwest::Method::PATCH,
            &format!("/tenants/acme/clients/{client_id}"),
            Some(json!({"scopes": ["openid", "offline_access"]})),
        )
        .await;
    assert_eq!(st, 200, "{c}");

    let refresh = |rt: String, scope: Option<&'static str>| {
        let client_id = client_id.clone();
        async move {
            let mut form = vec![
                ("grant_type", "refresh_token".to_owned()),
                ("refresh_token", rt),
                ("client_id", client_id),
            ];
            if let Some(scope) = scope {
                form.push(("scope", scope.to_owned()));
            }
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            token(idpd, &form).await
        }
    };
    // Asking for the removed scope by name is refused (and does not spend the token)…
    let rt = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (st, err) = refresh(rt.clone(), Some("openid email")).await;
    assert_eq!(st, 400, "{err}");
    assert_eq!(err["error"], "invalid_scope");
    // …and a plain refresh grants only what the client still has.
    let (st, next) = refresh(rt, None).await;
    assert_eq!(st, 200, "{next}");
    assert_eq!(next["scope"], "openid offline_access");
    let (_, info) =
        idp_tests::browser::userinfo(idpd, next["access_token"].as_str().unwrap()).await;
    assert!(info.get("email").is_none(), "{info}");
}

/// Signs `email` in with a fresh browser; (browser, tokens of the code exchange).
async fn signed_in(
    idpd: &idp_tests::Idpd,
    client_id: &str,
    email: &str,
) -> (Browser, serde_json::Value) {
    let (verifier, challenge) = pkce();
    let mut b = Browser::new(idpd);
    let q = login(&mut b, idpd, client_id, &challenge, email).await;
    let (st, tokens) = redeem(idpd, client_id, &q["code"], &verifier).await;
    assert_eq!(st, 200, "{tokens}");
    (b, tokens)
}

/// Where an authorization request with `prompt=none` sends the browser `b`.
async fn silent_answer(b: &mut Browser, client_id: &str) -> String {
    let (_, challenge) = pkce();
    let url = idp_tests::browser::authorize_url(client_id, &challenge, "&prompt=none");
    let p = b.get(&url).await;
    p.location
        .unwrap_or_else(|| panic!("no redirect: {} {}", p.status, p.body))
}

fn id_token(tokens: &serde_json::Value) -> String {
    tokens["id_token"].as_str().unwrap().to_owned()
}

both_backends!(
    id_token_hint_at_authorize,
    logout_by_hint_needs_the_sessions_own_token
);

/// OIDC Core §3.1.2.1: with `prompt=none`, a hint naming another user than the session's
/// is `login_required`; a hint that is not this issuer's ID token is refused; the session's own hint works.
async fn id_token_hint_at_authorize(backend: Backend) {
    let s = setup(backend).await;
    let idpd = &s.idpd;
    let client_id = acme_with_web_client(idpd).await;
    let (mut alice, alice_tokens) = signed_in(idpd, &client_id, "alice@example.com").await;
    let (_, bob_tokens) = signed_in(idpd, &client_id, "bob@example.com").await;
    let (_, challenge) = pkce();
    let ask = |hint: String| {
        idp_tests::browser::authorize_url(
            &client_id,
            &challenge,
            &format!("&prompt=none&id_token_hint={hint}"),
        )
    };
    let answer = |p: idp_tests::browser::Page| {
        let to = p
            .location
            .unwrap_or_else(|| panic!("{}: {}", p.status, p.body));
        idp_tests::browser::query(&to)
    };
    // Bob's hint in Alice's browser: not Bob's session.
    let q = answer(alice.get(&ask(id_token(&bob_tokens))).await);
    assert_eq!(
        q.get("error").map(String::as_str),
        Some("login_required"),
        "{q:?}"
    );
    assert!(!q.contains_key("code"));
    // Garbage is refused.
    let q = answer(alice.get(&ask("not.a.jwt".into())).await);
    assert_eq!(
        q.get("error").map(String::as_str),
        Some("invalid_request"),
        "{q:?}"
    );
    // Alice's own hint: a code.
    let q = answer(alice.get(&ask(id_token(&alice_tokens))).await);
    assert!(q.contains_key("code"), "{q:?}");
}

/// RP-Initiated Logout 1.0 §2, §6: a valid hint of another user (or session) does not end
/// this browser's session without asking; the session's own hint does.
async fn logout_by_hint_needs_the_sessions_own_token(backend: Backend) {
    let s = setup(backend).await;
    let idpd = &s.idpd;
    let client_id = acme_with_web_client(idpd).await;
    let (mut alice, alice_tokens) = signed_in(idpd, &client_id, "alice@example.com").await;
    let (_, mallory_tokens) = signed_in(idpd, &client_id, "mallory@example.com").await;

    // Mallory's own (valid) ID token as the hint, in a link Alice follows: a question.
    let p = alice
        .get(&format!(
            "/t/acme/logout?id_token_hint={}",
            id_token(&mallory_tokens)
        ))
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("name=\"csrf\""), "{}", p.body);
    // Alice is still signed in, and her refresh token still works.
    let silent = silent_answer(&mut alice, &client_id).await;
    assert!(silent.contains("code="), "{silent}");
    let (st, refreshed) = token(
        idpd,
        &[
            ("grant_type", "refresh_token"),
            (
                "refresh_token",
                alice_tokens["refresh_token"].as_str().unwrap(),
            ),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!(st, 200, "{refreshed}");

    // Her own hint signs her out at once.
    let p = alice
        .get(&format!(
            "/t/acme/logout?id_token_hint={}",
            id_token(&alice_tokens)
        ))
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(!p.body.contains("name=\"csrf\""), "{}", p.body);
    let silent = silent_answer(&mut alice, &client_id).await;
    assert!(silent.contains("error=login_required"), "{silent}");
}

/// An e-mail address on the login page is a bare addr-spec: a display name would send the
/// code to the attacker's address and make the raw text a verified `email` claim.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_addresses_are_addr_specs() {
    let s = setup(Backend::Sqlite).await;
    let idpd = &s.idpd;
    let client_id = acme_with_web_client(idpd).await;
    let (_, challenge) = pkce();
    let mut b = Browser::new(idpd);
    let (flow, csrf) = idp_tests::browser::start_login(&mut b, &client_id, &challenge).await;
    for hostile in [
        "\"victim\"<attacker@evil.test>",
        "\"victim@example.com\"<attacker@evil.test>",
        "victim@example.com <attacker@evil.test>",
        "\"victim\"@example.com",
    ] {
        let p = idp_tests::browser::submit_email(&mut b, &flow, &csrf, hostile).await;
        assert_ne!(p.status, 303, "{hostile}: {}", p.body);
        assert!(p.status.is_client_error(), "{hostile}: {}", p.status);
    }
    assert!(idp_tests::browser::outbox_mails(idpd, "attacker@evil.test").is_empty());
}

//! Session administration through the real idpctl binary: sessions made by really signing
//! in are listed (all of a tenant's, or one user's), and revoking one takes effect at once:
//! the browser must sign in again and the session's refresh token fails with invalid_grant.

use idp_tests::browser::{
    Browser, REDIRECT, acme_with_web_client, authorize_url, login, pkce, query, token,
};
use idp_tests::{Backend, Value, both_backends, setup};
use reqwest::{Method, StatusCode};

both_backends!(sessions_are_listed_and_revoked_at_once);

fn items(list: &Value) -> &Vec<Value> {
    list["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {list}"))
}

async fn sessions_are_listed_and_revoked_at_once(backend: Backend) {
    let s = setup(backend).await;
    let idpd = &s.idpd;
    let ctl = idpd.ctl();
    let client_id = acme_with_web_client(idpd).await;

    // Alice signs in (with offline_access, so she gets a refresh token), then Bob in
    // another browser.
    let mut alice = Browser::new(idpd);
    let (verifier, challenge) = pkce();
    let q = login(
        &mut alice,
        idpd,
        &client_id,
        &challenge,
        "alice@example.com",
    )
    .await;
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
    let refresh = t["refresh_token"]
        .as_str()
        .expect("refresh_token")
        .to_owned();
    let mut bob = Browser::new(idpd);
    let (_, bob_challenge) = pkce();
    login(
        &mut bob,
        idpd,
        &client_id,
        &bob_challenge,
        "bob@example.com",
    )
    .await;
    let cookie_values: Vec<String> = alice
        .cookies
        .values()
        .chain(bob.cookies.values())
        .cloned()
        .collect();
    assert!(!cookie_values.is_empty());

    // Listed oldest first, with the user's address.
    let all = ctl
        .run(["-o", "json", "session", "list", "--tenant", "acme"])
        .ok()
        .json();
    let emails: Vec<_> = items(&all).iter().map(|s| &s["user_email"]).collect();
    assert_eq!(emails, ["alice@example.com", "bob@example.com"], "{all}");
    let session = &items(&all)[0];
    assert_eq!(session["tenant"], "acme");
    assert_eq!(session["provider"], "native");
    assert_eq!(session["amr"], serde_json::json!(["otp"]));
    for field in ["auth_time", "created_at", "last_seen_at", "expires_at"] {
        assert!(session[field].is_string(), "{field}: {session}");
    }
    let id = session["id"].as_str().expect("id").to_owned();

    // --user filters, by email (any case) or id; an unknown user is "not found".
    let mine = ctl
        .run([
            "-o",
            "json",
            "session",
            "list",
            "--tenant",
            "acme",
            "--user",
            "Alice@Example.com",
        ])
        .ok()
        .json();
    assert_eq!(items(&mine).len(), 1, "{mine}");
    assert_eq!(items(&mine)[0]["id"], id.as_str());
    let user_id = items(&mine)[0]["user_id"].as_str().unwrap().to_owned();
    let by_id = ctl
        .run([
            "-o", "json", "session", "list", "--tenant", "acme", "--user", &user_id,
        ])
        .ok()
        .json();
    assert_eq!(by_id, mine);
    let unknown = ctl.run([
        "session",
        "list",
        "--tenant",
        "acme",
        "--user",
        "nobody@example.com",
    ]);
    assert_eq!(unknown.code, 3, "{unknown:?}");

    // The table, for people.
    let table = ctl.run(["session", "list", "--tenant", "acme"]).ok().stdout;
    let header = table.lines().find(|l| l.contains("ID")).expect("header");
    for column in [
        "ID",
        "USER",
        "PROVIDER",
        "AUTH TIME",
        "LAST SEEN",
        "EXPIRES",
    ] {
        assert!(header.contains(column), "{column} in {table}");
    }
    assert!(
        table.contains(&id) && table.contains("alice@example.com"),
        "{table}"
    );

    // Revoking is destructive: refused without a terminal unless --yes.
    let refused = ctl.run(["session", "revoke", &id]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("--yes"), "{refused:?}");
    let p = alice
        .get(&authorize_url(&client_id, &challenge, "&prompt=none"))
        .await;
    assert!(
        query(p.location.as_deref().unwrap()).contains_key("code"),
        "still signed in after the refusal"
    );

    ctl.run(["session", "revoke", &id, "--yes"]).ok();
    // At once: the same browser must sign in again, and the refresh token is dead.
    let p = alice
        .get(&authorize_url(&client_id, &challenge, "&prompt=none"))
        .await;
    assert_eq!(p.status, StatusCode::FOUND, "{}", p.body);
    assert_eq!(
        query(p.location.as_deref().unwrap())["error"],
        "login_required"
    );
    let (st, e) = token(
        idpd,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!(
        (st, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "{e}"
    );

    // Bob's session is untouched, and the list no longer shows Alice's.
    let p = bob
        .get(&authorize_url(&client_id, &bob_challenge, "&prompt=none"))
        .await;
    assert!(query(p.location.as_deref().unwrap()).contains_key("code"));
    let left = ctl
        .run(["-o", "json", "session", "list", "--tenant", "acme"])
        .ok()
        .json();
    let emails: Vec<_> = items(&left).iter().map(|s| &s["user_email"]).collect();
    assert_eq!(emails, ["bob@example.com"], "{left}");

    // Revoking again, or an id that is no session at all: not found (exit 3, 404).
    for gone in [
        id.as_str(),
        "not-a-uuid",
        "00000000-0000-0000-0000-000000000000",
    ] {
        let again = ctl.run(["session", "revoke", gone, "--yes"]);
        assert_eq!(again.code, 3, "{gone}: {again:?}");
        let (st, body) = idpd
            .api()
            .send(Method::DELETE, &format!("/sessions/{gone}"), None)
            .await;
        assert_eq!(
            (st, body["error"].as_str()),
            (404, Some("not_found")),
            "{body}"
        );
    }

    // The revocation is logged by session id; cookie values never are.
    let logs = idpd.logs.text();
    assert!(
        logs.lines()
            .any(|l| l.contains("session revoked") && l.contains(&id)),
        "{logs}"
    );
    for value in &cookie_values {
        assert!(!logs.contains(value.as_str()), "cookie value in the logs");
    }
}

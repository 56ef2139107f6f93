//! Issue 16 §2: abuse budgets add friction without locking the victim out. Another
//! browser's code requests do not kill a pending code; a day's budget of typed codes ends
//! in "use the link", which still works; floods of wrong codes and of new flows are cut
//! without a row per request; audit events expire; invite-only tenants do the same work
//! for addresses that may and may not sign in.

use idp_tests::browser::{
    Browser, acme_with_web_client, authorize_url, hidden, mail_body, mailed_code, outbox_mails,
    pkce, start_login, submit_code, submit_email,
};
use idp_tests::{Backend, both_backends, setup};
use reqwest::StatusCode;

both_backends!(
    another_browser_cannot_kill_a_pending_code,
    the_daily_code_budget_leaves_the_link,
    wrong_code_floods_write_few_audit_rows,
    audit_events_expire
);

/// Starts a login in `b` (its own flow) and asks for a code for `email`; the flow and csrf.
async fn ask_code(b: &mut Browser, client_id: &str, email: &str) -> (String, String, StatusCode) {
    let (_, challenge) = pkce();
    let p = b.get(&authorize_url(client_id, &challenge, "")).await;
    let login = p.location.expect("to the login page");
    let page = b.get(&login).await;
    let (flow, csrf) = (hidden(&page.body, "flow"), hidden(&page.body, "csrf"));
    let p = submit_email(b, &flow, &csrf, email).await;
    (flow, csrf, p.status)
}

async fn another_browser_cannot_kill_a_pending_code(backend: Backend) {
    let s = setup(backend).await;
    let idpd = &s.idpd;
    let client_id = acme_with_web_client(idpd).await;
    let victim = "victim@example.com";
    let mut mine = Browser::new(idpd);
    let (_, challenge) = pkce();
    let (flow, csrf) = start_login(&mut mine, &client_id, &challenge).await;
    let p = submit_email(&mut mine, &flow, &csrf, victim).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let code = mailed_code(idpd, victim, 0).await;

    // An attacker elsewhere asks for codes for the victim's address until refused.
    let mut attacker = Browser::from_address(idpd, [127, 0, 0, 2]);
    let mut refused = false;
    for _ in 0..7 {
        let (_, _, status) = ask_code(&mut attacker, &client_id, victim).await;
        refused |= status == StatusCode::TOO_MANY_REQUESTS;
    }
    assert!(refused, "the attacker's source is limited");
    // The victim can still ask for a code from their own network…
    let (_, _, status) = ask_code(&mut Browser::new(idpd), &client_id, victim).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // …and the code of the first flow still signs in, in its own flow.
    let p = submit_code(&mut mine, &flow, &csrf, &code).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert!(p.location.unwrap().contains("code="));
}

async fn the_daily_code_budget_leaves_the_link(backend: Backend) {
    let s = setup(backend).await;
    let idpd = &s.idpd;
    let client_id = acme_with_web_client(idpd).await;
    let victim = "budget@example.com";
    // 50 wrong codes over ten flows from a few addresses (each code takes 5 tries).
    let mut guesses = 0;
    'outer: for ip in 2..=5u8 {
        for _ in 0..4 {
            let mut b = Browser::from_address(idpd, [127, 0, 0, ip]);
            let (flow, csrf, status) = ask_code(&mut b, &client_id, victim).await;
            assert_eq!(status, StatusCode::SEE_OTHER);
            for _ in 0..5 {
                let p = submit_code(&mut b, &flow, &csrf, "000000").await;
                assert_eq!(p.status, StatusCode::BAD_REQUEST, "{}", p.body);
                guesses += 1;
                if guesses == 50 {
                    break 'outer;
                }
            }
        }
    }
    // The real user's typed code is now refused for the day, with the way out named…
    let mut mine = Browser::new(idpd);
    let seen = outbox_mails(idpd, victim).len();
    let (flow, csrf, status) = ask_code(&mut mine, &client_id, victim).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let code = mailed_code(idpd, victim, seen).await;
    let p = submit_code(&mut mine, &flow, &csrf, &code).await;
    assert_eq!(p.status, StatusCode::TOO_MANY_REQUESTS, "{}", p.body);
    assert!(p.body.contains("link"), "{}", p.body);
    // …and the link in the same mail signs them in.
    let mail = outbox_mails(idpd, victim).pop().unwrap();
    let body = mail_body(&mail);
    let link = body
        .split_whitespace()
        .find(|w| w.contains("/login/link?"))
        .expect("a link in the mail");
    let path = &link[link.find("/t/acme/").unwrap()..];
    let p = mine.get(path).await;
    assert!(
        p.location.as_deref().is_some_and(|l| l.contains("code=")),
        "{}: {:?} {}",
        p.status,
        p.location,
        p.body
    );
}

async fn wrong_code_floods_write_few_audit_rows(backend: Backend) {
    let s = setup(backend).await;
    let idpd = &s.idpd;
    let client_id = acme_with_web_client(idpd).await;
    let mut b = Browser::new(idpd);
    let (flow, csrf, _) = ask_code(&mut b, &client_id, "flood@example.com").await;
    let mut limited = 0;
    for _ in 0..150 {
        let p = submit_code(&mut b, &flow, &csrf, "000000").await;
        limited += usize::from(p.status == StatusCode::TOO_MANY_REQUESTS);
    }
    assert!(limited >= 80, "{limited} of 150 posts were limited");
    let (st, log) = idpd
        .api()
        .send(
            reqwest::Method::GET,
            "/audit?tenant=acme&action=login.code&limit=1000",
            None,
        )
        .await;
    assert_eq!(st, 200);
    let rows = log["items"].as_array().unwrap().len();
    assert!(rows <= 62, "{rows} audit rows for 150 posts");
}

async fn audit_events_expire(backend: Backend) {
    let mut s = setup(backend).await;
    let store = idpd::store::connect(&s.db.url).await.unwrap();
    let mut old = idpd::model::audit::NewAuditEvent::new(
        "anonymous",
        "login.code",
        idpd::model::audit::Outcome::Failure,
    );
    old.at -= time::Duration::days(91);
    old.target = Some("ancient@example.com".into());
    store.insert_audit_event(&old).await.unwrap();
    let mut recent = old.clone();
    recent.at += time::Duration::days(2);
    recent.target = Some("recent@example.com".into());
    store.insert_audit_event(&recent).await.unwrap();
    store.close().await;
    // The maintenance task runs at start (and every 30 s).
    s.idpd.restart();
    let api = s.idpd.api();
    let mut gone = false;
    for _ in 0..100 {
        let (_, log) = api
            .send(reqwest::Method::GET, "/audit?action=login.code", None)
            .await;
        let text = log.to_string();
        assert!(text.contains("recent@example.com"), "{text}");
        if !text.contains("ancient@example.com") {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(gone, "an event past the 90-day retention is still there");
}

/// SEC-17 on an invite-only tenant: an address that may not sign in gets the same writes as
/// one that may (a stored code nobody is told), so the answer takes the same work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn addresses_that_may_not_sign_in_cost_the_same_writes() {
    use sqlx::{Connection, Row};
    let s = setup(Backend::Sqlite).await;
    let idpd = &s.idpd;
    let client_id = acme_with_web_client(idpd).await;
    let (st, t) = idpd
        .api()
        .send(
            reqwest::Method::PATCH,
            "/tenants/acme",
            Some(serde_json::json!({"signup_policy": "invite"})),
        )
        .await;
    assert_eq!(st, 200, "{t}");
    let (_, _, status) =
        ask_code(&mut Browser::new(idpd), &client_id, "stranger@example.com").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(outbox_mails(idpd, "stranger@example.com").is_empty());
    let mut db = sqlx::SqliteConnection::connect(&s.db.url).await.unwrap();
    let row =
        sqlx::query("SELECT COUNT(*) AS n FROM idp_otps WHERE email = 'stranger@example.com'")
            .fetch_one(&mut db)
            .await
            .unwrap();
    assert_eq!(row.get::<i64, _>("n"), 1);
}

/// Each /authorize that needs a login stores a flow: a source starting hundreds is refused
/// (429 with Retry-After) before it writes more, while other sources are not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_floods_are_refused_per_source() {
    let s = setup(Backend::Sqlite).await;
    let idpd = &s.idpd;
    let client_id = acme_with_web_client(idpd).await;
    let (_, challenge) = pkce();
    let url = authorize_url(&client_id, &challenge, "");
    let mut flooder = Browser::from_address(idpd, [127, 0, 0, 3]);
    let mut last = None;
    for _ in 0..=idpd::domain::login::FLOWS_PER_IP.max {
        let p = flooder.get(&url).await;
        last = Some(p);
    }
    let last = last.unwrap();
    assert_eq!(last.status, StatusCode::TOO_MANY_REQUESTS, "{}", last.body);
    assert!(last.header("retry-after").is_some());
    assert!(last.body.contains("<html"), "{}", last.body);
    let p = Browser::new(idpd).get(&url).await;
    assert_eq!(p.status, StatusCode::FOUND, "{}", p.body);
}

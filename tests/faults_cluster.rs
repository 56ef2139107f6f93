//! PostgreSQL faults (docs/security.md invariants 4 and 5):
//! - two idpd instances on one database, requests alternating between them: a code from one
//!   redeems at the other, refresh and introspection work across them, and revocation, reuse
//!   detection and a disabled user take effect on the other at once; a key rotated through
//!   one is used by the other within the 5 s bound of the key ring.
//! - PostgreSQL stopped under refresh load (a private cluster, so the shared server keeps
//!   serving other tests): token requests get 503 with Retry-After and never a 200,
//!   `/readyz` is 503 while `/healthz` stays 200, and once PostgreSQL is back the same
//!   daemon serves again without a restart; every token a client got in a 200 works.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use idp_tests::faults::{Outcome, PrivatePg, Signed, panicked, post_token, rotating_client};
use idp_tests::oauth::{self, Op};
use idp_tests::{Backend, Idpd, json, postgres_url, setup};

fn invalid_grant(o: &Outcome) -> bool {
    matches!(o, Outcome::Refused(400, e, _) if e == "invalid_grant")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgres() {
    if postgres_url().is_none() {
        eprintln!("skipped: IDP_TEST_POSTGRES_URL is not set");
        return;
    }
    let s = setup(Backend::Postgres).await;
    let one = &s.idpd;
    let two = s.second_instance();
    let (u1, u2) = (one.public_url(), two.public_url());
    let http = idp_tests::http_client();
    let mut signed = Signed::acme(one, "twin@example.com").await;
    let svc = oauth::service_client(&one.api(), "acme", None).await;
    let (op1, op2) = (Op::new(one, "acme"), Op::new(&two, "acme"));

    // Authorize on one, token on the other, then refresh alternating.
    let (code, verifier) = signed.code().await;
    let first = post_token(&http, &u2, &signed.redeem_form(&code, &verifier)).await;
    let mut rt = first
        .refresh_token()
        .expect("code redeemed at the other instance");
    let mut history = vec![rt.clone()];
    for (i, url) in [&u1, &u2, &u1, &u2].into_iter().enumerate() {
        let out = post_token(&http, url, &signed.refresh_form(&rt)).await;
        rt = out
            .refresh_token()
            .unwrap_or_else(|| panic!("refresh {i}: {out:?}"));
        history.push(rt.clone());
        let Outcome::Ok(v) = out else { unreachable!() };
        let at = v["access_token"].as_str().unwrap();
        assert!(op1.active(&svc, at).await && op2.active(&svc, at).await);
    }
    // Reuse detection: a replay at one kills the family at the other, at once.
    let replay = post_token(&http, &u1, &signed.refresh_form(&history[1])).await;
    assert!(invalid_grant(&replay), "{replay:?}");
    let newest = post_token(&http, &u2, &signed.refresh_form(&rt)).await;
    assert!(
        invalid_grant(&newest),
        "reuse detection seen at once: {newest:?}"
    );

    // Revocation at one is effective at the other at once.
    let rt = signed.family(one).await;
    let out = post_token(&http, &u2, &signed.refresh_form(&rt)).await;
    let Outcome::Ok(v) = out else {
        panic!("{out:?}")
    };
    let (rt, at) = (
        v["refresh_token"].as_str().unwrap().to_owned(),
        v["access_token"].as_str().unwrap().to_owned(),
    );
    let res = op1
        .revoke(&oauth::Auth::IdOnly(signed.client_id.clone()), &rt)
        .await;
    assert_eq!(res.status, 200, "{res:?}");
    assert!(!op2.active(&svc, &at).await, "revocation seen at once");
    let out = post_token(&http, &u2, &signed.refresh_form(&rt)).await;
    assert!(invalid_grant(&out), "{out:?}");

    // Disabling the user at one ends refresh at the other at once.
    let rt = signed.family(&two).await;
    let (st, users) = one
        .api()
        .send(reqwest::Method::GET, "/tenants/acme/users", None)
        .await;
    assert_eq!(st, 200, "{users}");
    let items = users["items"]
        .as_array()
        .or(users.as_array())
        .expect("users");
    let user = items
        .iter()
        .find(|u| u["email"] == "twin@example.com")
        .expect("the user");
    let (st, body) = one
        .api()
        .send(
            reqwest::Method::POST,
            &format!(
                "/tenants/acme/users/{}/disable",
                user["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert!(st == 200 || st == 204, "{st} {body}");
    let out = post_token(&http, &u2, &signed.refresh_form(&rt)).await;
    assert!(
        invalid_grant(&out),
        "disabled user refreshed at the other: {out:?}"
    );

    // A key rotated through one signs at the other within the bound.
    let old = op2.access_token(&svc).await;
    let (st, key) = one
        .api()
        .send(
            reqwest::Method::POST,
            "/tenants/acme/keys/rotate",
            Some(json!({"alg": "ES256", "activate_in_seconds": 0})),
        )
        .await;
    assert_eq!(st, 201, "{key}");
    let kid = key["kid"].as_str().unwrap().to_owned();
    let started = Instant::now();
    loop {
        let t = op2.access_token(&svc).await;
        let header = jsonwebtoken::decode_header(&t).unwrap();
        if header.kid.as_deref() == Some(kid.as_str()) && op2.kids().await.contains(&kid) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(6),
            "the other instance still signs with the old key after 6 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        op1.active(&svc, &old).await,
        "tokens of the old key still verify"
    );
    for log in [one.logs.text(), two.logs.text()] {
        assert!(!panicked(&log), "{log}");
    }
}

/// `/readyz` status, or 0 when it did not answer.
async fn readyz(http: &reqwest::Client, url: &str) -> u16 {
    match http.get(format!("{url}/readyz")).send().await {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    }
}

async fn wait_readyz(http: &reqwest::Client, url: &str, want: u16, within: Duration) {
    let started = Instant::now();
    while readyz(http, url).await != want {
        assert!(
            started.elapsed() < within,
            "/readyz did not turn {want} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_under_load() {
    if postgres_url().is_none() {
        eprintln!("skipped: IDP_TEST_POSTGRES_URL is not set");
        return;
    }
    let Some(pg) = PrivatePg::start() else {
        eprintln!("skipped: no PostgreSQL server binaries (run scripts/postgres-up.sh)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let idpd = Idpd::builder(&dir.path().join("data"), &pg.url()).start();
    let url = idpd.public_url();
    let http = idp_tests::http_client();
    let mut signed = Signed::acme(&idpd, "outage@example.com").await;
    let svc = oauth::service_client(&idpd.api(), "acme", None).await;
    let op = Op::new(&idpd, "acme");

    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let first = signed.family(&idpd).await;
        let client_id = signed.client_id.clone();
        let form = move |rt: &str| {
            vec![
                ("grant_type".into(), "refresh_token".into()),
                ("refresh_token".into(), rt.to_owned()),
                ("client_id".into(), client_id.clone()),
            ]
        };
        tasks.push(tokio::spawn(rotating_client(
            url.clone(),
            form,
            first,
            stop.clone(),
        )));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    pg.stop_immediate();
    wait_readyz(&http, &url, 503, Duration::from_secs(10)).await;
    let alive = http.get(format!("{url}/healthz")).send().await.unwrap();
    assert_eq!(alive.status(), 200, "/healthz stays 200");
    // Each of these waits for the pool's acquire timeout (3 s): one round is enough.
    {
        let res = op.client_credentials(&svc.basic(), None).await;
        assert_eq!(res.status, 503, "{res:?}");
        assert_eq!(res.json()["error"], "temporarily_unavailable", "{res:?}");
        assert!(res.header("retry-after").is_some(), "{res:?}");
        let (code, verifier) = ("idp_ac_x", "v");
        let out = post_token(&http, &url, &signed.redeem_form(code, verifier)).await;
        assert!(matches!(&out, Outcome::Refused(503, _, Some(_))), "{out:?}");
    }

    pg.pg_ctl_start();
    wait_readyz(&http, &url, 200, Duration::from_secs(15)).await;
    // The same process serves again: new families, refreshes, client credentials.
    let rt = signed.family(&idpd).await;
    let out = post_token(&http, &url, &signed.refresh_form(&rt)).await;
    assert!(out.is_ok(), "{out:?}");
    assert_eq!(op.client_credentials(&svc.basic(), None).await.status, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);

    let mut unavailable = 0;
    for t in tasks {
        // A client that failed (e.g. a 500 where a 503 was due) names the server's error.
        let f = t.await.unwrap_or_else(|e| {
            let errors: Vec<_> = idpd
                .logs
                .lines()
                .into_iter()
                .filter(|l| l.contains("\"ERROR\""))
                .collect();
            panic!("{e}\nidpd's errors:\n{}", errors.join("\n"))
        });
        unavailable += f.unavailable;
        assert!(f.cut_off.is_empty(), "the daemon kept answering: {f:?}");
        if f.lost {
            // The rotation committed but its acknowledgement was lost with the server (refresh
            // reads everything else before consuming, and signs with the keys in memory, so
            // this is the only window left). Reported: the design has no grace window.
            eprintln!("a family was lost to the outage: {f:?}");
            continue;
        }
        let newest = f.received.last().unwrap();
        let out = post_token(&http, &url, &signed.refresh_form(newest)).await;
        assert!(
            out.is_ok(),
            "a token received in a 200 failed after recovery: {out:?}"
        );
    }
    assert!(unavailable > 0, "the clients saw the outage");
    let log = idpd.logs.text();
    assert!(!panicked(&log), "{log}");
    eprintln!("outage: {unavailable} refreshes answered 503 + Retry-After, none 200");
}

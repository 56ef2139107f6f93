//! The audit log and the metrics: admin changes made with the real idpctl and logins made
//! in a browser are recorded (and nothing secret is), `idpctl audit list` filters them and
//! `idpctl audit tail` follows them; `/metrics` counters move as requests are made.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use idp_tests::browser::{
    Browser, acme_with_web_client, login, pkce, redeem, start_login, submit_code, submit_email,
};
use idp_tests::oauth::{Auth, Op};
use idp_tests::{Backend, Value, bin, both_backends, http_client, setup};

both_backends!(admin_changes_and_logins_are_audited);
both_backends!(audit_tail_follows_new_events);
both_backends!(metrics_count_requests_tokens_and_logins);

fn events(v: &Value) -> Vec<Value> {
    v["items"].as_array().cloned().unwrap_or_default()
}

fn find<'a>(events: &'a [Value], action: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["action"] == action).collect()
}

/// A client_credentials client "svc" of acme, made with idpctl: (client_id, secret).
fn service_client(idpd: &idp_tests::Idpd) -> (String, String) {
    let created = idpd
        .ctl()
        .run([
            "client",
            "create",
            "--tenant",
            "acme",
            "--name",
            "svc",
            "--grant",
            "client_credentials",
            "-o",
            "json",
        ])
        .ok()
        .json();
    (
        created["client"]["client_id"].as_str().unwrap().to_owned(),
        created["client_secret"].as_str().unwrap().to_owned(),
    )
}

async fn admin_changes_and_logins_are_audited(backend: Backend) {
    let s = setup(backend).await;
    let idpd = &s.idpd;
    let ctl = idpd.ctl();
    let client_id = acme_with_web_client(idpd).await;
    let (svc, secret) = service_client(idpd);
    ctl.run([
        "client",
        "rotate-secret",
        "--tenant",
        "acme",
        &svc,
        "--yes",
        "-o",
        "json",
    ])
    .ok();
    // A refused change is recorded as a failure with its error code.
    let dup = ctl.run([
        "tenant",
        "create",
        "Acme again",
        "--slug",
        "acme",
        "-o",
        "json",
    ]);
    assert_eq!(dup.code, 5, "{dup:?}");
    ctl.run([
        "user",
        "create",
        "--tenant",
        "acme",
        "--email",
        "carol@example.com",
        "-o",
        "json",
    ])
    .ok();

    // A login that fails once, then succeeds.
    let mut b = Browser::new(idpd);
    let (_, challenge) = pkce();
    let (flow, csrf) = start_login(&mut b, &client_id, &challenge).await;
    submit_email(&mut b, &flow, &csrf, "dave@example.com").await;
    let wrong = submit_code(&mut b, &flow, &csrf, "000000").await;
    assert_eq!(wrong.status.as_u16(), 400);
    let mut b2 = Browser::new(idpd);
    let (_, challenge) = pkce();
    login(&mut b2, idpd, &client_id, &challenge, "erin@example.com").await;

    let all = ctl
        .run(["audit", "list", "--tenant", "acme", "-o", "json"])
        .ok()
        .json();
    let all = events(&all);
    let create = find(&all, "client.create");
    assert_eq!(create.len(), 2, "{all:#?}");
    assert!(
        create.iter().any(|e| e["target"] == svc.as_str()),
        "{create:#?}"
    );
    for e in &create {
        assert_eq!(e["outcome"], "success");
        assert_eq!(e["tenant"], "acme");
        assert!(e["actor"].as_str().unwrap().starts_with("admin:"), "{e}");
        assert!(
            e["request_id"].as_str().is_some_and(|r| !r.is_empty()),
            "{e}"
        );
        assert_eq!(e["client_ip"], "127.0.0.1");
    }
    let rotate = find(&all, "client.rotate-secret");
    assert_eq!(rotate.len(), 1, "{all:#?}");
    assert_eq!(rotate[0]["target"], svc.as_str());
    let user = find(&all, "user.create");
    assert_eq!(user[0]["target"], "carol@example.com");
    // A refused create names no tenant (none was made): it is in the unfiltered log.
    let everything = events(&ctl.run(["audit", "list", "-o", "json"]).ok().json());
    let failed = find(&everything, "tenant.create");
    assert!(
        failed
            .iter()
            .any(|e| e["outcome"] == "failure" && e["reason"] == "conflict"),
        "{everything:#?}"
    );
    let logins = find(&all, "login.code");
    assert!(
        logins.iter().any(|e| e["outcome"] == "failure"
            && e["target"] == "dave@example.com"
            && e["reason"] == "invalid_code"),
        "{logins:#?}"
    );
    assert!(
        logins.iter().any(|e| e["outcome"] == "success"
            && e["target"] == "erin@example.com"
            && e["actor"].as_str().unwrap().starts_with("user:")),
        "{logins:#?}"
    );
    // Newest first.
    let seqs: Vec<i64> = all.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] > w[1]), "{seqs:?}");

    // Filters: by noun, by exact action, by time, by limit.
    let clients = events(
        &ctl.run([
            "audit", "list", "--tenant", "acme", "--action", "client", "-o", "json",
        ])
        .ok()
        .json(),
    );
    assert_eq!(clients.len(), 3, "{clients:#?}");
    assert!(
        clients
            .iter()
            .all(|e| e["action"].as_str().unwrap().starts_with("client."))
    );
    let one = events(
        &ctl.run(["audit", "list", "--limit", "1", "-o", "json"])
            .ok()
            .json(),
    );
    assert_eq!(one.len(), 1);
    let future = events(
        &ctl.run([
            "audit",
            "list",
            "--since",
            "2999-01-01T00:00:00Z",
            "-o",
            "json",
        ])
        .ok()
        .json(),
    );
    assert!(future.is_empty(), "{future:#?}");
    let recent = events(
        &ctl.run(["audit", "list", "--since", "1h", "-o", "json"])
            .ok()
            .json(),
    );
    assert!(recent.len() >= all.len(), "{recent:#?}");
    let other = events(
        &ctl.run(["audit", "list", "--tenant", "nope", "-o", "json"])
            .ok()
            .json(),
    );
    assert!(other.is_empty());
    // Bad input is a usage error or a 400, never a crash.
    assert_eq!(ctl.run(["audit", "list", "--since", "yesterday"]).code, 2);
    assert_eq!(ctl.run(["audit", "list", "--limit", "0"]).code, 2);
    let (st, body) = idpd
        .api()
        .send(reqwest::Method::GET, "/audit?limit=5000", None)
        .await;
    assert_eq!(st, 400, "{body}");
    let (st, body) = idpd
        .api()
        .send(reqwest::Method::GET, "/audit?since=yesterday", None)
        .await;
    assert_eq!(st, 400, "{body}");

    // Nothing secret in the log: not the client secret, not the admin token.
    let dump = serde_json::to_string(&all).unwrap();
    assert!(!dump.contains(&secret));
    assert!(!dump.contains(&idpd.admin_token()));
    // The table output has a header and a row per event.
    let table = ctl
        .run(["audit", "list", "--tenant", "acme", "--action", "user"])
        .ok();
    assert!(
        table.stdout.contains("ACTION") && table.stdout.contains("user.create"),
        "{table:?}"
    );
}

async fn audit_tail_follows_new_events(backend: Backend) {
    let s = setup(backend).await;
    let idpd = &s.idpd;
    idpd.ctl()
        .run(["tenant", "create", "First", "--slug", "first", "-o", "json"])
        .ok();
    let mut tail = Command::new(bin("idpctl"))
        .args([
            "--url",
            &idpd.admin_url(),
            "audit",
            "tail",
            "-n",
            "5",
            "-o",
            "json",
        ])
        .env("IDPCTL_TOKEN", idpd.admin_token())
        .env_remove("IDPCTL_URL")
        .env_remove("IDPCTL_TOKEN_FILE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run idpctl audit tail");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stdout = tail.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next = |rx: &std::sync::mpsc::Receiver<String>| -> Value {
        let line = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("a line from audit tail");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    };
    let first = next(&rx);
    assert_eq!(first["action"], "tenant.create");
    assert_eq!(first["target"], "first");

    let started = Instant::now();
    idpd.ctl()
        .run([
            "tenant", "create", "Second", "--slug", "second", "-o", "json",
        ])
        .ok();
    idpd.ctl().run(["tenant", "delete", "second", "--yes"]).ok();
    let created = next(&rx);
    assert_eq!(
        (created["action"].as_str(), created["target"].as_str()),
        (Some("tenant.create"), Some("second"))
    );
    let deleted = next(&rx);
    assert_eq!(deleted["action"], "tenant.delete");
    assert_eq!(deleted["tenant"], "second");
    assert!(started.elapsed() < Duration::from_secs(10));
    let _ = tail.kill();
    let _ = tail.wait();
}

async fn metric(idpd: &idp_tests::Idpd, name: &str, labels: &[(&str, &str)]) -> f64 {
    let res = http_client()
        .get(format!("{}/metrics", idpd.admin_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    text.lines()
        .filter(|l| l.starts_with(name) && !l.starts_with('#'))
        .filter(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn metrics_count_requests_tokens_and_logins(backend: Backend) {
    let s = setup(backend).await;
    let idpd = &s.idpd;
    let client_id = acme_with_web_client(idpd).await;
    let (id, secret) = service_client(idpd);
    let op = Op::new(idpd, "acme");
    let token_route = [("route", "/t/{slug}/token"), ("status", "200")];
    let before = metric(idpd, "idpd_http_requests_total", &token_route).await;
    let issued_before = metric(
        idpd,
        "idpd_tokens_issued_total",
        &[("tenant", "acme"), ("grant_type", "client_credentials")],
    )
    .await;
    for _ in 0..3 {
        let res = op
            .client_credentials(&Auth::Basic(id.clone(), secret.clone()), None)
            .await;
        assert_eq!(res.status, 200, "{res:?}");
    }
    // A failed request counts under its status, not as an issued token.
    let res = op
        .client_credentials(&Auth::Basic(id.clone(), "wrong".into()), None)
        .await;
    assert_eq!(res.status, 401, "{res:?}");
    assert_eq!(
        metric(idpd, "idpd_http_requests_total", &token_route).await - before,
        3.0
    );
    assert_eq!(
        metric(
            idpd,
            "idpd_tokens_issued_total",
            &[("tenant", "acme"), ("grant_type", "client_credentials")]
        )
        .await
            - issued_before,
        3.0
    );
    assert_eq!(
        metric(
            idpd,
            "idpd_http_requests_total",
            &[("route", "/t/{slug}/token"), ("status", "401")]
        )
        .await,
        1.0
    );
    assert!(
        metric(
            idpd,
            "idpd_http_request_duration_seconds_count",
            &[("route", "/t/{slug}/token")]
        )
        .await
            >= 4.0
    );
    // Unknown paths share one label value: a scanner cannot grow the label set.
    http_client()
        .get(format!("{}/no/such/{}", idpd.public_url(), "x".repeat(40)))
        .send()
        .await
        .unwrap();
    assert!(metric(idpd, "idpd_http_requests_total", &[("route", "unmatched")]).await >= 1.0);

    // Logins and the authorization code grant.
    let mut b = Browser::new(idpd);
    let (verifier, challenge) = pkce();
    let q = login(&mut b, idpd, &client_id, &challenge, "alice@example.com").await;
    let (st, _) = redeem(idpd, &client_id, &q["code"], &verifier).await;
    assert_eq!(st, 200);
    assert_eq!(
        metric(
            idpd,
            "idpd_logins_total",
            &[
                ("tenant", "acme"),
                ("method", "code"),
                ("outcome", "success")
            ]
        )
        .await,
        1.0
    );
    assert_eq!(
        metric(
            idpd,
            "idpd_tokens_issued_total",
            &[("grant_type", "authorization_code")]
        )
        .await,
        1.0
    );
    // The pool gauges are there, and the maximum is the configured one.
    assert!(metric(idpd, "idpd_db_connections", &[("state", "max")]).await >= 1.0);
}

both_backends!(refusals_code_requests_and_logouts_are_audited);

/// Issue 16 §5: failed admin authentication (throttled per source), e-mail code requests and
/// logouts are in the audit log, without secrets.
async fn refusals_code_requests_and_logouts_are_audited(backend: Backend) {
    let s = setup(backend).await;
    let idpd = &s.idpd;
    let client_id = acme_with_web_client(idpd).await;
    let admin = format!("http://{}/api/v1/tenants", idpd.admin);
    let http = http_client();
    for _ in 0..40 {
        let res = http
            .get(&admin)
            .bearer_auth("idp_at_not-a-real-token")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 401);
    }
    let res = http.get(&admin).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 401);

    let (verifier, challenge) = pkce();
    let mut b = Browser::new(idpd);
    let q = login(&mut b, idpd, &client_id, &challenge, "audited@example.com").await;
    let (st, tokens) = redeem(idpd, &client_id, &q["code"], &verifier).await;
    assert_eq!(st, 200, "{tokens}");
    let p = b
        .get(&format!(
            "/t/acme/logout?id_token_hint={}",
            tokens["id_token"].as_str().unwrap()
        ))
        .await;
    assert_eq!(p.status, 200);

    let ctl = idpd.ctl();
    let all = events(
        &ctl.run(["audit", "list", "--limit", "1000", "-o", "json"])
            .ok()
            .json(),
    );
    let refusals = find(&all, "admin.authenticate");
    // 30 per source and minute, plus the first refusal past them (a minute boundary in the
    // middle of the loop may allow a second window).
    assert!(
        (31..=62).contains(&refusals.len()),
        "{} refusals audited",
        refusals.len()
    );
    assert!(refusals.iter().all(|e| e["outcome"] == "failure"
        && e["client_ip"] == "127.0.0.1"
        && !e.to_string().contains("not-a-real-token")));
    let requested = find(&all, "login.code_request");
    assert_eq!(requested.len(), 1, "{all:#?}");
    assert_eq!(requested[0]["target"], "audited@example.com");
    assert_eq!(requested[0]["outcome"], "success");
    let logouts = find(&all, "logout");
    assert_eq!(logouts.len(), 1, "{all:#?}");
    assert_eq!(logouts[0]["outcome"], "success");
    assert!(logouts[0]["actor"].as_str().unwrap().starts_with("user:"));
}

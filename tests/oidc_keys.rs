//! Signing keys (SEC-13): the life cycle through idpctl, rotation under load with a verifier
//! that caches the JWKS, and a rotation seen by a second idpd on the same PostgreSQL.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use idp_tests::oauth::{self, Op, Verifier};
use idp_tests::{Backend, both_backends, json, setup};
use jsonwebtoken::Algorithm;

both_backends!(
    key_life_cycle_with_idpctl,
    idpctl_takes_kids_starting_with_a_hyphen,
    rotation_under_load,
);

/// (kid, alg, state) of `idpctl -o json key list`.
fn key_states(ctl: &idp_tests::Ctl, all: bool) -> Vec<(String, String, String)> {
    let mut args = vec!["-o", "json", "key", "list", "--tenant", "acme"];
    if all {
        args.push("--all");
    }
    let list = ctl.run(args).ok().json();
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|k| {
            (
                k["kid"].as_str().unwrap().to_owned(),
                k["alg"].as_str().unwrap().to_owned(),
                k["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn state_of(states: &[(String, String, String)], kid: &str) -> String {
    states
        .iter()
        .find(|(k, _, _)| k == kid)
        .map(|(_, _, s)| s.clone())
        .unwrap_or_else(|| format!("missing from {states:?}"))
}

/// Exactly one active key per algorithm that has keys.
#[track_caller]
fn one_active_per_alg(states: &[(String, String, String)]) {
    for alg in ["RS256", "ES256", "EdDSA"] {
        let of_alg: Vec<_> = states.iter().filter(|(_, a, _)| a == alg).collect();
        if of_alg.is_empty() {
            continue;
        }
        let active = of_alg.iter().filter(|(_, _, s)| s == "active").count();
        assert_eq!(active, 1, "{alg}: {states:?}");
    }
}

async fn key_life_cycle_with_idpctl(backend: Backend) {
    let s = setup(backend).await;
    let api = s.idpd.api();
    let ctl = s.idpd.ctl();
    oauth::create_tenant(&api, "acme").await;
    let svc = oauth::service_client(&api, "acme", None).await;
    let op = Op::new(&s.idpd, "acme");
    let verifier = Verifier::new(&op).await;

    // A new tenant has an active key of every advertised algorithm (issue 16: a first key
    // made on demand would sign before cached JWKS knew it).
    let states = key_states(&ctl, false);
    let mut algs: Vec<_> = states
        .iter()
        .map(|(_, a, s)| (a.clone(), s.clone()))
        .collect();
    algs.sort();
    assert_eq!(
        algs,
        [
            ("ES256".to_owned(), "active".to_owned()),
            ("EdDSA".to_owned(), "active".to_owned()),
            ("RS256".to_owned(), "active".to_owned())
        ]
    );
    let table = ctl.run(["key", "list", "--tenant", "acme"]).ok().stdout;
    assert!(
        table.contains("ES256") && table.contains("RS256") && table.contains("active"),
        "{table}"
    );
    let es0 = states
        .iter()
        .find(|(_, a, _)| a == "ES256")
        .unwrap()
        .0
        .clone();
    let t0 = op.access_token(&svc).await;
    assert_eq!(kid(&verifier, &t0).await, es0);

    // Default rotation: published at once, signing only after the pre-publication delay.
    let n1 = ctl
        .run([
            "-o", "json", "key", "rotate", "--tenant", "acme", "--alg", "ES256",
        ])
        .ok()
        .json();
    assert_eq!(n1["state"], "next", "{n1}");
    assert_eq!(n1["alg"], "ES256");
    assert!(
        n1["activates_at"].as_str() > n1["created_at"].as_str(),
        "{n1}"
    );
    let n1 = n1["kid"].as_str().unwrap().to_owned();
    assert!(op.kids().await.contains(&n1), "published before it signs");
    let t1 = op.access_token(&svc).await;
    assert_eq!(kid(&verifier, &t1).await, es0, "the old key still signs");
    let states = key_states(&ctl, false);
    assert_eq!(state_of(&states, &es0), "active");
    assert_eq!(state_of(&states, &n1), "next");
    one_active_per_alg(&states);

    // Immediate rotation (a compromised key): new tokens get the new kid; old ones verify.
    let n2 = ctl
        .run([
            "-o",
            "json",
            "key",
            "rotate",
            "--tenant",
            "acme",
            "--alg",
            "ES256",
            "--activate-in",
            "0s",
        ])
        .ok()
        .json();
    assert_eq!(n2["state"], "active", "{n2}");
    let n2 = n2["kid"].as_str().unwrap().to_owned();
    let t2 = op.access_token(&svc).await;
    assert_eq!(kid(&verifier, &t2).await, n2);
    assert_eq!(kid(&verifier, &t0).await, es0, "old token still verifies");
    assert_eq!(kid(&verifier, &t1).await, es0);
    for t in [&t0, &t1, &t2] {
        assert!(op.active(&svc, t).await);
    }
    let states = key_states(&ctl, false);
    assert_eq!(state_of(&states, &es0), "retiring");
    assert_eq!(state_of(&states, &n2), "active");
    assert_eq!(state_of(&states, &n1), "next");
    one_active_per_alg(&states);

    // Retiring: the active key is refused, a retiring one needs --force (and confirmation).
    // (`--` because a kid may start with '-': see idpctl_takes_kids_starting_with_a_hyphen.)
    let r = ctl.run(["key", "retire", "--", &n2]);
    assert_eq!(r.code, 5, "active key: {r:?}");
    let r = ctl.run(["key", "retire", "--", &es0]);
    assert_eq!(r.code, 5, "retiring key without --force: {r:?}");
    assert!(r.stderr.contains("--force"), "{r:?}");
    let r = ctl.run(["key", "retire", "--force", "--", &es0]);
    assert_eq!(r.code, 1, "--force without --yes and no terminal: {r:?}");
    assert!(op.kids().await.contains(&es0));
    let retired = ctl
        .run([
            "-o", "json", "key", "retire", "--force", "--yes", "--", &es0,
        ])
        .ok()
        .json();
    assert_eq!(retired["state"], "removed", "{retired}");
    let kids = op.kids().await;
    assert!(!kids.contains(&es0), "{kids:?}");
    assert!(kids.contains(&n2) && kids.contains(&n1), "{kids:?}");
    // Tokens it signed now fail, for a fresh verifier and for introspection.
    let fresh = Verifier::new(&op).await;
    let err = fresh.verify(&t0, Algorithm::ES256).await.unwrap_err();
    assert!(err.contains("not in the JWKS"), "{err}");
    assert!(!op.active(&svc, &t0).await);
    assert!(op.active(&svc, &t2).await);

    // A key that never signed can be withdrawn without --force.
    ctl.run(["key", "retire", "--", &n1]).ok();
    assert!(!op.kids().await.contains(&n1));
    assert_eq!(kid(&verifier, &op.access_token(&svc).await).await, n2);
    let states = key_states(&ctl, false);
    assert!(states.iter().all(|(k, _, _)| k != &es0 && k != &n1));
    one_active_per_alg(&states);
    let all = key_states(&ctl, true);
    assert_eq!(state_of(&all, &es0), "removed");
    assert_eq!(state_of(&all, &n1), "removed");
    // Retiring a removed key again changes nothing; an unknown kid is not found.
    ctl.run(["key", "retire", "--", &es0]).ok();
    assert_eq!(ctl.run(["key", "retire", "no-such-kid"]).code, 3);

    // `keys` is an alias; the default algorithm of a rotation is RS256.
    let rs = ctl
        .run(["-o", "json", "keys", "rotate", "--tenant", "acme"])
        .ok()
        .json();
    assert_eq!(
        (rs["alg"].as_str(), rs["state"].as_str()),
        (Some("RS256"), Some("next"))
    );
    // Bad activation delays are refused by idpd.
    let (status, body) = api
        .send(
            reqwest::Method::POST,
            "/tenants/acme/keys/rotate",
            Some(json!({"alg": "ES256", "activate_in_seconds": -1})),
        )
        .await;
    assert_eq!(status, 422, "{body}");
}

/// Kids are base64url: idpd never generates one that starts with '-' or '_', and idpctl
/// still takes such a kid as a value, not as an option (a kid starting with "-h" once
/// printed the help and exited 0, retiring nothing).
async fn idpctl_takes_kids_starting_with_a_hyphen(backend: Backend) {
    let s = setup(backend).await;
    let api = s.idpd.api();
    let ctl = s.idpd.ctl();
    oauth::create_tenant(&api, "acme").await;
    for _ in 0..40 {
        let (status, key) = api
            .send(
                reqwest::Method::POST,
                "/tenants/acme/keys/rotate",
                Some(json!({"alg": "ES256", "activate_in_seconds": 86400})),
            )
            .await;
        assert_eq!(status, 201, "{key}");
        let kid = key["kid"].as_str().unwrap();
        assert!(
            kid.starts_with(|c: char| c.is_ascii_alphanumeric()),
            "{kid}"
        );
    }
    for kid in ["-hx", "-V", "-x-y"] {
        let r = ctl.run(["key", "retire", kid]);
        assert_eq!(
            r.code, 3,
            "{kid} must reach the server as a kid (404): {r:?}"
        );
    }
}

/// Tasks keep getting and verifying tokens while the ES256 key is rotated (activation at
/// once) five times; the verifier caches the JWKS and refetches only on an unknown kid.
async fn rotation_under_load(backend: Backend) {
    let s = setup(backend).await;
    let api = s.idpd.api();
    oauth::create_tenant(&api, "acme").await;
    let svc = oauth::service_client(&api, "acme", None).await;
    let op = Op::new(&s.idpd, "acme");
    let verifier = Arc::new(Verifier::new(&op).await);
    let first = op.access_token(&svc).await;

    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = Arc::new(Mutex::new(HashMap::<String, usize>::new()));
    const TASKS: usize = 4;
    let workers: Vec<_> = (0..TASKS)
        .map(|_| {
            let (op, svc, verifier) = (op.clone(), svc.clone(), verifier.clone());
            let (stop, failures, seen) = (stop.clone(), failures.clone(), seen.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let res = op.client_credentials(&svc.basic(), None).await;
                    if res.status != 200 {
                        failures.lock().unwrap().push(format!("token: {res:?}"));
                        continue;
                    }
                    let token = res.json()["access_token"].as_str().unwrap().to_owned();
                    match verifier.verify(&token, Algorithm::ES256).await {
                        Ok(v) => *seen.lock().unwrap().entry(v.kid().to_owned()).or_default() += 1,
                        Err(e) => failures.lock().unwrap().push(e),
                    }
                }
            })
        })
        .collect();

    const ROTATIONS: usize = 5;
    let started = Instant::now();
    for round in 0..ROTATIONS {
        let (status, key) = api
            .send(
                reqwest::Method::POST,
                "/tenants/acme/keys/rotate",
                Some(json!({"alg": "ES256", "activate_in_seconds": 0})),
            )
            .await;
        assert_eq!(status, 201, "{key}");
        let kid = key["kid"].as_str().unwrap().to_owned();
        // Wait until the new key has signed a good number of verified tokens.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let n = seen.lock().unwrap().get(&kid).copied().unwrap_or(0);
            if n >= 150 || !failures.lock().unwrap().is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "round {round}: key {kid} signed only {n} verified tokens in 10 s"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    let failures = failures.lock().unwrap().clone();
    let seen = seen.lock().unwrap().clone();
    eprintln!(
        "{} tokens in {:?}, kids {seen:?}, {} JWKS fetches",
        seen.values().sum::<usize>(),
        started.elapsed(),
        verifier.fetches()
    );
    assert!(failures.is_empty(), "verification failures: {failures:?}");
    assert!(seen.len() > ROTATIONS, "kids seen: {seen:?}");
    assert!(
        verifier.fetches() <= 1 + ROTATIONS * TASKS,
        "the JWKS is refetched only for unknown kids: {} fetches",
        verifier.fetches()
    );
    // The token from before the rotations still verifies, with a freshly fetched JWKS too.
    verifier.verify(&first, Algorithm::ES256).await.unwrap();
    Verifier::new(&op)
        .await
        .verify(&first, Algorithm::ES256)
        .await
        .unwrap();
}

/// A rotation (and a forced retirement) made through one idpd is seen by a second idpd on
/// the same PostgreSQL database within 5 s: it signs with the new key and publishes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_instance_sees_rotation_on_postgres() {
    if idp_tests::postgres_url().is_none() {
        eprintln!("skipped: IDP_TEST_POSTGRES_URL is not set");
        return;
    }
    let s = setup(Backend::Postgres).await;
    let api = s.idpd.api();
    oauth::create_tenant(&api, "acme").await;
    let svc = oauth::service_client(&api, "acme", None).await;
    let second = s.second_instance();
    let (op1, op2) = (Op::new(&s.idpd, "acme"), Op::new(&second, "acme"));
    let v1 = Verifier::new(&op1).await;
    let v2 = Verifier::new(&op2).await;
    assert_eq!(v1.issuer, v2.issuer);

    // Both instances have loaded the ring and sign with the same key.
    let old = op2.access_token(&svc).await;
    let k0 = kid(&v1, &old).await;
    assert_eq!(kid(&v2, &op1.access_token(&svc).await).await, k0);
    assert!(op1.active(&svc, &old).await);

    let (status, key) = api
        .send(
            reqwest::Method::POST,
            "/tenants/acme/keys/rotate",
            Some(json!({"alg": "ES256", "activate_in_seconds": 0})),
        )
        .await;
    assert_eq!(status, 201, "{key}");
    let new = key["kid"].as_str().unwrap().to_owned();
    assert_eq!(
        kid(&v1, &op1.access_token(&svc).await).await,
        new,
        "at once on the first"
    );

    let waited = poll_5s("the second instance signs with the new key", || async {
        op2.kids().await.contains(&new) && kid(&v2, &op2.access_token(&svc).await).await == new
    })
    .await;
    eprintln!("second instance switched after {waited:?}");
    let t2 = op2.access_token(&svc).await;
    assert_eq!(kid(&v1, &t2).await, new);
    assert!(op1.active(&svc, &t2).await);
    assert!(
        op2.active(&svc, &old).await,
        "the retiring key still verifies"
    );

    // A forced retirement through the first leaves the second's JWKS too.
    let (status, body) = api
        .send(
            reqwest::Method::POST,
            &format!("/keys/{k0}/retire"),
            Some(json!({"force": true})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    poll_5s("the second instance drops the retired key", || async {
        !op2.kids().await.contains(&k0) && !op2.active(&svc, &old).await
    })
    .await;
}

/// The kid of a token that verifies (ES256).
async fn kid(v: &Verifier, token: &str) -> String {
    v.verify(token, Algorithm::ES256)
        .await
        .unwrap_or_else(|e| panic!("token does not verify: {e}"))
        .kid()
        .to_owned()
}

/// Polls `check` every 200 ms; fails after 5 s. Returns how long it took.
async fn poll_5s<F, Fut>(what: &str, check: F) -> Duration
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if check().await {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{what}: not within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

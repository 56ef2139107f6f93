//! Refresh-token rotation across crashes and shutdowns (docs/security.md invariants 1–3).
//!
//! What the design promises (domain/grants.rs, store `rotate_refresh`): consuming a refresh
//! token and storing its successor is one transaction, committed before the answer is sent;
//! there is no grace window, so presenting a consumed token again is a replay that revokes
//! the family. Hence:
//! - `kill -9`: no token ever gets two 200s; a token received in a 200 keeps working until
//!   the client uses it. The one exception is a request cut off by the crash (no answer):
//!   if the daemon had committed the rotation, the successor is lost with the process and
//!   the retry is a replay (400 `invalid_grant`, family revoked); if not, the retry works.
//!   Either way the retry never gets a 5xx and never a second successor.
//! - SIGTERM: in-flight requests finish and get their answers, so no request is cut off
//!   after its token was consumed: every retry after a connection error succeeds.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use idp_tests::faults::{
    Family, Outcome, Signed, panicked, post_token, rotating_client, wait_healthy,
};
use idp_tests::{Backend, both_backends, setup};

both_backends!(
    kill9_during_refresh_rotation,
    sigterm_during_refresh_rotation
);

const FAMILIES: usize = 6;

/// Runs `FAMILIES` clients while `fault` acts on the daemon, then checks the invariants that
/// hold for any fault and returns the families.
async fn rotate_through<F, Fut>(backend: Backend, fault: F) -> Vec<Family>
where
    F: FnOnce(idp_tests::Setup) -> Fut,
    Fut: std::future::Future<Output = idp_tests::Setup>,
{
    let s = setup(backend).await;
    let mut signed = Signed::acme(&s.idpd, "rotor@example.com").await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..FAMILIES {
        let first = signed.family(&s.idpd).await;
        let client_id = signed.client_id.clone();
        let form = move |rt: &str| {
            vec![
                ("grant_type".into(), "refresh_token".into()),
                ("refresh_token".into(), rt.to_owned()),
                ("client_id".into(), client_id.clone()),
            ]
        };
        tasks.push(tokio::spawn(rotating_client(
            s.idpd.public_url(),
            form,
            first,
            stop.clone(),
        )));
    }
    let s = fault(s).await;
    wait_healthy(&s.idpd.public_url()).await;
    // Let every client get an answer from the restarted daemon.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let mut families = Vec::new();
    for t in tasks {
        families.push(t.await.expect("client task"));
    }

    // No token was answered twice: every token received is new, and a successor was
    // received only for the newest token the client had.
    let mut seen = HashSet::new();
    for f in &families {
        for rt in &f.received {
            assert!(seen.insert(rt.clone()), "a refresh token was issued twice");
        }
    }
    let answered: usize = families.iter().map(|f| f.received.len() - 1).sum();
    assert!(
        answered > 4 * FAMILIES,
        "the clients made progress: {families:?}"
    );

    // The newest token of each surviving family still works, once; the token it replaced is
    // a replay and takes the family down with it, as designed.
    let http = idp_tests::http_client();
    let url = s.idpd.public_url();
    for f in families.iter().filter(|f| !f.lost && f.received.len() > 1) {
        let newest = f.received.last().unwrap();
        let next = post_token(&http, &url, &signed.refresh_form(newest)).await;
        let next = next
            .refresh_token()
            .unwrap_or_else(|| panic!("the newest token of a family failed: {next:?}"));
        let previous = &f.received[f.received.len() - 2];
        let replay = post_token(&http, &url, &signed.refresh_form(previous)).await;
        assert!(
            matches!(&replay, Outcome::Refused(400, e, _) if e == "invalid_grant"),
            "a superseded token was accepted: {replay:?}"
        );
        let after = post_token(&http, &url, &signed.refresh_form(&next)).await;
        assert!(
            matches!(&after, Outcome::Refused(400, e, _) if e == "invalid_grant"),
            "reuse detection did not revoke the family: {after:?}"
        );
    }
    // A family lost to a crash really is revoked (its retry was a replay): nothing of it works.
    for f in families.iter().filter(|f| f.lost) {
        let newest = f.received.last().unwrap();
        let again = post_token(&http, &url, &signed.refresh_form(newest)).await;
        assert!(matches!(&again, Outcome::Refused(400, e, _) if e == "invalid_grant"));
    }
    let log = s.idpd.logs.text();
    assert!(!panicked(&log), "{log}");
    families
}

async fn kill9_during_refresh_rotation(backend: Backend) {
    let families = rotate_through(backend, |mut s| async move {
        for round in 0..3u64 {
            tokio::time::sleep(Duration::from_millis(250 + 70 * round)).await;
            s.idpd.kill9();
            tokio::time::sleep(Duration::from_millis(50)).await;
            s.idpd.restart();
        }
        s
    })
    .await;
    let mut by_retry: HashMap<&str, usize> = HashMap::new();
    for f in &families {
        for (_, retry) in &f.cut_off {
            let kind = match retry {
                Outcome::Ok(_) => "retry succeeded (not consumed before the crash)",
                Outcome::Refused(400, e, _) if e == "invalid_grant" => {
                    "retry was a replay (consumed, successor lost in the crash)"
                }
                Outcome::Lost(_) => "no answer before the test ended",
                other => panic!("a retry after a crash got {other:?}"),
            };
            *by_retry.entry(kind).or_default() += 1;
        }
    }
    eprintln!(
        "kill -9 x3, {} refreshes answered: {by_retry:?}",
        families.iter().map(|f| f.received.len() - 1).sum::<usize>()
    );
}

async fn sigterm_during_refresh_rotation(backend: Backend) {
    let families = rotate_through(backend, |mut s| async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let status = s.idpd.terminate();
        assert!(status.success(), "idpd exited with {status} on SIGTERM");
        s.idpd.restart();
        s
    })
    .await;
    for f in &families {
        assert!(
            !f.lost,
            "SIGTERM cut off a request after its token was consumed: {f:?}"
        );
        for (_, retry) in &f.cut_off {
            assert!(retry.is_ok(), "a retry after SIGTERM failed: {retry:?}");
        }
    }
}

//! Double-spend races (docs/security.md invariant 2, SEC-03/04/11/22): 50 simultaneous
//! redemptions of one authorization code, one refresh token, one approved device code and
//! one assertion `jti` (three rounds for codes and refresh tokens, two for the others): exactly one 200 every time, every other answer a
//! 400 OAuth error, never a 5xx. A replayed code or refresh token also revokes what the
//! winner got.

use idp_tests::devices::{self, DeviceKey, GRANT_DEVICE, GRANT_JWT};
use idp_tests::faults::{Outcome, Signed, race};
use idp_tests::{Backend, both_backends, setup_with};

both_backends!(fifty_way_double_spends);

const N: usize = 50;
const ROUNDS: usize = 3;

/// Exactly one `Ok` among `outcomes`, the rest 400 with one of `losers`; returns the winner.
#[track_caller]
fn one_winner(what: &str, outcomes: &[Outcome], losers: &[&str]) -> serde_json::Value {
    let mut winner = None;
    for o in outcomes {
        match o {
            Outcome::Ok(v) => {
                assert!(winner.is_none(), "{what}: a second success {v}");
                winner = Some(v.clone());
            }
            Outcome::Refused(400, e, _) if losers.contains(&e.as_str()) => {}
            other => panic!("{what}: unexpected answer {other:?}"),
        }
    }
    winner.unwrap_or_else(|| panic!("{what}: no request succeeded"))
}

fn form(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

async fn fifty_way_double_spends(backend: Backend) {
    let s = setup_with(backend, &["--device-poll-interval", "1"]).await;
    let idpd = &s.idpd;
    let mut signed = Signed::acme(idpd, "race@example.com").await;
    let http = idp_tests::http_client();
    let url = idpd.public_url();

    for round in 0..ROUNDS {
        // One authorization code.
        let (code, verifier) = signed.code().await;
        let out = race(idpd, signed.redeem_form(&code, &verifier), N).await;
        let won = one_winner(&format!("code, round {round}"), &out, &["invalid_grant"]);
        // The replays revoked the family of the one redemption (SEC-03).
        let rt = won["refresh_token"].as_str().unwrap();
        let after = idp_tests::faults::post_token(&http, &url, &signed.refresh_form(rt)).await;
        assert!(
            matches!(&after, Outcome::Refused(400, e, _) if e == "invalid_grant"),
            "the winner's refresh token survived a replayed code: {after:?}"
        );

        // One refresh token.
        let rt = signed.family(idpd).await;
        let out = race(idpd, signed.refresh_form(&rt), N).await;
        let won = one_winner(&format!("refresh, round {round}"), &out, &["invalid_grant"]);
        let rt2 = won["refresh_token"].as_str().unwrap();
        let after = idp_tests::faults::post_token(&http, &url, &signed.refresh_form(rt2)).await;
        assert!(
            matches!(&after, Outcome::Refused(400, e, _) if e == "invalid_grant"),
            "the replays revoke the family, the winner's successor too (SEC-04): {after:?}"
        );
    }

    // An approved device code, polled 50 times at once.
    let daemon = devices::daemon_client(idpd, "acme").await;
    let mut access = None;
    for round in 0..2 {
        let (st, da) =
            devices::device_authorization(idpd, "acme", &daemon, "openid offline_access devices")
                .await;
        assert_eq!(st, 200, "{da}");
        let page = devices::decide(
            &mut signed.b,
            idpd,
            da["verification_uri_complete"].as_str().unwrap(),
            "race@example.com",
            true,
        )
        .await;
        assert_eq!(page.status, 200, "{}", page.body);
        let dc = da["device_code"].as_str().unwrap();
        let f = form(&[
            ("grant_type", GRANT_DEVICE),
            ("device_code", dc),
            ("client_id", &daemon),
        ]);
        let out = race(idpd, f, N).await;
        let won = one_winner(
            &format!("device code, round {round}"),
            &out,
            &["invalid_grant", "slow_down"],
        );
        access = Some(won["access_token"].as_str().unwrap().to_owned());
    }

    // One assertion (one jti) of a registered device key.
    let at = access.unwrap();
    let user = devices::jwt_claims(&at)["sub"].as_str().unwrap().to_owned();
    let key = DeviceKey::ed25519();
    let device = devices::register(idpd, &at, &key).await;
    for round in 0..2 {
        let assertion = key.assertion("acme", &device, &user);
        let f = form(&[
            ("grant_type", GRANT_JWT),
            ("assertion", &assertion),
            ("client_id", &daemon),
        ]);
        let out = race(idpd, f, N).await;
        one_winner(&format!("jti, round {round}"), &out, &["invalid_grant"]);
    }
    assert!(
        !idp_tests::faults::panicked(&idpd.logs.text()),
        "{}",
        idpd.logs.text()
    );
}

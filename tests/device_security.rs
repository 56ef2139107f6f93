//! SEC-11 for device assertions (RFC 7523, RFC 8725): each hostile assertion gets 400
//! `invalid_grant` and never a 500; the key is chosen by tenant and device id, the
//! algorithm by the registered key; each `jti` works once, also under 50 parallel requests.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use idp_tests::browser::Browser;
use idp_tests::devices::{
    DeviceKey, b64, claims, daemon_client, device_flow_tokens, device_login, issuer, jwt_claims,
    register, unix_now,
};
use idp_tests::{Backend, Value, both_backends, json, setup_with};

both_backends!(hostile_assertions_are_invalid_grant, jti_is_single_use);

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

fn unsigned(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

fn hs256(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let input = unsigned(header, claims);
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), input.as_bytes());
    format!("{input}.{}", b64(tag.as_ref()))
}

/// SubjectPublicKeyInfo DER of a device key (RFC 8410 / RFC 5480 fixed prefixes).
fn spki(key: &DeviceKey) -> Vec<u8> {
    let prefix: &[u8] = match key.alg() {
        "EdDSA" => &[
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ],
        _ => &[
            0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
            0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
        ],
    };
    [prefix, &key.public_bytes()].concat()
}

fn pem(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    format!("-----BEGIN PUBLIC KEY-----\n{b64}\n-----END PUBLIC KEY-----\n")
}

async fn hostile_assertions_are_invalid_grant(backend: Backend) {
    let st = setup_with(backend, &["--device-poll-interval", "1"]).await;
    let idpd = &st.idpd;
    let client_id = daemon_client(idpd, "acme").await;
    let mut b = Browser::new(idpd);
    let t = device_flow_tokens(&mut b, idpd, &client_id, "alice@example.com").await;
    let at = s(&t["access_token"]);
    let user = s(&jwt_claims(at)["sub"]).to_owned();
    let ed = DeviceKey::ed25519();
    let ec = DeviceKey::p256();
    let d1 = register(idpd, at, &ed).await;
    let d2 = register(idpd, at, &ec).await;
    let mut b2 = Browser::new(idpd);
    let bob = device_flow_tokens(&mut b2, idpd, &client_id, "bob@example.com").await;
    let bob_id = s(&jwt_claims(s(&bob["access_token"]))["sub"]).to_owned();
    let other_client = daemon_client(idpd, "other").await;

    let ed_h = json!({"alg": "EdDSA", "typ": "JWT"});
    let ec_h = json!({"alg": "ES256", "typ": "JWT"});
    let c = || claims("acme", &d1, &user);
    let with = |k: &str, v: Value| {
        let mut x = c();
        x[k] = v;
        x
    };
    let without = |k: &str| {
        let mut x = c();
        x.as_object_mut().unwrap().remove(k);
        x
    };
    let hdr = |k: &str, v: Value| {
        let mut h = ed_h.clone();
        h[k] = v;
        h
    };
    let now = unix_now();
    let attacker = DeviceKey::ed25519();

    // A good assertion works, and a hostile kid with a good signature is simply ignored:
    // the key comes from the device id.
    let (code, ok) = device_login(idpd, "acme", &client_id, &ed.sign(&ed_h, &c())).await;
    assert_eq!(code, 200, "{ok}");
    for kid in [
        json!("../../x"),
        json!("' OR '1'='1"),
        json!("k".repeat(10_000)),
    ] {
        let (code, v) =
            device_login(idpd, "acme", &client_id, &ed.sign(&hdr("kid", kid), &c())).await;
        assert_eq!(code, 200, "{v}");
    }

    let flipped = {
        let good = ed.sign(&ed_h, &c());
        let (input, sig) = good.rsplit_once('.').unwrap();
        let mut sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
        sig[7] ^= 1;
        format!("{input}.{}", b64(&sig))
    };
    let mut cases: Vec<(&str, String)> = vec![
        (
            "alg none",
            format!("{}.", unsigned(&json!({"alg": "none"}), &c())),
        ),
        (
            "alg None",
            format!("{}.", unsigned(&json!({"alg": "None"}), &c())),
        ),
        (
            "alg NONE",
            format!("{}.", unsigned(&json!({"alg": "NONE"}), &c())),
        ),
        ("no alg", ed.sign(&json!({"typ": "JWT"}), &c())),
        (
            "HS256 with the raw public key",
            hs256(&json!({"alg": "HS256"}), &c(), &ed.public_bytes()),
        ),
        (
            "HS256 with the JWK",
            hs256(
                &json!({"alg": "HS256"}),
                &c(),
                ed.jwk().to_string().as_bytes(),
            ),
        ),
        (
            "HS256 with the P-256 point",
            hs256(
                &json!({"alg": "HS256"}),
                &claims("acme", &d2, &user),
                &ec.public_bytes(),
            ),
        ),
        (
            "HS256 with the SPKI DER",
            hs256(&json!({"alg": "HS256"}), &c(), &spki(&ed)),
        ),
        (
            "HS256 with the PEM",
            hs256(&json!({"alg": "HS256"}), &c(), pem(&spki(&ed)).as_bytes()),
        ),
        (
            "HS256 with the P-256 PEM",
            hs256(
                &json!({"alg": "HS256"}),
                &claims("acme", &d2, &user),
                pem(&spki(&ec)).as_bytes(),
            ),
        ),
        ("flipped signature byte", flipped),
        ("signed by another key", attacker.sign(&ed_h, &c())),
        (
            "embedded jwk of the signer",
            attacker.sign(&hdr("jwk", attacker.jwk()), &c()),
        ),
        (
            "embedded jwk, even of the device",
            ed.sign(&hdr("jwk", ed.jwk()), &c()),
        ),
        (
            "jku",
            ed.sign(&hdr("jku", json!("http://127.0.0.1:9/jwks")), &c()),
        ),
        (
            "x5u",
            ed.sign(&hdr("x5u", json!("http://127.0.0.1:9/cert.pem")), &c()),
        ),
        ("x5c", ed.sign(&hdr("x5c", json!(["MIIB"])), &c())),
        ("unknown crit", ed.sign(&hdr("crit", json!(["exp"])), &c())),
        (
            "hostile kid, foreign key",
            attacker.sign(&hdr("kid", json!("' OR '1'='1")), &c()),
        ),
        (
            "10 KiB kid, foreign key",
            attacker.sign(&hdr("kid", json!("k".repeat(10_000))), &c()),
        ),
        ("ES256 header on an Ed25519 device", ed.sign(&ec_h, &c())),
        (
            "EdDSA header on a P-256 device",
            ec.sign(&ed_h, &claims("acme", &d2, &user)),
        ),
        ("missing exp", ed.sign(&ed_h, &without("exp"))),
        ("expired", ed.sign(&ed_h, &with("exp", json!(now - 120)))),
        (
            "exp 10 min ahead",
            ed.sign(&ed_h, &with("exp", json!(now + 600))),
        ),
        (
            "exp not a number",
            ed.sign(&ed_h, &with("exp", json!("later"))),
        ),
        (
            "nbf in the future",
            ed.sign(&ed_h, &with("nbf", json!(now + 200))),
        ),
        (
            "iat far in the past",
            ed.sign(&ed_h, &with("iat", json!(now - 3600))),
        ),
        (
            "wrong aud",
            ed.sign(&ed_h, &with("aud", json!("https://evil.test/token"))),
        ),
        ("no aud", ed.sign(&ed_h, &without("aud"))),
        (
            "aud of another tenant",
            ed.sign(
                &ed_h,
                &with("aud", json!(format!("{}/token", issuer("other")))),
            ),
        ),
        (
            "sub is not the owner",
            ed.sign(&ed_h, &with("sub", json!(bob_id))),
        ),
        ("no sub", ed.sign(&ed_h, &without("sub"))),
        (
            "unknown device",
            ed.sign(&ed_h, &with("iss", json!(uuid::Uuid::new_v4().to_string()))),
        ),
        (
            "iss not a device id",
            ed.sign(&ed_h, &with("iss", json!("'; DROP TABLE idp_devices; --"))),
        ),
        ("no iss", ed.sign(&ed_h, &without("iss"))),
        ("no jti", ed.sign(&ed_h, &without("jti"))),
        ("empty jti", ed.sign(&ed_h, &with("jti", json!("")))),
        ("not a JWT", "not.a.jwt".to_owned()),
        ("garbage", "x".repeat(15_000)),
    ];
    let replayed = ed.sign(&ed_h, &c());
    let (code, v) = device_login(idpd, "acme", &client_id, &replayed).await;
    assert_eq!(code, 200, "{v}");
    cases.push(("replayed jti", replayed));
    for (name, assertion) in &cases {
        let (code, v) = device_login(idpd, "acme", &client_id, assertion).await;
        assert_eq!(
            (code, v["error"].as_str()),
            (400, Some("invalid_grant")),
            "{name}: {v}"
        );
    }
    // The device of tenant acme at tenant other (with other's client).
    let (code, v) = device_login(idpd, "other", &other_client, &ed.sign(&ed_h, &c())).await;
    assert_eq!(
        (code, v["error"].as_str()),
        (400, Some("invalid_grant")),
        "{v}"
    );
    // A client not registered for the grant.
    let web = idp_tests::oauth::create_client(
        &idpd.api(),
        "acme",
        json!({"name": "web", "public": true, "redirect_uris": ["http://127.0.0.1:9/cb"]}),
    )
    .await;
    let (code, v) = device_login(idpd, "acme", &web.id, &ed.sign(&ed_h, &c())).await;
    assert_eq!(
        (code, v["error"].as_str()),
        (400, Some("unauthorized_client")),
        "{v}"
    );
    // A missing assertion is a malformed request.
    let (code, v) = idp_tests::browser::token(
        idpd,
        &[
            ("grant_type", idp_tests::devices::GRANT_JWT),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!(
        (code, v["error"].as_str()),
        (400, Some("invalid_request")),
        "{v}"
    );
    // SEC-25: a disabled client gets nothing, even with a perfect assertion.
    let (code, _) = idpd
        .api()
        .send(
            reqwest::Method::PATCH,
            &format!("/tenants/acme/clients/{client_id}"),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(code, 200);
    let (code, v) = device_login(idpd, "acme", &client_id, &ed.sign(&ed_h, &c())).await;
    assert_eq!(
        (code, v["error"].as_str()),
        (401, Some("invalid_client")),
        "{v}"
    );
    let log = idpd.logs.text();
    assert!(
        !log.contains("\"status\":500") && !log.contains("panicked"),
        "{log}"
    );
}

async fn jti_is_single_use(backend: Backend) {
    let st = setup_with(backend, &["--device-poll-interval", "1"]).await;
    let idpd = &st.idpd;
    let client_id = daemon_client(idpd, "acme").await;
    let mut b = Browser::new(idpd);
    let t = device_flow_tokens(&mut b, idpd, &client_id, "alice@example.com").await;
    let at = s(&t["access_token"]);
    let user = s(&jwt_claims(at)["sub"]).to_owned();
    let key = DeviceKey::p256();
    let id = register(idpd, at, &key).await;

    let assertion = key.assertion("acme", &id, &user);
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (url, client_id, assertion) = (idpd.public_url(), client_id.clone(), assertion.clone());
        tasks.push(tokio::spawn(async move {
            let res = idp_tests::http_client()
                .post(format!("{url}/t/acme/token"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(idp_tests::oauth::form(&[
                    ("grant_type", idp_tests::devices::GRANT_JWT),
                    ("assertion", &assertion),
                    ("client_id", &client_id),
                ]))
                .send()
                .await
                .unwrap();
            let st = res.status().as_u16();
            let v: Value = res.json().await.unwrap();
            (st, v)
        }));
    }
    let mut ok = 0;
    for task in tasks {
        let (code, v) = task.await.unwrap();
        match code {
            200 => ok += 1,
            _ => assert_eq!(
                (code, v["error"].as_str()),
                (400, Some("invalid_grant")),
                "{v}"
            ),
        }
    }
    assert_eq!(ok, 1, "exactly one of 50 parallel uses of a jti succeeds");
}

//! SEC-11 for device assertions (RFC 7523, RFC 8725): each hostile assertion gets 400
//! `invalid_grant` and never a 500; the key is chosen by tenant and device id, the
//! algorithm by the registered key; each `jti` works once, also under 50 parallel requests.
//! Device registration (issue 16): weak keys (Ed25519 of small order or non-canonical,
//! P-256 off the curve) and registrations without a proof of possession are refused.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use idp_tests::browser::Browser;
use idp_tests::devices::{
    DeviceKey, ath, b64, claims, daemon_client, device_flow_tokens, device_login, devices_api,
    issuer, jwt_claims, proof_claims, register, unix_now,
};
use idp_tests::{Backend, Value, both_backends, json, setup_with};

both_backends!(
    hostile_assertions_are_invalid_grant,
    jti_is_single_use,
    weak_keys_and_missing_proofs_are_refused,
);

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

/// A registration body for `jwk` with `proof`.
fn body(jwk: &Value, proof: &str) -> Value {
    json!({"name": "box", "platform": "linux", "public_key": jwk, "proof": proof})
}

/// The finding of issue 16: the identity as an Ed25519 key, with `R` = identity and `S` = 0
/// as the signature of anything, logged in as the device without any private key. Small-order
/// and non-canonical Ed25519 keys and P-256 points off the curve are refused now, and so is
/// a registration without a proof signed by the new key, or with a proof for another
/// tenant, another token or from long ago; a replayed registration is refused too.
async fn weak_keys_and_missing_proofs_are_refused(backend: Backend) {
    let st = setup_with(backend, &["--device-poll-interval", "1"]).await;
    let idpd = &st.idpd;
    let client_id = daemon_client(idpd, "acme").await;
    let mut b = Browser::new(idpd);
    let t = device_flow_tokens(&mut b, idpd, &client_id, "alice@example.com").await;
    let at = s(&t["access_token"]);
    let user = s(&jwt_claims(at)["sub"]).to_owned();
    let post = |body: Value| devices_api(idpd, reqwest::Method::POST, "", at, Some(body));
    let refused = |what: &str, field: &str, code: u16, e: &Value| {
        assert_eq!(
            (code, e["error"].as_str()),
            (400, Some("invalid_request")),
            "{what}: {e}"
        );
        let d = s(&e["error_description"]);
        assert!(d.contains(field), "{what}: {d}");
    };

    // The forgery: under the identity key, R = identity, S = 0 is a good signature of any
    // message, so the proof itself verifies; the key is what must be refused.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let forged_sig = [identity.as_slice(), &[0u8; 32]].concat();
    let okp = |x: &[u8]| json!({"kty": "OKP", "crv": "Ed25519", "x": b64(x)});
    let forge = |header: &Value, claims: &Value| {
        format!(
            "{}.{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes()),
            b64(&forged_sig)
        )
    };
    let proof_h = json!({"alg": "EdDSA", "typ": "device-registration+jwt"});
    let (code, _, e) = post(body(
        &okp(&identity),
        &forge(&proof_h, &proof_claims("acme", at)),
    ))
    .await;
    refused("identity key", "public_key", code, &e);
    // Had it been registered, this would have been the login.
    let (code, _, list) = devices_api(idpd, reqwest::Method::GET, "", at, None).await;
    assert_eq!((code, list["items"].clone()), (200, json!([])), "{list}");

    // libsodium's small-order list (sign bit clear and set) and y >= p.
    let hex = |h: &str| -> Vec<u8> {
        (0..h.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
            .collect()
    };
    let ff = "ff".repeat(30);
    let mut weak: Vec<Vec<u8>> = [
        "00".repeat(32),
        format!("01{}", "00".repeat(31)),
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05".into(),
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a".into(),
        format!("ec{ff}7f"),
        format!("ed{ff}7f"),
        format!("ee{ff}7f"),
    ]
    .iter()
    .flat_map(|h| {
        let p = hex(h);
        let mut neg = p.clone();
        neg[31] |= 0x80;
        [p, neg]
    })
    .collect();
    // Non-canonical: p + 2 and 2^255 - 1 (y >= 2^255 - 19).
    weak.push(hex(&format!("ef{ff}7f")));
    weak.push(hex(&format!("ff{ff}7f")));
    let someone = DeviceKey::ed25519();
    for x in &weak {
        let proof = forge(&proof_h, &proof_claims("acme", at));
        let (code, _, e) = post(body(&okp(x), &proof)).await;
        refused(&format!("{x:02x?}"), "public_key", code, &e);
        let proof = someone.proof("acme", at);
        let (code, _, e) = post(body(&okp(x), &proof)).await;
        refused(&format!("{x:02x?}"), "public_key", code, &e);
    }

    // P-256: a point off the curve (y of another point), and (0, 0).
    let ec = DeviceKey::p256();
    let p = ec.public_bytes();
    let mut y = p[33..65].to_vec();
    y[31] ^= 1;
    for (x, y) in [(&p[1..33], &y[..]), (&[0u8; 32][..], &[0u8; 32][..])] {
        let jwk = json!({"kty": "EC", "crv": "P-256", "x": b64(x), "y": b64(y)});
        let (code, _, e) = post(body(&jwk, &ec.proof("acme", at))).await;
        refused("P-256 off the curve", "public_key", code, &e);
    }

    // Proofs: missing, by another key, for another tenant, another token, too old, untyped.
    let key = DeviceKey::ed25519();
    let mut no_proof = key.registration("acme", at);
    no_proof.as_object_mut().unwrap().remove("proof");
    let (code, _, e) = post(no_proof).await;
    refused("no proof", "proof", code, &e);
    let typed = json!({"alg": "EdDSA", "typ": "device-registration+jwt"});
    let with = |k: &str, v: Value| {
        let mut c = proof_claims("acme", at);
        c[k] = v;
        c
    };
    for (what, proof) in [
        ("another key", DeviceKey::ed25519().proof("acme", at)),
        ("another tenant", key.proof("other", at)),
        (
            "another token",
            key.sign(&typed, &with("ath", json!(ath("another token")))),
        ),
        (
            "an hour old",
            key.sign(&typed, &with("iat", json!(unix_now() - 3600))),
        ),
        ("no jti", {
            let mut c = proof_claims("acme", at);
            c.as_object_mut().unwrap().remove("jti");
            key.sign(&typed, &c)
        }),
        (
            "a login assertion",
            key.sign(
                &json!({"alg": "EdDSA", "typ": "JWT"}),
                &proof_claims("acme", at),
            ),
        ),
        ("not a JWS", "proof".into()),
        ("an ES256 proof", DeviceKey::p256().proof("acme", at)),
    ] {
        let (code, _, e) = post(body(&key.jwk(), &proof)).await;
        refused(what, "proof", code, &e);
    }

    // A good registration works once; the same body again is refused.
    let good = key.registration("acme", at);
    let (code, _, d) = post(good.clone()).await;
    assert_eq!(code, 201, "{d}");
    let (code, _, e) = post(good).await;
    assert_eq!(
        (code, e["error"].as_str()),
        (400, Some("invalid_request")),
        "{e}"
    );
    let (code, v) = device_login(
        idpd,
        "acme",
        &client_id,
        &key.assertion("acme", s(&d["id"]), &user),
    )
    .await;
    assert_eq!(code, 200, "{v}");
    let log = idpd.logs.text();
    assert!(
        !log.contains("\"status\":500") && !log.contains("panicked"),
        "{log}"
    );
}

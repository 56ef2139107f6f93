//! Device registration and device login (RFC 7523) end to end: a daemon gets a user code,
//! the user approves in a browser, the daemon receives tokens, registers its key and from
//! then on signs in with assertions alone, until the device is revoked (by the user, by
//! idpctl, or by disabling the user).

use idp_tests::browser::{Browser, token, userinfo};
use idp_tests::devices::{
    DeviceKey, GRANT_JWT, daemon_client, device_flow_tokens, device_login, devices_api, introspect,
    jwt_claims, register,
};
use idp_tests::{Backend, Value, both_backends, json, setup_with};
use reqwest::Method;

both_backends!(
    daemon_signs_in_with_its_key_until_revoked,
    registration_rules,
    idpctl_lists_and_revokes_devices,
);

const FAST: &[&str] = &["--device-poll-interval", "1"];

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

async fn refresh(idpd: &idp_tests::Idpd, client_id: &str, rt: &str) -> (u16, Value) {
    token(
        idpd,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("client_id", client_id),
        ],
    )
    .await
}

/// The "done when" of issue 6, as one test.
async fn daemon_signs_in_with_its_key_until_revoked(backend: Backend) {
    let st = setup_with(backend, FAST).await;
    let idpd = &st.idpd;
    let client_id = daemon_client(idpd, "acme").await;
    let mut b = Browser::new(idpd);
    let t = device_flow_tokens(&mut b, idpd, &client_id, "alice@example.com").await;
    let at = s(&t["access_token"]);
    let user = s(&jwt_claims(at)["sub"]).to_owned();

    // Register an Ed25519 key and a P-256 key.
    let ed = DeviceKey::ed25519();
    let ec = DeviceKey::p256();
    let d1 = register(idpd, at, &ed).await;
    let d2 = register(idpd, at, &ec).await;
    let (code, _, list) = devices_api(idpd, Method::GET, "", at, None).await;
    assert_eq!(code, 200, "{list}");
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| s(&d["id"]))
        .collect();
    assert_eq!(ids, [d1.as_str(), d2.as_str()]);
    assert_eq!(list["items"][0]["alg"], "EdDSA");
    assert_eq!(list["items"][1]["alg"], "ES256");

    // From now on, assertions alone.
    let mut tokens = Vec::new();
    for (key, id) in [(&ed, &d1), (&ec, &d2)] {
        let (code, t) =
            device_login(idpd, "acme", &client_id, &key.assertion("acme", id, &user)).await;
        assert_eq!(code, 200, "{t}");
        let claims = jwt_claims(s(&t["access_token"]));
        assert_eq!(
            (s(&claims["did"]), s(&claims["sub"])),
            (id.as_str(), user.as_str())
        );
        assert!(t["refresh_token"].is_string(), "{t}");
        let info = introspect(idpd, s(&t["access_token"])).await;
        assert_eq!(
            (info["active"].as_bool(), info["did"].as_str()),
            (Some(true), Some(id.as_str()))
        );
        tokens.push(t);
    }
    // The refresh token is bound to the device: the new access token carries it too.
    let (code, r1) = refresh(idpd, &client_id, s(&tokens[0]["refresh_token"])).await;
    assert_eq!(code, 200, "{r1}");
    assert_eq!(jwt_claims(s(&r1["access_token"]))["did"], d1.as_str());
    let (code, info) = userinfo(idpd, s(&r1["access_token"])).await;
    assert_eq!(code, 200, "{info}");

    // The user removes device 1: at once its tokens are dead, device 2 lives on.
    let (code, _, _) = devices_api(idpd, Method::DELETE, &format!("/{d1}"), at, None).await;
    assert_eq!(code, 204);
    let (code, e) = refresh(idpd, &client_id, s(&r1["refresh_token"])).await;
    assert_eq!(
        (code, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "{e}"
    );
    assert_eq!(
        introspect(idpd, s(&r1["access_token"])).await,
        json!({"active": false})
    );
    assert_eq!(userinfo(idpd, s(&r1["access_token"])).await.0, 401);
    let (code, e) = device_login(idpd, "acme", &client_id, &ed.assertion("acme", &d1, &user)).await;
    assert_eq!(
        (code, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "{e}"
    );
    let (code, _, _) = devices_api(idpd, Method::DELETE, &format!("/{d1}"), at, None).await;
    assert_eq!(code, 404, "already gone");
    let (code, t2) =
        device_login(idpd, "acme", &client_id, &ec.assertion("acme", &d2, &user)).await;
    assert_eq!(code, 200, "{t2}");

    // Disabling the user ends every device of theirs; enabling restores them.
    let api = idpd.api();
    let (code, _) = api
        .send(
            Method::POST,
            "/tenants/acme/users/alice@example.com/disable",
            None,
        )
        .await;
    assert_eq!(code, 200);
    assert_eq!(
        introspect(idpd, s(&t2["access_token"])).await["active"],
        false
    );
    let (code, e) = refresh(idpd, &client_id, s(&t2["refresh_token"])).await;
    assert_eq!(
        (code, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "{e}"
    );
    let (code, e) = device_login(idpd, "acme", &client_id, &ec.assertion("acme", &d2, &user)).await;
    assert_eq!(
        (code, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "{e}"
    );

    // Issue 16 §5: the user's own device changes and every device login are audited.
    let count = |items: &[Value], action: &str, outcome: &str| {
        items
            .iter()
            .filter(|e| e["action"] == action && e["outcome"] == outcome)
            .count()
    };
    let (code, log) = api
        .send(Method::GET, "/audit?tenant=acme&limit=1000", None)
        .await;
    assert_eq!(code, 200, "{log}");
    let items = log["items"].as_array().unwrap();
    assert_eq!(count(items, "device.register", "success"), 2, "{log:#}");
    assert_eq!(count(items, "device.remove", "success"), 1, "{log:#}");
    assert_eq!(count(items, "device.remove", "failure"), 1, "{log:#}");
    assert!(count(items, "login.device", "success") >= 3, "{log:#}");
    assert!(count(items, "login.device", "failure") >= 2, "{log:#}");
    let refused = items
        .iter()
        .find(|e| e["action"] == "login.device" && e["outcome"] == "failure")
        .unwrap();
    assert!(
        refused["target"].is_string() && refused["client_ip"] == "127.0.0.1",
        "{refused}"
    );
}

async fn registration_rules(backend: Backend) {
    let st = setup_with(backend, FAST).await;
    let idpd = &st.idpd;
    let client_id = daemon_client(idpd, "acme").await;
    let mut b = Browser::new(idpd);
    let t = device_flow_tokens(&mut b, idpd, &client_id, "bob@example.com").await;
    let at = s(&t["access_token"]);
    let key = DeviceKey::ed25519();
    let good = key.registration("acme", at);

    // RFC 6750: no token, a bad token, a token without the scope.
    let res = idp_tests::http_client()
        .get(format!("{}/t/acme/devices", idpd.public_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["www-authenticate"], "Bearer realm=\"idpd\"");
    let (code, h, _) = devices_api(idpd, Method::POST, "", "x.y.z", Some(good.clone())).await;
    assert_eq!(code, 401);
    assert!(
        h["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    let narrow = {
        let mut b2 = Browser::new(idpd);
        let (_, da) =
            idp_tests::devices::device_authorization(idpd, "acme", &client_id, "openid").await;
        let page = idp_tests::devices::decide(
            &mut b2,
            idpd,
            s(&da["verification_uri_complete"]),
            "bob@example.com",
            true,
        )
        .await;
        assert_eq!(page.status, 200);
        let (_, t) =
            idp_tests::devices::poll_until_decided(idpd, &client_id, s(&da["device_code"]), 1)
                .await;
        s(&t["access_token"]).to_owned()
    };
    let (code, h, _) = devices_api(idpd, Method::POST, "", &narrow, Some(good.clone())).await;
    assert_eq!(code, 403);
    assert!(
        h["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("insufficient_scope")
    );
    // A client_credentials token has no user.
    let creds = idp_tests::oauth::create_client(
        &idpd.api(),
        "acme",
        json!({"name": "svc", "grant_types": ["client_credentials"], "scopes": ["devices"]}),
    )
    .await;
    let svc = idp_tests::oauth::Op::new(idpd, "acme")
        .access_token(&creds)
        .await;
    let (code, _, _) = devices_api(idpd, Method::GET, "", &svc, None).await;
    assert_eq!(code, 403);

    // Keys: public Ed25519 / P-256 only, well-formed, on the curve.
    let ed = key.jwk();
    let ec = DeviceKey::p256().jwk();
    let with = |base: &Value, k: &str, v: Value| {
        let mut j = base.clone();
        j[k] = v;
        j
    };
    for bad in [
        with(&ed, "d", json!(idp_tests::devices::b64(&[1; 32]))),
        with(&ec, "d", json!(idp_tests::devices::b64(&[1; 32]))),
        with(&ed, "crv", json!("X25519")),
        with(&ec, "crv", json!("P-384")),
        with(&ec, "y", json!(idp_tests::devices::b64(&[9; 32]))),
        with(&ed, "x", json!("AAAA")),
        with(&ed, "x", json!("not base64 !")),
        with(&ed, "alg", json!("RS256")),
        json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"}),
        json!({"kty": "oct", "k": "c2VjcmV0"}),
        json!("a string"),
    ] {
        let body = json!({"name": "box", "platform": "linux", "public_key": bad});
        let (code, _, e) = devices_api(idpd, Method::POST, "", at, Some(body)).await;
        assert_eq!(
            (code, e["error"].as_str()),
            (400, Some("invalid_request")),
            "{bad}: {e}"
        );
    }
    for body in [
        json!({"name": "", "platform": "linux", "public_key": ed}),
        json!({"name": "box", "platform": "x".repeat(51), "public_key": ed}),
        json!({"name": "box", "public_key": ed}),
        json!({"name": "box", "platform": "linux", "public_key": ed, "extra": 1}),
    ] {
        let (code, _, e) = devices_api(idpd, Method::POST, "", at, Some(body.clone())).await;
        assert_eq!(code, 400, "{body}: {e}");
    }
    let (code, h, d) = devices_api(idpd, Method::POST, "", at, Some(good)).await;
    assert_eq!(code, 201, "{d}");
    assert!(h["location"].to_str().unwrap().ends_with(s(&d["id"])));
    assert!(d["public_key"].get("d").is_none());

    // Another user cannot see or delete Bob's device.
    let mut c = Browser::new(idpd);
    let other = device_flow_tokens(&mut c, idpd, &client_id, "carol@example.com").await;
    let other_at = s(&other["access_token"]);
    let (_, _, list) = devices_api(idpd, Method::GET, "", other_at, None).await;
    assert_eq!(list["items"], json!([]));
    let (code, _, _) = devices_api(
        idpd,
        Method::DELETE,
        &format!("/{}", s(&d["id"])),
        other_at,
        None,
    )
    .await;
    assert_eq!(code, 404);
    let (code, _, _) = devices_api(idpd, Method::DELETE, "/not-a-uuid", other_at, None).await;
    assert_eq!(code, 404);
    let (_, _, list) = devices_api(idpd, Method::GET, "", at, None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

async fn idpctl_lists_and_revokes_devices(backend: Backend) {
    let st = setup_with(backend, FAST).await;
    let idpd = &st.idpd;
    let ctl = idpd.ctl();
    let client_id = daemon_client(idpd, "acme").await;
    let mut b = Browser::new(idpd);
    let t = device_flow_tokens(&mut b, idpd, &client_id, "dave@example.com").await;
    let at = s(&t["access_token"]);
    let user = s(&jwt_claims(at)["sub"]).to_owned();
    let key = DeviceKey::p256();
    let id = register(idpd, at, &key).await;
    let mut e = Browser::new(idpd);
    let t2 = device_flow_tokens(&mut e, idpd, &client_id, "erin@example.com").await;
    register(idpd, s(&t2["access_token"]), &DeviceKey::ed25519()).await;

    let all = ctl
        .run(["device", "list", "--tenant", "acme", "-o", "json"])
        .ok()
        .json();
    assert_eq!(all["items"].as_array().unwrap().len(), 2, "{all}");
    let mine = ctl
        .run([
            "device",
            "list",
            "--tenant",
            "acme",
            "--user",
            "dave@example.com",
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(mine["items"][0]["id"], id.as_str());
    assert_eq!(mine["items"][0]["user_id"], user.as_str());
    assert_eq!(mine["items"][0]["user_email"], "dave@example.com");
    let yaml = ctl
        .run(["device", "list", "--tenant", "acme", "-o", "yaml"])
        .ok();
    assert!(yaml.stdout.contains(&id), "{}", yaml.stdout);
    let table = ctl
        .run(["device", "list", "--tenant", "acme", "-o", "table"])
        .ok();
    assert!(table.stdout.contains("PLATFORM") && table.stdout.contains(&id));
    // Issue 23: people read the user by address, not by id.
    assert!(
        table.stdout.contains("| dave@example.com ") && !table.stdout.contains(&user),
        "{}",
        table.stdout
    );

    let (code, dl) =
        device_login(idpd, "acme", &client_id, &key.assertion("acme", &id, &user)).await;
    assert_eq!(code, 200, "{dl}");
    // Destructive: refused without --yes and without a terminal.
    let refused = ctl.run(["device", "revoke", "--tenant", "acme", &id]);
    assert_ne!(refused.code, 0, "{}", refused.stderr);
    assert_eq!(
        introspect(idpd, s(&dl["access_token"])).await["active"],
        true
    );

    ctl.run(["device", "revoke", "--tenant", "acme", &id, "--yes"])
        .ok();
    assert_eq!(
        introspect(idpd, s(&dl["access_token"])).await,
        json!({"active": false})
    );
    let (code, r) = refresh(idpd, &client_id, s(&dl["refresh_token"])).await;
    assert_eq!(
        (code, r["error"].as_str()),
        (400, Some("invalid_grant")),
        "{r}"
    );
    let (code, r) =
        device_login(idpd, "acme", &client_id, &key.assertion("acme", &id, &user)).await;
    assert_eq!(
        (code, r["error"].as_str()),
        (400, Some("invalid_grant")),
        "{r}"
    );
    let again = ctl.run(["device", "revoke", "--tenant", "acme", &id, "--yes"]);
    assert_eq!(again.code, 3, "not found: {}", again.stderr);
    let unknown_tenant = ctl.run(["device", "list", "--tenant", "nope"]);
    assert_eq!(unknown_tenant.code, 3);
    let _ = GRANT_JWT;
}

//! Bad input to the admin API: every case gets the right 4xx and a JSON error body with a
//! message and the request id, never a 5xx; idpctl maps them to its exit codes.

use idp_tests::{Backend, Ctl, Value, both_backends, http_client, json, setup};
use reqwest::Method;

both_backends!(bad_admin_requests_get_clear_4xx, idpctl_exit_codes);

struct Case {
    what: &'static str,
    method: Method,
    path: String,
    content_type: Option<&'static str>,
    body: Option<Vec<u8>>,
    auth: Option<String>,
    want: u16,
    code: &'static str,
}

fn case(
    what: &'static str,
    method: Method,
    path: &str,
    body: Option<Value>,
    want: u16,
    code: &'static str,
) -> Case {
    Case {
        what,
        method,
        path: path.to_owned(),
        content_type: body.as_ref().map(|_| "application/json"),
        body: body.map(|b| b.to_string().into_bytes()),
        auth: None,
        want,
        code,
    }
}

async fn bad_admin_requests_get_clear_4xx(backend: Backend) {
    let s = setup(backend).await;
    let api = s.idpd.api();
    let (status, _) = api.create_tenant(json!({"name": "Acme Corp"})).await;
    assert_eq!(status, 201);

    let post = Method::POST;
    let patch = Method::PATCH;
    let mut cases = vec![
        case(
            "invalid slug",
            post.clone(),
            "/tenants",
            Some(json!({"name": "x", "slug": "Not A Slug"})),
            422,
            "validation_failed",
        ),
        case(
            "traversal slug",
            post.clone(),
            "/tenants",
            Some(json!({"name": "x", "slug": "../x"})),
            422,
            "validation_failed",
        ),
        case(
            "reserved slug",
            post.clone(),
            "/tenants",
            Some(json!({"name": "x", "slug": "api"})),
            422,
            "validation_failed",
        ),
        case(
            "300-char name",
            post.clone(),
            "/tenants",
            Some(json!({"name": "n".repeat(300)})),
            422,
            "validation_failed",
        ),
        case(
            "empty name",
            post.clone(),
            "/tenants",
            Some(json!({"name": ""})),
            422,
            "validation_failed",
        ),
        case(
            "invalid locale",
            post.clone(),
            "/tenants",
            Some(json!({"name": "x", "locales": ["english"]})),
            422,
            "validation_failed",
        ),
        case(
            "no locales",
            post.clone(),
            "/tenants",
            Some(json!({"name": "x", "locales": []})),
            422,
            "validation_failed",
        ),
        case(
            "negative TTL",
            post.clone(),
            "/tenants",
            Some(json!({"name": "x", "session": {"ttl_seconds": -1}})),
            422,
            "validation_failed",
        ),
        case(
            "ten-year session",
            post.clone(),
            "/tenants",
            Some(json!({"name": "x", "session": {"ttl_seconds": 315_360_000}})),
            422,
            "validation_failed",
        ),
        case(
            "cookie domain com",
            post.clone(),
            "/tenants",
            Some(json!({"name": "x", "session": {"cookie_domain": "com"}})),
            422,
            "validation_failed",
        ),
        case(
            "SameSite=None on http",
            post.clone(),
            "/tenants",
            Some(json!({"name": "x", "session": {"same_site": "none"}})),
            422,
            "validation_failed",
        ),
        case(
            "unknown SameSite",
            post.clone(),
            "/tenants",
            Some(json!({"name": "x", "session": {"same_site": "sometimes"}})),
            422,
            "invalid_body",
        ),
        case(
            "duplicate slug",
            post.clone(),
            "/tenants",
            Some(json!({"name": "x", "slug": "acme-corp"})),
            409,
            "conflict",
        ),
        case(
            "unknown field",
            post.clone(),
            "/tenants",
            Some(json!({"name": "x", "colour": "red"})),
            422,
            "invalid_body",
        ),
        case(
            "wrong type",
            post.clone(),
            "/tenants",
            Some(json!({"name": 42})),
            422,
            "invalid_body",
        ),
        case(
            "missing name",
            post.clone(),
            "/tenants",
            Some(json!({})),
            422,
            "invalid_body",
        ),
        case(
            "unknown tenant",
            Method::GET,
            "/tenants/nope",
            None,
            404,
            "not_found",
        ),
        case(
            "unknown tenant id",
            Method::GET,
            "/tenants/00000000-0000-0000-0000-000000000000",
            None,
            404,
            "not_found",
        ),
        case(
            "traversal in path",
            Method::GET,
            "/tenants/..%2F..%2Fetc%2Fpasswd",
            None,
            404,
            "not_found",
        ),
        case(
            "update unknown tenant",
            patch.clone(),
            "/tenants/nope",
            Some(json!({"display_name": "y"})),
            404,
            "not_found",
        ),
        case(
            "empty update",
            patch.clone(),
            "/tenants/acme-corp",
            Some(json!({})),
            422,
            "validation_failed",
        ),
        case(
            "slug is immutable",
            patch.clone(),
            "/tenants/acme-corp",
            Some(json!({"slug": "other"})),
            422,
            "invalid_body",
        ),
        case(
            "delete unknown",
            Method::DELETE,
            "/tenants/nope",
            None,
            404,
            "not_found",
        ),
        case(
            "bad limit",
            Method::GET,
            "/tenants?limit=0",
            None,
            422,
            "validation_failed",
        ),
        case(
            "non-numeric limit",
            Method::GET,
            "/tenants?limit=many",
            None,
            400,
            "bad_request",
        ),
        case(
            "unknown query parameter",
            Method::GET,
            "/tenants?colour=red",
            None,
            400,
            "bad_request",
        ),
        case(
            "wrong method",
            Method::PUT,
            "/tenants/acme-corp",
            Some(json!({})),
            405,
            "method_not_allowed",
        ),
        case(
            "unknown route",
            Method::GET,
            "/nope",
            None,
            404,
            "not_found",
        ),
    ];
    cases.push(Case {
        content_type: Some("application/json"),
        body: Some(b"{\"name\": ".to_vec()),
        ..case(
            "malformed JSON",
            post.clone(),
            "/tenants",
            None,
            400,
            "malformed_json",
        )
    });
    cases.push(Case {
        content_type: Some("application/json"),
        body: Some(vec![b'{', 0xff, 0xfe, b'}']),
        ..case(
            "invalid UTF-8",
            post.clone(),
            "/tenants",
            None,
            400,
            "malformed_json",
        )
    });
    cases.push(Case {
        content_type: Some("text/plain"),
        body: Some(br#"{"name":"x"}"#.to_vec()),
        ..case(
            "wrong content type",
            post.clone(),
            "/tenants",
            None,
            415,
            "unsupported_media_type",
        )
    });
    cases.push(Case {
        body: Some(
            json!({"name": "x".repeat(100_000)})
                .to_string()
                .into_bytes(),
        ),
        ..case(
            "oversize body",
            post.clone(),
            "/tenants",
            Some(json!({})),
            413,
            "payload_too_large",
        )
    });
    cases.push(Case {
        auth: Some(String::new()),
        ..case(
            "missing token",
            Method::GET,
            "/tenants",
            None,
            401,
            "unauthorized",
        )
    });
    cases.push(Case {
        auth: Some("Bearer idp_admin_wrong".into()),
        ..case(
            "wrong token",
            Method::GET,
            "/tenants",
            None,
            401,
            "unauthorized",
        )
    });
    cases.push(Case {
        auth: Some(format!("Basic {}", api.token)),
        ..case(
            "wrong scheme",
            Method::GET,
            "/tenants",
            None,
            401,
            "unauthorized",
        )
    });
    cases.push(Case {
        auth: Some(format!("Bearer {}x", api.token)),
        ..case(
            "extended token",
            Method::GET,
            "/tenants",
            None,
            401,
            "unauthorized",
        )
    });
    cases.push(Case {
        auth: Some(format!("Bearer {}", &api.token[..api.token.len() - 1])),
        ..case(
            "truncated token",
            Method::GET,
            "/tenants",
            None,
            401,
            "unauthorized",
        )
    });

    let http = http_client();
    for c in &cases {
        let mut req = http.request(c.method.clone(), format!("{}{}", api.base, c.path));
        match &c.auth {
            Some(a) if a.is_empty() => {}
            Some(a) => req = req.header("authorization", a),
            None => req = req.bearer_auth(&api.token),
        }
        if let Some(ct) = c.content_type {
            req = req.header("content-type", ct);
        }
        if let Some(b) = &c.body {
            req = req.body(b.clone());
        }
        let res = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", c.what));
        let status = res.status().as_u16();
        let header_id = res
            .headers()
            .get("x-request-id")
            .map(|v| v.to_str().unwrap().to_owned());
        let challenge = res
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned());
        let body: Value = res
            .json()
            .await
            .unwrap_or_else(|e| panic!("{}: body is not JSON: {e}", c.what));
        assert_eq!(status, c.want, "{}: {body}", c.what);
        assert_eq!(body["error"], c.code, "{}: {body}", c.what);
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{}: {body}",
            c.what
        );
        assert_eq!(
            body["request_id"].as_str(),
            header_id.as_deref(),
            "{}: request id",
            c.what
        );
        if status == 401 {
            assert!(
                challenge.is_some_and(|c| c.starts_with("Bearer")),
                "{}: WWW-Authenticate",
                c.what
            );
        }
    }
    assert!(cases.len() >= 30);

    // Field-level messages name the field.
    let (_, body) = api
        .create_tenant(json!({"name": "x", "locales": ["en", "english"]}))
        .await;
    assert!(
        body["message"].as_str().unwrap().contains("locales[1]"),
        "{body}"
    );

    // Nothing was created by the bad requests, and the server still serves.
    let (status, page) = api.send(Method::GET, "/tenants", None).await;
    assert_eq!(status, 200);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);

    // The admin API is not on the public listener.
    let res = http
        .get(format!("{}/api/v1/tenants", s.idpd.public_url()))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 404);

    // No secret in the log.
    let logs = s.idpd.logs.text();
    assert!(
        !logs.contains(&api.token),
        "the admin token appears in the log"
    );
    assert!(
        !logs.contains(&api.token["idp_admin_".len()..]),
        "the admin token appears in the log"
    );
}

async fn idpctl_exit_codes(backend: Backend) {
    let s = setup(backend).await;
    let ctl = s.idpd.ctl();
    ctl.run(["tenant", "create", "Acme Corp"]).ok();

    let dup = ctl.run(["tenant", "create", "Other", "--slug", "acme-corp"]);
    assert_eq!(dup.code, 5, "conflict: {dup:?}");
    assert!(
        dup.stderr.contains("idpctl: error:") && dup.stderr.contains("acme-corp"),
        "{dup:?}"
    );
    assert!(dup.stdout.is_empty(), "errors go to stderr only");

    let missing = ctl.run(["tenant", "show", "nope"]);
    assert_eq!(missing.code, 3, "not found: {missing:?}");

    let invalid = ctl.run(["tenant", "create", "x", "--locale", "english"]);
    assert_eq!(invalid.code, 1, "validation: {invalid:?}");
    assert!(invalid.stderr.contains("locales[0]"), "{invalid:?}");

    let unauthorized =
        Ctl::new(&s.idpd.admin_url(), "idp_admin_nope".into()).run(["tenant", "list"]);
    assert_eq!(unauthorized.code, 4, "bad token: {unauthorized:?}");

    let usage = ctl.run(["tenant", "list", "-o", "xml"]);
    assert_eq!(usage.code, 2, "usage: {usage:?}");

    let status = ctl.run(["-o", "json", "status"]).ok().json();
    assert_eq!(status["ready"], true);
    assert_eq!(status["tenants"], 1);
    let want = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(status["backend"], want);
}

//! Bad-input sweep: a catalogue of malformed and hostile requests to every public and admin
//! route (the routers of idpd/src/http), sent over raw TCP so that nothing is cleaned up on
//! the way (invalid UTF-8 in the request line, broken headers, lying lengths). Each must get
//! a 4xx with the error body of its kind (OAuth JSON per RFC 6749 §5.2, the admin API's
//! `{"error","message"}`, an HTML error page, a Bearer challenge, or an error redirect to a
//! registered client), never a 5xx; malformed HTTP may also just close the connection.
//! Afterwards both listeners still serve and the log shows no panic.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use idp_tests::browser::{REDIRECT, acme_with_web_client, pkce};
use idp_tests::faults::panicked;
use idp_tests::{Backend, both_backends, json, setup};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

both_backends!(bad_input_sweep, request_heads_are_limited);

/// What a correct refusal looks like.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// 4xx, JSON `{"error": "...", ...}`, `Cache-Control: no-store` (RFC 6749 §5.2).
    OAuth,
    /// 4xx with a `WWW-Authenticate: Bearer` challenge (RFC 6750 §3).
    Bearer,
    /// 4xx, JSON `{"error": "...", "message": "..."}`.
    Admin,
    /// 4xx, an HTML page.
    Html,
    /// 302/303 to the registered redirect URI with `error=` (the request was good enough to
    /// name a client and its redirect URI; RFC 6749 §4.1.2.1).
    ErrorRedirect,
    /// Malformed HTTP: a 4xx or a closed connection.
    Proto,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum On {
    Public,
    Admin,
}

struct Case {
    name: String,
    on: On,
    raw: Vec<u8>,
    expect: Expect,
}

/// A raw HTTP/1.1 request: `head` lines (without the request line's CRLF), then the body with
/// its Content-Length unless a head line sets one.
fn http(method: &str, target: &str, head: &[&str], body: &[u8]) -> Vec<u8> {
    let mut r = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for h in head {
        r.push_str(h);
        r.push_str("\r\n");
    }
    let has_length = head.iter().any(|h| {
        let h = h.to_ascii_lowercase();
        h.starts_with("content-length") || h.starts_with("transfer-encoding")
    });
    if !has_length && (!body.is_empty() || method == "POST") {
        r.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    r.push_str("\r\n");
    let mut out = r.into_bytes();
    out.extend_from_slice(body);
    out
}

const FORM: &str = "Content-Type: application/x-www-form-urlencoded";
const JSON: &str = "Content-Type: application/json";

/// A JWT-shaped string with this header and payload and a junk signature.
fn jwt(header: serde_json::Value, claims: serde_json::Value) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(b"not a signature")
    )
}

/// Hostile JWTs: `alg: none`, HS256 with an odd kid, embedded keys and URLs, junk segments.
fn hostile_jwts() -> Vec<(&'static str, String)> {
    let claims = json!({"iss": "http://127.0.0.1:8080/t/acme", "sub": "x", "aud": "x",
        "exp": 4_102_444_800i64, "iat": 0, "jti": "j"});
    vec![
        ("alg none", {
            let t = jwt(json!({"alg": "none", "typ": "JWT"}), claims.clone());
            format!("{}.", t.rsplit_once('.').unwrap().0)
        }),
        (
            "HS256 kid traversal",
            jwt(
                json!({"alg": "HS256", "kid": "../../../etc/passwd"}),
                claims.clone(),
            ),
        ),
        (
            "kid SQL",
            jwt(
                json!({"alg": "RS256", "kid": "' OR '1'='1"}),
                claims.clone(),
            ),
        ),
        (
            "jku and x5u",
            jwt(
                json!({"alg": "RS256", "jku": "http://127.0.0.1:9/jwks", "x5u": "http://127.0.0.1:9/x"}),
                claims.clone(),
            ),
        ),
        (
            "embedded jwk",
            jwt(
                json!({"alg": "ES256", "jwk": {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}}),
                claims.clone(),
            ),
        ),
        (
            "crit",
            jwt(json!({"alg": "EdDSA", "crit": ["zzz"], "zzz": 1}), claims),
        ),
        ("header not JSON", "bm90IGpzb24.e30.AA".to_owned()),
        ("not base64", "!!!.???.***".to_owned()),
        ("four segments", "a.b.c.d".to_owned()),
        (
            "huge kid",
            jwt(
                json!({"alg": "RS256", "kid": "k".repeat(10_000)}),
                json!({}),
            ),
        ),
    ]
}

fn form(pairs: &[(&str, &str)]) -> String {
    idp_tests::oauth::form(pairs)
}

fn catalogue(client_id: &str, challenge: &str) -> Vec<Case> {
    use Expect::*;
    use On::{Admin as A, Public as P};
    let mut cases: Vec<Case> = Vec::new();
    let mut add = |name: &str, on: On, raw: Vec<u8>, expect: Expect| {
        cases.push(Case {
            name: name.to_owned(),
            on,
            raw,
            expect,
        })
    };
    let token = "/t/acme/token";
    let refresh = |rt: &str| {
        form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("client_id", client_id),
        ])
    };

    // The token endpoint: bodies, content types, encodings, methods, client authentication.
    add(
        "token: empty body",
        P,
        http("POST", token, &[FORM], b""),
        OAuth,
    );
    add(
        "token: JSON body",
        P,
        http(
            "POST",
            token,
            &[JSON],
            br#"{"grant_type":"client_credentials"}"#,
        ),
        OAuth,
    );
    add(
        "token: text/plain",
        P,
        http(
            "POST",
            token,
            &["Content-Type: text/plain"],
            b"grant_type=x",
        ),
        OAuth,
    );
    add(
        "token: no content type",
        P,
        http("POST", token, &[], b"grant_type=client_credentials"),
        OAuth,
    );
    add(
        "token: multipart",
        P,
        http(
            "POST",
            token,
            &["Content-Type: multipart/form-data; boundary=x"],
            b"--x\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\nrefresh_token\r\n--x--\r\n",
        ),
        OAuth,
    );
    add("token: GET", P, http("GET", token, &[], b""), OAuth);
    add("token: PUT", P, http("PUT", token, &[FORM], b"a=b"), OAuth);
    add(
        "token: 64 KiB body",
        P,
        http(
            "POST",
            token,
            &[FORM],
            format!(
                "grant_type=refresh_token&refresh_token={}",
                "a".repeat(65_536)
            )
            .as_bytes(),
        ),
        OAuth,
    );
    add(
        "token: duplicate grant_type",
        P,
        http(
            "POST",
            token,
            &[FORM],
            format!("{}&grant_type=client_credentials", refresh("x")).as_bytes(),
        ),
        OAuth,
    );
    add(
        "token: duplicate client_id",
        P,
        http(
            "POST",
            token,
            &[FORM],
            format!("{}&client_id=other", refresh("x")).as_bytes(),
        ),
        OAuth,
    );
    add(
        "token: broken percent-encoding",
        P,
        http("POST", token, &[FORM], b"grant_type=%ZZ&client_id=%"),
        OAuth,
    );
    add(
        "token: percent-encoded invalid UTF-8",
        P,
        http(
            "POST",
            token,
            &[FORM],
            format!("grant_type=refresh_token&refresh_token=%FF%FE&client_id={client_id}")
                .as_bytes(),
        ),
        OAuth,
    );
    add(
        "token: raw invalid UTF-8 in the body",
        P,
        http(
            "POST",
            token,
            &[FORM],
            b"grant_type=refresh_token&refresh_token=\xff\xfe\xfd&client_id=\xc3\x28",
        ),
        OAuth,
    );
    add(
        "token: NUL in grant_type",
        P,
        http(
            "POST",
            token,
            &[FORM],
            format!("grant_type=refresh%00token&client_id={client_id}").as_bytes(),
        ),
        OAuth,
    );
    // NUL bytes reach the database as parameters (PostgreSQL refuses them in text).
    add(
        "token: NUL in client_id",
        P,
        http(
            "POST",
            token,
            &[FORM],
            b"grant_type=client_credentials&client_id=a%00b&client_secret=x",
        ),
        OAuth,
    );
    add(
        "token: NUL in the Basic client id",
        P,
        http(
            "POST",
            token,
            &[
                FORM,
                &format!("Authorization: Basic {}", STANDARD.encode("a\0b:x")),
            ],
            b"grant_type=client_credentials",
        ),
        OAuth,
    );
    add(
        "token: NUL in a refresh token",
        P,
        http("POST", token, &[FORM], refresh("idp_rt_\0").as_bytes()),
        OAuth,
    );
    add(
        "authorize: NUL in client_id",
        P,
        http(
            "GET",
            &format!("{}?client_id=a%00b&response_type=code", "/t/acme/authorize"),
            &[],
            b"",
        ),
        Html,
    );
    add(
        "token: unknown grant_type",
        P,
        http(
            "POST",
            token,
            &[FORM],
            format!("grant_type=password&username=a&password=b&client_id={client_id}").as_bytes(),
        ),
        OAuth,
    );
    add(
        "token: 10 KiB refresh token",
        P,
        http(
            "POST",
            token,
            &[FORM],
            refresh(&"r".repeat(10_240)).as_bytes(),
        ),
        OAuth,
    );
    add(
        "token: unicode refresh token",
        P,
        http(
            "POST",
            token,
            &[FORM],
            refresh("idp_rt_☃\u{202e}𝕏").as_bytes(),
        ),
        OAuth,
    );
    add(
        "token: code with a hostile verifier",
        P,
        http(
            "POST",
            token,
            &[FORM],
            form(&[
                ("grant_type", "authorization_code"),
                ("code", "idp_ac_x"),
                ("redirect_uri", "javascript:alert(1)"),
                ("code_verifier", &"\u{0}".repeat(200)),
                ("client_id", client_id),
            ])
            .as_bytes(),
        ),
        OAuth,
    );
    for (user, secret) in [("not base64 !!!", None), ("", Some("")), ("no-colon", None)] {
        let value = match secret {
            None if user.contains('!') => format!("Basic {user}"),
            None => format!("Basic {}", STANDARD.encode(user)),
            Some(s) => format!("Basic {}", STANDARD.encode(format!("{user}:{s}"))),
        };
        add(
            &format!("token: Basic {value:?}"),
            P,
            http(
                "POST",
                token,
                &[FORM, &format!("Authorization: {value}")],
                b"grant_type=client_credentials",
            ),
            OAuth,
        );
    }
    let bad_utf8 = format!("Basic {}", STANDARD.encode(b"\xff\xfe:\xc3\x28"));
    add(
        "token: Basic of invalid UTF-8",
        P,
        http(
            "POST",
            token,
            &[FORM, &format!("Authorization: {bad_utf8}")],
            b"grant_type=client_credentials",
        ),
        OAuth,
    );
    add(
        "token: Basic with bad percent-encoding",
        P,
        http(
            "POST",
            token,
            &[
                FORM,
                &format!("Authorization: Basic {}", STANDARD.encode("%zz:%")),
            ],
            b"grant_type=client_credentials",
        ),
        OAuth,
    );
    add(
        "token: Basic 8 KiB",
        P,
        http(
            "POST",
            token,
            &[
                FORM,
                &format!("Authorization: Basic {}", STANDARD.encode("a".repeat(6000))),
            ],
            b"grant_type=client_credentials",
        ),
        OAuth,
    );
    add(
        "token: Basic and client_secret",
        P,
        http(
            "POST",
            token,
            &[
                FORM,
                &format!("Authorization: Basic {}", STANDARD.encode("a:b")),
            ],
            b"grant_type=client_credentials&client_id=a&client_secret=b",
        ),
        OAuth,
    );
    add(
        "token: Bearer scheme",
        P,
        http(
            "POST",
            token,
            &[FORM, "Authorization: Bearer abc"],
            b"grant_type=client_credentials",
        ),
        OAuth,
    );
    add(
        "token: Authorization with raw non-ASCII bytes",
        P,
        {
            let mut r = http("POST", token, &[FORM], b"grant_type=client_credentials");
            let at = r.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
            r.splice(at..at, b"\r\nAuthorization: Basic \xff\xfe".iter().copied());
            r
        },
        OAuth,
    );
    for (what, assertion) in hostile_jwts() {
        add(
            &format!("token: jwt-bearer assertion, {what}"),
            P,
            http(
                "POST",
                token,
                &[FORM],
                form(&[
                    ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                    ("assertion", &assertion),
                    ("client_id", client_id),
                ])
                .as_bytes(),
            ),
            OAuth,
        );
    }

    // Introspection, revocation, device authorization.
    add(
        "introspect: no client",
        P,
        http("POST", "/t/acme/introspect", &[FORM], b"token=abc"),
        OAuth,
    );
    add(
        "introspect: public client",
        P,
        http(
            "POST",
            "/t/acme/introspect",
            &[FORM],
            form(&[("token", "abc"), ("client_id", client_id)]).as_bytes(),
        ),
        OAuth,
    );
    add(
        "revoke: no token",
        P,
        http(
            "POST",
            "/t/acme/revoke",
            &[FORM],
            form(&[("client_id", client_id)]).as_bytes(),
        ),
        OAuth,
    );
    add(
        "revoke: JSON",
        P,
        http("POST", "/t/acme/revoke", &[JSON], b"{}"),
        OAuth,
    );
    add(
        "device_authorization: no client",
        P,
        http(
            "POST",
            "/t/acme/device_authorization",
            &[FORM],
            b"scope=openid",
        ),
        OAuth,
    );
    add(
        "device_authorization: duplicate client_id",
        P,
        http(
            "POST",
            "/t/acme/device_authorization",
            &[FORM],
            format!("client_id={client_id}&client_id={client_id}").as_bytes(),
        ),
        OAuth,
    );
    add(
        "device_authorization: 10k-char scope",
        P,
        http(
            "POST",
            "/t/acme/device_authorization",
            &[FORM],
            form(&[("client_id", client_id), ("scope", &"s ".repeat(5000))]).as_bytes(),
        ),
        OAuth,
    );

    // Bearer-protected resources.
    for (what, t) in hostile_jwts().into_iter().take(6) {
        add(
            &format!("userinfo: bearer {what}"),
            P,
            http(
                "GET",
                "/t/acme/userinfo",
                &[&format!("Authorization: Bearer {t}")],
                b"",
            ),
            Bearer,
        );
    }
    add(
        "userinfo: empty bearer",
        P,
        http("GET", "/t/acme/userinfo", &["Authorization: Bearer "], b""),
        Bearer,
    );
    add(
        "userinfo: header and body",
        P,
        http(
            "POST",
            "/t/acme/userinfo",
            &[FORM, "Authorization: Bearer abc"],
            b"access_token=abc",
        ),
        Bearer,
    );
    add(
        "userinfo: 16 KiB bearer",
        P,
        http(
            "GET",
            "/t/acme/userinfo",
            &[&format!("Authorization: Bearer {}", "x".repeat(16_384))],
            b"",
        ),
        Bearer,
    );
    add(
        "devices: hostile bearer",
        P,
        http(
            "POST",
            "/t/acme/devices",
            &[
                JSON,
                &format!("Authorization: Bearer {}", hostile_jwts()[0].1),
            ],
            br#"{"name":"x","platform":"linux","public_key":{}}"#,
        ),
        Bearer,
    );
    add(
        "devices: delete a traversal id",
        P,
        http(
            "DELETE",
            "/t/acme/devices/..%2F..%2Fetc%2Fpasswd",
            &["Authorization: Bearer abc"],
            b"",
        ),
        Bearer,
    );

    // Discovery and JWKS: slugs.
    for slug in [
        "%E2%98%83",
        "..%2F..%2Fetc%2Fpasswd",
        "acme%00",
        "ACME",
        "%FF%FE",
        &"a".repeat(300),
    ] {
        add(
            &format!("jwks of slug {slug:.40}"),
            P,
            http("GET", &format!("/t/{slug}/jwks"), &[], b""),
            OAuth,
        );
    }
    add(
        "discovery: unknown tenant (RFC 8414 path)",
        P,
        http(
            "GET",
            "/.well-known/oauth-authorization-server/t/..%2Facme",
            &[],
            b"",
        ),
        OAuth,
    );
    add(
        "jwks: POST",
        P,
        http("POST", "/t/acme/jwks", &[FORM], b""),
        OAuth,
    );
    add(
        "unknown path",
        P,
        http("GET", "/nope/../../etc", &[], b""),
        OAuth,
    );
    add(
        "healthz: DELETE",
        P,
        http("DELETE", "/healthz", &[], b""),
        OAuth,
    );

    // Browser pages: error pages, or an error redirect once the client is known.
    let authz = "/t/acme/authorize";
    add(
        "authorize: no parameters",
        P,
        http("GET", authz, &[], b""),
        Html,
    );
    add(
        "authorize: duplicate client_id",
        P,
        http(
            "GET",
            &format!("{authz}?client_id={client_id}&client_id=x&response_type=code"),
            &[],
            b"",
        ),
        Html,
    );
    add(
        "authorize: broken percent-encoding",
        P,
        http(
            "GET",
            &format!("{authz}?client_id=%ZZ&redirect_uri=%"),
            &[],
            b"",
        ),
        Html,
    );
    add(
        "authorize: invalid UTF-8 client_id",
        P,
        http("GET", &format!("{authz}?client_id=%FF%FE"), &[], b""),
        Html,
    );
    add(
        "authorize: 60 KiB query",
        P,
        http(
            "GET",
            &format!("{authz}?client_id={client_id}&state={}", "s".repeat(60_000)),
            &[],
            b"",
        ),
        Html,
    );
    add(
        "authorize: JSON POST",
        P,
        http("POST", authz, &[JSON], br#"{"client_id":"x"}"#),
        Html,
    );
    let redirect = form(&[("x", REDIRECT)]);
    let redirect = redirect.trim_start_matches("x=");
    let good = format!(
        "{authz}?response_type=code&client_id={client_id}&redirect_uri={redirect}&scope=openid&state=s&code_challenge={challenge}&code_challenge_method=S256"
    );
    for (what, t) in hostile_jwts().into_iter().take(4) {
        add(
            &format!("authorize: id_token_hint {what}, prompt=none"),
            P,
            http(
                "GET",
                &format!("{good}&prompt=none&id_token_hint={t}"),
                &[],
                b"",
            ),
            ErrorRedirect,
        );
    }
    add(
        "authorize: request object",
        P,
        http("GET", &format!("{good}&request=a.b.c"), &[], b""),
        ErrorRedirect,
    );
    // Duplicated parameters make the request ambiguous: an error page, no redirect.
    add(
        "authorize: duplicate scope",
        P,
        http("GET", &format!("{good}&scope=email"), &[], b""),
        Html,
    );
    add(
        "login: no flow",
        P,
        http("GET", "/t/acme/login", &[], b""),
        Html,
    );
    add(
        "login: flow not a uuid",
        P,
        http("GET", "/t/acme/login?flow=..%2F..%2Fx", &[], b""),
        Html,
    );
    add(
        "login: unknown flow",
        P,
        http(
            "GET",
            &format!("/t/acme/login?flow={}", uuid::Uuid::new_v4()),
            &[],
            b"",
        ),
        Html,
    );
    add(
        "login/email: no csrf",
        P,
        http(
            "POST",
            "/t/acme/login/email",
            &[FORM],
            format!("flow={}&email=a%40b.test", uuid::Uuid::new_v4()).as_bytes(),
        ),
        Html,
    );
    add(
        "login/email: 64 KiB body",
        P,
        http(
            "POST",
            "/t/acme/login/email",
            &[FORM],
            format!("email={}", "a".repeat(65_536)).as_bytes(),
        ),
        Html,
    );
    // Issue 16: every form of the public listener is limited to 16 KiB; an oversized body
    // is refused in the endpoint's own kind of error, never buffered.
    let big = format!("a={}", "b".repeat(17 * 1024));
    for (name, target, expect) in [
        ("authorize: 17 KiB form", "/t/acme/authorize", Html),
        ("logout: 17 KiB form", "/t/acme/logout", Html),
        ("login/code: 17 KiB form", "/t/acme/login/code", Html),
        ("device: 17 KiB form", "/t/acme/device", Html),
        ("userinfo: 17 KiB form", "/t/acme/userinfo", OAuth),
        ("revoke: 17 KiB form", "/t/acme/revoke", OAuth),
    ] {
        add(
            name,
            P,
            http("POST", target, &[FORM], big.as_bytes()),
            expect,
        );
    }
    // A body that never finishes is cut at the body timeout (a 4xx or a closed connection).
    add(
        "token: body shorter than its length",
        P,
        http(
            "POST",
            "/t/acme/token",
            &[FORM, "Content-Length: 100"],
            b"grant_type",
        ),
        Proto,
    );
    add(
        "login/email: NUL in the address",
        P,
        http(
            "POST",
            "/t/acme/login/email",
            &[FORM],
            format!("flow={}&csrf=x&email=a%00%40b.test", uuid::Uuid::new_v4()).as_bytes(),
        ),
        Html,
    );
    add(
        "login/code: JSON",
        P,
        http(
            "POST",
            "/t/acme/login/code",
            &[JSON],
            br#"{"code":"123456"}"#,
        ),
        Html,
    );
    add(
        "login/code: invalid UTF-8",
        P,
        http(
            "POST",
            "/t/acme/login/code",
            &[FORM],
            b"flow=\xff&csrf=\xfe&code=%FF",
        ),
        Html,
    );
    add(
        "login/link: junk token",
        P,
        http("GET", "/t/acme/login/link?token=%00%FF..%2F", &[], b""),
        Html,
    );
    add(
        "logout: hostile id_token_hint",
        P,
        http(
            "GET",
            &format!("/t/acme/logout?id_token_hint={}", hostile_jwts()[1].1),
            &[],
            b"",
        ),
        Html,
    );
    add(
        "logout: foreign post_logout_redirect_uri",
        P,
        http(
            "GET",
            "/t/acme/logout?post_logout_redirect_uri=https%3A%2F%2Fevil.test%2F",
            &[],
            b"",
        ),
        Html,
    );
    add(
        "device page: PATCH",
        P,
        http("PATCH", "/t/acme/device", &[FORM], b"user_code=ABCD-EFGH"),
        OAuth,
    );
    add(
        "callback: unknown provider",
        P,
        http("GET", "/t/acme/callback/nope?state=x&code=y", &[], b""),
        Html,
    );
    add(
        "callback: traversal provider",
        P,
        http(
            "GET",
            "/t/acme/callback/..%2F..%2Fadmin?state=%FF",
            &[],
            b"",
        ),
        Html,
    );

    // The admin API.
    let tenants = "/api/v1/tenants";
    add("admin: no token", A, http("GET", tenants, &[], b""), Admin);
    add(
        "admin: junk token",
        A,
        http("GET", tenants, &["Authorization: Bearer junk"], b""),
        Admin,
    );
    add(
        "admin: Basic",
        A,
        http("GET", tenants, &["Authorization: Basic YTpi"], b""),
        Admin,
    );
    add(
        "admin: hostile JWT",
        A,
        http(
            "GET",
            tenants,
            &[&format!("Authorization: Bearer {}", hostile_jwts()[0].1)],
            b"",
        ),
        Admin,
    );
    add(
        "admin: raw non-ASCII token",
        A,
        {
            let mut r = http("GET", tenants, &[], b"");
            let at = r.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
            r.splice(
                at..at,
                b"\r\nAuthorization: Bearer \xff\xfe".iter().copied(),
            );
            r
        },
        Admin,
    );
    add(
        "admin: unknown route",
        A,
        http("GET", "/api/v1/nope", &[], b""),
        Admin,
    );
    cases
}

/// name, method, path, head lines, body.
type AdminCase<'a> = (&'a str, &'a str, &'a str, Vec<&'a str>, Vec<u8>);

/// Admin cases that need a valid admin token (so that validation, not authentication,
/// answers).
fn admin_catalogue(token: &str) -> Vec<Case> {
    let auth = format!("Authorization: Bearer {token}");
    let a = auth.as_str();
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let big = format!(r#"{{"name":"{}"}}"#, "n".repeat(100_000));
    let list: Vec<AdminCase> = vec![
        (
            "malformed JSON",
            "POST",
            "/api/v1/tenants",
            vec![a, JSON],
            b"{\"name\":".to_vec(),
        ),
        (
            "wrong content type",
            "POST",
            "/api/v1/tenants",
            vec![a, "Content-Type: text/plain"],
            b"{}".to_vec(),
        ),
        (
            "100 KiB body",
            "POST",
            "/api/v1/tenants",
            vec![a, JSON],
            big.into_bytes(),
        ),
        (
            "deeply nested JSON",
            "POST",
            "/api/v1/tenants",
            vec![a, JSON],
            deep.into_bytes(),
        ),
        (
            "traversal slug",
            "POST",
            "/api/v1/tenants",
            vec![a, JSON],
            br#"{"name":"x","slug":"../etc"}"#.to_vec(),
        ),
        (
            "unicode slug",
            "POST",
            "/api/v1/tenants",
            vec![a, JSON],
            r#"{"name":"x","slug":"ünï-☃"}"#.as_bytes().to_vec(),
        ),
        (
            "NUL in name",
            "POST",
            "/api/v1/tenants",
            vec![a, JSON],
            br#"{"name":"a\u0000b","slug":"nul"}"#.to_vec(),
        ),
        (
            "invalid UTF-8 JSON",
            "POST",
            "/api/v1/tenants",
            vec![a, JSON],
            b"{\"name\":\"\xff\xfe\"}".to_vec(),
        ),
        (
            "array body",
            "PATCH",
            "/api/v1/tenants/acme",
            vec![a, JSON],
            b"[1,2]".to_vec(),
        ),
        (
            "tenant path traversal",
            "GET",
            "/api/v1/tenants/..%2F..%2Fetc",
            vec![a],
            vec![],
        ),
        (
            "tenant NUL",
            "GET",
            "/api/v1/tenants/acme%00",
            vec![a],
            vec![],
        ),
        (
            "user NUL",
            "GET",
            "/api/v1/tenants/acme/users/a%00b",
            vec![a],
            vec![],
        ),
        (
            "client NUL",
            "GET",
            "/api/v1/tenants/acme/clients/a%00b",
            vec![a],
            vec![],
        ),
        (
            "provider NUL",
            "GET",
            "/api/v1/tenants/acme/providers/a%00b",
            vec![a],
            vec![],
        ),
        (
            "key NUL",
            "POST",
            "/api/v1/keys/a%00b/retire",
            vec![a, JSON],
            b"{}".to_vec(),
        ),
        (
            "user email NUL",
            "POST",
            "/api/v1/tenants/acme/users",
            vec![a, JSON],
            br#"{"email":"a\u0000@b.test"}"#.to_vec(),
        ),
        (
            "tenant unicode",
            "GET",
            "/api/v1/tenants/%E2%98%83",
            vec![a],
            vec![],
        ),
        (
            "client id invalid UTF-8",
            "GET",
            "/api/v1/tenants/acme/clients/%FF%FE",
            vec![a],
            vec![],
        ),
        (
            "limit not a number",
            "GET",
            "/api/v1/tenants?limit=abc",
            vec![a],
            vec![],
        ),
        (
            "negative limit",
            "GET",
            "/api/v1/tenants?limit=-1",
            vec![a],
            vec![],
        ),
        (
            "duplicate limit",
            "GET",
            "/api/v1/tenants?limit=1&limit=2",
            vec![a],
            vec![],
        ),
        (
            "key rotate alg none",
            "POST",
            "/api/v1/tenants/acme/keys/rotate",
            vec![a, JSON],
            br#"{"alg":"none"}"#.to_vec(),
        ),
        (
            "retire traversal kid",
            "POST",
            "/api/v1/keys/..%2F..%2Fx/retire",
            vec![a, JSON],
            br#"{"force":true}"#.to_vec(),
        ),
        (
            "session id not a uuid",
            "DELETE",
            "/api/v1/sessions/not-a-uuid",
            vec![a],
            vec![],
        ),
        (
            "audit since garbage",
            "GET",
            "/api/v1/audit?since=%FF%00",
            vec![a],
            vec![],
        ),
        (
            "user email not an address",
            "POST",
            "/api/v1/tenants/acme/users",
            vec![a, JSON],
            br#"{"email":"not an address"}"#.to_vec(),
        ),
        (
            "user duplicate key",
            "POST",
            "/api/v1/tenants/acme/users",
            vec![a, JSON],
            br#"{"email":"a@b.test","email":"c@d.test"}"#.to_vec(),
        ),
        (
            "client hostile redirect",
            "POST",
            "/api/v1/tenants/acme/clients",
            vec![a, JSON],
            br#"{"name":"x","redirect_uris":["javascript:alert(1)"]}"#.to_vec(),
        ),
        (
            "provider bad issuer",
            "POST",
            "/api/v1/tenants/acme/providers",
            vec![a, JSON],
            br#"{"name":"up","issuer":"file:///etc/passwd","client_id":"x"}"#.to_vec(),
        ),
        (
            "device id not a uuid",
            "DELETE",
            "/api/v1/tenants/acme/devices/..",
            vec![a],
            vec![],
        ),
        (
            "PUT on a collection",
            "PUT",
            "/api/v1/tenants",
            vec![a, JSON],
            b"{}".to_vec(),
        ),
    ];
    list.into_iter()
        .map(|(name, method, path, head, body)| Case {
            name: format!("admin: {name}"),
            on: On::Admin,
            raw: http(method, path, &head, &body),
            expect: Expect::Admin,
        })
        .collect()
}

/// Malformed HTTP, below the routers.
fn protocol_catalogue() -> Vec<Case> {
    let list: Vec<(&str, Vec<u8>)> = vec![
        (
            "invalid UTF-8 in the request line",
            b"GET /t/acme/jwks\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
        ),
        ("junk request line", b"HELLO\r\n\r\n".to_vec()),
        (
            "header without a colon",
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nBroken header\r\n\r\n".to_vec(),
        ),
        // Over idpd's 64 KiB head limit: 431 or a closed connection.
        (
            "500 KiB header",
            format!(
                "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
                "b".repeat(500_000)
            )
            .into_bytes(),
        ),
        (
            "negative Content-Length",
            b"POST /t/acme/token HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n".to_vec(),
        ),
        (
            "two different Content-Lengths",
            b"POST /t/acme/token HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde".to_vec(),
        ),
        (
            "Content-Length and chunked",
            b"POST /t/acme/token HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n".to_vec(),
        ),
        (
            "bad chunk size",
            b"POST /t/acme/token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nabc\r\n0\r\n\r\n".to_vec(),
        ),
        (
            "HTTP/9.9",
            b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n".to_vec(),
        ),
        (
            "body shorter than Content-Length",
            b"POST /t/acme/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type=x".to_vec(),
        ),
    ];
    list.into_iter()
        .map(|(name, raw)| Case {
            name: format!("http: {name}"),
            on: On::Public,
            raw,
            expect: Expect::Proto,
        })
        .collect()
}

/// A response read off the wire.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: HashMap<String, String>,
    body: String,
}

/// Sends `raw` and reads until the server closes (or 2 s pass); `None` when nothing came
/// back.
async fn send(addr: SocketAddr, raw: &[u8]) -> Option<Answer> {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    // The server may answer (and close) before it has read a large body.
    let _ = s.write_all(raw).await;
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), s.read_to_end(&mut buf)).await;
    parse(&buf)
}

fn parse(buf: &[u8]) -> Option<Answer> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..end]);
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = buf[end + 4..].to_vec();
    if headers
        .get("transfer-encoding")
        .is_some_and(|t| t.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Some(Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&b[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = eol + 2;
        out.extend_from_slice(&b[start..(start + size).min(b.len())]);
        b = &b[(start + size + 2).min(b.len())..];
    }
    out
}

/// What is wrong with `answer` for a case expecting `expect`, if anything.
fn judge(expect: Expect, answer: Option<&Answer>) -> Option<String> {
    let Some(a) = answer else {
        return (expect != Expect::Proto).then(|| "no answer".to_owned());
    };
    let ctype = a
        .headers
        .get("content-type")
        .map(String::as_str)
        .unwrap_or("");
    let json: Option<serde_json::Value> = serde_json::from_str(&a.body).ok();
    let field = |name: &str| {
        json.as_ref()
            .and_then(|v| v[name].as_str())
            .is_some_and(|s| !s.is_empty())
    };
    if expect == Expect::ErrorRedirect {
        let location = a.headers.get("location").map(String::as_str).unwrap_or("");
        return (!(matches!(a.status, 302 | 303)
            && location.starts_with(REDIRECT)
            && location.contains("error=")))
        .then(|| "expected an error redirect to the client".to_owned());
    }
    if !(400..500).contains(&a.status) {
        return Some("status is not 4xx".to_owned());
    }
    let ok = match expect {
        Expect::OAuth => {
            ctype.starts_with("application/json")
                && field("error")
                && a.headers.get("cache-control").map(String::as_str) == Some("no-store")
        }
        Expect::Bearer => a
            .headers
            .get("www-authenticate")
            .is_some_and(|c| c.starts_with("Bearer")),
        Expect::Admin => {
            ctype.starts_with("application/json") && field("error") && field("message")
        }
        Expect::Html => {
            ctype.starts_with("text/html") && a.body.to_ascii_lowercase().contains("<html")
        }
        Expect::Proto | Expect::ErrorRedirect => true,
    };
    (!ok).then(|| format!("not a proper {expect:?} error"))
}

async fn bad_input_sweep(backend: Backend) {
    let s = setup(backend).await;
    let idpd = &s.idpd;
    let client_id = acme_with_web_client(idpd).await;
    let (_, challenge) = pkce();
    let mut cases = catalogue(&client_id, &challenge);
    cases.extend(admin_catalogue(&idpd.admin_token()));
    cases.extend(protocol_catalogue());
    assert!(cases.len() >= 50, "the catalogue has {} cases", cases.len());

    let mut failures = Vec::new();
    for case in &cases {
        let addr = match case.on {
            On::Public => idpd.public,
            On::Admin => idpd.admin,
        };
        let answer = send(addr, &case.raw).await;
        if let Some(problem) = judge(case.expect, answer.as_ref()) {
            failures.push(format!("{}: {problem}: {answer:?}", case.name));
        }
    }
    // Still serving, on both listeners, and nothing panicked.
    for addr in [idpd.public, idpd.admin] {
        let path = if addr == idpd.public {
            "/healthz"
        } else {
            "/api/v1/openapi.json"
        };
        let a = send(addr, &http("GET", path, &[], b"")).await;
        assert_eq!(a.map(|a| a.status), Some(200), "{addr} stopped serving");
    }
    let log = idpd.logs.text();
    assert!(!panicked(&log), "idpd panicked:\n{log}");
    assert!(
        failures.is_empty(),
        "{} of {} hostile requests were not refused properly:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    eprintln!("{} hostile requests refused properly", cases.len());
}

/// Request heads are capped at 64 KiB (hyper's default is ~400 KiB) on both listeners: a
/// 70 KiB cookie gets 431, a 40 KiB one (a browser's worst) is served.
async fn request_heads_are_limited(backend: Backend) {
    let s = setup(backend).await;
    let idpd = &s.idpd;
    for (addr, path) in [
        (idpd.public, "/healthz"),
        (idpd.admin, "/api/v1/openapi.json"),
    ] {
        let head = |kib: usize| {
            format!(
                "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: c={}\r\nConnection: close\r\n\r\n",
                "c".repeat(kib * 1024)
            )
            .into_bytes()
        };
        let big = send(addr, &head(70)).await;
        assert_eq!(big.map(|a| a.status), Some(431), "{addr}: a 70 KiB head");
        let fine = send(addr, &head(40)).await;
        assert_eq!(fine.map(|a| a.status), Some(200), "{addr}: a 40 KiB head");
    }
    let too_many: String = (0..120).map(|i| format!("X-H{i}: v\r\n")).collect();
    let raw = format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{too_many}Connection: close\r\n\r\n");
    let a = send(idpd.public, raw.as_bytes()).await;
    assert!(
        a.as_ref().is_none_or(|a| a.status == 431),
        "120 header fields: {a:?}"
    );
}

//! Entry points for the cargo-fuzz targets in `fuzz/` (not part of the public API). Each
//! takes arbitrary bytes and runs them through the same parsing and validation code as the
//! daemon, with fixed fixtures for what would come from the database. A panic is a bug.

use std::sync::OnceLock;

use serde_json::{Value, json};
use shared::admin::Alg;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::clients::{ClientRecord, GRANT_AUTHORIZATION_CODE};
use crate::domain::devices::parse_public_jwk;
use crate::domain::keys::jws::Unverified;
use crate::domain::oauth::authorize::{check_client, check_request, response_url};
use crate::domain::oauth::grant::TokenRequest;
use crate::domain::oauth::jwt_bearer::check_claims;
use crate::http::oidc::form::pairs;

/// The issuer the fixtures belong to.
pub const ISSUER: &str = "https://op.test/t/acme";

fn client() -> &'static ClientRecord {
    static CLIENT: OnceLock<ClientRecord> = OnceLock::new();
    CLIENT.get_or_init(|| ClientRecord {
        id: Uuid::nil(),
        tenant_id: Uuid::nil(),
        client_id: "web".into(),
        name: "Web".into(),
        public: true,
        redirect_uris: vec![
            "https://app.test/cb".into(),
            "http://127.0.0.1:8080/cb".into(),
            "http://[::1]/cb".into(),
        ],
        post_logout_redirect_uris: vec![],
        grant_types: vec![GRANT_AUTHORIZATION_CODE.into()],
        scopes: vec!["openid".into(), "profile".into(), "email".into()],
        access_token_ttl_seconds: 300,
        id_token_alg: Alg::ES256,
        disabled: false,
        secret_digest: None,
        previous_secret_digest: None,
        previous_secret_expires_at: None,
        created_at: OffsetDateTime::UNIX_EPOCH,
        updated_at: OffsetDateTime::UNIX_EPOCH,
    })
}

/// An authorization request's query string: form parsing, then the client and redirect
/// URI check, then the rest of the request, then the redirect back with a code.
pub fn authorization_request(data: &[u8]) {
    let Ok(params) = pairs(data) else { return };
    let Ok(redirect_uri) = check_client(Some(client()), &params) else {
        return;
    };
    if let Ok(req) = check_request(client(), redirect_uri.clone(), &params) {
        let _ = req.openid();
        let _ = response_url(
            &req.redirect_uri,
            &[("code", "c")],
            req.state.as_deref(),
            ISSUER,
        );
    }
}

/// The registered device keys the assertions are checked against: (alg, raw public key).
/// Fixed, so the seed assertion in `fuzz/corpus/inbound_assertion/` verifies and the
/// fuzzer starts from the success path: the Ed25519 key that signed it, and the P-256 key
/// of RFC 7517 appendix A.1.
fn device_keys() -> &'static [(Alg, Vec<u8>)] {
    static KEYS: OnceLock<Vec<(Alg, Vec<u8>)>> = OnceLock::new();
    KEYS.get_or_init(|| {
        [
            json!({"kty": "OKP", "crv": "Ed25519", "x": ED25519_X}),
            json!({"kty": "EC", "crv": "P-256", "x": P256_X, "y": P256_Y}),
        ]
        .iter()
        .map(|jwk| parse_public_jwk(jwk).expect("fixture keys are valid"))
        .collect()
    })
}

const ED25519_X: &str = "IRjCYgH16zKYdBIWQokzYLEjVZJdLrkvbKHaBDkQoO8";
const P256_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
const P256_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

/// An inbound JWT bearer assertion (RFC 7523): split and decode, verify against registered
/// device keys (fails for anything not signed with them, but exercises the header checks
/// and the signature parsers), then the claim rules (at a fixed clock). True if the
/// assertion would be accepted.
pub fn inbound_assertion(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let Some(u) = Unverified::parse(text) else {
        return false;
    };
    let _ = (u.kid(), u.typ());
    let verified = device_keys()
        .iter()
        .any(|(alg, public)| u.verify_inbound(*alg, public));
    let owner = u.claims.get("sub").and_then(Value::as_str).unwrap_or("u");
    let result = check_claims(&u.claims, owner, ISSUER, NOW);
    if let Some(exp) = u.claims.get("exp").and_then(Value::as_i64) {
        let _ = check_claims(&u.claims, owner, ISSUER, exp);
    }
    verified && result.is_ok()
}

/// The clock of `inbound_assertion`.
const NOW: i64 = 1_800_000_000;

/// A token request's form body: form parsing, then the typed `TokenRequest` (each grant's
/// required parameters), as the token endpoint reads it (empty values count as absent).
pub fn token_request(data: &[u8]) {
    let Ok(params) = pairs(data) else { return };
    let get = |name: &str| {
        params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    if let Ok(req) = TokenRequest::parse(get) {
        let _ = req.grant_type();
    }
}

/// A device's public JWK as registered through the API.
pub fn device_jwk(data: &[u8]) {
    if let Ok(v) = serde_json::from_slice::<Value>(data) {
        let _ = parse_public_jwk(&v);
    }
}

/// A change-feed notification payload (PostgreSQL `NOTIFY idp_changes`, `store/changes.rs`):
/// anything parses without panicking, and what names a change reads back as the same change.
/// `Forwarded` / `X-Forwarded-For` headers from a trusted proxy: any header text gives some
/// address, never a panic, and an untrusted peer's headers are never read.
pub fn forwarded(data: &[u8]) {
    use axum::http::{HeaderMap, HeaderValue};
    let mut headers = HeaderMap::new();
    for (i, line) in data.split(|b| *b == b'\n').enumerate() {
        if let Ok(v) = HeaderValue::from_bytes(line) {
            let name = if i % 2 == 0 {
                "forwarded"
            } else {
                "x-forwarded-for"
            };
            headers.append(name, v);
        }
    }
    let trusted: [ipnet::IpNet; 2] = ["10.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()];
    let proxy = std::net::IpAddr::from([10, 0, 0, 1]);
    let _ = crate::http::forwarded::client_address(proxy, &headers, &trusted);
    let outsider = std::net::IpAddr::from([192, 0, 2, 1]);
    assert_eq!(
        crate::http::forwarded::client_address(outsider, &headers, &trusted),
        outsider
    );
}

pub fn change_payload(data: &[u8]) {
    use crate::store::changes::Change;
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let change = Change::parse(text);
    let again = match &change {
        Change::Client {
            tenant_id,
            client_id,
        } => Change::parse(&format!("client:{tenant_id}:{client_id}")),
        Change::Tenant { tenant_id } => Change::parse(&format!("tenant:{tenant_id}")),
        Change::Keys { tenant_id } => Change::parse(&format!("keys:{tenant_id}")),
        Change::Everything => Change::Everything,
    };
    assert_eq!(change, again, "{text:?}");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// fuzz/corpus/inbound_assertion/seed-ed25519: signed by the fixture Ed25519 key.
    const SEED_ASSERTION: &str = include_str!("../../fuzz/corpus/inbound_assertion/seed-ed25519");

    /// The entry points accept anything without panicking, valid inputs included.
    #[test]
    fn entry_points_take_arbitrary_input() {
        authorization_request(
            b"response_type=code&client_id=web&redirect_uri=https%3A%2F%2Fapp.test%2Fcb\
              &scope=openid&state=s&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM\
              &code_challenge_method=S256",
        );
        authorization_request(b"%ff=%fe&&=&redirect_uri=http://127.0.0.1:1/cb");
        assert!(inbound_assertion(SEED_ASSERTION.as_bytes()));
        let mut forged = SEED_ASSERTION.to_owned();
        forged.replace_range(40..41, "A");
        assert!(!inbound_assertion(forged.as_bytes()));
        assert!(!inbound_assertion(b"e30.e30."));
        assert!(!inbound_assertion(
            b"eyJhbGciOiJFZERTQSJ9.eyJleHAiOjE4MDAwMDAwMDB9.AA"
        ));
        device_jwk(
            br#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
        );
        device_jwk(b"[]");
        change_payload(b"client:0192a4c2-4bd6-7c2e-8a4e-2f6c1b0e9d11:svc:a");
        change_payload(b"keys:0192A4C2-4BD6-7C2E-8A4E-2F6C1B0E9D11");
        change_payload(b"tenant:{0192a4c2-4bd6-7c2e-8a4e-2f6c1b0e9d11}");
        change_payload(b"\xff:");
        forwarded(b"for=\"[2001:db8::1]:80\", for=10.0.0.2\n1.2.3.4, unknown\n\xff");
        token_request(b"grant_type=authorization_code&code=c&code_verifier=v&redirect_uri=x");
        token_request(b"grant_type=refresh_token&grant_type=x&%ff");
        token_request(b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer");
    }
}

//! Authorization requests (RFC 6749 §4.1.1, OIDC Core §3.1.2.1): parsing and validation,
//! in the order that keeps the endpoint from becoming an open redirector (RFC 9700 §4.11):
//! client and redirect URI first (failures are shown, never redirected), then everything
//! else (failures are redirected back to the client with `error`, `state` and `iss`).

use std::collections::HashMap;

use url::Url;

use super::ErrorCode;
use super::scope;
use crate::domain::clients::{ClientRecord, GRANT_AUTHORIZATION_CODE};
pub use crate::model::authorize::AuthorizationRequest;

/// A failure that must not be redirected: the client or its redirect URI is not trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UntrustedError(pub &'static str);

/// A failure reported to the client through its redirect URI (RFC 6749 §4.1.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectError {
    pub error: ErrorCode,
    pub description: String,
}

fn redirect_error(error: ErrorCode, description: impl Into<String>) -> RedirectError {
    RedirectError {
        error,
        description: description.into(),
    }
}

impl AuthorizationRequest {
    pub fn openid(&self) -> bool {
        self.scope.iter().any(|s| s == "openid")
    }
}

/// Largest accepted parameter value; real ones are far shorter.
const MAX_PARAM: usize = 2048;

/// Step 1: the client and the redirect URI. Returns the redirect URI to use.
pub fn check_client(
    client: Option<&ClientRecord>,
    params: &HashMap<String, String>,
) -> Result<String, UntrustedError> {
    let client = client.ok_or(UntrustedError("unknown client"))?;
    if client.disabled {
        return Err(UntrustedError("unknown client"));
    }
    if !client.allows_grant(GRANT_AUTHORIZATION_CODE) {
        return Err(UntrustedError(
            "this client may not use the authorization code flow",
        ));
    }
    match params.get("redirect_uri").filter(|v| !v.is_empty()) {
        Some(uri) if registered(client, uri) => Ok(uri.clone()),
        Some(_) => Err(UntrustedError(
            "the redirect_uri is not registered for this client",
        )),
        // OIDC makes redirect_uri required; without it we would have to guess.
        None => Err(UntrustedError("missing redirect_uri")),
    }
}

/// Exact string comparison (RFC 9700 §4.1.3), with one exception: for a registered
/// loopback `http` URI any port is allowed (RFC 8252 §7.3); everything else must match.
pub fn registered(client: &ClientRecord, uri: &str) -> bool {
    client
        .redirect_uris
        .iter()
        .any(|r| r == uri || loopback_port_match(r, uri))
}

/// The parts of `http://HOST[:PORT]REST` when HOST is written exactly as one of the loopback
/// IP literals `127.0.0.1` or `[::1]`: (host, port as written, rest). Strings, not a URL
/// parser: a parser normalizes (`127.1`, `0x7f.0.0.1`, `/x/../cb`, `\`, a trailing dot,
/// upper-case schemes), and RFC 9700 §4.1.3 wants the registered string itself.
fn loopback_parts(uri: &str) -> Option<(&str, Option<&str>, &str)> {
    let after = uri.strip_prefix("http://")?;
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let (authority, rest) = after.split_at(end);
    let (host, port) = ["127.0.0.1", "[::1]"]
        .into_iter()
        .find_map(|h| authority.strip_prefix(h).map(|port| (h, port)))?;
    let port = match port {
        "" => None,
        p => Some(p.strip_prefix(':')?),
    };
    Some((host, port, rest))
}

/// A port as a client would write it: 1 to 65535 in decimal, no sign, no leading zero.
fn plain_port(p: &str) -> bool {
    !p.starts_with('0')
        && (1..=5).contains(&p.len())
        && p.bytes().all(|b| b.is_ascii_digit())
        && p.parse::<u32>().is_ok_and(|n| n <= 65535)
}

/// RFC 8252 §7.3, RFC 9700 §4.1.3: a registered `http` URI on a loopback IP literal matches
/// the same URI with any port (a native app's ephemeral listener); scheme, host as written,
/// path and query must be byte for byte the registered ones.
fn loopback_port_match(registered: &str, presented: &str) -> bool {
    let (Some((rh, _, rr)), Some((ph, pp, pr))) =
        (loopback_parts(registered), loopback_parts(presented))
    else {
        return false;
    };
    rh == ph && rr == pr && pp.is_none_or(plain_port)
}

/// Step 2: everything else. Run only after `check_client` succeeded.
pub fn check_request(
    client: &ClientRecord,
    redirect_uri: String,
    params: &HashMap<String, String>,
) -> Result<AuthorizationRequest, RedirectError> {
    let get = |k: &str| params.get(k).map(String::as_str).filter(|v| !v.is_empty());
    if params.values().any(|v| v.len() > MAX_PARAM) {
        return Err(redirect_error(
            ErrorCode::InvalidRequest,
            "a parameter is too long",
        ));
    }
    if get("request").is_some() {
        return Err(redirect_error(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if get("request_uri").is_some() {
        return Err(redirect_error(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }
    match get("response_type") {
        Some("code") => {}
        Some(_) => {
            return Err(redirect_error(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ));
        }
        None => {
            return Err(redirect_error(
                ErrorCode::InvalidRequest,
                "missing response_type",
            ));
        }
    }
    if get("response_mode").is_some_and(|m| m != "query") {
        return Err(redirect_error(
            ErrorCode::InvalidRequest,
            "only response_mode=query is supported",
        ));
    }
    // PKCE S256 for every client (RFC 9700 §2.1.1); plain is refused (RFC 7636 §4.2).
    let challenge = get("code_challenge").ok_or_else(|| {
        redirect_error(
            ErrorCode::InvalidRequest,
            "code_challenge is required (PKCE, S256)",
        )
    })?;
    match get("code_challenge_method") {
        Some("S256") => {}
        _ => {
            return Err(redirect_error(
                ErrorCode::InvalidRequest,
                "code_challenge_method must be S256",
            ));
        }
    }
    if !valid_s256_challenge(challenge) {
        return Err(redirect_error(
            ErrorCode::InvalidRequest,
            "code_challenge must be 43 base64url characters (SHA-256 of the verifier)",
        ));
    }
    let scope = scope::narrow(get("scope"), &client.scopes)
        .map_err(|e| redirect_error(ErrorCode::InvalidScope, e.description))?;
    let mut prompt_none = false;
    let mut prompt_login = false;
    for p in get("prompt")
        .unwrap_or("")
        .split(' ')
        .filter(|p| !p.is_empty())
    {
        match p {
            "none" => prompt_none = true,
            "login" => prompt_login = true,
            "consent" | "select_account" => {}
            _ => {
                return Err(redirect_error(
                    ErrorCode::InvalidRequest,
                    format!("unknown prompt value {p:?}"),
                ));
            }
        }
    }
    if prompt_none && prompt_login {
        return Err(redirect_error(
            ErrorCode::InvalidRequest,
            "prompt=none cannot be combined with other values",
        ));
    }
    let max_age = match get("max_age") {
        Some(v) => Some(v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            redirect_error(
                ErrorCode::InvalidRequest,
                "max_age must be a non-negative integer",
            )
        })?),
        None => None,
    };
    let ui_locales = get("ui_locales")
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .take(10)
        .map(str::to_owned)
        .collect();
    Ok(AuthorizationRequest {
        client_id: client.client_id.clone(),
        redirect_uri,
        scope,
        state: get("state").map(str::to_owned),
        nonce: get("nonce").map(str::to_owned),
        code_challenge: challenge.to_owned(),
        prompt_none,
        prompt_login,
        max_age,
        login_hint: get("login_hint").map(str::to_owned),
        ui_locales,
    })
}

/// RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is exactly 43 characters of the base64url
/// alphabet without padding.
pub fn valid_s256_challenge(c: &str) -> bool {
    c.len() == 43
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// RFC 7636 §4.6: the verifier is 43–128 unreserved characters and hashes to the challenge.
pub fn verify_pkce(verifier: &str, challenge: &str) -> bool {
    use base64::Engine;
    let ok_chars = verifier
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    if !(43..=128).contains(&verifier.len()) || !ok_chars {
        return false;
    }
    let digest = crate::crypto::sha256(verifier.as_bytes());
    let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
    crate::crypto::ct_eq(computed.as_bytes(), challenge.as_bytes())
}

/// The redirect back to the client: `code` or `error`, plus `state` and `iss` (RFC 9207).
pub fn response_url(
    redirect_uri: &str,
    params: &[(&str, &str)],
    state: Option<&str>,
    issuer: &str,
) -> String {
    let mut url = Url::parse(redirect_uri).expect("registered redirect URIs are absolute URLs");
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
        if let Some(s) = state {
            q.append_pair("state", s);
        }
        q.append_pair("iss", issuer);
    }
    url.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn client(uris: &[&str]) -> ClientRecord {
        ClientRecord {
            id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            client_id: "web".into(),
            name: "web".into(),
            public: true,
            redirect_uris: uris.iter().map(|s| (*s).to_owned()).collect(),
            post_logout_redirect_uris: vec![],
            grant_types: vec!["authorization_code".into()],
            scopes: vec!["openid".into(), "email".into()],
            access_token_ttl_seconds: 600,
            id_token_alg: shared::admin::Alg::RS256,
            disabled: false,
            secret_digest: None,
            previous_secret_digest: None,
            previous_secret_expires_at: None,
            created_at: crate::clock::now(),
            updated_at: crate::clock::now(),
        }
    }

    /// docs/security.md SEC-01: every non-identical value is refused.
    #[test]
    fn redirect_uris_match_exactly() {
        let c = client(&["https://rp.test/cb"]);
        assert!(registered(&c, "https://rp.test/cb"));
        for bad in [
            "https://rp.test/cb/x",
            "https://rp.test/cb?x=1",
            "https://rp.test/cb#f",
            "https://rp.test/cb/",
            "https://RP.test/cb",
            "https://rp.test/CB",
            "https://rp.test:443/cb",
            "https://rp.test/cb/../cb",
            "https://rp.test/cb%2F..%2Fx",
            "https://rp.test/;..;/cb",
            "https://rp.test.evil.test/cb",
            "https://rp.test@evil.test/cb",
            "https://a@b@evil.test/cb",
            "http://rp.test/cb",
        ] {
            assert!(!registered(&c, bad), "{bad} must not match");
        }
    }

    #[test]
    fn loopback_redirects_may_use_any_port() {
        let c = client(&["http://127.0.0.1/cb", "http://[::1]:8080/cb"]);
        assert!(registered(&c, "http://127.0.0.1:49152/cb"));
        assert!(registered(&c, "http://127.0.0.1/cb"));
        assert!(registered(&c, "http://[::1]:1234/cb"));
        assert!(!registered(&c, "http://127.0.0.1:49152/cb?x=1"));
        assert!(!registered(&c, "http://127.0.0.1:49152/cb/"));
        assert!(!registered(&c, "http://127.0.0.2:49152/cb"));
        assert!(!registered(&c, "http://localhost:49152/cb"));
        assert!(!registered(&c, "https://127.0.0.1:49152/cb"));
    }

    /// Issue 16: loopback URIs matched after URL normalization gave codes to all of these.
    #[test]
    fn loopback_redirects_match_as_written_but_the_port() {
        let c = client(&["http://127.0.0.1/callback", "http://[::1]:8080/cb?a=1"]);
        for good in [
            "http://127.0.0.1/callback",
            "http://127.0.0.1:1/callback",
            "http://127.0.0.1:49152/callback",
            "http://127.0.0.1:65535/callback",
            "http://[::1]/cb?a=1",
            "http://[::1]:8080/cb?a=1",
            "http://[::1]:3000/cb?a=1",
        ] {
            assert!(registered(&c, good), "{good} must match");
        }
        for bad in [
            "http://127.0.0.1/x/../callback",
            "http://127.0.0.1:49152/x/../callback",
            "http://127.0.0.1/./callback",
            "http://127.0.0.1\\callback",
            "http://127.0.0.1:49152\\callback",
            "http://0x7f.0.0.1/callback",
            "http://0x7f000001/callback",
            "http://2130706433/callback",
            "http://127.1/callback",
            "http://127.0.0.01/callback",
            "http://0177.0.0.1/callback",
            "http://127.0.0.1./callback",
            "http://127.0.0.1.:8080/callback",
            "http://127.0.0.1:0/callback",
            "http://127.0.0.1:00/callback",
            "http://127.0.0.1:080/callback",
            "http://127.0.0.1:65536/callback",
            "http://127.0.0.1:99999/callback",
            "http://127.0.0.1:+80/callback",
            "http://127.0.0.1:/callback",
            "http://127.0.0.1:80:80/callback",
            "HTTP://127.0.0.1/callback",
            "http://127.0.0.1/Callback",
            "http://127.0.0.1/callback?",
            "http://127.0.0.1/callback#",
            "http://127.0.0.1/callback/",
            "http://127.0.0.1/%63allback",
            "http://user@127.0.0.1/callback",
            "http://127.0.0.1@evil.test/callback",
            "http://127.0.0.1:80@evil.test/callback",
            "http://[::1]/callback",
            "http://[0:0:0:0:0:0:0:1]:8080/cb?a=1",
            "http://[::1]:8080/cb?a=2",
            "http://[::1]:8080/cb",
            "http://[::ffff:127.0.0.1]/callback",
            "http://localhost/callback",
            "https://127.0.0.1/callback",
        ] {
            assert!(!registered(&c, bad), "{bad} must not match");
        }
        // Only what is registered exactly gets the exception: no port exception for a
        // registration that is not written as a loopback literal.
        let odd = client(&["http://127.1/cb"]);
        assert!(registered(&odd, "http://127.1/cb"));
        assert!(!registered(&odd, "http://127.1:8080/cb"));
        assert!(!registered(&odd, "http://127.0.0.1:8080/cb"));
    }

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn pkce_is_required_and_s256_only() {
        let c = client(&["https://rp.test/cb"]);
        let base = [
            ("response_type", "code"),
            ("scope", "openid"),
            ("state", "s"),
        ];
        let check = |extra: &[(&str, &str)]| {
            let mut p = params(&base);
            p.extend(params(extra));
            check_request(&c, "https://rp.test/cb".into(), &p)
        };
        assert!(
            check(&[
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256")
            ])
            .is_ok()
        );
        for bad in [
            vec![],
            vec![("code_challenge", CHALLENGE)],
            vec![
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "plain"),
            ],
            vec![
                ("code_challenge", &CHALLENGE[..42]),
                ("code_challenge_method", "S256"),
            ],
            vec![
                (
                    "code_challenge",
                    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+c=",
                ),
                ("code_challenge_method", "S256"),
            ],
        ] {
            let e = check(&bad).unwrap_err();
            assert_eq!(e.error, ErrorCode::InvalidRequest, "{bad:?}");
        }
    }

    #[test]
    fn other_parameters() {
        let c = client(&["https://rp.test/cb"]);
        let ok = [
            ("response_type", "code"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ];
        let check = |extra: &[(&str, &str)]| {
            let mut p = params(&ok);
            p.extend(params(extra));
            check_request(&c, "https://rp.test/cb".into(), &p)
        };
        assert_eq!(
            check(&[("response_type", "token")]).unwrap_err().error,
            ErrorCode::UnsupportedResponseType
        );
        assert_eq!(
            check(&[("scope", "openid admin")]).unwrap_err().error,
            ErrorCode::InvalidScope
        );
        assert_eq!(
            check(&[("request", "eyJ...")]).unwrap_err().error,
            ErrorCode::RequestNotSupported
        );
        assert_eq!(
            check(&[("request_uri", "https://x")]).unwrap_err().error,
            ErrorCode::RequestUriNotSupported
        );
        assert_eq!(
            check(&[("prompt", "none login")]).unwrap_err().error,
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            check(&[("max_age", "-1")]).unwrap_err().error,
            ErrorCode::InvalidRequest
        );
        let r = check(&[
            ("prompt", "login"),
            ("max_age", "0"),
            ("ui_locales", "nb en"),
            ("nonce", "n"),
        ])
        .unwrap();
        assert!(r.prompt_login && r.max_age == Some(0) && r.ui_locales == ["nb", "en"]);
        assert_eq!(
            r.scope,
            ["openid", "email"],
            "no scope: all the client's scopes"
        );
    }

    #[test]
    fn client_checks_come_first() {
        let c = client(&["https://rp.test/cb"]);
        let p = params(&[("redirect_uri", "https://evil.test/cb")]);
        assert!(check_client(Some(&c), &p).is_err());
        assert!(check_client(None, &params(&[("redirect_uri", "https://rp.test/cb")])).is_err());
        assert!(
            check_client(Some(&c), &params(&[])).is_err(),
            "missing redirect_uri"
        );
        assert_eq!(
            check_client(Some(&c), &params(&[("redirect_uri", "https://rp.test/cb")])).unwrap(),
            "https://rp.test/cb"
        );
    }

    #[test]
    fn pkce_verification() {
        // RFC 7636 Appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(verify_pkce(verifier, CHALLENGE));
        assert!(!verify_pkce(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj",
            CHALLENGE
        ));
        assert!(!verify_pkce("short", CHALLENGE));
    }

    #[test]
    fn responses_carry_state_and_iss() {
        let u = response_url(
            "https://rp.test/cb",
            &[("code", "abc")],
            Some("xyz"),
            "https://idp.test/t/acme",
        );
        assert_eq!(
            u,
            "https://rp.test/cb?code=abc&state=xyz&iss=https%3A%2F%2Fidp.test%2Ft%2Facme"
        );
    }
}

//! Scope parameters (RFC 6749 §3.3): parsing and narrowing to what a client may have.

use super::OAuthError;
use super::error::ErrorCode;
use crate::domain::clients::scope_token_ok;

/// The granted scopes: the requested ones if the client may have all of them, or every
/// scope of the client when none was requested.
pub fn narrow(requested: Option<&str>, allowed: &[String]) -> Result<Vec<String>, OAuthError> {
    let Some(requested) = requested else {
        return Ok(allowed.to_vec());
    };
    let mut out: Vec<String> = Vec::new();
    for s in requested.split(' ').filter(|s| !s.is_empty()) {
        if !scope_token_ok(s) {
            return Err(OAuthError::new(ErrorCode::InvalidScope, "malformed scope"));
        }
        if !allowed.iter().any(|a| a == s) {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                format!("scope {s:?} is not allowed for this client"),
            ));
        }
        if !out.iter().any(|o| o == s) {
            out.push(s.to_owned());
        }
    }
    Ok(out)
}

/// Of the scopes a grant carries (a code, a device authorization, a refresh token), those
/// the client may still have: a scope removed from the client since the grant was made is
/// not issued again (SEC-25).
pub fn still_allowed<'a>(
    granted: impl IntoIterator<Item = &'a str>,
    allowed: &[String],
) -> Vec<String> {
    granted
        .into_iter()
        .filter(|s| !s.is_empty() && allowed.iter().any(|a| a == s))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removed_scopes_are_not_granted_again() {
        let allowed = vec!["openid".to_owned(), "email".to_owned()];
        assert_eq!(
            still_allowed("openid profile email".split(' '), &allowed),
            ["openid", "email"]
        );
        assert!(still_allowed("".split(' '), &allowed).is_empty());
    }

    #[test]
    fn narrowing() {
        let allowed = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(narrow(None, &allowed).unwrap(), allowed);
        assert_eq!(narrow(Some("b"), &allowed).unwrap(), ["b"]);
        assert_eq!(narrow(Some("b a b"), &allowed).unwrap(), ["b", "a"]);
        assert_eq!(narrow(Some(""), &allowed).unwrap(), Vec::<String>::new());
        assert_eq!(
            narrow(Some("c"), &allowed).unwrap_err().code,
            ErrorCode::InvalidScope
        );
        assert_eq!(
            narrow(Some("a\""), &allowed).unwrap_err().code,
            ErrorCode::InvalidScope
        );
    }
}

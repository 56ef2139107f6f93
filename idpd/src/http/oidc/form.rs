//! Form bodies of the token, introspection and revocation endpoints, and client
//! credentials (RFC 6749 §2.3.1, §3.2).

use std::collections::HashMap;

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::domain::oauth::OAuthError;
use crate::domain::oauth::token::Credentials;

/// Parsed `application/x-www-form-urlencoded` parameters; each appears at most once.
pub struct Form {
    params: HashMap<String, String>,
}

impl Form {
    /// Refuses other content types, repeated parameters (RFC 6749 §3.2) and bodies that do
    /// not decode to UTF-8.
    pub fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Form, OAuthError> {
        let ct = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let media = ct.split(';').next().unwrap_or("").trim();
        if !media.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(OAuthError::invalid_request(
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        let params = pairs(body).map_err(OAuthError::invalid_request)?;
        Ok(Form { params })
    }

    /// A parameter; empty values count as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("missing parameter {name}")))
    }
}

/// `application/x-www-form-urlencoded` parameters (a body or a query string), each at most
/// once (RFC 6749 §3.1, §3.2) and valid UTF-8; the error says which rule was broken.
pub fn pairs(raw: &[u8]) -> Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw) {
        if k.contains('\u{FFFD}') || v.contains('\u{FFFD}') {
            return Err("the parameters are not valid UTF-8".into());
        }
        if out.contains_key(k.as_ref()) {
            return Err(format!("parameter {k} is repeated"));
        }
        out.insert(k.into_owned(), v.into_owned());
    }
    Ok(out)
}

/// The client's credentials from `Authorization: Basic` or the body, and whether Basic was
/// used. Both at once is an error (RFC 6749 §2.3).
pub fn credentials(headers: &HeaderMap, form: &Form) -> Result<(Credentials, bool), OAuthError> {
    let body_id = form.get("client_id");
    let body_secret = form.get("client_secret");
    let Some(auth) = headers.get(header::AUTHORIZATION) else {
        let creds = match (body_id, body_secret) {
            (Some(id), Some(secret)) => Credentials::Secret {
                client_id: id.to_owned(),
                secret: secret.to_owned(),
            },
            (Some(id), None) => Credentials::IdOnly {
                client_id: id.to_owned(),
            },
            (None, _) => Credentials::None,
        };
        return Ok((creds, false));
    };
    let basic = auth
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, rest)| rest.trim());
    let Some(encoded) = basic else {
        return Err(OAuthError::invalid_client());
    };
    if body_secret.is_some() {
        return Err(OAuthError::invalid_request(
            "use one client authentication method: Basic or client_secret in the body, not both",
        ));
    }
    let decoded = STANDARD
        .decode(encoded)
        .ok()
        .and_then(|b| String::from_utf8(b).ok());
    let Some((id, secret)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
        return Err(OAuthError::invalid_client());
    };
    // Both halves are form-urlencoded before base64 (RFC 6749 §2.3.1).
    let (id, secret) = (form_decode(id), form_decode(secret));
    if id.is_empty() {
        return Err(OAuthError::invalid_client());
    }
    if body_id.is_some_and(|b| b != id) {
        return Err(OAuthError::invalid_request(
            "client_id in the body differs from Basic auth",
        ));
    }
    Ok((
        Credentials::Secret {
            client_id: id,
            secret,
        },
        true,
    ))
}

/// Whether the request tried HTTP Basic authentication.
pub fn uses_basic(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(' ').next())
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("basic"))
}

fn form_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("v={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(auth: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded; charset=UTF-8"),
        );
        if let Some(a) = auth {
            h.insert(header::AUTHORIZATION, HeaderValue::from_str(a).unwrap());
        }
        h
    }

    #[test]
    fn repeated_and_foreign_bodies_are_refused() {
        assert!(Form::parse(&headers(None), b"grant_type=a&grant_type=b").is_err());
        let mut json = HeaderMap::new();
        json.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        assert!(Form::parse(&json, b"{}").is_err());
        assert!(Form::parse(&headers(None), b"a=%ff").is_err());
        let f = Form::parse(&headers(None), b"a=&b=x+y").unwrap();
        assert_eq!(f.get("a"), None);
        assert_eq!(f.get("b"), Some("x y"));
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let form = Form::parse(&headers(None), b"").unwrap();
        let enc = STANDARD.encode("my%3Aclient:s%2Bcret");
        let (c, basic) = credentials(&headers(Some(&format!("Basic {enc}"))), &form).unwrap();
        assert!(basic);
        assert_eq!(
            c,
            Credentials::Secret {
                client_id: "my:client".into(),
                secret: "s+cret".into()
            }
        );
        assert!(credentials(&headers(Some("Basic !!!")), &form).is_err());
        assert!(credentials(&headers(Some("Bearer x")), &form).is_err());
        let both = Form::parse(&headers(None), b"client_secret=x").unwrap();
        let err = credentials(&headers(Some(&format!("Basic {enc}"))), &both).unwrap_err();
        assert_eq!(err.code, crate::domain::oauth::ErrorCode::InvalidRequest);
    }
}

//! The token request (RFC 6749 §3.2) as a type: each grant with its parameters, parsed once
//! from the form, then dispatched to the module that implements it.

use super::error::{ErrorCode, OAuthError};
use super::token::{Ctx, TokenResponse};
use super::{code, device_code, jwt_bearer, token};
use crate::domain::clients::{ClientRecord, GRANT_DEVICE_CODE, GRANT_JWT_BEARER};

/// A token request, by grant type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRequest<'a> {
    ClientCredentials {
        scope: Option<&'a str>,
    },
    AuthorizationCode {
        code: &'a str,
        redirect_uri: Option<&'a str>,
        code_verifier: Option<&'a str>,
    },
    RefreshToken {
        refresh_token: &'a str,
        scope: Option<&'a str>,
    },
    DeviceCode {
        device_code: &'a str,
    },
    JwtBearer {
        assertion: &'a str,
        scope: Option<&'a str>,
    },
}

impl<'a> TokenRequest<'a> {
    /// Parses a request from its parameters (`get` answers `None` for absent or empty).
    pub fn parse(get: impl Fn(&str) -> Option<&'a str>) -> Result<TokenRequest<'a>, OAuthError> {
        let require = |name: &str| {
            get(name)
                .ok_or_else(|| OAuthError::invalid_request(format!("missing parameter {name}")))
        };
        Ok(match require("grant_type")? {
            "client_credentials" => TokenRequest::ClientCredentials {
                scope: get("scope"),
            },
            "authorization_code" => TokenRequest::AuthorizationCode {
                code: require("code")?,
                redirect_uri: get("redirect_uri"),
                code_verifier: get("code_verifier"),
            },
            "refresh_token" => TokenRequest::RefreshToken {
                refresh_token: require("refresh_token")?,
                scope: get("scope"),
            },
            GRANT_DEVICE_CODE => TokenRequest::DeviceCode {
                device_code: require("device_code")?,
            },
            GRANT_JWT_BEARER => TokenRequest::JwtBearer {
                assertion: require("assertion")?,
                scope: get("scope"),
            },
            other => {
                return Err(OAuthError::new(
                    ErrorCode::UnsupportedGrantType,
                    format!("grant_type {other:?} is not supported"),
                ));
            }
        })
    }

    /// The `grant_type` (also the label of the tokens-issued metric: a fixed set).
    pub fn grant_type(&self) -> &'static str {
        match self {
            TokenRequest::ClientCredentials { .. } => "client_credentials",
            TokenRequest::AuthorizationCode { .. } => "authorization_code",
            TokenRequest::RefreshToken { .. } => "refresh_token",
            TokenRequest::DeviceCode { .. } => GRANT_DEVICE_CODE,
            TokenRequest::JwtBearer { .. } => GRANT_JWT_BEARER,
        }
    }
}

/// Answers a token request of an authenticated client.
pub async fn token(
    ctx: &Ctx<'_>,
    client: &ClientRecord,
    req: &TokenRequest<'_>,
) -> Result<TokenResponse, OAuthError> {
    match *req {
        TokenRequest::ClientCredentials { scope } => {
            token::client_credentials(ctx, client, scope).await
        }
        TokenRequest::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => code::exchange_code(ctx, client, code, redirect_uri, code_verifier).await,
        TokenRequest::RefreshToken {
            refresh_token,
            scope,
        } => code::refresh(ctx, client, refresh_token, scope).await,
        TokenRequest::DeviceCode { device_code } => {
            device_code::poll(ctx, client, device_code).await
        }
        TokenRequest::JwtBearer { assertion, scope } => {
            jwt_bearer::grant(ctx, client, assertion, scope).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(pairs: &[(&str, &str)]) -> Result<TokenRequest<'static>, OAuthError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let map: &'static HashMap<String, String> = Box::leak(Box::new(map));
        TokenRequest::parse(|k| map.get(k).map(String::as_str).filter(|v| !v.is_empty()))
    }

    #[test]
    fn each_grant_needs_its_parameters() {
        assert_eq!(
            parse(&[("grant_type", "authorization_code"), ("code", "c")]).unwrap(),
            TokenRequest::AuthorizationCode {
                code: "c",
                redirect_uri: None,
                code_verifier: None
            }
        );
        let missing = parse(&[("grant_type", "refresh_token")]).unwrap_err();
        assert_eq!(missing.code, ErrorCode::InvalidRequest);
        assert!(missing.description.contains("refresh_token"));
        let unknown = parse(&[("grant_type", "password")]).unwrap_err();
        assert_eq!(unknown.code, ErrorCode::UnsupportedGrantType);
        assert_eq!(
            parse(&[]).unwrap_err().description,
            "missing parameter grant_type"
        );
        assert_eq!(
            parse(&[("grant_type", GRANT_JWT_BEARER), ("assertion", "a")])
                .unwrap()
                .grant_type(),
            GRANT_JWT_BEARER
        );
    }
}

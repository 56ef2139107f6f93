//! Discovery (OIDC Discovery 1.0 §3, RFC 8414 §2) and the JWKS (RFC 7517 §5) of a tenant.
//! Both advertise only what is implemented.

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::TenantEndpoint;
use crate::domain::keys::JWKS_MAX_AGE_SECONDS;
use crate::http::AppState;

/// Where the issuer goes in the serialized document.
const ISSUER: &str = "@@ISSUER@@";

/// The discovery document with a placeholder issuer, serialized once: the document differs
/// between tenants only by the issuer, and a URL needs no JSON escaping.
fn template() -> &'static str {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let issuer = ISSUER;
        json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
            "userinfo_endpoint": format!("{issuer}/userinfo"),
            "jwks_uri": format!("{issuer}/jwks"),
            "end_session_endpoint": format!("{issuer}/logout"),
            "introspection_endpoint": format!("{issuer}/introspect"),
            "revocation_endpoint": format!("{issuer}/revoke"),
            "device_authorization_endpoint": format!("{issuer}/device_authorization"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": [
                "authorization_code", "refresh_token", "client_credentials",
                "urn:ietf:params:oauth:grant-type:device_code",
                "urn:ietf:params:oauth:grant-type:jwt-bearer"
            ],
            "subject_types_supported": ["public"],
            "scopes_supported": ["openid", "profile", "email", "offline_access", "devices"],
            "prompt_values_supported": ["none", "login"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
            "userinfo_signing_alg_values_supported": [],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": true,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
            "claims_supported": [
                "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "sid", "amr",
                "email", "email_verified", "name", "locale"
            ],
            "ui_locales_supported": ["en", "nb"],
        })
        .to_string()
    })
}

pub async fn openid_configuration(ep: TenantEndpoint) -> Response {
    let body = template().replace(ISSUER, &ep.issuer);
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "public, max-age=60"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        body,
    )
        .into_response()
}

pub async fn jwks(State(state): State<AppState>, ep: TenantEndpoint) -> Response {
    match state.ring.get(state.store.as_ref(), ep.tenant.id).await {
        Ok(keys) => (
            [
                (header::CONTENT_TYPE, "application/json".to_owned()),
                (
                    header::CACHE_CONTROL,
                    format!("public, max-age={JWKS_MAX_AGE_SECONDS}"),
                ),
                (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*".to_owned()),
            ],
            axum::body::Bytes::from_owner(keys.jwks()),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(cause = %e, "loading keys failed");
            super::error::public_error(StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable")
        }
    }
}

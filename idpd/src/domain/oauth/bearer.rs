//! Resources behind a user's bearer access token (RFC 6750): `/userinfo` (OIDC Core §5.3)
//! and the device registration API. One rule for both: a valid access token of this tenant,
//! of a user (client tokens have no grant family), carrying the resource's scope.

use serde_json::Value;
use uuid::Uuid;

use super::OAuthError;
use super::token::{self, Ctx};
use crate::domain::users;

/// Why a bearer request is refused (RFC 6750 §3.1).
#[derive(Debug)]
pub enum BearerError {
    /// No token was sent: a challenge without an error code.
    Missing,
    /// Sent in more than one way (RFC 6750 §2).
    TwoTokens,
    /// Expired, revoked, forged, of another tenant, or its user is gone or disabled.
    InvalidToken,
    /// Valid, but without this scope or not a user's.
    InsufficientScope(&'static str),
    /// The check itself failed (store or keys).
    Failed(OAuthError),
}

impl From<OAuthError> for BearerError {
    fn from(e: OAuthError) -> Self {
        BearerError::Failed(e)
    }
}

/// The user of `token` and the token's scopes, when it is a user's access token with
/// `scope`.
pub async fn user_token(
    ctx: &Ctx<'_>,
    token: Option<&str>,
    scope: &'static str,
) -> Result<(Uuid, Vec<String>), BearerError> {
    let token = token.ok_or(BearerError::Missing)?;
    let claims = token::verify_access_token(ctx, token)
        .await?
        .ok_or(BearerError::InvalidToken)?;
    let scopes: Vec<String> = claims
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if !scopes.iter().any(|s| s == scope) || claims.get("fid").is_none() {
        return Err(BearerError::InsufficientScope(scope));
    }
    let user = claims
        .get("sub")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or(BearerError::InvalidToken)?;
    Ok((user, scopes))
}

/// `/userinfo`: the claims of the token's user that its scopes release.
pub async fn userinfo(ctx: &Ctx<'_>, token: Option<&str>) -> Result<Value, BearerError> {
    let (user_id, scopes) = user_token(ctx, token, "openid").await?;
    let user = users::find_by_id(ctx.store, ctx.tenant.id, user_id)
        .await
        .map_err(OAuthError::from)?;
    match user {
        Some(u) if !u.disabled => {
            let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
            Ok(super::issue::userinfo_claims(&u, &scopes))
        }
        _ => Err(BearerError::InvalidToken),
    }
}

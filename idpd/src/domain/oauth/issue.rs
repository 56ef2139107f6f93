//! What every user grant hands out (authorization code, refresh, device code, JWT bearer):
//! the access token, the ID token (OIDC Core §2, §3.1.3.6), the refresh token a client may
//! get, and the checks every grant makes of its user (SEC-25).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::error::OAuthError;
use super::token::{Ctx, TokenResponse, issue_access_token_via};
use crate::domain::clients::{ClientRecord, GRANT_REFRESH_TOKEN};
use crate::domain::grants::{self, TokenFamily};
use crate::domain::users::UserRecord;

pub const ID_TOKEN_TTL: i64 = 600;

/// A refresh token goes to clients registered for the refresh_token grant: for OpenID
/// requests only with `offline_access` (OIDC Core §11), for plain OAuth requests by that
/// registration alone. Returns the value to hand out and the row to store, if any.
pub fn mint_refresh_for(
    client: &ClientRecord,
    family: &TokenFamily,
    scopes: &[String],
) -> Option<(String, grants::RefreshToken)> {
    let has = |s: &str| scopes.iter().any(|x| x == s);
    (client.allows_grant(GRANT_REFRESH_TOKEN) && (has("offline_access") || !has("openid")))
        .then(|| grants::new_refresh(family.id, &scopes.join(" ")))
}

/// [`mint_refresh_for`], stored on its own.
pub async fn new_refresh_for(
    ctx: &Ctx<'_>,
    client: &ClientRecord,
    family: &TokenFamily,
    scopes: &[String],
) -> Result<Option<String>, OAuthError> {
    let Some((value, rt)) = mint_refresh_for(client, family, scopes) else {
        return Ok(None);
    };
    ctx.store.insert_refresh(&rt).await?;
    Ok(Some(value))
}

/// SEC-25: a disabled or deleted user gets nothing, on every grant.
pub async fn live_user(ctx: &Ctx<'_>, id: Uuid) -> Result<UserRecord, OAuthError> {
    match ctx.store.find_user(ctx.tenant.id, id).await? {
        Some(u) if !u.disabled => Ok(u),
        _ => Err(OAuthError::invalid_grant("the user is disabled")),
    }
}

/// What a grant hands to a user: the parameters of the token response (and its ID token).
pub struct Issue<'a> {
    pub client: &'a ClientRecord,
    pub user: &'a UserRecord,
    pub family: &'a TokenFamily,
    pub scopes: &'a [String],
    /// The authorization request's nonce (authorization code grant only).
    pub nonce: Option<&'a str>,
    pub auth_time: OffsetDateTime,
    /// The browser session behind the grant, as the ID token's `sid`.
    pub session_id: Option<Uuid>,
    pub amr: &'a [String],
    /// The external identity provider the user signed in through.
    pub idp: Option<&'a str>,
}

/// The token response of a user grant: an access token, an ID token for `openid`, and the
/// refresh token the grant minted, if any.
pub async fn respond(
    ctx: &Ctx<'_>,
    g: &Issue<'_>,
    refresh_token: Option<String>,
) -> Result<TokenResponse, OAuthError> {
    let scope = (!g.scopes.is_empty()).then(|| g.scopes.join(" "));
    let (access_token, expires_in) = issue_access_token_via(
        ctx,
        g.client,
        &g.user.id.to_string(),
        scope.clone(),
        Some(g.family),
        g.idp,
    )
    .await?;
    let id_token = if g.scopes.iter().any(|s| s == "openid") {
        Some(id_token(ctx, g, &access_token).await?)
    } else {
        None
    };
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in,
        scope,
        refresh_token,
        id_token,
    })
}

#[derive(Serialize)]
struct IdClaims<'a> {
    iss: &'a str,
    sub: String,
    aud: &'a str,
    exp: i64,
    iat: i64,
    auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    at_hash: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    amr: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email_verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    locale: Option<&'a str>,
    /// The external identity provider the user signed in through.
    #[serde(skip_serializing_if = "Option::is_none")]
    idp: Option<&'a str>,
}

/// The ID token (OIDC Core §2), signed with the client's ID-token algorithm (RS256, OIDC's
/// default, unless the client registered another).
async fn id_token(ctx: &Ctx<'_>, g: &Issue<'_>, access_token: &str) -> Result<String, OAuthError> {
    let (client, user) = (g.client, g.user);
    let has = |s: &str| g.scopes.iter().any(|x| x == s);
    let now = crate::clock::now().unix_timestamp();
    // at_hash: the left half of the access token's hash, with the hash of the signing
    // algorithm (OIDC Core §3.1.3.6): SHA-256 for RS256/ES256, SHA-512 for Ed25519.
    let at_hash = {
        use aws_lc_rs::digest::{SHA256, SHA512, digest};
        let d = digest(
            if client.id_token_alg == shared::admin::Alg::EdDSA {
                &SHA512
            } else {
                &SHA256
            },
            access_token.as_bytes(),
        );
        let half = &d.as_ref()[..d.as_ref().len() / 2];
        URL_SAFE_NO_PAD.encode(half)
    };
    let claims = IdClaims {
        iss: ctx.issuer,
        sub: user.id.to_string(),
        aud: &client.client_id,
        exp: now + ID_TOKEN_TTL,
        iat: now,
        auth_time: g.auth_time.unix_timestamp(),
        nonce: g.nonce,
        at_hash,
        sid: g.session_id.map(|s| s.to_string()),
        amr: g.amr,
        email: has("email").then_some(user.email.as_str()),
        email_verified: has("email").then_some(user.email_verified),
        name: if has("profile") {
            user.name.as_deref()
        } else {
            None
        },
        locale: if has("profile") {
            user.locale.as_deref()
        } else {
            None
        },
        idp: g.idp,
    };
    super::token::sign(ctx, client.id_token_alg, "JWT", &claims).await
}

/// Userinfo claims (OIDC Core §5.3) by scope.
pub fn userinfo_claims(user: &UserRecord, scopes: &[&str]) -> serde_json::Value {
    let mut v = serde_json::json!({ "sub": user.id.to_string() });
    if scopes.contains(&"email") {
        v["email"] = user.email.clone().into();
        v["email_verified"] = user.email_verified.into();
    }
    if scopes.contains(&"profile") {
        if let Some(n) = &user.name {
            v["name"] = n.clone().into();
        }
        if let Some(l) = &user.locale {
            v["locale"] = l.clone().into();
        }
    }
    v
}

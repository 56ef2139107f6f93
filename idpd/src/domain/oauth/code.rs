//! The authorization code grant (RFC 6749 §4.1, PKCE RFC 7636), refresh-token rotation with
//! reuse detection (RFC 9700 §4.14.2), and ID tokens (OIDC Core §2, §3.1.3.6).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::authorize::{AuthorizationRequest, verify_pkce};
use super::error::OAuthError;
use super::token::{Ctx, TokenResponse, check_grant, issue_access_token_via};
use crate::crypto;
use crate::domain::clients::{ClientRecord, GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN};
use crate::domain::grants::{self, CodeRequest, Redemption, TokenFamily};
use crate::domain::login::Session;
use crate::domain::users::UserRecord;

pub const ID_TOKEN_TTL: i64 = 600;

/// Issues a code for a validated request and a live session; returns the code value.
pub async fn issue_code(
    ctx: &Ctx<'_>,
    req: &AuthorizationRequest,
    session: &Session,
) -> Result<String, OAuthError> {
    let family = TokenFamily {
        id: Uuid::new_v4(),
        tenant_id: ctx.tenant.id,
        client_id: req.client_id.clone(),
        user_id: session.user_id,
        session_id: Some(session.id),
        created_at: crate::clock::now(),
        revoked_at: None,
        device_id: None,
    };
    let request = CodeRequest {
        client_id: req.client_id.clone(),
        redirect_uri: req.redirect_uri.clone(),
        scope: req.scope.clone(),
        nonce: req.nonce.clone(),
        code_challenge: req.code_challenge.clone(),
        session_id: session.id,
        amr: session.amr.clone(),
        idp: external_idp(session),
    };
    let (value, code) = grants::new_code(ctx.tenant.id, family.id, request, session.auth_time);
    ctx.store.insert_code(&family, &code).await?;
    Ok(value)
}

/// The provider of a login through an external IdP, for the `idp` claim.
fn external_idp(session: &Session) -> Option<String> {
    (session.provider != crate::domain::tenants::NATIVE_PROVIDER).then(|| session.provider.clone())
}

/// `grant_type=authorization_code`.
pub async fn exchange_code(
    ctx: &Ctx<'_>,
    client: &ClientRecord,
    code: &str,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    check_grant(client, GRANT_AUTHORIZATION_CODE)?;
    let now = crate::clock::now();
    let digest = crypto::sha256(code.as_bytes());
    let code = match ctx.store.redeem_code(&digest, now).await? {
        Redemption::Fresh(c) if c.tenant_id == ctx.tenant.id => c,
        Redemption::Reused(c) if c.tenant_id == ctx.tenant.id => {
            // RFC 6749 §4.1.2: a replayed code revokes what it issued.
            ctx.store.revoke_family(c.family_id, now).await?;
            tracing::warn!(tenant = %ctx.tenant.slug, family = %c.family_id, "authorization code replayed; its tokens are revoked");
            return Err(OAuthError::invalid_grant("the code was already used"));
        }
        _ => return Err(OAuthError::invalid_grant("invalid code")),
    };
    let r = &code.request;
    if r.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "the code was issued to another client",
        ));
    }
    if code.expires_at <= now {
        return Err(OAuthError::invalid_grant("the code has expired"));
    }
    if redirect_uri != Some(r.redirect_uri.as_str()) {
        return Err(OAuthError::invalid_grant(
            "redirect_uri differs from the authorization request",
        ));
    }
    match verifier {
        Some(v) if verify_pkce(v, &r.code_challenge) => {}
        _ => return Err(OAuthError::invalid_grant("PKCE verification failed")),
    }
    // Liveness as the redeeming statement saw it: a concurrent replay revokes the family
    // right after (and with it these tokens), but must not fail this one redemption.
    if code.family_revoked_at.is_some() {
        return Err(OAuthError::invalid_grant("the grant was revoked"));
    }
    let family = ctx
        .store
        .find_family(code.family_id)
        .await?
        .ok_or_else(|| OAuthError::invalid_grant("the grant was revoked"))?;
    let user = live_user(ctx, family.user_id).await?;
    let refresh = new_refresh_for(ctx, client, &family, &r.scope).await?;
    respond(
        ctx,
        client,
        &user,
        &family,
        &r.scope,
        r.nonce.as_deref(),
        code.auth_time,
        Some(r.session_id),
        (&r.amr, r.idp.as_deref()),
        refresh,
    )
    .await
}

/// What a refresh needs from the database besides the rotation itself.
struct PreparedRefresh {
    family: TokenFamily,
    user: UserRecord,
    scopes: Vec<String>,
    auth_time: OffsetDateTime,
    amr: Vec<String>,
    idp: Option<String>,
}

async fn prepare_refresh(
    ctx: &Ctx<'_>,
    client: &ClientRecord,
    presented: &grants::RefreshToken,
    scope: Option<&str>,
    now: OffsetDateTime,
) -> Result<PreparedRefresh, OAuthError> {
    let family = match ctx.store.find_family(presented.family_id).await? {
        Some(f) if f.tenant_id == ctx.tenant.id && f.client_id == client.client_id => f,
        Some(f) if f.tenant_id == ctx.tenant.id => {
            // Someone else's token: end its family rather than let a leaked token live on.
            ctx.store.revoke_family(f.id, now).await?;
            return Err(OAuthError::invalid_grant(
                "the refresh token was issued to another client",
            ));
        }
        _ => return Err(OAuthError::invalid_grant("invalid refresh token")),
    };
    let user = live_user(ctx, family.user_id).await?;
    // A device-bound family lives only as long as its device (issue 6).
    if let Some(did) = family.device_id
        && !super::jwt_bearer::device_live(ctx, did).await?
    {
        return Err(OAuthError::invalid_grant("the device was revoked"));
    }
    let granted: Vec<String> = presented
        .scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let scopes = super::scope::narrow(scope, &granted)?;
    let session = match family.session_id {
        Some(id) => ctx.store.find_session_by_id(id).await?,
        None => None,
    };
    let idp = session.as_ref().and_then(external_idp);
    let (auth_time, amr) = session
        .map(|s| (s.auth_time, s.amr))
        .unwrap_or((family.created_at, Vec::new()));
    Ok(PreparedRefresh {
        family,
        user,
        scopes,
        auth_time,
        amr,
        idp,
    })
}

/// `grant_type=refresh_token`: rotates on every use; a replay revokes the whole family.
pub async fn refresh(
    ctx: &Ctx<'_>,
    client: &ClientRecord,
    token: &str,
    scope: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    check_grant(client, GRANT_REFRESH_TOKEN)?;
    let now = crate::clock::now();
    let digest = crypto::sha256(token.as_bytes());
    let Some(presented) = ctx.store.find_refresh(&digest).await? else {
        return Err(OAuthError::invalid_grant("invalid refresh token"));
    };
    // Everything that needs the database is read before the token is consumed: once the
    // rotation commits, only signing is left, so a database outage cannot spend a token
    // without delivering its successor. (A replay skips this and is caught below.)
    let prepared = match presented.consumed_at {
        None => Some(prepare_refresh(ctx, client, &presented, scope, now).await?),
        Some(_) => None,
    };
    let (successor_value, successor) = grants::new_refresh(Uuid::nil(), "");
    let old = match ctx.store.rotate_refresh(&digest, &successor, now).await? {
        Redemption::Fresh(old) => old,
        Redemption::Reused(old) => {
            ctx.store.revoke_family(old.family_id, now).await?;
            tracing::warn!(tenant = %ctx.tenant.slug, family = %old.family_id, "refresh token replayed; its family is revoked");
            return Err(OAuthError::invalid_grant(
                "the refresh token was already used",
            ));
        }
        Redemption::Unknown => return Err(OAuthError::invalid_grant("invalid refresh token")),
    };
    // The revocation as of the rotation itself: a replay that revoked the family a moment
    // later (50 clients racing one token) must not fail the one rotation that won; what it
    // issues is revoked with the family anyway.
    if old.family_revoked_at.is_some() || old.expires_at <= now {
        return Err(OAuthError::invalid_grant(
            "the refresh token is no longer valid",
        ));
    }
    let Some(PreparedRefresh {
        family,
        user,
        scopes,
        auth_time,
        amr,
        idp,
    }) = prepared
    else {
        // Fresh means it was unconsumed when read; a token consumed in between is Reused.
        return Err(OAuthError::invalid_grant(
            "the refresh token was already used",
        ));
    };
    respond(
        ctx,
        client,
        &user,
        &family,
        &scopes,
        None,
        auth_time,
        family.session_id,
        (&amr, idp.as_deref()),
        Some(successor_value),
    )
    .await
}

/// A refresh token goes to clients registered for the refresh_token grant: for OpenID
/// requests only with `offline_access` (OIDC Core §11), for plain OAuth requests by that
/// registration alone. Returns the value to hand out and the row to store, if any.
pub(super) fn mint_refresh_for(
    client: &ClientRecord,
    family: &TokenFamily,
    scopes: &[String],
) -> Option<(String, grants::RefreshToken)> {
    let has = |s: &str| scopes.iter().any(|x| x == s);
    (client.allows_grant(GRANT_REFRESH_TOKEN) && (has("offline_access") || !has("openid")))
        .then(|| grants::new_refresh(family.id, &scopes.join(" ")))
}

/// [`mint_refresh_for`], stored on its own.
async fn new_refresh_for(
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

#[allow(clippy::too_many_arguments)]
pub(super) async fn respond(
    ctx: &Ctx<'_>,
    client: &ClientRecord,
    user: &UserRecord,
    family: &TokenFamily,
    scopes: &[String],
    nonce: Option<&str>,
    auth_time: OffsetDateTime,
    session_id: Option<Uuid>,
    (amr, idp): (&[String], Option<&str>),
    refresh_token: Option<String>,
) -> Result<TokenResponse, OAuthError> {
    let scope = (!scopes.is_empty()).then(|| scopes.join(" "));
    let (access_token, expires_in) = issue_access_token_via(
        ctx,
        client,
        &user.id.to_string(),
        scope.clone(),
        Some(family),
        idp,
    )
    .await?;
    let id_token = if scopes.iter().any(|s| s == "openid") {
        Some(
            id_token(
                ctx,
                client,
                user,
                scopes,
                nonce,
                auth_time,
                session_id,
                (amr, idp),
                &access_token,
            )
            .await?,
        )
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
#[allow(clippy::too_many_arguments)]
async fn id_token(
    ctx: &Ctx<'_>,
    client: &ClientRecord,
    user: &UserRecord,
    scopes: &[String],
    nonce: Option<&str>,
    auth_time: OffsetDateTime,
    session_id: Option<Uuid>,
    (amr, idp): (&[String], Option<&str>),
    access_token: &str,
) -> Result<String, OAuthError> {
    let has = |s: &str| scopes.iter().any(|x| x == s);
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
        auth_time: auth_time.unix_timestamp(),
        nonce,
        at_hash,
        sid: session_id.map(|s| s.to_string()),
        amr,
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
        idp,
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

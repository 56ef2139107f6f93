//! The authorization code grant (RFC 6749 §4.1, PKCE RFC 7636) and refresh-token rotation
//! with reuse detection (RFC 9700 §4.14.2). What they hand out is made by `issue.rs`.

use time::OffsetDateTime;
use uuid::Uuid;

use super::authorize::{AuthorizationRequest, verify_pkce};
use super::error::OAuthError;
use super::issue::{self, Issue, live_user, new_refresh_for};
use super::token::{Ctx, TokenResponse, check_grant};
use crate::crypto;
use crate::domain::clients::{ClientRecord, GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN};
use crate::domain::grants::{self, CodeRequest, Redemption, TokenFamily};
use crate::domain::login::Session;
use crate::domain::users::UserRecord;

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
    let scopes = super::scope::still_allowed(r.scope.iter().map(String::as_str), &client.scopes);
    let refresh = new_refresh_for(ctx, client, &family, &scopes).await?;
    let grant = Issue {
        client,
        user: &user,
        family: &family,
        scopes: &scopes,
        nonce: r.nonce.as_deref(),
        auth_time: code.auth_time,
        session_id: Some(r.session_id),
        amr: &r.amr,
        idp: r.idp.as_deref(),
    };
    issue::respond(ctx, &grant, refresh).await
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
        && !crate::domain::devices::live(ctx.store, ctx.tenant.id, did).await?
    {
        return Err(OAuthError::invalid_grant("the device was revoked"));
    }
    let granted = super::scope::still_allowed(presented.scope.split(' '), &client.scopes);
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
    let grant = Issue {
        client,
        user: &user,
        family: &family,
        scopes: &scopes,
        nonce: None,
        auth_time,
        session_id: family.session_id,
        amr: &amr,
        idp: idp.as_deref(),
    };
    issue::respond(ctx, &grant, Some(successor_value)).await
}

//! The device authorization grant (RFC 8628): the device authorization request (§3.1–3.2),
//! the user's decision on the device page (§3.3), and polling at the token endpoint (§3.4–3.5).
//!
//! The device code is 256 bits and stored as a digest; the user code is 8 letters from a
//! 20-letter alphabet, stored as a digest too, and guesses are rate-limited per source
//! address and per browser session (SEC-22). Exactly one poll gets the tokens: an approved
//! authorization is consumed by one conditional UPDATE.

use serde::Serialize;
use uuid::Uuid;

use super::error::{ErrorCode, OAuthError};
use super::issue::{self, Issue, live_user, mint_refresh_for};
use super::scope;
use super::token::{Ctx, TokenResponse, check_grant};
use crate::crypto;
use crate::domain::clients::{ClientRecord, GRANT_DEVICE_CODE};
use crate::domain::devices::{self, DeviceAuthorization, DeviceState};
use crate::domain::grants::TokenFamily;
use crate::domain::login::Session;
use crate::domain::rate_limit::{self, Limit};
use crate::store::StoreError;

/// Lifetime of a device code and the polling interval; idpd's configuration sets them.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub ttl_seconds: i64,
    pub interval_seconds: i64,
}

pub const DEFAULT_TTL_SECONDS: i64 = 600;
pub const DEFAULT_INTERVAL_SECONDS: i64 = 5;

/// User-code guesses per browser session (RFC 8628 §5.1): a person mistypes a few times.
pub const GUESSES_PER_SESSION: Limit = Limit {
    max: 10,
    window_seconds: 600,
};
/// User-code guesses per source address (several people may share one).
pub const GUESSES_PER_IP: Limit = Limit {
    max: 30,
    window_seconds: 600,
};

/// Device authorization requests per source address: each stores a row until it expires,
/// so a flood is refused rather than kept.
pub const REQUESTS_PER_IP: Limit = Limit {
    max: 60,
    window_seconds: 600,
};

/// RFC 8628 §3.2.
#[derive(Debug, Serialize)]
pub struct AuthorizationResponse {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: i64,
    pub interval: i64,
}

/// `POST {issuer}/device_authorization` for an authenticated client.
pub async fn authorize_device(
    ctx: &Ctx<'_>,
    client: &ClientRecord,
    scope: Option<&str>,
    timing: Timing,
    peer: Option<std::net::IpAddr>,
) -> Result<AuthorizationResponse, OAuthError> {
    check_grant(client, GRANT_DEVICE_CODE)?;
    let scopes = scope::narrow(scope, &client.scopes)?;
    if let Some(ip) = peer
        && let Err(retry_after) = rate_limit::hit(
            ctx.store,
            &format!("device-authz-ip:{}", rate_limit::source(ip)),
            REQUESTS_PER_IP,
        )
        .await?
    {
        return Err(OAuthError::new(
            ErrorCode::RateLimited { retry_after },
            "too many device authorization requests; retry later",
        ));
    }
    // A live user code collides with probability ~n/20^8; try again on the rare conflict.
    for _ in 0..3 {
        let (device_code, user_code, record) = devices::new_authorization(
            ctx.tenant.id,
            &client.client_id,
            &scopes.join(" "),
            timing.ttl_seconds,
            timing.interval_seconds,
        );
        match ctx.store.insert_device_authorization(&record).await {
            Ok(()) => {
                let shown = devices::display_user_code(&user_code);
                let verification_uri = format!("{}/device", ctx.issuer);
                return Ok(AuthorizationResponse {
                    device_code,
                    verification_uri_complete: format!("{verification_uri}?user_code={shown}"),
                    user_code: shown,
                    verification_uri,
                    expires_in: timing.ttl_seconds,
                    interval: timing.interval_seconds,
                });
            }
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(OAuthError::new(
        ErrorCode::TemporarilyUnavailable,
        "could not allocate a user code; retry",
    ))
}

/// Counts one user-code guess against the source address and the session;
/// `Err(retry_after)` past either limit.
pub async fn count_guess(
    ctx: &Ctx<'_>,
    peer: Option<std::net::IpAddr>,
    session: &Session,
) -> Result<Result<(), i64>, StoreError> {
    let mut keys = vec![(
        format!("user-code-session:{}", session.id),
        GUESSES_PER_SESSION,
    )];
    if let Some(ip) = peer {
        keys.push((
            format!("user-code-ip:{}", rate_limit::source(ip)),
            GUESSES_PER_IP,
        ));
    }
    for (key, limit) in keys {
        if let Err(retry_after) = rate_limit::hit(ctx.store, &key, limit).await? {
            return Ok(Err(retry_after));
        }
    }
    Ok(Ok(()))
}

/// The pending, unexpired authorization of `user_code` and its client, if both are usable.
/// Unknown, expired, decided and malformed codes all give `None` (SEC-17).
pub async fn lookup(
    ctx: &Ctx<'_>,
    user_code: &str,
) -> Result<Option<(DeviceAuthorization, ClientRecord)>, StoreError> {
    let Some(code) = devices::normalize_user_code(user_code) else {
        return Ok(None);
    };
    let digest = devices::user_code_digest(ctx.tenant.id, &code);
    let Some(a) = ctx
        .store
        .find_device_authorization(ctx.tenant.id, &digest)
        .await?
    else {
        return Ok(None);
    };
    if a.state != DeviceState::Pending || a.expires_at <= crate::clock::now() {
        return Ok(None);
    }
    // The same policy as at the token endpoint (SEC-22/25): a disabled client, or one no
    // longer registered for the grant, is not offered for approval.
    match ctx.store.find_client(ctx.tenant.id, &a.client_id).await? {
        Some(c) if check_grant(&c, GRANT_DEVICE_CODE).is_ok() => Ok(Some((a, c))),
        _ => Ok(None),
    }
}

/// Records the signed-in user's decision; false when the code is no longer pending.
pub async fn decide(
    ctx: &Ctx<'_>,
    authorization: &DeviceAuthorization,
    session: &Session,
    approve: bool,
) -> Result<bool, StoreError> {
    let decision = approve.then_some((session.user_id, session.id, session.auth_time));
    ctx.store
        .decide_device_authorization(
            ctx.tenant.id,
            &authorization.user_code_digest,
            decision,
            crate::clock::now(),
        )
        .await
}

/// `grant_type=urn:ietf:params:oauth:grant-type:device_code` (RFC 8628 §3.4–3.5).
pub async fn poll(
    ctx: &Ctx<'_>,
    client: &ClientRecord,
    device_code: &str,
) -> Result<TokenResponse, OAuthError> {
    check_grant(client, GRANT_DEVICE_CODE)?;
    let now = crate::clock::now();
    let digest = crypto::sha256(device_code.as_bytes());
    let found = ctx
        .store
        .poll_device_authorization(&digest, devices::unix_ms(now))
        .await?;
    let a = match found {
        Some(a) if a.tenant_id == ctx.tenant.id && a.client_id == client.client_id => a,
        _ => return Err(OAuthError::invalid_grant("invalid device code")),
    };
    let err = |code, d: &str| Err(OAuthError::new(code, d));
    if a.expires_at <= now {
        return err(ErrorCode::ExpiredToken, "the device code has expired");
    }
    match a.state {
        DeviceState::Denied => return err(ErrorCode::AccessDenied, "the user denied the request"),
        DeviceState::Consumed => {
            return Err(OAuthError::invalid_grant(
                "the device code was already used",
            ));
        }
        _ if a.last_poll_slow => {
            return err(
                ErrorCode::SlowDown,
                &format!("poll at most every {} seconds", a.interval_seconds),
            );
        }
        DeviceState::Pending => {
            return err(
                ErrorCode::AuthorizationPending,
                "the user has not decided yet",
            );
        }
        DeviceState::Approved => {}
    }
    let Some(a) = ctx.store.consume_device_authorization(&digest).await? else {
        return Err(OAuthError::invalid_grant(
            "the device code was already used",
        ));
    };
    let (Some(user_id), Some(auth_time)) = (a.user_id, a.auth_time) else {
        return Err(OAuthError::invalid_grant("invalid device code"));
    };
    let user = live_user(ctx, user_id).await?;
    let amr = match a.session_id {
        Some(id) => ctx
            .store
            .find_session_by_id(id)
            .await?
            .map(|s| s.amr)
            .unwrap_or_default(),
        None => Vec::new(),
    };
    // The daemon's grant is its own: it outlives the browser session that approved it.
    let family = TokenFamily {
        id: Uuid::new_v4(),
        tenant_id: ctx.tenant.id,
        client_id: client.client_id.clone(),
        user_id,
        session_id: None,
        created_at: crate::clock::now(),
        revoked_at: None,
        device_id: None,
    };
    let scopes = scope::still_allowed(a.scope.split(' '), &client.scopes);
    let refresh = mint_refresh_for(client, &family, &scopes);
    ctx.store
        .insert_family(&family, refresh.as_ref().map(|(_, rt)| rt))
        .await?;
    let refresh = refresh.map(|(value, _)| value);
    let grant = Issue {
        client,
        user: &user,
        family: &family,
        scopes: &scopes,
        nonce: None,
        auth_time,
        session_id: None,
        amr: &amr,
        idp: None,
    };
    issue::respond(ctx, &grant, refresh).await
}

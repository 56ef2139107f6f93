//! Native passwordless login: login flows, one-time codes and magic links, browser sessions.
//!
//! A *login flow* is created for each authorization request that needs a login; its secret
//! lives in an HttpOnly cookie, so a code or link works only in the browser (and the flow)
//! that asked for it (SEC-07). A one-time code is 6 digits, valid 10 minutes, checked at most
//! 5 times (each try is counted in the database *before* the comparison, so concurrent
//! guesses cannot overshoot), and only the newest code of an address is valid (SEC-16).

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::oauth::authorize::AuthorizationRequest;
use crate::crypto;
pub use crate::model::login::{LoginFlow, Otp, Session};

pub const FLOW_TTL: Duration = Duration::minutes(30);
pub const OTP_TTL: Duration = Duration::minutes(10);
pub const OTP_MAX_ATTEMPTS: i64 = 5;

impl LoginFlow {
    /// A new flow and the secret for its cookie.
    pub fn new(tenant_id: Uuid, request: AuthorizationRequest) -> (LoginFlow, String) {
        let secret = crypto::random_id::<32>();
        let now = crate::clock::now();
        let flow = LoginFlow {
            id: Uuid::new_v4(),
            tenant_id,
            secret_digest: crypto::sha256(secret.as_bytes()),
            request,
            email: None,
            created_at: now,
            expires_at: now + FLOW_TTL,
            resume: None,
        };
        (flow, secret)
    }

    /// Whether `secret` (from the browser's cookie) belongs to this live flow.
    pub fn owned_by(&self, secret: &str) -> bool {
        crypto::ct_eq(&self.secret_digest, &crypto::sha256(secret.as_bytes()))
            && self.expires_at > crate::clock::now()
    }

    /// The CSRF token of the flow's forms: derived from the cookie secret, so only a page
    /// served to the flow's own browser can carry it.
    pub fn csrf_token(secret: &str) -> String {
        let mut input = b"idp csrf\0".to_vec();
        input.extend_from_slice(secret.as_bytes());
        crypto::hex(&crypto::sha256(&input)[..16])
    }
}

/// A fresh one-time code and magic-link token for `email` in `flow`.
pub fn new_otp(flow: &LoginFlow, email: &str) -> (Otp, String, String) {
    let n = u32::from_be_bytes(crypto::random_bytes::<4>()) % 1_000_000;
    let code = format!("{n:06}");
    let link = crypto::random_id::<32>();
    let now = crate::clock::now();
    let otp = Otp {
        id: Uuid::new_v4(),
        tenant_id: flow.tenant_id,
        flow_id: flow.id,
        email: email.to_owned(),
        code_digest: otp_digest(flow.id, &code),
        link_digest: crypto::sha256(link.as_bytes()),
        attempts: 0,
        created_at: now,
        expires_at: now + OTP_TTL,
        consumed_at: None,
    };
    (otp, code, link)
}

/// The digest of a code binds it to its flow: the same six digits mean nothing elsewhere.
pub fn otp_digest(flow_id: Uuid, code: &str) -> [u8; 32] {
    let mut input = flow_id.as_bytes().to_vec();
    input.extend_from_slice(code.trim().as_bytes());
    crypto::sha256(&input)
}

/// The longest time between two writes of a session's `last_seen_at`.
pub const TOUCH_INTERVAL_MAX_SECONDS: i64 = 60;

impl Session {
    /// A new session (a new id and cookie value at every login: no fixation, SEC-18).
    pub fn new(
        tenant: &super::tenants::Tenant,
        user_id: Uuid,
        provider: &str,
        amr: &[&str],
    ) -> (Session, String) {
        let token = crypto::random_id::<32>();
        let now = crate::clock::now();
        let s = Session {
            id: Uuid::new_v4(),
            tenant_id: tenant.id,
            user_id,
            token_digest: crypto::sha256(token.as_bytes()),
            provider: provider.to_owned(),
            amr: amr.iter().map(|a| (*a).to_owned()).collect(),
            auth_time: now,
            created_at: now,
            last_seen_at: now,
            expires_at: now + Duration::seconds(tenant.session.ttl_seconds),
            revoked_at: None,
        };
        (s, token)
    }

    /// Whether a use at `now` should be written back as `last_seen_at`. Writing it on every
    /// request would make each authorize a write, and every request of one browser an
    /// UPDATE of the same row; the idle timeout only needs it to within a twentieth of
    /// itself (at most a minute), so the timeout takes effect between 95 % and 100 % of
    /// its configured length.
    pub fn needs_touch(&self, idle_ttl_seconds: i64, now: OffsetDateTime) -> bool {
        let step = (idle_ttl_seconds / 20).clamp(1, TOUCH_INTERVAL_MAX_SECONDS);
        now - self.last_seen_at >= Duration::seconds(step)
    }

    /// Live: not revoked, within its absolute lifetime and its idle timeout.
    pub fn live(&self, idle_ttl_seconds: i64) -> bool {
        let now = crate::clock::now();
        self.revoked_at.is_none()
            && self.expires_at > now
            && self.last_seen_at + Duration::seconds(idle_ttl_seconds) > now
    }
}

/// Code issuance per address and source (SEC-16): a handful per 10 minutes. Counted per
/// source so that requests from an attacker's network cannot use up the victim's codes.
pub const CODES_PER_ADDRESS: super::rate_limit::Limit = super::rate_limit::Limit {
    max: 5,
    window_seconds: 600,
};
/// Code issuance per source address.
pub const CODES_PER_IP: super::rate_limit::Limit = super::rate_limit::Limit {
    max: 30,
    window_seconds: 600,
};
/// Typed codes checked per address and day (SEC-16's cumulative budget): beyond it typed
/// codes of that address are refused for the day, while the magic link in the mail (a
/// 256-bit token, not guessable) still signs its owner in: friction, not a lock.
pub const CODE_GUESSES_PER_ADDRESS_PER_DAY: super::rate_limit::Limit = super::rate_limit::Limit {
    max: 50,
    window_seconds: 86_400,
};
/// Code and link checks per source address: a flood of posts is refused before it can
/// write anything (the first refusal of a window is audited, the rest are not).
pub const CODE_CHECKS_PER_IP: super::rate_limit::Limit = super::rate_limit::Limit {
    max: 60,
    window_seconds: 600,
};
/// Login flows started per source address (each is a row until it expires).
pub const FLOWS_PER_IP: super::rate_limit::Limit = super::rate_limit::Limit {
    max: 300,
    window_seconds: 600,
};

/// Why a login step did not succeed. The messages shown never tell whether an address has
/// an account (SEC-17).
#[derive(Debug)]
pub enum LoginError {
    /// `first`: the first refusal of its window (audited; later ones are not).
    RateLimited {
        retry_after: i64,
        first: bool,
    },
    /// The address's daily budget of typed codes is spent: the mailed link still works.
    UseTheLink,
    InvalidEmail,
    InvalidCode,
    Store(crate::store::StoreError),
}

impl From<crate::store::StoreError> for LoginError {
    fn from(e: crate::store::StoreError) -> Self {
        LoginError::Store(e)
    }
}

/// A code to mail: who gets it, the code and the link token.
pub struct CodeToSend {
    pub email: String,
    pub code: String,
    pub link: String,
}

/// Handles "send me a code". Returns the code to mail when the address may sign in, `None`
/// when it may not (unknown under `invite`, or disabled); the caller answers both the same.
pub async fn request_code(
    store: &dyn crate::store::Store,
    tenant: &super::tenants::Tenant,
    flow: &LoginFlow,
    email: &str,
    peer: Option<std::net::IpAddr>,
) -> Result<Option<CodeToSend>, LoginError> {
    use super::rate_limit;
    let email = super::users::normalize_email(email).map_err(|_| LoginError::InvalidEmail)?;
    let source = peer.map(rate_limit::source);
    let mut keys = vec![(
        format!(
            "otp-email:{}:{email}:{}",
            tenant.id,
            source.as_deref().unwrap_or("")
        ),
        CODES_PER_ADDRESS,
    )];
    if let Some(source) = &source {
        keys.push((format!("otp-ip:{source}"), CODES_PER_IP));
    }
    limited(store, keys).await?;
    store.set_flow_email(flow.id, &email).await?;
    let user = store.find_user_by_email(tenant.id, &email).await?;
    let allowed = match user {
        Some(u) => !u.disabled,
        None => tenant.signup_policy == shared::admin::SignupPolicy::Open,
    };
    // The same writes whether or not the address may sign in (SEC-17: no timing
    // difference). A code nobody is told cannot complete a login for an address that may
    // not sign in: `complete` checks again.
    let (otp, code, link) = new_otp(flow, &email);
    store.insert_otp(&otp, crate::clock::now()).await?;
    Ok(allowed.then_some(CodeToSend { email, code, link }))
}

/// Checks a typed code against the flow's live code; each try counts before the comparison.
/// On success returns the (possibly new) user.
pub async fn verify_code(
    store: &dyn crate::store::Store,
    tenant: &super::tenants::Tenant,
    flow: &LoginFlow,
    code: &str,
    peer: Option<std::net::IpAddr>,
) -> Result<super::users::UserRecord, LoginError> {
    checks_from(store, peer).await?;
    let Some(otp) = store.try_otp(flow.id, OTP_MAX_ATTEMPTS).await? else {
        return Err(LoginError::InvalidCode);
    };
    let budget = format!("otp-guess:{}:{}", tenant.id, otp.email);
    if super::rate_limit::hit(store, &budget, CODE_GUESSES_PER_ADDRESS_PER_DAY)
        .await?
        .is_err()
    {
        return Err(LoginError::UseTheLink);
    }
    let now = crate::clock::now();
    let matches = crypto::ct_eq(&otp.code_digest, &otp_digest(flow.id, code));
    if !matches || otp.expires_at <= now {
        if otp.attempts >= OTP_MAX_ATTEMPTS {
            // The last try is spent: burn the code, even the right one fails from now on.
            store.consume_otp(otp.id, now).await?;
        }
        return Err(LoginError::InvalidCode);
    }
    complete(store, tenant, otp, now).await
}

/// Checks a magic-link token: valid only in the flow that requested it.
pub async fn verify_link(
    store: &dyn crate::store::Store,
    tenant: &super::tenants::Tenant,
    flow: &LoginFlow,
    link: &str,
    peer: Option<std::net::IpAddr>,
) -> Result<super::users::UserRecord, LoginError> {
    checks_from(store, peer).await?;
    let digest = crypto::sha256(link.as_bytes());
    let now = crate::clock::now();
    match store.find_otp_by_link(&digest).await? {
        Some(otp)
            if otp.flow_id == flow.id && otp.consumed_at.is_none() && otp.expires_at > now =>
        {
            complete(store, tenant, otp, now).await
        }
        _ => Err(LoginError::InvalidCode),
    }
}

/// Counts a code or link check from `peer` (CODE_CHECKS_PER_IP).
async fn checks_from(
    store: &dyn crate::store::Store,
    peer: Option<std::net::IpAddr>,
) -> Result<(), LoginError> {
    match peer {
        Some(ip) => {
            let key = format!("otp-check-ip:{}", super::rate_limit::source(ip));
            limited(store, vec![(key, CODE_CHECKS_PER_IP)]).await
        }
        None => Ok(()),
    }
}

/// Counts a hit on each key; `RateLimited` past the first limit exceeded.
async fn limited(
    store: &dyn crate::store::Store,
    keys: Vec<(String, super::rate_limit::Limit)>,
) -> Result<(), LoginError> {
    for (key, limit) in keys {
        if let Err(over) = super::rate_limit::hit_counted(store, &key, limit).await? {
            return Err(LoginError::RateLimited {
                retry_after: over.retry_after,
                first: over.first,
            });
        }
    }
    Ok(())
}

async fn complete(
    store: &dyn crate::store::Store,
    tenant: &super::tenants::Tenant,
    otp: Otp,
    now: OffsetDateTime,
) -> Result<super::users::UserRecord, LoginError> {
    if !store.consume_otp(otp.id, now).await? {
        return Err(LoginError::InvalidCode);
    }
    match store.find_user_by_email(tenant.id, &otp.email).await? {
        Some(u) if u.disabled => Err(LoginError::InvalidCode),
        Some(mut u) => {
            if !u.email_verified {
                // An unverified account made through an upstream is not merged into the
                // mailbox owner's login (SEC-26: a pre-account takeover shares it).
                if store.has_upstream_links(u.id).await? {
                    tracing::warn!(tenant = %tenant.slug, user = %u.id, "native login refused: the unverified account is linked to an upstream identity");
                    return Err(LoginError::InvalidCode);
                }
                // Receiving the code proves the address.
                u.email_verified = true;
                u.updated_at = crate::clock::now();
                store.update_user(&u).await?;
            }
            Ok(u)
        }
        None if tenant.signup_policy == shared::admin::SignupPolicy::Open => {
            let at = crate::clock::now();
            let u = super::users::UserRecord {
                id: Uuid::now_v7(),
                tenant_id: tenant.id,
                email: otp.email.clone(),
                email_verified: true,
                name: None,
                locale: None,
                disabled: false,
                created_at: at,
                updated_at: at,
            };
            match store.insert_user(&u).await {
                Ok(()) => Ok(u),
                // A concurrent first login of the same address created it.
                Err(crate::store::StoreError::Conflict { .. }) => store
                    .find_user_by_email(tenant.id, &otp.email)
                    .await?
                    .ok_or(LoginError::InvalidCode),
                Err(e) => Err(e.into()),
            }
        }
        None => Err(LoginError::InvalidCode),
    }
}

/// Starts a login flow for `req` (or for `resume`, an internal path idpd made, e.g. the
/// device page): stored before the browser is sent anywhere. Returns the flow and the secret
/// for the browser's flow cookie.
pub async fn start_flow(
    store: &dyn crate::store::Store,
    tenant_id: Uuid,
    req: AuthorizationRequest,
    resume: Option<String>,
) -> Result<(LoginFlow, String), crate::store::StoreError> {
    let (mut flow, secret) = LoginFlow::new(tenant_id, req);
    flow.resume = resume;
    store.insert_flow(&flow).await?;
    Ok((flow, secret))
}

/// The flow `id` of the tenant with its secret, if the browser presenting `secret` (its flow
/// cookie) owns it.
pub async fn owned_flow(
    store: &dyn crate::store::Store,
    tenant_id: Uuid,
    id: Uuid,
    secret: Option<String>,
) -> Result<Option<(LoginFlow, String)>, crate::store::StoreError> {
    let Some(secret) = secret else {
        return Ok(None);
    };
    Ok(store
        .find_flow(tenant_id, id)
        .await?
        .filter(|f| f.owned_by(&secret))
        .map(|f| (f, secret)))
}

/// The live session of the tenant named by a session cookie value, of an existing, enabled
/// user; touched when its idle clock needs it (see [`Session::needs_touch`]).
pub async fn current_session(
    store: &dyn crate::store::Store,
    tenant: &super::tenants::Tenant,
    cookie_value: &str,
    now: OffsetDateTime,
) -> Result<Option<Session>, crate::store::StoreError> {
    let digest = crypto::sha256(cookie_value.as_bytes());
    let Some(session) = store.find_signed_in(tenant.id, &digest).await? else {
        return Ok(None);
    };
    if !session.live(tenant.session.idle_ttl_seconds) {
        return Ok(None);
    }
    if session.needs_touch(tenant.session.idle_ttl_seconds, now) {
        store.touch_session(session.id, now).await?;
    }
    Ok(Some(session))
}

/// A new session for `user_id` after a successful login, stored: a new id and cookie value
/// every time, nothing from before the login is reused (SEC-18). Returns the session and the
/// cookie value.
pub async fn start_session(
    store: &dyn crate::store::Store,
    tenant: &super::tenants::Tenant,
    user_id: Uuid,
    provider: &str,
    amr: &[&str],
) -> Result<(Session, String), crate::store::StoreError> {
    let (session, token) = Session::new(tenant, user_id, provider, amr);
    store.insert_session(&session).await?;
    Ok((session, token))
}

/// Ends the session named by a session cookie value, at once (logout; SEC-18). An unknown
/// value is no error: there is nothing to end.
pub async fn end_session(
    store: &dyn crate::store::Store,
    tenant_id: Uuid,
    cookie_value: &str,
    now: OffsetDateTime,
) -> Result<(), crate::store::StoreError> {
    let digest = crypto::sha256(cookie_value.as_bytes());
    if let Some(s) = store.find_session(tenant_id, &digest).await? {
        store.revoke_session(s.id, now).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> AuthorizationRequest {
        AuthorizationRequest {
            client_id: "c".into(),
            redirect_uri: "https://rp.test/cb".into(),
            scope: vec!["openid".into()],
            state: None,
            nonce: None,
            code_challenge: "x".into(),
            prompt_none: false,
            prompt_login: false,
            max_age: None,
            login_hint: None,
            ui_locales: vec![],
        }
    }

    #[test]
    fn codes_are_six_digits_and_bound_to_their_flow() {
        let (flow, secret) = LoginFlow::new(Uuid::nil(), req());
        assert!(flow.owned_by(&secret) && !flow.owned_by("other"));
        let (otp, code, link) = new_otp(&flow, "a@b.test");
        assert_eq!(code.len(), 6);
        assert!(code.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(otp.code_digest, otp_digest(flow.id, &code));
        assert_ne!(
            otp.code_digest,
            otp_digest(Uuid::new_v4(), &code),
            "bound to the flow"
        );
        assert!(link.len() >= 43);
        assert_ne!(LoginFlow::csrf_token(&secret), LoginFlow::csrf_token("x"));
    }

    #[test]
    fn sessions_are_touched_at_most_every_twentieth_of_the_idle_timeout() {
        let now = crate::clock::now();
        let s = Session {
            id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            user_id: Uuid::nil(),
            token_digest: [0; 32],
            provider: "native".into(),
            amr: vec![],
            auth_time: now,
            created_at: now,
            last_seen_at: now,
            expires_at: now + Duration::hours(8),
            revoked_at: None,
        };
        let at = |secs| s.last_seen_at + Duration::seconds(secs);
        // Idle timeout of 60 s (the minimum): every 3 s.
        assert!(!s.needs_touch(60, at(2)));
        assert!(s.needs_touch(60, at(3)));
        // Long timeouts: at most a minute apart, so `live` errs by at most a minute.
        assert!(!s.needs_touch(8 * 3600, at(59)));
        assert!(s.needs_touch(8 * 3600, at(60)));
        // A clock that went back never skips a needed touch forever.
        assert!(!s.needs_touch(60, at(-5)));
    }
}

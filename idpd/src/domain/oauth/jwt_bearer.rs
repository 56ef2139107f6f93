//! Device login: the JWT bearer grant (RFC 7523 §2.1) with an assertion signed by a
//! registered device key.
//!
//! The key is chosen by (tenant, device id = `iss`) and the algorithm comes from the
//! registered key, never from the header; headers that carry or point at keys, and `crit`,
//! are refused (RFC 8725 §3.1, §3.10; SEC-11). `exp` is required and at most five minutes
//! ahead, and each `jti` is recorded until `exp` by an insert that fails on a repeat, so an
//! assertion is good for one token request. Every failure is `invalid_grant`.

use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use super::error::OAuthError;
use super::issue::{self, Issue, live_user, mint_refresh_for};
use super::scope;
use super::token::{Ctx, TokenResponse, check_grant};
use crate::domain::clients::{ClientRecord, GRANT_JWT_BEARER};
use crate::domain::grants::TokenFamily;
use crate::domain::keys::jws::Unverified;
use crate::store::UsedJti;

/// Longest assertion lifetime accepted (`exp` - now).
pub const MAX_LIFETIME_SECONDS: i64 = 300;
/// Allowed clock difference between the device and the server.
pub const LEEWAY_SECONDS: i64 = 30;
const MAX_JTI_LEN: usize = 256;
/// The precision of a device's `last_used_at`.
const DEVICE_TOUCH_INTERVAL_SECONDS: i64 = 60;

/// `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`. Every device login, granted or
/// refused, is an audit event (`login.device`, target the device the assertion names).
pub async fn grant(
    ctx: &Ctx<'_>,
    client: &ClientRecord,
    assertion: &str,
    scope: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    use crate::domain::audit::{self, Outcome};
    let mut login = Login::default();
    let result = device_login(ctx, client, assertion, scope, &mut login).await;
    // An outage is not a login attempt's outcome: nothing to record.
    if result.as_ref().err().is_some_and(|e| e.internal.is_some()) {
        return result;
    }
    let (actor, outcome) = match (&result, login.user) {
        (Ok(_), Some(user)) => (format!("user:{user}"), Outcome::Success),
        _ => (format!("client:{}", client.client_id), Outcome::Failure),
    };
    let mut event = audit::event_here(
        Some((ctx.tenant.id, &ctx.tenant.slug)),
        actor,
        "login.device",
        outcome,
    );
    event.target = login.device.map(|d| d.to_string());
    event.reason = result.as_ref().err().map(|e| e.description.clone());
    audit::record(ctx.store, event).await;
    result
}

/// What a device login got as far as knowing, for its audit event.
#[derive(Default)]
struct Login {
    device: Option<Uuid>,
    user: Option<Uuid>,
}

async fn device_login(
    ctx: &Ctx<'_>,
    client: &ClientRecord,
    assertion: &str,
    scope: Option<&str>,
    login: &mut Login,
) -> Result<TokenResponse, OAuthError> {
    check_grant(client, GRANT_JWT_BEARER)?;
    let invalid = || OAuthError::invalid_grant("the assertion is not valid");
    let u = Unverified::parse(assertion).ok_or_else(invalid)?;
    // The device is looked up by tenant and id only; `kid` plays no part.
    let device_id = u
        .claims
        .get("iss")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(invalid)?;
    login.device = Some(device_id);
    let device = ctx
        .store
        .find_device(ctx.tenant.id, device_id)
        .await?
        .filter(|d| d.revoked_at.is_none())
        .ok_or_else(invalid)?;
    // A weak key stored before registration refused them verifies forgeries: not used.
    if !crate::domain::devices::usable_key(device.alg, &device.public_key)
        || !u.verify_inbound(device.alg, &device.public_key)
    {
        return Err(invalid());
    }
    let now = crate::clock::now();
    let exp = check_claims(
        &u.claims,
        &device.user_id.to_string(),
        ctx.issuer,
        now.unix_timestamp(),
    )
    .map_err(OAuthError::invalid_grant)?;
    let jti = u
        .claims
        .get("jti")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let user = live_user(ctx, device.user_id).await?;
    login.user = Some(user.id);
    let scopes = scope::narrow(scope, &client.scopes)?;
    let expires_at = OffsetDateTime::from_unix_timestamp(exp).map_err(|_| invalid())?;
    let at = crate::clock::now();
    let family = TokenFamily {
        id: Uuid::new_v4(),
        tenant_id: ctx.tenant.id,
        client_id: client.client_id.clone(),
        user_id: user.id,
        session_id: None,
        created_at: at,
        revoked_at: None,
        device_id: Some(device.id),
    };
    let refresh = mint_refresh_for(client, &family, &scopes);
    // One transaction: the jti is spent exactly when the family exists.
    let used = UsedJti {
        tenant_id: ctx.tenant.id,
        device_id: device.id,
        jti,
        expires_at,
    };
    if !ctx
        .store
        .redeem_assertion(&used, &family, refresh.as_ref().map(|(_, rt)| rt))
        .await?
    {
        return Err(OAuthError::invalid_grant("the assertion was already used"));
    }
    // `last_used_at` is for people reading the device list: a minute's precision is enough,
    // and a write on every login would be a second commit per token.
    if device
        .last_used_at
        .is_none_or(|t| now - t >= time::Duration::seconds(DEVICE_TOUCH_INTERVAL_SECONDS))
        && let Err(e) = ctx.store.touch_device(device.id, now).await
    {
        // The grant is already stored: failing now would spend the assertion for nothing.
        tracing::warn!(error = %e, device = %device.id, "could not record the device's last use");
    }
    let refresh = refresh.map(|(value, _)| value);
    // RFC 8176: proof of possession of a key.
    let amr = ["pop".to_owned()];
    let grant = Issue {
        client,
        user: &user,
        family: &family,
        scopes: &scopes,
        nonce: None,
        auth_time: at,
        session_id: None,
        amr: &amr,
        idp: None,
    };
    issue::respond(ctx, &grant, refresh).await
}

/// The claim rules of RFC 7523 §3 for a signature already verified; returns `exp`.
pub(crate) fn check_claims(
    c: &serde_json::Map<String, Value>,
    owner: &str,
    issuer: &str,
    now: i64,
) -> Result<i64, &'static str> {
    if c.get("sub").and_then(Value::as_str) != Some(owner) {
        return Err("sub is not the device's user");
    }
    // `aud`: the token endpoint or the issuer, as a string or in an array.
    let token_endpoint = format!("{issuer}/token");
    let ok_aud = |v: &Value| {
        v.as_str()
            .is_some_and(|a| a == issuer || a == token_endpoint)
    };
    let aud_ok = match c.get("aud") {
        Some(Value::Array(a)) => a.iter().any(ok_aud),
        Some(v) => ok_aud(v),
        None => false,
    };
    if !aud_ok {
        return Err("aud must be this tenant's token endpoint or issuer");
    }
    let Some(exp) = c.get("exp").and_then(Value::as_i64) else {
        return Err("exp is required");
    };
    if exp <= now - LEEWAY_SECONDS {
        return Err("the assertion has expired");
    }
    if exp > now + MAX_LIFETIME_SECONDS + LEEWAY_SECONDS {
        return Err("exp may be at most 5 minutes ahead");
    }
    let time = |k: &str| {
        c.get(k)
            .map(|v| v.as_i64().ok_or("a time claim is not a number"))
    };
    if let Some(nbf) = time("nbf").transpose()?
        && nbf > now + LEEWAY_SECONDS
    {
        return Err("the assertion is not valid yet (nbf)");
    }
    if let Some(iat) = time("iat").transpose()?
        && (iat > now + LEEWAY_SECONDS || iat < now - MAX_LIFETIME_SECONDS - LEEWAY_SECONDS)
    {
        return Err("iat is out of range");
    }
    match c.get("jti").and_then(Value::as_str) {
        Some(j) if !j.is_empty() && j.len() <= MAX_JTI_LEN => Ok(exp),
        _ => Err("jti is required (at most 256 characters)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn claims() {
        let now = 1_000_000;
        let iss = "https://op.test/t/acme";
        let good = json!({"sub": "u", "aud": iss, "exp": now + 60, "iat": now, "jti": "j"});
        let check = |v: &Value| check_claims(v.as_object().unwrap(), "u", iss, now);
        assert_eq!(check(&good), Ok(now + 60));
        let with = |k: &str, v: Value| {
            let mut c = good.clone();
            c[k] = v;
            c
        };
        assert!(check(&with("aud", json!([format!("{iss}/token"), "x"]))).is_ok());
        for bad in [
            with("sub", json!("v")),
            with("aud", json!("https://op.test/t/other")),
            with("aud", json!(["x"])),
            with("exp", json!(now - 100)),
            with("exp", json!(now + 600)),
            with("exp", json!("soon")),
            with("nbf", json!(now + 100)),
            with("iat", json!(now - 3600)),
            with("iat", json!("x")),
            with("jti", json!("")),
            with("jti", json!("j".repeat(300))),
            with("jti", json!(5)),
        ] {
            assert!(check(&bad).is_err(), "{bad}");
        }
        let mut no_exp = good.clone();
        no_exp.as_object_mut().unwrap().remove("exp");
        assert!(check(&no_exp).is_err());
    }
}

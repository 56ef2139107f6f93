//! Client authentication, the client_credentials grant, RFC 9068 access tokens, and their
//! introspection (RFC 7662) and revocation (RFC 7009).

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::{Map, Value, json};
use shared::admin::Alg;
use time::OffsetDateTime;

use super::error::{ErrorCode, OAuthError};
use super::scope;
use crate::crypto;
use crate::domain::clients::{self, ClientRecord, GRANT_CLIENT_CREDENTIALS};
use crate::domain::keys::{KeyRing, jws};
use crate::domain::tenants::Tenant;
use crate::store::Store;

/// `typ` of access tokens (RFC 9068 §2.1).
pub const AT_TYP: &str = "at+jwt";

/// Everything a grant needs about where it runs.
pub struct Ctx<'a> {
    pub store: &'a dyn Store,
    pub ring: &'a KeyRing,
    /// Clients read without a round trip while fresh.
    pub clients: &'a crate::domain::cache::ClientCache,
    pub tenant: &'a Tenant,
    pub issuer: &'a str,
    /// Failed client authentications per client and minute (0: unlimited).
    pub auth_failure_limit: u32,
}

/// How the client presented itself (RFC 6749 §2.3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// `client_secret_basic` or `client_secret_post`.
    Secret {
        client_id: String,
        secret: String,
    },
    /// A public client naming itself.
    IdOnly {
        client_id: String,
    },
    None,
}

/// Authenticates the client. Unknown id and wrong secret are indistinguishable: same
/// error, and the secret is hashed and compared either way.
pub async fn authenticate(
    ctx: &Ctx<'_>,
    creds: &Credentials,
) -> Result<Arc<ClientRecord>, OAuthError> {
    let (client_id, secret) = match creds {
        Credentials::Secret { client_id, secret } => (client_id, Some(secret)),
        Credentials::IdOnly { client_id } => (client_id, None),
        Credentials::None => return Err(OAuthError::invalid_client()),
    };
    let found = ctx.clients.get(ctx.store, ctx.tenant.id, client_id).await?;
    let Some(client) = found else {
        if let Some(s) = secret {
            clients::dummy_secret_check(s);
        }
        return Err(OAuthError::invalid_client());
    };
    let ok = match (client.public, secret) {
        (false, Some(s)) => client.secret_matches(s),
        (true, None) => true,
        // A public client sending a secret, or a confidential one without.
        _ => false,
    };
    if !ok || client.disabled {
        return Err(OAuthError::invalid_client());
    }
    Ok(client)
}

/// Counts a failed client authentication against the client id and the source address
/// (SEC-10). Only failures touch the counters, so successful requests pay nothing; past the
/// limit the answer becomes 429 instead of 401.
pub async fn record_auth_failure(
    ctx: &Ctx<'_>,
    creds: &Credentials,
    peer: Option<std::net::IpAddr>,
) -> Result<Option<OAuthError>, OAuthError> {
    use crate::domain::rate_limit;
    let client_id = match creds {
        Credentials::Secret { client_id, .. } | Credentials::IdOnly { client_id } => {
            Some(client_id)
        }
        Credentials::None => None,
    };
    let mut keys = Vec::with_capacity(2);
    let per_client = rate_limit::client_auth_failures(ctx.auth_failure_limit);
    if let (Some(id), Some(limit)) = (client_id, per_client) {
        keys.push((format!("client-auth:{}:{id}", ctx.tenant.id), limit));
    }
    if let (Some(ip), Some(limit)) = (peer, rate_limit::ip_auth_failures(ctx.auth_failure_limit)) {
        keys.push((format!("client-auth-ip:{}", rate_limit::source(ip)), limit));
    }
    for (key, limit) in keys {
        if let Err(retry_after) = rate_limit::hit(ctx.store, &key, limit).await? {
            return Ok(Some(OAuthError::new(
                ErrorCode::RateLimited { retry_after },
                "too many failed client authentications; retry later",
            )));
        }
    }
    Ok(None)
}

/// The policy every grant applies (SEC-25): one function, so no grant path skips a check.
pub fn check_grant(client: &ClientRecord, grant: &str) -> Result<(), OAuthError> {
    if client.disabled {
        return Err(OAuthError::invalid_client());
    }
    if !client.allows_grant(grant) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            format!("this client may not use the {grant} grant"),
        ));
    }
    Ok(())
}

#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

/// RFC 9068 §2.2 claims of an access token, as signed (borrowed: nothing is copied to
/// serialize them once).
#[derive(Debug, Serialize)]
pub struct AccessClaims<'a> {
    pub iss: &'a str,
    pub sub: &'a str,
    pub aud: &'a str,
    pub exp: i64,
    pub iat: i64,
    pub jti: &'a str,
    pub client_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<&'a str>,
    /// The client registration the token was issued to, so a client deleted and registered
    /// again under the same client_id does not revive the old one's tokens.
    pub idp_client: uuid::Uuid,
    /// The grant family (user tokens only): revoking it makes the token inactive at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fid: Option<uuid::Uuid>,
    /// The registered device of a device login: revoking the device ends the token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub did: Option<uuid::Uuid>,
    /// The external identity provider the user signed in through.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idp: Option<&'a str>,
}

/// The client_credentials grant (RFC 6749 §4.4): the client acts for itself.
pub async fn client_credentials(
    ctx: &Ctx<'_>,
    client: &ClientRecord,
    scope: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    check_grant(client, GRANT_CLIENT_CREDENTIALS)?;
    let scopes = scope::narrow(scope, &client.scopes)?;
    let scope = (!scopes.is_empty()).then(|| scopes.join(" "));
    let (access_token, expires_in) =
        issue_access_token(ctx, client, &client.client_id, scope.clone()).await?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in,
        scope,
        refresh_token: None,
        id_token: None,
    })
}

/// Signs an access token for `sub` with the tenant's active key of its access-token alg.
pub async fn issue_access_token(
    ctx: &Ctx<'_>,
    client: &ClientRecord,
    sub: &str,
    scope: Option<String>,
) -> Result<(String, i64), OAuthError> {
    issue_access_token_for(ctx, client, sub, scope, None).await
}

/// `issue_access_token` for a token of a grant family (and of its device, if bound).
pub async fn issue_access_token_for(
    ctx: &Ctx<'_>,
    client: &ClientRecord,
    sub: &str,
    scope: Option<String>,
    family: Option<&crate::domain::grants::TokenFamily>,
) -> Result<(String, i64), OAuthError> {
    issue_access_token_via(ctx, client, sub, scope, family, None).await
}

/// `issue_access_token_for` of a login through external provider `idp` (the `idp` claim).
pub async fn issue_access_token_via(
    ctx: &Ctx<'_>,
    client: &ClientRecord,
    sub: &str,
    scope: Option<String>,
    family: Option<&crate::domain::grants::TokenFamily>,
    idp: Option<&str>,
) -> Result<(String, i64), OAuthError> {
    let now = crate::clock::now().unix_timestamp();
    let ttl = client.access_token_ttl_seconds;
    let jti = URL_SAFE_NO_PAD.encode(crypto::random_bytes::<16>());
    let claims = AccessClaims {
        iss: ctx.issuer,
        sub,
        aud: ctx.issuer,
        exp: now + ttl,
        iat: now,
        jti: &jti,
        client_id: &client.client_id,
        scope: scope.as_deref(),
        idp_client: client.id,
        fid: family.map(|f| f.id),
        did: family.and_then(|f| f.device_id),
        idp,
    };
    let token = sign(ctx, ctx.tenant.access_token_alg, AT_TYP, &claims).await?;
    Ok((token, ttl))
}

/// Signs `claims` with the tenant's active key of `alg`.
pub async fn sign(
    ctx: &Ctx<'_>,
    alg: Alg,
    typ: &str,
    claims: &impl Serialize,
) -> Result<String, OAuthError> {
    let keys = ctx.ring.get(ctx.store, ctx.tenant.id).await?;
    let key = keys.active(alg).ok_or_else(|| OAuthError {
        internal: Some(format!(
            "tenant {} has no active {} key",
            ctx.tenant.slug,
            alg.as_str()
        )),
        ..OAuthError::new(ErrorCode::ServerError, "no signing key is available")
    })?;
    let signer = key.signer(ctx.ring.master())?;
    Ok(jws::sign(signer, alg, &key.kid, typ, claims)?)
}

/// The claims of a valid access token issued by this tenant, or `None`. Checks signature
/// (with a key of this tenant only), `typ`, issuer, expiry, revocation, and that the client
/// still exists and is enabled.
pub async fn verify_access_token(
    ctx: &Ctx<'_>,
    token: &str,
) -> Result<Option<Map<String, Value>>, OAuthError> {
    let Some(claims) = verify_signed(ctx, token, AT_TYP).await? else {
        return Ok(None);
    };
    let (Some(jti), Some(client_id)) = (
        claims.get("jti").and_then(Value::as_str),
        claims.get("client_id").and_then(Value::as_str),
    ) else {
        return Ok(None);
    };
    if ctx.store.is_revoked(jti).await? {
        return Ok(None);
    }
    let registration = claims.get("idp_client").and_then(Value::as_str);
    match ctx.clients.get(ctx.store, ctx.tenant.id, client_id).await? {
        Some(c) if !c.disabled && registration.is_some_and(|r| uuid_is(r, c.id)) => {}
        _ => return Ok(None),
    }
    // A user token: its family must be live and its user enabled (SEC-03/04/25).
    if let Some(fid) = claims.get("fid").and_then(Value::as_str) {
        let Ok(fid) = uuid::Uuid::parse_str(fid) else {
            return Ok(None);
        };
        let family = ctx.store.find_family(fid).await?;
        let Some(family) =
            family.filter(|f| f.revoked_at.is_none() && f.tenant_id == ctx.tenant.id)
        else {
            return Ok(None);
        };
        match ctx.store.find_user(ctx.tenant.id, family.user_id).await? {
            Some(u) if !u.disabled => {}
            _ => return Ok(None),
        }
    }
    // A device login's token: the device must still be registered (issue 6).
    if let Some(did) = claims.get("did")
        && !crate::domain::devices::claim_live(ctx.store, ctx.tenant.id, did).await?
    {
        return Ok(None);
    }
    Ok(Some(claims))
}

/// Whether `text` is `id` (any case), without formatting `id`.
fn uuid_is(text: &str, id: uuid::Uuid) -> bool {
    uuid::Uuid::try_parse(text).is_ok_and(|t| t == id)
}

/// Signature, `typ`, `iss` and `exp` of a token this tenant signed.
async fn verify_signed(
    ctx: &Ctx<'_>,
    token: &str,
    typ: &str,
) -> Result<Option<Map<String, Value>>, OAuthError> {
    verify_signed_at(ctx, token, typ, true).await
}

/// An `id_token_hint` (OIDC Core §3.1.2.1): an ID token this tenant issued, expired or not.
/// An access token is not an ID token and is refused (SEC-12).
pub async fn verify_id_token_hint(
    ctx: &Ctx<'_>,
    token: &str,
) -> Result<Option<Map<String, Value>>, OAuthError> {
    verify_signed_at(ctx, token, "JWT", false).await
}

async fn verify_signed_at(
    ctx: &Ctx<'_>,
    token: &str,
    typ: &str,
    check_exp: bool,
) -> Result<Option<Map<String, Value>>, OAuthError> {
    let Some(u) = jws::Unverified::parse(token) else {
        return Ok(None);
    };
    let keys = ctx.ring.get(ctx.store, ctx.tenant.id).await?;
    let Some(key) = u.kid().and_then(|kid| keys.by_kid(kid)) else {
        return Ok(None);
    };
    let now = crate::clock::now().unix_timestamp();
    let exp = u.claims.get("exp").and_then(Value::as_i64);
    // A token without `exp` (not one of ours) is remembered for an hour at most.
    let remember_until = exp.unwrap_or(now + 3600).min(now + 86_400 + 3600);
    if u.typ() != Some(typ) || !ctx.ring.signature_ok(token, &u, key, remember_until) {
        return Ok(None);
    }
    let iss_ok = u.claims.get("iss").and_then(Value::as_str) == Some(ctx.issuer);
    let live = !check_exp || exp.is_some_and(|e| e > now);
    Ok((iss_ok && live).then_some(u.claims))
}

/// RFC 7662 §2.2: `{"active": false}` for anything not valid here, otherwise the claims.
pub async fn introspect(
    ctx: &Ctx<'_>,
    client: &ClientRecord,
    token: &str,
) -> Result<Value, OAuthError> {
    // RFC 7662 §2.1: every token type is searched, whatever `token_type_hint` says.
    if token.starts_with(crate::domain::grants::REFRESH_PREFIX) {
        return introspect_refresh(ctx, client, token).await;
    }
    let Some(claims) = verify_access_token(ctx, token).await? else {
        return Ok(json!({ "active": false }));
    };
    let mut out = Map::new();
    out.insert("active".into(), Value::Bool(true));
    out.insert("token_type".into(), Value::String("Bearer".into()));
    for k in [
        "scope",
        "client_id",
        "sub",
        "aud",
        "iss",
        "exp",
        "iat",
        "jti",
        "did",
    ] {
        if let Some(v) = claims.get(k) {
            out.insert(k.into(), v.clone());
        }
    }
    Ok(Value::Object(out))
}

/// A refresh token is active for the client it was issued to while it is unused, unexpired,
/// its family unrevoked and its user enabled; for anyone else it is `active: false`, like an
/// unknown token (no probing other clients' tokens).
async fn introspect_refresh(
    ctx: &Ctx<'_>,
    client: &ClientRecord,
    token: &str,
) -> Result<Value, OAuthError> {
    let inactive = || Ok(json!({ "active": false }));
    let now = crate::clock::now();
    let digest = crypto::sha256(token.as_bytes());
    let Some(rt) = ctx.store.find_refresh(&digest).await? else {
        return inactive();
    };
    if rt.consumed_at.is_some() || rt.family_revoked_at.is_some() || rt.expires_at <= now {
        return inactive();
    }
    let Some(family) = ctx.store.find_family(rt.family_id).await? else {
        return inactive();
    };
    if family.tenant_id != ctx.tenant.id
        || family.client_id != client.client_id
        || family.revoked_at.is_some()
    {
        return inactive();
    }
    match ctx.store.find_user(ctx.tenant.id, family.user_id).await? {
        Some(u) if !u.disabled => {}
        _ => return inactive(),
    }
    if let Some(did) = family.device_id
        && !crate::domain::devices::live(ctx.store, ctx.tenant.id, did).await?
    {
        return inactive();
    }
    let mut out = json!({
        "active": true,
        "token_type": "refresh_token",
        "client_id": family.client_id,
        "sub": family.user_id.to_string(),
        "iss": ctx.issuer,
        "iat": rt.created_at.unix_timestamp(),
        "exp": rt.expires_at.unix_timestamp(),
    });
    if !rt.scope.is_empty() {
        out["scope"] = Value::String(rt.scope.clone());
    }
    if let Some(did) = family.device_id {
        out["did"] = Value::String(did.to_string());
    }
    Ok(out)
}

/// RFC 7009: revokes `token` if it is a valid access token of `client`. Anything else
/// (unknown, expired, another client's) is answered the same way and changes nothing.
pub async fn revoke(ctx: &Ctx<'_>, client: &ClientRecord, token: &str) -> Result<(), OAuthError> {
    if token.starts_with(crate::domain::grants::REFRESH_PREFIX) {
        return revoke_refresh(ctx, client, token).await;
    }
    let Some(claims) = verify_signed(ctx, token, AT_TYP).await? else {
        return Ok(());
    };
    if claims.get("client_id").and_then(Value::as_str) != Some(client.client_id.as_str()) {
        return Ok(());
    }
    let (Some(jti), Some(exp)) = (
        claims.get("jti").and_then(Value::as_str),
        claims.get("exp").and_then(Value::as_i64),
    ) else {
        return Ok(());
    };
    let expires_at = OffsetDateTime::from_unix_timestamp(exp)
        .map_err(|_| OAuthError::invalid_request("bad exp"))?;
    ctx.store
        .revoke_token(jti, ctx.tenant.id, expires_at)
        .await?;
    Ok(())
}

/// Revoking a refresh token ends its whole family: the token, its successors and the access
/// tokens issued from it (SEC-23). Only the client it was issued to may; anyone else gets the
/// same 200 and changes nothing (RFC 7009 §2.1).
async fn revoke_refresh(
    ctx: &Ctx<'_>,
    client: &ClientRecord,
    token: &str,
) -> Result<(), OAuthError> {
    let digest = crypto::sha256(token.as_bytes());
    let Some(rt) = ctx.store.find_refresh(&digest).await? else {
        return Ok(());
    };
    let Some(family) = ctx.store.find_family(rt.family_id).await? else {
        return Ok(());
    };
    if family.tenant_id == ctx.tenant.id && family.client_id == client.client_id {
        ctx.store
            .revoke_family(family.id, crate::clock::now())
            .await?;
    }
    Ok(())
}

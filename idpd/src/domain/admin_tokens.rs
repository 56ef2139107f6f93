//! Admin API bearer tokens: minted once, stored as a SHA-256 digest, checked per request.

use time::Duration;
use uuid::Uuid;

use super::error::{Error, Result};
use crate::clock::now;
use crate::crypto;
pub use crate::model::admin_tokens::AdminToken;
use crate::store::Store;

/// Recognizable prefix so leaked admin tokens are easy to spot (and to scan for).
pub const PREFIX: &str = "idp_admin_";

/// A freshly minted token: the secret to show once, and the record to store.
pub fn mint(name: &str, expires_in: Option<Duration>) -> (String, AdminToken) {
    let secret = crypto::new_secret(PREFIX);
    let created_at = now();
    let record = AdminToken {
        id: Uuid::now_v7(),
        name: name.to_owned(),
        digest: crypto::sha256(secret.as_bytes()),
        tenant_id: None,
        created_at,
        expires_at: expires_in.map(|d| created_at + d),
        revoked_at: None,
    };
    (secret, record)
}

pub async fn create(store: &dyn Store, name: &str, expires_in: Option<Duration>) -> Result<String> {
    let (secret, record) = mint(name, expires_in);
    store.insert_admin_token(&record).await?;
    Ok(secret)
}

/// Checks a presented bearer token. Lookup is by digest, so the database never sees the
/// token; the digest is compared again in constant time after the lookup.
/// Failed admin authentications audited per source and minute; past that only the first
/// refusal of the minute is (a flood must not write a row per request).
const AUDITED_FAILURES_PER_SOURCE: super::rate_limit::Limit = super::rate_limit::Limit {
    max: 30,
    window_seconds: 60,
};

/// Records a refused admin authentication (`why`: missing, malformed or invalid), throttled
/// per source address.
pub async fn audit_refusal(store: &dyn Store, why: &str) {
    use super::audit::{self, Outcome};
    let event = audit::event_here(None, "anonymous", "admin.authenticate", Outcome::Failure);
    let source = event
        .client_ip
        .as_deref()
        .and_then(|ip| ip.parse().ok())
        .map(super::rate_limit::source)
        .unwrap_or_default();
    let key = format!("admin-auth-fail:{source}");
    match super::rate_limit::hit_counted(store, &key, AUDITED_FAILURES_PER_SOURCE).await {
        Ok(Ok(())) => {}
        Ok(Err(over)) if over.first => {}
        Ok(Err(_)) => return,
        Err(e) => {
            tracing::warn!(error = %e, "cannot count a failed admin authentication");
            return;
        }
    }
    audit::record(
        store,
        super::audit::NewAuditEvent {
            reason: Some(why.to_owned()),
            ..event
        },
    )
    .await;
}

pub async fn authenticate(store: &dyn Store, presented: &str) -> Result<AdminToken> {
    if !presented.starts_with(PREFIX) || presented.len() > 256 {
        return Err(Error::Unauthenticated);
    }
    let digest = crypto::sha256(presented.as_bytes());
    let token = store
        .find_admin_token(&digest)
        .await?
        .ok_or(Error::Unauthenticated)?;
    if !crypto::ct_eq(&token.digest, &digest) || token.revoked_at.is_some() {
        return Err(Error::Unauthenticated);
    }
    if token.expires_at.is_some_and(|e| e <= crate::clock::now()) {
        return Err(Error::Unauthenticated);
    }
    Ok(token)
}

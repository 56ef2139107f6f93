//! The admin operations on browser sessions: list a tenant's live sessions, revoke one.
//!
//! Revoking a session also revokes every token family issued under it (one transaction in
//! the store), so the browser has to sign in again and the refresh tokens stop working at
//! once.

use uuid::Uuid;

use super::error::{Error, Result};
use super::login::Session;
use super::tenants::Tenant;
use super::users;
use crate::clock::now;
use crate::store::Store;

/// A live session and the email of its user (`None` if the user is gone).
pub struct SessionView {
    pub session: Session,
    pub user_email: Option<String>,
}

/// The tenant's live sessions (not revoked, not expired, not idle too long), ordered by
/// creation time; only those of `user` (id or email) when given.
pub async fn list(
    store: &dyn Store,
    tenant: &Tenant,
    user: Option<&str>,
) -> Result<Vec<SessionView>> {
    let user_id = match user {
        Some(key) => Some(users::get(store, tenant, key).await?.id),
        None => None,
    };
    let sessions = store.list_sessions(tenant.id, user_id).await?;
    let sessions: Vec<Session> = sessions
        .into_iter()
        .filter(|s| s.live(tenant.session.idle_ttl_seconds))
        .collect();
    let emails =
        users::emails_of(store, tenant, sessions.iter().map(|s| s.user_id).collect()).await?;
    Ok(sessions
        .into_iter()
        .map(|session| SessionView {
            user_email: emails.get(&session.user_id).cloned().flatten(),
            session,
        })
        .collect())
}

/// Revokes the session `key` (its id) and the token families issued under it. Unknown ids,
/// ids that are not UUIDs and sessions already revoked are all "not found".
pub async fn revoke(store: &dyn Store, key: &str) -> Result<Session> {
    let not_found = || Error::NotFound(format!("session {key:?}"));
    let id = Uuid::parse_str(key).map_err(|_| not_found())?;
    let session = store
        .find_session_by_id(id)
        .await?
        .filter(|s| s.revoked_at.is_none())
        .ok_or_else(not_found)?;
    // Conditional in the store: of two concurrent revocations, one gets 404.
    if !store.revoke_session(id, now()).await? {
        return Err(not_found());
    }
    Ok(session)
}

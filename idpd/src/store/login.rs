//! Store trait of the login aggregate: login flows, one-time codes and sessions. Each method
//! is one atomic unit.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::Result;
use crate::model::login::{LoginFlow, Otp, Session};

#[async_trait]
pub trait LoginStore: Send + Sync {
    async fn insert_flow(&self, f: &LoginFlow) -> Result<()>;
    async fn find_flow(&self, tenant_id: Uuid, id: Uuid) -> Result<Option<LoginFlow>>;
    async fn set_flow_email(&self, id: Uuid, email: &str) -> Result<()>;
    /// Inserts a one-time code and retires every older unused code of the same flow, in one
    /// transaction: only the flow's newest code is valid. Codes of other flows (other
    /// browsers) for the same address stay valid in their own flows: a request from
    /// anywhere else cannot cancel a user's pending code.
    async fn insert_otp(&self, o: &Otp, now: OffsetDateTime) -> Result<()>;
    /// Counts one try on the flow's live code and returns it, or `None` when there is no
    /// live code or its tries are used up. The count is taken before the caller compares,
    /// so concurrent guesses cannot exceed `max`.
    async fn try_otp(&self, flow_id: Uuid, max: i64) -> Result<Option<Otp>>;
    async fn find_otp_by_link(&self, link_digest: &[u8; 32]) -> Result<Option<Otp>>;
    /// Marks the code used (or burned); true if this call did it.
    async fn consume_otp(&self, id: Uuid, now: OffsetDateTime) -> Result<bool>;

    async fn insert_session(&self, s: &Session) -> Result<()>;
    async fn find_session(
        &self,
        tenant_id: Uuid,
        token_digest: &[u8; 32],
    ) -> Result<Option<Session>>;
    /// The session with this cookie digest if its user exists and is not disabled: what
    /// every request of a signed-in browser needs, in one query.
    async fn find_signed_in(
        &self,
        tenant_id: Uuid,
        token_digest: &[u8; 32],
    ) -> Result<Option<Session>>;
    async fn find_session_by_id(&self, id: Uuid) -> Result<Option<Session>>;
    async fn touch_session(&self, id: Uuid, now: OffsetDateTime) -> Result<()>;
    /// Revokes the session and every token family issued under it.
    async fn revoke_session(&self, id: Uuid, now: OffsetDateTime) -> Result<bool>;
    async fn list_sessions(&self, tenant_id: Uuid, user_id: Option<Uuid>) -> Result<Vec<Session>>;
    /// Deletes login flows (with their codes), authorization codes, refresh tokens and
    /// sessions that expired before `before`; returns how many rows went.
    async fn purge_expired(&self, before: OffsetDateTime) -> Result<u64>;
    /// Deletes expired login flows that never got as far as an address (nothing in them can
    /// be replayed): they need not wait the day `purge_expired` gives the rest.
    async fn purge_unused_flows(&self, now: OffsetDateTime) -> Result<u64>;
}

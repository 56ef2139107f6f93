//! Store trait of the users of each tenant. Each method is one atomic unit.

use async_trait::async_trait;
use uuid::Uuid;

use super::Result;
use crate::model::users::UserRecord;

#[async_trait]
pub trait UserStore: Send + Sync {
    /// A taken `(tenant, email)` is `Conflict`.
    async fn insert_user(&self, u: &UserRecord) -> Result<()>;
    async fn find_user(&self, tenant_id: Uuid, id: Uuid) -> Result<Option<UserRecord>>;
    /// `email` as stored: lower-cased.
    async fn find_user_by_email(&self, tenant_id: Uuid, email: &str) -> Result<Option<UserRecord>>;
    /// Ordered by email, those after `after` (an email).
    async fn list_users(
        &self,
        tenant_id: Uuid,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<UserRecord>>;
    /// Writes every mutable field; an email taken by another user is `Conflict`.
    async fn update_user(&self, u: &UserRecord) -> Result<()>;
    async fn delete_user(&self, tenant_id: Uuid, id: Uuid) -> Result<()>;
}

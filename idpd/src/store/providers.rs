//! Store trait of the identity-provider aggregate: providers, the default switch, upstream
//! account links and relying-party login transactions. Each method is one atomic unit.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::Result;
use crate::model::providers::ProviderRecord;
use crate::model::upstream::{UpstreamLink, UpstreamLogin};
use crate::model::users::UserRecord;

#[async_trait]
pub trait ProviderStore: Send + Sync {
    /// A taken `(tenant, name)` is `Conflict`. Never inserted as the default.
    async fn insert_provider(&self, p: &ProviderRecord) -> Result<()>;
    async fn find_provider(&self, tenant_id: Uuid, name: &str) -> Result<Option<ProviderRecord>>;
    /// Ordered by name.
    async fn list_providers(&self, tenant_id: Uuid) -> Result<Vec<ProviderRecord>>;
    /// Writes config, secret and updated_at.
    async fn update_provider(&self, p: &ProviderRecord) -> Result<()>;
    /// Deletes a provider that is not the default (with its links and transactions).
    async fn delete_provider(&self, id: Uuid) -> Result<()>;
    /// Clears the tenant's default and sets `provider_id` in one transaction.
    async fn set_default_provider(&self, tenant_id: Uuid, provider_id: Uuid) -> Result<()>;

    async fn find_upstream_link(&self, provider_id: Uuid, subject: &str) -> Result<Option<Uuid>>;
    /// Whether any upstream identity is linked to the user.
    async fn has_upstream_links(&self, user_id: Uuid) -> Result<bool>;
    /// Inserts `user` (when given) and the link in one transaction; a taken email or link
    /// is `Conflict` and leaves nothing behind.
    async fn link_upstream(&self, user: Option<&UserRecord>, link: &UpstreamLink) -> Result<()>;

    async fn insert_upstream_login(&self, l: &UpstreamLogin) -> Result<()>;
    async fn find_upstream_login(
        &self,
        tenant_id: Uuid,
        state_digest: &[u8; 32],
    ) -> Result<Option<UpstreamLogin>>;
    /// Marks the transaction used if it is unused and unexpired; true if this call did it.
    async fn consume_upstream_login(&self, id: Uuid, now: OffsetDateTime) -> Result<bool>;
}

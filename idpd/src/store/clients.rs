//! Store trait of the OAuth clients of each tenant. Each method is one atomic unit.

use async_trait::async_trait;
use uuid::Uuid;

use super::Result;
use crate::model::clients::ClientRecord;

#[async_trait]
pub trait ClientStore: Send + Sync {
    /// A taken `(tenant, client_id)` is `Conflict`.
    async fn insert_client(&self, c: &ClientRecord) -> Result<()>;
    async fn find_client(&self, tenant_id: Uuid, client_id: &str) -> Result<Option<ClientRecord>>;
    /// Ordered by client_id, those after `after`.
    async fn list_clients(
        &self,
        tenant_id: Uuid,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ClientRecord>>;
    /// Writes every mutable field, secrets included.
    async fn update_client(&self, c: &ClientRecord) -> Result<()>;
    async fn delete_client(&self, tenant_id: Uuid, client_id: &str) -> Result<()>;
}

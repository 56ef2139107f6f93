//! Store trait of the tenant aggregate: tenants, with their default login provider. Each method is one atomic unit.

use async_trait::async_trait;
use uuid::Uuid;

use super::Result;
use crate::model::keys::KeyRecord;
use crate::model::tenants::Tenant;

#[async_trait]
pub trait TenantStore: Send + Sync {
    /// Inserts the tenant, its `native` default provider and its first signing keys in one
    /// transaction. A taken slug is `Conflict`.
    async fn insert_tenant(&self, t: &Tenant, keys: &[KeyRecord]) -> Result<Tenant>;
    async fn find_tenant_by_id(&self, id: Uuid) -> Result<Option<Tenant>>;
    async fn find_tenant_by_slug(&self, slug: &str) -> Result<Option<Tenant>>;
    /// Slugs equal to `base` or starting with `base-`.
    async fn slugs_with_prefix(&self, base: &str) -> Result<Vec<String>>;
    /// Tenants ordered by slug, those after `after`.
    async fn list_tenants(&self, after: Option<&str>, limit: u32) -> Result<Vec<Tenant>>;
    async fn count_tenants(&self) -> Result<u64>;
    /// Writes the mutable fields (not slug, id or created_at).
    async fn update_tenant(&self, t: &Tenant) -> Result<Tenant>;
    /// Deletes the tenant and everything that belongs to it.
    async fn delete_tenant(&self, id: Uuid) -> Result<()>;
}

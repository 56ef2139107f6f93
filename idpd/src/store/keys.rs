//! Store trait of the signing keys of each tenant. Each method is one atomic unit.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::Result;
use crate::model::keys::KeyRecord;

#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Every key of the tenant, removed ones included.
    async fn list_keys(&self, tenant_id: Uuid) -> Result<Vec<KeyRecord>>;
    async fn find_key(&self, kid: &str) -> Result<Option<KeyRecord>>;
    async fn insert_key(&self, k: &KeyRecord) -> Result<()>;
    /// Sets `removed_at` (an operator retired the key early).
    async fn remove_key(&self, kid: &str, at: OffsetDateTime) -> Result<()>;
    /// Inserts `k` only if no key of its tenant and algorithm was created after
    /// `due_before`, deciding under a lock on the tenant row: several instances running the
    /// rotation job together rotate once.
    async fn insert_key_if_due(&self, k: &KeyRecord, due_before: OffsetDateTime) -> Result<bool>;
    /// `(tenant id, interval)` of tenants with automatic rotation.
    async fn tenants_with_rotation(&self) -> Result<Vec<(Uuid, i64)>>;
}

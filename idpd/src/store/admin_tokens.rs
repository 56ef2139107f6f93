//! Store trait of the admin API tokens. Each method is one atomic unit.

use async_trait::async_trait;

use super::Result;
use crate::model::admin_tokens::AdminToken;

#[async_trait]
pub trait AdminTokenStore: Send + Sync {
    async fn insert_admin_token(&self, t: &AdminToken) -> Result<()>;
    async fn find_admin_token(&self, digest: &[u8; 32]) -> Result<Option<AdminToken>>;
    /// Inserts `t` only if no bootstrap token was ever created (decided in the database, so
    /// two instances starting together create one). Returns whether it was inserted.
    async fn insert_bootstrap_admin_token(&self, t: &AdminToken) -> Result<bool>;
}

//! Store trait of the installation's own settings (key and value). Each method is one atomic unit.

use async_trait::async_trait;

use super::Result;

#[async_trait]
pub trait MetaStore: Send + Sync {
    async fn get_meta(&self, key: &str) -> Result<Option<String>>;
    /// Sets `key` unless it is set; returns the value now stored.
    async fn init_meta(&self, key: &str, value: &str) -> Result<String>;
}

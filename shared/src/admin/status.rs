//! `GET /api/v1/status`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Status {
    /// idpd's version (Cargo package version).
    pub version: String,
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// True when the database answers.
    pub ready: bool,
    /// Number of tenants.
    pub tenants: u64,
}

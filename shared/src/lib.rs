//! Admin API wire types shared by `idpd` (server) and `idpctl` (client).
//!
//! Serde types only: no HTTP, SQL or CLI code lives here. Field names are part of the
//! external contract (scripts parse `idpctl -o json`), so renaming one is a breaking change.

pub mod admin;
pub mod error;

pub use error::ErrorBody;

/// Prefix of the admin API routes on the admin listener.
pub const API_PREFIX: &str = "/api/v1";

//! Admin API resources, one module per noun.

pub mod status;
pub mod tenants;

pub use status::Status;
pub use tenants::*;

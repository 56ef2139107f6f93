//! The records: the types the store returns and the domain works with, data only. The
//! store and the domain both depend on this module and on nothing of each other's types
//! (docs/architecture.md); the rules about these records (`impl` blocks) stay in `domain/`.

pub mod admin_tokens;
pub mod audit;
pub mod authorize;
pub mod clients;
pub mod devices;
pub mod grants;
pub mod keys;
pub mod login;
pub mod providers;
pub mod tenants;
pub mod upstream;
pub mod users;

//! Admin API resources, one module per noun.

pub mod audit;
pub mod clients;
pub mod devices;
pub mod keys;
pub mod providers;
pub mod sessions;
pub mod slug;
pub mod status;
pub mod tenants;
pub mod users;

pub use audit::*;
pub use clients::*;
pub use devices::*;
pub use keys::*;
pub use providers::*;
pub use sessions::*;
pub use status::Status;
pub use tenants::*;
pub use users::*;

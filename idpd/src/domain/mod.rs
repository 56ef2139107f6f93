//! Domain logic: rules of tenants, admin tokens and (later) the OAuth protocol.
//! Knows neither HTTP nor SQL; storage goes through the traits in `store`.

pub mod admin_tokens;
pub mod audit;
pub mod cache;
pub mod clients;
pub mod devices;
pub mod error;
pub mod front;
pub mod grants;
pub mod keys;
pub mod locales;
pub mod login;
pub mod oauth;
pub mod providers;
pub mod rate_limit;
pub mod sessions;
pub mod slug;
pub mod tenants;
pub mod upstream;
pub mod users;

pub use error::{Error, FieldError, Result};

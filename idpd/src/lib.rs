//! idpd: a multi-tenant OAuth 2.0 / OpenID Connect identity provider.
//!
//! `main.rs` only parses the command line; everything else is reachable from here so the
//! tests and benchmarks can drive it in-process too.

pub mod bootstrap;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod domain;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod i18n;
pub mod mail;
pub mod model;
pub mod outbound;
pub mod serve;
pub mod store;
pub mod telemetry;

pub use http::AppState;
pub use serve::serve;

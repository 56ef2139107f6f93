//! The OAuth 2.0 protocol: client authentication, grants, token introspection and
//! revocation. Plain functions over the store and the key ring; HTTP lives in `http/oidc`.

pub mod authorize;
pub mod bearer;
pub mod code;
pub mod device_code;
pub mod error;
pub mod grant;
pub mod issue;
pub mod jwt_bearer;
pub mod scope;
pub mod token;

pub use error::{ErrorCode, OAuthError};

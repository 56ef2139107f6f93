//! Authorization codes, refresh tokens and the families that tie them together.
//!
//! Everything issued from one authorization code forms a family. Redeeming a code twice, or
//! presenting a refresh token that was already rotated, revokes the whole family: the
//! access tokens carry the family id (`fid`) and stop introspecting as active, and the
//! newest refresh token fails too (RFC 9700 §4.14.2, docs/security.md SEC-03/04).

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::crypto;
pub use crate::model::grants::{AuthCode, CodeRequest, Redemption, RefreshToken, TokenFamily};

pub const CODE_TTL: Duration = Duration::seconds(60);
pub const REFRESH_TTL: Duration = Duration::days(30);
pub const CODE_PREFIX: &str = "idp_ac_";
pub const REFRESH_PREFIX: &str = "idp_rt_";

/// A new code for `request`: the value to hand out and the record to store.
pub fn new_code(
    tenant_id: Uuid,
    family_id: Uuid,
    request: CodeRequest,
    auth_time: OffsetDateTime,
) -> (String, AuthCode) {
    let value = crypto::new_secret(CODE_PREFIX);
    let now = crate::clock::now();
    let code = AuthCode {
        digest: crypto::sha256(value.as_bytes()),
        tenant_id,
        family_id,
        request,
        auth_time,
        created_at: now,
        expires_at: now + CODE_TTL,
        consumed_at: None,
        family_revoked_at: None,
    };
    (value, code)
}

/// A new refresh token of `family`.
pub fn new_refresh(family_id: Uuid, scope: &str) -> (String, RefreshToken) {
    let value = crypto::new_secret(REFRESH_PREFIX);
    let now = crate::clock::now();
    let rt = RefreshToken {
        digest: crypto::sha256(value.as_bytes()),
        family_id,
        scope: scope.to_owned(),
        created_at: now,
        expires_at: now + REFRESH_TTL,
        consumed_at: None,
        family_revoked_at: None,
    };
    (value, rt)
}

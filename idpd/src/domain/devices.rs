//! Devices of a user: registration with a public key (a JWK: Ed25519 or P-256), listing and
//! revocation; and the user codes of the device authorization grant (RFC 8628 §6.1).
//!
//! Revoking a device revokes every token family bound to it in the same transaction, so its
//! refresh tokens fail at once; its access tokens carry `did` and stop introspecting as
//! active because introspection looks the device up.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use shared::admin::Alg;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::error::{Error, FieldError, Result};
use super::tenants::Tenant;
use crate::clock::now;
use crate::crypto;
pub use crate::model::devices::{Device, DeviceAuthorization, DeviceState};
use crate::store::{Store, StoreError};

/// What a user sends to register a device.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    pub name: String,
    pub platform: String,
    pub public_key: Value,
}

const MAX_NAME: usize = 100;
const MAX_PLATFORM: usize = 50;
/// Devices per user: enough for every phone and laptop, few enough to bound the table.
pub const MAX_DEVICES_PER_USER: usize = 100;

/// JWK members that only private keys (or symmetric keys) have (RFC 7518 §6).
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Checks a public JWK and returns its algorithm and raw key. Only Ed25519 (`OKP`, RFC
/// 8037) and P-256 (`EC`) public keys; the key must parse with aws-lc-rs.
pub fn parse_public_jwk(jwk: &Value) -> std::result::Result<(Alg, Vec<u8>), String> {
    let Some(m) = jwk.as_object() else {
        return Err("must be a JWK object".into());
    };
    if let Some(p) = PRIVATE_MEMBERS.iter().find(|p| m.contains_key(**p)) {
        return Err(format!(
            "must be a public key: the member {p:?} belongs to a private key"
        ));
    }
    let text = |k: &str| m.get(k).and_then(Value::as_str);
    let coord = |k: &str| -> std::result::Result<Vec<u8>, String> {
        let v = text(k).ok_or_else(|| format!("member {k:?} is missing"))?;
        let b = URL_SAFE_NO_PAD
            .decode(v)
            .map_err(|_| format!("member {k:?} is not base64url without padding"))?;
        if b.len() != 32 {
            return Err(format!("member {k:?} must be 32 bytes"));
        }
        Ok(b)
    };
    let (alg, raw, verification): (
        Alg,
        Vec<u8>,
        &'static dyn aws_lc_rs::signature::VerificationAlgorithm,
    ) = match (text("kty"), text("crv")) {
        (Some("OKP"), Some("Ed25519")) => (Alg::EdDSA, coord("x")?, &aws_lc_rs::signature::ED25519),
        (Some("EC"), Some("P-256")) => {
            let mut point = vec![4u8];
            point.extend(coord("x")?);
            point.extend(coord("y")?);
            (
                Alg::ES256,
                point,
                &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED,
            )
        }
        _ => return Err("must be an Ed25519 (kty OKP) or P-256 (kty EC) public key".into()),
    };
    if let Some(a) = m.get("alg")
        && a.as_str() != Some(alg.as_str())
    {
        return Err(format!(
            "member \"alg\" must be {:?} for this key",
            alg.as_str()
        ));
    }
    aws_lc_rs::signature::ParsedPublicKey::new(verification, &raw)
        .map_err(|_| "is not a valid public key of its curve".to_owned())?;
    Ok((alg, raw))
}

/// The stored form of the JWK: its public members only.
fn public_members(jwk: &Value, alg: Alg) -> Value {
    let mut out = Map::new();
    if let Some(m) = jwk.as_object() {
        for k in ["kty", "crv", "x", "y", "kid"] {
            if let Some(v) = m.get(k).filter(|v| v.is_string()) {
                out.insert(k.into(), v.clone());
            }
        }
    }
    out.insert("alg".into(), Value::String(alg.as_str().into()));
    Value::Object(out)
}

fn check_text(field: &str, value: &str, max: usize, errors: &mut Vec<FieldError>) -> String {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max || v.chars().any(char::is_control) {
        errors.push(FieldError::new(
            field,
            format!("must be 1 to {max} characters without control characters"),
        ));
    }
    v.to_owned()
}

/// Registers a device of `user_id` with its public key.
pub async fn register(
    store: &dyn Store,
    tenant: &Tenant,
    user_id: Uuid,
    req: Registration,
) -> Result<Device> {
    let mut errors = Vec::new();
    let name = check_text("name", &req.name, MAX_NAME, &mut errors);
    let platform = check_text("platform", &req.platform, MAX_PLATFORM, &mut errors);
    let key = match parse_public_jwk(&req.public_key) {
        Ok(k) => Some(k),
        Err(m) => {
            errors.push(FieldError::new("public_key", m));
            None
        }
    };
    let Some((alg, public_key)) = key.filter(|_| errors.is_empty()) else {
        return Err(Error::Invalid(errors));
    };
    if store.list_devices(tenant.id, Some(user_id)).await?.len() >= MAX_DEVICES_PER_USER {
        return Err(Error::Conflict(format!(
            "at most {MAX_DEVICES_PER_USER} devices per user"
        )));
    }
    let device = Device {
        id: Uuid::now_v7(),
        tenant_id: tenant.id,
        user_id,
        name,
        platform,
        alg,
        public_jwk: public_members(&req.public_key, alg),
        public_key,
        created_at: now(),
        last_used_at: None,
        revoked_at: None,
    };
    store.insert_device(&device).await?;
    Ok(device)
}

/// The tenant's registered devices; only those of `user` (id or email) when given.
pub async fn list(store: &dyn Store, tenant: &Tenant, user: Option<&str>) -> Result<Vec<Device>> {
    let user_id = match user {
        Some(key) => Some(super::users::get(store, tenant, key).await?.id),
        None => None,
    };
    Ok(store.list_devices(tenant.id, user_id).await?)
}

/// The devices of the signed-in user `user_id` (`GET {issuer}/devices`).
pub async fn list_own(store: &dyn Store, tenant: &Tenant, user_id: Uuid) -> Result<Vec<Device>> {
    Ok(store.list_devices(tenant.id, Some(user_id)).await?)
}

/// Revokes device `key`; with `owner`, only if it is that user's device. Unknown ids, other
/// users' devices and revoked ones are all "not found".
pub async fn revoke(
    store: &dyn Store,
    tenant: &Tenant,
    key: &str,
    owner: Option<Uuid>,
) -> Result<Uuid> {
    let not_found = || Error::NotFound(format!("device {key:?}"));
    let id = Uuid::parse_str(key).map_err(|_| not_found())?;
    if !store.revoke_device(tenant.id, id, owner, now()).await? {
        return Err(not_found());
    }
    Ok(id)
}

/// RFC 8628 §6.1: 20 consonants, no vowels (no words) and nothing easily confused.
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
pub const USER_CODE_LEN: usize = 8;

/// A fresh user code, 8 letters (20^8 ≈ 2^34.6), unbiased by rejection sampling.
pub fn new_user_code() -> String {
    let mut out = String::with_capacity(USER_CODE_LEN);
    while out.len() < USER_CODE_LEN {
        for b in crypto::random_bytes::<16>() {
            // 240 = 12 * 20: larger bytes would bias the first letters.
            if b < 240 && out.len() < USER_CODE_LEN {
                out.push(USER_CODE_ALPHABET[usize::from(b % 20)] as char);
            }
        }
    }
    out
}

/// `XXXX-XXXX`, as shown to people.
pub fn display_user_code(code: &str) -> String {
    let (a, b) = code.split_at(code.len() / 2);
    format!("{a}-{b}")
}

/// What the user typed, without dashes and spaces and upper-cased; `None` when it cannot
/// be a user code at all.
pub fn normalize_user_code(input: &str) -> Option<String> {
    let code: String = input
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\t'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == USER_CODE_LEN && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)))
        .then_some(code)
}

/// User codes are stored as digests bound to the tenant.
pub fn user_code_digest(tenant_id: Uuid, normalized: &str) -> [u8; 32] {
    let mut input = b"idp user code\0".to_vec();
    input.extend_from_slice(tenant_id.as_bytes());
    input.extend_from_slice(normalized.as_bytes());
    crypto::sha256(&input)
}

impl DeviceState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceState::Pending => "pending",
            DeviceState::Approved => "approved",
            DeviceState::Denied => "denied",
            DeviceState::Consumed => "consumed",
        }
    }

    pub fn parse(s: &str) -> Option<DeviceState> {
        [
            DeviceState::Pending,
            DeviceState::Approved,
            DeviceState::Denied,
            DeviceState::Consumed,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
    }
}

/// Milliseconds since the Unix epoch.
pub fn unix_ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// Prefix of device codes.
pub const DEVICE_CODE_PREFIX: &str = "idp_dc_";

/// A new authorization: the device code and user code to hand out, and the record.
pub fn new_authorization(
    tenant_id: Uuid,
    client_id: &str,
    scope: &str,
    ttl_seconds: i64,
    interval_seconds: i64,
) -> (String, String, DeviceAuthorization) {
    let device_code = crypto::new_secret(DEVICE_CODE_PREFIX);
    let user_code = new_user_code();
    let at = now();
    let record = DeviceAuthorization {
        device_code_digest: crypto::sha256(device_code.as_bytes()),
        tenant_id,
        user_code_digest: user_code_digest(tenant_id, &user_code),
        client_id: client_id.to_owned(),
        scope: scope.to_owned(),
        state: DeviceState::Pending,
        user_id: None,
        session_id: None,
        auth_time: None,
        interval_seconds,
        // The first poll may come at once.
        next_poll_at: unix_ms(at),
        last_poll_slow: false,
        created_at: at,
        expires_at: at + Duration::seconds(ttl_seconds),
    };
    (device_code, user_code, record)
}

/// Whether device `id` of the tenant is registered and not revoked: a device-bound grant
/// or token lives only as long as its device (issue 6).
pub async fn live(
    store: &dyn Store,
    tenant_id: Uuid,
    id: Uuid,
) -> std::result::Result<bool, StoreError> {
    Ok(store
        .find_device(tenant_id, id)
        .await?
        .is_some_and(|d| d.revoked_at.is_none()))
}

/// [`live`] for a `did` claim as it appears in a token.
pub async fn claim_live(
    store: &dyn Store,
    tenant_id: Uuid,
    did: &Value,
) -> std::result::Result<bool, StoreError> {
    match did.as_str().and_then(|s| Uuid::parse_str(s).ok()) {
        Some(id) => live(store, tenant_id, id).await,
        None => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn user_codes() {
        for _ in 0..200 {
            let c = new_user_code();
            assert_eq!(c.len(), 8);
            assert_eq!(normalize_user_code(&c).as_deref(), Some(c.as_str()));
            let shown = display_user_code(&c);
            assert_eq!(shown.len(), 9);
            assert_eq!(
                normalize_user_code(&shown.to_lowercase()).as_deref(),
                Some(c.as_str())
            );
        }
        assert_eq!(
            normalize_user_code(" bcdf - ghjk ").as_deref(),
            Some("BCDFGHJK")
        );
        assert_eq!(normalize_user_code("BCDF-GHJA"), None, "vowel");
        assert_eq!(normalize_user_code("BCDF-GHJ"), None, "short");
        assert_eq!(normalize_user_code("BCDF-GHJKL"), None, "long");
        assert_eq!(normalize_user_code("BCDF-GHJ1"), None, "digit");
        assert_ne!(
            user_code_digest(Uuid::nil(), "BCDFGHJK"),
            user_code_digest(Uuid::new_v4(), "BCDFGHJK")
        );
    }

    #[test]
    fn public_jwks() {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
        let ec = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let p = ec.public_key().as_ref();
        let b = |x: &[u8]| URL_SAFE_NO_PAD.encode(x);
        let jwk = json!({"kty": "EC", "crv": "P-256", "x": b(&p[1..33]), "y": b(&p[33..65])});
        assert_eq!(parse_public_jwk(&jwk).unwrap(), (Alg::ES256, p.to_vec()));
        let ed = aws_lc_rs::signature::Ed25519KeyPair::generate().unwrap();
        let x = ed.public_key().as_ref();
        let okp = json!({"kty": "OKP", "crv": "Ed25519", "x": b(x), "alg": "EdDSA"});
        assert_eq!(parse_public_jwk(&okp).unwrap().0, Alg::EdDSA);

        let mut with_d = okp.clone();
        with_d["d"] = json!(b(&[1; 32]));
        for bad in [
            with_d,
            json!({"kty": "OKP", "crv": "X25519", "x": b(x)}),
            json!({"kty": "EC", "crv": "P-384", "x": b(&p[1..33]), "y": b(&p[33..65])}),
            json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"}),
            json!({"kty": "oct", "k": "AAAA"}),
            json!({"kty": "EC", "crv": "P-256", "x": b(&p[1..33]), "y": b(&[7; 32])}),
            json!({"kty": "EC", "crv": "P-256", "x": b(&p[1..33])}),
            json!({"kty": "OKP", "crv": "Ed25519", "x": "!!!"}),
            json!({"kty": "OKP", "crv": "Ed25519", "x": b(&x[..31])}),
            json!({"kty": "OKP", "crv": "Ed25519", "x": b(x), "alg": "ES256"}),
            json!("not an object"),
        ] {
            assert!(parse_public_jwk(&bad).is_err(), "{bad}");
        }
    }
}

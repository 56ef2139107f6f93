//! Devices of a user: registration with a public key (a JWK: Ed25519 or P-256) and a proof
//! that the caller holds its private key, listing and revocation; and the user codes of the
//! device authorization grant (RFC 8628 §6.1).
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
use super::keys::jws::Unverified;
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
    /// A compact JWS signed by the new key ([`PROOF_TYP`]); optional here only so that its
    /// absence is reported as a field error rather than as a malformed body.
    #[serde(default)]
    pub proof: Option<String>,
}

/// What a registration proof must be bound to: the tenant it is sent to and the access
/// token it is sent with (and so the user and the session behind that token).
#[derive(Debug, Clone, Copy)]
pub struct Binding<'a> {
    pub issuer: &'a str,
    pub access_token: &'a str,
}

/// The `typ` header of a registration proof (RFC 8725 §3.11: explicit typing, so no other
/// JWT signed by a device key, such as a login assertion, can pass for one).
pub const PROOF_TYP: &str = "device-registration+jwt";
/// How old a proof's `iat` may be; the access token it names lives 10 minutes at most.
pub const PROOF_MAX_AGE_SECONDS: i64 = 300;
const PROOF_LEEWAY_SECONDS: i64 = 30;
const MAX_PROOF_JTI_LEN: usize = 256;

/// The `ath` claim of a proof sent with `access_token`: base64url of its SHA-256, as DPoP
/// proofs carry it (RFC 9449 §4.2).
pub fn access_token_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(crypto::sha256(access_token.as_bytes()))
}

const MAX_NAME: usize = 100;
const MAX_PLATFORM: usize = 50;
/// Devices per user: enough for every phone and laptop, few enough to bound the table.
pub const MAX_DEVICES_PER_USER: usize = 100;

/// JWK members that only private keys (or symmetric keys) have (RFC 7518 §6).
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The encodings of the Ed25519 points of small order (orders 1, 2, 4 and 8) with the sign
/// bit of x cleared, and the non-canonical encodings p (= 0) and p + 1 (= 1): libsodium's
/// blocklist, `ge25519_has_small_order` in
/// `src/libsodium/crypto_core/ed25519/ref10/ed25519_ref10.c`, which
/// `crypto_sign_verify_detached` applies to every public key. A key of small order verifies
/// forged signatures: with the identity, `R` = identity and `S` = 0 signs any message.
const ED25519_SMALL_ORDER: [[u8; 32]; 7] = [
    // 0 (order 4)
    [0; 32],
    // 1 (order 1)
    [
        0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0,
    ],
    // 2707385501144840649318225287225658788936804267575313519463743609750303402022 (order 8)
    [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98,
        0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53,
        0xfc, 0x05,
    ],
    // 55188659117513257062467267217118295137698188065244968500265048394206261417927 (order 8)
    [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67,
        0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac,
        0x03, 0x7a,
    ],
    // p - 1 (order 2)
    [
        0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
    // p (= 0, order 4)
    [
        0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
    // p + 1 (= 1, order 1)
    [
        0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
];

/// Why a 32-byte Ed25519 public key (RFC 8032 §5.1.2 encoding) cannot be trusted, as
/// libsodium's `crypto_sign_verify_detached` decides: `y` must be below p = 2^255 - 19
/// (`ge25519_is_canonical`) and the point must not have small order. Whether the point is
/// on the curve at all is settled by the registration proof, which must verify under it.
fn ed25519_weakness(x: &[u8]) -> Option<&'static str> {
    let Ok(mut y) = <[u8; 32]>::try_from(x) else {
        return Some("must be 32 bytes");
    };
    // The top bit is the sign of x, not part of y.
    y[31] &= 0x7f;
    // y ≥ p exactly when bytes 1..=31 are at their maximum (0xff, and 0x7f for the last)
    // and the lowest byte is at least p's, 0xed.
    if y[31] == 0x7f && y[1..31].iter().all(|b| *b == 0xff) && y[0] >= 0xed {
        return Some("is not a canonical Ed25519 point encoding (y >= 2^255 - 19)");
    }
    if ED25519_SMALL_ORDER.contains(&y) {
        return Some("is an Ed25519 point of small order");
    }
    None
}

/// Whether a stored device key may verify assertions: the registration checks again at
/// login, so a weak key registered before they existed signs nothing in.
pub fn usable_key(alg: Alg, public: &[u8]) -> bool {
    match alg {
        Alg::EdDSA => ed25519_weakness(public).is_none(),
        _ => true,
    }
}

/// Checks a public JWK and returns its algorithm and raw key. Only Ed25519 (`OKP`, RFC
/// 8037) and P-256 (`EC`) public keys. Ed25519 keys must be canonical and not of small
/// order ([`ed25519_weakness`]); P-256 keys must be a point on the curve, which aws-lc-rs
/// checks when it parses the uncompressed point (SEC 1 §2.3.4; the identity has no such
/// encoding).
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
        (Some("OKP"), Some("Ed25519")) => {
            let x = coord("x")?;
            if let Some(why) = ed25519_weakness(&x) {
                return Err(why.to_owned());
            }
            (Alg::EdDSA, x, &aws_lc_rs::signature::ED25519)
        }
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

/// Checks a registration proof: a compact JWS with header `typ` [`PROOF_TYP`], signed by
/// the key being registered (`alg` of that key; no key-carrying headers, no `crit`), whose
/// claims are `aud` = the tenant's issuer, `ath` = the hash of the access token the
/// request carries, `iat` within the last five minutes and a `jti`. So a captured body is
/// good only at this tenant, with this token, for a few minutes, and a key cannot be
/// registered by someone who does not hold its private half.
pub fn check_proof(
    proof: &str,
    alg: Alg,
    public: &[u8],
    binding: Binding<'_>,
    now: i64,
) -> std::result::Result<(), &'static str> {
    let u = Unverified::parse(proof).ok_or("is not a compact JWS")?;
    if u.typ() != Some(PROOF_TYP) {
        return Err("must have the header typ \"device-registration+jwt\"");
    }
    if !u.verify_inbound(alg, public) {
        return Err("is not signed by public_key (header alg, signature)");
    }
    let c = &u.claims;
    if c.get("aud").and_then(Value::as_str) != Some(binding.issuer) {
        return Err("aud must be the issuer of this tenant");
    }
    if c.get("ath").and_then(Value::as_str)
        != Some(access_token_hash(binding.access_token).as_str())
    {
        return Err("ath must be the base64url SHA-256 of the request's access token");
    }
    match c.get("iat").and_then(Value::as_i64) {
        Some(iat)
            if iat <= now + PROOF_LEEWAY_SECONDS
                && iat >= now - PROOF_MAX_AGE_SECONDS - PROOF_LEEWAY_SECONDS => {}
        _ => return Err("iat must be the time of signing (at most 5 minutes ago)"),
    }
    match c.get("jti").and_then(Value::as_str) {
        Some(j) if !j.is_empty() && j.len() <= MAX_PROOF_JTI_LEN => Ok(()),
        _ => Err("jti is required (at most 256 characters)"),
    }
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

/// Registers a device of `user_id` with its public key, once the request's proof shows the
/// caller holds the private key ([`check_proof`]).
pub async fn register(
    store: &dyn Store,
    tenant: &Tenant,
    binding: Binding<'_>,
    user_id: Uuid,
    req: Registration,
) -> Result<Device> {
    let result = register_checked(store, tenant, binding, user_id, req).await;
    let target = result.as_ref().ok().map(|d| d.id.to_string());
    audited(store, tenant, user_id, "device.register", target, &result).await;
    result
}

/// An audit event for a user's own device change (the admin API records its own).
async fn audited<T>(
    store: &dyn Store,
    tenant: &Tenant,
    user_id: Uuid,
    action: &str,
    target: Option<String>,
    result: &Result<T>,
) {
    use super::audit::{self, Outcome};
    let outcome = match result {
        Ok(_) => Outcome::Success,
        Err(_) => Outcome::Failure,
    };
    let mut event = audit::event_here(
        Some((tenant.id, &tenant.slug)),
        format!("user:{user_id}"),
        action,
        outcome,
    );
    event.target = target;
    event.reason = result.as_ref().err().map(|e| e.reason().to_owned());
    audit::record(store, event).await;
}

async fn register_checked(
    store: &dyn Store,
    tenant: &Tenant,
    binding: Binding<'_>,
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
    if let Some((alg, public)) = &key {
        let checked = match req.proof.as_deref() {
            None => Err("is required: a JWS signed by the new key (typ device-registration+jwt)"),
            Some(p) => check_proof(p, *alg, public, binding, now().unix_timestamp()),
        };
        if let Err(m) = checked {
            errors.push(FieldError::new("proof", m));
        }
    }
    let Some((alg, public_key)) = key.filter(|_| errors.is_empty()) else {
        return Err(Error::Invalid(errors));
    };
    let existing = store.list_devices(tenant.id, Some(user_id)).await?;
    if existing.len() >= MAX_DEVICES_PER_USER {
        return Err(Error::Conflict(format!(
            "at most {MAX_DEVICES_PER_USER} devices per user"
        )));
    }
    // The proof is bound to the user's token, so a replayed body could only register the
    // same key for the same user again; one live device per key makes that a refusal.
    if existing.iter().any(|d| d.public_key == public_key) {
        return Err(Error::Conflict(
            "this key is already registered for a device of this user".into(),
        ));
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
    let result = async {
        let id = Uuid::parse_str(key).map_err(|_| not_found())?;
        if !store.revoke_device(tenant.id, id, owner, now()).await? {
            return Err(not_found());
        }
        Ok(id)
    }
    .await;
    // A user's own removal; an operator's goes through the admin API's audit.
    if let Some(user_id) = owner {
        let target = Some(key.chars().take(64).collect());
        audited(store, tenant, user_id, "device.remove", target, &result).await;
    }
    result
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

    fn okp(x: &[u8]) -> Value {
        json!({"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(x)})
    }

    /// libsodium's blocklist, with and without the sign bit, and every y ≥ p.
    #[test]
    fn small_order_and_non_canonical_ed25519_keys() {
        let mut bad: Vec<[u8; 32]> = Vec::new();
        for p in ED25519_SMALL_ORDER {
            let mut neg = p;
            neg[31] |= 0x80;
            bad.extend([p, neg]);
        }
        for low in 0xed..=0xff {
            let mut y = [0xff; 32];
            y[0] = low;
            bad.push(y);
            y[31] = 0x7f;
            bad.push(y);
        }
        for x in &bad {
            assert!(parse_public_jwk(&okp(x)).is_err(), "{x:02x?}");
            assert!(!usable_key(Alg::EdDSA, x), "{x:02x?}");
        }
        // The forgery of the finding: with the identity as the key, R = identity and S = 0
        // verify for any message, which is why such keys must never be registered or used.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let mut forged = identity.to_vec();
        forged.extend([0u8; 32]);
        assert!(crate::domain::keys::material::verify(
            Alg::EdDSA,
            &identity,
            b"any message",
            &forged
        ));
        let good = aws_lc_rs::signature::Ed25519KeyPair::generate().unwrap();
        use aws_lc_rs::signature::KeyPair;
        assert!(parse_public_jwk(&okp(good.public_key().as_ref())).is_ok());
        assert!(usable_key(Alg::EdDSA, good.public_key().as_ref()));
    }

    #[test]
    fn p256_points_must_be_on_the_curve() {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
        let ec = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let p = ec.public_key().as_ref();
        let b = |x: &[u8]| URL_SAFE_NO_PAD.encode(x);
        let jwk = |x: &[u8], y: &[u8]| json!({"kty": "EC", "crv": "P-256", "x": b(x), "y": b(y)});
        let mut y1 = p[33..65].to_vec();
        y1[31] ^= 1;
        // The field prime of P-256, big-endian (SEC 2 §2.4.2): a coordinate must be below it.
        let prime: Vec<u8> = [
            [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1].as_slice(),
            &[0; 12],
            &[0xff; 12],
        ]
        .concat();
        for (x, y) in [
            (&p[1..33], &y1[..]),
            (&[0; 32][..], &[0; 32][..]),
            (&prime[..], &p[33..65]),
            (&p[1..33], &prime[..]),
            (&[0xff; 32][..], &[0xff; 32][..]),
        ] {
            assert!(parse_public_jwk(&jwk(x, y)).is_err(), "{x:02x?} {y:02x?}");
        }
        assert!(parse_public_jwk(&jwk(&p[1..33], &p[33..65])).is_ok());
    }

    fn sign_proof(key: &Ed25519KeyPair, header: &Value, claims: &Value) -> String {
        let b = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
        let input = format!("{}.{}", b(header), b(claims));
        let sig = URL_SAFE_NO_PAD.encode(key.sign(input.as_bytes()).as_ref());
        format!("{input}.{sig}")
    }

    use aws_lc_rs::signature::Ed25519KeyPair;

    #[test]
    fn registration_proofs() {
        use aws_lc_rs::signature::KeyPair;
        let now = 1_800_000_000;
        let key = Ed25519KeyPair::generate().unwrap();
        let public = key.public_key().as_ref().to_vec();
        let binding = Binding {
            issuer: "https://op.test/t/acme",
            access_token: "at-1",
        };
        let header = json!({"alg": "EdDSA", "typ": PROOF_TYP});
        let claims = json!({"aud": binding.issuer, "ath": access_token_hash("at-1"),
                            "iat": now, "jti": "n1"});
        let check = |proof: &str| check_proof(proof, Alg::EdDSA, &public, binding, now);
        assert_eq!(check(&sign_proof(&key, &header, &claims)), Ok(()));

        let with = |base: &Value, k: &str, v: Value| {
            let mut c = base.clone();
            c[k] = v;
            c
        };
        let without = |base: &Value, k: &str| {
            let mut c = base.clone();
            c.as_object_mut().unwrap().remove(k);
            c
        };
        let other = Ed25519KeyPair::generate().unwrap();
        for (name, proof) in [
            ("other key", sign_proof(&other, &header, &claims)),
            (
                "no typ",
                sign_proof(&key, &without(&header, "typ"), &claims),
            ),
            (
                "typ JWT",
                sign_proof(&key, &with(&header, "typ", json!("JWT")), &claims),
            ),
            (
                "alg",
                sign_proof(&key, &with(&header, "alg", json!("ES256")), &claims),
            ),
            (
                "crit",
                sign_proof(&key, &with(&header, "crit", json!(["x"])), &claims),
            ),
            (
                "jwk header",
                sign_proof(&key, &with(&header, "jwk", okp(&public)), &claims),
            ),
            (
                "other tenant",
                sign_proof(
                    &key,
                    &header,
                    &with(&claims, "aud", json!("https://op.test/t/other")),
                ),
            ),
            (
                "other token",
                sign_proof(
                    &key,
                    &header,
                    &with(&claims, "ath", json!(access_token_hash("at-2"))),
                ),
            ),
            (
                "no ath",
                sign_proof(&key, &header, &without(&claims, "ath")),
            ),
            (
                "old",
                sign_proof(&key, &header, &with(&claims, "iat", json!(now - 400))),
            ),
            (
                "future",
                sign_proof(&key, &header, &with(&claims, "iat", json!(now + 120))),
            ),
            (
                "no iat",
                sign_proof(&key, &header, &without(&claims, "iat")),
            ),
            (
                "no jti",
                sign_proof(&key, &header, &without(&claims, "jti")),
            ),
            (
                "long jti",
                sign_proof(&key, &header, &with(&claims, "jti", json!("j".repeat(300)))),
            ),
            ("not a JWS", "a.b".into()),
        ] {
            assert!(check(&proof).is_err(), "{name}");
        }
    }
}

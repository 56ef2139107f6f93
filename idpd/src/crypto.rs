//! Random secrets, digests and constant-time comparison (aws-lc-rs underneath).
//!
//! Every bearer secret idpd mints (admin tokens, later client secrets, codes and refresh
//! tokens) is 256 bits from the system CSPRNG, shown once, and stored only as its SHA-256
//! digest: a fast hash is enough for values that cannot be guessed (docs/security.md SEC-20).

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

/// Seeds AWS-LC's random generator on a thread of its own. Its first use in a process
/// gathers CPU-jitter entropy besides the OS's (about 20 ms of CPU here, once); started
/// first thing, that overlaps with opening the database instead of delaying readiness.
pub fn warm_up_rng() {
    let _ = std::thread::Builder::new()
        .name("rng-warm-up".into())
        .spawn(|| {
            let _ = random_bytes::<1>();
        });
}

/// `N` bytes from the system CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // SystemRandom only fails when the OS has no entropy source, which we cannot run without.
    SystemRandom::new()
        .fill(&mut buf)
        .expect("the operating system's random number generator failed");
    buf
}

/// A new secret: `prefix` followed by 256 random bits in base64url (no padding).
/// The prefix makes leaked tokens recognizable to secret scanners.
pub fn new_secret(prefix: &str) -> String {
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(random_bytes::<32>()))
}

/// A random base64url identifier of `N` bytes that starts with a letter or digit, so it is
/// never mistaken for a command-line option.
pub fn random_id<const N: usize>() -> String {
    loop {
        let id = URL_SAFE_NO_PAD.encode(random_bytes::<N>());
        if id.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return id;
        }
    }
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Constant-time equality of two byte strings (length may leak, content does not).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_random_and_long() {
        let a = new_secret("idp_at_");
        let b = new_secret("idp_at_");
        assert!(a.starts_with("idp_at_"));
        assert_eq!(a.len(), "idp_at_".len() + 43);
        assert_ne!(a, b);
    }

    #[test]
    fn digest_and_compare() {
        assert_eq!(
            hex(&sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(ct_eq(b"same", b"same"));
        assert!(!ct_eq(b"same", b"samf"));
        assert!(!ct_eq(b"same", b"sam"));
    }
}

/// The 32-byte key-encryption key that seals secrets at rest (AES-256-GCM). It lives in a
/// file outside the database, so a database dump alone reveals no secret (SEC-20).
pub struct MasterKey {
    key: aws_lc_rs::aead::RandomizedNonceKey,
    id: String,
}

impl MasterKey {
    pub fn from_bytes(bytes: &[u8; 32]) -> MasterKey {
        let key = aws_lc_rs::aead::RandomizedNonceKey::new(&aws_lc_rs::aead::AES_256_GCM, bytes)
            .expect("a 32-byte key is valid for AES-256-GCM");
        // The id names the key (stored beside sealed data and in the database) without
        // revealing it; it lets idpd tell a wrong key from a corrupt record.
        let mut input = b"idp master key id\0".to_vec();
        input.extend_from_slice(bytes);
        let id = hex(&sha256(&input)[..8]);
        MasterKey { key, id }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Encrypts `plain`, binding it to `context` (e.g. a key id) so a sealed value cannot be
    /// moved to another record. Output: nonce ‖ ciphertext ‖ tag.
    pub fn seal(&self, context: &[u8], plain: &[u8]) -> Vec<u8> {
        use aws_lc_rs::aead::Aad;
        let mut buf = plain.to_vec();
        let nonce = self
            .key
            .seal_in_place_append_tag(Aad::from(context), &mut buf)
            .expect("AES-GCM sealing of an in-memory buffer cannot fail");
        let mut out = nonce.as_ref().to_vec();
        out.extend_from_slice(&buf);
        out
    }

    /// Decrypts what [`MasterKey::seal`] produced with the same `context`.
    pub fn open(&self, context: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        use aws_lc_rs::aead::{Aad, NONCE_LEN, Nonce};
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buf = ct.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(context), &mut buf)
            .ok()?;
        Some(plain.to_vec())
    }
}

#[cfg(test)]
mod master_key_tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_binding() {
        let k = MasterKey::from_bytes(&[7u8; 32]);
        let sealed = k.seal(b"kid-1", b"private key bytes");
        assert_eq!(k.open(b"kid-1", &sealed).unwrap(), b"private key bytes");
        assert!(k.open(b"kid-2", &sealed).is_none(), "context must bind");
        let other = MasterKey::from_bytes(&[8u8; 32]);
        assert!(
            other.open(b"kid-1", &sealed).is_none(),
            "wrong key must fail"
        );
        assert_ne!(k.id(), other.id());
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(k.open(b"kid-1", &flipped).is_none());
    }
}

//! Key material: generation, parsing and signing with aws-lc-rs, and the public JWK.
//!
//! Parsed key pairs are kept in memory by the key ring; parsing happens once per key and
//! process, never per signature (an RSA parse costs more than the signature itself).

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{
    self, ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, ED25519, EcdsaKeyPair,
    Ed25519KeyPair, KeyPair, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, UnparsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use shared::admin::Alg;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key generation failed")]
    Generate,
    #[error("stored key {0} cannot be parsed")]
    Parse(String),
    #[error("signing failed")]
    Sign,
}

/// A freshly generated key: PKCS#8 private key (to seal) and raw public key (to publish).
pub struct Generated {
    pub pkcs8: Vec<u8>,
    /// RSA: PKCS#1 RSAPublicKey DER; EC: uncompressed SEC1 point; Ed25519: 32 raw bytes.
    pub public: Vec<u8>,
    /// RSA modulus and exponent, big-endian without leading zeros (empty for other algs).
    pub rsa_n: Vec<u8>,
    pub rsa_e: Vec<u8>,
}

/// Generates a key pair. RSA is 2048 bits (RS256), EC is P-256 (ES256), EdDSA is Ed25519.
pub fn generate(alg: Alg) -> Result<Generated, KeyError> {
    let rng = SystemRandom::new();
    match alg {
        Alg::RS256 => {
            let kp = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generate)?;
            let pkcs8 = kp
                .as_der()
                .map_err(|_| KeyError::Generate)?
                .as_ref()
                .to_vec();
            let pk = kp.public_key();
            Ok(Generated {
                public: pk.as_ref().to_vec(),
                rsa_n: pk.modulus().big_endian_without_leading_zero().to_vec(),
                rsa_e: pk.exponent().big_endian_without_leading_zero().to_vec(),
                pkcs8,
            })
        }
        Alg::ES256 => {
            let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .map_err(|_| KeyError::Generate)?;
            let kp = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref())
                .map_err(|_| KeyError::Generate)?;
            Ok(Generated {
                public: kp.public_key().as_ref().to_vec(),
                pkcs8: doc.as_ref().to_vec(),
                rsa_n: Vec::new(),
                rsa_e: Vec::new(),
            })
        }
        Alg::EdDSA => {
            let kp = Ed25519KeyPair::generate().map_err(|_| KeyError::Generate)?;
            let doc = kp.to_pkcs8().map_err(|_| KeyError::Generate)?;
            Ok(Generated {
                public: kp.public_key().as_ref().to_vec(),
                pkcs8: doc.as_ref().to_vec(),
                rsa_n: Vec::new(),
                rsa_e: Vec::new(),
            })
        }
    }
}

/// A parsed private key, ready to sign.
pub enum Signer {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

impl Signer {
    pub fn from_pkcs8(alg: Alg, kid: &str, pkcs8: &[u8]) -> Result<Signer, KeyError> {
        let err = |_| KeyError::Parse(kid.to_owned());
        Ok(match alg {
            Alg::RS256 => Signer::Rsa(RsaKeyPair::from_pkcs8(pkcs8).map_err(err)?),
            Alg::ES256 => Signer::Ec(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8).map_err(err)?,
            ),
            Alg::EdDSA => Signer::Ed(Ed25519KeyPair::from_pkcs8(pkcs8).map_err(err)?),
        })
    }

    /// The JWS signature of `message` (RFC 7518 §3: PKCS#1 v1.5 for RS256, fixed-size
    /// r‖s for ES256; RFC 8037 for EdDSA).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let rng = SystemRandom::new();
        match self {
            Signer::Rsa(kp) => {
                let mut sig = vec![0u8; kp.public_modulus_len()];
                kp.sign(&RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .map_err(|_| KeyError::Sign)?;
                Ok(sig)
            }
            Signer::Ec(kp) => Ok(kp
                .sign(&rng, message)
                .map_err(|_| KeyError::Sign)?
                .as_ref()
                .to_vec()),
            Signer::Ed(kp) => Ok(kp.sign(message).as_ref().to_vec()),
        }
    }
}

/// Verifies a JWS signature with a public key of the given algorithm. The algorithm comes
/// from our key record, never from the token header.
pub fn verify(alg: Alg, public: &[u8], message: &[u8], sig: &[u8]) -> bool {
    let params: &dyn signature::VerificationAlgorithm = match alg {
        Alg::RS256 => &RSA_PKCS1_2048_8192_SHA256,
        Alg::ES256 => &ECDSA_P256_SHA256_FIXED,
        Alg::EdDSA => &ED25519,
    };
    UnparsedPublicKey::new(params, public)
        .verify(message, sig)
        .is_ok()
}

/// The public JWK (RFC 7517) of a new key, with `kid`, `alg` and `use`. Computed once at
/// generation and stored, so listing and publishing never touch private keys.
pub fn public_jwk(alg: Alg, kid: &str, g: &Generated) -> Value {
    let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
    match alg {
        Alg::RS256 => json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
                             "n": b64(&g.rsa_n), "e": b64(&g.rsa_e)}),
        Alg::ES256 => json!({"kty": "EC", "kid": kid, "use": "sig", "alg": "ES256", "crv": "P-256",
                             "x": b64(&g.public[1..33]), "y": b64(&g.public[33..65])}),
        Alg::EdDSA => json!({"kty": "OKP", "kid": kid, "use": "sig", "alg": "EdDSA",
                             "crv": "Ed25519", "x": b64(&g.public)}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_alg_generates_signs_verifies_and_publishes() {
        for alg in Alg::ALL {
            let g = generate(alg).unwrap();
            let s = Signer::from_pkcs8(alg, "k", &g.pkcs8).unwrap();
            let sig = s.sign(b"header.payload").unwrap();
            assert!(verify(alg, &g.public, b"header.payload", &sig), "{alg:?}");
            assert!(!verify(alg, &g.public, b"header.payloaD", &sig), "{alg:?}");
            let jwk = public_jwk(alg, "k", &g);
            assert_eq!(jwk["alg"], alg.as_str());
            assert_eq!(jwk["kid"], "k");
            assert!(jwk.get("d").is_none(), "no private parts in a public JWK");
        }
    }

    #[test]
    fn rsa_jwk_has_standard_exponent() {
        let g = generate(Alg::RS256).unwrap();
        let jwk = public_jwk(Alg::RS256, "k", &g);
        assert_eq!(jwk["e"], "AQAB");
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(jwk["n"].as_str().unwrap())
                .unwrap()
                .len(),
            256
        );
    }
}

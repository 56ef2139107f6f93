//! JWS compact serialization (RFC 7515 §7.1) of the tokens idpd signs, and verification of
//! tokens idpd itself issued. Signatures come from aws-lc-rs (`material`); this module only
//! assembles and splits `header.payload.signature`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::{Map, Value};

use super::material::{self, KeyError, Signer};
use shared::admin::Alg;

/// Signs `claims` as a compact JWS with header `{alg, kid, typ}`.
pub fn sign(
    signer: &Signer,
    alg: Alg,
    kid: &str,
    typ: &str,
    claims: &impl Serialize,
) -> Result<String, KeyError> {
    #[derive(Serialize)]
    struct Header<'a> {
        alg: &'a str,
        kid: &'a str,
        typ: &'a str,
    }
    let header = serde_json::to_vec(&Header {
        alg: alg.as_str(),
        kid,
        typ,
    })
    .map_err(|_| KeyError::Sign)?;
    let payload = serde_json::to_vec(claims).map_err(|_| KeyError::Sign)?;
    let mut out = String::with_capacity((header.len() + payload.len()) * 4 / 3 + 400);
    URL_SAFE_NO_PAD.encode_string(&header, &mut out);
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(&payload, &mut out);
    let sig = signer.sign(out.as_bytes())?;
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(&sig, &mut out);
    Ok(out)
}

/// A token split into its parts, header and claims decoded, signature not yet checked.
pub struct Unverified<'a> {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    signing_input: &'a str,
    signature: Vec<u8>,
}

/// Largest token accepted for parsing; ours are well under 2 KiB.
const MAX_TOKEN_LEN: usize = 16 * 1024;

impl<'a> Unverified<'a> {
    /// Splits and decodes; `None` for anything that is not a well-formed compact JWS.
    pub fn parse(token: &'a str) -> Option<Unverified<'a>> {
        if token.len() > MAX_TOKEN_LEN {
            return None;
        }
        let (signing_input, sig) = token.rsplit_once('.')?;
        let (h, p) = signing_input.split_once('.')?;
        let decode = |s: &str| URL_SAFE_NO_PAD.decode(s).ok();
        let header: Map<String, Value> = serde_json::from_slice(&decode(h)?).ok()?;
        let claims: Map<String, Value> = serde_json::from_slice(&decode(p)?).ok()?;
        Some(Unverified {
            header,
            claims,
            signing_input,
            signature: decode(sig)?,
        })
    }

    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }

    pub fn typ(&self) -> Option<&str> {
        self.header.get("typ").and_then(Value::as_str)
    }

    /// Checks the signature with `public` under `alg` (the algorithm of *our* key record;
    /// the header's `alg` must merely agree with it, RFC 8725 §3.1).
    pub fn verify(&self, alg: Alg, public: &[u8]) -> bool {
        self.header.get("alg").and_then(Value::as_str) == Some(alg.as_str())
            && !self.header.contains_key("crit")
            && material::verify(alg, public, self.signing_input.as_bytes(), &self.signature)
    }

    /// `verify` for a JWS signed by someone else (device assertions, RFC 7523): also refuses
    /// every header that names or carries a key (RFC 8725 §3.10), so the key is always the
    /// one the caller looked up, and nothing is ever fetched.
    pub fn verify_inbound(&self, alg: Alg, public: &[u8]) -> bool {
        const KEY_HEADERS: &[&str] = &["jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256"];
        !KEY_HEADERS.iter().any(|h| self.header.contains_key(*h)) && self.verify(alg, public)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::keys::material::generate;
    use serde_json::json;

    #[test]
    fn round_trip_and_tampering() {
        for alg in Alg::ALL {
            let g = generate(alg).unwrap();
            let signer = Signer::from_pkcs8(alg, "k1", &g.pkcs8).unwrap();
            let token = sign(&signer, alg, "k1", "at+jwt", &json!({"sub": "a"})).unwrap();
            let u = Unverified::parse(&token).unwrap();
            assert_eq!(u.kid(), Some("k1"));
            assert_eq!(u.typ(), Some("at+jwt"));
            assert!(u.verify(alg, &g.public));
            let other = Alg::ALL.into_iter().find(|a| *a != alg).unwrap();
            assert!(
                !u.verify(other, &g.public),
                "header alg must match the key's alg"
            );

            // Flip one character of the payload.
            let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
            let forged = URL_SAFE_NO_PAD.encode(br#"{"sub":"b"}"#);
            parts[1] = forged;
            let forged = parts.join(".");
            assert!(!Unverified::parse(&forged).unwrap().verify(alg, &g.public));
        }
        assert!(Unverified::parse("a.b").is_none());
        assert!(Unverified::parse("not a token").is_none());
        assert!(Unverified::parse(&"a".repeat(20_000)).is_none());
    }
}

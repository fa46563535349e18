//! The fake's signing keys: which one signs now, the JWKS that publishes them, and RS256
//! signing with `jsonwebtoken`.
//!
//! The key material comes from [`key_pems`](super::key_pems) (fixed, test-only keys), parsed
//! once per process. Key `n` of a fake is `PEMS[(n - 1) % PEMS.len()]` with kid
//! `fake-wristband-key-<n>`, so a rotation always changes the kid (after four rotations the
//! material repeats under a new kid).

use std::sync::{Arc, OnceLock};

use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::Value;

use super::key_pems::PEMS;

/// One parsed key: what signs, and its public half as a JWK (without a kid).
struct Material {
    encoding: EncodingKey,
    jwk: Jwk,
}

/// The parsed [`PEMS`], once per process.
fn materials() -> &'static [Material] {
    static PARSED: OnceLock<Vec<Material>> = OnceLock::new();
    PARSED.get_or_init(|| {
        PEMS.iter()
            .map(|pem| {
                let encoding = EncodingKey::from_rsa_pem(pem.as_bytes())
                    .expect("the embedded test keys are valid RSA PEM");
                let jwk = Jwk::from_encoding_key(&encoding, Algorithm::RS256)
                    .expect("an RSA key has a public JWK");
                Material { encoding, jwk }
            })
            .collect()
    })
}

/// A key that signed (or signs) for this fake.
#[derive(Clone)]
pub(super) struct SigningKey {
    kid: String,
    material: &'static Material,
}

impl SigningKey {
    fn number(n: usize) -> SigningKey {
        let all = materials();
        SigningKey { kid: format!("fake-wristband-key-{n}"), material: &all[(n - 1) % all.len()] }
    }

    /// The key's id (the `kid` of its JWTs and of its JWK).
    pub(super) fn kid(&self) -> &str {
        &self.kid
    }

    /// Signs `claims` with RS256, the kid and `typ` in the header (`"at+JWT"` for access
    /// tokens, as Wristband's, and `"JWT"` for ID tokens).
    pub(super) fn sign(
        &self,
        typ: &str,
        claims: &Value,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        header.typ = Some(typ.into());
        jsonwebtoken::encode(&header, claims, &self.material.encoding)
    }

    fn jwk(&self) -> Jwk {
        let mut jwk = self.material.jwk.clone();
        jwk.common.key_id = Some(self.kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        jwk
    }
}

/// The keys of one fake: the newest signs, all are published.
pub(super) struct KeyRing {
    /// Oldest first; never empty.
    keys: Vec<Arc<SigningKey>>,
    /// Keys before this index are no longer published.
    published_from: usize,
}

impl KeyRing {
    /// A ring whose first key signs.
    pub(super) fn new() -> KeyRing {
        KeyRing { keys: vec![Arc::new(SigningKey::number(1))], published_from: 0 }
    }

    /// The key that signs now.
    pub(super) fn current(&self) -> Arc<SigningKey> {
        Arc::clone(self.keys.last().expect("a key ring is never empty"))
    }

    /// A new key signs from now on; the old ones stay published.
    pub(super) fn rotate(&mut self) {
        let next = SigningKey::number(self.keys.len() + 1);
        self.keys.push(Arc::new(next));
    }

    /// Stops publishing every key but the current one.
    pub(super) fn retire_old(&mut self) {
        self.published_from = self.keys.len() - 1;
    }

    /// The published keys, newest first, as a JWKS document.
    pub(super) fn jwks(&self) -> JwkSet {
        let keys = self.keys[self.published_from..].iter().rev().map(|k| k.jwk()).collect();
        JwkSet { keys }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_key_loads_and_is_at_least_2048_bits() {
        for material in materials() {
            let jsonwebtoken::jwk::AlgorithmParameters::RSA(rsa) = &material.jwk.algorithm else {
                panic!("not an RSA JWK");
            };
            // 2048 bits = 256 bytes = 342 base64url characters without padding.
            assert!(rsa.n.len() >= 342, "modulus too short: {}", rsa.n.len());
        }
        assert_eq!(materials().len(), PEMS.len());
    }

    #[test]
    fn rotation_changes_the_kid_and_keeps_the_old_key_published() {
        let mut ring = KeyRing::new();
        let first = ring.current().kid().to_string();
        ring.rotate();
        let second = ring.current().kid().to_string();
        assert_ne!(first, second);
        let kids: Vec<_> = ring.jwks().keys.into_iter().filter_map(|k| k.common.key_id).collect();
        assert_eq!(kids, vec![second.clone(), first]);
        ring.retire_old();
        let kids: Vec<_> = ring.jwks().keys.into_iter().filter_map(|k| k.common.key_id).collect();
        assert_eq!(kids, vec![second]);
    }
}

//! The fake's signing keys: which one signs now, the JWKS that publishes them, and RS256
//! signing with `jsonwebtoken`.
//!
//! No key is written down anywhere: key number `n` (kid `fake-wristband-key-<n>`) is a fresh
//! 2048-bit RSA key that the `rsa` crate generates from the operating system's random source
//! the first time any fake of the process needs it, then shares with every fake of the process
//! (many fakes in one test binary pay for key generation once). Each rotation moves to the next
//! number, so it always brings a new kid and new key material; two processes never share a key.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use serde_json::Value;

/// The modulus size of the generated keys, in bits (what Wristband's keys have).
const KEY_BITS: usize = 2048;

/// One key: what signs, and its public half as a JWK (without a kid).
struct Material {
    encoding: EncodingKey,
    jwk: Jwk,
}

impl Material {
    /// A new RSA key from the operating system's random source.
    fn generate() -> Material {
        let key = rsa::PrivateKey::new(&mut getrandom::SysRng, KEY_BITS)
            .expect("the operating system's random source works");
        // PKCS#1 DER is what `EncodingKey::from_rsa_der` takes; the document is wiped on drop.
        let der = key.to_pkcs1_der().expect("a generated RSA key encodes");
        let encoding = EncodingKey::from_rsa_der(der.as_bytes());
        let jwk = Jwk::from_encoding_key(&encoding, Algorithm::RS256)
            .expect("an RSA key has a public JWK");
        Material { encoding, jwk }
    }
}

/// Key number `n` (from 1) of this process, generated on first use. Different numbers are
/// generated in parallel; the same number only once.
fn material(n: usize) -> Arc<Material> {
    type Slot = Arc<OnceLock<Arc<Material>>>;
    static SLOTS: Mutex<Vec<Slot>> = Mutex::new(Vec::new());
    let slot = {
        let mut slots = SLOTS.lock().unwrap_or_else(PoisonError::into_inner);
        if slots.len() < n {
            slots.resize_with(n, Slot::default);
        }
        Arc::clone(&slots[n - 1])
    };
    // Generated outside the list's lock: waits only for the same number.
    Arc::clone(slot.get_or_init(|| Arc::new(Material::generate())))
}

/// Generates key number `n` now if no fake of the process has needed it yet (so that a caller
/// can pay for it outside its own locks, or on a blocking thread).
pub(super) fn prepare(n: usize) {
    material(n);
}

/// A key that signed (or signs) for this fake.
#[derive(Clone)]
pub(super) struct SigningKey {
    kid: String,
    material: Arc<Material>,
}

impl SigningKey {
    fn number(n: usize) -> SigningKey {
        SigningKey { kid: format!("fake-wristband-key-{n}"), material: material(n) }
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

    /// The number of the key that [`rotate`](Self::rotate) adds next.
    pub(super) fn next_number(&self) -> usize {
        self.keys.len() + 1
    }

    /// A new key signs from now on; the old ones stay published.
    pub(super) fn rotate(&mut self) {
        let next = SigningKey::number(self.next_number());
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
    use jsonwebtoken::jwk::AlgorithmParameters;
    use jsonwebtoken::{DecodingKey, Validation};

    use super::*;

    /// The base64url modulus of a JWK.
    fn modulus(jwk: &Jwk) -> String {
        let AlgorithmParameters::RSA(rsa) = &jwk.algorithm else { panic!("not an RSA JWK") };
        rsa.n.clone()
    }

    #[test]
    fn keys_are_at_least_2048_bits_and_sign_what_their_jwk_verifies() {
        let ring = KeyRing::new();
        let jwk = &ring.jwks().keys[0];
        // 2048 bits = 256 bytes = 342 base64url characters without padding.
        assert!(modulus(jwk).len() >= 342, "modulus too short: {}", modulus(jwk).len());
        let token = ring.current().sign("at+JWT", &serde_json::json!({ "sub": "u" })).unwrap();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        let key = DecodingKey::from_jwk(jwk).unwrap();
        let data = jsonwebtoken::decode::<Value>(&token, &key, &validation).unwrap();
        assert_eq!(data.claims["sub"], "u");
        assert_eq!(data.header.typ.as_deref(), Some("at+JWT"));
        assert_eq!(data.header.kid.as_deref(), Some("fake-wristband-key-1"));
    }

    #[test]
    fn rotation_changes_the_kid_and_the_key_and_keeps_the_old_key_published() {
        let mut ring = KeyRing::new();
        let first = ring.current().kid().to_string();
        ring.rotate();
        let second = ring.current().kid().to_string();
        assert_ne!(first, second);
        let jwks = ring.jwks().keys;
        let kids: Vec<_> = jwks.iter().filter_map(|k| k.common.key_id.clone()).collect();
        assert_eq!(kids, vec![second.clone(), first]);
        assert_ne!(modulus(&jwks[0]), modulus(&jwks[1]), "a rotation must bring a new key");
        ring.retire_old();
        let kids: Vec<_> = ring.jwks().keys.into_iter().filter_map(|k| k.common.key_id).collect();
        assert_eq!(kids, vec![second]);
    }

    #[test]
    fn fakes_of_one_process_share_each_key_number() {
        // Key generation is paid once per number and process, not once per fake.
        assert!(Arc::ptr_eq(&material(1), &material(1)));
        assert_eq!(
            modulus(&KeyRing::new().jwks().keys[0]),
            modulus(&KeyRing::new().jwks().keys[0])
        );
    }
}

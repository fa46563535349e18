//! The JWKS cache behind [`WristbandJwt`](crate::WristbandJwt): Wristband's signing keys,
//! fetched on first use, kept by key id, fetched again when a token names a key id the cache
//! does not know (key rotation works without a restart).
//!
//! Fetches are single flight (concurrent requests with an unknown key id share one fetch)
//! and rate limited: at most [`MAX_FETCHES_PER_MINUTE`] in any 60 seconds, however many
//! unknown key ids arrive, so forged tokens cannot make this app hammer Wristband. A fetch is
//! one HTTP request (no retries; the next unknown key id after a failure fetches again, within
//! the limit). Only RSA keys of at least [`MIN_RSA_BITS`] bits that are usable for RS256 are
//! kept; the rest are logged and skipped.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm};
use jsonwebtoken::DecodingKey;
use rocket::tokio::sync::Mutex;
use serde_json::Value;

use super::client::HttpClient;
use crate::open_cache::ValueCache;

/// At most this many JWKS fetches in any 60 seconds.
pub(crate) const MAX_FETCHES_PER_MINUTE: usize = 10;
/// RSA keys shorter than this are refused.
pub(crate) const MIN_RSA_BITS: usize = 2048;
const WINDOW: Duration = Duration::from_secs(60);

/// The most bytes of verified tokens kept (see [`VerifiedToken`]): 4 MiB.
pub(crate) const VERIFIED_BUDGET_BYTES: usize = 4 * 1024 * 1024;

/// A bearer token whose signature, algorithm and issuer checked out: its claims and the times
/// that bound its validity, so that the next requests with the same token skip the RSA check
/// (about a million instructions with the pure-Rust backend). Expiry and not-before are still
/// checked on every request; the cache is emptied whenever a key leaves the JWKS.
#[derive(Debug)]
pub(crate) struct VerifiedToken {
    pub(crate) claims: Arc<serde_json::Map<String, Value>>,
    /// `exp`, Unix seconds.
    pub(crate) exp: i64,
    /// `nbf`, Unix seconds, if present.
    pub(crate) nbf: Option<i64>,
}

impl VerifiedToken {
    /// Whether the token is inside its validity window at `now` with `leeway` seconds of skew.
    pub(crate) fn valid_at(&self, now: i64, leeway: i64) -> bool {
        now < self.exp.saturating_add(leeway)
            && self.nbf.is_none_or(|nbf| nbf.saturating_sub(leeway) <= now)
    }
}

/// Wristband's signing keys by key id, the tokens they verified, and the fetch log.
pub(crate) struct JwksCache {
    keys: RwLock<HashMap<String, Arc<DecodingKey>>>,
    /// Tokens that verified with one of `keys`.
    pub(crate) verified: ValueCache<VerifiedToken>,
    /// Held while fetching (single flight); the start times of recent fetches.
    fetches: Mutex<VecDeque<Instant>>,
    /// How many fetches have finished (a waiter that saw one finish does not fetch again).
    finished: AtomicU64,
}

impl Default for JwksCache {
    fn default() -> Self {
        JwksCache {
            keys: RwLock::default(),
            verified: ValueCache::with_budget(VERIFIED_BUDGET_BYTES),
            fetches: Mutex::default(),
            finished: AtomicU64::default(),
        }
    }
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<String> = self.read().keys().cloned().collect();
        f.debug_struct("JwksCache").field("kids", &kids).finish_non_exhaustive()
    }
}

impl JwksCache {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<DecodingKey>>> {
        self.keys.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn cached(&self, kid: &str) -> Option<Arc<DecodingKey>> {
        self.read().get(kid).cloned()
    }

    /// The key named `kid`: from the cache, or after a fetch if it is unknown and the rate
    /// limit allows one. `None` if Wristband has no such (usable) key.
    pub(crate) async fn key(&self, http: &HttpClient, kid: &str) -> Option<Arc<DecodingKey>> {
        if let Some(key) = self.cached(kid) {
            return Some(key);
        }
        let seen = self.finished.load(Ordering::Acquire);
        let mut fetches = self.fetches.lock().await;
        if let Some(key) = self.cached(kid) {
            return Some(key);
        }
        if self.finished.load(Ordering::Acquire) != seen {
            // A fetch finished while this request waited: the key id is not in the JWKS.
            return None;
        }
        let now = Instant::now();
        while fetches.front().is_some_and(|at| now.duration_since(*at) >= WINDOW) {
            fetches.pop_front();
        }
        if fetches.len() >= MAX_FETCHES_PER_MINUTE {
            log::debug!("JWKS fetch skipped: {MAX_FETCHES_PER_MINUTE} fetches in the last minute");
            return None;
        }
        fetches.push_back(now);
        match fetch(http).await {
            Ok(keys) => {
                let mut held = self.keys.write().unwrap_or_else(|p| p.into_inner());
                if held.keys().any(|kid| !keys.contains_key(kid)) {
                    // A key left the JWKS (rotated out, or withdrawn): nothing it verified is
                    // taken on trust any more.
                    self.verified.clear();
                }
                *held = keys;
            }
            Err(reason) => log::warn!("JWKS fetch failed: {reason}"),
        }
        self.finished.fetch_add(1, Ordering::Release);
        drop(fetches);
        self.cached(kid)
    }
}

/// One GET of the JWKS; the usable keys by key id.
async fn fetch(http: &HttpClient) -> Result<HashMap<String, Arc<DecodingKey>>, String> {
    let response = http
        .reqwest()
        .get(http.jwks_url())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|_| "Wristband could not be reached".to_string())?;
    if !response.status().is_success() {
        return Err(format!("Wristband answered {}", response.status().as_u16()));
    }
    let body: Value = response.json().await.map_err(|_| "the JWKS is not JSON".to_string())?;
    let listed = body.get("keys").and_then(Value::as_array).ok_or("the JWKS has no `keys`")?;
    Ok(listed.iter().filter_map(usable_key).collect())
}

/// `(kid, key)` for an RS256-usable RSA key of at least [`MIN_RSA_BITS`] bits.
fn usable_key(value: &Value) -> Option<(String, Arc<DecodingKey>)> {
    let jwk: Jwk = serde_json::from_value(value.clone()).ok()?;
    let kid = jwk.common.key_id.clone()?;
    if jwk.common.key_algorithm.is_some_and(|alg| alg != KeyAlgorithm::RS256) {
        return None;
    }
    let AlgorithmParameters::RSA(rsa) = &jwk.algorithm else {
        return None;
    };
    let bits = modulus_bits(&rsa.n)?;
    if bits < MIN_RSA_BITS {
        log::warn!("JWKS key `{kid}` skipped: {bits}-bit RSA, at least {MIN_RSA_BITS} required");
        return None;
    }
    let key = DecodingKey::from_jwk(&jwk).ok()?;
    Some((kid, Arc::new(key)))
}

/// The bit length of a base64url big-endian modulus.
fn modulus_bits(n: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(n.trim_end_matches('=')).ok()?;
    let first = bytes.iter().position(|b| *b != 0)?;
    Some((bytes.len() - first) * 8 - bytes[first].leading_zeros() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modulus_length_in_bits() {
        let n = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        assert_eq!(modulus_bits(&n(&[0x80; 256])), Some(2048));
        assert_eq!(modulus_bits(&n(&[[0u8].as_slice(), &[0x80; 256]].concat())), Some(2048));
        assert_eq!(modulus_bits(&n(&[[0x7f].as_slice(), &[0xff; 255]].concat())), Some(2047));
        assert_eq!(modulus_bits(&n(&[0; 4])), None);
        assert_eq!(modulus_bits("not base64!"), None);
    }
}

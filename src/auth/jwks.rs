//! The JWKS cache behind [`WristbandJwt`](crate::WristbandJwt): Wristband's signing keys,
//! fetched on first use, kept by key id, fetched again when a token names a key id the cache
//! does not know (key rotation works without a restart).
//!
//! Fetches are single flight (concurrent requests with an unknown key id share one fetch)
//! and rate limited by a token bucket that holds [`FETCH_BURST`] (3) fetches and gains one
//! back every [`FETCH_REFILL`] (8 s), never more than it holds: a fetch is made only when the
//! bucket has a whole fetch in it, and takes it. So, however many unknown key ids arrive:
//!
//! - at most 3 + 60 / 8 = 10.5, i.e. [`MAX_FETCHES_PER_MINUTE`] (10), fetches in any 60
//!   seconds, so forged tokens cannot make this app hammer Wristband (in a steady flood: one
//!   fetch every 8 s, 7 or 8 a minute);
//! - a fetch is never refused for more than 8 s in a row: once the bucket is empty, it holds a
//!   whole fetch again 8 s after the last one was taken. Every fetch reads the whole JWKS and
//!   replaces the keys, whichever request (forged or real) made it, so a key that Wristband
//!   publishes at time T verifies every token that arrives after T + 8 s plus the time of one
//!   fetch, even while forged key ids keep the budget spent: forged key ids cannot starve a
//!   real key rotation.
//!
//! A fetch is one HTTP request (no retries; the next unknown key id after a failure fetches
//! again, within the budget). Only RSA keys of at least [`MIN_RSA_BITS`] bits that are usable
//! for RS256 are kept; the rest are logged and skipped.
//!
//! Two options bound what is kept (Wristband's `jwksCacheMaxSize` and `jwksCacheTtl`):
//!
//! - `jwks_cache_max_size` (default 20): when a fetch brings more usable keys than that, the
//!   cache keeps the key the fetch was made for, then the most recently used keys, then the
//!   others in the JWKS's order. A key left out is fetched again when a token names it, as any
//!   unknown key id (within the budget).
//! - `jwks_cache_ttl` (seconds, default unset): a key older than that (counted from the fetch
//!   that brought it) is fetched again on its next use, and a remembered verification made
//!   with it is no longer taken on trust. That fetch takes from the same budget: while the
//!   budget is spent, the key already held is used, so forged key ids cannot make valid tokens
//!   fail, and the key is fetched again at most [`FETCH_REFILL`] later.
//!
//! The cache of verified tokens only takes access tokens: [`JwksCache::remember`] reads the
//! token's own header and refuses any token whose `typ` is not `at+JWT` (see
//! [`is_access_token_type`]), so no other check (an ID token verified elsewhere, say) can put
//! a token into it that the bearer guard would not take.
//!
//! A remembered token is forgotten at the next JWKS fetch that does not list its key, whatever
//! `jwks_cache_max_size` kept:
//!
//! - each remembered token keeps the id of the key that verified it, and every fetch that
//!   succeeds drops the tokens whose key id is not among the fetched JWKS's usable keys,
//!   whatever `jwks_cache_max_size` keeps (a key already left out of the cache is noticed as
//!   well as one held). A fetch that fails forgets nothing. Between two fetches nothing is
//!   learnt about the JWKS: a token of a key withdrawn since the last fetch keeps passing from
//!   memory until the next fetch (or, with `jwks_cache_ttl`, until its key is past the TTL);
//! - the set of listed key ids has a generation, moved by every fetch that lists another set.
//!   A token is remembered only if the generation is still the one of its key look-up, checked
//!   under the lock that fetches take to replace the keys: a token whose key was withdrawn by
//!   a fetch that ran during its verification is never remembered after that fetch's clean-up.

use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm};
use jsonwebtoken::{decode_header, Algorithm, DecodingKey};
use rocket::tokio::sync::Mutex;
use serde_json::Value;

use super::admission::SeenOnce;
use super::client::HttpClient;
use super::jwt::is_access_token_type;
use super::options::DEFAULT_JWKS_CACHE_MAX_SIZE;
use crate::session::heap_size;
use crate::session::open_cache::{entry_weight, ValueCache};

/// How many JWKS fetches the budget holds: made at once after a quiet spell.
pub(crate) const FETCH_BURST: u32 = 3;
/// The budget gains one fetch back this long after one was taken (never above
/// [`FETCH_BURST`]): the longest a fetch is ever refused in a row.
pub(crate) const FETCH_REFILL: Duration = Duration::from_secs(8);
/// At most this many JWKS fetches in any 60 seconds: `FETCH_BURST + 60 s / FETCH_REFILL`,
/// rounded down.
pub(crate) const MAX_FETCHES_PER_MINUTE: u64 = 10;
// The bound above holds (3 + 60/8 < 11), and a real key rotation waits at most 10 s.
const _: () = {
    let refill = FETCH_REFILL.as_millis() as u64;
    assert!(FETCH_BURST as u64 * refill + 60_000 < (MAX_FETCHES_PER_MINUTE + 1) * refill);
    assert!(refill <= 10_000);
};
/// RSA keys shorter than this are refused.
pub(crate) const MIN_RSA_BITS: usize = 2048;

/// The most bytes of verified tokens kept (see [`VerifiedToken`]): 4 MiB.
pub(crate) const VERIFIED_BUDGET_BYTES: usize = 4 * 1024 * 1024;

/// A bearer token whose signature, algorithm and issuer checked out: its claims and the times
/// that bound its validity, so that the next requests with the same token skip the RSA check
/// (about a million instructions with the pure-Rust backend). Expiry and not-before are still
/// checked on every request; a JWKS fetch that does not list `kid` forgets it.
#[derive(Debug)]
pub(crate) struct VerifiedToken {
    pub(crate) claims: Arc<serde_json::Map<String, Value>>,
    /// `exp`, Unix seconds.
    pub(crate) exp: i64,
    /// `nbf`, Unix seconds, if present.
    pub(crate) nbf: Option<i64>,
    /// When the key that verified it was fetched: with `jwks_cache_ttl`, the verification is
    /// taken on trust only while that key is fresh.
    pub(crate) key_fetched: Instant,
    /// The id of the key that verified it (public: a JWT header's `kid`).
    pub(crate) kid: Box<str>,
    /// The generation of the listed key ids at the look-up of that key
    /// ([`FetchedKey::generation`]): the token is remembered only if it has not moved.
    pub(crate) generation: u64,
}

impl VerifiedToken {
    /// Whether the token is inside its validity window at `now` with `leeway` seconds of skew.
    pub(crate) fn valid_at(&self, now: i64, leeway: i64) -> bool {
        now < self.exp.saturating_add(leeway)
            && self.nbf.is_none_or(|nbf| nbf.saturating_sub(leeway) <= now)
    }
}

/// Bytes counted against [`VERIFIED_BUDGET_BYTES`] for remembering `token`: the cache entry's
/// own parts (the token, the `Arc`, the table's share: see `entry_weight`), the claims (the
/// map and the `Arc` around it) and the key id.
fn weight(token: &str, verified: &VerifiedToken) -> usize {
    let held = heap_size::shared_map(&verified.claims) + heap_size::block(verified.kid.len());
    entry_weight::<VerifiedToken>(token, held)
}

/// The JWKS fetch budget, a token bucket of [`FETCH_BURST`] fetches refilled by one every
/// [`FETCH_REFILL`], kept as the instant at which it would be full again (the "generic cell
/// rate algorithm" form of a token bucket: no counters to refill, no floats).
#[derive(Debug, Default)]
struct FetchBudget {
    /// When the bucket holds `FETCH_BURST` fetches again; `None`: full.
    full_at: Option<Instant>,
}

impl FetchBudget {
    /// Takes one fetch at `now` if the bucket holds one.
    ///
    /// The bucket lacks `(full_at - now) / FETCH_REFILL` fetches, so it holds a whole one when
    /// `full_at - now <= (FETCH_BURST - 1) * FETCH_REFILL`; taking it moves `full_at` one
    /// refill later. Right after a take, `full_at - now <= FETCH_BURST * FETCH_REFILL`, so the
    /// next fetch is allowed at most one `FETCH_REFILL` later; and `k` takes within a span `d`
    /// need `(k - 1) * FETCH_REFILL - d <= (FETCH_BURST - 1) * FETCH_REFILL`, i.e.
    /// `k <= FETCH_BURST + d / FETCH_REFILL`.
    fn try_take(&mut self, now: Instant) -> bool {
        let ahead = self.full_at.map_or(Duration::ZERO, |full| full.saturating_duration_since(now));
        if ahead > FETCH_REFILL * (FETCH_BURST - 1) {
            return false;
        }
        self.full_at = Some(now + ahead + FETCH_REFILL);
        true
    }
}

/// A signing key the cache holds.
struct HeldKey {
    key: Arc<DecodingKey>,
    /// When the fetch that brought it was made.
    fetched: Instant,
    /// The cache's use counter at this key's last use (0: never used).
    used: AtomicU64,
}

/// A key and when it was fetched.
#[derive(Clone)]
pub(crate) struct FetchedKey {
    pub(crate) key: Arc<DecodingKey>,
    pub(crate) fetched: Instant,
    /// [`Keys::generation`] when the key was looked up.
    pub(crate) generation: u64,
}

/// The keys held and what the last fetch listed.
#[derive(Default)]
struct Keys {
    /// At most `jwks_cache_max_size` keys, by key id.
    held: HashMap<String, HeldKey>,
    /// The ids of every usable key of the last fetch that succeeded, held or not.
    listed: HashSet<String>,
    /// Moved by each fetch whose `listed` differs from the one before.
    generation: u64,
}

/// What the cache holds for a key id.
enum Held {
    /// Within `jwks_cache_ttl` (or no TTL).
    Fresh(FetchedKey),
    /// Older than `jwks_cache_ttl`: fetch again if the budget allows.
    Stale(FetchedKey),
    Missing,
}

/// Wristband's signing keys by key id, the tokens they verified, and the fetch budget.
pub(crate) struct JwksCache {
    keys: RwLock<Keys>,
    /// `jwks_cache_max_size`: the most keys held.
    max_size: usize,
    /// `jwks_cache_ttl`: how long a fetched key is used before it is fetched again.
    ttl: Option<Duration>,
    /// Counts key uses, for the least-recently-used order.
    uses: AtomicU64,
    /// Access tokens that verified with a key of `keys.listed` (only through
    /// [`JwksCache::remember`]; locked after `keys` when both are).
    verified: ValueCache<VerifiedToken>,
    /// Tokens verified once: the next verification remembers them (see `admission`).
    seen_once: SeenOnce,
    /// Held while fetching (single flight); the fetch budget.
    fetches: Mutex<FetchBudget>,
    /// How many fetches have finished (a waiter that saw one finish does not fetch again).
    finished: AtomicU64,
}

impl Default for JwksCache {
    fn default() -> Self {
        JwksCache::new(DEFAULT_JWKS_CACHE_MAX_SIZE, None)
    }
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<String> = self.read().held.keys().cloned().collect();
        f.debug_struct("JwksCache")
            .field("kids", &kids)
            .field("max_size", &self.max_size)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl JwksCache {
    /// An empty cache holding at most `max_size` keys (at least 1), each used for `ttl` after
    /// its fetch (`None`: until it leaves the JWKS).
    pub(crate) fn new(max_size: usize, ttl: Option<Duration>) -> Self {
        JwksCache {
            keys: RwLock::default(),
            max_size: max_size.max(1),
            ttl,
            uses: AtomicU64::default(),
            verified: ValueCache::with_budget(VERIFIED_BUDGET_BYTES),
            seen_once: SeenOnce::default(),
            fetches: Mutex::default(),
            finished: AtomicU64::default(),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Keys> {
        self.keys.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether a key fetched at `fetched` is past `jwks_cache_ttl` at `now`.
    fn expired(&self, fetched: Instant, now: Instant) -> bool {
        self.ttl.is_some_and(|ttl| now.saturating_duration_since(fetched) >= ttl)
    }

    /// The key named `kid`, marked as used.
    fn lookup(&self, kid: &str, now: Instant) -> Held {
        let keys = self.read();
        let Some(held) = keys.held.get(kid) else {
            return Held::Missing;
        };
        held.used.store(self.uses.fetch_add(1, Ordering::Relaxed) + 1, Ordering::Relaxed);
        let key = FetchedKey {
            key: held.key.clone(),
            fetched: held.fetched,
            generation: keys.generation,
        };
        if self.expired(held.fetched, now) {
            Held::Stale(key)
        } else {
            Held::Fresh(key)
        }
    }

    /// The remembered verification of exactly `token`, if it is inside its validity window at
    /// `now` (Unix seconds) with `leeway` seconds of skew and the key that verified it is
    /// within `jwks_cache_ttl`. Only access tokens are ever remembered (see
    /// [`remember`](Self::remember)).
    pub(crate) fn verified(
        &self,
        token: &str,
        now: i64,
        leeway: i64,
    ) -> Option<Arc<VerifiedToken>> {
        // The clock of key ages is read only when keys age (`jwks_cache_ttl` set).
        self.verified.get(token, |t| {
            t.valid_at(now, leeway)
                && (self.ttl.is_none() || !self.expired(t.key_fetched, Instant::now()))
        })
    }

    /// Remembers that `token` verified, if the listed key ids have not changed since its key
    /// was looked up (`verified.generation`), this is its second verification (the first one
    /// is only noted: see `admission`) and its own header says it is an RS256 access token
    /// (`typ` `at+JWT`): whatever the caller checked, a token of another type never enters the
    /// cache, so a cache hit never skips the type check. Whether it is remembered.
    pub(crate) fn remember(&self, token: &str, verified: VerifiedToken) -> bool {
        // Held until the insert: a fetch (which takes the write lock to move the generation
        // and drop the tokens of unlisted keys) runs wholly before or wholly after it.
        let keys = self.read();
        if keys.generation != verified.generation {
            log::debug!("verified token not remembered: the JWKS changed during its check");
            return false;
        }
        if !self.seen_once.second_sight(token) {
            return false;
        }
        let access = decode_header(token).is_ok_and(|header| {
            header.alg == Algorithm::RS256 && is_access_token_type(header.typ.as_deref())
        });
        if access {
            let weight = weight(token, &verified);
            self.verified.insert(token, verified, weight);
        }
        drop(keys);
        access
    }

    /// The key named `kid`: from the cache, or after a fetch if it is unknown (or older than
    /// `jwks_cache_ttl`) and the rate limit allows one. `None` if Wristband has no such
    /// (usable) key.
    pub(crate) async fn key(&self, http: &HttpClient, kid: &str) -> Option<Arc<DecodingKey>> {
        self.fetched_key(http, kid).await.map(|k| k.key)
    }

    /// [`key`](Self::key), with the time of the fetch that brought it.
    pub(crate) async fn fetched_key(&self, http: &HttpClient, kid: &str) -> Option<FetchedKey> {
        if let Held::Fresh(key) = self.lookup(kid, Instant::now()) {
            return Some(key);
        }
        let seen = self.finished.load(Ordering::Acquire);
        let mut budget = self.fetches.lock().await;
        let stale = match self.lookup(kid, Instant::now()) {
            Held::Fresh(key) => return Some(key),
            Held::Stale(key) => Some(key),
            Held::Missing => None,
        };
        if self.finished.load(Ordering::Acquire) != seen {
            // A fetch finished while this request waited: what it left is the answer (no key:
            // the key id is not in the JWKS; a stale key: that fetch failed).
            return stale;
        }
        if !budget.try_take(Instant::now()) {
            log::debug!(
                "JWKS fetch skipped: the fetch budget is spent (one more within {}s)",
                FETCH_REFILL.as_secs()
            );
            return stale;
        }
        let started = Instant::now();
        match fetch(http).await {
            Ok(fetched) => self.replace(fetched, kid, started),
            Err(reason) => log::warn!("JWKS fetch failed: {reason}"),
        }
        self.finished.fetch_add(1, Ordering::Release);
        drop(budget);
        match self.lookup(kid, Instant::now()) {
            Held::Fresh(key) | Held::Stale(key) => Some(key),
            Held::Missing => None,
        }
    }

    /// Puts the keys of a fetch made for `wanted` at `fetched_at` in place of those held, at
    /// most `max_size` of them (see [`keep`]); forgets the remembered tokens whose key the
    /// fetch does not list, and moves the generation if the listed key ids changed.
    fn replace(&self, fetched: Vec<(String, Arc<DecodingKey>)>, wanted: &str, fetched_at: Instant) {
        let mut keys = self.keys.write().unwrap_or_else(|p| p.into_inner());
        let listed: HashSet<String> = fetched.iter().map(|(kid, _)| kid.clone()).collect();
        if listed != keys.listed {
            keys.generation += 1;
            keys.listed = listed;
        }
        // Whatever `max_size` kept before or keeps now: a key that left the JWKS (rotated
        // out, or withdrawn) vouches for nothing it verified any more.
        self.verified.retain(|token| keys.listed.contains(&*token.kid));
        let held = &mut keys.held;
        let last_use = |kid: &str| held.get(kid).map_or(0, |h| h.used.load(Ordering::Relaxed));
        let total = fetched.len();
        let kept = keep(fetched, wanted, last_use, self.max_size);
        if kept.len() < total {
            log::debug!(
                "JWKS: {total} usable keys, {} kept (jwks_cache_max_size = {})",
                kept.len(),
                self.max_size
            );
        }
        *held = kept
            .into_iter()
            .map(|(kid, key)| {
                let used =
                    AtomicU64::new(held.get(&kid).map_or(0, |h| h.used.load(Ordering::Relaxed)));
                (kid, HeldKey { key, fetched: fetched_at, used })
            })
            .collect();
    }
}

/// Which of the `fetched` keys (in JWKS order) the cache keeps, at most `max_size`: the key
/// the fetch was made for, then the most recently used ones (`last_use`, larger = more
/// recent, 0 = never), then the rest in JWKS order.
fn keep<K>(
    fetched: Vec<(String, K)>,
    wanted: &str,
    last_use: impl Fn(&str) -> u64,
    max_size: usize,
) -> Vec<(String, K)> {
    let mut ranked: Vec<(usize, (String, K))> = fetched.into_iter().enumerate().collect();
    ranked.sort_by_key(|(i, (kid, _))| (kid != wanted, Reverse(last_use(kid)), *i));
    ranked.into_iter().take(max_size).map(|(_, entry)| entry).collect()
}

/// One GET of the JWKS; the usable keys, in the JWKS's order.
async fn fetch(http: &HttpClient) -> Result<Vec<(String, Arc<DecodingKey>)>, String> {
    let response = http
        .reqwest()
        .get(http.jwks_url())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| {
            format!("Wristband could not be reached: {}", super::client::network_error(&e))
        })?;
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

    /// The instants at which `try_take` succeeded, trying at `start + every * i` for `i` in
    /// `0..tries`.
    fn takes(start: Instant, every: Duration, tries: u32) -> Vec<Instant> {
        let mut budget = FetchBudget::default();
        (0..tries).map(|i| start + every * i).filter(|at| budget.try_take(*at)).collect()
    }

    #[test]
    fn the_fetch_budget_allows_a_burst_then_one_fetch_per_refill() {
        let start = Instant::now();
        let mut budget = FetchBudget::default();
        for i in 0..FETCH_BURST {
            assert!(budget.try_take(start), "fetch {i} of the burst");
        }
        assert!(!budget.try_take(start), "the burst is spent");
        assert!(!budget.try_take(start + FETCH_REFILL - Duration::from_millis(1)));
        assert!(budget.try_take(start + FETCH_REFILL), "one back after a refill");
        assert!(!budget.try_take(start + FETCH_REFILL));
        // A long quiet spell refills the burst, not more.
        let later = start + FETCH_REFILL * 100;
        for i in 0..FETCH_BURST {
            assert!(budget.try_take(later), "fetch {i} of the second burst");
        }
        assert!(!budget.try_take(later));
    }

    #[test]
    fn a_flood_of_unknown_key_ids_gets_at_most_ten_fetches_a_minute_and_one_every_refill() {
        // Attempts every 50 ms, 10 ms, 1 s and 7 s for ten simulated minutes.
        let start = Instant::now();
        for every in [50, 10, 1000, 7000].map(Duration::from_millis) {
            let tries = (Duration::from_secs(600).as_millis() / every.as_millis()) as u32;
            let made = takes(start, every, tries);
            let minute = Duration::from_secs(60);
            for (i, first) in made.iter().enumerate() {
                let within = made[i..].iter().take_while(|at| **at - *first <= minute).count();
                assert!(
                    within as u64 <= MAX_FETCHES_PER_MINUTE,
                    "{within} in a minute ({every:?})"
                );
            }
            // Never starved: the gap between two fetches is at most one refill plus the time
            // to the next attempt.
            for pair in made.windows(2) {
                assert!(pair[1] - pair[0] <= FETCH_REFILL + every, "{:?}", pair[1] - pair[0]);
            }
            assert!(made.len() as u32 >= 600 / (FETCH_REFILL + every).as_secs().max(1) as u32);
        }
        // Steady flood: 3 at once, then one every 8 s.
        let made = takes(start, Duration::from_millis(100), 600);
        let offsets: Vec<u64> = made.iter().map(|at| (*at - start).as_millis() as u64).collect();
        assert_eq!(offsets, [0, 100, 200, 8000, 16000, 24000, 32000, 40000, 48000, 56000]);
    }

    fn token_with_header(header: serde_json::Value) -> String {
        let part = |v: serde_json::Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(&v).unwrap());
        format!("{}.{}.c2ln", part(header), part(serde_json::json!({ "sub": "u" })))
    }

    fn verified() -> VerifiedToken {
        VerifiedToken {
            claims: Arc::default(),
            exp: i64::MAX,
            nbf: None,
            key_fetched: Instant::now(),
            kid: "k".into(),
            generation: 0,
        }
    }

    #[test]
    fn only_access_tokens_are_remembered() {
        let cache = JwksCache::default();
        for header in [
            serde_json::json!({ "alg": "RS256", "typ": "JWT", "kid": "k" }),
            serde_json::json!({ "alg": "RS256", "kid": "k" }),
            serde_json::json!({ "alg": "RS256", "typ": "at+JWTx", "kid": "k" }),
            serde_json::json!({ "alg": "HS256", "typ": "at+JWT", "kid": "k" }),
        ] {
            let token = token_with_header(header.clone());
            for _ in 0..3 {
                assert!(!cache.remember(&token, verified()), "{header}");
            }
            assert!(cache.verified(&token, 0, 0).is_none(), "{header}");
        }
        for _ in 0..3 {
            assert!(!cache.remember("not a jwt", verified()));
        }
        for typ in ["at+JWT", "AT+jwt", "application/at+jwt"] {
            let token = token_with_header(serde_json::json!({ "alg": "RS256", "typ": typ }));
            // The first verification is only noted; the second one remembers.
            assert!(!cache.remember(&token, verified()), "{typ}");
            assert!(cache.verified(&token, 0, 0).is_none(), "{typ}");
            assert!(cache.remember(&token, verified()), "{typ}");
            assert!(cache.verified(&token, 0, 0).is_some(), "{typ}");
        }
    }

    /// A verification whose claims are `n` string claims.
    fn with_claims(n: usize) -> VerifiedToken {
        let claims = (0..n).map(|i| (format!("claim_{i:02}"), Value::from(format!("v{i}"))));
        VerifiedToken { claims: Arc::new(claims.collect()), ..verified() }
    }

    #[test]
    fn a_remembered_token_weighs_its_text_and_its_claims() {
        let token = token_with_header(serde_json::json!({ "alg": "RS256", "typ": "at+JWT" }));
        let plain = weight(&token, &verified());
        assert!(plain > token.len());
        assert_eq!(weight(&format!("{token}x"), &verified()), plain + 1);
        let mut last = plain;
        for n in 1..30 {
            let now = weight(&token, &with_claims(n));
            assert!(now > last, "{n} claims: {now} <= {last}");
            last = now;
        }
        // Wristband's 13 claims take three B-tree nodes (room for 11 entries each): far more
        // than the token's text.
        let claims = weight(&token, &with_claims(13)) - plain;
        assert!(claims > 3 * 11 * (size_of::<String>() + size_of::<Value>()), "{claims}");
    }

    #[test]
    fn the_size_limit_keeps_the_wanted_key_then_the_most_recently_used() {
        let fetched = || -> Vec<(String, ())> {
            ["a", "b", "c", "d"].iter().map(|k| (k.to_string(), ())).collect()
        };
        let kids = |kept: Vec<(String, ())>| kept.into_iter().map(|(k, _)| k).collect::<Vec<_>>();
        let never = |_: &str| 0;
        assert_eq!(kids(keep(fetched(), "x", never, 2)), ["a", "b"], "JWKS order");
        assert_eq!(kids(keep(fetched(), "c", never, 2)), ["c", "a"], "the wanted key first");
        let recent = |kid: &str| match kid {
            "d" => 9,
            "b" => 5,
            _ => 0,
        };
        assert_eq!(kids(keep(fetched(), "c", recent, 3)), ["c", "d", "b"]);
        assert_eq!(kids(keep(fetched(), "c", recent, 10)), ["c", "d", "b", "a"]);
        assert_eq!(kids(keep(fetched(), "c", recent, 1)), ["c"]);
    }

    #[test]
    fn a_ttl_makes_keys_and_remembered_verifications_stale() {
        let ttl = Duration::from_secs(30);
        let cache = JwksCache::new(20, Some(ttl));
        let now = Instant::now();
        assert!(!cache.expired(now, now + ttl - Duration::from_millis(1)));
        assert!(cache.expired(now, now + ttl));
        assert!(!JwksCache::new(20, None).expired(now, now + Duration::from_secs(1 << 30)));

        let token = token_with_header(serde_json::json!({ "alg": "RS256", "typ": "at+JWT" }));
        let Some(old) = now.checked_sub(ttl) else { return };
        assert!(!cache.remember(&token, verified()), "the first verification is only noted");
        assert!(cache.remember(&token, VerifiedToken { key_fetched: old, ..verified() }));
        assert!(cache.verified(&token, 0, 0).is_none(), "verified with a key past its TTL");
        assert!(!cache.remember(&token, verified()));
        assert!(cache.remember(&token, verified()));
        assert!(cache.verified(&token, 0, 0).is_some());
    }

    /// A fetch's usable keys named `kids` (placeholders: nothing is verified with them here).
    fn listing(kids: &[&str]) -> Vec<(String, Arc<DecodingKey>)> {
        let key = Arc::new(DecodingKey::from_secret(b"placeholder").unwrap());
        kids.iter().map(|kid| (kid.to_string(), key.clone())).collect()
    }

    fn access_token(kid: &str) -> String {
        token_with_header(serde_json::json!({ "alg": "RS256", "typ": "at+JWT", "kid": kid }))
    }

    /// The held key `kid`, looked up as the bearer check looks it up.
    fn looked_up(cache: &JwksCache, kid: &str) -> FetchedKey {
        match cache.lookup(kid, Instant::now()) {
            Held::Fresh(key) | Held::Stale(key) => key,
            Held::Missing => panic!("{kid} is not held"),
        }
    }

    /// What the bearer check hands to `remember` after verifying a token with `key`.
    fn verified_with(kid: &str, key: &FetchedKey) -> VerifiedToken {
        VerifiedToken {
            kid: kid.into(),
            generation: key.generation,
            key_fetched: key.fetched,
            ..verified()
        }
    }

    #[test]
    fn a_token_whose_key_is_withdrawn_between_look_up_and_insert_is_not_remembered() {
        let cache = JwksCache::default();
        cache.replace(listing(&["k1", "k2"]), "k1", Instant::now());
        let token = access_token("k1");
        let key = looked_up(&cache, "k1");
        assert!(!cache.remember(&token, verified_with("k1", &key)), "the first sight is noted");
        // The second verification looked k1 up; before its insert, a fetch withdraws k1 (and
        // forgets the tokens of k1, of which this one is not yet).
        let key = looked_up(&cache, "k1");
        cache.replace(listing(&["k2"]), "k2", Instant::now());
        assert!(
            !cache.remember(&token, verified_with("k1", &key)),
            "remembered after the fetch that withdrew its key"
        );
        assert!(cache.verified(&token, 0, 0).is_none());
    }

    #[test]
    fn a_token_whose_key_set_changed_between_look_up_and_insert_is_not_remembered() {
        let cache = JwksCache::new(1, None);
        let now = Instant::now();
        cache.replace(listing(&["k1"]), "k1", now);
        let token = access_token("k1");
        let before = looked_up(&cache, "k1");
        assert!(!cache.remember(&token, verified_with("k1", &before)), "the first sight");
        // A fetch lists another set (k2 published; k1 still listed and held).
        cache.replace(listing(&["k1", "k2"]), "k1", now);
        for attempt in 1..=2 {
            assert!(
                !cache.remember(&token, verified_with("k1", &before)),
                "remembered across a change of the key set (#{attempt})"
            );
        }
        assert!(cache.verified(&token, 0, 0).is_none());
        // Looked up again after that fetch: remembered (the refusals noted nothing).
        let after = looked_up(&cache, "k1");
        assert_ne!(after.generation, before.generation);
        assert!(cache.remember(&token, verified_with("k1", &after)));
        assert!(cache.verified(&token, 0, 0).is_some());

        // A fetch that lists the same key ids moves nothing, even when the size limit keeps
        // another key than before.
        let other = access_token("k1x");
        let key = looked_up(&cache, "k1");
        assert!(!cache.remember(&other, verified_with("k1", &key)), "the first sight");
        cache.replace(listing(&["k1", "k2"]), "k2", now);
        assert!(matches!(cache.lookup("k1", now), Held::Missing), "k1 left the size-1 cache");
        assert!(cache.remember(&other, verified_with("k1", &key)));
        assert!(cache.verified(&other, 0, 0).is_some());
    }

    #[test]
    fn every_fetch_forgets_the_tokens_of_keys_it_does_not_list_whatever_the_size_limit() {
        let cache = JwksCache::new(1, None);
        let now = Instant::now();
        cache.replace(listing(&["k1", "k2"]), "k1", now);
        let old = access_token("k1");
        let key = looked_up(&cache, "k1");
        for _ in 0..2 {
            cache.remember(&old, verified_with("k1", &key));
        }
        assert!(cache.verified(&old, 0, 0).is_some());

        // A token of k2 makes a fetch; the size-1 cache keeps k2 only.
        cache.replace(listing(&["k1", "k2"]), "k2", now);
        assert!(matches!(cache.lookup("k1", now), Held::Missing), "k1 left the size-1 cache");
        assert!(cache.verified(&old, 0, 0).is_some(), "k1 is still listed");
        let new = access_token("k2");
        let key = looked_up(&cache, "k2");
        for _ in 0..2 {
            cache.remember(&new, verified_with("k2", &key));
        }
        assert!(cache.verified(&new, 0, 0).is_some());

        // Wristband withdraws k1, which the cache no longer holds; the next fetch notices.
        cache.replace(listing(&["k2"]), "k2", now);
        assert!(cache.verified(&old, 0, 0).is_none(), "a token of the withdrawn, evicted key");
        assert!(cache.verified(&new, 0, 0).is_some(), "a token of a listed key");
        // A fetch that lists nothing forgets the rest.
        cache.replace(Vec::new(), "k2", now);
        assert!(cache.verified(&new, 0, 0).is_none());
    }
}

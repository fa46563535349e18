//! A bounded per-process cache of recently opened cookie values, so that a browser's repeated
//! requests with the same cookie do not pay base64, AES-GCM and JSON parsing each time.
//!
//! - **Only what opened**: an entry is added after the value opened under every rule of
//!   `docs/cookie-format.md` §5; a value never seen, forged or tampered with is never found
//!   and goes through the full open.
//! - **The whole value is the key**: a lookup compares the complete cookie value byte for
//!   byte, not a prefix or a digest. To find the candidates it hashes only the value's last
//!   [`HASHED_SUFFIX`] bytes (std's randomly keyed SipHash): they are the end of the AES-GCM
//!   tag, which differs for every seal, and hashing 1.6 KB of cookie on every request would
//!   cost more than the rest of the lookup. Only values that opened are ever stored, so a
//!   client cannot fill a bucket; a forged value at most lands in one and fails the full
//!   comparison.
//! - **Expiry on every request**: a hit is used only while its sealed expires-at and its
//!   issued-at plus the configured `max_age` lie in the future; otherwise the entry is dropped
//!   and the value goes through the full open (and is refused there).
//! - **Bounded**: the heap the entries keep alive adds up to at most [`BUDGET_BYTES`], as an
//!   allocator counts it: each entry counts its cookie value, its parsed map (strings, B-tree
//!   nodes, the `Arc` around it: see `heap_size`), its own `Arc`, its bucket and its share of
//!   the hash table (see [`entry_weight`]), each block with the allocator's overhead. A full
//!   cache drops arbitrary entries until the new one fits.
//!
//! The configuration (secrets, `max_age`, attributes) does not change while the process runs,
//! so an entry can never outlive a rule it passed, except expiry, which is checked each time.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Map, Value};

use super::heap_size;
use super::known::Known;

/// The most bytes the cache accounts for: 8 MiB.
pub(crate) const BUDGET_BYTES: usize = 8 * 1024 * 1024;
/// How many bytes at the end of a value are hashed to find its bucket: 16 base64url characters,
/// 96 of the AES-GCM tag's 128 bits (of an RS256 signature's, for a bearer token), hashed as
/// one `u128` ([`suffix_hash`]). Two SipHash blocks; 32 bytes took two more.
pub(crate) const HASHED_SUFFIX: usize = 16;

/// `hasher`'s hash of `value`'s last [`HASHED_SUFFIX`] bytes, taken as one 128-bit integer (a
/// shorter value is padded with zero bytes in front): two SipHash blocks and no length prefix.
/// Values that differ only in their padding hash alike, which costs a comparison, never a
/// wrong answer (the whole value is compared).
pub(crate) fn suffix_hash(hasher: &RandomState, value: &str) -> u64 {
    let bytes = value.as_bytes();
    let suffix = match bytes.last_chunk::<HASHED_SUFFIX>() {
        Some(last) => *last,
        None => {
            let mut padded = [0; HASHED_SUFFIX];
            padded[HASHED_SUFFIX - bytes.len()..].copy_from_slice(bytes);
            padded
        }
    };
    hasher.hash_one(u128::from_le_bytes(suffix))
}

/// A value that opened, as it opened.
#[derive(Debug)]
pub(crate) struct Cached {
    /// Shared with the requests that read it (copied only by one that changes it).
    pub(crate) data: Arc<Map<String, Value>>,
    pub(crate) json_len: usize,
    pub(crate) issued_at: u64,
    pub(crate) expires_at: u64,
    /// `data`'s fields that nearly every request reads, looked up once.
    pub(crate) known: Known,
    /// The revocation stamp under which this session was last found valid ([`NOT_CHECKED`]
    /// before that): see `RevocationCheck::stamp`.
    valid_under: AtomicU64,
}

/// [`Cached::valid_under`] of an entry not found valid yet (no stamp reaches it).
const NOT_CHECKED: u64 = u64::MAX;

impl Cached {
    /// An entry for a value that opened to `data`.
    pub(crate) fn new(
        data: Arc<Map<String, Value>>,
        json_len: usize,
        issued_at: u64,
        expires_at: u64,
    ) -> Self {
        let known = Known::of(&data);
        Cached {
            data,
            json_len,
            issued_at,
            expires_at,
            known,
            valid_under: AtomicU64::new(NOT_CHECKED),
        }
    }

    /// Whether the session was found valid under the revocation stamp `stamp`.
    pub(crate) fn valid_under(&self, stamp: u64) -> bool {
        stamp != NOT_CHECKED && self.valid_under.load(Ordering::Relaxed) == stamp
    }

    /// Remembers that the session was found valid under `stamp`.
    pub(crate) fn set_valid_under(&self, stamp: u64) {
        self.valid_under.store(stamp, Ordering::Relaxed);
    }
}

/// The entries whose values' suffixes hash alike: each with its whole value and its weight.
type Bucket<V> = Vec<(Box<str>, Arc<V>, usize)>;

/// The table's hasher: its keys are already the keyed SipHash of a suffix
/// ([`ValueCache::hash`]), so they are used as they are rather than hashed a second time.
#[derive(Default)]
struct Hashed(u64);

impl Hasher for Hashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys are hashed (`write_u64`); anything else is folded in all the same.
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, key: u64) {
        self.0 = key;
    }
}

/// Entries by the hash of their value's suffix.
struct Table<V> {
    buckets: HashMap<u64, Bucket<V>, BuildHasherDefault<Hashed>>,
    len: usize,
    bytes: usize,
}

impl<V> Default for Table<V> {
    fn default() -> Self {
        Table { buckets: HashMap::default(), len: 0, bytes: 0 }
    }
}

impl<V> Table<V> {
    fn find(&self, hash: u64, value: &str) -> Option<&Arc<V>> {
        let bucket = self.buckets.get(&hash)?;
        bucket.iter().find(|(key, _, _)| **key == *value).map(|(_, entry, _)| entry)
    }

    fn remove(&mut self, hash: u64, value: &str) -> Option<Arc<V>> {
        let bucket = self.buckets.get_mut(&hash)?;
        let at = bucket.iter().position(|(key, _, _)| **key == *value)?;
        let (_, entry, weight) = bucket.swap_remove(at);
        if bucket.is_empty() {
            self.buckets.remove(&hash);
        }
        self.len -= 1;
        self.bytes = self.bytes.saturating_sub(weight);
        Some(entry)
    }
}

/// A bounded map from whole secret-bearing values (cookie values, bearer tokens) to what
/// checking them gave, for values that passed the check: the policy of the module docs (whole
/// value compared, suffix hashed, a byte budget, arbitrary eviction), the validity rule left to
/// the caller. Also used by the `auth` layer for verified JWTs.
pub(crate) struct ValueCache<V> {
    table: Mutex<Table<V>>,
    budget: usize,
    hasher: RandomState,
}

impl<V> std::fmt::Debug for ValueCache<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let table = self.lock();
        f.debug_struct("ValueCache")
            .field("entries", &table.len)
            .field("bytes", &table.bytes)
            .finish()
    }
}

impl<V> ValueCache<V> {
    /// An empty cache that holds at most `budget` bytes of weight.
    pub(crate) fn with_budget(budget: usize) -> Self {
        ValueCache { table: Mutex::new(Table::default()), budget, hasher: RandomState::new() }
    }

    fn hash(&self, value: &str) -> u64 {
        suffix_hash(&self.hasher, value)
    }

    fn lock(&self) -> MutexGuard<'_, Table<V>> {
        self.table.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The entry for exactly `value` if `valid` still holds for it; an entry that is no longer
    /// valid is dropped.
    pub(crate) fn get(&self, value: &str, valid: impl FnOnce(&V) -> bool) -> Option<Arc<V>> {
        let hash = self.hash(value);
        let mut table = self.lock();
        let entry = table.find(hash, value)?.clone();
        if valid(&entry) {
            return Some(entry);
        }
        table.remove(hash, value);
        None
    }

    /// Remembers `entry` for `value`, counting `weight` bytes against the budget (an entry
    /// heavier than the whole budget is not kept).
    pub(crate) fn insert(&self, value: &str, entry: V, weight: usize) {
        if weight > self.budget {
            return;
        }
        let hash = self.hash(value);
        let mut table = self.lock();
        table.remove(hash, value);
        while table.bytes + weight > self.budget {
            // Drop an arbitrary bucket (the map's order is random) until the entry fits.
            let Some(&victim) = table.buckets.keys().next() else { break };
            let bucket = table.buckets.remove(&victim).unwrap_or_default();
            table.len -= bucket.len();
            for (_, _, old) in bucket {
                table.bytes = table.bytes.saturating_sub(old);
            }
        }
        table.buckets.entry(hash).or_default().push((value.into(), Arc::new(entry), weight));
        table.len += 1;
        table.bytes += weight;
    }

    /// Forgets every entry for which `keep` is false, keeping the count and the bytes exact.
    #[cfg_attr(not(feature = "auth"), allow(dead_code))] // the JWT cache, at each JWKS fetch
    pub(crate) fn retain(&self, mut keep: impl FnMut(&V) -> bool) {
        let mut table = self.lock();
        let Table { buckets, len, bytes } = &mut *table;
        buckets.retain(|_, bucket| {
            bucket.retain(|(_, entry, weight)| {
                let kept = keep(entry);
                if !kept {
                    *len -= 1;
                    *bytes = bytes.saturating_sub(*weight);
                }
                kept
            });
            !bucket.is_empty()
        });
    }

    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.lock().bytes
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len
    }
}

/// The open cache of the session layer (see the module docs).
#[derive(Debug)]
pub(crate) struct OpenCache(ValueCache<Cached>);

impl Default for OpenCache {
    fn default() -> Self {
        OpenCache::with_budget(BUDGET_BYTES)
    }
}

/// How many elements std's `Vec` makes room for at its first allocation when they are at most
/// 1 KiB each (`MIN_NON_ZERO_CAP` in `alloc::raw_vec`): a bucket's first entry allocates room
/// for this many.
const BUCKET_FIRST_CAPACITY: usize = 4;

/// Bytes counted for a [`ValueCache`] entry that keeps `value` and a `V` holding `held` bytes on
/// the heap besides itself: `held`, and what the table allocates for the entry:
///
/// - the key, `value` as a `Box<str>`;
/// - the `Arc<V>`'s block;
/// - its bucket's vector as first allocated (room for [`BUCKET_FIRST_CAPACITY`] entries): an
///   entry has a bucket to itself unless the 64-bit hashes of two values collide;
/// - its share of the hash table's one block: a `(hash, bucket)` slot and a control byte for
///   each of 16/7 slots, since hashbrown fills at most 7/8 of its slots and doubles them when
///   they are, so that right after growing 7/16 of them are in use (the table never shrinks).
pub(crate) fn entry_weight<V>(value: &str, held: usize) -> usize {
    let slot = size_of::<(u64, Bucket<V>)>() + 1;
    heap_size::block(value.len())
        + heap_size::arc::<V>()
        + held
        + first_block(Bucket::<V>::new)
        + slot * 16 / 7
}

/// Bytes counted for the first block of a `Vec<T>` (made by `new`): room for
/// [`BUCKET_FIRST_CAPACITY`] elements.
fn first_block<T>(_new: fn() -> Vec<T>) -> usize {
    heap_size::block(BUCKET_FIRST_CAPACITY * size_of::<T>())
}

/// Bytes counted for the entry of `value` that opened to `entry`: the entry's own parts (see
/// [`entry_weight`]), its data (the map and the `Arc` around it) and its known fields' strings.
fn weight(value: &str, entry: &Cached) -> usize {
    entry_weight::<Cached>(value, heap_size::shared_map(&entry.data) + entry.known.heap_bytes())
}

impl OpenCache {
    pub(crate) fn with_budget(budget: usize) -> Self {
        OpenCache(ValueCache::with_budget(budget))
    }

    /// The entry for exactly `value` if it is still valid at `now` (Unix seconds) under
    /// `max_age`; an expired entry is dropped.
    pub(crate) fn get(&self, value: &str, now: u64, max_age: u64) -> Option<Arc<Cached>> {
        self.0.get(value, |entry| {
            entry.expires_at > now && entry.issued_at.saturating_add(max_age) > now
        })
    }

    /// Remembers that `value` opened to `entry`.
    pub(crate) fn insert(&self, value: &str, entry: Cached) {
        let weight = weight(value, &entry);
        self.0.insert(value, entry, weight);
    }

    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.0.bytes()
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(json_len: usize, issued_at: u64, expires_at: u64) -> Cached {
        Cached::new(Arc::default(), json_len, issued_at, expires_at)
    }

    /// An entry holding `data` (a JSON object).
    fn holding(data: Value) -> Cached {
        let json_len = data.to_string().len();
        let Value::Object(map) = data else { unreachable!("an object") };
        Cached::new(Arc::new(map), json_len, 0, u64::MAX)
    }

    /// A session as a Wristband login leaves it.
    fn wristband_session() -> Value {
        serde_json::json!({
            "isAuthenticated": true,
            "accessToken": "a".repeat(40),
            "expiresAt": 1_767_225_600_000_u64,
            "userId": "user-000001",
            "tenantId": "bench-tenant",
            "tenantName": "test-tenant",
            "identityProviderName": "wristband",
            "refreshToken": "r".repeat(40),
            "csrfToken": "c".repeat(32),
        })
    }

    #[test]
    fn a_stamp_is_remembered_and_compared_exactly() {
        let cached = entry(2, 0, 100);
        assert!(!cached.valid_under(0), "never checked");
        assert!(!cached.valid_under(NOT_CHECKED), "the marker is no stamp");
        cached.set_valid_under(7);
        assert!(cached.valid_under(7));
        assert!(!cached.valid_under(8), "a later stamp: checked again");
        assert!(!cached.valid_under(6));
    }

    #[test]
    fn only_the_exact_value_is_found() {
        let cache = OpenCache::default();
        cache.insert("AbCdEf", entry(2, 100, 200));
        assert!(cache.get("AbCdEf", 150, 3600).is_some());
        for other in ["AbCdE", "AbCdEf ", "abcdef", "AbCdEg", ""] {
            assert!(cache.get(other, 150, 3600).is_none(), "{other:?}");
        }
    }

    #[test]
    fn expiry_and_the_configured_max_age_are_checked_on_every_hit() {
        let cache = OpenCache::default();
        cache.insert("v", entry(2, 100, 200));
        assert!(cache.get("v", 199, 3600).is_some());
        assert!(cache.get("v", 200, 3600).is_none(), "sealed expires-at");
        assert_eq!(cache.len(), 0, "dropped once expired");
        cache.insert("w", entry(2, 100, 200));
        assert!(cache.get("w", 159, 60).is_some());
        assert!(cache.get("w", 160, 60).is_none(), "issued-at + max_age");
    }

    #[test]
    fn the_byte_budget_is_never_exceeded() {
        let budget = 10 * weight("value-00", &entry(100, 0, u64::MAX));
        let cache = OpenCache::with_budget(budget);
        for i in 0..100 {
            cache.insert(&format!("value-{i:02}"), entry(100, 0, u64::MAX));
            assert!(cache.bytes() <= budget, "{} > {budget}", cache.bytes());
            assert!(cache.get(&format!("value-{i:02}"), 1, u64::MAX).is_some(), "newest kept");
        }
        assert_eq!(cache.len(), 10);
        // An entry larger than the whole budget is not kept.
        cache.insert(&"x".repeat(budget), entry(0, 0, u64::MAX));
        assert!(cache.get(&"x".repeat(budget), 1, u64::MAX).is_none());
    }

    #[test]
    fn the_bucket_hash_reads_exactly_the_last_suffix_bytes() {
        let hasher = RandomState::new();
        let hash = |value: &str| suffix_hash(&hasher, value);
        let tail = "0123456789abcdef";
        assert_eq!(tail.len(), HASHED_SUFFIX);
        assert_eq!(hash(&format!("x{tail}")), hash(&format!("yy{tail}")));
        assert_ne!(hash(&format!("{tail}x")), hash(&format!("{tail}y")));
        // A shorter value is padded in front, never read past its end.
        assert_ne!(hash("a"), hash("b"));
        assert_eq!(hash("abc"), hash("\0abc"));
        assert_ne!(hash(""), hash("\u{1}"));
    }

    #[test]
    fn values_sharing_a_suffix_are_told_apart_by_the_whole_value() {
        let cache = OpenCache::default();
        let tail = "T".repeat(HASHED_SUFFIX);
        cache.insert(&format!("one{tail}"), entry(1, 0, 100));
        cache.insert(&format!("two{tail}"), entry(2, 0, 100));
        assert_eq!(cache.get(&format!("one{tail}"), 1, 100).unwrap().json_len, 1);
        assert_eq!(cache.get(&format!("two{tail}"), 1, 100).unwrap().json_len, 2);
        assert!(cache.get(&format!("six{tail}"), 1, 100).is_none());
        assert!(cache.get(&tail, 1, 100).is_none());
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn retain_drops_what_it_is_told_to_and_keeps_the_count_exact() {
        let cache = ValueCache::<u32>::with_budget(1 << 20);
        // `a` and `b` share their last 16 bytes, so their bucket: one of them goes, the
        // bucket stays; `c` has a bucket of its own, which goes with it.
        let suffix = "0123456789abcdef";
        let (a, b, c) = (format!("a{suffix}"), format!("b{suffix}"), "c".to_string());
        for (i, value) in [&a, &b, &c].into_iter().enumerate() {
            cache.insert(value, i as u32, 100 + i);
        }
        assert_eq!((cache.len(), cache.bytes()), (3, 303));
        cache.retain(|n| *n == 0);
        assert_eq!((cache.len(), cache.bytes()), (1, 100));
        assert_eq!(cache.get(&a, |_| true).as_deref(), Some(&0));
        assert!(cache.get(&b, |_| true).is_none());
        assert!(cache.get(&c, |_| true).is_none());
        cache.retain(|_| false);
        assert_eq!((cache.len(), cache.bytes()), (0, 0));
    }

    #[test]
    fn replacing_an_entry_keeps_the_count_exact() {
        let cache = OpenCache::default();
        cache.insert("v", entry(10, 0, 100));
        let bigger = holding(wristband_session());
        let expected = weight("v", &bigger);
        assert!(expected > weight("v", &entry(10, 0, 100)));
        cache.insert("v", bigger);
        assert_eq!(cache.bytes(), expected);
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn a_weight_counts_the_value_byte_for_byte() {
        let data = holding(wristband_session());
        let short = weight(&"v".repeat(300), &data);
        assert_eq!(weight(&"v".repeat(301), &data), short + 1);
        assert_eq!(weight(&"v".repeat(400), &data), short + 100);
        assert!(short > 300 + heap_size::map(&data.data));
    }

    #[test]
    fn a_weight_grows_with_the_data() {
        let value = "v".repeat(374);
        let mut data = wristband_session();
        let mut last = weight(&value, &holding(Value::Object(Map::new())));
        for i in 0..30 {
            data[format!("custom-{i:02}")] = Value::String("x".repeat(i));
            let now = weight(&value, &holding(data.clone()));
            assert!(now > last, "field {i}: {now} <= {last}");
            last = now;
        }
        let nested = |text: &str| holding(serde_json::json!({ "a": { "b": [text] } }));
        assert!(weight(&value, &nested("longer")) > weight(&value, &nested("short")));
    }

    #[test]
    fn a_wristband_session_weighs_what_it_holds() {
        // At least: the cookie value, the strings of the map (keys and values), its one B-tree
        // node (room for 11 entries), the entry's `Arc` and the bucket (room for 4); at most
        // twice that.
        let value = "v".repeat(374);
        let data = wristband_session();
        let strings: usize = data
            .as_object()
            .unwrap()
            .iter()
            .map(|(key, item)| key.len() + item.as_str().map_or(0, str::len))
            .sum();
        let node = 11 * (size_of::<String>() + size_of::<Value>());
        let slot = size_of::<(Box<str>, Arc<Cached>, usize)>();
        let least = value.len() + strings + node + size_of::<Cached>() + 4 * slot;
        let counted = weight(&value, &holding(data));
        assert!((least..2 * least).contains(&counted), "{counted} for at least {least}");
    }

    #[test]
    fn a_bucket_s_first_block_has_the_room_counted() {
        let mut bucket = Bucket::<Cached>::new();
        assert_eq!(bucket.capacity(), 0, "no block before the first entry");
        bucket.push(("v".into(), Arc::new(entry(0, 0, 1)), 0));
        assert_eq!(bucket.capacity(), BUCKET_FIRST_CAPACITY);
        assert_eq!(
            first_block(Bucket::<Cached>::new),
            heap_size::block(BUCKET_FIRST_CAPACITY * size_of::<(Box<str>, Arc<Cached>, usize)>())
        );
    }
}

//! Request-local session state: loaded at most once, and one place that decides what the
//! response must write.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use rocket::Request;
use serde_json::{Map, Value};

use crate::session::known::Known;
use crate::session::open_cache::Cached;

/// What the response phase must do with the session cookie.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Pending {
    /// Nothing was changed: write nothing (but remove an invalid presented cookie).
    #[default]
    Nothing,
    /// Seal the data and write the cookie(s) with a fresh expiry.
    Write,
    /// Remove the session cookie(s) and the CSRF cookie.
    Destroy,
}

/// How the presented cookie was loaded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Loaded {
    /// Not read yet (lazy): nothing was decrypted.
    #[default]
    No,
    /// Read: there was no cookie, or it opened.
    Valid,
    /// Read: a cookie was presented and refused.
    Invalid,
}

/// The session of one request, kept in `Request::local_cache` and shared by every guard of
/// that request and by the response fairing. Created when the response phase may have
/// something to do: a change, a queued header, a cookie opened in full (to be cached) or
/// refused (to be removed). A guard that only reads a session found in the open cache, or a
/// request without a cookie, reads its own copy of the loaded state instead (`Session::read`),
/// until a state exists.
#[derive(Debug, Default)]
pub(crate) struct SessionState {
    inner: Mutex<Inner>,
    /// Its slot of [`LIVE`], where it is counted (`None`: not counted, in unit tests).
    slot: Option<usize>,
    /// Whether it is also counted in [`UNROUTED`].
    unrouted: bool,
}

/// The number of slots of [`LIVE`].
const SLOTS: usize = 64;

/// How many request-local session states are alive, per slot of the requests' addresses
/// ([`slot`]): a request whose slot counts none has no session state, so the response phase of
/// a request that never touched its session (a static file, a bearer-token API) leaves
/// Rocket's request-local cache alone instead of creating an empty state in it (an allocation
/// of the cache's table and one of the state, and their release). A state counts from its
/// creation until it is dropped with its request, whatever ends the request; two requests
/// sharing a slot only send the other one down the full path. Process-wide, as request
/// addresses are.
static LIVE: [AtomicU32; SLOTS] = [const { AtomicU32::new(0) }; SLOTS];

/// How many live session states were created before their request was routed (by a request
/// fairing, or a catcher of a request no route matched). Rocket's local client moves a request
/// after its request fairings ran, so such a state may be counted under another address than
/// the one its response phase sees: while any is alive, every response phase looks.
static UNROUTED: AtomicU32 = AtomicU32::new(0);

/// `req`'s slot of [`LIVE`]: its address, mixed (Fibonacci hashing).
fn slot(req: &Request<'_>) -> usize {
    let address = std::ptr::from_ref(req) as usize;
    // The top 6 bits of the product.
    (address.wrapping_mul(0x9E37_79B9_7F4A_7C15_u64 as usize) >> (usize::BITS - 6)) % SLOTS
}

impl SessionState {
    /// `req`'s session state, created (and counted in [`LIVE`]) if it has none yet.
    pub(crate) fn of<'r>(req: &'r Request<'_>) -> &'r SessionState {
        req.local_cache(|| {
            let slot = slot(req);
            LIVE[slot].fetch_add(1, Ordering::AcqRel);
            let unrouted = req.route().is_none();
            if unrouted {
                UNROUTED.fetch_add(1, Ordering::AcqRel);
            }
            SessionState { inner: Mutex::default(), slot: Some(slot), unrouted }
        })
    }

    /// `req`'s session state if it may have one; `None` when nothing of this request created
    /// one (see [`LIVE`]).
    pub(crate) fn existing<'r>(req: &'r Request<'_>) -> Option<&'r SessionState> {
        SessionState::may_exist(req).then(|| SessionState::of(req))
    }

    /// Whether `req` may have a session state: `false` only when it has none for certain.
    pub(crate) fn may_exist(req: &Request<'_>) -> bool {
        LIVE[slot(req)].load(Ordering::Acquire) > 0 || UNROUTED.load(Ordering::Acquire) > 0
    }
}

impl Drop for SessionState {
    fn drop(&mut self) {
        if let Some(slot) = self.slot {
            LIVE[slot].fetch_sub(1, Ordering::AcqRel);
        }
        if self.unrouted {
            UNROUTED.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// The data behind the lock.
#[derive(Debug)]
pub(crate) struct Inner {
    /// Shared with the open cache until the first change (copy on write), so a request that
    /// only reads a cached session copies nothing.
    data: Arc<Map<String, Value>>,
    /// The length of `data`'s compact JSON text, kept up to date by `insert` and `remove` so
    /// that the size check of an insert does not serialize the whole session again. `None`:
    /// not known (counted on demand). Loaded sessions start from the length of their sealed
    /// JSON, which is exact for everything this crate seals (serde_json's compact output); for
    /// JSON sealed elsewhere in another layout it is only an estimate, and the response phase
    /// still refuses to write a cookie over the budget (a 500, the old cookie kept).
    json_len: Option<usize>,
    /// When the presented cookie was sealed (Unix seconds); `None` without one.
    issued_at: Option<u64>,
    /// See [`Opened::uncached_expiry`].
    uncached_expiry: Option<u64>,
    /// See [`Opened::hit`].
    hit: Option<Arc<Cached>>,
    loaded: Loaded,
    pending: Pending,
    /// `Set-Cookie` headers another layer queued for this response (the `auth` layer's
    /// login-state cookies), written by the fairing's response phase if no responder took them.
    queued: Vec<String>,
}

impl Default for Inner {
    fn default() -> Self {
        Inner {
            data: empty_data(),
            json_len: None,
            issued_at: None,
            uncached_expiry: None,
            hit: None,
            loaded: Loaded::default(),
            pending: Pending::default(),
            queued: Vec::new(),
        }
    }
}

/// The empty session, shared: a request that never loads its session, or finds no cookie,
/// allocates nothing for it (the first change copies it, as for any shared data).
pub(crate) fn empty_data() -> Arc<Map<String, Value>> {
    the_empty_data().clone()
}

/// The one empty session behind [`empty_data`], borrowed.
fn the_empty_data() -> &'static Arc<Map<String, Value>> {
    static EMPTY: OnceLock<Arc<Map<String, Value>>> = OnceLock::new();
    EMPTY.get_or_init(Arc::default)
}

/// A session that one guard loaded on its own, to read it while the request has no shared
/// state (see `Session::read`): one the response phase has nothing to do for, an open-cache
/// hit (`Some`) or the empty session (`None`: no cookie, or one withheld by revocation).
pub(crate) type View = Option<Arc<Cached>>;

/// `opened` as a [`View`] if it is one (nothing for the response phase: not opened in full,
/// so not to be cached), else `opened` back.
pub(crate) fn view(opened: Opened) -> Result<View, Opened> {
    match opened.hit {
        Some(hit) if opened.uncached_expiry.is_none() && Arc::ptr_eq(&hit.data, &opened.data) => {
            Ok(Some(hit))
        }
        None if opened.uncached_expiry.is_none()
            && opened.issued_at.is_none()
            && opened.data.is_empty() =>
        {
            Ok(None)
        }
        hit => Err(Opened { hit, ..opened }),
    }
}

/// The session as a read sees it: a guard's own [`View`], or the request's shared state.
pub(crate) enum Seen<'a> {
    /// An open-cache hit read on its own.
    Hit(&'a Cached),
    /// The empty session read on its own.
    Empty,
    /// The request's shared state.
    Shared(&'a Inner),
}

impl<'a> Seen<'a> {
    /// What a guard's `view` shows.
    pub(crate) fn of_view(view: &'a View) -> Self {
        view.as_deref().map_or(Seen::Empty, Seen::Hit)
    }

    /// The data.
    pub(crate) fn data(&self) -> &'a Map<String, Value> {
        match self {
            Seen::Hit(hit) => &hit.data,
            Seen::Empty => the_empty_data(),
            Seen::Shared(inner) => inner.data(),
        }
    }

    /// The looked-up fields of the open-cache entry the data is (see [`Inner::known`]).
    pub(crate) fn known(&self) -> Option<&'a Known> {
        match self {
            Seen::Hit(hit) => Some(&hit.known),
            Seen::Empty => None,
            Seen::Shared(inner) => inner.known(),
        }
    }

    /// When the presented cookie was sealed (see [`Inner::issued_at`]).
    pub(crate) fn issued_at(&self) -> Option<u64> {
        match self {
            Seen::Hit(hit) => Some(hit.issued_at),
            Seen::Empty => None,
            Seen::Shared(inner) => inner.issued_at(),
        }
    }

    /// What the response phase will do: nothing for a view.
    pub(crate) fn pending(&self) -> Pending {
        match self {
            Seen::Hit(_) | Seen::Empty => Pending::Nothing,
            Seen::Shared(inner) => inner.pending(),
        }
    }
}

/// A presented cookie, opened (or the empty session of a request without one).
pub(crate) struct Opened {
    pub(crate) data: Arc<Map<String, Value>>,
    /// The length of `data`'s JSON text.
    pub(crate) json_len: usize,
    /// When it was sealed (Unix seconds); `None` when there was no cookie.
    pub(crate) issued_at: Option<u64>,
    /// Its sealed expires-at, when it was opened in full (not found in the open cache): the
    /// response phase may cache it then.
    pub(crate) uncached_expiry: Option<u64>,
    /// The open-cache entry it was found in (its `data` is that entry's): the accessors read
    /// the entry's [`Known`] fields while the request's data is still that map.
    pub(crate) hit: Option<Arc<Cached>>,
}

impl Opened {
    /// The session of the open-cache entry `hit`: its data shared, not copied.
    pub(crate) fn hit(hit: Arc<Cached>) -> Self {
        Opened {
            data: hit.data.clone(),
            json_len: hit.json_len,
            issued_at: Some(hit.issued_at),
            uncached_expiry: None,
            hit: Some(hit),
        }
    }

    /// The session a guard's [`View`] holds.
    pub(crate) fn of_view(view: &View) -> Self {
        view.clone().map_or_else(Opened::empty, Opened::hit)
    }

    /// The session of a request that carried no cookie.
    pub(crate) fn empty() -> Self {
        Opened {
            data: empty_data(),
            json_len: 2,
            issued_at: None,
            uncached_expiry: None,
            hit: None,
        }
    }
}

/// Counts the bytes of JSON text without writing them anywhere.
struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The length of `value`'s compact JSON text.
pub(crate) fn json_len<T: serde::Serialize + ?Sized>(value: &T) -> usize {
    let mut counter = Counter(0);
    // Neither a `Value` nor a `str` can fail to serialize, and writing to a counter cannot fail.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

/// The length of `"key":value` in a JSON object.
fn entry_len(key: &str, value: &Value) -> usize {
    json_len(key) + 1 + json_len(value)
}

impl SessionState {
    /// Locks the state. A poisoned lock (a handler panicked while holding it) still yields the
    /// data: the response is a 500 then, and 5xx responses write no cookie.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Inner {
    /// Loads the data with `load` if this request has not read it yet. `load` returns the
    /// opened session, or `None` if a presented cookie was refused.
    pub(crate) fn load(&mut self, load: impl FnOnce() -> Option<Opened>) {
        if self.loaded == Loaded::No {
            match load() {
                Some(opened) => {
                    self.data = opened.data;
                    self.json_len = Some(opened.json_len);
                    self.issued_at = opened.issued_at;
                    self.uncached_expiry = opened.uncached_expiry;
                    self.hit = opened.hit;
                    self.loaded = Loaded::Valid;
                }
                None => self.loaded = Loaded::Invalid,
            }
        }
    }

    /// Replaces the data without reading the presented cookie (for `clear` and logins), with
    /// the length of its JSON text if known.
    pub(crate) fn replace(&mut self, data: Map<String, Value>, json_len: Option<usize>) {
        self.data = Arc::new(data);
        self.json_len = json_len;
        if self.loaded == Loaded::No {
            self.loaded = Loaded::Valid;
        }
        self.mark(Pending::Write);
    }

    /// Stores `value` under `key`, returning the previous value; keeps the JSON length.
    pub(crate) fn insert(&mut self, key: &str, value: Value) -> Option<Value> {
        let added = entry_len(key, &value);
        let previous = Arc::make_mut(&mut self.data).insert(key.to_string(), value);
        if let Some(len) = self.json_len.as_mut() {
            *len = match &previous {
                Some(old) => len.saturating_sub(entry_len(key, old)) + added,
                // `{}` has no comma; each further entry brings one.
                None => *len + added + usize::from(self.data.len() > 1),
            };
        }
        previous
    }

    /// Removes `key`, returning its value; keeps the JSON length.
    pub(crate) fn remove(&mut self, key: &str) -> Option<Value> {
        // No copy of a shared map for a key it does not hold.
        let removed = if self.data.contains_key(key) {
            Arc::make_mut(&mut self.data).remove(key)
        } else {
            None
        };
        if let (Some(len), Some(old)) = (self.json_len.as_mut(), &removed) {
            *len = len.saturating_sub(entry_len(key, old) + usize::from(!self.data.is_empty()));
        }
        removed
    }

    /// The length of the data's compact JSON text (counted once if not known).
    pub(crate) fn json_len(&mut self) -> usize {
        let data: &Map<String, Value> = &self.data;
        *self.json_len.get_or_insert_with(|| json_len(data))
    }

    /// The one place that decides what the response writes. `Destroy` followed by a write
    /// starts a new session; a write never undoes a destroy of the old cookie's content
    /// because `destroy` empties the data first.
    pub(crate) fn mark(&mut self, pending: Pending) {
        self.pending = pending;
    }

    /// Destroys the session: no data, removal cookies in the response.
    pub(crate) fn destroy(&mut self) {
        self.data = empty_data();
        self.json_len = None;
        if self.loaded == Loaded::No {
            self.loaded = Loaded::Valid;
        }
        self.mark(Pending::Destroy);
    }

    pub(crate) fn pending(&self) -> Pending {
        self.pending
    }

    pub(crate) fn loaded(&self) -> Loaded {
        self.loaded
    }

    /// The data as it is (loaded or not).
    pub(crate) fn data(&self) -> &Map<String, Value> {
        &self.data
    }

    /// The fields of the open-cache entry the data came from, while the data is still that
    /// entry's map: `None` once this request changed it (the first change copies the map,
    /// since the entry holds it too, so it is another map from then on) or replaced it.
    pub(crate) fn known(&self) -> Option<&Known> {
        self.hit.as_deref().filter(|hit| Arc::ptr_eq(&hit.data, &self.data)).map(|hit| &hit.known)
    }

    /// When the presented cookie was sealed, if one was presented and opened.
    pub(crate) fn issued_at(&self) -> Option<u64> {
        self.issued_at
    }

    /// For the open cache, after the response: the session as the presented cookie held it,
    /// with its JSON length, issued-at and expires-at, if the cookie was opened in full and the
    /// request neither changed nor replaced it. Leaves the data empty.
    pub(crate) fn take_unchanged_for_cache(&mut self) -> Option<Cached> {
        if self.pending != Pending::Nothing || self.loaded != Loaded::Valid {
            return None;
        }
        let expires_at = self.uncached_expiry.take()?;
        let issued_at = self.issued_at?;
        let json_len = self.json_len?;
        let data = std::mem::replace(&mut self.data, empty_data());
        Some(Cached::new(data, json_len, issued_at, expires_at))
    }

    /// Queues a raw `Set-Cookie` header for this response.
    pub(crate) fn queue(&mut self, header: String) {
        self.queued.push(header);
    }

    /// The queued `Set-Cookie` headers, each handed out once.
    pub(crate) fn take_queued(&mut self) -> Vec<String> {
        std::mem::take(&mut self.queued)
    }

    /// The length of the data's JSON text if known without counting.
    pub(crate) fn known_json_len(&self) -> Option<usize> {
        self.json_len
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn opened(data: Value, json_len: usize) -> Opened {
        Opened {
            data: Arc::new(data.as_object().unwrap().clone()),
            json_len,
            issued_at: Some(1),
            uncached_expiry: Some(2),
            hit: None,
        }
    }

    #[test]
    fn only_what_the_response_phase_ignores_is_a_view() {
        let hit = Arc::new(Cached::new(Arc::new(Map::new()), 2, 1, 2));
        assert!(matches!(view(Opened::hit(hit.clone())), Ok(Some(h)) if Arc::ptr_eq(&h, &hit)));
        assert!(matches!(view(Opened::empty()), Ok(None)));
        // Opened in full: the response phase caches it.
        assert!(view(opened(json!({"a": 1}), 7)).is_err());
        assert!(view(opened(json!({}), 2)).is_err());
        // A hit whose data is not the entry's own map is not read as the entry.
        let other = Opened { data: Arc::new(Map::new()), ..Opened::hit(hit.clone()) };
        assert!(view(other).is_err());
        // An empty session that came from a cookie (issued-at known) is not the no-cookie one.
        let sealed_empty = Opened { issued_at: Some(1), ..Opened::empty() };
        assert!(view(sealed_empty).is_err());
        // What a view holds loads a state as the open did.
        let reopened = Opened::of_view(&Some(hit.clone()));
        assert!(Arc::ptr_eq(&reopened.data, &hit.data) && reopened.uncached_expiry.is_none());
        assert_eq!((reopened.issued_at, reopened.json_len), (Some(1), 2));
        assert!(Opened::of_view(&None).data.is_empty());
    }

    #[test]
    fn loads_once_and_only_when_asked() {
        let state = SessionState::default();
        let mut inner = state.lock();
        assert_eq!(inner.loaded(), Loaded::No);
        let mut calls = 0;
        inner.load(|| {
            calls += 1;
            Some(opened(json!({"a": 1}), 7))
        });
        inner.load(|| {
            calls += 1;
            None
        });
        assert_eq!(calls, 1);
        assert_eq!(inner.loaded(), Loaded::Valid);
        assert_eq!(inner.pending(), Pending::Nothing);
    }

    #[test]
    fn refused_cookie_is_remembered_and_data_is_empty() {
        let state = SessionState::default();
        let mut inner = state.lock();
        inner.load(|| None);
        assert!(inner.data().is_empty());
        assert_eq!(inner.loaded(), Loaded::Invalid);
    }

    #[test]
    fn destroy_then_write_starts_afresh() {
        let state = SessionState::default();
        let mut inner = state.lock();
        inner.load(|| Some(opened(json!({"old": 1}), 9)));
        inner.destroy();
        assert_eq!(inner.pending(), Pending::Destroy);
        assert!(inner.data().is_empty());
        inner.replace(json!({"new": 2}).as_object().unwrap().clone(), None);
        assert_eq!(inner.pending(), Pending::Write);
        assert!(!inner.data().contains_key("old"));
    }

    #[test]
    fn tracked_json_length_matches_serde_json_after_every_change() {
        let state = SessionState::default();
        let mut inner = state.lock();
        inner.load(|| Some(Opened::empty()));
        let values = [
            json!(1),
            json!("a \"quoted\" \u{e9}\u{1F389} string\n"),
            json!({"nested": [1, 2.5, null, true], "k": {}}),
            json!([]),
            json!(null),
            json!(-12345678901_i64),
        ];
        let keys = ["a", "b", "ключ", "with \"quote\"", "a"];
        let exact = |inner: &mut Inner| {
            let real = serde_json::to_vec(inner.data()).unwrap().len();
            assert_eq!(inner.json_len(), real, "{:?}", inner.data());
        };
        for (i, value) in values.iter().cycle().take(30).enumerate() {
            inner.insert(keys[i % keys.len()], value.clone());
            exact(&mut inner);
            if i % 4 == 3 {
                inner.remove(keys[(i + 2) % keys.len()]);
                exact(&mut inner);
            }
        }
        for key in keys {
            inner.remove(key);
            exact(&mut inner);
        }
        assert_eq!(inner.json_len(), 2);
    }
}

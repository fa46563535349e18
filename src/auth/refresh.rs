//! Token refresh for [`AuthenticatedSession`](crate::AuthenticatedSession): the
//! implementation of the session layer's refresh hook, with single flight per process.
//!
//! Wristband rotates refresh tokens: the first refresh spends the token, and a second refresh
//! with it is refused, which would sign the user out. A browser's parallel requests all carry
//! the same (expired) session, so they all want to refresh at once. Here they share one call:
//! requests carrying the same refresh token wait for the first one's call and all get its
//! result. The result is remembered for [`REMEMBER_FOR`] after the call started, so a request
//! that still carries the old cookie (sent before the browser stored the new one) gets the same
//! new tokens instead of replaying a spent refresh token.
//!
//! # Which refusals end a session
//!
//! This is the one place that decides it ([`call`] applies it). Wristband rotates refresh
//! tokens, so a refresh token is presented to Wristband at most once after it may have been
//! spent: a refresh call is retried only when it certainly never reached Wristband (it could
//! not connect), and a call that may have reached it is never repeated while its result is
//! remembered, here or (with Redis) on any instance.
//!
//! | Wristband's answer to the refresh | outcome |
//! | --- | --- |
//! | 200 with tokens | the session gets them |
//! | `invalid_grant` (any status; the refresh token is expired, revoked or spent) | [`Refreshed::Refused`]: the request answers 401. The session cookie is removed only when the refresh was coordinated across the fleet (below) and a second look in Redis still finds the refusal; otherwise it is kept, because another instance may have just rotated the token and written a newer cookie that a removal would overwrite. The refusal is remembered for [`REMEMBER_FOR`], so a dead token costs at most one call per instance per 30 s |
//! | another 4xx (`invalid_client` after a bad client-secret deploy, `invalid_request`, …) | [`Refreshed::Failed`], not retried: the instance's or the request's fault, not the user's, so the session is kept and the request answers 401; the token is not spent, and the next request tries again |
//! | could not connect (3 tries, 100 ms apart) | [`Refreshed::Failed`]: the session is kept; the token never reached Wristband, and the next request tries again |
//! | 5xx, a time-out (the whole refresh has [`REFRESH_DEADLINE`]), a broken connection, an unreadable 200 | [`Refreshed::Failed`], not retried: the session is kept (a temporary failure, never a sign-out), but Wristband may have rotated the token and its answer was lost, so the token is not presented again for [`REMEMBER_FOR`]. After that a request may try once more: Wristband then renews it (the call never took effect) or refuses it (it did: the user signs in again) |
//!
//! # Across a fleet
//!
//! The single flight above is per process. With the cargo feature `redis` and a `revocation`
//! table, the session layer manages a [`SharedRefresh`] over the same Redis, and refreshes are
//! single flight across instances:
//!
//! 1. An instance looks for a result left under a hash of the refresh token. If Redis cannot
//!    be reached at this first step (an outage), it refreshes for itself alone, with a warning.
//! 2. Otherwise it takes a lock on that hash (`SET NX PX`) whose value is a random owner id,
//!    for [`LOCK_HOLD`], longer than the holder's whole call ([`REFRESH_DEADLINE`]), so a lock
//!    never lapses while its holder may still spend the token. The lock is released only by
//!    its owner (compare-and-delete).
//! 3. The holder looks once more, calls Wristband, and leaves the result (new tokens, a
//!    refusal, or "may be spent") sealed with the session's secrets and bound to its Redis key
//!    for [`REMEMBER_FOR`]. Only new tokens replace a result already there: a refusal never
//!    overwrites them.
//! 4. The others poll for the result (every [`POLL`], at most [`WAIT_FOR_OTHERS`]) and use it.
//!    A waiter that gives up answers 401 and keeps the session.
//! 5. A refusal removes the session cookie only if a second look still finds a refusal (not
//!    new tokens another instance left meanwhile).
//!
//! Any Redis error after the first step (the lock command included: a `SET NX` that timed out
//! may still have taken effect) ends the refresh without calling Wristband: 401, the session
//! kept, a later request tries again. With a healthy Redis, Wristband sees one call per
//! refresh token. When Redis loses a lock (a failover to a replica that never received it), a
//! second instance may call with the same token; it gets `invalid_grant`, finds the first
//! one's tokens on its second look and uses them, so nobody is signed out.
//!
//! Memory: at most [`MAX_ENTRIES`] entries (an entry holds a SHA-256 of the refresh token and,
//! once done, the new tokens; an estimate, not a measurement: with a 1.5 KB access token and a
//! short refresh token that is about 2 KB, so at most about 20 MB),
//! whatever the number of sessions; expired entries are dropped when the table fills, and the
//! oldest one if it is still full. A failure that certainly left the token unspent
//! (Wristband unreachable, another 4xx) is not remembered: the next request tries again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rocket::async_trait;
use rocket::tokio::sync::OnceCell;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::callback::expiry;
use super::client::{HttpClient, REFRESH_DEADLINE};
use super::error::WristbandError;
use super::fairing::WristbandAuth;
use crate::session::refresh_hook::{
    FreshTokens, RefreshTokens, Refreshed, SharedRefresh, SharedRefreshStore, SharedResult,
};

/// How long a refresh's result is given to requests carrying the same refresh token, counted
/// from the start of the call (and kept in Redis across a fleet).
pub(crate) const REMEMBER_FOR: Duration = Duration::from_secs(30);
/// The most refresh results kept at once.
pub(crate) const MAX_ENTRIES: usize = 10_000;
/// How long an instance holds the fleet-wide lock on one refresh token at most (a crashed
/// holder's lock lapses after this): longer than the holder's whole call
/// ([`REFRESH_DEADLINE`]) and the Redis commands around it, so the lock never lapses while
/// its holder may still spend the token.
pub(crate) const LOCK_HOLD: Duration = Duration::from_secs(15);
/// How long an instance waits for another's refresh result before answering 401 (the session
/// kept): as long as the holder's call may take, and a little more.
pub(crate) const WAIT_FOR_OTHERS: Duration =
    Duration::from_millis(REFRESH_DEADLINE.as_millis() as u64 + 1_000);
// The lock outlives its holder's call with time to spare for the Redis commands around it.
const _: () = assert!(LOCK_HOLD.as_millis() >= REFRESH_DEADLINE.as_millis() + 5_000);
/// How often a waiting instance looks for that result.
pub(crate) const POLL: Duration = Duration::from_millis(25);

type Key = [u8; 32];

struct Entry {
    started: Instant,
    result: Arc<OnceCell<Called>>,
}

/// Refreshes tokens through Wristband's token endpoint, one call per refresh token.
pub(crate) struct SingleFlightRefresher {
    http: Arc<HttpClient>,
    buffer: i64,
    window: Duration,
    capacity: usize,
    entries: Mutex<HashMap<Key, Entry>>,
    /// The fleet-wide store, once both fairings have ignited (`None`: per process only).
    shared: OnceLock<Option<SharedRefresh>>,
}

impl std::fmt::Debug for SingleFlightRefresher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shared = self.shared.get().map(Option::is_some);
        f.debug_struct("SingleFlightRefresher").field("across_fleet", &shared).finish()
    }
}

impl SingleFlightRefresher {
    /// A refresher using `http`, taking `buffer` seconds off each new token's lifetime.
    pub(crate) fn new(http: Arc<HttpClient>, buffer: i64) -> Self {
        Self::with_limits(http, buffer, REMEMBER_FOR, MAX_ENTRIES)
    }

    fn with_limits(http: Arc<HttpClient>, buffer: i64, window: Duration, capacity: usize) -> Self {
        SingleFlightRefresher {
            http,
            buffer,
            window,
            capacity: capacity.max(1),
            entries: Mutex::new(HashMap::new()),
            shared: OnceLock::new(),
        }
    }

    /// Sets the fleet-wide store (once; later calls are ignored).
    pub(crate) fn set_shared(&self, shared: Option<SharedRefresh>) {
        let _ = self.shared.set(shared);
    }

    /// How many results are held now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The shared result slot for `key`: the live one, or a new one (making room first).
    fn slot(&self, key: Key) -> Arc<OnceCell<Called>> {
        let now = Instant::now();
        let mut entries = self.lock();
        if let Some(entry) = entries.get(&key)
            && now.duration_since(entry.started) < self.window
        {
            return entry.result.clone();
        }
        if entries.len() >= self.capacity {
            entries.retain(|_, entry| now.duration_since(entry.started) < self.window);
        }
        if entries.len() >= self.capacity {
            let oldest = entries.iter().min_by_key(|(_, entry)| entry.started).map(|(k, _)| *k);
            if let Some(oldest) = oldest {
                entries.remove(&oldest);
            }
        }
        let result = Arc::new(OnceCell::new());
        entries.insert(key, Entry { started: now, result: result.clone() });
        result
    }

    /// Forgets `key`'s result if it is still `slot` (a failure: the next request retries).
    fn forget(&self, key: &Key, slot: &Arc<OnceCell<Called>>) {
        let mut entries = self.lock();
        if entries.get(key).is_some_and(|entry| Arc::ptr_eq(&entry.result, slot)) {
            entries.remove(key);
        }
    }
}

/// What one refresh came to, as this module keeps it: the guard's [`Refreshed`], with failures
/// split by whether the refresh token may have been spent.
#[derive(Debug, Clone)]
enum Called {
    /// New tokens.
    Tokens(FreshTokens),
    /// `invalid_grant`; `end_session` as in [`Refreshed::Refused`].
    Refused { end_session: bool },
    /// Failed, and the token is certainly not spent (the request never reached Wristband, or
    /// Wristband refused the client rather than the grant, or this instance never called):
    /// the next request may try again.
    NotSpent,
    /// Failed after the request may have reached Wristband (a time-out, a 5xx, a broken or
    /// unreadable answer): Wristband may have rotated the token and its answer was lost, so
    /// the token is not presented again while the result is kept (30 s); the session is kept.
    MaybeSpent,
}

impl Called {
    fn refreshed(&self) -> Refreshed {
        match self {
            Called::Tokens(tokens) => Refreshed::Tokens(tokens.clone()),
            Called::Refused { end_session } => Refreshed::Refused { end_session: *end_session },
            Called::NotSpent | Called::MaybeSpent => Refreshed::Failed,
        }
    }
}

/// One call to Wristband's token endpoint (retried only while it could not connect: see
/// `HttpClient`).
async fn call(http: Arc<HttpClient>, buffer: i64, refresh_token: String) -> Called {
    match http.refresh_classified(&refresh_token).await {
        Ok(tokens) => {
            let (_, expires_at) = expiry(tokens.expires_in, buffer, OffsetDateTime::now_utc());
            Called::Tokens(FreshTokens {
                access_token: tokens.access_token,
                expires_at,
                refresh_token: tokens.refresh_token.filter(|token| !token.is_empty()),
            })
        }
        // The rule: the module docs, "Which refusals end a session".
        Err(failure) if matches!(failure.error, WristbandError::InvalidGrant { .. }) => {
            log::info!("token refresh refused by Wristband: {}", failure.error);
            Called::Refused { end_session: false }
        }
        Err(failure) if failure.refused => {
            log::error!("token refresh rejected by Wristband (session kept): {}", failure.error);
            Called::NotSpent
        }
        Err(failure) if failure.unsent => {
            log::warn!("token refresh failed (session kept): {}", failure.error);
            Called::NotSpent
        }
        Err(failure) => {
            log::warn!(
                "token refresh failed after the request may have reached Wristband (session \
                 kept; this refresh token is not presented again for {} s): {}",
                REMEMBER_FOR.as_secs(),
                failure.error
            );
            Called::MaybeSpent
        }
    }
}

/// A random owner id for the fleet lock (128 bits, hex).
fn lock_owner() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// The refresh of `refresh_token` made once across the fleet through `shared` (the module
/// docs, "Across a fleet").
async fn coordinated(
    shared: SharedRefresh,
    key: String,
    http: Arc<HttpClient>,
    buffer: i64,
    refresh_token: String,
    keep: Duration,
) -> Called {
    let store = &shared.0;
    // The first look: Redis unreachable before this instance took any part in the protocol
    // means an outage, and the refresh falls back to this process alone.
    match store.result(&key).await {
        Ok(Some(result)) => return confirmed(store.as_ref(), &key, result).await,
        Ok(None) => {}
        Err(e) => {
            log::warn!("token refresh: Redis unreachable ({e}); refreshing for this instance only");
            return call(http, buffer, refresh_token).await;
        }
    }
    // From here on an error may hide a lock this instance (a `SET NX` that timed out but took
    // effect) or another one holds: never call Wristband then.
    let mid_protocol = |e: String| {
        log::warn!(
            "token refresh: Redis failed mid-protocol ({e}); 401 for now, the session is kept"
        );
        Called::NotSpent
    };
    let owner = lock_owner();
    let deadline = Instant::now() + WAIT_FOR_OTHERS;
    loop {
        match store.try_lock(&key, &owner, LOCK_HOLD).await {
            Ok(true) => {
                return holder(store.as_ref(), &key, &owner, http, buffer, refresh_token, keep)
                    .await
            }
            Ok(false) => {}
            Err(e) => return mid_protocol(e),
        }
        if Instant::now() >= deadline {
            log::warn!(
                "token refresh: no result from the instance refreshing this token within {}s; \
                 401 for now, the session is kept",
                WAIT_FOR_OTHERS.as_secs()
            );
            return Called::NotSpent;
        }
        rocket::tokio::time::sleep(POLL).await;
        match store.result(&key).await {
            Ok(Some(result)) => return confirmed(store.as_ref(), &key, result).await,
            Ok(None) => {}
            Err(e) => return mid_protocol(e),
        }
    }
}

/// What the lock holder does: look once more, call Wristband, leave the result.
async fn holder(
    store: &dyn SharedRefreshStore,
    key: &str,
    owner: &str,
    http: Arc<HttpClient>,
    buffer: i64,
    refresh_token: String,
    keep: Duration,
) -> Called {
    // Another instance may have left its result (and released its lock) between the look
    // and this lock: use it rather than spend the token again.
    match store.result(key).await {
        Ok(None) => {}
        found => {
            let _ = store.unlock(key, owner).await;
            return match found {
                Ok(Some(result)) => confirmed(store, key, result).await,
                _ => Called::NotSpent,
            };
        }
    }
    let called = call(http, buffer, refresh_token).await;
    let shared = match &called {
        Called::Tokens(tokens) => SharedResult::Tokens(tokens.clone()),
        Called::Refused { .. } => SharedResult::Refused,
        Called::MaybeSpent => SharedResult::MaybeSpent,
        Called::NotSpent => {
            if let Err(e) = store.unlock(key, owner).await {
                log::warn!("token refresh: the lock could not be released: {e}");
            }
            return called;
        }
    };
    if let Err(e) = store.publish(key, owner, &shared, keep).await {
        log::warn!("token refresh: the result could not be left in Redis: {e}");
    }
    match called {
        // What is now in Redis decides (a `tokens` result another instance left wins).
        Called::Refused { .. } => confirmed(store, key, SharedResult::Refused).await,
        other => other,
    }
}

/// A result every instance sees alike. A refusal ends the session only if a second look still
/// finds one (not new tokens another instance left meanwhile, nor nothing: a Redis that lost
/// it may have lost tokens too).
async fn confirmed(store: &dyn SharedRefreshStore, key: &str, result: SharedResult) -> Called {
    match result {
        SharedResult::Tokens(tokens) => Called::Tokens(tokens),
        SharedResult::MaybeSpent => Called::MaybeSpent,
        SharedResult::Refused => match store.result(key).await {
            Ok(Some(SharedResult::Tokens(tokens))) => Called::Tokens(tokens),
            Ok(Some(SharedResult::Refused)) => Called::Refused { end_session: true },
            _ => Called::Refused { end_session: false },
        },
    }
}

#[async_trait]
impl RefreshTokens for SingleFlightRefresher {
    async fn refresh(&self, refresh_token: &str) -> Refreshed {
        let key: Key = Sha256::digest(refresh_token.as_bytes()).into();
        let slot = self.slot(key);
        let shared = self.shared.get().cloned().flatten();
        let called = slot
            .get_or_init(|| {
                // A task of its own: once sent, the call completes and its result is kept even
                // if the request that started it goes away (its refresh token is spent then).
                let http = self.http.clone();
                let token = refresh_token.to_string();
                let task = match shared {
                    Some(shared) => {
                        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
                        rocket::tokio::spawn(coordinated(
                            shared,
                            hex,
                            http,
                            self.buffer,
                            token,
                            self.window,
                        ))
                    }
                    None => rocket::tokio::spawn(call(http, self.buffer, token)),
                };
                async move { task.await.unwrap_or(Called::NotSpent) }
            })
            .await;
        if matches!(called, Called::NotSpent) {
            self.forget(&key, &slot);
        }
        called.refreshed()
    }
}

/// New tokens from [`WristbandAuth::refresh_token_if_expired()`] (the Express SDK's
/// `TokenData`). `Debug` never shows a token.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenData {
    /// The new access token.
    pub access_token: String,
    /// When it expires, in milliseconds since the Unix epoch, `token_expiration_buffer`
    /// already taken off.
    pub expires_at: i64,
    /// The new refresh token when Wristband rotated it (it does); store it in place of the
    /// old one, which is spent.
    pub refresh_token: Option<String>,
}

impl std::fmt::Debug for TokenData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenData")
            .field("access_token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl WristbandAuth {
    /// Refreshes tokens kept outside a session cookie (background jobs, custom guards,
    /// websockets), like the Express SDK's `refreshTokenIfExpired`: `Ok(None)` while
    /// `expires_at` (milliseconds since the Unix epoch) is in the future, otherwise the new
    /// tokens. It is the same refresh [`AuthenticatedSession`](crate::AuthenticatedSession)
    /// makes: single flight per refresh token in this process, across the fleet with Redis
    /// (a `revocation` table), results shared for 30 s, so a job and a browser request
    /// refreshing the same token at once spend it once.
    ///
    /// Call it on the copy the fairing manages: `rocket.state::<WristbandAuth>()`, or a
    /// `&State<WristbandAuth>` request guard.
    ///
    /// # Errors
    ///
    /// [`WristbandError::InvalidGrant`]: Wristband says the refresh token is dead (expired,
    /// revoked or spent): sign the user in again. [`WristbandError::Unexpected`]: Wristband
    /// could not be reached or refused for another reason (try again later), or this value is
    /// not the managed copy.
    ///
    /// ```rust
    /// # use rocket::post;
    /// use rocket::State;
    /// use wristband_rocket_session::{WristbandAuth, WristbandError};
    ///
    /// /// A job's tokens, as it stored them.
    /// struct JobTokens { access_token: String, refresh_token: String, expires_at: i64 }
    ///
    /// async fn fresh_access_token(
    ///     auth: &WristbandAuth,
    ///     tokens: &mut JobTokens,
    /// ) -> Result<String, WristbandError> {
    ///     if let Some(new) = auth.refresh_token_if_expired(&tokens.refresh_token, tokens.expires_at).await? {
    ///         tokens.access_token = new.access_token;
    ///         tokens.expires_at = new.expires_at;
    ///         if let Some(rotated) = new.refresh_token {
    ///             tokens.refresh_token = rotated;
    ///         }
    ///     }
    ///     Ok(tokens.access_token.clone())
    /// }
    ///
    /// #[post("/jobs/sync")]
    /// async fn sync(auth: &State<WristbandAuth>) -> Result<&'static str, WristbandError> {
    ///     let mut tokens = JobTokens {
    ///         access_token: "still-fresh".into(),
    ///         refresh_token: "rt".into(),
    ///         expires_at: i64::MAX,
    ///     };
    ///     // Not expired: no call to Wristband.
    ///     assert_eq!(fresh_access_token(auth, &mut tokens).await?, "still-fresh");
    ///     Ok("synced")
    /// }
    /// ```
    pub async fn refresh_token_if_expired(
        &self,
        refresh_token: &str,
        expires_at: i64,
    ) -> Result<Option<TokenData>, WristbandError> {
        let now_ms = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
        if i128::from(expires_at) > now_ms {
            return Ok(None);
        }
        let Some(refresher) = self.refresher() else {
            return Err(WristbandError::Unexpected {
                reason: "refresh_token_if_expired() called on the fairing, not on the managed \
                         `rocket.state::<WristbandAuth>()`"
                    .into(),
            });
        };
        if refresh_token.is_empty() {
            return Err(WristbandError::InvalidGrant {
                description: Some("no refresh token".into()),
            });
        }
        match refresher.refresh(refresh_token).await {
            Refreshed::Tokens(t) => Ok(Some(TokenData {
                access_token: t.access_token,
                expires_at: t.expires_at,
                refresh_token: t.refresh_token,
            })),
            Refreshed::Refused { .. } => Err(WristbandError::InvalidGrant { description: None }),
            Refreshed::Failed => Err(WristbandError::Unexpected {
                reason: "the token refresh failed (Wristband unreachable or refusing); try again"
                    .into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AuthOptions;

    fn http() -> Arc<HttpClient> {
        let options = AuthOptions {
            client_id: "c".into(),
            client_secret: "s".into(),
            // Nothing listens on port 9 (discard): every call fails fast.
            wristband_application_vanity_domain: "localhost:9".into(),
            wristband_scheme: crate::WristbandScheme::Http,
            ..AuthOptions::default()
        };
        Arc::new(HttpClient::new(&options).unwrap())
    }

    #[test]
    fn the_table_never_grows_past_its_capacity() {
        let refresher = SingleFlightRefresher::with_limits(http(), 60, REMEMBER_FOR, 3);
        for i in 0..10u8 {
            refresher.slot([i; 32]);
            assert!(refresher.len() <= 3);
        }
        // The newest three are kept.
        let entries = refresher.lock();
        assert!(entries.contains_key(&[9; 32]) && entries.contains_key(&[7; 32]));
    }

    #[test]
    fn a_live_slot_is_shared_and_an_old_one_is_replaced() {
        let refresher =
            SingleFlightRefresher::with_limits(http(), 60, Duration::from_millis(50), 10);
        let a = refresher.slot([1; 32]);
        assert!(Arc::ptr_eq(&a, &refresher.slot([1; 32])));
        std::thread::sleep(Duration::from_millis(60));
        assert!(!Arc::ptr_eq(&a, &refresher.slot([1; 32])));
    }

    #[rocket::async_test]
    async fn a_failure_is_not_remembered() {
        let refresher = SingleFlightRefresher::new(http(), 60);
        assert!(matches!(refresher.refresh("rt").await, Refreshed::Failed));
        assert_eq!(refresher.len(), 0);
    }
}

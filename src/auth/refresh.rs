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
//! This is the one place that decides it ([`call`] applies it):
//!
//! | Wristband's answer to the refresh | outcome |
//! | --- | --- |
//! | 200 with tokens | the session gets them |
//! | `invalid_grant` (any status; the refresh token is expired, revoked or spent) | [`Refreshed::Refused`]: the request answers 401. The session cookie is removed only when the refresh was coordinated across the fleet (below); otherwise it is kept, because another instance may have just rotated the token and written a newer cookie that a removal would overwrite. The refusal is remembered for [`REMEMBER_FOR`], so a dead token costs at most one call per instance per 30 s |
//! | another 4xx (`invalid_client` after a bad client-secret deploy, `invalid_request`, …) | [`Refreshed::Failed`], not retried: the instance's or the request's fault, not the user's, so the session is kept and the request answers 401 |
//! | 5xx, network error, timeout (after 3 tries), unreadable 200 | [`Refreshed::Failed`]: the session is kept, a later request tries again |
//!
//! # Across a fleet
//!
//! The single flight above is per process. With the cargo feature `redis` and a `revocation`
//! table, the session layer manages a [`SharedRefresh`] over the same Redis, and refreshes are
//! single flight across instances: the first instance takes a short lock (`SET NX PX`, for
//! [`LOCK_HOLD`]) keyed by a hash of the refresh token, calls Wristband, and leaves the result,
//! sealed with the session codec, under the same hash for [`REMEMBER_FOR`]; the others poll
//! for it (every [`POLL`], at most [`WAIT_FOR_OTHERS`]) and use it. Wristband sees one call. A
//! waiter that times out answers 401 and keeps the session. Redis unreachable: the
//! per-process behaviour, with a warning.
//!
//! Memory: at most [`MAX_ENTRIES`] entries (an entry holds a SHA-256 of the refresh token and,
//! once done, the new tokens; an estimate, not a measurement: with a 1.5 KB access token and a
//! short refresh token that is about 2 KB, so at most about 20 MB),
//! whatever the number of sessions; expired entries are dropped when the table fills, and the
//! oldest one if it is still full. A failed call (Wristband unreachable) is not remembered: the
//! next request tries again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rocket::async_trait;
use rocket::tokio::sync::OnceCell;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::callback::expiry;
use super::client::HttpClient;
use super::error::WristbandError;
use super::fairing::WristbandAuth;
use crate::session::refresh_hook::{FreshTokens, RefreshTokens, Refreshed, SharedRefresh};

/// How long a refresh's result is given to requests carrying the same refresh token, counted
/// from the start of the call (and kept in Redis across a fleet).
pub(crate) const REMEMBER_FOR: Duration = Duration::from_secs(30);
/// The most refresh results kept at once.
pub(crate) const MAX_ENTRIES: usize = 10_000;
/// How long an instance holds the fleet-wide lock on one refresh token at most (a crashed
/// holder's lock lapses after this).
pub(crate) const LOCK_HOLD: Duration = Duration::from_secs(10);
/// How long an instance waits for another's refresh result before answering 401.
pub(crate) const WAIT_FOR_OTHERS: Duration = Duration::from_secs(5);
/// How often a waiting instance looks for that result.
pub(crate) const POLL: Duration = Duration::from_millis(25);

type Key = [u8; 32];

struct Entry {
    started: Instant,
    result: Arc<OnceCell<Refreshed>>,
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
    fn slot(&self, key: Key) -> Arc<OnceCell<Refreshed>> {
        let now = Instant::now();
        let mut entries = self.lock();
        if let Some(entry) = entries.get(&key) {
            if now.duration_since(entry.started) < self.window {
                return entry.result.clone();
            }
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
    fn forget(&self, key: &Key, slot: &Arc<OnceCell<Refreshed>>) {
        let mut entries = self.lock();
        if entries.get(key).is_some_and(|entry| Arc::ptr_eq(&entry.result, slot)) {
            entries.remove(key);
        }
    }
}

/// One call to Wristband's token endpoint (3 tries on 5xx and network errors, none on a 4xx:
/// see `HttpClient`).
async fn call(http: Arc<HttpClient>, buffer: i64, refresh_token: String) -> Refreshed {
    match http.refresh_classified(&refresh_token).await {
        Ok(tokens) => {
            let (_, expires_at) = expiry(tokens.expires_in, buffer, OffsetDateTime::now_utc());
            Refreshed::Tokens(FreshTokens {
                access_token: tokens.access_token,
                expires_at,
                refresh_token: tokens.refresh_token.filter(|token| !token.is_empty()),
            })
        }
        // The rule: the module docs, "Which refusals end a session".
        Err(failure) if matches!(failure.error, WristbandError::InvalidGrant { .. }) => {
            log::info!("token refresh refused by Wristband: {}", failure.error);
            Refreshed::Refused { end_session: false }
        }
        Err(failure) if failure.refused => {
            log::error!("token refresh rejected by Wristband (session kept): {}", failure.error);
            Refreshed::Failed
        }
        Err(failure) => {
            log::warn!("token refresh failed: {}", failure.error);
            Refreshed::Failed
        }
    }
}

/// The refresh of `refresh_token` made once across the fleet through `shared` (the module
/// docs, "Across a fleet"). Falls back to [`call`] when Redis cannot be reached.
async fn coordinated(
    shared: SharedRefresh,
    key: String,
    http: Arc<HttpClient>,
    buffer: i64,
    refresh_token: String,
    keep: Duration,
) -> Refreshed {
    let fallback = |e: String| {
        log::warn!("token refresh: Redis unreachable ({e}); refreshing for this instance only");
    };
    let deadline = Instant::now() + WAIT_FOR_OTHERS;
    loop {
        match shared.0.result(&key).await {
            Ok(Some(result)) => return coordinated_outcome(result),
            Ok(None) => {}
            Err(e) => {
                fallback(e);
                return call(http, buffer, refresh_token).await;
            }
        }
        match shared.0.try_lock(&key, LOCK_HOLD).await {
            Ok(true) => {
                // Another instance may have left its result (and released its lock) between
                // the look above and this lock: use it rather than spend the token again.
                if let Ok(Some(result)) = shared.0.result(&key).await {
                    let _ = shared.0.unlock(&key).await;
                    return coordinated_outcome(result);
                }
                let result = call(http, buffer, refresh_token).await;
                let left = match &result {
                    Refreshed::Failed => shared.0.unlock(&key).await,
                    result => shared.0.publish(&key, result, keep).await,
                };
                if let Err(e) = left {
                    log::warn!("token refresh: the result could not be left in Redis: {e}");
                }
                return coordinated_outcome(result);
            }
            Ok(false) => {}
            Err(e) => {
                fallback(e);
                return call(http, buffer, refresh_token).await;
            }
        }
        if Instant::now() >= deadline {
            log::warn!(
                "token refresh: no result from the instance refreshing this token within {}s; \
                 401 for now, the session is kept",
                WAIT_FOR_OTHERS.as_secs()
            );
            return Refreshed::Failed;
        }
        rocket::tokio::time::sleep(POLL).await;
    }
}

/// A refusal seen by every instance alike may end the session.
fn coordinated_outcome(result: Refreshed) -> Refreshed {
    match result {
        Refreshed::Refused { .. } => Refreshed::Refused { end_session: true },
        other => other,
    }
}

#[async_trait]
impl RefreshTokens for SingleFlightRefresher {
    async fn refresh(&self, refresh_token: &str) -> Refreshed {
        let key: Key = Sha256::digest(refresh_token.as_bytes()).into();
        let slot = self.slot(key);
        let shared = self.shared.get().cloned().flatten();
        let result = slot
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
                async move { task.await.unwrap_or(Refreshed::Failed) }
            })
            .await
            .clone();
        if matches!(result, Refreshed::Failed) {
            self.forget(&key, &slot);
        }
        result
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
    /// # #[macro_use] extern crate rocket;
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

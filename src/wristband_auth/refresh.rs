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
//! | `invalid_grant` (any status; the refresh token is expired, revoked or spent) | [`Refreshed::Refused`]: the session can never be renewed and ends |
//! | another 4xx (`invalid_client` after a bad client-secret deploy, `invalid_request`, …) | [`Refreshed::Failed`], not retried: the instance's or the request's fault, not the user's, so the session is kept and the request answers 401 |
//! | 5xx, network error, timeout (after 3 tries), unreadable 200 | [`Refreshed::Failed`]: the session is kept, a later request tries again |
//!
//! Memory: at most [`MAX_ENTRIES`] entries (an entry holds a SHA-256 of the refresh token and,
//! once done, the new tokens; an estimate, not a measurement: with a 1.5 KB access token and a
//! short refresh token that is about 2 KB, so at most about 20 MB),
//! whatever the number of sessions; expired entries are dropped when the table fills, and the
//! oldest one if it is still full. A failed call (Wristband unreachable) is not remembered: the
//! next request tries again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rocket::async_trait;
use rocket::tokio::sync::OnceCell;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::callback::expiry;
use super::client::HttpClient;
use super::error::WristbandError;
use crate::token_refresh::{FreshTokens, RefreshTokens, Refreshed};

/// How long a refresh's result is given to requests carrying the same refresh token, counted
/// from the start of the call.
pub(crate) const REMEMBER_FOR: Duration = Duration::from_secs(30);
/// The most refresh results kept at once.
pub(crate) const MAX_ENTRIES: usize = 10_000;

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
        }
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
            Refreshed::Refused
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

#[async_trait]
impl RefreshTokens for SingleFlightRefresher {
    async fn refresh(&self, refresh_token: &str) -> Refreshed {
        let key: Key = Sha256::digest(refresh_token.as_bytes()).into();
        let slot = self.slot(key);
        let result = slot
            .get_or_init(|| {
                // A task of its own: once sent, the call completes and its result is kept even
                // if the request that started it goes away (its refresh token is spent then).
                let task = rocket::tokio::spawn(call(
                    self.http.clone(),
                    self.buffer,
                    refresh_token.to_string(),
                ));
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

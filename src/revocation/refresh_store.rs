//! Refresh coordination across instances, over the revocation layer's Redis: the
//! [`SharedRefreshStore`] the `auth` layer's refresher uses so that one refresh token is spent
//! once across a fleet (its `refresh` module, "Across a fleet", tells the protocol).
//!
//! Redis layout (`P` = `key_prefix`, `H` = SHA-256 of the refresh token, hex; the braces are a
//! Redis Cluster hash tag, so a result and its lock live on one node):
//!
//! - `P:refresh-lock:{H}`: `SET NX PX`, its value the holder's random owner id; released by a
//!   script that deletes it only if it still holds that id;
//! - `P:refresh:{H}`: the result, kept 30 s, sealed with the session codec under its own name
//!   (so it is no session cookie, and nobody reading Redis reads the tokens). The sealed body
//!   names the key it was stored under and the seal expires after [`SEAL_MAX_AGE`]: a value
//!   copied to another key, or replayed later, does not open, and counts as no result.
//!
//! Redis is a shared service: whatever it returns is checked before use. Only the lock holder
//! writes tokens; a refusal or an unknown outcome is written only where no result is (`NX`),
//! so it never replaces new tokens.

use std::sync::Arc;
use std::time::Duration;

use redis::AsyncCommands;
use rocket::async_trait;
use serde_json::{json, Map, Value};

use super::{Revocations, Store};
use crate::session::codec::SessionCodec;
use crate::session::options::SessionOptions;
use crate::session::refresh_hook::{FreshTokens, SharedRefresh, SharedRefreshStore, SharedResult};

/// The name the results are sealed under (the codec's associated data).
const SEAL_NAME: &str = "wristband-refresh-result";
/// How long a sealed result can be opened: the window it serves (the refresher's 30 s).
const SEAL_MAX_AGE: i64 = 30;

/// Leaves a result and releases the lock if the caller still owns it. `KEYS[1]`: the result,
/// `KEYS[2]`: the lock; `ARGV`: the sealed value, its time to live (ms), the owner id, and
/// `1` to replace a result already there (tokens) or `0` to write only where none is.
const PUBLISH: &str = "\
if ARGV[4] == '1' then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) \
else redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') end \
if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end \
return 1";

/// Deletes the lock `KEYS[1]` only if it holds the owner id `ARGV[1]`.
const UNLOCK: &str = "\
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end \
return 0";

struct RedisRefreshStore {
    store: Arc<Store>,
    codec: SessionCodec,
}

/// The shared refresh store over `revocations`' Redis, its results sealed with the session's
/// secrets. `None` (with an error logged) only if the codec cannot be built, which the session
/// fairing's own validation rules out.
pub(crate) fn shared_refresh(
    revocations: &Revocations,
    session: &SessionOptions,
) -> Option<SharedRefresh> {
    match result_codec(session) {
        Ok(codec) => Some(SharedRefresh(Arc::new(RedisRefreshStore {
            store: revocations.store.clone(),
            codec,
        }))),
        Err(e) => {
            log::error!("refresh coordination off: its codec could not be built: {e}");
            None
        }
    }
}

/// The codec results are sealed with: the session's secrets, its own name and lifetime.
fn result_codec(
    session: &SessionOptions,
) -> Result<SessionCodec, crate::session::error::ConfigError> {
    let options = SessionOptions {
        cookie_name: SEAL_NAME.into(),
        max_age: SEAL_MAX_AGE,
        domain: None,
        ..session.clone()
    };
    SessionCodec::new(&options)
}

impl RedisRefreshStore {
    fn result_key(&self, key: &str) -> String {
        format!("{}:refresh:{{{key}}}", self.store.key_prefix())
    }

    fn lock_key(&self, key: &str) -> String {
        format!("{}:refresh-lock:{{{key}}}", self.store.key_prefix())
    }
}

fn describe(e: &redis::RedisError) -> String {
    format!("{:?}: {}", e.kind(), e.detail().unwrap_or("no detail"))
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// A result as the JSON that is sealed, bound to the Redis key `bound_to`:
/// `{"key": …, "outcome": "tokens", accessToken, expiresAt, refreshToken?}`,
/// `{"key": …, "outcome": "refused"}` or `{"key": …, "outcome": "maybe-spent"}`.
fn to_map(result: &SharedResult, bound_to: &str) -> Map<String, Value> {
    let value = match result {
        SharedResult::Tokens(t) => json!({
            "key": bound_to,
            "outcome": "tokens",
            "accessToken": t.access_token,
            "expiresAt": t.expires_at,
            "refreshToken": t.refresh_token,
        }),
        SharedResult::Refused => json!({ "key": bound_to, "outcome": "refused" }),
        SharedResult::MaybeSpent => json!({ "key": bound_to, "outcome": "maybe-spent" }),
    };
    match value {
        Value::Object(map) => map,
        _ => unreachable!("json! of an object literal is an object"),
    }
}

/// The result in `map` if it names `bound_to` as its key; `None` otherwise.
fn from_map(map: &Map<String, Value>, bound_to: &str) -> Option<SharedResult> {
    if map.get("key")?.as_str()? != bound_to {
        return None;
    }
    match map.get("outcome")?.as_str()? {
        "tokens" => Some(SharedResult::Tokens(FreshTokens {
            access_token: map.get("accessToken")?.as_str()?.to_string(),
            expires_at: map.get("expiresAt")?.as_i64()?,
            refresh_token: map.get("refreshToken").and_then(Value::as_str).map(str::to_string),
        })),
        "refused" => Some(SharedResult::Refused),
        "maybe-spent" => Some(SharedResult::MaybeSpent),
        _ => None,
    }
}

/// Opens what Redis holds under `bound_to`: `None` unless it was sealed with these secrets,
/// for that very key, less than [`SEAL_MAX_AGE`] ago.
fn open(codec: &SessionCodec, sealed: &str, bound_to: &str) -> Option<SharedResult> {
    let result = codec.open(sealed).as_ref().and_then(|map| from_map(map, bound_to));
    if result.is_none() {
        log::debug!("token refresh: a result in Redis does not open for its key; ignored");
    }
    result
}

#[async_trait]
impl SharedRefreshStore for RedisRefreshStore {
    async fn result(&self, key: &str) -> Result<Option<SharedResult>, String> {
        let mut redis = self.store.commands();
        let result_key = self.result_key(key);
        let sealed: Option<String> = redis.get(&result_key).await.map_err(|e| describe(&e))?;
        Ok(sealed.and_then(|sealed| open(&self.codec, &sealed, &result_key)))
    }

    async fn try_lock(&self, key: &str, owner: &str, hold: Duration) -> Result<bool, String> {
        let mut redis = self.store.commands();
        let set: Option<String> = redis::cmd("SET")
            .arg(self.lock_key(key))
            .arg(owner)
            .arg("NX")
            .arg("PX")
            .arg(millis(hold))
            .query_async(&mut redis)
            .await
            .map_err(|e| describe(&e))?;
        Ok(set.is_some())
    }

    async fn publish(
        &self,
        key: &str,
        owner: &str,
        result: &SharedResult,
        keep: Duration,
    ) -> Result<(), String> {
        let result_key = self.result_key(key);
        let sealed = self.codec.seal(&to_map(result, &result_key)).map_err(|e| e.to_string())?;
        let replace = if matches!(result, SharedResult::Tokens(_)) { "1" } else { "0" };
        let mut redis = self.store.commands();
        redis::cmd("EVAL")
            .arg(PUBLISH)
            .arg(2)
            .arg(result_key)
            .arg(self.lock_key(key))
            .arg(sealed)
            .arg(millis(keep))
            .arg(owner)
            .arg(replace)
            .query_async::<()>(&mut redis)
            .await
            .map_err(|e| describe(&e))
    }

    async fn unlock(&self, key: &str, owner: &str) -> Result<(), String> {
        let mut redis = self.store.commands();
        redis::cmd("EVAL")
            .arg(UNLOCK)
            .arg(1)
            .arg(self.lock_key(key))
            .arg(owner)
            .query_async::<()>(&mut redis)
            .await
            .map_err(|e| describe(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec() -> SessionCodec {
        result_codec(&SessionOptions {
            secrets: "a-refresh-result-test-secret-0123456789".into(),
            ..SessionOptions::default()
        })
        .unwrap()
    }

    fn tokens() -> SharedResult {
        SharedResult::Tokens(FreshTokens {
            access_token: "at".into(),
            expires_at: 42,
            refresh_token: Some("rt2".into()),
        })
    }

    #[test]
    fn results_round_trip_under_their_own_key() {
        let codec = codec();
        let sealed = codec.seal(&to_map(&tokens(), "p:refresh:{aa}")).unwrap();
        let Some(SharedResult::Tokens(back)) = open(&codec, &sealed, "p:refresh:{aa}") else {
            panic!("tokens do not round-trip");
        };
        assert_eq!((back.access_token.as_str(), back.expires_at), ("at", 42));
        assert_eq!(back.refresh_token.as_deref(), Some("rt2"));
        for result in [SharedResult::Refused, SharedResult::MaybeSpent] {
            let sealed = codec.seal(&to_map(&result, "p:refresh:{aa}")).unwrap();
            let back = open(&codec, &sealed, "p:refresh:{aa}");
            assert_eq!(format!("{back:?}"), format!("{:?}", Some(result)));
        }
    }

    #[test]
    fn a_result_copied_to_another_key_does_not_open_there() {
        let codec = codec();
        for result in [tokens(), SharedResult::Refused, SharedResult::MaybeSpent] {
            let sealed = codec.seal(&to_map(&result, "p:refresh:{victim}")).unwrap();
            assert!(open(&codec, &sealed, "p:refresh:{victim}").is_some());
            assert!(open(&codec, &sealed, "p:refresh:{attacker}").is_none(), "{result:?}");
            assert!(open(&codec, &sealed, "q:refresh:{victim}").is_none(), "{result:?}");
        }
    }

    #[test]
    fn a_result_opens_only_within_the_thirty_second_window() {
        let codec = codec();
        let map = to_map(&tokens(), "p:refresh:{aa}");
        let now = time::OffsetDateTime::now_utc();
        let fresh = codec.seal_at(&map, now - time::Duration::seconds(29)).unwrap();
        let stale = codec.seal_at(&map, now - time::Duration::seconds(31)).unwrap();
        assert!(open(&codec, &fresh, "p:refresh:{aa}").is_some());
        assert!(open(&codec, &stale, "p:refresh:{aa}").is_none());
    }
}

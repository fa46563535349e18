//! Refresh coordination across instances, over the revocation layer's Redis: the
//! [`SharedRefreshStore`] the `auth` layer's refresher uses so that one refresh token is spent
//! once across a fleet (its `refresh` module, "Across a fleet", tells the protocol).
//!
//! Redis layout (`P` = `key_prefix`, `H` = SHA-256 of the refresh token, hex):
//!
//! - `P:refresh-lock:H`: `SET NX PX`, held by the instance calling Wristband;
//! - `P:refresh:H`: the result, sealed with the session codec under its own name (so it is no
//!   session cookie, and nobody reading Redis reads the tokens), kept 30 s.

use std::sync::Arc;
use std::time::Duration;

use redis::AsyncCommands;
use rocket::async_trait;
use serde_json::{json, Map, Value};

use super::{Revocations, Store};
use crate::session::codec::SessionCodec;
use crate::session::options::SessionOptions;
use crate::session::refresh_hook::{FreshTokens, Refreshed, SharedRefresh, SharedRefreshStore};

/// The name the results are sealed under (the codec's associated data).
const SEAL_NAME: &str = "wristband-refresh-result";
/// How long a sealed result can be opened (longer than any grace window).
const SEAL_MAX_AGE: i64 = 300;

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
    let options = SessionOptions {
        cookie_name: SEAL_NAME.into(),
        max_age: SEAL_MAX_AGE,
        domain: None,
        ..session.clone()
    };
    match SessionCodec::new(&options) {
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

impl RedisRefreshStore {
    fn result_key(&self, key: &str) -> String {
        format!("{}:refresh:{key}", self.store.key_prefix())
    }

    fn lock_key(&self, key: &str) -> String {
        format!("{}:refresh-lock:{key}", self.store.key_prefix())
    }
}

fn describe(e: &redis::RedisError) -> String {
    format!("{:?}: {}", e.kind(), e.detail().unwrap_or("no detail"))
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// A result as sealed JSON: `{"outcome": "tokens", accessToken, expiresAt, refreshToken?}` or
/// `{"outcome": "refused"}`. `None` for `Failed`, which is never shared.
fn to_map(result: &Refreshed) -> Option<Map<String, Value>> {
    let value = match result {
        Refreshed::Tokens(t) => json!({
            "outcome": "tokens",
            "accessToken": t.access_token,
            "expiresAt": t.expires_at,
            "refreshToken": t.refresh_token,
        }),
        Refreshed::Refused { .. } => json!({ "outcome": "refused" }),
        Refreshed::Failed => return None,
    };
    value.as_object().cloned()
}

fn from_map(map: &Map<String, Value>) -> Option<Refreshed> {
    match map.get("outcome")?.as_str()? {
        "tokens" => Some(Refreshed::Tokens(FreshTokens {
            access_token: map.get("accessToken")?.as_str()?.to_string(),
            expires_at: map.get("expiresAt")?.as_i64()?,
            refresh_token: map.get("refreshToken").and_then(Value::as_str).map(str::to_string),
        })),
        "refused" => Some(Refreshed::Refused { end_session: true }),
        _ => None,
    }
}

#[async_trait]
impl SharedRefreshStore for RedisRefreshStore {
    async fn result(&self, key: &str) -> Result<Option<Refreshed>, String> {
        let mut redis = self.store.commands();
        let sealed: Option<String> =
            redis.get(self.result_key(key)).await.map_err(|e| describe(&e))?;
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        // A value that does not open (another secret, tampered) counts as no result.
        Ok(self.codec.open(&sealed).as_ref().and_then(from_map))
    }

    async fn try_lock(&self, key: &str, hold: Duration) -> Result<bool, String> {
        let mut redis = self.store.commands();
        let set: Option<String> = redis::cmd("SET")
            .arg(self.lock_key(key))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(millis(hold))
            .query_async(&mut redis)
            .await
            .map_err(|e| describe(&e))?;
        Ok(set.is_some())
    }

    async fn publish(&self, key: &str, result: &Refreshed, keep: Duration) -> Result<(), String> {
        let Some(map) = to_map(result) else {
            return self.unlock(key).await;
        };
        let sealed = self.codec.seal(&map).map_err(|e| e.to_string())?;
        let mut redis = self.store.commands();
        redis::pipe()
            .atomic()
            .cmd("SET")
            .arg(self.result_key(key))
            .arg(sealed)
            .arg("PX")
            .arg(millis(keep))
            .ignore()
            .cmd("DEL")
            .arg(self.lock_key(key))
            .ignore()
            .query_async::<()>(&mut redis)
            .await
            .map_err(|e| describe(&e))
    }

    async fn unlock(&self, key: &str) -> Result<(), String> {
        let mut redis = self.store.commands();
        redis.del::<_, ()>(self.lock_key(key)).await.map_err(|e| describe(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_round_trip_and_failures_are_never_shared() {
        let tokens = Refreshed::Tokens(FreshTokens {
            access_token: "at".into(),
            expires_at: 42,
            refresh_token: Some("rt2".into()),
        });
        let Some(Refreshed::Tokens(back)) = to_map(&tokens).as_ref().and_then(from_map) else {
            panic!("tokens do not round-trip");
        };
        assert_eq!((back.access_token.as_str(), back.expires_at), ("at", 42));
        assert_eq!(back.refresh_token.as_deref(), Some("rt2"));
        let refused = Refreshed::Refused { end_session: false };
        assert!(matches!(
            to_map(&refused).as_ref().and_then(from_map),
            Some(Refreshed::Refused { end_session: true })
        ));
        assert!(to_map(&Refreshed::Failed).is_none());
    }
}

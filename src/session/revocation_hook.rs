//! The hook through which the session layer asks whether a session was revoked, and revokes
//! one. The session layer only defines it and consults it on every load (a full open and an
//! open-cache hit alike); the `redis` feature's `revocation` module implements it and the
//! session fairing installs it at ignite when the `revocation` table is set. Without it
//! sessions are fully stateless: no check, no `sessionId` or `sessionIssuedAt` key.
//!
//! A check is an in-memory look-up only; it never waits on the network.
// Only the `redis` layer makes verdicts and targets.
#![cfg_attr(not(feature = "redis"), allow(dead_code))]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use rocket::async_trait;
use serde_json::{Map, Value};

use crate::session::guard::keys;

/// The length of a session id: 16 random bytes in base64url without padding.
pub(crate) const SESSION_ID_LEN: usize = 22;

/// A new random session id (128 bits from the OS).
pub(crate) fn new_session_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The 128 bits of a session id, or `None` if `id` is not one this crate issues.
pub(crate) fn parse_session_id(id: &str) -> Option<u128> {
    if id.len() != SESSION_ID_LEN {
        return None;
    }
    // Room for the decoder's conservative estimate (18 bytes for 22 characters).
    let mut buffer = [0u8; 18];
    match URL_SAFE_NO_PAD.decode_slice(id, &mut buffer) {
        Ok(16) => {
            let mut bytes = [0u8; 16];
            bytes.copy_from_slice(&buffer[..16]);
            Some(u128::from_be_bytes(bytes))
        }
        _ => None,
    }
}

/// What a check decided for one opened session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Not revoked (as far as this instance knows, or by the `accept` policy).
    Valid,
    /// Revoked: the cookie is refused and removed, like an expired one.
    Revoked,
    /// Not known to be revoked, but the instance is not caught up and the policy is `refuse`:
    /// the request gets an empty session and the cookie is left alone.
    Withheld,
}

/// What is revoked.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target<'a> {
    /// One session, by its `sessionId`, until `expires_at` (Unix seconds), after which no
    /// cookie of it can open anyway.
    Session { id: &'a str, expires_at: u64 },
    /// Every session of `user_id` whose `sessionIssuedAt` lies before `before_ms`
    /// (milliseconds since the Unix epoch).
    UserBefore { user_id: &'a str, before_ms: u64 },
}

/// The facts about a session that a check needs, read from its JSON.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Identity<'a> {
    /// `sessionId`, if the session has one.
    pub(crate) session_id: Option<&'a str>,
    /// `userId`, if the session has one.
    pub(crate) user_id: Option<&'a str>,
    /// `sessionIssuedAt` (ms since the epoch), or else the cookie's sealed issued-at.
    pub(crate) issued_at_ms: u64,
}

impl<'a> Identity<'a> {
    /// The identity of `data`, sealed at `sealed_issued_at` (Unix seconds).
    pub(crate) fn of(data: &'a Map<String, Value>, sealed_issued_at: u64) -> Self {
        Identity {
            session_id: data.get(keys::SESSION_ID).and_then(Value::as_str),
            user_id: data.get(keys::USER_ID).and_then(Value::as_str),
            issued_at_ms: data
                .get(keys::SESSION_ISSUED_AT)
                .and_then(Value::as_u64)
                .unwrap_or(sealed_issued_at.saturating_mul(1000)),
        }
    }
}

/// Checks and records revocations. Implemented by the `redis` feature.
#[async_trait]
pub(crate) trait RevocationCheck: Send + Sync + 'static {
    /// Whether the session `identity` may be used at `now` (Unix seconds). In memory only.
    /// Also returns the [`stamp`](Self::stamp) of the memory the verdict was read from.
    fn verdict(&self, identity: Identity<'_>, now: u64) -> (Verdict, Option<u64>);

    /// A stamp of what this instance's memory holds, `None` while the instance is not caught
    /// up. Every change to the memory gives a new stamp, so a session found [`Verdict::Valid`]
    /// under a stamp that is still current is still valid: nothing was revoked since, and time
    /// only lets revocations lapse. The open cache keeps that stamp with an entry, so a
    /// browser's repeated requests are checked by comparing two numbers.
    fn stamp(&self) -> Option<u64>;

    /// Records `target` in this instance's memory at once, then in the shared store. An error
    /// (the store unreachable) leaves the revocation in memory; the instance writes it to the
    /// store when it reconnects.
    async fn revoke(&self, target: Target<'_>) -> Result<(), String>;
}

/// The installed implementation, held by the managed session configuration.
pub(crate) struct RevocationHook(pub(crate) Box<dyn RevocationCheck>);

impl std::fmt::Debug for RevocationHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RevocationHook")
    }
}

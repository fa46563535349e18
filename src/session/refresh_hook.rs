//! The hook through which [`AuthenticatedSession`](crate::AuthenticatedSession) renews expired
//! Wristband tokens. The session layer only defines it; the `auth` feature's `WristbandAuth`
//! fairing manages an implementation at ignite. Without one (sessions only, or `WristbandAuth`
//! not attached) the guard never refreshes.

use std::time::Duration;

use rocket::async_trait;

/// Tokens from a successful refresh, ready for the session.
#[derive(Clone)]
pub(crate) struct FreshTokens {
    /// The new access token.
    pub(crate) access_token: String,
    /// When it expires, in milliseconds since the Unix epoch (the expiry buffer applied).
    pub(crate) expires_at: i64,
    /// The new refresh token, when Wristband issued one (it rotates them).
    pub(crate) refresh_token: Option<String>,
}

impl std::fmt::Debug for FreshTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FreshTokens").field("expires_at", &self.expires_at).finish_non_exhaustive()
    }
}

/// What a refresh came to.
#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "auth"), allow(dead_code))] // only the `auth` layer makes them
pub(crate) enum Refreshed {
    /// New tokens.
    Tokens(FreshTokens),
    /// The refresh token is dead: the session can never be renewed. Which answers from
    /// Wristband mean this is decided in one place, the `auth` layer's `refresh` module
    /// ("Which refusals end a session"). `end_session`: whether the guard removes the session
    /// cookie, which is safe only when the refusal was coordinated across every instance
    /// (another instance may have just rotated the token and written a new cookie).
    Refused {
        /// Remove the session cookie (`true`), or only answer 401 (`false`).
        end_session: bool,
    },
    /// Wristband could not be reached or kept failing: try again on a later request.
    Failed,
}

/// Renews tokens with a refresh token. Implemented by the `auth` layer.
#[async_trait]
pub(crate) trait RefreshTokens: Send + Sync + 'static {
    /// Renews the tokens that `refresh_token` stands for.
    async fn refresh(&self, refresh_token: &str) -> Refreshed;
}

/// The managed implementation, if any (`rocket.state::<TokenRefresher>()`).
#[cfg_attr(not(feature = "auth"), allow(dead_code))] // only the `auth` layer makes one
pub(crate) struct TokenRefresher(pub(crate) std::sync::Arc<dyn RefreshTokens>);

/// What one instance leaves in the shared store for the others: new tokens, a refusal, or a
/// call whose outcome is unknown (it may have spent the refresh token, so nobody may present
/// that token again while the result is kept).
#[derive(Debug, Clone)]
#[cfg_attr(not(all(feature = "auth", feature = "redis")), allow(dead_code))]
pub(crate) enum SharedResult {
    /// New tokens.
    Tokens(FreshTokens),
    /// Wristband said `invalid_grant`.
    Refused,
    /// The call timed out or got an answer that may mean Wristband processed it.
    MaybeSpent,
}

/// Where instances leave refresh results for each other, so that one refresh token is spent
/// once across a fleet: implemented over Redis by the `redis` layer (with a `revocation`
/// table), used by the `auth` layer's refresher. Keys are hashes of refresh tokens, never the
/// tokens; results are sealed by the implementation and bound to their key. The lock on a key
/// has an owner (a random value chosen by the caller), and only its owner releases it.
#[async_trait]
#[cfg_attr(not(all(feature = "auth", feature = "redis")), allow(dead_code))]
pub(crate) trait SharedRefreshStore: Send + Sync + 'static {
    /// The result an instance left for `key`, if any (a value that does not prove it belongs
    /// to `key` counts as none).
    async fn result(&self, key: &str) -> Result<Option<SharedResult>, String>;
    /// Takes the lock for `key` as `owner` for at most `hold`; `true` when `owner` now holds
    /// it.
    async fn try_lock(&self, key: &str, owner: &str, hold: Duration) -> Result<bool, String>;
    /// Leaves `result` for `key`, kept for `keep`, and releases the lock if `owner` still
    /// holds it. Only `Tokens` replaces a result already there: a refusal or an unknown
    /// outcome never overwrites new tokens.
    async fn publish(
        &self,
        key: &str,
        owner: &str,
        result: &SharedResult,
        keep: Duration,
    ) -> Result<(), String>;
    /// Releases the lock for `key` if `owner` holds it (the call certainly never reached
    /// Wristband: another instance may try).
    async fn unlock(&self, key: &str, owner: &str) -> Result<(), String>;
}

/// The managed shared store, if any (`rocket.state::<SharedRefresh>()`).
#[derive(Clone)]
#[cfg_attr(not(all(feature = "auth", feature = "redis")), allow(dead_code))]
pub(crate) struct SharedRefresh(pub(crate) std::sync::Arc<dyn SharedRefreshStore>);

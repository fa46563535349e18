//! The hook through which [`AuthenticatedSession`](crate::AuthenticatedSession) renews expired
//! Wristband tokens. The session layer only defines it; the `auth` feature's `WristbandAuth`
//! fairing manages an implementation at ignite. Without one (sessions only, or `WristbandAuth`
//! not attached) the guard never refreshes.

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
    /// ("Which refusals end a session").
    Refused,
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
pub(crate) struct TokenRefresher(pub(crate) Box<dyn RefreshTokens>);

//! [`WristbandError`] and [`RedirectReason`].

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::SessionError;

/// Why a callback asks the app to send the user to the login again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RedirectReason {
    /// No login-state cookie matched the callback's `state`.
    MissingLoginState,
    /// The login-state cookie was tampered with, expired or did not match.
    InvalidLoginState,
    /// Wristband answered `error=login_required`.
    LoginRequired,
    /// The authorization code was refused (`invalid_grant`).
    InvalidGrant,
}

/// What went wrong in login, callback, logout or a call to Wristband.
///
/// As a Rocket responder: 400 for a bad request from the client, 500 for everything else,
/// with a JSON body `{"error": "<code>"}` that never carries a token, a secret or
/// Wristband's raw answer.
#[derive(Debug)]
#[non_exhaustive]
pub enum WristbandError {
    /// The client's request cannot be taken (400): a repeated query parameter, a `return_url`
    /// on a host that is not allowed, a missing tenant, a callback error from Wristband.
    BadRequest {
        /// The error code sent in the body.
        code: &'static str,
        /// Why, for logs (never sent).
        reason: String,
    },
    /// Wristband refused a grant (`invalid_grant`).
    InvalidGrant {
        /// Wristband's description, for logs (never sent).
        description: Option<String>,
    },
    /// The SDK configuration could not be fetched or did not validate (500).
    Configuration {
        /// Why, for logs (never sent).
        reason: String,
    },
    /// Wristband could not be reached or answered unexpectedly (500).
    Unexpected {
        /// Why, for logs (never sent; no token or secret).
        reason: String,
    },
    /// The session could not be written (500).
    Session(SessionError),
}

impl fmt::Display for WristbandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WristbandError::BadRequest { code, reason } => write!(f, "{code}: {reason}"),
            WristbandError::InvalidGrant { description } => {
                write!(f, "invalid_grant: {}", description.as_deref().unwrap_or("Invalid grant"))
            }
            WristbandError::Configuration { reason } => {
                write!(f, "sdk_configuration_failed: {reason}")
            }
            WristbandError::Unexpected { reason } => write!(f, "unexpected_error: {reason}"),
            WristbandError::Session(e) => write!(f, "session_error: {e}"),
        }
    }
}

impl std::error::Error for WristbandError {}

impl From<SessionError> for WristbandError {
    fn from(e: SessionError) -> Self {
        WristbandError::Session(e)
    }
}

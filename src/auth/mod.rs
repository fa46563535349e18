//! Signing users in with Wristband (cargo feature `auth`): the `wristband_auth` options, the
//! HTTP client and its retries, SDK auto-configuration, the login-state cookie, tenant
//! resolution, login / callback / logout, and a fake Wristband for tests.
//!
//! This layer depends on the session layer (codec, [`Session`](crate::Session), options); the
//! session layer never imports it.

mod admission;
mod callback;
mod client;
mod config;
mod error;
mod fairing;
#[cfg(feature = "fake-wristband")]
pub(crate) mod fake;
mod guard;
#[cfg(test)]
mod http_tests;
mod id_token;
mod jwks;
mod jwt;
mod login;
mod login_state;
mod logout;
mod options;
mod refresh;
mod routes;
mod tenant;
mod user;

pub use callback::CallbackResult;
pub use error::{RedirectReason, WristbandError};
pub use fairing::WristbandAuth;
pub use guard::{Wristband, WristbandRedirect};
pub use jwt::{bearer_token, WristbandJwt, WristbandJwtError, WristbandJwtValidator};
pub use login::LoginConfig;
pub use logout::LogoutConfig;
pub use options::{AuthOptions, AuthStrategy, WristbandScheme};
pub use refresh::TokenData;
pub use user::AuthenticatedUser;

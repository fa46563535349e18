//! Wristband-style encrypted-cookie sessions for Rocket 0.5.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod auth;
mod codec;
mod cookies;
mod csrf;
mod error;
mod fairing;
mod options;
mod session;
mod state;
mod wristband;

pub use auth::{catchers, AuthenticatedSession};
pub use codec::SessionCodec;
pub use error::{ConfigError, ConfigProblem, SessionError};
pub use fairing::WristbandSession;
pub use options::{SameSiteOption, Secrets, SessionOptions};
pub use session::Session;
pub use wristband::{CallbackData, SessionResponse, TokenResponse, UserInfo, UserInfoRole};

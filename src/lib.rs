//! Wristband-style encrypted-cookie sessions for Rocket 0.5.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod codec;
mod cookies;
mod error;
mod fairing;
mod options;
mod session;
mod state;

pub use codec::SessionCodec;
pub use error::{ConfigError, ConfigProblem, SessionError};
pub use fairing::WristbandSession;
pub use options::{SameSiteOption, Secrets, SessionOptions};
pub use session::Session;

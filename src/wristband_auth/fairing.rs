//! The [`WristbandAuth`] fairing: reads and validates the `wristband_auth` options at ignite
//! and manages the `AuthState`.

use super::options::AuthOptions;

/// Signing users in with Wristband: the fairing's constructors.
#[derive(Debug)]
pub struct WristbandAuth {
    /// `None`: read from the figment at ignite.
    #[allow(dead_code)]
    options: Option<AuthOptions>,
}

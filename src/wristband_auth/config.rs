//! The managed state of the `auth` layer (`AuthState`): validated options, the shared HTTP
//! client, the login-state secret, and the endpoints resolved from the options and SDK
//! auto-configuration. This is the interface the login / callback / logout code uses.
//!
//! INTERFACE CONTRACT (owned by the options/fairing/client work; the flows code calls only
//! what is declared here):
//!
//! - `AuthState` is `rocket.manage()`d by `WristbandAuth`'s `on_ignite` once the options
//!   validated. Flows get it with `req.rocket().state::<AuthState>()`.
//! - `AuthState::options()`: the validated [`AuthOptions`].
//! - `AuthState::wristband_base()`: `"{scheme}://{vanity}"` (also the JWT issuer).
//! - `AuthState::login_state_secret()`: the effective login-state secret (given, or derived
//!   from the session secrets with HKDF under its own info), at least 32 bytes.
//! - `AuthState::endpoints().await`: the resolved dynamic values (manual value wins,
//!   otherwise auto-configuration, fetched once, shared by concurrent callers, cached only
//!   after validation, re-tried on the next call after a failure).
//! - `AuthState::http()`: the `HttpClient` (see `client.rs`): token exchange, refresh,
//!   userinfo, revoke, with the retry policy.

use std::sync::Arc;

use super::client::HttpClient;
use super::error::WristbandError;
use super::options::AuthOptions;

/// The values that may come from SDK auto-configuration, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoints {
    /// The app's login URL (may hold `{tenant_name}` / `{tenant_domain}`).
    pub(crate) login_url: String,
    /// The callback URL (may hold `{tenant_name}` / `{tenant_domain}`).
    pub(crate) redirect_uri: String,
    /// The root domain tenant subdomains hang off, when tenants are subdomains.
    pub(crate) parse_tenant_from_root_domain: Option<String>,
    /// Whether the application's custom domain is active.
    pub(crate) is_application_custom_domain_active: bool,
    /// A custom application login page, if any.
    pub(crate) custom_application_login_page_url: Option<String>,
}

/// Everything the `auth` layer keeps for the life of the app (managed state).
pub(crate) struct AuthState {
    pub(crate) options: AuthOptions,
    pub(crate) http: HttpClient,
    pub(crate) login_state_secret: String,
}

impl AuthState {
    /// The validated options.
    pub(crate) fn options(&self) -> &AuthOptions {
        &self.options
    }

    /// The shared HTTP client.
    pub(crate) fn http(&self) -> &HttpClient {
        &self.http
    }

    /// The effective login-state secret (≥ 32 bytes).
    pub(crate) fn login_state_secret(&self) -> &str {
        &self.login_state_secret
    }

    /// `"{scheme}://{vanity}"`.
    pub(crate) fn wristband_base(&self) -> String {
        todo!()
    }

    /// The resolved endpoints (see the module docs).
    pub(crate) async fn endpoints(&self) -> Result<Arc<Endpoints>, WristbandError> {
        todo!()
    }
}

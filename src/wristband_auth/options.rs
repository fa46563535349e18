//! [`AuthOptions`]: every key of the `wristband_auth` table, its default (in one place), and
//! validation.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The name of the table in `Rocket.toml` (and of the `ROCKET_WRISTBAND_AUTH` variable).
pub(crate) const TABLE: &str = "wristband_auth";

/// The scheme used to reach Wristband. `Http` is accepted only for a loopback vanity domain
/// (a local or fake Wristband in tests and demos).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WristbandScheme {
    /// `https://` (the default, and the only choice for a real Wristband).
    #[default]
    Https,
    /// `http://`, for a loopback vanity domain only.
    Http,
}

/// The options of the `wristband_auth` table. Field names are the TOML keys.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthOptions {
    /// The OAuth2 client's id. _Required._
    pub client_id: String,
    /// The OAuth2 client's secret. _Required_; never kept in `Rocket.toml` for `release`.
    pub client_secret: String,
    /// The application's vanity domain (a host, optionally `:port`). _Required._
    pub wristband_application_vanity_domain: String,
    /// Seals the login-state cookie. _Default:_ derived from the session secrets.
    pub login_state_secret: Option<String>,
    /// The application's login URL. _Default:_ from SDK auto-configuration.
    pub login_url: Option<String>,
    /// The callback URL. _Default:_ from SDK auto-configuration.
    pub redirect_uri: Option<String>,
    /// The root domain tenant subdomains hang off. _Default:_ auto-configuration, else unset.
    pub parse_tenant_from_root_domain: Option<String>,
    /// Whether the application's custom domain is active. _Default:_ auto-configuration,
    /// else `false`.
    pub is_application_custom_domain_active: Option<bool>,
    /// A custom application login page. _Default:_ auto-configuration, else unset.
    pub custom_application_login_page_url: Option<String>,
    /// Drops `Secure` from the login-state cookie (plain http in development). _Default:_
    /// `false`.
    pub dangerously_disable_secure_cookies: bool,
    /// The scopes asked for. _Default:_ `["openid", "offline_access", "email"]`.
    pub scopes: Vec<String>,
    /// Seconds taken off a token's lifetime. _Default:_ `60`.
    pub token_expiration_buffer: i64,
    /// Whether to fetch the SDK configuration. _Default:_ `true`.
    pub auto_configure_enabled: bool,
    /// The scheme used to reach Wristband. _Default:_ `"https"`.
    pub wristband_scheme: WristbandScheme,
}

impl Default for AuthOptions {
    fn default() -> Self {
        AuthOptions {
            client_id: String::new(),
            client_secret: String::new(),
            wristband_application_vanity_domain: String::new(),
            login_state_secret: None,
            login_url: None,
            redirect_uri: None,
            parse_tenant_from_root_domain: None,
            is_application_custom_domain_active: None,
            custom_application_login_page_url: None,
            dangerously_disable_secure_cookies: false,
            scopes: vec!["openid".into(), "offline_access".into(), "email".into()],
            token_expiration_buffer: 60,
            auto_configure_enabled: true,
            wristband_scheme: WristbandScheme::Https,
        }
    }
}

impl fmt::Debug for AuthOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |s: &str| if s.is_empty() { "" } else { "[redacted]" };
        f.debug_struct("AuthOptions")
            .field("client_id", &self.client_id)
            .field("client_secret", &redacted(&self.client_secret))
            .field("wristband_application_vanity_domain", &self.wristband_application_vanity_domain)
            .field("login_state_secret", &self.login_state_secret.as_ref().map(|_| "[redacted]"))
            .field("login_url", &self.login_url)
            .field("redirect_uri", &self.redirect_uri)
            .field("parse_tenant_from_root_domain", &self.parse_tenant_from_root_domain)
            .field("is_application_custom_domain_active", &self.is_application_custom_domain_active)
            .field("custom_application_login_page_url", &self.custom_application_login_page_url)
            .field("dangerously_disable_secure_cookies", &self.dangerously_disable_secure_cookies)
            .field("scopes", &self.scopes)
            .field("token_expiration_buffer", &self.token_expiration_buffer)
            .field("auto_configure_enabled", &self.auto_configure_enabled)
            .field("wristband_scheme", &self.wristband_scheme)
            .finish()
    }
}

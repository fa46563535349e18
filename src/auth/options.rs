//! [`AuthOptions`]: every key of the `wristband_auth` table, its default (in one place), and
//! validation.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use figment::value::{Dict, Value};
use figment::Figment;
use serde::de::{self, DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

use super::tenant::is_host;
use crate::session::error::{ConfigError, ConfigProblem};
use crate::session::options::{describe, unknown_keys};

/// The name of the table in `Rocket.toml` (and of the `ROCKET_WRISTBAND_AUTH` variable).
pub(crate) const TABLE: &str = "wristband_auth";
/// A login-state secret is accepted from this many characters on.
pub(crate) const MIN_LOGIN_STATE_SECRET_LEN: usize = 32;
/// The current URL placeholder for the tenant's name.
pub(crate) const TENANT_NAME_PLACEHOLDER: &str = "{tenant_name}";
/// The deprecated spelling of [`TENANT_NAME_PLACEHOLDER`], still accepted.
pub(crate) const TENANT_DOMAIN_PLACEHOLDER: &str = "{tenant_domain}";

/// The scheme used to reach Wristband. `Http` is accepted only for a loopback vanity domain
/// (a local or fake Wristband in tests and demos).
///
/// Deserializes from `"https"` or `"http"` in any case.
///
/// ```
/// use wristband_rocket_session::{AuthOptions, WristbandScheme};
///
/// let scheme: WristbandScheme = serde_json::from_str(r#""HTTP""#)?;
/// assert_eq!(scheme, WristbandScheme::Http);
/// assert_eq!(WristbandScheme::default(), WristbandScheme::Https);
/// assert_eq!(WristbandScheme::Http.as_str(), "http");
///
/// // Plain http only for a Wristband on this machine.
/// let options = AuthOptions {
///     client_id: "my-client".into(),
///     client_secret: "my-client-secret".into(),
///     wristband_application_vanity_domain: "auth.example.com".into(),
///     wristband_scheme: WristbandScheme::Http,
///     ..AuthOptions::default()
/// };
/// assert_eq!(options.validate().unwrap_err().problems()[0].key, "wristband_scheme");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WristbandScheme {
    /// `https://` (the default, and the only choice for a real Wristband).
    #[default]
    Https,
    /// `http://`, for a loopback vanity domain only.
    Http,
}

impl WristbandScheme {
    /// `"https"` or `"http"`.
    ///
    /// ```
    /// use wristband_rocket_session::WristbandScheme;
    ///
    /// assert_eq!(WristbandScheme::Https.as_str(), "https");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            WristbandScheme::Https => "https",
            WristbandScheme::Http => "http",
        }
    }
}

impl<'de> Deserialize<'de> for WristbandScheme {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.to_ascii_lowercase().as_str() {
            "https" => Ok(WristbandScheme::Https),
            "http" => Ok(WristbandScheme::Http),
            _ => Err(de::Error::custom("expected \"https\" or \"http\"")),
        }
    }
}

/// One way of authenticating a request, for the `auth_strategies` key: a browser's session
/// cookie or an API client's bearer JWT. Tried in the order listed.
///
/// Deserializes from `"session"` or `"jwt"` in any case (Wristband's SDKs write `"SESSION"`
/// and `"JWT"`).
///
/// ```
/// use wristband_rocket_session::AuthOptions;
///
/// let options: AuthOptions = serde_json::from_str(r#"{"auth_strategies": ["jwt", "SESSION"]}"#)?;
/// assert_eq!(format!("{:?}", options.auth_strategies), "[Jwt, Session]");
/// assert_eq!(format!("{:?}", AuthOptions::default().auth_strategies), "[Session]");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthStrategy {
    /// The encrypted session cookie (`AuthenticatedSession`).
    Session,
    /// An `Authorization: Bearer <access token>` JWT, checked against Wristband's JWKS.
    Jwt,
}

impl<'de> Deserialize<'de> for AuthStrategy {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.to_ascii_lowercase().as_str() {
            "session" => Ok(AuthStrategy::Session),
            "jwt" => Ok(AuthStrategy::Jwt),
            _ => Err(de::Error::custom("expected \"session\" or \"jwt\"")),
        }
    }
}

/// The options of the `wristband_auth` table: signing users in with Wristband. Field names
/// are the TOML keys; the table of keys, defaults and rules is on
/// [`WristbandAuth`](crate::WristbandAuth).
///
/// `Debug` and `Serialize` never show either secret.
///
/// ```toml
/// [default.wristband_auth]
/// client_id = "my-client-id"
/// wristband_application_vanity_domain = "myapp-myco.us.wristband.dev"
///
/// [debug.wristband_auth]
/// client_secret = "a-development-client-secret"
/// dangerously_disable_secure_cookies = true
/// ```
///
/// From code, with [`WristbandAuth::custom()`](crate::WristbandAuth::custom):
///
/// ```
/// use wristband_rocket_session::AuthOptions;
///
/// let options = AuthOptions {
///     client_id: "my-client-id".into(),
///     client_secret: "my-client-secret".into(),
///     wristband_application_vanity_domain: "myapp-myco.us.wristband.dev".into(),
///     ..AuthOptions::default()
/// };
/// assert!(options.validate().is_ok());
/// assert!(!format!("{options:?}").contains("my-client-secret"));
/// ```
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthOptions {
    /// The OAuth2 client's id. _Required_ to sign users in; unset together with
    /// `client_secret` for a service that only checks bearer JWTs
    /// ([`is_bearer_only`](Self::is_bearer_only)).
    pub client_id: String,
    /// The OAuth2 client's secret. _Required_ to sign users in (unset together with
    /// `client_id` for a bearer-only service); never kept in `Rocket.toml` for `release`.
    #[serde(serialize_with = "redact")]
    pub client_secret: String,
    /// The application's vanity domain (a host, optionally `:port`; no scheme, no path).
    /// _Required._
    pub wristband_application_vanity_domain: String,
    /// Seals the login-state cookie; at least 32 characters. _Default:_ derived from the
    /// session's first secret with HKDF-SHA256 (its own info string).
    #[serde(serialize_with = "redact_option")]
    pub login_state_secret: Option<String>,
    /// The application's login URL. _Default:_ from SDK auto-configuration.
    pub login_url: Option<String>,
    /// The callback URL. _Default:_ from SDK auto-configuration.
    pub redirect_uri: Option<String>,
    /// The root domain tenant subdomains hang off (no port). _Default:_ auto-configuration,
    /// else unset.
    pub parse_tenant_from_root_domain: Option<String>,
    /// Whether the application's custom domain is active. _Default:_ auto-configuration,
    /// else `false`; a value given here wins, even `false`.
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
    /// How a request may authenticate, in the order tried. _Default:_ `["session"]`.
    pub auth_strategies: Vec<AuthStrategy>,
    /// The tenant custom domains that login, callback and logout may send a browser to:
    /// exact hosts (`"login.acme.com"`, optionally with `:port`) or `"*.suffix"` patterns
    /// (`"*.customers.example"` matches `a.customers.example`, not `customers.example`). A
    /// custom domain that is not on the list is ignored as if absent. _Default:_ `[]` (none).
    pub allowed_tenant_custom_domains: Vec<String>,
    /// When set, a bearer JWT's `client_id` claim must be one of these. _Default:_ unset (any
    /// client of the application).
    pub jwt_allowed_client_ids: Option<Vec<String>>,
    /// Fetch the SDK configuration at launch (ignite) instead of on first use: a definite
    /// misconfiguration (HTTP 404 or another 4xx, an answer that does not validate) aborts
    /// launch; a Wristband that cannot be reached (network error, timeout, 5xx, 408, 429) only
    /// logs a warning, and the first use fetches again. Nothing is fetched when
    /// `auto_configure_enabled` is `false`. _Default:_ `false`.
    pub preload_config: bool,
    /// The most signing keys the JWKS cache keeps; when a JWKS fetch brings more, the key the
    /// fetch was made for and the most recently used ones are kept. At least 1. _Default:_
    /// `20`.
    pub jwks_cache_max_size: usize,
    /// Seconds after which a cached signing key is fetched again on its next use, even though
    /// its key id is known. At least 1 when set. _Default:_ unset: a key is kept until it
    /// leaves Wristband's JWKS (noticed at the next fetch) or the size limit evicts it.
    pub jwks_cache_ttl: Option<u64>,
    /// A PEM file of CA certificates **added** to the roots the HTTP client to Wristband
    /// trusts (the public roots stay trusted): for a Wristband reached through a TLS proxy or
    /// a private CA. A missing, unreadable file, or one without a PEM certificate, aborts
    /// launch. _Default:_ unset (the public roots only).
    pub wristband_ca_file: Option<String>,
}

/// The certificates of the `wristband_ca_file` at `path`, or why it cannot be used (the path is
/// named, never the file's content).
pub(crate) fn read_ca_file(path: &str) -> Result<Vec<reqwest::Certificate>, String> {
    if path.trim().is_empty() {
        return Err("must be the path of a PEM file of CA certificates; remove the key to \
                    trust the public roots only"
            .into());
    }
    let pem = std::fs::read(path)
        .map_err(|e| format!("the file `{path}` cannot be read ({})", e.kind()))?;
    match reqwest::Certificate::from_pem_bundle(&pem) {
        Ok(certificates) if !certificates.is_empty() => Ok(certificates),
        _ => Err(format!(
            "the file `{path}` holds no PEM certificate (expected \
             `-----BEGIN CERTIFICATE-----` blocks)"
        )),
    }
}

/// The default of `jwks_cache_max_size` (as Wristband's `jwksCacheMaxSize`).
pub(crate) const DEFAULT_JWKS_CACHE_MAX_SIZE: usize = 20;

fn redact<S: Serializer>(secret: &str, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(if secret.is_empty() { "" } else { "[redacted]" })
}

fn redact_option<S: Serializer>(secret: &Option<String>, serializer: S) -> Result<S::Ok, S::Error> {
    match secret {
        Some(_) => serializer.serialize_some("[redacted]"),
        None => serializer.serialize_none(),
    }
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
            auth_strategies: vec![AuthStrategy::Session],
            allowed_tenant_custom_domains: Vec::new(),
            jwt_allowed_client_ids: None,
            preload_config: false,
            jwks_cache_max_size: DEFAULT_JWKS_CACHE_MAX_SIZE,
            jwks_cache_ttl: None,
            wristband_ca_file: None,
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
            .field("auth_strategies", &self.auth_strategies)
            .field("allowed_tenant_custom_domains", &self.allowed_tenant_custom_domains)
            .field("jwt_allowed_client_ids", &self.jwt_allowed_client_ids)
            .field("preload_config", &self.preload_config)
            .field("jwks_cache_max_size", &self.jwks_cache_max_size)
            .field("jwks_cache_ttl", &self.jwks_cache_ttl)
            .field("wristband_ca_file", &self.wristband_ca_file)
            .finish()
    }
}

/// Whether `url` holds `{tenant_name}` or the deprecated `{tenant_domain}`.
pub(crate) fn has_tenant_placeholder(url: &str) -> bool {
    url.contains(TENANT_NAME_PLACEHOLDER) || url.contains(TENANT_DOMAIN_PLACEHOLDER)
}

/// The placeholder rule of one URL (`login_url` or `redirect_uri`): with tenant subdomains
/// (`parse_tenant_from_root_domain` set) it must hold a placeholder, without them it must not.
/// `what` prefixes the message (e.g. "the resolved value"). `None` when the URL is fine.
pub(crate) fn placeholder_problem(url: &str, with_subdomains: bool, what: &str) -> Option<String> {
    match (with_subdomains, has_tenant_placeholder(url)) {
        (true, false) => Some(format!(
            "{what} must contain the \"{{tenant_name}}\" (or deprecated \"{{tenant_domain}}\") \
             placeholder when `parse_tenant_from_root_domain` is set; add it where the tenant's \
             subdomain goes, e.g. https://{{tenant_name}}.example.com/auth/login"
        )),
        (false, true) => Some(format!(
            "{what} cannot contain the \"{{tenant_name}}\" (or \"{{tenant_domain}}\") placeholder \
             when `parse_tenant_from_root_domain` is absent; remove the placeholder or set \
             `parse_tenant_from_root_domain`"
        )),
        _ => None,
    }
}

/// A vanity domain split into its host and optional port, if it is `host[:port]` with no
/// scheme, path, query, user info or whitespace.
fn parse_host(domain: &str) -> Option<(&str, Option<u16>)> {
    let bad = |c: char| c.is_whitespace() || "/?#@\\".contains(c);
    if domain.is_empty() || domain.contains(bad) || domain.contains("://") {
        return None;
    }
    let (host, port) = if let Some(rest) = domain.strip_prefix('[') {
        let (inner, after) = rest.split_once(']')?;
        inner.parse::<Ipv6Addr>().ok()?;
        let host = &domain[..inner.len() + 2];
        match after {
            "" => (host, None),
            after => (host, Some(after.strip_prefix(':')?)),
        }
    } else {
        match domain.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (domain, None),
        }
    };
    let host_ok = host.starts_with('[')
        || (!host.is_empty()
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            }));
    if !host_ok {
        return None;
    }
    let port = match port {
        None => None,
        Some(port) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            Some(port.parse::<u16>().ok().filter(|p| *p != 0)?)
        }
        Some(_) => return None,
    };
    Some((host, port))
}

/// Whether the host of a `host[:port]` vanity domain is this machine: `localhost`,
/// `*.localhost`, `127.0.0.0/8` or `[::1]`.
pub(crate) fn is_loopback_domain(domain: &str) -> bool {
    let Some((host, _)) = parse_host(domain) else {
        return false;
    };
    let host = host.to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
        || host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .and_then(|h| h.parse::<Ipv6Addr>().ok())
            .is_some_and(|ip| ip.is_loopback())
}

impl AuthOptions {
    /// Checks every option and reports every problem at once (the rules are in the table on
    /// [`WristbandAuth`](crate::WristbandAuth)). Messages name the key and the fix, never a
    /// value.
    ///
    /// ```
    /// use wristband_rocket_session::AuthOptions;
    ///
    /// let options = AuthOptions {
    ///     client_id: "my-client-id".into(),
    ///     wristband_application_vanity_domain: "https://auth.example.com/".into(),
    ///     token_expiration_buffer: -1,
    ///     ..AuthOptions::default()
    /// };
    /// let err = options.validate().unwrap_err();
    /// let keys: Vec<&str> = err.problems().iter().map(|p| p.key.as_str()).collect();
    /// assert_eq!(
    ///     keys,
    ///     ["client_secret", "wristband_application_vanity_domain", "token_expiration_buffer"]
    /// );
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        let problems = self.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::invalid(None, problems))
        }
    }

    /// Options for a service that only checks bearer JWTs: `wristband_application_vanity_domain`
    /// set, everything else at its default (no `client_id`, no `client_secret`; see
    /// [`is_bearer_only`](Self::is_bearer_only)). Change other JWT options with struct update
    /// syntax.
    ///
    /// ```
    /// use wristband_rocket_session::AuthOptions;
    ///
    /// let options = AuthOptions {
    ///     jwt_allowed_client_ids: Some(vec!["my-api-client-id".into()]),
    ///     ..AuthOptions::bearer_only("myapp-myco.us.wristband.dev")
    /// };
    /// assert!(options.is_bearer_only());
    /// assert!(options.validate().is_ok());
    /// ```
    pub fn bearer_only(vanity_domain: impl Into<String>) -> AuthOptions {
        AuthOptions {
            wristband_application_vanity_domain: vanity_domain.into(),
            ..AuthOptions::default()
        }
    }

    /// Whether these options are for a service that only checks bearer JWTs (a resource
    /// server): neither `client_id` nor `client_secret` is set (blank counts as unset). Such a
    /// service needs only `wristband_application_vanity_domain` (plus, optionally,
    /// `wristband_scheme`, `jwt_allowed_client_ids`, `jwks_cache_max_size` and
    /// `jwks_cache_ttl`), no session fairing and no login routes: [`WristbandJwt`] and
    /// [`WristbandJwtValidator`] work, while a route using a guard that signs users in
    /// ([`Wristband`]) aborts launch naming the missing keys.
    ///
    /// [`WristbandJwt`]: crate::WristbandJwt
    /// [`WristbandJwtValidator`]: crate::WristbandJwtValidator
    /// [`Wristband`]: crate::Wristband
    ///
    /// ```
    /// use wristband_rocket_session::AuthOptions;
    ///
    /// let api = AuthOptions {
    ///     wristband_application_vanity_domain: "myapp-myco.us.wristband.dev".into(),
    ///     ..AuthOptions::default()
    /// };
    /// assert!(api.is_bearer_only());
    /// assert!(api.validate().is_ok());
    ///
    /// // A client id without its secret is a mistake, not a bearer-only service.
    /// let half = AuthOptions { client_id: "my-client-id".into(), ..api.clone() };
    /// assert!(!half.is_bearer_only());
    /// assert_eq!(half.validate().unwrap_err().problems()[0].key, "client_secret");
    /// ```
    pub fn is_bearer_only(&self) -> bool {
        self.client_id.trim().is_empty() && self.client_secret.trim().is_empty()
    }

    /// Every problem of [`validate()`](Self::validate), in key order.
    pub(crate) fn problems(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let mut problem = |key: &str, message: String| {
            problems.push(ConfigProblem::for_table(TABLE, key, message))
        };

        // Neither `client_id` nor `client_secret`: a bearer-only service (see
        // `is_bearer_only`). One without the other is a mistake.
        let bearer_only = self.is_bearer_only();
        if self.client_id.trim().is_empty() && !bearer_only {
            problem(
                "client_id",
                "must have a value: the OAuth2 client's id from the Wristband dashboard (leave                  both `client_id` and `client_secret` unset for a service that only checks                  bearer JWTs)"
                    .into(),
            );
        }
        if self.client_secret.trim().is_empty() && !bearer_only {
            problem(
                "client_secret",
                "must have a value: the OAuth2 client's secret from the Wristband dashboard; \
                 outside development set it with ROCKET_WRISTBAND_AUTH='{client_secret=\"...\"}' \
                 (leave both `client_id` and `client_secret` unset for a service that only \
                 checks bearer JWTs)"
                    .into(),
            );
        }
        if bearer_only && self.preload_config {
            problem(
                "preload_config",
                "needs `client_id` (the SDK configuration is the client's); a service that only \
                 checks bearer JWTs has nothing to preload: remove the key"
                    .into(),
            );
        }
        let vanity = &self.wristband_application_vanity_domain;
        let vanity_ok = parse_host(vanity).is_some();
        if vanity.trim().is_empty() {
            problem(
                "wristband_application_vanity_domain",
                format!(
                    "must have a value: the application's vanity domain from the Wristband \
                     dashboard, e.g. \"myapp-myco.us.wristband.dev\"{}",
                    if bearer_only {
                        " (with `client_id` and `client_secret` too, to sign users in)"
                    } else {
                        ""
                    }
                ),
            );
        } else if !vanity_ok {
            problem(
                "wristband_application_vanity_domain",
                "must be a host name, optionally with `:port`, without scheme or path, e.g. \
                 \"myapp-myco.us.wristband.dev\" (not \"https://myapp-myco.us.wristband.dev/\")"
                    .into(),
            );
        }
        if let Some(secret) = &self.login_state_secret {
            let chars = secret.chars().count();
            if chars < MIN_LOGIN_STATE_SECRET_LEN {
                problem(
                    "login_state_secret",
                    format!(
                        "has {chars} characters, at least {MIN_LOGIN_STATE_SECRET_LEN} are \
                         required; use `cargo run --example gen_secret`, or remove the key to \
                         derive it from the session secret"
                    ),
                );
            }
        }

        let root = self.parse_tenant_from_root_domain.as_deref();
        let with_subdomains = root.is_some_and(|r| !r.is_empty());
        for (key, url) in [("login_url", &self.login_url), ("redirect_uri", &self.redirect_uri)] {
            match url.as_deref() {
                None if !self.auto_configure_enabled => problem(
                    key,
                    "must have a value when `auto_configure_enabled` is false; set it or turn \
                     auto-configuration on"
                        .into(),
                ),
                None => {}
                Some(url) if url.trim().is_empty() => problem(
                    key,
                    if self.auto_configure_enabled {
                        "is blank; remove the key to take it from SDK auto-configuration".into()
                    } else {
                        "must have a value when `auto_configure_enabled` is false".into()
                    },
                ),
                Some(url) => {
                    if let Some(message) = placeholder_problem(url, with_subdomains, "the URL") {
                        problem(key, message);
                    }
                }
            }
        }
        match root {
            Some(root) if root.trim().is_empty() => problem(
                "parse_tenant_from_root_domain",
                "is blank; remove the key when tenants are not subdomains".into(),
            ),
            Some(root) if root.contains(':') => problem(
                "parse_tenant_from_root_domain",
                "must not contain `:` (no scheme, no port): the bare root domain, e.g. \
                 \"example.com\""
                    .into(),
            ),
            _ => {}
        }

        if self.scopes.is_empty() {
            problem(
                "scopes",
                "must list at least one scope; remove the key for the default \
                 [\"openid\", \"offline_access\", \"email\"]"
                    .into(),
            );
        }
        for (i, scope) in self.scopes.iter().enumerate() {
            if scope.is_empty() || scope.contains(|c: char| c.is_whitespace()) {
                problem(
                    "scopes",
                    format!(
                        "scope #{} is blank or contains a space; list each scope on its own",
                        i + 1
                    ),
                );
            }
        }
        if self.token_expiration_buffer < 0 {
            problem(
                "token_expiration_buffer",
                "must be greater than or equal to 0 seconds; e.g. 60".into(),
            );
        }
        if self.wristband_scheme == WristbandScheme::Http && !is_loopback_domain(vanity) {
            problem(
                "wristband_scheme",
                "\"http\" is allowed only when `wristband_application_vanity_domain` is this \
                 machine (localhost, *.localhost, 127.0.0.0/8 or [::1]); use \"https\""
                    .into(),
            );
        }
        if self.auth_strategies.is_empty() {
            problem(
                "auth_strategies",
                "must list at least one of \"session\" and \"jwt\"; remove the key for the \
                 default [\"session\"]"
                    .into(),
            );
        }
        for (i, strategy) in self.auth_strategies.iter().enumerate() {
            if self.auth_strategies[..i].contains(strategy) {
                problem(
                    "auth_strategies",
                    format!("strategy #{} repeats an earlier one; list each at most once", i + 1),
                );
            }
        }
        for (i, pattern) in self.allowed_tenant_custom_domains.iter().enumerate() {
            let host = pattern.strip_prefix("*.").unwrap_or(pattern);
            if !is_host(host) {
                problem(
                    "allowed_tenant_custom_domains",
                    format!(
                        "entry #{} is not a host (optionally `:port`) or a `*.suffix` pattern; \
                         write e.g. \"login.acme.com\" or \"*.customers.example\", without \
                         scheme or path",
                        i + 1
                    ),
                );
            }
        }
        if let Some(ids) = &self.jwt_allowed_client_ids
            && (ids.is_empty() || ids.iter().any(|id| id.trim().is_empty()))
        {
            problem(
                "jwt_allowed_client_ids",
                "must list at least one non-blank client id; remove the key to accept \
                     tokens of any client of the application"
                    .into(),
            );
        }
        if self.jwks_cache_max_size == 0 {
            problem(
                "jwks_cache_max_size",
                format!(
                    "must be at least 1 key; remove the key for the default \
                     {DEFAULT_JWKS_CACHE_MAX_SIZE}"
                ),
            );
        }
        if let Some(path) = &self.wristband_ca_file
            && let Err(why) = read_ca_file(path)
        {
            problem("wristband_ca_file", why);
        }
        if self.jwks_cache_ttl == Some(0) {
            problem(
                "jwks_cache_ttl",
                "must be at least 1 second; remove the key to keep keys until they leave \
                 Wristband's JWKS"
                    .into(),
            );
        }
        problems
    }

    /// Reads the options from the `wristband_auth` table of `figment`'s selected profile.
    ///
    /// Every key is read on its own so that all type errors and unknown keys are reported at
    /// once, beside the options read. A missing table gives the defaults (which do not
    /// validate: `client_id` and friends are required).
    pub(crate) fn read_figment(figment: &Figment) -> (Self, Vec<ConfigProblem>) {
        let mut options = AuthOptions::default();
        let table = match figment.find_value(TABLE) {
            Ok(Value::Dict(_, dict)) => dict,
            Ok(_) => {
                let problem = ConfigProblem::for_table(
                    TABLE,
                    "",
                    "must be a table of options, e.g. `[release.wristband_auth]`",
                );
                return (options, vec![problem]);
            }
            Err(e) if e.missing() => Dict::new(),
            Err(e) => {
                let problem =
                    ConfigProblem::for_table(TABLE, "", format!("could not be read: {}", e.kind));
                return (options, vec![problem]);
            }
        };

        let mut problems = Vec::new();
        fn field<T: DeserializeOwned>(
            table: &Dict,
            key: &'static str,
            slot: &mut T,
            problems: &mut Vec<ConfigProblem>,
        ) {
            if let Some(value) = table.get(key) {
                match value.deserialize::<T>() {
                    Ok(v) => *slot = v,
                    Err(e) => {
                        problems.push(ConfigProblem::for_table(TABLE, key, describe(&e.kind)))
                    }
                }
            }
        }
        let o = &mut options;
        let p = &mut problems;
        let t = &table;
        field(t, "client_id", &mut o.client_id, p);
        field(t, "client_secret", &mut o.client_secret, p);
        field(
            t,
            "wristband_application_vanity_domain",
            &mut o.wristband_application_vanity_domain,
            p,
        );
        field(t, "login_state_secret", &mut o.login_state_secret, p);
        field(t, "login_url", &mut o.login_url, p);
        field(t, "redirect_uri", &mut o.redirect_uri, p);
        field(t, "parse_tenant_from_root_domain", &mut o.parse_tenant_from_root_domain, p);
        field(
            t,
            "is_application_custom_domain_active",
            &mut o.is_application_custom_domain_active,
            p,
        );
        field(t, "custom_application_login_page_url", &mut o.custom_application_login_page_url, p);
        field(
            t,
            "dangerously_disable_secure_cookies",
            &mut o.dangerously_disable_secure_cookies,
            p,
        );
        field(t, "scopes", &mut o.scopes, p);
        field(t, "token_expiration_buffer", &mut o.token_expiration_buffer, p);
        field(t, "auto_configure_enabled", &mut o.auto_configure_enabled, p);
        field(t, "wristband_scheme", &mut o.wristband_scheme, p);
        field(t, "auth_strategies", &mut o.auth_strategies, p);
        field(t, "allowed_tenant_custom_domains", &mut o.allowed_tenant_custom_domains, p);
        field(t, "jwt_allowed_client_ids", &mut o.jwt_allowed_client_ids, p);
        field(t, "preload_config", &mut o.preload_config, p);
        field(t, "jwks_cache_max_size", &mut o.jwks_cache_max_size, p);
        field(t, "jwks_cache_ttl", &mut o.jwks_cache_ttl, p);
        field(t, "wristband_ca_file", &mut o.wristband_ca_file, p);
        unknown_keys(TABLE, &table, KEYS, &mut problems);
        (options, problems)
    }
}

/// Every key of the `wristband_auth` table.
pub(crate) const KEYS: &[&str] = &[
    "client_id",
    "client_secret",
    "wristband_application_vanity_domain",
    "login_state_secret",
    "login_url",
    "redirect_uri",
    "parse_tenant_from_root_domain",
    "is_application_custom_domain_active",
    "custom_application_login_page_url",
    "dangerously_disable_secure_cookies",
    "scopes",
    "token_expiration_buffer",
    "auto_configure_enabled",
    "wristband_scheme",
    "auth_strategies",
    "allowed_tenant_custom_domains",
    "jwt_allowed_client_ids",
    "preload_config",
    "jwks_cache_max_size",
    "jwks_cache_ttl",
    "wristband_ca_file",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        for ok in ["a.b", "localhost:8080", "[::1]:3000", "127.0.0.1", "x-y.z_w.dev"] {
            assert!(parse_host(ok).is_some(), "{ok}");
        }
        for bad in [
            "",
            "https://a.b",
            "a.b/",
            "a.b/path",
            "a b",
            "a.b:",
            "a.b:99999",
            "a.b:0",
            "a..b",
            "user@a.b",
            "[::1",
            "[zz]",
        ] {
            assert!(parse_host(bad).is_none(), "{bad}");
        }
        for lo in
            ["localhost", "LOCALHOST:1", "t1.localhost:9", "127.0.0.1", "127.9.9.9:80", "[::1]"]
        {
            assert!(is_loopback_domain(lo), "{lo}");
        }
        for far in ["localhost.example.com", "128.0.0.1", "[::2]", "example.com", "10.0.0.1"] {
            assert!(!is_loopback_domain(far), "{far}");
        }
    }
}

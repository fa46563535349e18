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
//!   from the session secrets with HKDF under its own info), at least 32 bytes. Filled by the
//!   time the app serves requests (at ignite, after the session fairing ignited).
//! - `AuthState::endpoints().await`: the resolved dynamic values (manual value wins,
//!   otherwise auto-configuration, fetched once, shared by concurrent callers, cached only
//!   after validation, re-tried on the next call after a failure).
//! - `AuthState::http()`: the `HttpClient` (see `client.rs`): token exchange, refresh,
//!   userinfo, revoke, with the retry policy.
//!
//! Auto-configuration is fetched at launch only with `preload_config` (see
//! [`AuthState::preload`]), where a Wristband that is down does not keep the app from starting.
//! Otherwise the first login, callback or logout fetches it (3 tries); a failure answers that
//! request with a 500 (`WristbandError::Configuration`) and the next use fetches again. Every
//! failure is diagnosed ([`ConfigFailure`]): the URL fetched, what happened, the likely cause
//! and the keys to check.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hkdf::Hkdf;
use rocket::tokio::sync::Mutex;
use serde::Deserialize;
use sha2::Sha256;

use super::client::{GetFailure, GetFailureKind, HttpClient};
use super::error::WristbandError;
use super::jwks::JwksCache;
use super::jwt::WristbandJwtValidator;
use super::options::{placeholder_problem, AuthOptions};

/// HKDF salt of the derived login-state secret.
const LOGIN_STATE_SALT: &[u8] = b"wristband-auth-v1";
/// HKDF info of the derived login-state secret (the session's keys use other infos).
const LOGIN_STATE_INFO: &[u8] = b"login-state-secret";

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

/// The answer of `GET /api/v1/clients/{id}/sdk-configuration` (fields we use; others ignored).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SdkConfiguration {
    pub(crate) login_url: Option<String>,
    pub(crate) redirect_uri: Option<String>,
    pub(crate) login_url_tenant_domain_suffix: Option<String>,
    pub(crate) is_application_custom_domain_active: Option<bool>,
    pub(crate) custom_application_login_page_url: Option<String>,
}

/// A non-empty string, or `None`.
fn given(value: &Option<String>) -> Option<String> {
    value.as_ref().filter(|v| !v.trim().is_empty()).cloned()
}

/// The effective values: a value given in the options wins (for
/// `is_application_custom_domain_active` even `false`), otherwise the SDK's (when `sdk` is
/// `Some`), otherwise the default. The login and redirect URLs must resolve, and the
/// placeholder rule holds on the resolved values. The error is a reason for logs.
pub(crate) fn resolve(
    options: &AuthOptions,
    sdk: Option<&SdkConfiguration>,
) -> Result<Endpoints, String> {
    let empty = SdkConfiguration::default();
    let sdk = sdk.unwrap_or(&empty);
    let login_url = given(&options.login_url).or_else(|| given(&sdk.login_url));
    let redirect_uri = given(&options.redirect_uri).or_else(|| given(&sdk.redirect_uri));
    let root = given(&options.parse_tenant_from_root_domain)
        .or_else(|| given(&sdk.login_url_tenant_domain_suffix));
    let mut problems = Vec::new();
    let Some(login_url) = login_url else {
        return Err("the SDK configuration has no loginUrl and `login_url` is not set".into());
    };
    let Some(redirect_uri) = redirect_uri else {
        return Err("the SDK configuration has no redirectUri (the OAuth2 client may have \
                    several redirect URIs) and `redirect_uri` is not set; set `redirect_uri`"
            .into());
    };
    if root.as_deref().is_some_and(|r| r.contains(':')) {
        problems.push("the resolved root domain (loginUrlTenantDomainSuffix) contains `:`".into());
    }
    for (key, url) in [("login_url", &login_url), ("redirect_uri", &redirect_uri)] {
        let what = format!("the resolved `{key}`");
        if let Some(problem) = placeholder_problem(url, root.is_some(), &what) {
            problems.push(problem);
        }
    }
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    Ok(Endpoints {
        login_url,
        redirect_uri,
        parse_tenant_from_root_domain: root,
        is_application_custom_domain_active: options
            .is_application_custom_domain_active
            .or(sdk.is_application_custom_domain_active)
            .unwrap_or(false),
        custom_application_login_page_url: given(&options.custom_application_login_page_url)
            .or_else(|| given(&sdk.custom_application_login_page_url)),
    })
}

/// Derives the login-state secret from the session's first secret: HKDF-SHA256, salt
/// `wristband-auth-v1`, info `login-state-secret`, 32 bytes, base64url (43 characters).
pub(crate) fn derive_login_state_secret(session_secret: &str) -> String {
    let hkdf = Hkdf::<Sha256>::new(Some(LOGIN_STATE_SALT), session_secret.as_bytes());
    let mut okm = [0u8; 32];
    hkdf.expand(LOGIN_STATE_INFO, &mut okm).expect("32 bytes is a valid HKDF-SHA256 length");
    URL_SAFE_NO_PAD.encode(okm)
}

/// Why SDK auto-configuration failed, for the log and (in the debug profile) the browser: the
/// URL fetched (it holds the client id and the vanity domain, never a secret), what happened,
/// the likely cause and the keys of `wristband_auth` to check, named in backticks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConfigFailure {
    /// The whole diagnosis, one line.
    pub(crate) reason: String,
    /// Certainly a misconfiguration (a 4xx other than 408 and 429, a redirect, an answer that
    /// is not a valid SDK configuration), rather than a Wristband that cannot be reached now
    /// (network error, timeout, 5xx, 408, 429).
    pub(crate) definite: bool,
}

/// The hint for a Wristband that could not be reached.
const UNREACHABLE_HINT: &str = "Wristband could not be reached: check \
    `wristband_application_vanity_domain` (the application's vanity domain from the Wristband \
    dashboard, e.g. myapp-myco.us.wristband.dev, without scheme or path), `wristband_scheme`, and \
    that this machine can reach that host (DNS, firewall, proxy); the next use fetches again";

/// `host:port` of `url` when the connection was refused (`why` is "could not connect") and the
/// host is on this machine (`localhost`, `*.localhost`, a loopback address): no DNS or
/// firewall to blame, just nothing listening there (typically a stopped fake Wristband).
fn refused_on_loopback(url: &str, why: &str) -> Option<String> {
    if why != "could not connect" {
        return None;
    }
    let url = oauth2::url::Url::parse(url).ok()?;
    let loopback = match url.host()? {
        oauth2::url::Host::Domain(domain) => {
            let domain = domain.trim_end_matches('.').to_ascii_lowercase();
            domain == "localhost" || domain.ends_with(".localhost")
        }
        oauth2::url::Host::Ipv4(ip) => ip.is_loopback(),
        oauth2::url::Host::Ipv6(ip) => ip.is_loopback(),
    };
    let port = url.port_or_known_default()?;
    loopback.then(|| format!("{}:{port}", url.host_str().unwrap_or_default()))
}

/// The diagnosis of a failed `GET url` of the SDK configuration.
pub(crate) fn diagnose(url: &str, failure: GetFailure) -> ConfigFailure {
    let tries = match failure.tries {
        0 | 1 => String::new(),
        n => format!(" (after {n} tries)"),
    };
    let (what, hint, definite): (String, &str, bool) = match failure.kind {
        GetFailureKind::Network(why) => match refused_on_loopback(url, why) {
            Some(address) => {
                let hint = format!(
                    "Wristband could not be reached: nothing is listening at {address}: is the \
                     fake Wristband (or Wristband) running? A `FakeWristband` stops when it is \
                     dropped: keep it for as long as the app (`rocket.manage(fake)`). Otherwise \
                     check `wristband_application_vanity_domain` and `wristband_scheme`; the \
                     next use fetches again"
                );
                return ConfigFailure {
                    reason: format!("GET {url} {why}{tries}; {hint}"),
                    definite: false,
                };
            }
            None => (format!("{why}{tries}"), UNREACHABLE_HINT, false),
        },
        GetFailureKind::Status(404) => (
            "answered HTTP 404".into(),
            "Wristband knows no OAuth2 client with this id at this domain: check `client_id` \
             (the OAuth2 client's id from the Wristband dashboard, not the application's id) \
             and `wristband_application_vanity_domain` (the application's vanity domain, not a \
             tenant's)",
            true,
        ),
        GetFailureKind::Status(code @ (401 | 403)) => (
            format!("answered HTTP {code}"),
            "the request was refused: check that `client_id` is a client of the application \
             at `wristband_application_vanity_domain`, and that no proxy or firewall between \
             this app and Wristband demands credentials",
            true,
        ),
        GetFailureKind::Status(code @ (408 | 429)) => (
            format!("answered HTTP {code}{tries}"),
            "Wristband is busy or rate limiting this app; the next use fetches again",
            false,
        ),
        GetFailureKind::Status(code @ 500..) => (
            format!("answered HTTP {code}{tries}"),
            "Wristband had a server error; the next use fetches again",
            false,
        ),
        GetFailureKind::Status(code @ 300..=399) => (
            format!("answered with a redirect (HTTP {code})"),
            "check `wristband_scheme` (\"https\" for a real Wristband) and \
             `wristband_application_vanity_domain`",
            true,
        ),
        GetFailureKind::Status(code) => (
            format!("answered HTTP {code}"),
            "check `wristband_application_vanity_domain` and `client_id`",
            true,
        ),
        GetFailureKind::NotJson => (
            "answered with something that is not JSON".into(),
            "that host does not look like Wristband: check \
             `wristband_application_vanity_domain` and `wristband_scheme`",
            true,
        ),
    };
    ConfigFailure { reason: format!("GET {url} {what}; {hint}"), definite }
}

/// The single-flight cache of auto-configuration.
#[derive(Default)]
struct AutoConfig {
    /// The validated endpoints, once fetched.
    cached: OnceLock<Arc<Endpoints>>,
    /// Held while fetching; holds why the last fetch failed.
    flight: Mutex<Option<ConfigFailure>>,
    /// How many fetches have finished (succeeded or failed).
    finished: AtomicU64,
}

/// Everything the `auth` layer keeps for the life of the app (managed state).
pub(crate) struct AuthState {
    pub(crate) options: AuthOptions,
    pub(crate) http: Arc<HttpClient>,
    /// Given in the options, or derived once the session's configuration is known.
    pub(crate) login_state_secret: OnceLock<String>,
    /// Auto-configuration off: resolved at construction.
    fixed: Option<Arc<Endpoints>>,
    auto: AutoConfig,
    /// Wristband's signing keys, for `WristbandJwt` and the ID token check.
    pub(crate) jwks: Arc<JwksCache>,
    /// The bearer-JWT check (shares `jwks` and `http`).
    pub(crate) validator: WristbandJwtValidator,
}

impl std::fmt::Debug for AuthState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthState")
            .field("options", &self.options)
            .field("login_state_secret", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl AuthState {
    /// The state for validated `options`. With auto-configuration off the endpoints are
    /// resolved now (no network). A given login-state secret is set now; otherwise call
    /// [`set_derived_login_state_secret`](Self::set_derived_login_state_secret) once the
    /// session's secret is known.
    pub(crate) fn new(options: AuthOptions) -> Result<Self, String> {
        let http = Arc::new(HttpClient::new(&options)?);
        let fixed = if options.auto_configure_enabled {
            None
        } else {
            Some(Arc::new(resolve(&options, None)?))
        };
        let login_state_secret = OnceLock::new();
        if let Some(secret) = &options.login_state_secret {
            let _ = login_state_secret.set(secret.clone());
        }
        let jwks = Arc::new(JwksCache::new(
            options.jwks_cache_max_size,
            options.jwks_cache_ttl.map(Duration::from_secs),
        ));
        let validator = WristbandJwtValidator::with_parts(
            jwks.clone(),
            http.clone(),
            options.jwt_allowed_client_ids.clone(),
        );
        Ok(AuthState {
            options,
            http,
            login_state_secret,
            fixed,
            auto: AutoConfig::default(),
            jwks,
            validator,
        })
    }

    /// Fills the login-state secret from the session's first secret, unless it is set already.
    pub(crate) fn set_derived_login_state_secret(&self, session_secret: &str) {
        if self.login_state_secret.get().is_none() {
            let _ = self.login_state_secret.set(derive_login_state_secret(session_secret));
        }
    }

    /// Whether the app only checks bearer JWTs (no client id or secret): nothing signs users
    /// in or refreshes their tokens.
    pub(crate) fn bearer_only(&self) -> bool {
        self.options.is_bearer_only()
    }

    /// The validated options.
    pub(crate) fn options(&self) -> &AuthOptions {
        &self.options
    }

    /// The shared HTTP client.
    pub(crate) fn http(&self) -> &HttpClient {
        &self.http
    }

    /// The effective login-state secret (≥ 32 bytes). Set by the time requests are served
    /// (the fairing fills it at ignite).
    pub(crate) fn login_state_secret(&self) -> &str {
        self.login_state_secret.get().map(String::as_str).expect(
            "the login-state secret is set at ignite, before any request (WristbandAuth fairing)",
        )
    }

    /// `"{scheme}://{vanity}"`.
    pub(crate) fn wristband_base(&self) -> String {
        self.http.base().to_string()
    }

    /// The resolved endpoints (see the module docs). A failed fetch is logged (error level)
    /// with its diagnosis, once however many callers shared it.
    pub(crate) async fn endpoints(&self) -> Result<Arc<Endpoints>, WristbandError> {
        self.resolved().await.map_err(|(failure, fetched_now)| {
            if fetched_now {
                log::error!("wristband_auth: SDK auto-configuration failed: {}", failure.reason);
            }
            WristbandError::Configuration { reason: failure.reason }
        })
    }

    /// For `preload_config`: fetches auto-configuration now, unless it is off (nothing to
    /// fetch) or already fetched. The failure is not logged here: the caller decides between
    /// aborting launch ([`ConfigFailure::definite`]) and a warning.
    pub(crate) async fn preload(&self) -> Result<(), ConfigFailure> {
        if self.fixed.is_some() {
            return Ok(());
        }
        self.resolved().await.map(drop).map_err(|(failure, _)| failure)
    }

    /// The endpoints, fetched once (single flight). The error says whether this call made the
    /// failed fetch (`true`) or shared one made by another caller.
    async fn resolved(&self) -> Result<Arc<Endpoints>, (ConfigFailure, bool)> {
        if let Some(fixed) = &self.fixed {
            return Ok(fixed.clone());
        }
        if let Some(cached) = self.auto.cached.get() {
            return Ok(cached.clone());
        }
        let started = self.auto.finished.load(Ordering::Acquire);
        let mut last_failure = self.auto.flight.lock().await;
        if let Some(cached) = self.auto.cached.get() {
            return Ok(cached.clone());
        }
        if self.auto.finished.load(Ordering::Acquire) != started {
            // A fetch that was under way when this call began failed: share its outcome
            // rather than start another right behind it.
            let failure = last_failure.clone().unwrap_or_else(|| ConfigFailure {
                reason: "auto-configuration failed".into(),
                definite: false,
            });
            return Err((failure, false));
        }
        let outcome = self.fetch().await;
        self.auto.finished.fetch_add(1, Ordering::AcqRel);
        match outcome {
            Ok(endpoints) => {
                let endpoints = Arc::new(endpoints);
                let _ = self.auto.cached.set(endpoints.clone());
                *last_failure = None;
                Ok(endpoints)
            }
            Err(failure) => {
                *last_failure = Some(failure.clone());
                Err((failure, true))
            }
        }
    }

    /// One fetch (3 tries) and its validation, diagnosed.
    async fn fetch(&self) -> Result<Endpoints, ConfigFailure> {
        let url = self.http.sdk_configuration_url();
        let value =
            self.http.sdk_configuration_classified().await.map_err(|f| diagnose(&url, f))?;
        let sdk: SdkConfiguration = serde_json::from_value(value).map_err(|_| ConfigFailure {
            reason: format!(
                "GET {url} answered an SDK configuration with fields of the wrong type; check \
                 `wristband_application_vanity_domain` (is that host Wristband?)"
            ),
            definite: true,
        })?;
        resolve(&self.options, Some(&sdk)).map_err(|reason| ConfigFailure {
            reason: format!("the SDK configuration from {url} does not validate: {reason}"),
            definite: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> AuthOptions {
        AuthOptions {
            client_id: "id".into(),
            client_secret: "secret".into(),
            wristband_application_vanity_domain: "auth.example.com".into(),
            ..AuthOptions::default()
        }
    }

    fn sdk(login: &str, redirect: &str, suffix: Option<&str>) -> SdkConfiguration {
        SdkConfiguration {
            login_url: Some(login.into()),
            redirect_uri: Some(redirect.into()),
            login_url_tenant_domain_suffix: suffix.map(Into::into),
            ..SdkConfiguration::default()
        }
    }

    #[test]
    fn refused_connections_on_loopback_ask_whether_the_fake_runs() {
        let network = |url: &str| {
            let failure =
                GetFailure { kind: GetFailureKind::Network("could not connect"), tries: 3 };
            diagnose(url, failure).reason
        };
        for url in [
            "http://localhost:9400/api/v1/clients/id/sdk-configuration",
            "http://127.0.0.1:9400/x",
            "http://acme.LOCALHOST:9400/x",
            "http://[::1]:9400/x",
        ] {
            let reason = network(url);
            assert!(
                reason.contains(":9400: is the fake Wristband (or Wristband) running?"),
                "{reason}"
            );
            assert!(reason.contains("Wristband could not be reached"), "{reason}");
            assert!(!reason.contains("firewall"), "{reason}");
        }
        let remote = network("https://auth.example.com/x");
        assert!(remote.contains("DNS, firewall"), "{remote}");
        let timeout = diagnose(
            "http://localhost:9400/x",
            GetFailure { kind: GetFailureKind::Network("timed out"), tries: 1 },
        );
        assert!(timeout.reason.contains("DNS, firewall"), "{}", timeout.reason);
    }

    #[test]
    fn manual_values_win() {
        let mut o = options();
        o.login_url = Some("https://app.example.com/login".into());
        o.is_application_custom_domain_active = Some(false);
        o.custom_application_login_page_url = Some(String::new());
        let mut s = sdk("https://sdk/login", "https://sdk/cb", None);
        s.is_application_custom_domain_active = Some(true);
        s.custom_application_login_page_url = Some("https://sdk/page".into());
        let e = resolve(&o, Some(&s)).unwrap();
        assert_eq!(e.login_url, "https://app.example.com/login");
        assert_eq!(e.redirect_uri, "https://sdk/cb");
        assert!(!e.is_application_custom_domain_active);
        assert_eq!(e.custom_application_login_page_url.as_deref(), Some("https://sdk/page"));
    }

    #[test]
    fn resolved_placeholders_are_checked() {
        let mut o = options();
        o.login_url = Some("https://app.example.com/login".into());
        o.redirect_uri = Some("https://app.example.com/cb".into());
        let s =
            sdk("https://{tenant_name}.x.com/l", "https://{tenant_name}.x.com/c", Some("x.com"));
        assert!(resolve(&o, Some(&s)).unwrap_err().contains("login_url"));
        let s =
            sdk("https://{tenant_name}.x.com/l", "https://{tenant_domain}.x.com/c", Some("x.com"));
        assert_eq!(
            resolve(&options(), Some(&s)).unwrap().parse_tenant_from_root_domain.as_deref(),
            Some("x.com")
        );
        let s = sdk("https://{tenant_name}.x.com/l", "https://x.com/c", None);
        assert!(resolve(&options(), Some(&s)).is_err());
        let mut s = sdk("https://a/l", "https://a/c", None);
        s.redirect_uri = None;
        assert!(resolve(&options(), Some(&s)).unwrap_err().contains("redirectUri"));
    }

    #[test]
    fn derived_secret_is_stable_and_separate() {
        let a = derive_login_state_secret("session-secret-of-at-least-32-chars!!");
        assert_eq!(a, derive_login_state_secret("session-secret-of-at-least-32-chars!!"));
        assert_eq!(a.len(), 43);
        assert_ne!(a, derive_login_state_secret("session-secret-of-at-least-32-chars!?"));
    }
}

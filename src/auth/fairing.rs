//! The [`WristbandAuth`] fairing: reads and validates the `wristband_auth` options at ignite
//! and manages the `AuthState`.

use rocket::fairing::{self, AdHoc, Fairing, Info, Kind};
use rocket::figment::Figment;
use rocket::{Build, Orbit, Rocket};

use super::config::AuthState;
use super::jwt::WristbandJwtValidator;
use super::options::{AuthOptions, TABLE};
use super::refresh::SingleFlightRefresher;
use crate::session::cookies::SessionConfig;
use crate::session::error::ConfigProblem;
use crate::session::fairing::SessionStartFailed;
use crate::session::options::SessionOptions;
use crate::session::refresh_hook::{SharedRefresh, TokenRefresher};
use std::sync::Arc;

/// The name the fairing reports to Rocket (and in `FailedFairings`).
pub(crate) const FAIRING_NAME: &str = "Wristband Auth";

/// Signing users in with Wristband (cargo feature `auth`): the fairing's constructors.
///
/// Attach [`WristbandAuth::fairing()`] to read the options from the `wristband_auth` table of
/// the active profile (and so from `ROCKET_WRISTBAND_AUTH='{...}'`), or
/// [`WristbandAuth::custom()`] to pass them from code. [`WristbandSession`] must be attached
/// too, in either order: the login-state secret is derived from the session's secret when not
/// given, and the signed-in user is kept in the session (not for a [bearer-only
/// service](#bearer-only-services), which signs nobody in). At ignite the fairing validates
/// every option and aborts launch with every problem listed (one log line each, naming the
/// key and the profile, never a value).
///
/// ```rust,no_run
/// # use rocket::launch;
/// use wristband_rocket_session::{WristbandAuth, WristbandSession};
///
/// #[launch]
/// fn rocket() -> _ {
///     rocket::build().attach(WristbandSession::fairing()).attach(WristbandAuth::fairing())
/// }
/// ```
///
/// # Configuration
///
/// | key | type | default | rule |
/// | --- | --- | --- | --- |
/// | `client_id` | string | required to sign users in | non-blank; unset together with `client_secret` for a [bearer-only service](#bearer-only-services) |
/// | `client_secret` | string | required to sign users in | non-blank; in the `release` profile a value read from a file (`Rocket.toml`) aborts launch: set it with `ROCKET_WRISTBAND_AUTH='{client_secret="..."}'`; unset together with `client_id` for a [bearer-only service](#bearer-only-services) |
/// | `wristband_application_vanity_domain` | string | required | a host, optionally `:port`; no scheme, no path |
/// | `login_state_secret` | string | derived from the session's first secret (HKDF-SHA256, its own info) | at least 32 characters when given |
/// | `login_url` | string | SDK auto-configuration | required when `auto_configure_enabled = false`; holds `{tenant_name}` (or deprecated `{tenant_domain}`) exactly when tenants are subdomains |
/// | `redirect_uri` | string | SDK auto-configuration | same rules as `login_url` |
/// | `parse_tenant_from_root_domain` | string | auto-configuration, else unset | the bare root domain, no `:` |
/// | `is_application_custom_domain_active` | bool | auto-configuration, else `false` | a value given wins, even `false` |
/// | `custom_application_login_page_url` | string | auto-configuration, else unset | |
/// | `dangerously_disable_secure_cookies` | bool | `false` | drops `Secure` from the login-state cookie; the repository's `Rocket.toml` sets `true` for `debug` only; `true` in any other profile launches with a warning |
/// | `scopes` | array of strings | `["openid", "offline_access", "email"]` | non-empty, no blank scope |
/// | `token_expiration_buffer` | integer (seconds) | `60` | ≥ 0 |
/// | `auto_configure_enabled` | bool | `true` | when `false`, `login_url` and `redirect_uri` are required |
/// | `wristband_scheme` | `"https"` or `"http"` | `"https"` | `"http"` only when the vanity domain is loopback (`localhost`, `*.localhost`, `127.0.0.0/8`, `[::1]`) |
/// | `auth_strategies` | array of `"session"`, `"jwt"` | `["session"]` | non-empty, no repeats; the order in which `AuthenticatedUser` tries them |
/// | `allowed_tenant_custom_domains` | array of strings | `[]` | exact hosts (`"login.acme.com"`, optional `:port`) or `"*.suffix"` patterns (`"*.customers.example"` matches `a.customers.example`, not `customers.example`); a tenant custom domain from a query, a `LoginConfig`/`LogoutConfig` or a session is used only when listed, otherwise ignored as if absent |
/// | `jwt_allowed_client_ids` | array of strings | unset: a bearer JWT of any client is accepted | non-empty, no blank id; when set, a bearer JWT's `client_id` claim must be one of them (exact match), else 401 |
/// | `preload_config` | bool | `false` | `true`: fetch the SDK configuration at launch (see [below](#sdk-auto-configuration)): a 4xx (404: wrong `client_id` or vanity domain) or an answer that does not validate aborts launch, an unreachable Wristband (network error, timeout, 5xx, 408, 429) only warns; nothing to fetch (no-op) when `auto_configure_enabled = false` |
/// | `jwks_cache_max_size` | integer | `20` | ≥ 1; the most signing keys the bearer-JWT check keeps (when a JWKS brings more: the key asked for, then the most recently used) |
/// | `jwks_cache_ttl` | integer (seconds) | unset: a key is kept until it leaves the JWKS or is evicted by size | ≥ 1 when set; a key older than this (from its fetch) is fetched again on its next use, within the JWKS fetch budget |
/// | `wristband_ca_file` | string (a path) | unset: the public roots only | a PEM file of CA certificates **added** to the roots the HTTP client to Wristband trusts (a TLS proxy, a private CA); a missing or unreadable file, or one without a PEM certificate, aborts launch naming this key. A certificate that does not verify is logged as "the server's TLS certificate is not trusted". The standard proxy variables `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` (and their lowercase forms) apply to this client |
///
/// Per profile, with the secret from the environment in `release`:
///
/// ```toml
/// [default.wristband_auth]
/// client_id = "my-client-id"
/// wristband_application_vanity_domain = "myapp-myco.us.wristband.dev"
/// scopes = ["openid", "offline_access", "email", "roles"]
/// token_expiration_buffer = 60
///
/// [debug.wristband_auth]
/// client_secret = "a-development-client-secret"
/// dangerously_disable_secure_cookies = true   # plain http://localhost in development
///
/// [release.wristband_auth]
/// # client_secret from ROCKET_WRISTBAND_AUTH='{client_secret="..."}'
/// auth_strategies = ["session", "jwt"]
/// allowed_tenant_custom_domains = ["login.acme.com", "*.customers.example"]
/// jwt_allowed_client_ids = ["my-client-id", "my-api-client-id"]
/// jwks_cache_max_size = 10     # signing keys kept for bearer JWTs
/// jwks_cache_ttl = 86400       # fetch a key again after a day, even if its id is known
/// ```
///
/// ```sh
/// ROCKET_PROFILE=release ROCKET_WRISTBAND_AUTH='{client_secret="..."}' ./app
/// ```
///
/// Without auto-configuration, with tenant subdomains and a local Wristband:
///
/// ```toml
/// [debug.wristband_auth]
/// client_id = "my-client-id"
/// client_secret = "a-development-client-secret"
/// wristband_application_vanity_domain = "localhost:6001"
/// wristband_scheme = "http"
/// auto_configure_enabled = false
/// login_url = "http://{tenant_name}.app.localhost:8000/auth/login"
/// redirect_uri = "http://{tenant_name}.app.localhost:8000/auth/callback"
/// parse_tenant_from_root_domain = "app.localhost"
/// is_application_custom_domain_active = false
/// custom_application_login_page_url = "http://app.localhost:8000/login"
/// login_state_secret = "a-login-state-secret-of-32-characters-or-more"
/// dangerously_disable_secure_cookies = true
/// ```
///
/// # Bearer-only services
///
/// An API that only accepts Wristband access tokens (a resource server) sets neither
/// `client_id` nor `client_secret`: it needs only `wristband_application_vanity_domain`, plus,
/// optionally, `jwt_allowed_client_ids`, `jwks_cache_max_size`, `jwks_cache_ttl` (and
/// `wristband_scheme` for a local Wristband). It attaches `WristbandAuth` alone: no session
/// fairing, no login routes. [`WristbandJwt`](crate::WristbandJwt),
/// [`AuthenticatedUser`](crate::AuthenticatedUser) with `auth_strategies = ["jwt"]` and
/// [`jwt_validator()`](Self::jwt_validator) work; a route using a guard that needs more aborts
/// launch, saying what it needs: [`Wristband`](crate::Wristband) (and so the routes of
/// [`routes()`](Self::routes)) needs `client_id` and `client_secret` (and the session fairing);
/// `AuthenticatedSession`, and `AuthenticatedUser` with the `"session"` strategy, need
/// `WristbandSession`. `preload_config` has nothing to fetch there and is refused. Without
/// Rocket at all, see [`WristbandJwtValidator::new`](crate::WristbandJwtValidator::new).
///
/// ```toml
/// [default.wristband_auth]
/// wristband_application_vanity_domain = "myapp-myco.us.wristband.dev"
/// jwt_allowed_client_ids = ["my-spa-client-id"]
/// jwks_cache_ttl = 86400
/// ```
///
/// ```rust
/// # use rocket::{get, routes};
/// use rocket::local::blocking::Client;
/// use wristband_rocket_session::{Wristband, WristbandAuth, WristbandJwt};
///
/// #[get("/api/whoami")]
/// fn whoami(jwt: WristbandJwt<'_>) -> String {
///     jwt.user_id()
/// }
///
/// let figment = rocket::Config::figment().merge((
///     "wristband_auth",
///     serde_json::json!({ "wristband_application_vanity_domain": "myapp-myco.us.wristband.dev" }),
/// ));
/// let api = rocket::custom(figment.clone())
///     .attach(WristbandAuth::fairing())
///     .mount("/", routes![whoami]);
/// assert!(Client::untracked(api).is_ok());
///
/// // A login route needs `client_id`, `client_secret` and the session fairing.
/// #[get("/auth/login")]
/// fn login(_wristband: Wristband<'_>) {}
/// let with_login =
///     rocket::custom(figment).attach(WristbandAuth::fairing()).mount("/", routes![login]);
/// let err = Client::untracked(with_login).unwrap_err();
/// assert!(matches!(err.kind(), rocket::error::ErrorKind::SentinelAborts(_)));
/// ```
///
/// Behind a corporate TLS proxy that re-signs traffic with its own CA:
///
/// ```toml
/// [release.wristband_auth]
/// wristband_ca_file = "/etc/ssl/certs/corporate-proxy-ca.pem"   # added to the public roots
/// ```
///
/// Checking the configuration against Wristband at launch, here a local Wristband:
///
/// ```toml
/// [debug.wristband_auth]
/// client_id = "my-client-id"
/// client_secret = "a-development-client-secret"
/// wristband_application_vanity_domain = "localhost:6001"
/// wristband_scheme = "http"
/// preload_config = true   # a 404 (wrong client_id or vanity domain) aborts launch
/// ```
///
/// # SDK auto-configuration
///
/// With `auto_configure_enabled` (the default), values not given are fetched from
/// `GET {scheme}://{vanity}/api/v1/clients/{client_id}/sdk-configuration` on **first use** (the
/// first login, callback or logout): an unreachable Wristband does not keep the app from
/// starting. The fetch is tried 3 times, 100 ms apart, on 5xx, 408, 429 and network errors
/// (not on other 4xx: a 404 means a wrong `client_id` or vanity domain); concurrent first users
/// share one fetch; the answer is cached only after it validates (login and redirect URLs
/// resolved, placeholder rules re-checked on the resolved values); a failure answers that
/// request with 500 and the next use fetches again.
///
/// A failure is logged (error level) with the URL fetched (the vanity domain and the client
/// id, never a secret), what happened and the likely cause, naming the keys to check: a 404
/// says "check `client_id` … and `wristband_application_vanity_domain`", a connection error
/// names `wristband_application_vanity_domain`, `wristband_scheme` and the network, 401/403
/// a client of another application or a proxy demanding credentials. The request answers
/// `{"error":"configuration_error"}` (500), except in the debug profile
/// (`Config::DEBUG_PROFILE`) to a browser (`Accept` names `text/html` or `text/plain`), which
/// gets a short plain-text page with the same diagnosis and the keys to check (see
/// [`WristbandError`](crate::WristbandError)).
///
/// **`preload_config = true`** fetches it at launch instead (ignite, which waits for the
/// fetch: at most 3 tries of at most 10 s each), as Wristband's `discoverWristbandAuth()`
/// does. A definite misconfiguration aborts launch with that diagnosis: a 4xx other than 408
/// and 429 (404: wrong `client_id` or vanity domain), a redirect, an answer that is not JSON
/// or not a valid SDK configuration. A Wristband that cannot be reached (network error,
/// timeout, 5xx, 408, 429) does not: the app launches with a warning, and the first use
/// fetches again. With `auto_configure_enabled = false` there is nothing to fetch and the key
/// does nothing (Wristband's SDK throws instead).
///
/// # Coming from Wristband
///
/// | Wristband SDK | here |
/// | --- | --- |
/// | `loginStateSecret` falls back to `clientSecret`, unchecked | derived from the session secret; a given one must have 32+ characters |
/// | an SDK configuration that fails validation is cached anyway | cached only after it validates |
/// | the SDK configuration must carry `redirectUri` even when set by hand | a hand-set `redirect_uri` is enough |
/// | sdk-configuration retried on any error, 4xx included | retried on 5xx, 408, 429 and network errors only |
/// | a 200 token answer without `access_token`/`expires_in` is retried (refresh) | not retried (the grant may be spent); an error |
/// | a refresh is retried up to 3 times on 5xx, time-outs and network errors | retried only while it cannot connect: after any answer or a time-out Wristband may have rotated the token, so it is not presented again for 30 s (401, session kept) |
/// | an empty `scopes` falls back to the default | an empty `scopes` aborts launch |
/// | always `https://` | `wristband_scheme = "http"` for a loopback Wristband (tests, demos) |
/// | `return_url` taken as given (an open redirect) | a relative path, or an http(s) URL on the request's host, the login/redirect URL hosts or a tenant host; anything else is a 400 |
/// | `tenant_name` / `tenant_custom_domain` pasted into the authorize host | a DNS label / a host with an optional port, else 400 |
/// | a `tenant_custom_domain` from the query (login, callback, logout) is trusted: the browser, with `state`, PKCE challenge and nonce, is sent to any host (account takeover) | used only when on `allowed_tenant_custom_domains`, whatever its source; otherwise ignored as if absent, and never stored by a callback |
/// | `error_description` and other query values logged as received | control characters escaped before logging (no forged log lines) |
/// | `clientSecret` accepted from any source | read from a file in the `release` profile: launch refused |
/// | a misspelled configuration key or object silently ignored | a table named within two edits of `wristband_session`/`wristband_auth` aborts launch; `dangerously_disable_secure_cookies` outside `debug` warns |
/// | a repeated query parameter throws (a 500 in the demo apps) | a 400 JSON answer; so are a missing `state`, `code` or tenant |
/// | a tampered login-state cookie throws a raw error | `RedirectReason::InvalidLoginState`; every cookie matching the state is cleared |
/// | old login-state cookies pruned by a text sort of their timestamps | pruned by numeric timestamp |
/// | logout `state` and `redirect_url`, and form bodies, not URL-encoded | every query value and form body encoded |
/// | another callback `error` thrown | a 400 whose body carries the error code only if it is `[a-z_]{1,64}` |
/// | logout leaves the session to the app | `logout()` revokes the refresh token (failures logged) and destroys the session |
/// | subdomains compared exactly | compared case-insensitively; the tenant name lowercased |
/// | two parallel refreshes with one rotating refresh token sign the user out | single flight per process: one call, shared result, remembered 30 s |
/// | a refresh response without `refresh_token` overwrites it with `undefined` | the old refresh token is kept |
/// | refresh argument errors (`expiresAt` 0 or negative) answer 401 | a zero or negative `expiresAt` counts as expired: the tokens are refreshed |
/// | CSRF token compared with `===` | compared in constant time |
/// | JWT strategy via a separate package, algorithms as configured | RS256 only (`none` and HS256 refused), RSA keys under 2048 bits refused, JWKS re-fetches rate-limited |
/// | `jwksCacheTtl` in milliseconds, counted from a key's last use (a key in steady use never expires) | `jwks_cache_ttl` in seconds, counted from the key's fetch |
/// | `createWristbandJwtValidator()` builds a second cache next to the middleware's | [`WristbandAuth::jwt_validator()`] shares the guard's cache, fetch budget and checks |
/// | `discoverWristbandAuth()` throws on any failure, an unreachable Wristband included; with auto-configuration off it throws | `preload_config` aborts launch on a misconfiguration only; with auto-configuration off it does nothing |
/// | a failed sdk-configuration fetch says `Failed to fetch SDK configuration after 3 attempts` | the log names the URL and the likely cause and keys; the debug profile shows them to the browser |
/// | the ID token is stored unchecked; the `nonce` is sent but never compared | the callback validates it (signature against the JWKS, `iss`, `aud` = `client_id`, `azp` = `client_id` when present and with several audiences, `exp`, `iat` neither in the future nor more than 10 minutes old (each beyond a 60 s leeway), `nonce` = the one sent, `sub` = userinfo's); a failure is `RedirectReason::InvalidIdToken`, never a 5xx |
/// | any RS256 token from the issuer passes the JWT strategy, ID tokens included | bearer tokens need `typ: at+JWT`; `jwt_allowed_client_ids` restricts `client_id` |
/// | the JWT strategy's `Authorization` parsing tolerates extra whitespace between `Bearer` and the token | exactly one space, one token of visible ASCII, one `Authorization` header ([`bearer_token`](crate::bearer_token), the guard's own rule) |
/// | `createWristbandJwtValidator({ wristbandApplicationVanityDomain })` | [`WristbandJwtValidator::new`](crate::WristbandJwtValidator::new) (no Rocket needed), or a `wristband_auth` table with only the vanity domain ([bearer-only services](#bearer-only-services)) |
/// | the login-state cookie is set on whatever host the login ran on (`127.0.0.1` vs `localhost`: the sign-in silently starts over) | a login on another host than `login_url`'s first moves to `login_url`'s host, same path and query; a callback without its cookie says why in the debug log |
/// | SDK 3.x's `tenant_domain` query parameter is gone (migrated links break) | accepted as an alias of `tenant_name` on login, callback and logout |
/// | the fake/test servers are not part of the SDK | `testing::FakeWristband` (feature `fake-wristband`) issues tokens shaped like Wristband's (`typ: at+JWT`, `sub_kind`, `van_dom`, `scope`, …), serves the tenant-discovery page, ends logout as Wristband does (302 back to the app's login URL with `tenant_name` and `state`; a `redirect_url` only to the client's logout URLs, `set_logout_urls`), and takes a public issuer URL (`set_public_url`) |
/// | refresh single flight (if any) is per process: two instances behind a load balancer sign the user out | with Redis (`revocation` table), one refresh per token across the fleet; without it `invalid_grant` answers 401 and keeps the cookie; [`WristbandAuth::refresh_token_if_expired()`] for code outside the guard |
///
/// Kept as in the SDK: the `redirect_uri` is sent verbatim (placeholder included); the app-level
/// login fallback drops `state` and the return URL.
///
/// [`WristbandSession`]: crate::WristbandSession
#[derive(Debug)]
pub struct WristbandAuth {
    /// `None`: read from the figment at ignite.
    options: Option<AuthOptions>,
    /// The token refresh, in the copy the fairing manages at ignite (`None` in the fairing
    /// itself).
    refresher: Option<Arc<SingleFlightRefresher>>,
    /// The bearer-JWT check, in the managed copy (`None` in the fairing itself).
    validator: Option<WristbandJwtValidator>,
}

impl WristbandAuth {
    /// The token refresh of the managed copy; `None` in the fairing value itself.
    pub(crate) fn refresher(&self) -> Option<&Arc<SingleFlightRefresher>> {
        self.refresher.as_ref()
    }

    /// The bearer-JWT check of [`WristbandJwt`](crate::WristbandJwt), for tokens that do not
    /// come in an `Authorization` header (websockets, queue consumers): see
    /// [`WristbandJwtValidator`]. Call it on the copy the fairing manages at ignite
    /// (`rocket.state::<WristbandAuth>()`, or `&State<WristbandAuth>` in a handler); `None` on
    /// the fairing value itself.
    ///
    /// ```rust
    /// # use rocket::post;
    /// use rocket::State;
    /// use wristband_rocket_session::WristbandAuth;
    ///
    /// /// A token sent in the body, say by a device that cannot set headers.
    /// #[post("/api/device", data = "<token>")]
    /// async fn device(auth: &State<WristbandAuth>, token: String) -> Option<String> {
    ///     let validator = auth.jwt_validator()?;
    ///     validator.validate(token.trim()).await.ok().map(|jwt| jwt.tenant_id())
    /// }
    ///
    /// // The fairing value is not the managed copy.
    /// assert!(rocket::build().state::<WristbandAuth>().is_none());
    /// ```
    pub fn jwt_validator(&self) -> Option<WristbandJwtValidator> {
        self.validator.clone()
    }

    /// The fairing, with options from the active profile's `wristband_auth` table (and so
    /// from `ROCKET_WRISTBAND_AUTH`). A missing table aborts launch:
    /// `wristband_application_vanity_domain` is required, and `client_id` and `client_secret`
    /// to sign users in (without both, a [bearer-only service](#bearer-only-services)).
    ///
    /// ```rust
    /// # use rocket::figment::Figment;
    /// use rocket::local::blocking::Client;
    /// use wristband_rocket_session::{WristbandAuth, WristbandSession};
    ///
    /// let figment = rocket::Config::figment().merge((
    ///     "wristband_auth",
    ///     serde_json::json!({
    ///         "client_id": "my-client-id",
    ///         "client_secret": "my-client-secret",
    ///         "wristband_application_vanity_domain": "myapp-myco.us.wristband.dev",
    ///     }),
    /// ));
    /// let rocket = rocket::custom(figment)
    ///     .attach(WristbandAuth::fairing())
    ///     .attach(WristbandSession::fairing());
    /// assert!(Client::untracked(rocket).is_ok());
    /// ```
    pub fn fairing() -> WristbandAuth {
        WristbandAuth { options: None, refresher: None, validator: None }
    }

    /// The fairing with `options` from code; the figment is not consulted for them.
    ///
    /// ```rust
    /// use rocket::local::blocking::Client;
    /// use wristband_rocket_session::{AuthOptions, WristbandAuth, WristbandSession};
    ///
    /// let options = AuthOptions {
    ///     client_id: "my-client-id".into(),
    ///     client_secret: std::env::var("WRISTBAND_CLIENT_SECRET")
    ///         .unwrap_or_else(|_| "a-development-client-secret".into()),
    ///     wristband_application_vanity_domain: "myapp-myco.us.wristband.dev".into(),
    ///     ..AuthOptions::default()
    /// };
    /// let rocket = rocket::build()
    ///     .attach(WristbandSession::fairing())
    ///     .attach(WristbandAuth::custom(options));
    /// assert!(Client::untracked(rocket).is_ok());
    ///
    /// // Without the session fairing, launch is refused.
    /// let alone = AuthOptions {
    ///     client_id: "my-client-id".into(),
    ///     client_secret: "my-client-secret".into(),
    ///     wristband_application_vanity_domain: "myapp-myco.us.wristband.dev".into(),
    ///     ..AuthOptions::default()
    /// };
    /// match Client::untracked(rocket::build().attach(WristbandAuth::custom(alone))) {
    ///     Ok(_) => panic!("launched without WristbandSession"),
    ///     Err(e) => assert!(matches!(e.kind(), rocket::error::ErrorKind::FailedFairings(_))),
    /// }
    /// ```
    ///
    /// Both constructors return a `WristbandAuth`, so the choice can be made at run time:
    ///
    /// ```rust
    /// use wristband_rocket_session::{AuthOptions, WristbandAuth};
    ///
    /// let options: Option<AuthOptions> = None; // e.g. built from a secrets manager
    /// let fairing = match options {
    ///     Some(options) => WristbandAuth::custom(options),
    ///     None => WristbandAuth::fairing(),
    /// };
    /// let rocket = rocket::build().attach(fairing);
    /// ```
    pub fn custom(options: AuthOptions) -> WristbandAuth {
        WristbandAuth { options: Some(options), refresher: None, validator: None }
    }

    fn configure(&self, rocket: &Rocket<Build>) -> Result<AuthState, Vec<ConfigProblem>> {
        let figment = rocket.figment();
        // A misspelled table is the cause of the missing keys: it alone is reported.
        let misspelled = crate::session::options::misspelled_tables(figment, TABLE);
        if !misspelled.is_empty() {
            return Err(misspelled);
        }
        let (options, mut problems) = match &self.options {
            Some(options) => (options.clone(), Vec::new()),
            None => AuthOptions::read_figment(figment),
        };
        // A key that failed to read is reported once, as read.
        let unread: Vec<String> = problems.iter().map(|p| p.key.clone()).collect();
        problems.extend(options.problems().into_iter().filter(|p| !unread.contains(&p.key)));
        if self.options.is_none() {
            problems.extend(client_secret_in_a_file(figment));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        if options.dangerously_disable_secure_cookies
            && figment.profile() != rocket::Config::DEBUG_PROFILE
        {
            log::warn!(
                "{TABLE}: `dangerously_disable_secure_cookies = true` in profile `{}`: \
                 login-state cookies are sent over plain http; keep it for local development \
                 (the `debug` profile) only",
                figment.profile()
            );
        }
        AuthState::new(options).map_err(|reason| vec![ConfigProblem::for_table(TABLE, "", reason)])
    }
}

/// The `release` profile must not read `client_secret` from a file such as `Rocket.toml` (which
/// ends up in repositories and images): a problem when it does, naming the file.
fn client_secret_in_a_file(figment: &Figment) -> Option<ConfigProblem> {
    crate::session::options::secret_in_a_file(
        figment,
        TABLE,
        "client_secret",
        "ROCKET_WRISTBAND_AUTH='{client_secret=\"...\"}'",
    )
}

/// `preload_config`: fetches the SDK configuration now. `false` (launch aborts, logged) on a
/// definite misconfiguration; an unreachable Wristband only warns.
async fn preload(state: &AuthState, profile: &str) -> bool {
    if !state.options().auto_configure_enabled {
        log::info!(
            "{TABLE}: `preload_config` has nothing to fetch: `auto_configure_enabled` is false"
        );
        return true;
    }
    match state.preload().await {
        Ok(()) => {
            log::info!("{TABLE}: SDK configuration fetched and valid (`preload_config`)");
            true
        }
        Err(failure) if failure.definite => {
            log::error!(
                "invalid `{TABLE}` configuration in profile `{profile}`: SDK auto-configuration \
                 failed at launch (`preload_config`): {}",
                failure.reason
            );
            false
        }
        Err(failure) => {
            log::warn!(
                "{TABLE}: SDK auto-configuration failed at launch (`preload_config`); launching \
                 anyway, the first login fetches again: {}",
                failure.reason
            );
            true
        }
    }
}

/// Logs `problems` one line each, naming the table, the key and the profile; never a value.
fn log_problems(profile: &str, problems: &[ConfigProblem]) {
    let noun = if problems.len() == 1 { "problem" } else { "problems" };
    log::error!(
        "invalid `{TABLE}` configuration in profile `{profile}` ({} {noun}):",
        problems.len()
    );
    for problem in problems {
        if problem.key.is_empty() {
            log::error!("  - `{TABLE}`: {}", problem.message);
        } else {
            log::error!("  - `{TABLE}.{}`: {}", problem.key, problem.message);
        }
    }
}

/// The session half of the set-up, once every ignite fairing attached before ours ran: the
/// session fairing must have managed its configuration; a missing login-state secret is
/// derived from the session's first secret.
fn join_session(rocket: &Rocket<Build>) -> bool {
    let (Some(session), Some(auth)) =
        (rocket.state::<SessionConfig>(), rocket.state::<AuthState>())
    else {
        return false;
    };
    if let Some(first) = session.options.secrets.as_slice().first() {
        auth.set_derived_login_state_secret(first);
    }
    // With Redis (a `revocation` table), refreshes are single flight across the fleet.
    if let Some(WristbandAuth { refresher: Some(refresher), .. }) = rocket.state::<WristbandAuth>()
    {
        refresher.set_shared(rocket.state::<SharedRefresh>().cloned());
    }
    true
}

/// The error logged when no session configuration is managed: the session fairing is not
/// attached, or it is and failed. Rocket does not let a fairing see the others, so the
/// figment decides: a `wristband_session` table that does not validate (as the session fairing
/// reads it) is the cause named; otherwise the fairing is missing (or failed for another
/// reason, such as Redis, which it logged).
fn log_missing_session(figment: &Figment) {
    let profile = figment.profile();
    if session_table_invalid(figment) {
        log::error!(
            "`WristbandAuth` cannot start in profile `{profile}` because the session layer did \
             not: the `wristband_session` configuration is invalid (the session fairing logged \
             each problem above); fix it, and keep `WristbandSession` attached"
        );
    } else {
        log::error!(
            "`WristbandAuth` needs the session fairing in profile `{profile}`: attach \
             `WristbandSession::fairing()` (or `WristbandSession::custom(..)`), in any order; if \
             it is attached, it failed to start: see its errors above"
        );
    }
}

/// Whether the selected profile has a `wristband_session` table (or `ROCKET_WRISTBAND_SESSION`)
/// that the session fairing refuses: a key of the wrong type or unknown, or a rule broken.
fn session_table_invalid(figment: &Figment) -> bool {
    if figment.find_value(crate::session::options::TABLE).is_err() {
        return false;
    }
    let (mut options, problems) = SessionOptions::read_figment(figment);
    if options.secrets.is_empty() && figment.profile() == rocket::Config::DEBUG_PROFILE {
        // The session fairing makes up a random secret in `debug`.
        options.secrets = "a-placeholder-secret-of-32-characters-or-more".into();
    }
    !problems.is_empty() || options.validate().is_err()
}

#[rocket::async_trait]
impl Fairing for WristbandAuth {
    fn info(&self) -> Info {
        Info { name: FAIRING_NAME, kind: Kind::Ignite | Kind::Liftoff | Kind::Singleton }
    }

    async fn on_ignite(&self, rocket: Rocket<Build>) -> fairing::Result {
        let profile = rocket.figment().profile().as_str().to_string();
        let state = match self.configure(&rocket) {
            Ok(state) => state,
            Err(problems) => {
                log_problems(&profile, &problems);
                return Err(rocket);
            }
        };
        if state.options().preload_config && !preload(&state, &profile).await {
            return Err(rocket);
        }
        if state.bearer_only() {
            // A resource server: bearer JWTs only. No session, no token refresh; the guards
            // that need more say so at launch (their `Sentinel`s).
            log::info!(
                "{TABLE}: no `client_id` or `client_secret`: checking bearer JWTs only \
                 (`WristbandJwt`); signing users in is off"
            );
            let managed = WristbandAuth {
                options: None,
                refresher: None,
                validator: Some(state.validator.clone()),
            };
            return Ok(rocket.manage(state).manage(managed));
        }
        // `AuthenticatedSession` finds the token refresh through managed state: the session
        // layer never imports this one.
        let refresher = Arc::new(SingleFlightRefresher::new(
            state.http.clone(),
            state.options().token_expiration_buffer,
        ));
        let managed = WristbandAuth {
            options: None,
            refresher: Some(refresher.clone()),
            validator: Some(state.validator.clone()),
        };
        let rocket = rocket.manage(state).manage(TokenRefresher(refresher)).manage(managed);
        if join_session(&rocket) {
            return Ok(rocket);
        }
        // The session fairing may be attached after this one and not have ignited yet: an
        // ignite fairing attached now runs after every ignite fairing attached before.
        Ok(rocket.attach(AdHoc::try_on_ignite(FAIRING_NAME, move |rocket| async move {
            if join_session(&rocket) {
                Ok(rocket)
            } else if rocket.state::<SessionStartFailed>().is_some() {
                // The session fairing is attached and failed: it said why, and launch fails
                // with it; a second error here would only be noise.
                log::debug!("{TABLE}: waiting on nothing: the session fairing failed to start");
                Ok(rocket)
            } else {
                log_missing_session(rocket.figment());
                Err(rocket)
            }
        })))
    }

    async fn on_liftoff(&self, rocket: &Rocket<Orbit>) {
        // Already done at ignite; kept for a session configuration managed some other way.
        if let (Some(session), Some(auth)) =
            (rocket.state::<SessionConfig>(), rocket.state::<AuthState>())
            && let Some(first) = session.options.secrets.as_slice().first()
        {
            auth.set_derived_login_state_secret(first);
        }
    }
}

//! [`FakeWristband`]: a fake Wristband for tests, a real HTTP server on `127.0.0.1` that speaks
//! the parts of Wristband's protocol this crate uses. Re-exported from
//! [`testing`](crate::testing) with the `fake-wristband` feature.
//!
//! Everything a test needs to know is in [`FakeWristband`]'s docs (this module is private;
//! the types are public through `testing`). The files: `server` (launch), `routes` (the route
//! list and what every handler does first), `authorize`, `token`, `endpoints` (the rest of the
//! API), `pages` (tenant discovery, signed out), `request` (reading requests without failing),
//! `answer` (responses), `state`, `keys` (RSA keys generated at run time), `origin` (the public
//! URL), `tenant` (host → tenant), `script`, `user`.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::{AuthOptions, WristbandScheme};

mod answer;
mod authorize;
mod endpoints;
mod keys;
mod origin;
mod pages;
mod request;
mod routes;
mod script;
mod server;
mod state;
mod tenant;
mod token;
mod user;

pub use script::{Endpoint, Reply};
pub use user::FakeUser;

use origin::PublicOrigin;
use state::{Holder, Shared, DEFAULT_TENANT};

/// The fake's client id.
const CLIENT_ID: &str = "fake-client-id";
/// The fake's client secret.
const CLIENT_SECRET: &str = "fake-client-secret-0123456789abcdef";
/// The fake's application id (`app_id`).
const APPLICATION_ID: &str = "fake-app-id";

/// A fake Wristband serving on `127.0.0.1` for one test: a real HTTP server that speaks the
/// parts of Wristband's protocol this crate uses, with failures a test can script.
///
/// Dropping it stops the server (or call [`shutdown`](FakeWristband::shutdown) to wait for
/// that). Every setter takes `&self` and applies to the next request.
///
/// # What it serves
///
/// One port, the paths of Wristband; the `Host` header decides the tenant (see below).
///
/// | endpoint | behaviour |
/// | --- | --- |
/// | `GET /api/v1/clients/{client_id}/sdk-configuration` | 200 with the SDK configuration ([`set_app_urls`](FakeWristband::set_app_urls), [`set_sdk_configuration`](FakeWristband::set_sdk_configuration)); 404 for another client id |
/// | `GET /api/v1/oauth2/authorize` | checks `client_id`, the registered `redirect_uri`, `response_type=code`, an S256 PKCE challenge; 302 back to `redirect_uri` (tenant placeholder filled) with `code`, `state`, `tenant_name` (and `tenant_custom_domain`); or a sign-in page; or `error` ([`set_authorize_error`](FakeWristband::set_authorize_error)). A bad request gets a 400 HTML page, not a redirect |
/// | `POST /api/v1/oauth2/token` | HTTP Basic client auth (401 `invalid_client`); `authorization_code` (code unused, PKCE, `redirect_uri` equal) and `refresh_token` (rotating: the old token is spent) grants; 400 `invalid_grant` otherwise; 200 `{access_token, id_token, refresh_token, expires_in, token_type: "bearer", scope}` (tokens: see [Tokens](#tokens)) |
/// | `GET /api/v1/oauth2/userinfo` | `Bearer` access token it issued, live and not revoked: 200 with Wristband's claims (`sub`, `tnt_id`, `app_id`, `idp_name`, `email`, …); else 401 `invalid_token` |
/// | `POST /api/v1/oauth2/revoke` | HTTP Basic, form `token`: 200 empty; a revoked refresh token no longer refreshes, a revoked access token no longer reads userinfo |
/// | `GET /api/v1/oauth2/jwks` | the published RSA keys, newest first: `kty`, `kid`, `use: "sig"`, `alg: "RS256"`, `n`, `e` |
/// | `GET /api/v1/logout` | `client_id` checked; then it ends as Wristband's logout does. Without `redirect_url`: 302 to the app's login URL for the host's tenant (the SDK configuration's `loginUrl`, `{tenant_name}` placeholder filled, else `tenant_name` appended; `tenant_custom_domain` appended on a custom domain), with `state` appended when given; only when the SDK configuration has no usable `loginUrl`, a "You are signed out" page (`id="signed-out"`, `state` unused) whose link (`id="sign-in-again"`) goes to the application-level `/login` page. With `redirect_url`: 302 there, `state` appended when given, if it is one of the client's logout URLs ([`set_logout_urls`](FakeWristband::set_logout_urls); by default any URL on the origin of the app's login URL), else a 400 page |
/// | `GET /login?client_id=…` | on the vanity host, the application-level tenant-discovery page Wristband's SDKs send a browser to when no tenant is known: a form (`id="tenant-discovery"`, text field `tenant_name`, button `id="continue"`) that submits `GET /login?client_id=…&tenant_name=…`, which answers 302 to the app's login URL (the SDK configuration's `loginUrl`, `{tenant_name}` placeholder filled, else `?tenant_name=` appended); a name that is not 1–63 letters, digits and hyphens gets the form again (400) with the typed text shown escaped. On a tenant host: 302 to the app's login URL for that tenant. Missing or unknown `client_id`: 400 page |
///
/// Every request to one of these paths is counted ([`calls`](FakeWristband::calls)), then
/// waits the endpoint's delay ([`set_delay`](FakeWristband::set_delay)), then takes the next
/// scripted [`Reply`] if any ([`script`](FakeWristband::script)), and only then is handled
/// normally. Form bodies and queries are form-decoded; a repeated parameter is a 400.
///
/// # Hosts and tenants
///
/// The vanity domain is `localhost:<port>` and the SDK configuration says
/// `isApplicationCustomDomainActive: true`, so the app sends a tenant's browser to
/// `http://<tenant>.localhost:<port>`. Chromium resolves `*.localhost` to loopback; the system
/// resolver may not (an HTTP client in a test can map the name, for example with reqwest's
/// `ClientBuilder::resolve`). On authorize and logout:
///
/// - `<tenant>.localhost` (or `<tenant>-localhost`): that tenant;
/// - `localhost` (the vanity domain itself) or no `Host`: the application (`/login` shows the
///   tenant-discovery page); where a tenant is needed, the default tenant, `"acme"`;
/// - any other host, such as `127.0.0.1:<port>`: a tenant custom domain: the default tenant,
///   and the redirect to the app also carries `tenant_custom_domain=<host:port>`.
///
/// With a public URL ([`set_public_url`](FakeWristband::set_public_url)), its host counts as a
/// vanity domain too: `auth.example.test` is the application, `acme.auth.example.test` (or
/// `acme-auth.example.test`) the tenant `acme`. A [`FakeUser`] with a `tenant_name` overrides
/// the host's tenant.
///
/// The registered redirect URI is the SDK configuration's `redirectUri`: authorize accepts it
/// as is (with its placeholder) or with the placeholder filled with the tenant. When the
/// configuration's `redirectUri` is not a string, any `redirect_uri` is accepted.
///
/// # Tokens
///
/// Shaped like Wristband's, and signed as described under [Keys](#keys):
///
/// - access tokens: header `typ: at+JWT`, `alg: RS256`, `kid`; claims `iss` (the
///   [`base_url`](FakeWristband::base_url)), `sub` (the user id), `sub_kind: "user"`,
///   `client_id`, `tnt_id`, `app_id`, `van_dom` (the [`vanity_domain`](FakeWristband::vanity_domain)),
///   `idp_name: "wristband"`, `scope` (the authorize request's scopes, space-separated;
///   `openid offline_access email` for tokens made without one), `auth_time` (when the user
///   signed in, kept across refreshes), `amr` (how the user authenticated, as Wristband's:
///   always `["pwd"]`), `jti` (random), `exp`, `iat`; no `nbf` (Wristband's have none);
/// - ID tokens: header `typ: JWT`; claims `iss`, `sub`, `aud` (the client id), `exp` (one hour),
///   `iat`, `auth_time`, `amr` (`["pwd"]`), `nonce` (the authorize request's, when it sent one;
///   none after a refresh), `tnt_id`, `app_id`, `idp_name`, and `email` when the user has one;
/// - refresh tokens: opaque random strings.
///
/// # Behind a TLS proxy
///
/// By default the fake is known as `http://localhost:<port>`, which is not what Wristband's
/// SDKs expect (`https://<vanity domain>`). [`set_public_url`](FakeWristband::set_public_url)
/// gives it a public origin, such as `https://auth.example.test` served by a TLS proxy in
/// front of [`local_url`](FakeWristband::local_url): the `iss` and `van_dom` of the tokens
/// issued from then on, [`base_url`](FakeWristband::base_url),
/// [`vanity_domain`](FakeWristband::vanity_domain), [`tenant_url`](FakeWristband::tenant_url),
/// [`auth_options`](FakeWristband::auth_options) and the links its pages give to itself all
/// follow it; it still listens on `127.0.0.1:<port>` only.
///
/// # Keys
///
/// JWTs are signed with RS256 by 2048-bit RSA keys generated at run time (the `rsa` crate, the
/// operating system's random source); no key is stored anywhere. Key number `n` has the kid
/// `fake-wristband-key-<n>`: the first signs at start, and
/// [`rotate_signing_key`](FakeWristband::rotate_signing_key) moves to the next one, always a
/// new key. A key number is generated once per process, the first time a fake needs it, and
/// shared by every fake of that process (so a test binary that starts many fakes pays for key
/// generation once, and its fakes trust each other's tokens); another process has other keys.
/// The JWKS is built with `jsonwebtoken`'s JWK helpers.
///
/// # Beside your own app
///
/// To try an app locally without a Wristband account, start a fake and sign the app in with
/// it. The fake serves for as long as the `FakeWristband` value lives: give it to the app's
/// Rocket with [`manage`](rocket::Rocket::manage), so that it lives exactly as long as the
/// app (and handlers can reach it as `&State<FakeWristband>`, for example to
/// [switch users](Self::set_user)). A fake that is only a local variable of the function
/// building the Rocket stops when that function returns, and the first login then fails with
/// "nothing is listening at `localhost:<port>`: is the fake Wristband (or Wristband) running?".
///
/// ```
/// use rocket::{Build, Rocket};
/// use wristband_rocket_session::testing::FakeWristband;
/// use wristband_rocket_session::{WristbandAuth, WristbandSession};
///
/// async fn app() -> Rocket<Build> {
///     let fake = FakeWristband::start().await;
///     // Where the app will listen: the fake sends browsers back there.
///     fake.set_app_urls("http://localhost:8000/auth/login", "http://localhost:8000/auth/callback");
///     fake.set_auto_approve(false); // show the sign-in page (and its user picker)
///     rocket::build()
///         .attach(WristbandSession::fairing())
///         .attach(WristbandAuth::custom(fake.auth_options()))
///         .manage(fake) // the fake now lives as long as the app
/// }
///
/// # rocket::async_test(async {
/// let rocket = app().await;
/// let fake = rocket.state::<FakeWristband>().expect("managed");
/// assert!(reqwest::get(fake.base_url() + "/api/v1/oauth2/jwks").await.unwrap().status().is_success());
/// # });
/// ```
///
/// For a fake that a frontend or a service in another language signs in with, run the
/// standalone one: `cargo run --example fake_wristband --features fake-wristband -- --help`.
///
/// # Not for real users
///
/// The fake signs anyone in, and anyone who can reach it can get tokens from it: it lives
/// behind the cargo feature `fake-wristband` (off by default) so that a production build
/// cannot contain it. Enable the feature for tests (`[dev-dependencies]`) and local demos only.
///
/// # Logging
///
/// The fake's Rocket is configured to log nothing. Rocket's log level is process-wide,
/// though: building any Rocket (`rocket::custom`, `rocket::build`) raises it to "normal" until
/// that Rocket ignites, so when tests start servers in parallel a few request lines may be
/// printed, and a Rocket ignited after the fake sets the level to its own. None of this applies
/// when the test process installed its own `log` logger first.
///
/// # Simplifications
///
/// - A code is single-use, but a failed check (PKCE, `redirect_uri`) does not consume it, so a
///   test can try again; codes do not expire.
/// - Client authentication is HTTP Basic only (as Wristband's SDKs use it); the id and the
///   secret may be form-encoded first (RFC 6749 §2.3.1) or raw.
/// - There is no sign-in session at Wristband: logout changes nothing, and every authorize approves (or shows the page) again.
/// - Any well-formed tenant name is accepted by the discovery page (the fake has no list of
///   tenants), and `customApplicationLoginPageUrl` is never redirected to.
///
/// # Example
///
/// ```
/// use wristband_rocket_session::testing::FakeWristband;
///
/// # rocket::async_test(async {
/// let fake = FakeWristband::start().await;
/// let url = format!("{}/api/v1/clients/{}/sdk-configuration", fake.base_url(), fake.client_id());
/// let config: serde_json::Value = reqwest::get(url).await.unwrap().json().await.unwrap();
/// assert_eq!(config["isApplicationCustomDomainActive"], true);
/// # });
/// ```
pub struct FakeWristband {
    shared: Arc<Shared>,
    port: u16,
    shutdown: rocket::Shutdown,
    task: Option<server::Task>,
}

#[cfg_attr(docsrs, doc(cfg(feature = "fake-wristband")))]
impl std::fmt::Debug for FakeWristband {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeWristband").field("port", &self.port).finish_non_exhaustive()
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "fake-wristband")))]
impl FakeWristband {
    /// Starts a fake on `127.0.0.1`, on a port the OS picks, with the defaults: client
    /// `fake-client-id` / `fake-client-secret-0123456789abcdef`, login URL
    /// `http://localhost:8000/auth/login`, redirect URI `http://localhost:8000/auth/callback`,
    /// the default [`FakeUser`], auto-approve on, access tokens for 1800 s. Returns once the
    /// server accepts connections.
    ///
    /// # Panics
    ///
    /// If the server cannot start within 10 s (this is test tooling).
    ///
    /// ```
    /// # rocket::async_test(async {
    /// let fake = wristband_rocket_session::testing::FakeWristband::start().await;
    /// assert_ne!(fake.port(), 0);
    /// # });
    /// ```
    pub async fn start() -> FakeWristband {
        FakeWristband::launch(0).await
    }

    /// Starts a fake on `127.0.0.1:port`, a fixed port (for a fake that a browser, a frontend
    /// dev server or another process finds at a known address; the `fake_wristband` example
    /// uses it). `start_on(0)` is [`start`](Self::start).
    ///
    /// # Panics
    ///
    /// If the port is taken, or the server cannot start within 10 s.
    ///
    /// ```
    /// # rocket::async_test(async {
    /// use wristband_rocket_session::testing::FakeWristband;
    ///
    /// let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    /// let fake = FakeWristband::start_on(free).await;
    /// assert_eq!(fake.base_url(), format!("http://localhost:{free}"));
    /// # });
    /// ```
    pub async fn start_on(port: u16) -> FakeWristband {
        FakeWristband::launch(port).await
    }

    /// [`start`](Self::start) on `port` (0: the OS picks).
    async fn launch(port: u16) -> FakeWristband {
        // The first key of the process is generated here, on a blocking thread, not on the
        // caller's runtime thread (a no-op once a fake of the process has started).
        let _ = rocket::tokio::task::spawn_blocking(|| keys::prepare(1)).await;
        let shared = Arc::new(Shared::new(CLIENT_ID, CLIENT_SECRET, APPLICATION_ID));
        let running = server::launch(Arc::clone(&shared), port).await;
        FakeWristband {
            shared,
            port: running.port,
            shutdown: running.shutdown,
            task: Some(running.task),
        }
    }

    /// Stops the server and waits (up to a few seconds) until it has stopped.
    ///
    /// ```
    /// # rocket::async_test(async {
    /// let fake = wristband_rocket_session::testing::FakeWristband::start().await;
    /// let url = fake.base_url();
    /// fake.shutdown().await;
    /// assert!(reqwest::get(url).await.is_err());
    /// # });
    /// ```
    pub async fn shutdown(mut self) {
        self.shutdown.clone().notify();
        if let Some(task) = self.task.take() {
            let _ = rocket::tokio::time::timeout(Duration::from_secs(5), task).await;
        }
    }

    /// The port it listens on.
    ///
    /// ```
    /// # rocket::async_test(async {
    /// let fake = wristband_rocket_session::testing::FakeWristband::start().await;
    /// assert_eq!(fake.base_url(), format!("http://localhost:{}", fake.port()));
    /// # });
    /// ```
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The application vanity domain: `localhost:<port>`, or the `host[:port]` of the
    /// [public URL](Self::set_public_url). The `van_dom` of its access tokens.
    ///
    /// ```
    /// # rocket::async_test(async {
    /// let fake = wristband_rocket_session::testing::FakeWristband::start().await;
    /// assert_eq!(fake.vanity_domain(), format!("localhost:{}", fake.port()));
    /// # });
    /// ```
    pub fn vanity_domain(&self) -> String {
        self.shared.origin().1
    }

    /// `http://localhost:<port>`, or the [public URL](Self::set_public_url): where the app
    /// reaches it, and the `iss` of its JWTs.
    ///
    /// ```
    /// # rocket::async_test(async {
    /// let fake = wristband_rocket_session::testing::FakeWristband::start().await;
    /// assert_eq!(fake.base_url(), format!("http://{}", fake.vanity_domain()));
    /// # });
    /// ```
    pub fn base_url(&self) -> String {
        self.shared.issuer()
    }

    /// `http://localhost:<port>`: where it listens, whatever its [public
    /// URL](Self::set_public_url) (the upstream of a TLS proxy, or for a test that talks to it
    /// directly).
    ///
    /// ```
    /// # rocket::async_test(async {
    /// let fake = wristband_rocket_session::testing::FakeWristband::start().await;
    /// fake.set_public_url(Some("https://auth.example.test"));
    /// assert_eq!(fake.local_url(), format!("http://localhost:{}", fake.port()));
    /// # });
    /// ```
    pub fn local_url(&self) -> String {
        format!("http://{}", self.shared.local_authority())
    }

    /// `http://<tenant>.localhost:<port>` (with a [public URL](Self::set_public_url):
    /// `<scheme>://<tenant>.<host[:port]>`): a tenant's host, where the app sends the browser.
    ///
    /// ```
    /// # rocket::async_test(async {
    /// let fake = wristband_rocket_session::testing::FakeWristband::start().await;
    /// assert_eq!(fake.tenant_url("acme"), format!("http://acme.localhost:{}", fake.port()));
    /// # });
    /// ```
    pub fn tenant_url(&self, tenant: &str) -> String {
        let (scheme, authority) = self.shared.origin();
        format!("{scheme}://{tenant}.{authority}")
    }

    /// Gives the fake a public origin, for use behind a TLS proxy (`None`: back to
    /// `http://localhost:<port>`). From then on it is the `iss` (and its `host[:port]` the
    /// `van_dom`) of every token issued, and [`base_url`](Self::base_url),
    /// [`vanity_domain`](Self::vanity_domain), [`tenant_url`](Self::tenant_url),
    /// [`auth_options`](Self::auth_options) (`wristband_scheme` from its scheme) and the links
    /// the fake's pages give to itself follow it. Requests whose `Host` is that host (the
    /// application) or `<tenant>.<host>` (a tenant) are understood as such. The fake still
    /// listens on [`local_url`](Self::local_url) only; tokens issued before keep their `iss`.
    ///
    /// # Panics
    ///
    /// If `url` is not `http(s)://host[:port]` (a trailing `/` is allowed; no path, query,
    /// fragment or user): this is test tooling.
    ///
    /// ```
    /// use wristband_rocket_session::testing::FakeWristband;
    /// use wristband_rocket_session::WristbandScheme;
    ///
    /// # rocket::async_test(async {
    /// let fake = FakeWristband::start().await;
    /// fake.set_public_url(Some("https://auth.example.test"));
    /// assert_eq!(fake.base_url(), "https://auth.example.test");
    /// assert_eq!(fake.vanity_domain(), "auth.example.test");
    /// assert_eq!(fake.tenant_url("acme"), "https://acme.auth.example.test");
    /// assert_eq!(fake.auth_options().wristband_scheme, WristbandScheme::Https);
    ///
    /// let jwt = fake.issue_access_token("user-1", "tenant-1", 300);
    /// let claims: serde_json::Value =
    ///     jsonwebtoken::dangerous::insecure_decode_claims(&jwt).unwrap();
    /// assert_eq!(claims["iss"], "https://auth.example.test");
    /// assert_eq!(claims["van_dom"], "auth.example.test");
    ///
    /// fake.set_public_url(None);
    /// assert_eq!(fake.base_url(), fake.local_url());
    /// # });
    /// ```
    pub fn set_public_url(&self, url: Option<&str>) {
        let public = url.map(|url| match PublicOrigin::parse(url) {
            Ok(public) => public,
            Err(why) => panic!("FakeWristband::set_public_url({url:?}): {why}"),
        });
        self.shared.lock().public = public;
    }

    /// The OAuth2 client id it accepts: `fake-client-id`.
    ///
    /// ```
    /// # rocket::async_test(async {
    /// let fake = wristband_rocket_session::testing::FakeWristband::start().await;
    /// assert_eq!(fake.client_id(), "fake-client-id");
    /// # });
    /// ```
    pub fn client_id(&self) -> &str {
        &self.shared.client_id
    }

    /// The OAuth2 client secret it accepts: `fake-client-secret-0123456789abcdef`.
    ///
    /// ```
    /// # rocket::async_test(async {
    /// let fake = wristband_rocket_session::testing::FakeWristband::start().await;
    /// assert_eq!(fake.client_secret(), "fake-client-secret-0123456789abcdef");
    /// # });
    /// ```
    pub fn client_secret(&self) -> &str {
        &self.shared.client_secret
    }

    /// The application id of its tokens and userinfo (`app_id`): `fake-app-id`.
    ///
    /// ```
    /// # rocket::async_test(async {
    /// let fake = wristband_rocket_session::testing::FakeWristband::start().await;
    /// assert_eq!(fake.application_id(), "fake-app-id");
    /// # });
    /// ```
    pub fn application_id(&self) -> &str {
        &self.shared.application_id
    }

    /// Options for an app that signs in with this fake: its client id and secret, vanity
    /// domain, `wristband_scheme = Http` (the [public URL](Self::set_public_url)'s scheme when
    /// set), `dangerously_disable_secure_cookies = true`, and every other option at its default
    /// (auto-configuration on).
    ///
    /// ```
    /// use wristband_rocket_session::WristbandScheme;
    ///
    /// # rocket::async_test(async {
    /// let fake = wristband_rocket_session::testing::FakeWristband::start().await;
    /// let options = fake.auth_options();
    /// assert_eq!(options.wristband_scheme, WristbandScheme::Http);
    /// assert_eq!(options.wristband_application_vanity_domain, fake.vanity_domain());
    /// assert!(options.auto_configure_enabled);
    /// # });
    /// ```
    pub fn auth_options(&self) -> AuthOptions {
        let (scheme, vanity_domain) = self.shared.origin();
        AuthOptions {
            client_id: self.client_id().into(),
            client_secret: self.client_secret().into(),
            wristband_application_vanity_domain: vanity_domain,
            wristband_scheme: if scheme == "https" {
                WristbandScheme::Https
            } else {
                WristbandScheme::Http
            },
            dangerously_disable_secure_cookies: true,
            ..AuthOptions::default()
        }
    }

    /// Sets the `loginUrl` and `redirectUri` of the SDK configuration (placeholders such as
    /// `{tenant_name}` allowed). The redirect URI is also the one authorize accepts; the login
    /// URL is also where logout sends the browser back (and, unless
    /// [`set_logout_urls`](Self::set_logout_urls) says otherwise, its origin is where logout's
    /// `redirect_url` may point).
    ///
    /// ```
    /// # rocket::async_test(async {
    /// let fake = wristband_rocket_session::testing::FakeWristband::start().await;
    /// fake.set_app_urls("http://127.0.0.1:8123/auth/login", "http://127.0.0.1:8123/auth/callback");
    /// assert_eq!(fake.sdk_configuration()["redirectUri"], "http://127.0.0.1:8123/auth/callback");
    /// # });
    /// ```
    pub fn set_app_urls(&self, login_url: &str, redirect_uri: &str) {
        let mut inner = self.shared.lock();
        if !inner.sdk_configuration.is_object() {
            inner.sdk_configuration = state::default_sdk_configuration();
        }
        inner.sdk_configuration["loginUrl"] = login_url.into();
        inner.sdk_configuration["redirectUri"] = redirect_uri.into();
    }

    /// The logout URLs of the client: where logout's `redirect_url` may send the browser.
    ///
    /// `Some(urls)`: a `redirect_url` must equal one of them, compared as parsed URLs (so
    /// `HTTP://App.test:80/bye` equals `http://app.test/bye`; the query counts), with a
    /// `{tenant_name}` placeholder filled with the tenant of the logout's host. `None` (the
    /// default): any URL on the origin (scheme, host and port) of the app's login URL for that
    /// tenant (see [`set_app_urls`](Self::set_app_urls)), and none when the SDK configuration
    /// has no usable `loginUrl`. Any other `redirect_url` gets a 400 page, as with Wristband,
    /// where the allowed logout URLs are a setting of the application.
    ///
    /// # Panics
    ///
    /// If a URL, its placeholder filled, is not an `http` or `https` URL (this is test tooling).
    ///
    /// ```
    /// use reqwest::redirect::Policy;
    ///
    /// # rocket::async_test(async {
    /// let fake = wristband_rocket_session::testing::FakeWristband::start().await;
    /// fake.set_logout_urls(Some(&["https://app.example/signed-out"]));
    /// let client = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
    /// let logout = format!("{}/api/v1/logout", fake.base_url());
    /// let query = [("client_id", fake.client_id()), ("redirect_url", "https://app.example/signed-out")];
    /// let answer = client.get(&logout).query(&query).send().await.unwrap();
    /// assert_eq!(answer.status(), 302);
    /// assert_eq!(answer.headers()["location"], "https://app.example/signed-out");
    ///
    /// let query = [("client_id", fake.client_id()), ("redirect_url", "https://evil.example/")];
    /// let answer = client.get(&logout).query(&query).send().await.unwrap();
    /// assert_eq!(answer.status(), 400);
    /// # });
    /// ```
    pub fn set_logout_urls(&self, urls: Option<&[&str]>) {
        let urls = urls.map(|urls| {
            urls.iter()
                .map(|url| {
                    let filled = tenant_placeholder_filled(url);
                    match oauth2::url::Url::parse(&filled) {
                        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {
                            url.to_string()
                        }
                        _ => {
                            panic!("FakeWristband::set_logout_urls: {url:?} is not an http(s) URL")
                        }
                    }
                })
                .collect()
        });
        self.shared.lock().logout_urls = urls;
    }

    /// Replaces the whole SDK configuration body (any JSON, valid or not).
    ///
    /// ```
    /// use serde_json::json;
    ///
    /// # rocket::async_test(async {
    /// let fake = wristband_rocket_session::testing::FakeWristband::start().await;
    /// fake.set_sdk_configuration(json!({ "loginUrl": null }));
    /// assert_eq!(fake.sdk_configuration(), json!({ "loginUrl": null }));
    /// # });
    /// ```
    pub fn set_sdk_configuration(&self, json: Value) {
        self.shared.lock().sdk_configuration = json;
    }

    /// The SDK configuration body it serves now.
    ///
    /// ```
    /// # rocket::async_test(async {
    /// let fake = wristband_rocket_session::testing::FakeWristband::start().await;
    /// assert_eq!(fake.sdk_configuration()["loginUrl"], "http://localhost:8000/auth/login");
    /// # });
    /// ```
    pub fn sdk_configuration(&self) -> Value {
        self.shared.lock().sdk_configuration.clone()
    }

    /// Sets who signs in from now on (codes and tokens already issued keep their user): the
    /// first of the [users](Self::users), the one auto-approve signs in and the sign-in page
    /// offers first. The other users, if any, stay.
    ///
    /// ```
    /// use wristband_rocket_session::testing::{FakeUser, FakeWristband};
    ///
    /// # rocket::async_test(async {
    /// let fake = FakeWristband::start().await;
    /// fake.set_user(FakeUser { tenant_name: Some("globex".into()), ..FakeUser::default() });
    /// assert_eq!(fake.users()[0].tenant_name.as_deref(), Some("globex"));
    /// # });
    /// ```
    pub fn set_user(&self, user: FakeUser) {
        self.shared.lock().user = user;
    }

    /// Adds a user to those the sign-in page lets the developer pick from (shown when
    /// [auto-approve](Self::set_auto_approve) is off; with it on, the first user signs in).
    /// Each user brings their own `sub`, tenant and roles to the codes, tokens and userinfo
    /// issued when they sign in; a user with a [`tenant_name`](FakeUser::tenant_name) signs in
    /// to that tenant whatever host the browser used.
    ///
    /// ```
    /// use wristband_rocket_session::testing::{FakeUser, FakeWristband};
    ///
    /// # rocket::async_test(async {
    /// let fake = FakeWristband::start().await;
    /// fake.add_user(FakeUser::new("admin-1", "acme").with_roles(["admin"]));
    /// fake.set_auto_approve(false); // the sign-in page asks which user
    /// let ids: Vec<String> = fake.users().into_iter().map(|u| u.user_id).collect();
    /// assert_eq!(ids, ["fake-user-1", "admin-1"]);
    /// # });
    /// ```
    pub fn add_user(&self, user: FakeUser) {
        self.shared.lock().other_users.push(user);
    }

    /// Replaces every user: the first is the one [`set_user`](Self::set_user) sets (and
    /// auto-approve signs in), the others are offered after it on the sign-in page. An empty
    /// list leaves the [default user](FakeUser::default) alone.
    ///
    /// ```
    /// use wristband_rocket_session::testing::{FakeUser, FakeWristband};
    ///
    /// # rocket::async_test(async {
    /// let fake = FakeWristband::start().await;
    /// fake.set_users([
    ///     FakeUser::new("ada", "acme").with_roles(["admin", "viewer"]),
    ///     FakeUser::new("bob", "globex").with_roles(["viewer"]),
    /// ]);
    /// let users = fake.users();
    /// assert_eq!(users.len(), 2);
    /// assert_eq!(users[1].tenant_name.as_deref(), Some("globex"));
    /// # });
    /// ```
    pub fn set_users(&self, users: impl IntoIterator<Item = FakeUser>) {
        let mut users = users.into_iter();
        let first = users.next();
        let mut inner = self.shared.lock();
        inner.user = first.unwrap_or_default();
        inner.other_users = users.collect();
    }

    /// Every user who can sign in, in the sign-in page's order (the first is the one
    /// auto-approve signs in).
    ///
    /// ```
    /// # rocket::async_test(async {
    /// let fake = wristband_rocket_session::testing::FakeWristband::start().await;
    /// assert_eq!(fake.users(), [wristband_rocket_session::testing::FakeUser::default()]);
    /// # });
    /// ```
    pub fn users(&self) -> Vec<FakeUser> {
        let inner = self.shared.lock();
        std::iter::once(&inner.user).chain(&inner.other_users).cloned().collect()
    }

    /// On (the default): authorize sends the browser straight back to the app with a code,
    /// for the first of the [users](Self::users).
    /// Off: authorize serves a sign-in page naming the tenant and the user, with a
    /// "Sign in" button (`id="sign-in"`) whose form post sends the browser back (303). With
    /// several users, the page lets the developer pick one (radio buttons `id="user-<n>"`,
    /// `n` from 0, in the order of [`users`](Self::users); the first is checked).
    ///
    /// ```
    /// # rocket::async_test(async {
    /// let fake = wristband_rocket_session::testing::FakeWristband::start().await;
    /// fake.set_auto_approve(false);
    /// # });
    /// ```
    pub fn set_auto_approve(&self, on: bool) {
        self.shared.lock().auto_approve = on;
    }

    /// `Some(error)`: authorize sends the browser back with `error`, `error_description`,
    /// `state` and `tenant_name` instead of a code (for example `"login_required"`).
    /// `None` (the default): codes again.
    ///
    /// ```
    /// # rocket::async_test(async {
    /// let fake = wristband_rocket_session::testing::FakeWristband::start().await;
    /// fake.set_authorize_error(Some("login_required"));
    /// # });
    /// ```
    pub fn set_authorize_error(&self, error: Option<&str>) {
        let error = error.map(|error| {
            let description = match error {
                "login_required" => "The user must sign in",
                _ => "Error set by the test",
            };
            (error.to_string(), description.to_string())
        });
        self.shared.lock().authorize_error = error;
    }

    /// The `expires_in` (seconds) of access tokens from the token endpoint; 1800 by default.
    /// Zero or negative values issue tokens that have already expired.
    ///
    /// ```
    /// # rocket::async_test(async {
    /// let fake = wristband_rocket_session::testing::FakeWristband::start().await;
    /// fake.set_expires_in(5);
    /// # });
    /// ```
    pub fn set_expires_in(&self, seconds: i64) {
        self.shared.lock().expires_in = seconds;
    }

    /// Queues replies for `endpoint`: each call takes the next one before any normal handling;
    /// then the endpoint behaves normally again. Adds to what is already queued.
    ///
    /// ```
    /// use wristband_rocket_session::testing::{Endpoint, FakeWristband, Reply};
    ///
    /// # rocket::async_test(async {
    /// let fake = FakeWristband::start().await;
    /// fake.script(Endpoint::Jwks, [Reply::Status(503)]);
    /// let url = format!("{}/api/v1/oauth2/jwks", fake.base_url());
    /// assert_eq!(reqwest::get(&url).await.unwrap().status(), 503);
    /// assert_eq!(reqwest::get(&url).await.unwrap().status(), 200);
    /// # });
    /// ```
    pub fn script(&self, endpoint: Endpoint, replies: impl IntoIterator<Item = Reply>) {
        self.shared.lock().endpoints[endpoint.index()].script.extend(replies);
    }

    /// Every call to `endpoint` waits `delay` first (`Duration::ZERO`: no wait).
    ///
    /// ```
    /// use std::time::Duration;
    /// use wristband_rocket_session::testing::{Endpoint, FakeWristband};
    ///
    /// # rocket::async_test(async {
    /// let fake = FakeWristband::start().await;
    /// fake.set_delay(Endpoint::Userinfo, Duration::from_millis(200));
    /// # });
    /// ```
    pub fn set_delay(&self, endpoint: Endpoint, delay: Duration) {
        let delay = (!delay.is_zero()).then_some(delay);
        self.shared.lock().endpoints[endpoint.index()].delay = delay;
    }

    /// How many requests `endpoint` has received, failed and scripted ones included (the
    /// sign-in page's form post counts for [`Endpoint::Authorize`]).
    ///
    /// ```
    /// use wristband_rocket_session::testing::{Endpoint, FakeWristband};
    ///
    /// # rocket::async_test(async {
    /// let fake = FakeWristband::start().await;
    /// reqwest::get(format!("{}/api/v1/oauth2/jwks", fake.base_url())).await.unwrap();
    /// assert_eq!(fake.calls(Endpoint::Jwks), 1);
    /// # });
    /// ```
    pub fn calls(&self, endpoint: Endpoint) -> usize {
        self.shared.lock().endpoints[endpoint.index()].calls
    }

    /// A new RSA key signs from now on; the JWKS serves it (first) and the old ones.
    ///
    /// ```
    /// # rocket::async_test(async {
    /// let fake = wristband_rocket_session::testing::FakeWristband::start().await;
    /// let before = fake.current_kid();
    /// fake.rotate_signing_key();
    /// assert_ne!(fake.current_kid(), before);
    /// # });
    /// ```
    pub fn rotate_signing_key(&self) {
        // Generates the next key outside the fake's lock, so its server keeps answering.
        let next = self.shared.lock().keys.next_number();
        keys::prepare(next);
        self.shared.lock().keys.rotate();
    }

    /// The JWKS stops serving every key but the current one (tokens signed by older keys then
    /// name a kid the JWKS does not have).
    ///
    /// ```
    /// # rocket::async_test(async {
    /// let fake = wristband_rocket_session::testing::FakeWristband::start().await;
    /// fake.rotate_signing_key();
    /// fake.retire_old_signing_keys();
    /// # });
    /// ```
    pub fn retire_old_signing_keys(&self) {
        self.shared.lock().keys.retire_old();
    }

    /// The kid of the key that signs now.
    ///
    /// ```
    /// # rocket::async_test(async {
    /// let fake = wristband_rocket_session::testing::FakeWristband::start().await;
    /// assert_eq!(fake.current_kid(), "fake-wristband-key-1");
    /// # });
    /// ```
    pub fn current_kid(&self) -> String {
        self.shared.lock().keys.current().kid().to_string()
    }

    /// An RS256 access token signed by the current key, as the token endpoint issues them (see
    /// [Tokens](#tokens)): `sub` = `user_id`, `tnt_id` = `tenant_id`, `iat` = `auth_time` =
    /// now, `exp` = now + `expires_in` (negative: already expired), `scope`
    /// `openid offline_access email`. The fake's userinfo accepts it (as the current user with
    /// these ids) until it expires.
    ///
    /// ```
    /// # rocket::async_test(async {
    /// let fake = wristband_rocket_session::testing::FakeWristband::start().await;
    /// let jwt = fake.issue_access_token("user-1", "tenant-1", 300);
    /// assert_eq!(jwt.split('.').count(), 3);
    /// # });
    /// ```
    pub fn issue_access_token(&self, user_id: &str, tenant_id: &str, expires_in: i64) -> String {
        let holder = self.holder_with_ids(user_id, tenant_id);
        self.shared.issue_access_token(&holder, expires_in).expect("the fake's keys always sign")
    }

    /// A refresh token the token endpoint accepts (once: it rotates), for the current user with
    /// these ids: for tests that start from a session instead of a sign-in.
    ///
    /// ```
    /// # rocket::async_test(async {
    /// let fake = wristband_rocket_session::testing::FakeWristband::start().await;
    /// let refresh_token = fake.issue_refresh_token("user-1", "tenant-1");
    /// assert!(!refresh_token.is_empty());
    /// # });
    /// ```
    pub fn issue_refresh_token(&self, user_id: &str, tenant_id: &str) -> String {
        let holder = self.holder_with_ids(user_id, tenant_id);
        self.shared.issue_refresh_token(holder)
    }

    /// Every token sent to the revocation endpoint so far, in order.
    ///
    /// ```
    /// # rocket::async_test(async {
    /// let fake = wristband_rocket_session::testing::FakeWristband::start().await;
    /// assert!(fake.revoked_tokens().is_empty());
    /// # });
    /// ```
    pub fn revoked_tokens(&self) -> Vec<String> {
        self.shared.lock().revoked.clone()
    }

    /// How many refresh tokens were spent by a successful refresh grant.
    ///
    /// ```
    /// # rocket::async_test(async {
    /// let fake = wristband_rocket_session::testing::FakeWristband::start().await;
    /// assert_eq!(fake.refresh_tokens_spent(), 0);
    /// # });
    /// ```
    pub fn refresh_tokens_spent(&self) -> usize {
        self.shared.lock().refresh_tokens_spent
    }

    /// The decoded query parameters of the last `GET` authorize request, in order (`None`
    /// before the first), for checking what an app's login sent.
    ///
    /// ```
    /// # rocket::async_test(async {
    /// let fake = wristband_rocket_session::testing::FakeWristband::start().await;
    /// assert!(fake.last_authorize_request().is_none());
    /// # });
    /// ```
    pub fn last_authorize_request(&self) -> Option<Vec<(String, String)>> {
        self.shared.lock().last_authorize_request.clone()
    }

    /// The current user with other ids (and a tenant name), signed in now with the default
    /// scopes: the holder of tokens made by hand.
    fn holder_with_ids(&self, user_id: &str, tenant_id: &str) -> Holder {
        let mut user = self.shared.lock().user.clone();
        user.user_id = user_id.into();
        user.tenant_id = tenant_id.into();
        user.tenant_name.get_or_insert_with(|| DEFAULT_TENANT.into());
        Holder { user, scope: None, auth_time: state::now() }
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "fake-wristband")))]
impl Drop for FakeWristband {
    fn drop(&mut self) {
        self.shutdown.clone().notify();
    }
}

/// `url` with its tenant placeholder filled with a sample tenant name (for checking its shape).
fn tenant_placeholder_filled(url: &str) -> String {
    tenant::fill_placeholder(url, DEFAULT_TENANT)
}

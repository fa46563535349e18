//! The app that tests/it/auth_login.rs, tests/it/auth_callback.rs and tests/it/auth_logout.rs drive
//! through Rocket's local client: sessions and `WristbandAuth` on a `FakeWristband`, the
//! standard routes under `/auth`, `/t/login` and `/t/logout` routes that pass the `LoginConfig`
//! or `LogoutConfig` a test sets with `set_config`, and the helpers the three share to send
//! requests and read answers. What differs between the files' apps is an [`AuthApp`]. Included
//! with `#[allow(dead_code)] #[path = "support/auth_app.rs"] mod auth_app;` (each file uses part
//! of it).

use std::sync::Mutex;

use rocket::http::uri::Host;
use rocket::http::Status;
use rocket::local::asynchronous::{Client, LocalRequest, LocalResponse};
use rocket::{Build, Rocket, Route, State};
use wristband_rocket_session::testing::FakeWristband;
use wristband_rocket_session::{
    AuthOptions, LoginConfig, LogoutConfig, SessionCodec, SessionOptions, Wristband, WristbandAuth,
    WristbandError, WristbandRedirect, WristbandSession,
};

/// The session layer's secret.
pub const SESSION_SECRET: &str = "a-session-secret-of-at-least-32-characters";
/// The `login_state_secret` of the apps that set one.
pub const LOGIN_STATE_SECRET: &str = "a-login-state-secret-of-at-least-32-chars";

/// The `LoginConfig` that `/t/login` passes, or the `LogoutConfig` that `/t/logout` passes (the
/// default until a test calls `set_config`).
pub struct Config<T>(Mutex<T>);

/// `login()` with the `LoginConfig` the test set.
#[rocket::get("/t/login")]
pub async fn custom_login(
    wristband: Wristband<'_>,
    config: &State<Config<LoginConfig>>,
) -> Result<WristbandRedirect, WristbandError> {
    let config = config.0.lock().unwrap().clone();
    wristband.login(config).await
}

/// `logout()` with the `LogoutConfig` the test set.
#[rocket::get("/t/logout")]
pub async fn custom_logout(
    wristband: Wristband<'_>,
    config: &State<Config<LogoutConfig>>,
) -> Result<WristbandRedirect, WristbandError> {
    let config = config.0.lock().unwrap().clone();
    wristband.logout(config).await
}

/// The tenant custom domains the login and logout tests use (the allowlist itself is tested in
/// tests/it/security_tenant_domains.rs).
pub const CUSTOM_DOMAINS: &[&str] =
    &["auth.acme.com", "*.acme.com", "d.com", "x.com", "*.example.com"];

/// What differs between the test files' apps.
pub struct AuthApp {
    /// `allowed_tenant_custom_domains`: the custom domains the file's tests use (the allowlist
    /// itself is tested in tests/it/security_tenant_domains.rs).
    pub allowed_tenant_custom_domains: &'static [&'static str],
    /// `login_state_secret`, when the file sets one.
    pub login_state_secret: Option<&'static str>,
    /// The session layer's `enable_csrf_protection`.
    pub csrf: bool,
    /// Mounted at `/`, beside `WristbandAuth::routes()` at `/auth`.
    pub routes: Vec<Route>,
}

impl AuthApp {
    /// `routes` at `/`, [`CUSTOM_DOMAINS`] allowed, no login-state secret, no CSRF protection.
    pub fn new(routes: Vec<Route>) -> AuthApp {
        AuthApp {
            allowed_tenant_custom_domains: CUSTOM_DOMAINS,
            login_state_secret: None,
            csrf: false,
            routes,
        }
    }

    /// The app on `fake`: the fake's `auth_options()` with this app's settings, then `configure`
    /// applied; sessions not `secure`; logging off.
    pub fn rocket(
        self,
        fake: &FakeWristband,
        configure: impl FnOnce(&mut AuthOptions),
    ) -> Rocket<Build> {
        let mut options = fake.auth_options();
        options.allowed_tenant_custom_domains =
            self.allowed_tenant_custom_domains.iter().map(|d| d.to_string()).collect();
        if let Some(secret) = self.login_state_secret {
            options.login_state_secret = Some(secret.into());
        }
        configure(&mut options);
        let session = SessionOptions {
            secrets: SESSION_SECRET.into(),
            secure: false,
            enable_csrf_protection: self.csrf,
            ..SessionOptions::default()
        };
        let figment = rocket::Config::figment().merge(("log_level", "off"));
        rocket::custom(figment)
            .attach(WristbandSession::custom(session))
            .attach(WristbandAuth::custom(options))
            .manage(Config(Mutex::new(LoginConfig::default())))
            .manage(Config(Mutex::new(LogoutConfig::default())))
            .mount("/auth", WristbandAuth::routes())
            .mount("/", self.routes)
    }

    /// A local client of [`AuthApp::rocket`].
    pub async fn client(
        self,
        fake: &FakeWristband,
        configure: impl FnOnce(&mut AuthOptions),
    ) -> Client {
        Client::untracked(self.rocket(fake, configure)).await.expect("valid app")
    }
}

/// The `LoginConfig` or `LogoutConfig` the next `/t/login` or `/t/logout` request passes.
pub fn set_config<T: Send + Sync + 'static>(client: &Client, config: T) {
    *client.rocket().state::<Config<T>>().expect("a managed config").0.lock().unwrap() = config;
}

/// `GET uri`.
pub async fn get<'c>(client: &'c Client, uri: &str) -> LocalResponse<'c> {
    client.get(uri.to_string()).dispatch().await
}

/// The request with its `Host` set to `host`.
pub fn on_host<'c>(mut request: LocalRequest<'c>, host: &str) -> LocalRequest<'c> {
    request.inner_mut().set_host(Host::parse_owned(host.to_string()).unwrap());
    request
}

/// `GET uri` on `host`.
pub async fn get_on_host<'c>(client: &'c Client, uri: &str, host: &str) -> LocalResponse<'c> {
    on_host(client.get(uri.to_string()), host).dispatch().await
}

/// The `Location` of a 302.
pub fn location(response: &LocalResponse<'_>) -> String {
    assert_eq!(response.status(), Status::Found, "expected a redirect");
    response.headers().get_one("Location").expect("a Location").to_string()
}

/// Every `Set-Cookie` header of a response.
pub fn set_cookies(response: &LocalResponse<'_>) -> Vec<String> {
    response.headers().get("Set-Cookie").map(str::to_string).collect()
}

/// The codec that seals and opens the login-state cookie `name` as the apps with
/// [`LOGIN_STATE_SECRET`] do.
pub fn login_state_codec(name: &str) -> SessionCodec {
    let options = SessionOptions {
        secrets: LOGIN_STATE_SECRET.into(),
        cookie_name: name.into(),
        ..SessionOptions::default()
    };
    SessionCodec::new(&options).unwrap()
}

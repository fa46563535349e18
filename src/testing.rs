//! Helpers for your own route tests: send a request as a logged-in Wristband user, or with any
//! session data, through Rocket's local client, using the app's own configuration (no secret is
//! repeated in the test).
//!
//! ```rust
//! # use rocket::{get, routes};
//! use rocket::local::asynchronous::Client;
//! use wristband_rocket_session::testing::{callback_data, LocalRequestExt};
//! use wristband_rocket_session::{AuthenticatedSession, WristbandSession};
//!
//! #[get("/me")]
//! fn me(session: AuthenticatedSession<'_>) -> String {
//!     session.user_id()
//! }
//!
//! # rocket::async_test(async {
//! let rocket = rocket::build().attach(WristbandSession::fairing()).mount("/", routes![me]);
//! let client = Client::tracked(rocket).await.unwrap();
//!
//! let login = callback_data("user-1", "tenant-1");
//! let response = client.get("/me").logged_in_as(&login).dispatch().await;
//! assert_eq!(response.into_string().await.as_deref(), Some("user-1"));
//! # });
//! ```
//!
//! With the `fake-wristband` feature (which implies `auth`), `FakeWristband` is a fake
//! Wristband server for tests of the sign-in flows (authorize, token, userinfo, revoke, JWKS,
//! logout), with scriptable failures. It signs anyone in, so keep the feature out of any build
//! that serves real users: enable it in `[dev-dependencies]`, for example
//! `wristband-rocket-session = { version = "…", features = ["fake-wristband"] }`.

#[cfg(feature = "fake-wristband")]
#[cfg_attr(docsrs, doc(cfg(feature = "fake-wristband")))]
pub use crate::auth::fake::{Endpoint, FakeUser, FakeWristband, Reply};

use rocket::http::{Cookie, CookieJar, Header};
use rocket::{Orbit, Request, Rocket};
use serde::Serialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::session::cookies::SessionConfig;
use crate::session::guard::keys;
use crate::session::login_data::{login_map, CallbackData, UserInfo};

/// Plausible Wristband callback data for a test user: tokens, a one-hour expiry, tenant name
/// `"test-tenant"`, identity provider `"wristband"`. Change its fields as needed.
///
/// ```
/// let data = wristband_rocket_session::testing::callback_data("u1", "t1");
/// assert_eq!(data.userinfo.user_id, "u1");
/// ```
pub fn callback_data(user_id: &str, tenant_id: &str) -> CallbackData {
    let now_ms = OffsetDateTime::now_utc().unix_timestamp() * 1000;
    CallbackData {
        access_token: "test-access-token".into(),
        expires_at: now_ms + 3_600_000,
        expires_in: 3600,
        id_token: "test-id-token".into(),
        refresh_token: Some("test-refresh-token".into()),
        tenant_name: "test-tenant".into(),
        userinfo: UserInfo {
            user_id: user_id.into(),
            tenant_id: tenant_id.into(),
            application_id: "test-application".into(),
            identity_provider_name: "wristband".into(),
            ..UserInfo::default()
        },
        ..CallbackData::default()
    }
}

fn config(rocket: &Rocket<Orbit>) -> &SessionConfig {
    rocket.state::<SessionConfig>().expect(
        "the client's Rocket has no session configuration: attach `WristbandSession::fairing()`",
    )
}

/// Seals `data` with the app's configuration into the request's cookies (and, with CSRF on,
/// its header when the data carries a token).
fn add_session(request: &Request<'_>, data: &Map<String, Value>) -> Vec<Cookie<'static>> {
    let config = config(request.rocket());
    let value = config.codec.seal(data).expect("a JSON object always serializes");
    let pieces = config.split(&value).unwrap_or_else(|| {
        panic!("test session too large for the app's cookie budget ({} bytes)", config.limit())
    });
    pieces
        .into_iter()
        .map(|(name, piece)| Cookie::new(name.to_string(), piece.to_string()))
        .collect()
}

fn csrf_header(request: &Request<'_>, data: &Map<String, Value>) -> Option<Header<'static>> {
    let options = &config(request.rocket()).options;
    let token = data.get(keys::CSRF_TOKEN)?.as_str()?;
    options
        .enable_csrf_protection
        .then(|| Header::new(options.csrf_header_name.clone(), token.to_string()))
}

fn object<T: Serialize>(data: &T) -> Map<String, Value> {
    match serde_json::to_value(data) {
        Ok(Value::Object(map)) => map,
        _ => panic!("test session data must serialize to a JSON object"),
    }
}

/// Reads the session that a response wrote, with the app's configuration: `None` if the
/// response wrote no session cookie (or one that does not open).
///
/// ```rust
/// # use rocket::{get, routes};
/// use rocket::local::asynchronous::Client;
/// use wristband_rocket_session::{testing, Session, WristbandSession};
///
/// #[get("/")]
/// fn index(session: Session<'_>) {
///     session.insert("seen", true).unwrap();
/// }
///
/// # rocket::async_test(async {
/// let rocket = rocket::build().attach(WristbandSession::fairing()).mount("/", routes![index]);
/// let client = Client::tracked(rocket).await.unwrap();
/// let response = client.get("/").dispatch().await;
/// let session = testing::written_session(client.rocket(), response.cookies()).unwrap();
/// assert_eq!(session["seen"], true);
/// # });
/// ```
pub fn written_session(
    rocket: &Rocket<Orbit>,
    cookies: &CookieJar<'_>,
) -> Option<Map<String, Value>> {
    let config = config(rocket);
    let value = config.presented_value(cookies)?;
    config.codec.open(&value)
}

/// Adds a session to a request of Rocket's local client (asynchronous or blocking).
///
/// Every method panics with a clear message if the app lacks the fairing or the data does not
/// fit in the app's cookie budget: these are helpers for tests.
///
/// With the asynchronous client:
///
/// ```rust
/// # use rocket::{get, routes};
/// use rocket::local::asynchronous::Client;
/// use serde_json::json;
/// use wristband_rocket_session::testing::LocalRequestExt;
/// use wristband_rocket_session::{Session, WristbandSession};
///
/// #[get("/theme")]
/// fn theme(session: Session<'_>) -> Option<String> {
///     session.get("theme").unwrap()
/// }
///
/// # rocket::async_test(async {
/// let rocket = rocket::build().attach(WristbandSession::fairing()).mount("/", routes![theme]);
/// let client = Client::untracked(rocket).await.unwrap();
/// let response = client.get("/theme").with_session(&json!({ "theme": "dark" })).dispatch().await;
/// assert_eq!(response.into_string().await.as_deref(), Some("dark"));
/// # });
/// ```
pub trait LocalRequestExt: Sized {
    /// Sends the request with a session holding `data` (anything that serializes to a JSON
    /// object), sealed with the app's own secrets and cookie name.
    ///
    /// ```rust
    /// # use rocket::{get, routes};
    /// use rocket::local::blocking::Client;
    /// use serde_json::json;
    /// use wristband_rocket_session::testing::LocalRequestExt;
    /// use wristband_rocket_session::{Session, WristbandSession};
    ///
    /// #[get("/visits")]
    /// fn visits(session: Session<'_>) -> String {
    ///     session.get::<u64>("visits").unwrap().unwrap_or(0).to_string()
    /// }
    ///
    /// let rocket = rocket::build().attach(WristbandSession::fairing()).mount("/", routes![visits]);
    /// let client = Client::tracked(rocket).unwrap();
    /// let response = client.get("/visits").with_session(&json!({ "visits": 41 })).dispatch();
    /// assert_eq!(response.into_string().as_deref(), Some("41"));
    /// ```
    fn with_session<T: Serialize>(self, data: &T) -> Self;

    /// Sends the request as the user of `login`, as [`Session::from_callback`] would have
    /// stored it; with CSRF protection on, the request also carries the matching CSRF header.
    ///
    /// ```rust
    /// # use rocket::{post, routes};
    /// use rocket::http::Status;
    /// use rocket::local::blocking::Client;
    /// use wristband_rocket_session::testing::{callback_data, LocalRequestExt};
    /// use wristband_rocket_session::{AuthenticatedSession, SessionOptions, WristbandSession};
    ///
    /// #[post("/api/notes")]
    /// fn create(session: AuthenticatedSession<'_>) -> String {
    ///     format!("note by {}", session.user_id())
    /// }
    ///
    /// let options = SessionOptions {
    ///     secrets: "a-secret-of-at-least-32-characters!!".into(),
    ///     enable_csrf_protection: true,
    ///     ..SessionOptions::default()
    /// };
    /// let rocket = rocket::build().attach(WristbandSession::custom(options));
    /// let client = Client::untracked(rocket.mount("/", routes![create])).unwrap();
    ///
    /// // Logged in, and carrying the CSRF header that the login's token requires.
    /// let response = client.post("/api/notes").logged_in_as(&callback_data("u1", "t1")).dispatch();
    /// assert_eq!(response.into_string().as_deref(), Some("note by u1"));
    /// // Anonymous: the guard forwards, and the 401 catcher answers.
    /// assert_eq!(client.post("/api/notes").dispatch().status(), Status::Unauthorized);
    /// ```
    ///
    /// [`Session::from_callback`]: crate::Session::from_callback
    fn logged_in_as(self, login: &CallbackData) -> Self;
}

macro_rules! impl_local_request_ext {
    ($request:ty) => {
        impl LocalRequestExt for $request {
            fn with_session<T: Serialize>(self, data: &T) -> Self {
                let data = object(data);
                let cookies = add_session(self.inner(), &data);
                let header = csrf_header(self.inner(), &data);
                let request = self.cookies(cookies);
                match header {
                    Some(header) => request.header(header),
                    None => request,
                }
            }

            fn logged_in_as(self, login: &CallbackData) -> Self {
                let csrf = config(self.inner().rocket()).options.enable_csrf_protection;
                let data = login_map(login, None, csrf).expect("no custom fields, no collision");
                self.with_session(&data)
            }
        }
    };
}

impl_local_request_ext!(rocket::local::asynchronous::LocalRequest<'_>);
impl_local_request_ext!(rocket::local::blocking::LocalRequest<'_>);

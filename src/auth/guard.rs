//! The [`Wristband`] request guard and the [`WristbandRedirect`] responder.

use std::fmt;

use rocket::http::uri::Origin;
use rocket::http::{CookieJar, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::{self, Responder, Response};
use rocket::{Ignite, Rocket, Sentinel};

use super::config::AuthState;
use super::error::WristbandError;
use super::login_state::adjoin_pending;
use crate::session::guard::Session;

/// Signing a user in and out with Wristband, for one request: a request guard.
///
/// It gives the route handler the flows of the configured Wristband application:
/// [`login()`](Wristband::login), [`callback()`](Wristband::callback) and
/// [`logout()`](Wristband::logout). It needs [`WristbandAuth`](crate::WristbandAuth) attached
/// (and so [`WristbandSession`](crate::WristbandSession)); a route that uses it while
/// `WristbandAuth` is not attached aborts launch with a message saying so (`Sentinel`).
///
/// The cookies the flows set or clear (the login-state cookies) reach the client with the
/// response, whatever the handler returns: [`WristbandRedirect`] and [`WristbandError`] write
/// them, and so does the `WristbandAuth` fairing for any other response.
///
/// ```rust,no_run
/// # use rocket::{get, launch, routes};
/// use wristband_rocket_session::{
///     CallbackResult, LoginConfig, LogoutConfig, Session, Wristband, WristbandAuth,
///     WristbandError, WristbandRedirect, WristbandSession,
/// };
///
/// #[get("/auth/login")]
/// async fn login(wristband: Wristband<'_>) -> Result<WristbandRedirect, WristbandError> {
///     wristband.login(LoginConfig::default()).await
/// }
///
/// #[get("/auth/callback")]
/// async fn callback(
///     wristband: Wristband<'_>,
///     session: Session<'_>,
/// ) -> Result<WristbandRedirect, WristbandError> {
///     match wristband.callback().await? {
///         CallbackResult::Completed(data) => {
///             session.from_callback(&data, None)?;
///             Ok(WristbandRedirect::to(data.return_url.clone().unwrap_or_else(|| "/".into())))
///         }
///         CallbackResult::RedirectRequired { redirect_url, .. } => {
///             Ok(WristbandRedirect::to(redirect_url))
///         }
///     }
/// }
///
/// #[get("/auth/logout")]
/// async fn logout(wristband: Wristband<'_>) -> Result<WristbandRedirect, WristbandError> {
///     wristband.logout(LogoutConfig::default()).await
/// }
///
/// #[launch]
/// fn rocket() -> _ {
///     rocket::build()
///         .attach(WristbandSession::fairing())
///         .attach(WristbandAuth::fairing())
///         .mount("/", routes![login, callback, logout])
/// }
/// ```
pub struct Wristband<'r> {
    pub(crate) state: &'r AuthState,
    pub(crate) uri: &'r Origin<'r>,
    /// The `Host` header's host, with its port when it has one.
    pub(crate) host: Option<String>,
    pub(crate) cookies: &'r CookieJar<'r>,
    pub(crate) session: Option<Session<'r>>,
}

impl fmt::Debug for Wristband<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wristband")
            .field("client_id", &self.state.options().client_id)
            .field("path", &self.uri.path().as_str())
            .finish_non_exhaustive()
    }
}

impl Wristband<'_> {
    /// Whether login-state cookies carry `Secure`.
    pub(crate) fn secure_cookies(&self) -> bool {
        !self.state.options().dangerously_disable_secure_cookies
    }

    /// `https` or `http` (the latter only for a loopback Wristband).
    pub(crate) fn scheme(&self) -> &'static str {
        match self.state.options().wristband_scheme {
            super::options::WristbandScheme::Https => "https",
            super::options::WristbandScheme::Http => "http",
        }
    }
}

/// The log line for a route that uses the guard without the fairing.
fn missing_fairing() {
    log::error!(
        "`Wristband` is used by a route, but the Wristband auth fairing is not attached. Attach \
         `WristbandAuth::fairing()` (and `WristbandSession::fairing()`): \
         `rocket::build().attach(WristbandSession::fairing()).attach(WristbandAuth::fairing())`."
    );
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Wristband<'r> {
    type Error = WristbandError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let Some(state) = req.rocket().state::<AuthState>() else {
            missing_fairing();
            let reason = "WristbandAuth is not attached".to_string();
            return Outcome::Error((
                Status::InternalServerError,
                WristbandError::Configuration { reason },
            ));
        };
        if state.bearer_only() {
            // Unreachable through a mounted route (the `Sentinel` aborts launch).
            missing_client();
            let reason = "WristbandAuth checks bearer JWTs only (no client_id)".to_string();
            return Outcome::Error((
                Status::InternalServerError,
                WristbandError::Configuration { reason },
            ));
        }
        let host = req.host().map(|h| match h.port() {
            Some(port) => format!("{}:{port}", h.domain()),
            None => h.domain().to_string(),
        });
        Outcome::Success(Wristband {
            state,
            uri: req.uri(),
            host,
            cookies: req.cookies(),
            session: Session::of(req),
        })
    }
}

/// The log line for a route that uses the guard while `WristbandAuth` checks bearer JWTs only.
fn missing_client() {
    log::error!(
        "`Wristband` (signing users in: login, callback, logout) is used by a route, but the \
         `wristband_auth` table has no `client_id` and `client_secret`, so `WristbandAuth` only \
         checks bearer JWTs. Set both keys (the secret from the environment outside \
         development) and attach `WristbandSession::fairing()`, or remove the route."
    );
}

impl Sentinel for Wristband<'_> {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        match rocket.state::<AuthState>() {
            None => {
                missing_fairing();
                true
            }
            Some(state) if state.bearer_only() => {
                missing_client();
                true
            }
            Some(_) => false,
        }
    }
}

/// A redirect that no cache may keep: `302 Found` with `Location`, `Cache-Control: no-store`
/// and `Pragma: no-cache`, what every Wristband flow answers with.
///
/// ```
/// # use rocket::{get, routes};
/// use rocket::http::Status;
/// use rocket::local::blocking::Client;
/// use wristband_rocket_session::WristbandRedirect;
///
/// #[get("/away")]
/// fn away() -> WristbandRedirect {
///     WristbandRedirect::to("/home")
/// }
///
/// let client = Client::untracked(rocket::build().mount("/", routes![away])).unwrap();
/// let response = client.get("/away").dispatch();
/// assert_eq!(response.status(), Status::Found);
/// assert_eq!(response.headers().get_one("Location"), Some("/home"));
/// assert_eq!(response.headers().get_one("Cache-Control"), Some("no-store"));
/// assert_eq!(response.headers().get_one("Pragma"), Some("no-cache"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WristbandRedirect {
    url: String,
}

impl WristbandRedirect {
    /// A redirect to `url`, used as given: pass only URLs the app trusts (the flows' own
    /// results, or a `return_url` the login accepted).
    ///
    /// ```
    /// use wristband_rocket_session::WristbandRedirect;
    ///
    /// let redirect = WristbandRedirect::to(String::from("/dashboard"));
    /// assert_eq!(redirect.url(), "/dashboard");
    /// ```
    pub fn to(url: impl Into<String>) -> Self {
        WristbandRedirect { url: url.into() }
    }

    /// Where it redirects to.
    ///
    /// ```
    /// use wristband_rocket_session::WristbandRedirect;
    ///
    /// assert_eq!(WristbandRedirect::to("https://example.com/").url(), "https://example.com/");
    /// ```
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// Also writes the login-state cookies the request's flows set or cleared.
impl<'r> Responder<'r, 'static> for WristbandRedirect {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let mut response = Response::build()
            .status(Status::Found)
            .raw_header("Location", self.url)
            .raw_header("Cache-Control", "no-store")
            .raw_header("Pragma", "no-cache")
            .finalize();
        adjoin_pending(req, &mut response);
        Ok(response)
    }
}

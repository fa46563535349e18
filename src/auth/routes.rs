//! [`WristbandAuth::routes()`]: the standard login, callback, logout, session and token
//! routes, for apps that want them as they are.

use rocket::{get, routes, Route};

use super::callback::CallbackResult;
use super::error::WristbandError;
use super::fairing::WristbandAuth;
use super::guard::{Wristband, WristbandRedirect};
use super::login::LoginConfig;
use super::logout::LogoutConfig;
use crate::{AuthenticatedSession, Session, SessionError, SessionResponse, TokenResponse};

#[get("/login")]
async fn login(wristband: Wristband<'_>) -> Result<WristbandRedirect, WristbandError> {
    wristband.login(LoginConfig::default()).await
}

#[get("/callback")]
async fn callback(
    wristband: Wristband<'_>,
    session: Session<'_>,
) -> Result<WristbandRedirect, WristbandError> {
    match wristband.callback().await? {
        CallbackResult::Completed(data) => {
            session.from_callback(&data, None)?;
            Ok(WristbandRedirect::to(data.return_url.clone().unwrap_or_else(|| "/".into())))
        }
        CallbackResult::RedirectRequired { redirect_url, .. } => {
            Ok(WristbandRedirect::to(redirect_url))
        }
    }
}

#[get("/logout")]
async fn logout(wristband: Wristband<'_>) -> Result<WristbandRedirect, WristbandError> {
    wristband.logout(LogoutConfig::default()).await
}

#[get("/session")]
fn session(session: AuthenticatedSession<'_>) -> Result<SessionResponse, SessionError> {
    session.session_response(None)
}

#[get("/token")]
fn token(session: AuthenticatedSession<'_>) -> Result<TokenResponse, SessionError> {
    session.token_response()
}

impl WristbandAuth {
    /// The standard routes, to mount under a base of the app's choice (`/auth` below):
    ///
    /// | route | does |
    /// | --- | --- |
    /// | `GET /login` | [`Wristband::login()`] with [`LoginConfig::default()`] |
    /// | `GET /callback` | [`Wristband::callback()`], then [`Session::from_callback()`] and a redirect to the return URL or `/`; or the redirect a [`CallbackResult::RedirectRequired`] asks for |
    /// | `GET /logout` | [`Wristband::logout()`] with [`LogoutConfig::default()`] |
    /// | `GET /session` | [`Session::session_response()`] for a logged-in user (401 otherwise) |
    /// | `GET /token` | [`Session::token_response()`] for a logged-in user (401 otherwise) |
    ///
    /// The `redirect_uri` configured in Wristband must then be `{base}/callback`, and the
    /// application's login URL `{base}/login`.
    ///
    /// ```rust,no_run
    /// # use rocket::launch;
    /// use wristband_rocket_session::{WristbandAuth, WristbandSession};
    ///
    /// #[launch]
    /// fn rocket() -> _ {
    ///     rocket::build()
    ///         .attach(WristbandSession::fairing())
    ///         .attach(WristbandAuth::fairing())
    ///         .mount("/auth", WristbandAuth::routes())
    /// }
    /// ```
    pub fn routes() -> Vec<Route> {
        routes![login, callback, logout, session, token]
    }
}

//! [`AuthenticatedUser`]: one guard for routes that serve browsers (session) and API clients
//! (bearer JWT), trying the `auth_strategies` in order.

use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::{Ignite, Rocket, Sentinel};

use super::config::AuthState;
use super::jwt::WristbandJwt;
use super::options::AuthStrategy;
use crate::session::authenticated::AuthenticatedSession;
use crate::session::error::SessionError;
use crate::session::guard::Session;

/// Whether `WristbandAuth` is missing from `rocket` (logged for `guard`): the Sentinel check
/// of the `auth` guards.
pub(crate) fn auth_missing(rocket: &Rocket<Ignite>, guard: &str) -> bool {
    let missing = rocket.state::<AuthState>().is_none();
    if missing {
        log::error!(
            "`{guard}` is used by a route but the `WristbandAuth` fairing is not attached: add \
             `.attach(WristbandAuth::fairing())` (with `WristbandSession::fairing()`)"
        );
    }
    missing
}

/// The user of a request, authenticated by the session cookie or by a bearer JWT: a request
/// guard.
///
/// The strategies are tried in the order of the `auth_strategies` key of `wristband_auth`
/// (`["session"]` by default; `["session", "jwt"]`, `["jwt", "session"]` or `["jwt"]`); the
/// first that succeeds gives the user. When none does, the outcome of the **last** strategy
/// tried decides, as in Wristband's middleware: with `["session", "jwt"]`, a browser whose CSRF
/// header is wrong on a state-changing request and that sends no bearer token gets 401, not
/// 403. CSRF protection applies to the session strategy only (an API client's bearer token is
/// not sent automatically by a browser), on the methods [`AuthenticatedSession`] checks (all but
/// `GET`, `HEAD`, `OPTIONS` and `TRACE`, unless `csrf_check_all_methods` is set). The session strategy refreshes expired tokens as [`AuthenticatedSession`] does.
///
/// ```rust
/// # #[cfg(feature = "fake-wristband")]
/// # mod example {
/// # use rocket::{get, routes};
/// use rocket::http::Header;
/// use rocket::local::asynchronous::Client;
/// // The test server `FakeWristband` needs the cargo feature `fake-wristband`.
/// use wristband_rocket_session::testing::{callback_data, FakeWristband, LocalRequestExt};
/// use wristband_rocket_session::{
///     AuthStrategy, AuthenticatedUser, WristbandAuth, WristbandSession,
/// };
///
/// #[get("/api/whoami")]
/// fn whoami(user: AuthenticatedUser<'_>) -> String {
///     let how = match &user {
///         AuthenticatedUser::Session(_) => "session",
///         AuthenticatedUser::Jwt(_) => "jwt",
///         _ => "other",
///     };
///     format!("{} via {how}", user.user_id())
/// }
///
/// # pub fn run() {
/// # rocket::async_test(async {
/// let fake = FakeWristband::start().await;
/// let options = wristband_rocket_session::AuthOptions {
///     auth_strategies: vec![AuthStrategy::Session, AuthStrategy::Jwt],
///     ..fake.auth_options()
/// };
/// let rocket = rocket::build()
///     .attach(WristbandSession::fairing())
///     .attach(WristbandAuth::custom(options))
///     .mount("/", routes![whoami]);
/// let client = Client::untracked(rocket).await.unwrap();
///
/// let browser = client.get("/api/whoami").logged_in_as(&callback_data("u1", "t1"));
/// assert_eq!(browser.dispatch().await.into_string().await.unwrap(), "u1 via session");
/// let token = fake.issue_access_token("u2", "t2", 1800);
/// let api = client.get("/api/whoami").header(Header::new("Authorization", format!("Bearer {token}")));
/// assert_eq!(api.dispatch().await.into_string().await.unwrap(), "u2 via jwt");
/// # });
/// # }
/// # }
/// # fn main() {
/// #     #[cfg(feature = "fake-wristband")]
/// #     example::run();
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum AuthenticatedUser<'r> {
    /// Signed in with the session cookie.
    Session(AuthenticatedSession<'r>),
    /// Called with a bearer access token.
    Jwt(WristbandJwt<'r>),
}

impl AuthenticatedUser<'_> {
    /// The user's id (`userId` of the session, `sub` of the token).
    ///
    /// ```rust
    /// # use rocket::get;
    /// use wristband_rocket_session::AuthenticatedUser;
    ///
    /// #[get("/api/me")]
    /// fn me(user: AuthenticatedUser<'_>) -> String {
    ///     user.user_id()
    /// }
    /// ```
    pub fn user_id(&self) -> String {
        match self {
            AuthenticatedUser::Session(session) => session.user_id(),
            AuthenticatedUser::Jwt(jwt) => jwt.user_id(),
        }
    }

    /// The tenant's id (`tenantId` of the session, `tnt_id` of the token).
    ///
    /// ```rust
    /// # use rocket::get;
    /// use wristband_rocket_session::AuthenticatedUser;
    ///
    /// #[get("/api/tenant")]
    /// fn tenant(user: AuthenticatedUser<'_>) -> String {
    ///     user.tenant_id()
    /// }
    /// ```
    pub fn tenant_id(&self) -> String {
        match self {
            AuthenticatedUser::Session(session) => session.tenant_id(),
            AuthenticatedUser::Jwt(jwt) => jwt.tenant_id(),
        }
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AuthenticatedUser<'r> {
    type Error = SessionError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let Some(state) = req.rocket().state::<AuthState>() else {
            return Outcome::Error((Status::InternalServerError, SessionError::NotConfigured));
        };
        let mut last = Outcome::Forward(Status::Unauthorized);
        for strategy in &state.options().auth_strategies {
            last = match strategy {
                AuthStrategy::Session => match AuthenticatedSession::from_request(req).await {
                    Outcome::Success(session) => {
                        return Outcome::Success(AuthenticatedUser::Session(session))
                    }
                    Outcome::Forward(status) => Outcome::Forward(status),
                    Outcome::Error(error) => Outcome::Error(error),
                },
                AuthStrategy::Jwt => match WristbandJwt::check(req).await {
                    Some(jwt) => return Outcome::Success(AuthenticatedUser::Jwt(jwt)),
                    None => Outcome::Forward(Status::Unauthorized),
                },
            };
        }
        last
    }
}

impl Sentinel for AuthenticatedUser<'_> {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        if auth_missing(rocket, "AuthenticatedUser") {
            return true;
        }
        let session_strategy = rocket
            .state::<AuthState>()
            .is_some_and(|state| state.options().auth_strategies.contains(&AuthStrategy::Session));
        // A bearer-only `WristbandAuth` launches without the session fairing.
        let missing = session_strategy && !Session::is_configured(rocket);
        if missing {
            log::error!(
                "`AuthenticatedUser` is used by a route and `auth_strategies` of `wristband_auth` \
                 includes \"session\" (the default), but the session fairing is not attached: \
                 attach `WristbandSession::fairing()`, or set `auth_strategies = [\"jwt\"]` for \
                 a service that only checks bearer JWTs"
            );
        }
        missing
    }
}

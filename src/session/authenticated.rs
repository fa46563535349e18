//! The [`AuthenticatedSession`] guard (authentication, CSRF check, rolling expiry) and the
//! JSON [`catchers()`].

use std::fmt;
use std::ops::Deref;

use rocket::http::{ContentType, Method, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::{catch, catchers, Catcher, Ignite, Rocket, Sentinel};

use crate::session::csrf;
use crate::session::error::SessionError;
use crate::session::guard::{missing_fairing, unix_now, Session};
use crate::session::refresh_hook::{Refreshed, TokenRefresher};

/// The session of a logged-in Wristband user: a request guard.
///
/// - Not authenticated (no `isAuthenticated: true`, or no `userId`/`tenantId`):
///   `Outcome::Forward(Status::Unauthorized)`, so a lower-ranked route can redirect to a login
///   page; with none, the 401 catcher answers.
/// - With `enable_csrf_protection`, on a state-changing request (every method but `GET`,
///   `HEAD`, `OPTIONS` and `TRACE`) the `csrf_header_name` request header (any case) must equal
///   the session's CSRF token, compared in constant time: otherwise
///   `Outcome::Error((Status::Forbidden, SessionError::CsrfFailed))`. Safe methods are not
///   checked, so a page guarded by `AuthenticatedSession` opens from a link, a bookmark or the
///   redirect after sign-in (none of which can carry the header); keep such routes free of
///   side effects. `csrf_check_all_methods = true` checks every method, as Wristband's SDKs do.
/// - A session without a CSRF token while CSRF protection is on (issued before it was turned
///   on) counts as not authenticated on every method: `Forward(Status::Unauthorized)`, so the
///   user signs in again.
/// - With `WristbandAuth` attached (cargo feature `auth`; see the crate docs),
///   a session whose `expiresAt` has passed and that holds a `refreshToken` gets new tokens
///   from Wristband first (one call for any number of concurrent requests carrying the same
///   refresh token); if that fails it is not authenticated (`Forward(Status::Unauthorized)`),
///   and when Wristband answers that the refresh token is dead (`invalid_grant`) the session
///   is destroyed too; any other failure keeps it.
/// - Otherwise it succeeds, and re-issues the session with a fresh expiry (rolling sessions)
///   when at least `renew_after` seconds have passed since the cookie was issued (60 by
///   default; `0` re-issues on every request, as Wristband's guards do).
///
/// It dereferences to [`Session`].
///
/// ```
/// # use rocket::get;
/// use rocket::response::Redirect;
/// use wristband_rocket_session::AuthenticatedSession;
///
/// #[get("/me")]
/// fn me(session: AuthenticatedSession<'_>) -> String {
///     format!("user {} of tenant {}", session.user_id(), session.tenant_id())
/// }
///
/// #[get("/me", rank = 2)]
/// fn me_login() -> Redirect {
///     Redirect::to("/login")
/// }
/// ```
///
/// # Checks at launch
///
/// Like every guard of this crate it is a [`Sentinel`]: a route that uses it while
/// `WristbandSession` is not attached aborts launch. With the cargo feature `auth` compiled
/// in, a route that uses it while `WristbandAuth` is not attached launches with **one warning**
/// (Rocket asks each guard type once per launch): sessions with an expired Wristband access
/// token would be let through with that token, never refreshed. Attach
/// `WristbandAuth::fairing()`, or ignore the warning if the app puts no Wristband tokens in its
/// sessions.
///
/// # Your own guard around it
///
/// Rocket runs the sentinels of the types a route names, not those of the guards that a guard
/// calls inside: a guard that wraps this one must forward its [`Sentinel`], or a missing
/// fairing is found only by the first request (a 500) instead of at launch.
///
/// ```
/// # use rocket::{get, routes};
/// use rocket::http::Status;
/// use rocket::local::blocking::Client;
/// use rocket::request::{FromRequest, Outcome, Request};
/// use rocket::{Ignite, Rocket, Sentinel};
/// use wristband_rocket_session::{AuthenticatedSession, SessionError};
///
/// /// A signed-in administrator: the session says `"admin": true`.
/// struct Admin<'r>(AuthenticatedSession<'r>);
///
/// #[rocket::async_trait]
/// impl<'r> FromRequest<'r> for Admin<'r> {
///     type Error = SessionError;
///
///     async fn from_request(req: &'r Request<'_>) -> Outcome<Self, SessionError> {
///         match req.guard::<AuthenticatedSession<'r>>().await {
///             Outcome::Success(session) if matches!(session.get::<bool>("admin"), Ok(Some(true))) => {
///                 Outcome::Success(Admin(session))
///             }
///             Outcome::Success(_) => Outcome::Forward(Status::Forbidden),
///             Outcome::Forward(status) => Outcome::Forward(status),
///             Outcome::Error(error) => Outcome::Error(error),
///         }
///     }
/// }
///
/// /// The wrapped guard's launch-time check, forwarded.
/// impl Sentinel for Admin<'_> {
///     fn abort(rocket: &Rocket<Ignite>) -> bool {
///         <AuthenticatedSession<'_> as Sentinel>::abort(rocket)
///     }
/// }
///
/// #[get("/admin")]
/// fn admin(admin: Admin<'_>) -> String {
///     format!("admin {}", admin.0.user_id())
/// }
///
/// // `WristbandSession` forgotten: launch is refused, naming the guard.
/// match Client::untracked(rocket::build().mount("/", routes![admin])) {
///     Ok(_) => panic!("launched without WristbandSession"),
///     Err(e) => assert!(matches!(e.kind(), rocket::error::ErrorKind::SentinelAborts(_))),
/// }
/// ```
pub struct AuthenticatedSession<'r> {
    session: Session<'r>,
    user_id: String,
    tenant_id: String,
}

impl fmt::Debug for AuthenticatedSession<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthenticatedSession")
            .field("user_id", &self.user_id)
            .field("tenant_id", &self.tenant_id)
            .finish_non_exhaustive()
    }
}

impl<'r> AuthenticatedSession<'r> {
    /// The user's id (`userId`).
    ///
    /// ```
    /// # use rocket::{get, routes};
    /// # use rocket::http::Status;
    /// # use rocket::local::blocking::Client;
    /// # use wristband_rocket_session::testing::{callback_data, LocalRequestExt};
    /// # use wristband_rocket_session::WristbandSession;
    /// use wristband_rocket_session::AuthenticatedSession;
    ///
    /// #[get("/me")]
    /// fn me(session: AuthenticatedSession<'_>) -> String {
    ///     session.user_id()
    /// }
    ///
    /// # let rocket = rocket::build().attach(WristbandSession::fairing()).mount("/", routes![me]);
    /// # let client = Client::untracked(rocket).unwrap();
    /// let response = client.get("/me").logged_in_as(&callback_data("user-1", "tenant-1")).dispatch();
    /// assert_eq!(response.into_string().as_deref(), Some("user-1"));
    /// // Without a login the guard forwards, and with no other route the 401 catcher answers.
    /// assert_eq!(client.get("/me").dispatch().status(), Status::Unauthorized);
    /// ```
    pub fn user_id(&self) -> String {
        self.user_id.clone()
    }

    /// The tenant's id (`tenantId`).
    ///
    /// ```
    /// # use rocket::{get, routes};
    /// # use rocket::http::Status;
    /// # use rocket::local::blocking::Client;
    /// # use wristband_rocket_session::testing::{callback_data, LocalRequestExt};
    /// # use wristband_rocket_session::WristbandSession;
    /// use wristband_rocket_session::AuthenticatedSession;
    ///
    /// #[get("/tenant")]
    /// fn tenant(session: AuthenticatedSession<'_>) -> String {
    ///     format!("tenant {}", session.tenant_id())
    /// }
    ///
    /// # let rocket = rocket::build().attach(WristbandSession::fairing()).mount("/", routes![tenant]);
    /// # let client = Client::untracked(rocket).unwrap();
    /// let response = client.get("/tenant").logged_in_as(&callback_data("user-1", "tenant-1")).dispatch();
    /// assert_eq!(response.into_string().as_deref(), Some("tenant tenant-1"));
    /// // Without a login the guard forwards, and with no other route the 401 catcher answers.
    /// assert_eq!(client.get("/tenant").dispatch().status(), Status::Unauthorized);
    /// ```
    pub fn tenant_id(&self) -> String {
        self.tenant_id.clone()
    }
}

impl<'r> Deref for AuthenticatedSession<'r> {
    type Target = Session<'r>;

    fn deref(&self) -> &Session<'r> {
        &self.session
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AuthenticatedSession<'r> {
    type Error = SessionError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let Some(session) = Session::of(req) else {
            missing_fairing("AuthenticatedSession");
            return Outcome::Error((Status::InternalServerError, SessionError::NotConfigured));
        };
        let (Some(user_id), Some(tenant_id)) = (session.user_id(), session.tenant_id()) else {
            return Outcome::Forward(Status::Unauthorized);
        };
        if !session.is_authenticated() {
            return Outcome::Forward(Status::Unauthorized);
        }
        let options = &session.config().options;
        if options.enable_csrf_protection {
            let token = session.csrf_token();
            if token.as_deref().is_none_or(str::is_empty) {
                // Issued before CSRF protection was turned on: no header can ever match, so
                // the user signs in again rather than meeting a 403 forever.
                log::debug!("authenticated session has no CSRF token; treated as signed out");
                return Outcome::Forward(Status::Unauthorized);
            }
            let header = req.headers().get_one(&options.csrf_header_name);
            let checked = options.csrf_check_all_methods || !is_safe_method(req.method());
            if checked && !csrf::matches(token.as_deref(), header) {
                log::debug!(
                    "CSRF check failed on {}: `{}` missing or wrong",
                    req.method(),
                    options.csrf_header_name
                );
                return Outcome::Error((Status::Forbidden, SessionError::CsrfFailed));
            }
        }
        if let Some(refresher) = req.rocket().state::<TokenRefresher>()
            && let Err(status) = refresh_if_expired(&session, refresher).await
        {
            return Outcome::Forward(status);
        }
        session.renew_if_due();
        Outcome::Success(AuthenticatedSession { session, user_id, tenant_id })
    }
}

/// GET, HEAD, OPTIONS and TRACE: the methods that must not change state (RFC 9110 §9.2.1),
/// which the CSRF check skips unless `csrf_check_all_methods` is set. A browser's page load,
/// link click or redirect is a GET and can never carry the CSRF header.
fn is_safe_method(method: Method) -> bool {
    matches!(method, Method::Get | Method::Head | Method::Options | Method::Trace)
}

/// Milliseconds since the Unix epoch, now.
fn now_ms() -> i64 {
    i64::try_from(unix_now().as_millis()).unwrap_or(i64::MAX)
}

/// With a refresher managed (`WristbandAuth` attached), renews the session's tokens when it
/// holds a refresh token and its `expiresAt` has passed (equal counts as passed; a zero or
/// negative `expiresAt` is long past). `Err(401)` when the tokens could not be renewed; the
/// session is destroyed when the refresher says the refresh token is dead
/// ([`Refreshed::Refused`]; which answers mean that is the refresher's rule).
async fn refresh_if_expired(
    session: &Session<'_>,
    refresher: &TokenRefresher,
) -> Result<(), Status> {
    // The expiry first: on most requests the token is fresh and nothing else is read.
    let Some(expires_at) = session.expires_at() else {
        return Ok(());
    };
    if now_ms() < expires_at {
        return Ok(());
    }
    let Some(refresh_token) = session.refresh_token().filter(|token| !token.is_empty()) else {
        return Ok(());
    };
    match refresher.0.refresh(&refresh_token).await {
        Refreshed::Tokens(tokens) => session.store_tokens(&tokens).map_err(|e| {
            log::error!("refreshed tokens do not fit in the session cookie: {e}");
            Status::Unauthorized
        }),
        Refreshed::Refused { end_session: true } => {
            log::debug!("Wristband refused the refresh token; the session is destroyed");
            session.destroy();
            Err(Status::Unauthorized)
        }
        // Another instance may have just rotated this refresh token and written a newer
        // cookie: removing this one could sign the user out.
        Refreshed::Refused { end_session: false } => {
            log::debug!("Wristband refused the refresh token; 401, the cookie is kept");
            Err(Status::Unauthorized)
        }
        Refreshed::Failed => Err(Status::Unauthorized),
    }
}

impl Sentinel for AuthenticatedSession<'_> {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        let missing = !Session::is_configured(rocket);
        if missing {
            missing_fairing("AuthenticatedSession");
        }
        // Sentinels run after the ignite fairings: no refresher now means no `WristbandAuth`.
        #[cfg(feature = "auth")]
        if !missing && rocket.state::<TokenRefresher>().is_none() {
            log::warn!(
                "`AuthenticatedSession` is used by a route, but nothing refreshes Wristband \
                 tokens: the `WristbandAuth` fairing is not attached, or its `wristband_auth` \
                 table has no `client_id` and `client_secret` (bearer JWTs only). Wristband \
                 access tokens in sessions will not be refreshed, and a session whose \
                 `accessToken` has expired is let through with it. Attach \
                 `WristbandAuth::fairing()` with both keys set, or ignore this if the app puts \
                 no Wristband tokens in its sessions."
            );
        }
        missing
    }
}

#[catch(401)]
fn unauthorized() -> (ContentType, &'static str) {
    (ContentType::JSON, r#"{"error":"Unauthorized"}"#)
}

#[catch(403)]
fn forbidden() -> (ContentType, &'static str) {
    (ContentType::JSON, r#"{"error":"Forbidden"}"#)
}

/// JSON catchers for 401 (`{"error":"Unauthorized"}`) and 403 (`{"error":"Forbidden"}`), the
/// bodies Wristband's SDKs answer with.
///
/// ```rust
/// use wristband_rocket_session::{catchers, WristbandSession};
///
/// let rocket = rocket::build()
///     .attach(WristbandSession::fairing())
///     .register("/", catchers());
/// ```
pub fn catchers() -> Vec<Catcher> {
    catchers![unauthorized, forbidden]
}

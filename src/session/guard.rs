//! The [`Session`] request guard: lazy, typed access to the session's data.

use std::fmt;
use std::sync::OnceLock;

use rocket::http::{CookieJar, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::{Ignite, Rocket, Sentinel};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::session::codec::{SessionCodec, Unsealed, MAX_FUTURE_SKEW_SECS};
use crate::session::cookies::SessionConfig;
use crate::session::error::SessionError;
use crate::session::known::{self, Known};
use crate::session::open_cache::Cached;
use crate::session::refresh_hook::FreshTokens;
use crate::session::revocation_hook::{Identity, Target, Verdict};
use crate::session::state::{self, Inner, Loaded, Opened, Pending, Seen, SessionState, View};

/// Session keys under which Wristband's SDKs store their fields.
pub(crate) mod keys {
    pub const IS_AUTHENTICATED: &str = "isAuthenticated";
    pub const ACCESS_TOKEN: &str = "accessToken";
    pub const EXPIRES_AT: &str = "expiresAt";
    pub const REFRESH_TOKEN: &str = "refreshToken";
    pub const USER_ID: &str = "userId";
    pub const TENANT_ID: &str = "tenantId";
    pub const TENANT_NAME: &str = "tenantName";
    pub const IDENTITY_PROVIDER_NAME: &str = "identityProviderName";
    pub const TENANT_CUSTOM_DOMAIN: &str = "tenantCustomDomain";
    pub const CSRF_TOKEN: &str = "csrfToken";
    /// With revocation on: the session's random id (22 base64url characters).
    pub const SESSION_ID: &str = "sessionId";
    /// With revocation on: when the session was first written (ms since the Unix epoch);
    /// re-seals keep it.
    pub const SESSION_ISSUED_AT: &str = "sessionIssuedAt";
}

/// Bytes the revocation entries add to the JSON when the response phase has to create them:
/// `,"sessionId":"` + 22 characters + `"` and `,"sessionIssuedAt":` + at most 20 digits.
pub(crate) const REVOCATION_ENTRIES_LEN: usize =
    (2 + keys::SESSION_ID.len() + 3 + crate::session::revocation_hook::SESSION_ID_LEN + 1)
        + (2 + keys::SESSION_ISSUED_AT.len() + 2 + 20);

/// Whether the session already carries its revocation identity.
pub(crate) fn has_session_id(data: &Map<String, Value>) -> bool {
    data.get(keys::SESSION_ID).is_some_and(Value::is_string)
        && data.get(keys::SESSION_ISSUED_AT).is_some_and(Value::is_u64)
}

/// Whether the session holds a CSRF token (the response phase adds one when it does not and
/// CSRF protection is on).
pub(crate) fn has_csrf_token(data: &Map<String, Value>) -> bool {
    data.get(keys::CSRF_TOKEN).is_some_and(Value::is_string)
}

/// Bytes a CSRF entry adds to the JSON when the response phase has to create one:
/// `,"csrfToken":"` + the hex digits + `"`.
const CSRF_ENTRY_LEN: usize =
    2 + keys::CSRF_TOKEN.len() + 3 + crate::session::csrf::TOKEN_HEX_LEN + 1;

/// The session of the current request: a request guard.
///
/// Nothing is decrypted until a method needs the data, and then only once per request; a
/// handler that never touches the session costs nothing. All methods take `&self` (like Rocket's
/// [`CookieJar`]): any number of `Session` and
/// [`AuthenticatedSession`](crate::AuthenticatedSession) guards in one request share one state.
///
/// The cookie is written in the response phase, and only when something changed (or
/// [`Session::save()`] asked for it): sealed once, however many inserts. A cookie that cannot be
/// opened (tampered, expired, sealed by a secret no longer configured…) gives an empty session.
///
/// ```
/// # use rocket::get;
/// use wristband_rocket_session::Session;
///
/// #[get("/visits")]
/// fn visits(session: Session<'_>) -> String {
///     let n: u64 = session.get("visits").unwrap().unwrap_or(0) + 1;
///     session.insert("visits", n).unwrap();
///     format!("{n}")
/// }
/// ```
///
/// # Your own guard around it
///
/// `Session` is a [`Sentinel`]: a route that uses it while `WristbandSession` is not attached
/// aborts launch. Rocket runs the sentinels of the types a route names, not those of the guards
/// that a guard calls inside, so a guard that wraps `Session` must forward its `Sentinel` to
/// keep that check (otherwise the first request finds the fairing missing, with a 500):
///
/// ```
/// # use rocket::{get, routes};
/// use std::convert::Infallible;
///
/// use rocket::http::Status;
/// use rocket::local::blocking::Client;
/// use rocket::request::{FromRequest, Outcome, Request};
/// use rocket::{Ignite, Rocket, Sentinel};
/// use wristband_rocket_session::{Session, WristbandSession};
///
/// /// A signed-in user, for pages (never asks for the CSRF header, unlike
/// /// `AuthenticatedSession` on state-changing methods or with `csrf_check_all_methods`).
/// struct SignedIn<'r>(Session<'r>);
///
/// #[rocket::async_trait]
/// impl<'r> FromRequest<'r> for SignedIn<'r> {
///     type Error = Infallible;
///
///     async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Infallible> {
///         match req.guard::<Session<'r>>().await {
///             Outcome::Success(session) if session.is_authenticated() => {
///                 Outcome::Success(SignedIn(session))
///             }
///             _ => Outcome::Forward(Status::Unauthorized),
///         }
///     }
/// }
///
/// /// The wrapped guard's launch-time check, forwarded.
/// impl Sentinel for SignedIn<'_> {
///     fn abort(rocket: &Rocket<Ignite>) -> bool {
///         <Session<'_> as Sentinel>::abort(rocket)
///     }
/// }
///
/// #[get("/protected")]
/// fn protected(user: SignedIn<'_>) -> String {
///     format!("hello {}", user.0.user_id().unwrap_or_default())
/// }
///
/// // `WristbandSession` forgotten: launch is refused, naming the guard.
/// match Client::untracked(rocket::build().mount("/", routes![protected])) {
///     Ok(_) => panic!("launched without WristbandSession"),
///     Err(e) => assert!(matches!(e.kind(), rocket::error::ErrorKind::SentinelAborts(_))),
/// }
/// // Attached, it launches.
/// let rocket = rocket::build().attach(WristbandSession::fairing()).mount("/", routes![protected]);
/// assert!(Client::untracked(rocket).is_ok());
/// ```
pub struct Session<'r> {
    req: &'r Request<'r>,
    config: &'r SessionConfig,
    jar: &'r CookieJar<'r>,
    /// The request's shared state, once this guard has used it (see [`Session::read`]).
    state: OnceLock<&'r SessionState>,
    /// The session as this guard loaded it without the shared state, when the response phase
    /// has nothing to do for it (see [`Session::view`]).
    view: OnceLock<View>,
}

impl fmt::Debug for Session<'_> {
    /// Shows the state only: session data holds tokens and is never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (loaded, pending) = match self.shared() {
            Some(state) => {
                let inner = state.lock();
                (inner.loaded(), inner.pending())
            }
            None => match self.view.get() {
                Some(_) => (Loaded::Valid, Pending::Nothing),
                None => (Loaded::No, Pending::Nothing),
            },
        };
        f.debug_struct("Session")
            .field("loaded", &loaded)
            .field("pending", &pending)
            .finish_non_exhaustive()
    }
}

fn json_error<T: ?Sized>(key: &str) -> SessionError {
    SessionError::Json { key: key.to_string(), type_name: std::any::type_name::<T>() }
}

impl<'r> Session<'r> {
    /// The guard for `req`, or `None` when the fairing is not attached.
    pub(crate) fn of(req: &'r Request<'_>) -> Option<Self> {
        let config = req.rocket().state::<SessionConfig>()?;
        Some(Session {
            req,
            config,
            jar: req.cookies(),
            state: OnceLock::new(),
            view: OnceLock::new(),
        })
    }

    /// The request's shared state, created if it has none yet.
    fn state(&self) -> &'r SessionState {
        self.state.get_or_init(|| SessionState::of(self.req))
    }

    /// The request's shared state if this guard used it or another part of the request may
    /// have created it; `None` when none exists for certain.
    fn shared(&self) -> Option<&'r SessionState> {
        match self.state.get() {
            Some(state) => Some(state),
            None if SessionState::may_exist(self.req) => Some(self.state()),
            None => None,
        }
    }

    pub(crate) fn config(&self) -> &'r SessionConfig {
        self.config
    }

    /// Whether the fairing managed its configuration on `rocket`.
    pub(crate) fn is_configured(rocket: &Rocket<Ignite>) -> bool {
        rocket.state::<SessionConfig>().is_some()
    }

    /// Replaces the whole session without reading the presented cookie.
    pub(crate) fn replace(&self, data: Map<String, Value>, json_len: Option<usize>) {
        self.state().lock().replace(data, json_len);
    }

    /// Opens the presented cookie: `Some(empty)` if there is none, `None` if it was refused.
    /// With revocation on, every opened session (open-cache hits too) is checked against the
    /// revocations held in memory: a revoked one is refused, one withheld by the `refuse`
    /// policy gives an empty session whose cookie is left alone.
    fn load(&self) -> Option<Opened> {
        let Some(value) = self.config.presented_value(self.jar) else {
            return Some(Opened::empty());
        };
        let now_secs = unix_now().as_secs();
        if let Some(hit) = self.config.opened.get(&value, now_secs, self.config.codec.max_age()) {
            if let Some(verdict) = self.hit_verdict(&hit, now_secs) {
                return verdict;
            }
            return Some(Opened::hit(hit));
        }
        match self.config.codec.unseal(&value, OffsetDateTime::now_utc()) {
            Ok(Unsealed { session, key_index, json_len, issued_at, expires_at }) => {
                if let Some(verdict) = self.revocation_verdict(&session, issued_at, now_secs) {
                    return verdict;
                }
                if key_index > 0 {
                    log::debug!(
                        "session cookie `{}` opened with secret #{}; the next write re-seals it \
                         with the first",
                        self.config.options.cookie_name,
                        key_index + 1
                    );
                }
                // Cached by the response phase if the request only read it (the data is not
                // cloned here, and a value about to be replaced is never cached).
                Some(Opened {
                    data: std::sync::Arc::new(session),
                    json_len,
                    issued_at: Some(issued_at),
                    uncached_expiry: Some(expires_at),
                    hit: None,
                })
            }
            Err(reason) => {
                log::debug!(
                    "session cookie `{}` refused ({reason}); the request gets an empty session",
                    self.config.options.cookie_name
                );
                None
            }
        }
    }

    /// [`Session::revocation_verdict`] for an open-cache hit: a session already found valid
    /// under the revocation memory's current stamp is valid without looking again (nothing was
    /// revoked since); otherwise it is checked, and a valid one remembers the stamp.
    fn hit_verdict(&self, hit: &Cached, now: u64) -> Option<Option<Opened>> {
        let hook = self.config.revocation.as_ref()?;
        if hook.0.stamp().is_some_and(|stamp| hit.valid_under(stamp)) {
            return None;
        }
        let (verdict, stamp) = hook.0.verdict(Identity::of(&hit.data, hit.issued_at), now);
        if let (Verdict::Valid, Some(stamp)) = (verdict, stamp) {
            hit.set_valid_under(stamp);
        }
        self.refusal(verdict)
    }

    /// What `load` returns instead of the opened session when revocation refuses it: `None`
    /// when the session may be used (or revocation is off).
    fn revocation_verdict(
        &self,
        data: &Map<String, Value>,
        issued_at: u64,
        now: u64,
    ) -> Option<Option<Opened>> {
        let hook = self.config.revocation.as_ref()?;
        self.refusal(hook.0.verdict(Identity::of(data, issued_at), now).0)
    }

    /// `None` for a session that may be used, else what `load` returns instead.
    fn refusal(&self, verdict: Verdict) -> Option<Option<Opened>> {
        match verdict {
            Verdict::Valid => None,
            Verdict::Revoked => {
                log::debug!(
                    "session cookie `{}` refused (revoked); the request gets an empty session",
                    self.config.options.cookie_name
                );
                Some(None)
            }
            // Not cached (no expiry given) and not removed: the cookie works again once the
            // instance has caught up.
            Verdict::Withheld => Some(Some(Opened::empty())),
        }
    }

    /// Queues a raw `Set-Cookie` header for this response, without reading the session: the
    /// `auth` layer's login-state cookies, whose names Rocket's jar would percent-encode.
    /// Written once, by [`Session::take_queued`]'s caller or else by the fairing.
    #[cfg_attr(not(feature = "auth"), allow(dead_code))]
    pub(crate) fn queue_set_cookie(&self, header: String) {
        self.state().lock().queue(header);
    }

    /// The `Set-Cookie` headers queued and not yet written (each is handed out once).
    #[cfg_attr(not(feature = "auth"), allow(dead_code))]
    pub(crate) fn take_queued(&self) -> Vec<String> {
        self.state().lock().take_queued()
    }

    /// Runs `f` on the (loaded) data under the lock of the request's shared state, which every
    /// guard of the request and the response phase see: the way to change the session.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let mut inner = self.state().lock();
        inner.load(|| match self.view.get() {
            Some(view) => Some(Opened::of_view(view)),
            None => self.load(),
        });
        f(&mut inner)
    }

    /// Runs `f` on the (loaded) session to read it. While no shared state exists for the
    /// request (no guard of it changed, queued or loaded anything the response phase acts on;
    /// see `SessionState::may_exist`), `f` reads this guard's own [`view`](Session::view) and
    /// the request creates no state: a request that only reads a session found in the open
    /// cache, or carrying no cookie, leaves Rocket's request-local cache alone. Once a state
    /// exists, every read goes through it (and so sees every change).
    pub(crate) fn read<R>(&self, f: impl FnOnce(Seen<'_>) -> R) -> R {
        if self.state.get().is_none()
            && !SessionState::may_exist(self.req)
            && let Some(view) = self.view()
        {
            return f(Seen::of_view(view));
        }
        self.with(|inner| f(Seen::Shared(inner)))
    }

    /// This guard's session, loaded once, if the response phase would have nothing to do for it
    /// (it came from the open cache, or there was no cookie); otherwise the load goes into the
    /// shared state (a refused cookie is removed, a cookie opened in full is cached there) and
    /// `None` is returned.
    fn view(&self) -> Option<&View> {
        if let Some(view) = self.view.get() {
            return Some(view);
        }
        match self.load().map(state::view) {
            Some(Ok(view)) => Some(self.view.get_or_init(|| view)),
            opened => {
                self.state().lock().load(|| opened.and_then(Result::err));
                None
            }
        }
    }

    /// Checks that the session `data` of `json_len` bytes of JSON, sealed, would fit in the
    /// cookie budget, counting what the response phase adds (a CSRF token, the revocation
    /// identity) when `data` lacks it.
    pub(crate) fn check_fits(
        &self,
        mut json_len: usize,
        data: &Map<String, Value>,
    ) -> Result<(), SessionError> {
        let has_csrf_token = has_csrf_token(data);
        if self.config.options.enable_csrf_protection && !has_csrf_token {
            json_len += CSRF_ENTRY_LEN;
        }
        if self.config.revocation.is_some() && !has_session_id(data) {
            json_len += REVOCATION_ENTRIES_LEN;
        }
        self.config
            .check_value_len(SessionCodec::sealed_len(json_len))
            .map_err(|size| SessionError::TooLarge { size, limit: self.config.limit() })
    }

    /// The value under `key`, converted to `T`; `Ok(None)` if there is none.
    ///
    /// # Errors
    ///
    /// [`SessionError::Json`] if the stored value is not a `T`.
    ///
    /// ```
    /// # use rocket::get;
    /// # use wristband_rocket_session::Session;
    /// #[get("/")]
    /// fn index(session: Session<'_>) -> String {
    ///     match session.get::<String>("name") {
    ///         Ok(Some(name)) => format!("hello, {name}"),
    ///         Ok(None) => "hello, stranger".into(),
    ///         Err(_) => "hello, whoever stored a number as your name".into(),
    ///     }
    /// }
    /// ```
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, SessionError> {
        self.read(|inner| match inner.data().get(key) {
            None => Ok(None),
            Some(value) => T::deserialize(value).map(Some).map_err(|_| json_error::<T>(key)),
        })
    }

    /// Stores `value` under `key`; the response writes the cookie.
    ///
    /// # Errors
    ///
    /// [`SessionError::TooLarge`] if the session would no longer fit in its cookie(s), and
    /// [`SessionError::Json`] if `value` cannot be serialized; either way the session is left
    /// unchanged.
    ///
    /// ```
    /// # use rocket::post;
    /// # use wristband_rocket_session::{Session, SessionError};
    /// #[post("/note", data = "<note>")]
    /// fn note(session: Session<'_>, note: String) -> Result<&'static str, String> {
    ///     match session.insert("note", note) {
    ///         Ok(()) => Ok("saved"),
    ///         Err(e @ SessionError::TooLarge { .. }) => Err(e.to_string()),
    ///         Err(e) => Err(e.to_string()),
    ///     }
    /// }
    /// ```
    pub fn insert<T: Serialize>(&self, key: &str, value: T) -> Result<(), SessionError> {
        let value = serde_json::to_value(value).map_err(|_| json_error::<T>(key))?;
        self.with(|inner| {
            let previous = inner.insert(key, value);
            let json_len = inner.json_len();
            if let Err(e) = self.check_fits(json_len, inner.data()) {
                match previous {
                    Some(previous) => inner.insert(key, previous),
                    None => inner.remove(key),
                };
                return Err(e);
            }
            inner.mark(Pending::Write);
            Ok(())
        })
    }

    /// Stores refreshed tokens (access token, expiry, and the new refresh token when there is
    /// one; the old one is kept otherwise), all or nothing.
    pub(crate) fn store_tokens(&self, tokens: &FreshTokens) -> Result<(), SessionError> {
        self.with(|inner| {
            let mut entries = vec![
                (keys::ACCESS_TOKEN, Value::String(tokens.access_token.clone())),
                (keys::EXPIRES_AT, Value::from(tokens.expires_at)),
            ];
            if let Some(refresh_token) = &tokens.refresh_token {
                entries.push((keys::REFRESH_TOKEN, Value::String(refresh_token.clone())));
            }
            let previous: Vec<(&str, Option<Value>)> =
                entries.into_iter().map(|(key, value)| (key, inner.insert(key, value))).collect();
            let json_len = inner.json_len();
            if let Err(e) = self.check_fits(json_len, inner.data()) {
                for (key, old) in previous {
                    match old {
                        Some(old) => inner.insert(key, old),
                        None => inner.remove(key),
                    };
                }
                return Err(e);
            }
            inner.mark(Pending::Write);
            Ok(())
        })
    }

    /// Removes `key`, returning its value; the response writes the cookie if there was one.
    ///
    /// ```
    /// # use rocket::{post, routes};
    /// # use rocket::local::blocking::Client;
    /// # use serde_json::json;
    /// # use wristband_rocket_session::testing::{self, LocalRequestExt};
    /// # use wristband_rocket_session::{Session, WristbandSession};
    /// #[post("/theme/reset")]
    /// fn reset_theme(session: Session<'_>) -> Option<String> {
    ///     session.remove("theme").and_then(|old| old.as_str().map(String::from))
    /// }
    ///
    /// # let rocket = rocket::build().attach(WristbandSession::fairing()).mount("/", routes![reset_theme]);
    /// # let client = Client::untracked(rocket).unwrap();
    /// let data = json!({ "theme": "dark", "lang": "en" });
    /// let response = client.post("/theme/reset").with_session(&data).dispatch();
    /// let written = testing::written_session(client.rocket(), response.cookies()).unwrap();
    /// assert_eq!(written, *json!({ "lang": "en" }).as_object().unwrap());
    /// assert_eq!(response.into_string().as_deref(), Some("dark"));
    /// ```
    pub fn remove(&self, key: &str) -> Option<Value> {
        self.with(|inner| {
            let removed = inner.remove(key);
            if removed.is_some() {
                inner.mark(Pending::Write);
            }
            removed
        })
    }

    /// Whether the session has a value under `key`.
    ///
    /// ```
    /// # use rocket::{get, routes};
    /// # use rocket::local::blocking::Client;
    /// # use serde_json::json;
    /// # use wristband_rocket_session::testing::LocalRequestExt;
    /// # use wristband_rocket_session::{Session, WristbandSession};
    /// #[get("/cart")]
    /// fn cart(session: Session<'_>) -> &'static str {
    ///     if session.contains_key("cart") { "cart" } else { "no cart" }
    /// }
    ///
    /// # let rocket = rocket::build().attach(WristbandSession::fairing()).mount("/", routes![cart]);
    /// # let client = Client::untracked(rocket).unwrap();
    /// let response = client.get("/cart").with_session(&json!({ "cart": [] })).dispatch();
    /// assert_eq!(response.into_string().as_deref(), Some("cart"));
    /// assert_eq!(client.get("/cart").dispatch().into_string().as_deref(), Some("no cart"));
    /// ```
    pub fn contains_key(&self, key: &str) -> bool {
        self.read(|inner| inner.data().contains_key(key))
    }

    /// Whether the session holds no data.
    ///
    /// ```
    /// # use rocket::{get, routes};
    /// # use rocket::local::blocking::Client;
    /// # use serde_json::json;
    /// # use wristband_rocket_session::testing::LocalRequestExt;
    /// # use wristband_rocket_session::{Session, WristbandSession};
    /// #[get("/")]
    /// fn index(session: Session<'_>) -> String {
    ///     session.is_empty().to_string()
    /// }
    ///
    /// # let rocket = rocket::build().attach(WristbandSession::fairing()).mount("/", routes![index]);
    /// # let client = Client::untracked(rocket).unwrap();
    /// assert_eq!(client.get("/").dispatch().into_string().as_deref(), Some("true"));
    /// let response = client.get("/").with_session(&json!({ "visits": 1 })).dispatch();
    /// assert_eq!(response.into_string().as_deref(), Some("false"));
    /// ```
    pub fn is_empty(&self) -> bool {
        self.read(|inner| {
            let data = inner.data();
            data.is_empty() || (data.len() == 2 && self.hides_identity() && has_session_id(data))
        })
    }

    /// Whether `keys()` and `is_empty()` leave out `sessionId` and `sessionIssuedAt`.
    fn hides_identity(&self) -> bool {
        self.config.revocation.is_some()
    }

    /// The session's keys, sorted.
    ///
    /// ```
    /// # use rocket::{get, routes};
    /// # use rocket::local::blocking::Client;
    /// # use serde_json::json;
    /// # use wristband_rocket_session::testing::LocalRequestExt;
    /// # use wristband_rocket_session::{Session, WristbandSession};
    /// #[get("/keys")]
    /// fn keys(session: Session<'_>) -> String {
    ///     session.keys().join(",")
    /// }
    ///
    /// # let rocket = rocket::build().attach(WristbandSession::fairing()).mount("/", routes![keys]);
    /// # let client = Client::untracked(rocket).unwrap();
    /// let response = client.get("/keys").with_session(&json!({ "theme": 1, "cart": 2 })).dispatch();
    /// assert_eq!(response.into_string().as_deref(), Some("cart,theme"));
    /// ```
    pub fn keys(&self) -> Vec<String> {
        let hide = self.hides_identity();
        self.read(|inner| {
            let data = inner.data().keys();
            data.filter(|k| !hide || (*k != keys::SESSION_ID && *k != keys::SESSION_ISSUED_AT))
                .cloned()
                .collect()
        })
    }

    /// Empties the session and writes it back empty (the cookie stays, with a fresh expiry).
    /// Does not decrypt the presented cookie. To remove the cookie, use
    /// [`Session::destroy()`].
    ///
    /// ```
    /// # use rocket::{post, routes};
    /// # use rocket::local::blocking::Client;
    /// # use serde_json::{json, Map};
    /// # use wristband_rocket_session::testing::{self, LocalRequestExt};
    /// # use wristband_rocket_session::{Session, WristbandSession};
    /// #[post("/reset")]
    /// fn reset(session: Session<'_>) {
    ///     session.clear();
    /// }
    ///
    /// # let rocket = rocket::build().attach(WristbandSession::fairing()).mount("/", routes![reset]);
    /// # let client = Client::untracked(rocket).unwrap();
    /// let response = client.post("/reset").with_session(&json!({ "cart": [1, 2] })).dispatch();
    /// // The cookie is still written, now holding an empty session.
    /// let written = testing::written_session(client.rocket(), response.cookies());
    /// assert_eq!(written, Some(Map::new()));
    /// ```
    pub fn clear(&self) {
        self.replace(Map::new(), Some(2));
    }

    /// Ends the session: the response removes the session cookie(s) and the CSRF cookie.
    /// Data inserted after this starts a new session.
    ///
    /// ```
    /// # use rocket::post;
    /// # use wristband_rocket_session::Session;
    /// #[post("/logout")]
    /// fn logout(session: Session<'_>) -> &'static str {
    ///     session.destroy();
    ///     "bye"
    /// }
    /// ```
    pub fn destroy(&self) {
        self.state().lock().destroy();
    }

    /// The session's random id (`sessionId`), when revocation is on and the session has been
    /// written at least once: the response that first writes a session gives it an id (and
    /// `sessionIssuedAt`), which every later write keeps; [`Session::clear()`], a login
    /// ([`Session::from_callback()`]) and a session started after [`Session::destroy()`] get a
    /// new one. `None` without revocation, and for a session not yet written.
    ///
    /// The id names the session in `Revocations::revoke_session()` (feature `redis`); it is
    /// no secret that opens anything, but keep it out of public logs all the same.
    ///
    /// ```
    /// # use rocket::{get, routes};
    /// # use rocket::local::blocking::Client;
    /// # use wristband_rocket_session::testing::{callback_data, LocalRequestExt};
    /// # use wristband_rocket_session::{Session, WristbandSession};
    /// #[get("/id")]
    /// fn id(session: Session<'_>) -> String {
    ///     session.session_id().unwrap_or_default()
    /// }
    ///
    /// # let rocket = rocket::build().attach(WristbandSession::fairing()).mount("/", routes![id]);
    /// # let client = Client::untracked(rocket).unwrap();
    /// // Without a `revocation` table, sessions carry no id.
    /// let response = client.get("/id").logged_in_as(&callback_data("u1", "t1")).dispatch();
    /// assert_eq!(response.into_string().as_deref(), Some(""));
    /// ```
    pub fn session_id(&self) -> Option<String> {
        self.config.revocation.as_ref()?;
        self.string(keys::SESSION_ID)
    }

    /// Revokes this session on every instance, not only in this browser: destroys it (like
    /// [`Session::destroy()`]: the response removes its cookies) and records its id as revoked,
    /// at once in this instance's memory and then in Redis, whose pub/sub tells every other
    /// instance within a second. From then on a copy of the cookie, replayed anywhere, opens
    /// to an empty session until it would have expired anyway.
    ///
    /// A session without an id (written before revocation was turned on) is only destroyed.
    ///
    /// # Errors
    ///
    /// [`SessionError::RevocationNotConfigured`] without a `revocation` table (the session is
    /// left as it was); [`SessionError::RevocationFailed`] when Redis could not be written: the
    /// session is destroyed and refused on this instance, and the revocation reaches Redis
    /// and the other instances when this one reconnects.
    ///
    /// ```rust,no_run
    /// # use rocket::post;
    /// use wristband_rocket_session::{Session, SessionError};
    ///
    /// #[post("/sessions/this/revoke")]
    /// async fn revoke_this(session: Session<'_>) -> Result<&'static str, SessionError> {
    ///     session.revoke().await?;
    ///     Ok("signed out on every instance")
    /// }
    /// ```
    pub async fn revoke(&self) -> Result<(), SessionError> {
        let hook = self.config.revocation.as_ref().ok_or(SessionError::RevocationNotConfigured)?;
        let loaded_id = self.with(|inner| {
            let id = inner.data().get(keys::SESSION_ID).and_then(Value::as_str).map(String::from);
            inner.destroy();
            id
        });
        // A session withheld while the instance is not caught up loaded empty: its id is still
        // in the presented cookie.
        let id = loaded_id
            .or_else(|| self.sealed_session()?.get(keys::SESSION_ID)?.as_str().map(String::from));
        let Some(id) = id else {
            log::debug!("revoke(): the session has no id (written before revocation was on)");
            return Ok(());
        };
        let now = u64::try_from(OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0);
        // Every cookie of this session was sealed by now (give or take the 60 s of clock skew
        // the codec allows), so none opens after now + max_age + 60 s.
        let expires_at = now + self.config.codec.max_age() + MAX_FUTURE_SKEW_SECS;
        hook.0
            .revoke(Target::Session { id: &id, expires_at })
            .await
            .map_err(|reason| SessionError::RevocationFailed { reason })
    }

    /// The session sealed in the presented cookie, opened with the configured secrets but
    /// without the revocation check: what a request's session would be had it not been
    /// withheld (revocation not caught up under `refuse`) or revoked. Reads only: the request's
    /// own session (and whether its cookie is rewritten) is not touched. An expired cookie is
    /// opened too (its data is for cleaning up after it, never for authenticating). `None`
    /// without a cookie, or for one that does not open (tampered, an unknown secret).
    pub(crate) fn sealed_session(&self) -> Option<Map<String, Value>> {
        let value = self.config.presented_value(self.jar)?;
        let now = OffsetDateTime::now_utc();
        let unsealed = self.config.codec.unseal_expired_too(&value, now).ok()?;
        Some(unsealed.session)
    }

    /// Re-issues the cookie with a fresh expiry even if nothing changed (rolling sessions).
    ///
    /// ```
    /// # use rocket::{get, routes};
    /// # use rocket::local::blocking::Client;
    /// # use serde_json::json;
    /// # use wristband_rocket_session::testing::{self, LocalRequestExt};
    /// # use wristband_rocket_session::{Session, WristbandSession};
    /// #[get("/touch")]
    /// fn touch(session: Session<'_>) {
    ///     session.save();
    /// }
    ///
    /// #[get("/peek")]
    /// fn peek(session: Session<'_>) -> String {
    ///     session.keys().join(",")
    /// }
    ///
    /// # let rocket = rocket::build().attach(WristbandSession::fairing()).mount("/", routes![touch, peek]);
    /// # let client = Client::untracked(rocket).unwrap();
    /// let data = json!({ "visits": 1 });
    /// // Only reading the session writes no cookie…
    /// let response = client.get("/peek").with_session(&data).dispatch();
    /// assert!(testing::written_session(client.rocket(), response.cookies()).is_none());
    /// // …but `save()` re-issues it, unchanged, with a fresh expiry.
    /// let response = client.get("/touch").with_session(&data).dispatch();
    /// let written = testing::written_session(client.rocket(), response.cookies()).unwrap();
    /// assert_eq!(written["visits"], 1);
    /// ```
    pub fn save(&self) {
        self.with(|inner| inner.mark(Pending::Write));
    }

    /// Re-issues the cookie (rolling expiry) if at least `renew_after` seconds have passed
    /// since it was issued, or if it was not issued by a presented cookie. What a request
    /// already decided to write or destroy stands.
    pub(crate) fn renew_if_due(&self) {
        let renew_after = u64::try_from(self.config.options.renew_after).unwrap_or(0);
        let now = unix_now().as_secs();
        let due = |inner: Seen<'_>| {
            inner.pending() == Pending::Nothing
                && inner.issued_at().is_none_or(|at| now.saturating_sub(at) >= renew_after)
        };
        // Read first: a session that is not due stays read-only.
        if self.read(due) {
            self.with(|inner| {
                if due(Seen::Shared(inner)) {
                    inner.mark(Pending::Write);
                }
            });
        }
    }

    fn string(&self, key: &str) -> Option<String> {
        self.read(|inner| known::string(inner.data(), key).map(str::to_string))
    }

    /// The string that `known` holds as `field` on an open-cache hit, or else the one under
    /// `key` in the data.
    fn known_string(
        &self,
        field: impl FnOnce(&Known) -> Option<&str>,
        key: &str,
    ) -> Option<String> {
        self.known_or(
            |known| field(known).map(str::to_string),
            |data| known::string(data, key).map(str::to_string),
        )
    }

    /// `known`'s field of an open-cache hit (see `known`), or else `look_up` on the data.
    fn known_or<R>(
        &self,
        field: impl FnOnce(&Known) -> R,
        look_up: impl FnOnce(&Map<String, Value>) -> R,
    ) -> R {
        self.read(|inner| match inner.known() {
            Some(known) => field(known),
            None => look_up(inner.data()),
        })
    }

    /// Whether a Wristband login marked the session authenticated (`isAuthenticated`).
    ///
    /// ```
    /// # use rocket::{get, routes};
    /// # use rocket::local::blocking::Client;
    /// # use serde_json::json;
    /// # use wristband_rocket_session::testing::{callback_data, LocalRequestExt};
    /// # use wristband_rocket_session::{Session, WristbandSession};
    /// #[get("/status")]
    /// fn status(session: Session<'_>) -> &'static str {
    ///     if session.is_authenticated() { "logged in" } else { "anonymous" }
    /// }
    ///
    /// # let rocket = rocket::build().attach(WristbandSession::fairing()).mount("/", routes![status]);
    /// # let client = Client::untracked(rocket).unwrap();
    /// let response = client.get("/status").logged_in_as(&callback_data("u1", "t1")).dispatch();
    /// assert_eq!(response.into_string().as_deref(), Some("logged in"));
    /// // A `userId` alone is no login: `isAuthenticated` must be `true`.
    /// let response = client.get("/status").with_session(&json!({ "userId": "u1" })).dispatch();
    /// assert_eq!(response.into_string().as_deref(), Some("anonymous"));
    /// ```
    pub fn is_authenticated(&self) -> bool {
        self.known_or(|known| known.is_authenticated, known::is_authenticated)
    }

    /// The Wristband user id (`userId`). [`AuthenticatedSession::user_id()`] returns it
    /// without the `Option`.
    ///
    /// [`AuthenticatedSession::user_id()`]: crate::AuthenticatedSession::user_id
    ///
    /// ```
    /// # use rocket::{get, routes};
    /// # use rocket::http::Status;
    /// # use rocket::local::blocking::Client;
    /// # use wristband_rocket_session::testing::{callback_data, LocalRequestExt};
    /// # use wristband_rocket_session::{Session, WristbandSession};
    /// #[get("/user")]
    /// fn user(session: Session<'_>) -> Option<String> {
    ///     session.user_id()
    /// }
    ///
    /// # let rocket = rocket::build().attach(WristbandSession::fairing()).mount("/", routes![user]);
    /// # let client = Client::untracked(rocket).unwrap();
    /// let response = client.get("/user").logged_in_as(&callback_data("u1", "t1")).dispatch();
    /// assert_eq!(response.into_string().as_deref(), Some("u1"));
    /// assert_eq!(client.get("/user").dispatch().status(), Status::NotFound);
    /// ```
    pub fn user_id(&self) -> Option<String> {
        self.known_string(|known| known.user_id.as_deref(), keys::USER_ID)
    }

    /// The Wristband tenant id (`tenantId`). [`AuthenticatedSession::tenant_id()`] returns it
    /// without the `Option`.
    ///
    /// [`AuthenticatedSession::tenant_id()`]: crate::AuthenticatedSession::tenant_id
    ///
    /// ```
    /// # use rocket::{get, routes};
    /// # use rocket::http::Status;
    /// # use rocket::local::blocking::Client;
    /// # use wristband_rocket_session::testing::{callback_data, LocalRequestExt};
    /// # use wristband_rocket_session::{Session, WristbandSession};
    /// #[get("/tenant")]
    /// fn tenant(session: Session<'_>) -> Option<String> {
    ///     session.tenant_id()
    /// }
    ///
    /// # let rocket = rocket::build().attach(WristbandSession::fairing()).mount("/", routes![tenant]);
    /// # let client = Client::untracked(rocket).unwrap();
    /// let response = client.get("/tenant").logged_in_as(&callback_data("u1", "t1")).dispatch();
    /// assert_eq!(response.into_string().as_deref(), Some("t1"));
    /// assert_eq!(client.get("/tenant").dispatch().status(), Status::NotFound);
    /// ```
    pub fn tenant_id(&self) -> Option<String> {
        self.known_string(|known| known.tenant_id.as_deref(), keys::TENANT_ID)
    }

    /// The Wristband tenant name (`tenantName`).
    ///
    /// ```
    /// # use rocket::{get, routes};
    /// # use rocket::http::Status;
    /// # use rocket::local::blocking::Client;
    /// # use wristband_rocket_session::testing::{callback_data, LocalRequestExt};
    /// # use wristband_rocket_session::{Session, WristbandSession};
    /// #[get("/tenant/name")]
    /// fn tenant_name(session: Session<'_>) -> Option<String> {
    ///     session.tenant_name()
    /// }
    ///
    /// # let rocket = rocket::build().attach(WristbandSession::fairing()).mount("/", routes![tenant_name]);
    /// # let client = Client::untracked(rocket).unwrap();
    /// let response = client.get("/tenant/name").logged_in_as(&callback_data("u1", "t1")).dispatch();
    /// assert_eq!(response.into_string().as_deref(), Some("test-tenant"));
    /// assert_eq!(client.get("/tenant/name").dispatch().status(), Status::NotFound);
    /// ```
    pub fn tenant_name(&self) -> Option<String> {
        self.string(keys::TENANT_NAME)
    }

    /// The identity provider the user logged in with (`identityProviderName`).
    ///
    /// ```
    /// # use rocket::{get, routes};
    /// # use rocket::http::Status;
    /// # use rocket::local::blocking::Client;
    /// # use wristband_rocket_session::testing::{callback_data, LocalRequestExt};
    /// # use wristband_rocket_session::{Session, WristbandSession};
    /// #[get("/idp")]
    /// fn idp(session: Session<'_>) -> Option<String> {
    ///     session.identity_provider_name()
    /// }
    ///
    /// # let rocket = rocket::build().attach(WristbandSession::fairing()).mount("/", routes![idp]);
    /// # let client = Client::untracked(rocket).unwrap();
    /// let response = client.get("/idp").logged_in_as(&callback_data("u1", "t1")).dispatch();
    /// assert_eq!(response.into_string().as_deref(), Some("wristband"));
    /// assert_eq!(client.get("/idp").dispatch().status(), Status::NotFound);
    /// ```
    pub fn identity_provider_name(&self) -> Option<String> {
        self.string(keys::IDENTITY_PROVIDER_NAME)
    }

    /// The access token (`accessToken`).
    ///
    /// ```
    /// # use rocket::{get, routes};
    /// # use rocket::http::Status;
    /// # use rocket::local::blocking::Client;
    /// # use wristband_rocket_session::testing::{callback_data, LocalRequestExt};
    /// # use wristband_rocket_session::{Session, WristbandSession};
    /// #[get("/bearer")]
    /// fn bearer(session: Session<'_>) -> Option<String> {
    ///     session.access_token().map(|token| format!("Bearer {token}"))
    /// }
    ///
    /// # let rocket = rocket::build().attach(WristbandSession::fairing()).mount("/", routes![bearer]);
    /// # let client = Client::untracked(rocket).unwrap();
    /// let response = client.get("/bearer").logged_in_as(&callback_data("u1", "t1")).dispatch();
    /// assert_eq!(response.into_string().as_deref(), Some("Bearer test-access-token"));
    /// assert_eq!(client.get("/bearer").dispatch().status(), Status::NotFound);
    /// ```
    pub fn access_token(&self) -> Option<String> {
        self.string(keys::ACCESS_TOKEN)
    }

    /// The refresh token (`refreshToken`), present when the login asked for `offline_access`.
    ///
    /// ```
    /// # use rocket::{get, routes};
    /// # use rocket::http::Status;
    /// # use rocket::local::blocking::Client;
    /// # use wristband_rocket_session::testing::{callback_data, LocalRequestExt};
    /// # use wristband_rocket_session::{Session, WristbandSession};
    /// #[get("/refresh")]
    /// fn refresh(session: Session<'_>) -> Option<String> {
    ///     session.refresh_token()
    /// }
    ///
    /// # let rocket = rocket::build().attach(WristbandSession::fairing()).mount("/", routes![refresh]);
    /// # let client = Client::untracked(rocket).unwrap();
    /// let mut login = callback_data("u1", "t1");
    /// let response = client.get("/refresh").logged_in_as(&login).dispatch();
    /// assert_eq!(response.into_string().as_deref(), Some("test-refresh-token"));
    /// // A login without `offline_access` has no refresh token.
    /// login.refresh_token = None;
    /// assert_eq!(client.get("/refresh").logged_in_as(&login).dispatch().status(), Status::NotFound);
    /// ```
    pub fn refresh_token(&self) -> Option<String> {
        self.string(keys::REFRESH_TOKEN)
    }

    /// The tenant's custom domain (`tenantCustomDomain`), when the login used one.
    ///
    /// ```
    /// # use rocket::{get, routes};
    /// # use rocket::http::Status;
    /// # use rocket::local::blocking::Client;
    /// # use wristband_rocket_session::testing::{callback_data, LocalRequestExt};
    /// # use wristband_rocket_session::{Session, WristbandSession};
    /// #[get("/domain")]
    /// fn domain(session: Session<'_>) -> Option<String> {
    ///     session.tenant_custom_domain()
    /// }
    ///
    /// # let rocket = rocket::build().attach(WristbandSession::fairing()).mount("/", routes![domain]);
    /// # let client = Client::untracked(rocket).unwrap();
    /// let mut login = callback_data("u1", "t1");
    /// assert_eq!(client.get("/domain").logged_in_as(&login).dispatch().status(), Status::NotFound);
    /// login.tenant_custom_domain = Some("acme.example.com".into());
    /// let response = client.get("/domain").logged_in_as(&login).dispatch();
    /// assert_eq!(response.into_string().as_deref(), Some("acme.example.com"));
    /// ```
    pub fn tenant_custom_domain(&self) -> Option<String> {
        self.string(keys::TENANT_CUSTOM_DOMAIN)
    }

    /// The CSRF token of this login (`csrfToken`), when CSRF protection is on.
    ///
    /// ```
    /// # use rocket::{get, routes};
    /// # use rocket::local::blocking::Client;
    /// # use wristband_rocket_session::testing::{callback_data, LocalRequestExt};
    /// use wristband_rocket_session::{Session, SessionOptions, WristbandSession};
    ///
    /// #[get("/api/csrf")]
    /// fn csrf(session: Session<'_>) -> Option<String> {
    ///     session.csrf_token()
    /// }
    ///
    /// let options = SessionOptions {
    ///     secrets: "a-secret-of-at-least-32-characters!!".into(),
    ///     enable_csrf_protection: true,
    ///     ..SessionOptions::default()
    /// };
    /// let rocket = rocket::build().attach(WristbandSession::custom(options));
    /// # let rocket = rocket.mount("/", routes![csrf]);
    /// # let client = Client::untracked(rocket).unwrap();
    /// let response = client.get("/api/csrf").logged_in_as(&callback_data("u1", "t1")).dispatch();
    /// let token = response.into_string().unwrap();
    /// assert_eq!(token.len(), 64);
    /// assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    /// ```
    pub fn csrf_token(&self) -> Option<String> {
        self.string(keys::CSRF_TOKEN)
    }

    /// When the access token expires (`expiresAt`), in milliseconds since the Unix epoch.
    ///
    /// ```
    /// # use rocket::{get, routes};
    /// # use rocket::http::Status;
    /// # use rocket::local::blocking::Client;
    /// # use wristband_rocket_session::testing::{callback_data, LocalRequestExt};
    /// # use wristband_rocket_session::{Session, WristbandSession};
    /// #[get("/expiry")]
    /// fn expiry(session: Session<'_>) -> Option<String> {
    ///     session.expires_at().map(|ms| ms.to_string())
    /// }
    ///
    /// # let rocket = rocket::build().attach(WristbandSession::fairing()).mount("/", routes![expiry]);
    /// # let client = Client::untracked(rocket).unwrap();
    /// let login = callback_data("u1", "t1");
    /// let response = client.get("/expiry").logged_in_as(&login).dispatch();
    /// assert_eq!(response.into_string(), Some(login.expires_at.to_string()));
    /// assert_eq!(client.get("/expiry").dispatch().status(), Status::NotFound);
    /// ```
    pub fn expires_at(&self) -> Option<i64> {
        self.known_or(|known| known.expires_at, known::expires_at)
    }
}

/// The time since the Unix epoch (zero for a clock set before it). Cheaper than
/// `OffsetDateTime::now_utc()`, which also works out the calendar date, for the checks of every
/// request that need only seconds or milliseconds.
pub(crate) fn unix_now() -> std::time::Duration {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default()
}

/// The message for a route that uses a session guard without the fairing.
pub(crate) fn missing_fairing(guard: &str) {
    log::error!(
        "`{guard}` is used by a route, but the session fairing is not attached. Attach \
         `WristbandSession::fairing()`: `rocket::build().attach(WristbandSession::fairing())`."
    );
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Session<'r> {
    type Error = SessionError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        match Session::of(req) {
            Some(session) => Outcome::Success(session),
            None => {
                missing_fairing("Session");
                Outcome::Error((Status::InternalServerError, SessionError::NotConfigured))
            }
        }
    }
}

impl Sentinel for Session<'_> {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        let missing = !Session::is_configured(rocket);
        if missing {
            missing_fairing("Session");
        }
        missing
    }
}

#[cfg(test)]
mod tests {
    use rocket::http::Status;
    use rocket::local::blocking::Client;
    use serde_json::json;

    use super::*;
    use crate::session::options::SessionOptions;
    use crate::WristbandSession;

    const SECRET: &str = "guard-view-test-secret-0123456789abcdefghij";

    /// The request itself, for [`stateless`].
    struct Probe<'r>(&'r Request<'r>);

    #[rocket::async_trait]
    impl<'r> FromRequest<'r> for Probe<'r> {
        type Error = ();

        async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
            Outcome::Success(Probe(req))
        }
    }

    /// Whether `req` has no session state: Rocket's request-local cache runs the closure only
    /// when it holds none (the state it then stores is not counted anywhere and does nothing).
    fn stateless(req: &Request<'_>) -> bool {
        let mut created = false;
        req.local_cache(|| {
            created = true;
            SessionState::default()
        });
        created
    }

    /// Uses the session as `how` says, then tells whether the request created a session state.
    #[rocket::get("/<how>")]
    fn probe(session: Session<'_>, req: Probe<'_>, how: &str) -> String {
        match how {
            "read" => {
                let _ = (session.is_authenticated(), session.user_id(), session.get::<u8>("n"));
                let _ = (session.contains_key("n"), session.keys(), session.is_empty());
            }
            "write" => session.insert("n", 1).unwrap(),
            _ => {}
        }
        stateless(req.0).to_string()
    }

    fn client() -> Client {
        let options = SessionOptions { secrets: SECRET.into(), ..SessionOptions::default() };
        let rocket = rocket::custom(rocket::Config::figment().merge(("log_level", "off")))
            .attach(WristbandSession::custom(options))
            .mount("/", rocket::routes![probe]);
        Client::untracked(rocket).unwrap()
    }

    /// `(body, whether a Set-Cookie came)` of `/how` with `cookie` as the session cookie.
    fn call(client: &Client, how: &str, cookie: Option<&str>) -> (String, bool) {
        let mut request = client.get(format!("/{how}"));
        if let Some(value) = cookie {
            request = request.cookie(("session", value.to_string()));
        }
        let response = request.dispatch();
        assert_eq!(response.status(), Status::Ok);
        let set_cookie = response.headers().get_one("Set-Cookie").is_some();
        (response.into_string().unwrap(), set_cookie)
    }

    #[test]
    fn only_requests_the_response_phase_acts_on_create_a_session_state() {
        let client = client();
        let codec = SessionCodec::new(&SessionOptions {
            secrets: SECRET.into(),
            ..SessionOptions::default()
        })
        .unwrap();
        let data = json!({"isAuthenticated": true, "userId": "u1", "n": 7});
        let value = codec.seal(data.as_object().unwrap()).unwrap();
        // No cookie: read from the guard's own view, nothing to write.
        assert_eq!(call(&client, "read", None), ("true".into(), false));
        assert_eq!(call(&client, "none", Some(&value)), ("true".into(), false));
        // The first read opens the value in full: the state carries it to the open cache.
        assert_eq!(call(&client, "read", Some(&value)), ("false".into(), false));
        // From then on a read is an open-cache hit: no state.
        assert_eq!(call(&client, "read", Some(&value)), ("true".into(), false));
        assert_eq!(call(&client, "read", Some(&value)), ("true".into(), false));
        // A change needs the state (and writes the cookie); so does a refused cookie (removed).
        assert_eq!(call(&client, "write", Some(&value)), ("false".into(), true));
        assert_eq!(call(&client, "write", None), ("false".into(), true));
        // Another last character (the seal's nonce is random: the value may already end in `A`).
        let other = if value.ends_with('A') { 'B' } else { 'A' };
        let forged = format!("{}{other}", &value[..value.len() - 1]);
        assert_ne!(forged, value);
        assert_eq!(call(&client, "read", Some(&forged)), ("false".into(), true));
    }
}

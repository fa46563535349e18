//! The [`Session`] request guard: lazy, typed access to the session's data.

use std::fmt;

use rocket::http::{CookieJar, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::{Ignite, Rocket, Sentinel};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::codec::SessionCodec;
use crate::cookies::SessionConfig;
use crate::error::SessionError;
use crate::state::{Inner, Pending, SessionState};

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
}

/// Bytes a CSRF entry adds to the JSON when the response phase has to create one:
/// `,"csrfToken":"` + the hex digits + `"`.
const CSRF_ENTRY_LEN: usize = 2 + keys::CSRF_TOKEN.len() + 3 + crate::csrf::TOKEN_HEX_LEN + 1;

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
/// # #[macro_use] extern crate rocket;
/// use wristband_rocket_session::Session;
///
/// #[get("/visits")]
/// fn visits(session: Session<'_>) -> String {
///     let n: u64 = session.get("visits").unwrap().unwrap_or(0) + 1;
///     session.insert("visits", n).unwrap();
///     format!("{n}")
/// }
/// ```
pub struct Session<'r> {
    state: &'r SessionState,
    config: &'r SessionConfig,
    jar: &'r CookieJar<'r>,
}

impl fmt::Debug for Session<'_> {
    /// Shows the state only: session data holds tokens and is never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.state.lock();
        f.debug_struct("Session")
            .field("loaded", &inner.loaded())
            .field("pending", &inner.pending())
            .finish_non_exhaustive()
    }
}

fn json_error<T: ?Sized>(key: &str) -> SessionError {
    SessionError::Json { key: key.to_string(), type_name: std::any::type_name::<T>() }
}

/// Counts the bytes of JSON text without writing them anywhere.
struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'r> Session<'r> {
    /// The guard for `req`, or `None` when the fairing is not attached.
    pub(crate) fn of(req: &'r Request<'_>) -> Option<Self> {
        let config = req.rocket().state::<SessionConfig>()?;
        Some(Session { state: req.local_cache(SessionState::default), config, jar: req.cookies() })
    }

    pub(crate) fn config(&self) -> &'r SessionConfig {
        self.config
    }

    /// Whether the fairing managed its configuration on `rocket`.
    pub(crate) fn is_configured(rocket: &Rocket<Ignite>) -> bool {
        rocket.state::<SessionConfig>().is_some()
    }

    /// Replaces the whole session without reading the presented cookie.
    pub(crate) fn replace(&self, data: Map<String, Value>) {
        self.state.lock().replace(data);
    }

    /// Opens the presented cookie: `Some(empty)` if there is none, `None` if it was refused.
    fn load(&self) -> Option<Map<String, Value>> {
        let Some(value) = self.config.presented_value(self.jar) else {
            return Some(Map::new());
        };
        match self.config.codec.unseal(&value, OffsetDateTime::now_utc()) {
            Ok((data, 0)) => Some(data),
            Ok((data, index)) => {
                log::debug!(
                    "session cookie `{}` opened with secret #{}; the next write re-seals it with \
                     the first",
                    self.config.options.cookie_name,
                    index + 1
                );
                Some(data)
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

    /// Runs `f` on the (loaded) data under the lock.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let mut inner = self.state.lock();
        inner.data(|| self.load());
        f(&mut inner)
    }

    /// Checks that `data` sealed would fit in the cookie budget.
    pub(crate) fn check_fits(&self, data: &Map<String, Value>) -> Result<(), SessionError> {
        let mut counter = Counter(0);
        serde_json::to_writer(&mut counter, data)
            .map_err(|_| json_error::<Map<String, Value>>(""))?;
        let mut json_len = counter.0;
        if self.config.options.enable_csrf_protection && !data.contains_key(keys::CSRF_TOKEN) {
            json_len += CSRF_ENTRY_LEN;
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
    /// # #[macro_use] extern crate rocket;
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
        self.with(|inner| match inner.current().get(key) {
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
    /// # #[macro_use] extern crate rocket;
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
            let data = inner.current();
            let previous = data.insert(key.to_string(), value);
            if let Err(e) = self.check_fits(data) {
                match previous {
                    Some(previous) => data.insert(key.to_string(), previous),
                    None => data.remove(key),
                };
                return Err(e);
            }
            inner.mark(Pending::Write);
            Ok(())
        })
    }

    /// Removes `key`, returning its value; the response writes the cookie if there was one.
    pub fn remove(&self, key: &str) -> Option<Value> {
        self.with(|inner| {
            let removed = inner.current().remove(key);
            if removed.is_some() {
                inner.mark(Pending::Write);
            }
            removed
        })
    }

    /// Whether the session has a value under `key`.
    pub fn contains_key(&self, key: &str) -> bool {
        self.with(|inner| inner.current().contains_key(key))
    }

    /// Whether the session holds no data.
    pub fn is_empty(&self) -> bool {
        self.with(|inner| inner.current().is_empty())
    }

    /// The session's keys, sorted.
    pub fn keys(&self) -> Vec<String> {
        self.with(|inner| inner.current().keys().cloned().collect())
    }

    /// Empties the session and writes it back empty (the cookie stays, with a fresh expiry).
    /// Does not decrypt the presented cookie. To remove the cookie, use
    /// [`Session::destroy()`].
    pub fn clear(&self) {
        self.replace(Map::new());
    }

    /// Ends the session: the response removes the session cookie(s) and the CSRF cookie.
    /// Data inserted after this starts a new session.
    ///
    /// ```
    /// # #[macro_use] extern crate rocket;
    /// # use wristband_rocket_session::Session;
    /// #[post("/logout")]
    /// fn logout(session: Session<'_>) -> &'static str {
    ///     session.destroy();
    ///     "bye"
    /// }
    /// ```
    pub fn destroy(&self) {
        self.state.lock().destroy();
    }

    /// Re-issues the cookie with a fresh expiry even if nothing changed (rolling sessions).
    pub fn save(&self) {
        self.with(|inner| inner.mark(Pending::Write));
    }

    fn string(&self, key: &str) -> Option<String> {
        self.with(|inner| inner.current().get(key).and_then(Value::as_str).map(str::to_string))
    }

    /// Whether a Wristband login marked the session authenticated (`isAuthenticated`).
    pub fn is_authenticated(&self) -> bool {
        self.with(|inner| inner.current().get(keys::IS_AUTHENTICATED) == Some(&Value::Bool(true)))
    }

    /// The Wristband user id (`userId`).
    pub fn user_id(&self) -> Option<String> {
        self.string(keys::USER_ID)
    }

    /// The Wristband tenant id (`tenantId`).
    pub fn tenant_id(&self) -> Option<String> {
        self.string(keys::TENANT_ID)
    }

    /// The Wristband tenant name (`tenantName`).
    pub fn tenant_name(&self) -> Option<String> {
        self.string(keys::TENANT_NAME)
    }

    /// The identity provider the user logged in with (`identityProviderName`).
    pub fn identity_provider_name(&self) -> Option<String> {
        self.string(keys::IDENTITY_PROVIDER_NAME)
    }

    /// The access token (`accessToken`).
    pub fn access_token(&self) -> Option<String> {
        self.string(keys::ACCESS_TOKEN)
    }

    /// The refresh token (`refreshToken`), present when the login asked for `offline_access`.
    pub fn refresh_token(&self) -> Option<String> {
        self.string(keys::REFRESH_TOKEN)
    }

    /// The tenant's custom domain (`tenantCustomDomain`), when the login used one.
    pub fn tenant_custom_domain(&self) -> Option<String> {
        self.string(keys::TENANT_CUSTOM_DOMAIN)
    }

    /// The CSRF token of this login (`csrfToken`), when CSRF protection is on.
    pub fn csrf_token(&self) -> Option<String> {
        self.string(keys::CSRF_TOKEN)
    }

    /// When the access token expires (`expiresAt`), in milliseconds since the Unix epoch.
    pub fn expires_at(&self) -> Option<i64> {
        self.with(|inner| inner.current().get(keys::EXPIRES_AT).and_then(Value::as_i64))
    }
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

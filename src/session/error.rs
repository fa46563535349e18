//! The crate's two error types: [`ConfigError`] (found at launch) and [`SessionError`]
//! (returned by session operations inside a request).

use std::fmt;

/// One invalid configuration option: the key it concerns and what is wrong with it.
///
/// The message always says how to fix the problem.
///
/// ```
/// use wristband_rocket_session::SessionOptions;
///
/// let options = SessionOptions { max_age: 0, ..SessionOptions::default() };
/// let err = options.validate().unwrap_err();
/// assert!(err.problems().iter().any(|p| p.key == "max_age"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The option's key inside its table (see [`ConfigProblem::table()`]), e.g. `max_age`.
    pub key: String,
    /// What is wrong and how to fix it. Never contains a secret.
    pub message: String,
    table: &'static str,
}

impl ConfigProblem {
    /// A problem with a key of the `wristband_session` table.
    pub(crate) fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self::for_table("wristband_session", key, message)
    }

    /// A problem with a key of `table`.
    pub(crate) fn for_table(
        table: &'static str,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ConfigProblem { key: key.into(), message: message.into(), table }
    }

    /// The table the key belongs to: `wristband_session`, or `wristband_auth` for the `auth`
    /// feature's options.
    ///
    /// ```
    /// use wristband_rocket_session::SessionOptions;
    ///
    /// let err = SessionOptions::default().validate().unwrap_err();
    /// assert_eq!(err.problems()[0].table(), "wristband_session");
    /// ```
    pub fn table(&self) -> &str {
        self.table
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "`{}`: {}", self.table, self.message)
        } else {
            write!(f, "`{}.{}`: {}", self.table, self.key, self.message)
        }
    }
}

/// The session configuration is invalid. Every problem found is listed, not just the first.
///
/// Returned by [`SessionOptions::validate()`](crate::SessionOptions::validate) and
/// [`SessionCodec::new()`](crate::SessionCodec::new); the fairing logs it and aborts launch.
///
/// ```
/// use wristband_rocket_session::{ConfigError, SessionOptions};
///
/// let options = SessionOptions { path: "api".into(), max_cookie_chunks: 9, ..Default::default() };
/// let err: ConfigError = options.validate().unwrap_err();
/// // No secret, a path without `/`, too many chunks: all three at once.
/// let keys: Vec<&str> = err.problems().iter().map(|p| p.key.as_str()).collect();
/// assert_eq!(keys, ["secrets", "path", "max_cookie_chunks"]);
/// assert!(err.to_string().contains("(3 problems)"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// One or more options are invalid.
    Invalid {
        /// The Rocket profile the options were read from, when known (e.g. `release`).
        profile: Option<String>,
        /// Every problem found, in key order.
        problems: Vec<ConfigProblem>,
    },
}

impl ConfigError {
    pub(crate) fn invalid(profile: Option<String>, problems: Vec<ConfigProblem>) -> Self {
        ConfigError::Invalid { profile, problems }
    }

    /// Every problem found.
    ///
    /// ```
    /// use wristband_rocket_session::SessionOptions;
    ///
    /// let err = SessionOptions { max_age: 0, ..SessionOptions::default() }.validate().unwrap_err();
    /// let max_age = err.problems().iter().find(|p| p.key == "max_age").unwrap();
    /// assert!(max_age.message.contains("greater than 0"));
    /// ```
    pub fn problems(&self) -> &[ConfigProblem] {
        match self {
            ConfigError::Invalid { problems, .. } => problems,
        }
    }

    /// The profile the options were read from, when known.
    ///
    /// [`SessionOptions::validate()`](crate::SessionOptions::validate) checks options alone, so
    /// its errors have none; the fairing's launch log names the profile it read.
    ///
    /// ```
    /// use wristband_rocket_session::SessionOptions;
    ///
    /// let err = SessionOptions::default().validate().unwrap_err();
    /// assert_eq!(err.profile(), None);
    /// assert!(!err.to_string().contains("in profile"));
    /// ```
    pub fn profile(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { profile, .. } => profile.as_deref(),
        }
    }

    pub(crate) fn with_profile(self, name: &str) -> Self {
        match self {
            ConfigError::Invalid { problems, .. } => {
                ConfigError::Invalid { profile: Some(name.to_string()), problems }
            }
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let problems = self.problems();
        let noun = if problems.len() == 1 { "problem" } else { "problems" };
        let table = problems.first().map_or("wristband_session", ConfigProblem::table);
        write!(f, "invalid `{table}` configuration")?;
        if let Some(profile) = self.profile() {
            write!(f, " in profile `{profile}`")?;
        }
        write!(f, " ({} {noun}):", problems.len())?;
        for problem in problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// An error from a session operation.
///
/// None of these is caused by what a client sent: a cookie that cannot be opened simply yields an
/// empty session. These are programming or capacity errors in the application.
///
/// As a handler's error (it is a [`Responder`](rocket::response::Responder)), a missing field
/// answers 401, a failed CSRF check 403 and anything else 500; the error is logged, not sent.
///
/// ```
/// # use rocket::{get, post, routes};
/// # use rocket::local::blocking::Client;
/// use rocket::http::Status;
/// use wristband_rocket_session::{Session, SessionError, TokenResponse, WristbandSession};
///
/// #[get("/api/token")]
/// fn token(session: Session<'_>) -> Result<TokenResponse, SessionError> {
///     session.token_response()
/// }
///
/// #[post("/note", data = "<note>")]
/// fn note(session: Session<'_>, note: String) -> Result<(), SessionError> {
///     session.insert("note", note)
/// }
///
/// # let rocket = rocket::build().attach(WristbandSession::fairing());
/// # let client = Client::untracked(rocket.mount("/", routes![token, note])).unwrap();
/// // Nobody logged in: `MissingField`, answered with 401.
/// assert_eq!(client.get("/api/token").dispatch().status(), Status::Unauthorized);
/// // 5000 bytes cannot fit in one 4096-byte cookie: `TooLarge`, answered with 500.
/// let response = client.post("/note").body("x".repeat(5000)).dispatch();
/// assert_eq!(response.status(), Status::InternalServerError);
/// assert_eq!(client.post("/note").body("short").dispatch().status(), Status::Ok);
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum SessionError {
    /// The session would not fit in its cookie(s): `size` bytes for the largest `Set-Cookie`
    /// header needed, over a budget of `limit` bytes (4096 per cookie times `max_cookie_chunks`).
    /// The session was left unchanged.
    TooLarge {
        /// The size the session's cookie(s) would have had, in bytes, attributes included.
        size: usize,
        /// The budget, in bytes.
        limit: usize,
    },
    /// A value could not be converted to or from JSON (for `get`: the stored value has another
    /// type than the one asked for). The message names the key and the Rust type, never the
    /// value (serde's own messages quote it, and session values are often tokens).
    Json {
        /// The session key concerned.
        key: String,
        /// The Rust type the value was converted from or to.
        type_name: &'static str,
    },
    /// The session lacks a field that the operation needs (e.g. `userId` for a session response).
    MissingField {
        /// The camelCase session key that is missing.
        key: &'static str,
    },
    /// Custom fields passed to `from_callback` use a key that Wristband's fields own.
    ReservedKey {
        /// The offending key.
        key: String,
    },
    /// The `WristbandSession` fairing is not attached, so there is no session.
    NotConfigured,
    /// The CSRF header was missing or did not match the session's token.
    CsrfFailed,
    /// Revocation was asked for, but the `wristband_session` table has no `revocation`
    /// sub-table (or the crate was built without the `redis` feature).
    RevocationNotConfigured,
    /// A revocation could not be written to Redis. It already holds on this instance (in
    /// memory), and the instance writes it to Redis when it reconnects; other instances learn
    /// it then.
    RevocationFailed {
        /// Why (the Redis error, without the server's address or password).
        reason: String,
    },
    /// A session id given to `Revocations::revoke_session` is not one this crate issues.
    InvalidSessionId,
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::TooLarge { size, limit } => write!(
                f,
                "session too large: its cookie would take {size} bytes, over the {limit}-byte \
                 budget; store less in the session or raise `max_cookie_chunks`"
            ),
            SessionError::Json { key, type_name } => write!(
                f,
                "session key `{key}`: its value could not be converted between JSON and \
                 `{type_name}`"
            ),
            SessionError::MissingField { key } => {
                write!(f, "the session has no `{key}`; is the user logged in?")
            }
            SessionError::ReservedKey { key } => write!(
                f,
                "custom session field `{key}` collides with a Wristband session field; \
                 rename it"
            ),
            SessionError::CsrfFailed => {
                write!(f, "CSRF check failed: the CSRF header is missing or does not match")
            }
            SessionError::NotConfigured => write!(
                f,
                "no session configuration is managed: attach `WristbandSession::fairing()`"
            ),
            SessionError::RevocationNotConfigured => write!(
                f,
                "session revocation is off: add a `revocation` table with a Redis `url` to \
                 `wristband_session` and enable the cargo feature `redis`"
            ),
            SessionError::RevocationFailed { reason } => write!(
                f,
                "the revocation holds on this instance but could not be written to Redis \
                 ({reason}); it is written when the instance reconnects"
            ),
            SessionError::InvalidSessionId => {
                write!(f, "not a session id of this crate (22 base64url characters)")
            }
        }
    }
}

impl std::error::Error for SessionError {}

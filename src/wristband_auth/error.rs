//! [`WristbandError`] and [`RedirectReason`], and the error's responder.

use std::fmt;
use std::io::Cursor;

use rocket::http::{ContentType, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use serde::{Deserialize, Serialize};

use crate::error::SessionError;
use crate::log_text::Escaped;

/// Why a callback asks the app to send the user to the login again. Serialized in snake_case
/// (`"missing_login_state"`, …), as Wristband's SDKs name the reasons.
///
/// ```
/// use wristband_rocket_session::RedirectReason;
///
/// let json = serde_json::to_string(&RedirectReason::InvalidLoginState)?;
/// assert_eq!(json, r#""invalid_login_state""#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RedirectReason {
    /// No login-state cookie matched the callback's `state`.
    MissingLoginState,
    /// The login-state cookie was tampered with, expired or did not match.
    InvalidLoginState,
    /// Wristband answered `error=login_required`.
    LoginRequired,
    /// The authorization code was refused (`invalid_grant`).
    InvalidGrant,
    /// The authorization code was exchanged, but the ID token did not check out: a bad
    /// signature, issuer, audience or expiry, or a `nonce` other than the one this login sent
    /// (an ID token from another login). Wristband's SDK does not check the ID token.
    InvalidIdToken,
}

/// What went wrong in login, callback, logout or a call to Wristband.
///
/// As a Rocket responder: 400 for a bad request from the client, 500 for everything else (401
/// and 403 for the session errors that mean "not logged in" and "CSRF check failed"), with
/// `Cache-Control: no-store` and a JSON body `{"error": "<code>"}` that never carries a token,
/// a secret or Wristband's raw answer. The details (see [`Display`](fmt::Display)) go to the
/// log only.
///
/// ```
/// # #[macro_use] extern crate rocket;
/// use rocket::http::Status;
/// use rocket::local::blocking::Client;
/// use wristband_rocket_session::WristbandError;
///
/// #[get("/fails")]
/// fn fails() -> Result<&'static str, WristbandError> {
///     Err(WristbandError::Unexpected { reason: "Wristband timed out".into() })
/// }
///
/// let client = Client::untracked(rocket::build().mount("/", routes![fails])).unwrap();
/// let response = client.get("/fails").dispatch();
/// assert_eq!(response.status(), Status::InternalServerError);
/// assert_eq!(response.headers().get_one("Cache-Control"), Some("no-store"));
/// assert_eq!(response.into_string().unwrap(), r#"{"error":"unexpected_error"}"#);
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum WristbandError {
    /// The client's request cannot be taken (400): a repeated query parameter, a `return_url`
    /// on a host that is not allowed, a missing or malformed tenant, a missing `state` or
    /// `code` in a callback.
    BadRequest {
        /// The error code sent in the body.
        code: &'static str,
        /// Why, for logs (never sent).
        reason: String,
    },
    /// Wristband sent the user back to the callback with an `error` other than
    /// `login_required`, such as `access_denied` (400).
    Authorization {
        /// The `error` query parameter (sent in the body when it is a plain OAuth2 error
        /// code, `authorization_error` otherwise).
        error: String,
        /// The `error_description` query parameter, for logs (never sent).
        description: Option<String>,
    },
    /// Wristband refused a grant (`invalid_grant`). The callback turns it into
    /// [`RedirectReason::InvalidGrant`]; anywhere else it answers 500.
    InvalidGrant {
        /// Wristband's description, for logs (never sent).
        description: Option<String>,
    },
    /// A value the application passed to a flow cannot be used (500: a bug in the app, not
    /// the client's fault), such as a [`LogoutConfig`](crate::LogoutConfig) `state` over 512
    /// characters or a [`LoginConfig`](crate::LoginConfig) `custom_state` too large for the
    /// login-state cookie.
    InvalidArgument {
        /// The error code sent in the body.
        code: &'static str,
        /// Why, for logs (never sent).
        reason: String,
    },
    /// The SDK configuration could not be fetched or did not validate (500).
    Configuration {
        /// Why, for logs (never sent).
        reason: String,
    },
    /// Wristband could not be reached or answered unexpectedly (500).
    Unexpected {
        /// Why, for logs (never sent; no token or secret).
        reason: String,
    },
    /// The session could not be written (500), or, from a guard, the user is not logged in
    /// (401) or failed the CSRF check (403).
    Session(SessionError),
}

/// An OAuth2 error code worth echoing: short, lowercase letters and `_` only.
fn is_plain_code(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

impl WristbandError {
    /// A 400 for the client's request.
    pub(crate) fn bad_request(code: &'static str, reason: impl Into<String>) -> Self {
        WristbandError::BadRequest { code, reason: reason.into() }
    }

    /// The HTTP status this error answers with.
    ///
    /// ```
    /// use rocket::http::Status;
    /// use wristband_rocket_session::WristbandError;
    ///
    /// let error = WristbandError::Authorization { error: "access_denied".into(), description: None };
    /// assert_eq!(error.status(), Status::BadRequest);
    /// ```
    pub fn status(&self) -> Status {
        match self {
            WristbandError::BadRequest { .. } | WristbandError::Authorization { .. } => {
                Status::BadRequest
            }
            WristbandError::Session(SessionError::MissingField { .. }) => Status::Unauthorized,
            WristbandError::Session(SessionError::CsrfFailed) => Status::Forbidden,
            _ => Status::InternalServerError,
        }
    }

    /// The code sent in the JSON body, `{"error": "<code>"}`.
    ///
    /// ```
    /// use wristband_rocket_session::WristbandError;
    ///
    /// let error = WristbandError::Authorization { error: "access_denied".into(), description: None };
    /// assert_eq!(error.code(), "access_denied");
    /// let error = WristbandError::Configuration { reason: "unreachable".into() };
    /// assert_eq!(error.code(), "configuration_error");
    /// ```
    pub fn code(&self) -> &str {
        match self {
            WristbandError::BadRequest { code, .. }
            | WristbandError::InvalidArgument { code, .. } => code,
            WristbandError::Authorization { error, .. } if is_plain_code(error) => error,
            WristbandError::Authorization { .. } => "authorization_error",
            WristbandError::InvalidGrant { .. } => "invalid_grant",
            WristbandError::Configuration { .. } => "configuration_error",
            WristbandError::Unexpected { .. } => "unexpected_error",
            WristbandError::Session(SessionError::MissingField { .. }) => "not_authenticated",
            WristbandError::Session(SessionError::CsrfFailed) => "csrf_failed",
            WristbandError::Session(_) => "session_error",
        }
    }
}

/// For logs. Every text that a client or Wristband chose (the callback's `error` and
/// `error_description`, reasons that quote a request) is written with its control characters
/// escaped, so that it cannot forge a log line.
impl fmt::Display for WristbandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn described<'a>(d: &'a Option<String>, none: &'static str) -> Escaped<'a> {
            Escaped(d.as_deref().unwrap_or(none))
        }
        match self {
            WristbandError::BadRequest { code, reason }
            | WristbandError::InvalidArgument { code, reason } => {
                write!(f, "{code}: {}", Escaped(reason))
            }
            WristbandError::Authorization { error, description } => write!(
                f,
                "Wristband answered the authorization with error \"{}\": {}",
                Escaped(error),
                described(description, "(no description)")
            ),
            WristbandError::InvalidGrant { description } => {
                write!(f, "invalid_grant: {}", described(description, "Invalid grant"))
            }
            WristbandError::Configuration { reason } => {
                write!(f, "sdk_configuration_failed: {}", Escaped(reason))
            }
            WristbandError::Unexpected { reason } => {
                write!(f, "unexpected_error: {}", Escaped(reason))
            }
            WristbandError::Session(e) => write!(f, "session_error: {e}"),
        }
    }
}

impl std::error::Error for WristbandError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WristbandError::Session(e) => Some(e),
            _ => None,
        }
    }
}

impl From<SessionError> for WristbandError {
    fn from(e: SessionError) -> Self {
        WristbandError::Session(e)
    }
}

/// 400/401/403/500 with `{"error": "<code>"}`, `Cache-Control: no-store` and
/// `Pragma: no-cache`; the details are logged (warn for the client's errors, error for the
/// rest), never sent. Login-state cookies the request's flows cleared are written too.
impl<'r> Responder<'r, 'static> for WristbandError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let status = self.status();
        if status == Status::InternalServerError {
            log::error!("Wristband flow failed ({status}): {self}");
        } else {
            log::warn!("Wristband flow refused the request ({status}): {self}");
        }
        let body = serde_json::json!({ "error": self.code() }).to_string();
        let mut response = Response::build()
            .status(status)
            .header(ContentType::JSON)
            .raw_header("Cache-Control", "no-store")
            .raw_header("Pragma", "no-cache")
            .sized_body(body.len(), Cursor::new(body))
            .finalize();
        // A callback that failed still clears its login-state cookie.
        super::login_state::adjoin_pending(req, &mut response);
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_codes() {
        let bad = WristbandError::bad_request("duplicate_query_parameter", "tenant_name twice");
        assert_eq!((bad.status(), bad.code()), (Status::BadRequest, "duplicate_query_parameter"));
        let odd = WristbandError::Authorization { error: "<script>".into(), description: None };
        assert_eq!((odd.status(), odd.code()), (Status::BadRequest, "authorization_error"));
        let grant = WristbandError::InvalidGrant { description: Some("used".into()) };
        assert_eq!((grant.status(), grant.code()), (Status::InternalServerError, "invalid_grant"));
        let arg =
            WristbandError::InvalidArgument { code: "invalid_logout_state", reason: "".into() };
        assert_eq!(arg.status(), Status::InternalServerError);
        let missing = WristbandError::from(SessionError::MissingField { key: "userId" });
        assert_eq!((missing.status(), missing.code()), (Status::Unauthorized, "not_authenticated"));
        let csrf = WristbandError::from(SessionError::CsrfFailed);
        assert_eq!(csrf.status(), Status::Forbidden);
        let large = WristbandError::from(SessionError::TooLarge { size: 5000, limit: 4096 });
        assert_eq!((large.status(), large.code()), (Status::InternalServerError, "session_error"));
    }
}

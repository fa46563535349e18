//! [`WristbandError`] and [`RedirectReason`], and the error's responder.

use std::fmt;
use std::io::Cursor;

use rocket::http::{ContentType, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use serde::{Deserialize, Serialize};

use crate::session::error::SessionError;
use crate::session::log_text::Escaped;

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
    /// signature, issuer, audience, authorized party (`azp`), expiry or issue time (`iat` in
    /// the future, or more than 10 minutes old), or a `nonce` other than the one this login
    /// sent (an ID token from another login). Wristband's SDK does not check the ID token.
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
/// # use rocket::{get, routes};
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
    /// The SDK configuration could not be fetched or did not validate (500), or the flows
    /// are not configured. In the debug profile (`Config::DEBUG_PROFILE`), to a browser (a
    /// request whose `Accept` names `text/html` or `text/plain`), the answer is a plain-text
    /// page with the `reason` and the `wristband_auth` keys it names, for the developer at the
    /// browser; to API clients and in every other profile, the JSON body
    /// `{"error":"configuration_error"}`.
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

/// The `wristband_auth` keys a configuration failure's reason names (in backticks), in the
/// order of the table.
fn keys_named(reason: &str) -> Vec<&'static str> {
    super::options::KEYS
        .iter()
        .copied()
        .filter(|key| reason.contains(&format!("`{key}`")))
        .collect()
}

/// Whether the request asks for a page (`Accept` names `text/html` or `text/plain`), as a
/// browser's navigation does, rather than for JSON.
fn from_a_browser(req: &Request<'_>) -> bool {
    req.accept().is_some_and(|accept| {
        accept.media_types().any(|m| m.top() == "text" && (m.sub() == "html" || m.sub() == "plain"))
    })
}

/// The debug profile's answer to a [`WristbandError::Configuration`]: what failed and which
/// keys to check, as plain text (no markup to escape; control characters escaped).
fn configuration_page(reason: &str) -> String {
    let keys = keys_named(reason);
    let check = if keys.is_empty() {
        "Check the `wristband_auth` table of Rocket.toml (or ROCKET_WRISTBAND_AUTH) and the log."
            .to_string()
    } else {
        let list: Vec<String> = keys.iter().map(|k| format!("  - wristband_auth.{k}")).collect();
        format!(
            "Keys to check in the `wristband_auth` table (Rocket.toml or ROCKET_WRISTBAND_AUTH):\n{}",
            list.join("\n")
        )
    };
    format!(
        "Wristband configuration error\n\n\
         Signing in cannot work until the configuration is fixed.\n\n\
         What failed: {}\n\n{check}\n\n\
         (This page is shown in the debug profile only; other profiles answer \
         {{\"error\":\"configuration_error\"}}.)\n",
        Escaped(reason)
    )
}

/// 400/401/403/500 with `{"error": "<code>"}`, `Cache-Control: no-store` and
/// `Pragma: no-cache`; the details are logged (warn for the client's errors, error for the
/// rest), never sent, except that in the debug profile a
/// [`Configuration`](WristbandError::Configuration) error answers a browser (`Accept` names
/// `text/html` or `text/plain`) with a plain-text page with its reason and the keys to check
/// (its reason holds no secret: a URL with the vanity domain and the client id, and the likely
/// cause). Login-state cookies the request's flows cleared are written too.
///
/// ```
/// # use rocket::{get, routes};
/// use rocket::http::Header;
/// use rocket::local::blocking::Client;
/// use wristband_rocket_session::WristbandError;
///
/// #[get("/login")]
/// fn login() -> Result<&'static str, WristbandError> {
///     Err(WristbandError::Configuration {
///         reason: "GET https://auth.example.com/... answered HTTP 404; check `client_id`".into(),
///     })
/// }
///
/// let browser = Header::new("Accept", "text/html,application/xhtml+xml,*/*;q=0.8");
/// for (profile, accept, page) in [
///     ("debug", &browser, true),
///     ("debug", &Header::new("Accept", "application/json"), false),
///     ("release", &browser, false),
/// ] {
///     let figment = rocket::Config::figment().select(profile);
///     let client = Client::untracked(rocket::custom(figment).mount("/", routes![login])).unwrap();
///     let body = client.get("/login").header(accept.clone()).dispatch().into_string().unwrap();
///     assert_eq!(body.contains("wristband_auth.client_id"), page);
///     assert_eq!(body == r#"{"error":"configuration_error"}"#, !page);
/// }
/// ```
impl<'r> Responder<'r, 'static> for WristbandError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let status = self.status();
        if status == Status::InternalServerError {
            log::error!("Wristband flow failed ({status}): {self}");
        } else {
            log::warn!("Wristband flow refused the request ({status}): {self}");
        }
        let (content_type, body) = match &self {
            WristbandError::Configuration { reason }
                if req.rocket().config().profile == rocket::Config::DEBUG_PROFILE
                    && from_a_browser(req) =>
            {
                (ContentType::Plain, configuration_page(reason))
            }
            _ => (ContentType::JSON, serde_json::json!({ "error": self.code() }).to_string()),
        };
        let mut response = Response::build()
            .status(status)
            .header(content_type)
            .raw_header("X-Content-Type-Options", "nosniff")
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

    #[test]
    fn the_debug_page_lists_the_keys_the_reason_names() {
        let reason = "GET x answered HTTP 404; check `client_id` and \
                      `wristband_application_vanity_domain`, not `client_idx`\r\nforged";
        assert_eq!(keys_named(reason), ["client_id", "wristband_application_vanity_domain"]);
        let page = configuration_page(reason);
        assert!(page.contains("  - wristband_auth.client_id\n"), "{page}");
        assert!(!page.contains("\r\nforged"), "control characters escaped: {page}");
        assert!(configuration_page("no keys").contains("Check the `wristband_auth` table"));
    }
}

//! The login-state cookie: what a login remembers until its callback (state, PKCE verifier,
//! redirect URI, return URL, custom state), sealed with the crate's own codec.
//!
//! - Name: `login#<state>#<epoch ms>`.
//! - Value: cookie format v1 ([`SessionCodec`]) under the login-state secret, with the cookie's
//!   **full name** as the cookie name bound into the associated data: a value opens only under
//!   the exact name it was issued for, so it cannot be replayed under another state or
//!   timestamp. A codec is built per cookie (one HKDF expansion; microseconds). Expiry: one
//!   hour, inside the value as well as in `Max-Age`.
//! - Attributes: `HttpOnly; SameSite=Lax; Path=/; Max-Age=3600`, and `Secure` unless
//!   `dangerously_disable_secure_cookies`.
//! - At most 3 exist: a login keeps the 2 newest (by the timestamp, compared as a number) and
//!   removes the others before adding its own.
//!
//! The `Set-Cookie` headers are written raw, not through Rocket's cookie jar: the jar
//! percent-encodes `#` in names (`login%23…`), which would neither match the documented name
//! nor remove a cookie stored under the raw name. A flow queues them in request-local
//! the session's request-local state ([`queue`]); [`WristbandRedirect`](super::WristbandRedirect)
//! and [`WristbandError`](super::WristbandError) adjoin them when they respond, and the session
//! fairing's response phase adjoins what is left (whatever the handler returned). Reading goes through the jar, which decodes either spelling.

use rocket::http::{Cookie, CookieJar, SameSite};
use rocket::time::Duration;
use rocket::{Request, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use crate::session::codec::{SessionCodec, HEADER_BUDGET};
use crate::session::guard::Session;
use crate::session::options::SessionOptions;

/// Every login-state cookie's name starts with this.
pub(crate) const PREFIX: &str = "login#";
/// Lifetime of a login-state cookie, in seconds.
pub(crate) const MAX_AGE_SECS: i64 = 3600;
/// How many login-state cookies a login keeps before adding its own.
const KEEP: usize = 2;

/// Queues `cookie` for the response (written as is: name and value unencoded) in the
/// session's request-local state. `WristbandAuth` refuses to launch without the session
/// fairing, so a flow always has a session; without one the cookie could not be written.
pub(crate) fn queue(session: Option<&Session<'_>>, cookie: &Cookie<'_>) {
    match session {
        Some(session) => session.queue_set_cookie(cookie.to_string()),
        None => log::error!(
            "a login-state cookie could not be written: the session fairing is not attached"
        ),
    }
}

/// Adjoins the `Set-Cookie` headers the flows of `req` queued and not yet written (each is
/// written once). Called by the flows' responders; the session fairing's response phase
/// writes what is left.
pub(crate) fn adjoin_pending(req: &Request<'_>, res: &mut Response<'_>) {
    let Some(session) = Session::of(req) else {
        return;
    };
    for header in session.take_queued() {
        res.adjoin_raw_header("Set-Cookie", header);
    }
}

/// What a login remembers for its callback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LoginState {
    pub(crate) state: String,
    pub(crate) code_verifier: String,
    pub(crate) redirect_uri: String,
    /// The `nonce` sent to the authorize endpoint, which the ID token must carry back.
    /// `None` only in a cookie written before the ID token was checked (such a login is
    /// restarted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) return_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) custom_state: Option<Map<String, Value>>,
}

/// The cookie name for `state` created at `epoch_ms`.
pub(crate) fn cookie_name(state: &str, epoch_ms: i64) -> String {
    format!("{PREFIX}{state}#{epoch_ms}")
}

/// The codec for the cookie called `name`; `None` only if the name is not a cookie name
/// (a client can send anything) or the secret is unusable.
fn codec(secret: &str, name: &str) -> Option<SessionCodec> {
    let options = SessionOptions {
        secrets: secret.into(),
        cookie_name: name.to_string(),
        max_age: MAX_AGE_SECS,
        ..SessionOptions::default()
    };
    SessionCodec::new(&options).ok()
}

/// The cookie's attributes, value left to the caller.
fn with_attributes(name: String, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .max_age(Duration::seconds(MAX_AGE_SECS))
        .secure(secure)
        .build()
}

/// Why a login state could not be sealed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SealError {
    /// The `Set-Cookie` header would exceed 4096 bytes (`custom_state` or `return_url` too
    /// large).
    TooLarge(usize),
    /// The codec refused the secret or the name.
    Codec,
}

/// The login-state cookie for `login`, named `name`.
pub(crate) fn cookie(
    secret: &str,
    name: String,
    login: &LoginState,
    secure: bool,
) -> Result<Cookie<'static>, SealError> {
    let codec = codec(secret, &name).ok_or(SealError::Codec)?;
    let map = match serde_json::to_value(login) {
        Ok(Value::Object(map)) => map,
        _ => return Err(SealError::Codec),
    };
    let value = codec.seal(&map).map_err(|_| SealError::Codec)?;
    let cookie = with_attributes(name, value, secure);
    let len = cookie.to_string().len();
    if len > HEADER_BUDGET {
        return Err(SealError::TooLarge(len));
    }
    Ok(cookie)
}

/// The removal cookie for `name` (same path and attributes, so the browser drops it).
pub(crate) fn removal(name: &str, secure: bool) -> Cookie<'static> {
    let mut cookie = with_attributes(name.to_string(), String::new(), secure);
    cookie.make_removal();
    cookie
}

/// Opens the value of the cookie `name`, checking that it holds `state` (constant time).
/// `None`: tampered, expired, sealed under another name or secret, or another state.
pub(crate) fn open(secret: &str, name: &str, value: &str, state: &str) -> Option<LoginState> {
    let map = codec(secret, name)?.open(value)?;
    let login: LoginState = serde_json::from_value(Value::Object(map)).ok()?;
    bool::from(login.state.as_bytes().ct_eq(state.as_bytes())).then_some(login)
}

/// The timestamp of a login-state cookie name (0 when it has none: it counts as oldest).
fn timestamp(name: &str) -> u64 {
    name.rsplit_once('#')
        .filter(|(head, _)| head.len() >= PREFIX.len())
        .and_then(|(_, ms)| ms.parse().ok())
        .unwrap_or(0)
}

/// The names of the login-state cookies a new login removes: all but the 2 newest, when
/// there are 3 or more.
pub(crate) fn stale<'a>(names: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut names: Vec<&str> = names.filter(|n| n.starts_with(PREFIX)).collect();
    if names.len() <= KEEP {
        return Vec::new();
    }
    // Newest first; equal timestamps in name order, so the choice is deterministic.
    names.sort_by(|a, b| timestamp(b).cmp(&timestamp(a)).then_with(|| a.cmp(b)));
    names.split_off(KEEP)
}

/// The cookies of the request whose name is `login#<state>#…`.
pub(crate) fn matching<'j>(jar: &'j CookieJar<'_>, state: &str) -> Vec<&'j Cookie<'static>> {
    let prefix = format!("{PREFIX}{state}#");
    jar.iter().filter(|c| c.name().starts_with(&prefix)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "a-login-state-secret-of-32-characters!";

    fn login() -> LoginState {
        LoginState {
            state: "s".repeat(43),
            code_verifier: "v".repeat(43),
            redirect_uri: "https://app.example.com/auth/callback".into(),
            nonce: Some("n".repeat(43)),
            return_url: Some("/settings".into()),
            custom_state: Some(serde_json::json!({ "a": 1 }).as_object().unwrap().clone()),
        }
    }

    #[test]
    fn seal_open_round_trip_bound_to_the_name_and_state() {
        let l = login();
        let name = cookie_name(&l.state, 1_700_000_000_000);
        let c = cookie(SECRET, name.clone(), &l, true).unwrap();
        assert_eq!(open(SECRET, &name, c.value(), &l.state), Some(l.clone()));
        // Another name (same state, other timestamp), another state, another secret: refused.
        let other = cookie_name(&l.state, 1_700_000_000_001);
        assert_eq!(open(SECRET, &other, c.value(), &l.state), None);
        assert_eq!(open(SECRET, &name, c.value(), "other"), None);
        assert_eq!(open(&format!("{SECRET}x"), &name, c.value(), &l.state), None);
        assert_eq!(open(SECRET, "not a cookie name", c.value(), &l.state), None);
        assert_eq!(open(SECRET, &name, "garbage", &l.state), None);
    }

    #[test]
    fn attributes_exact() {
        let c = cookie(SECRET, "login#s#1".into(), &login(), true).unwrap();
        let text = c.to_string();
        let mut attrs: Vec<&str> = text.split("; ").skip(1).collect();
        attrs.sort_unstable();
        assert_eq!(attrs, ["HttpOnly", "Max-Age=3600", "Path=/", "SameSite=Lax", "Secure"]);
        let c = cookie(SECRET, "login#s#1".into(), &login(), false).unwrap();
        assert!(!c.to_string().contains("Secure"));
    }

    #[test]
    fn too_large() {
        let mut l = login();
        let mut big = Map::new();
        big.insert("blob".into(), Value::String("x".repeat(3000)));
        l.custom_state = Some(big);
        assert!(matches!(
            cookie(SECRET, "login#s#1".into(), &l, true),
            Err(SealError::TooLarge(_))
        ));
    }

    #[test]
    fn pruning_keeps_the_two_newest_numerically() {
        assert!(stale(["login#a#1", "login#b#2"].into_iter()).is_empty());
        // Lexicographically "9" > "10"; numerically it is older.
        let s = stale(["login#a#9", "login#b#10", "login#c#11", "session"].into_iter());
        assert_eq!(s, ["login#a#9"]);
        let mut s =
            stale(["login#a#5", "login#b#4", "login#c#3", "login#d#2", "login#e#1"].into_iter());
        s.sort_unstable();
        assert_eq!(s, ["login#c#3", "login#d#2", "login#e#1"]);
        // A name without a timestamp counts as the oldest.
        assert_eq!(stale(["login#x", "login#b#2", "login#c#3"].into_iter()), ["login#x"]);
    }
}

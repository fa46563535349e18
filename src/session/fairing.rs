//! The [`WristbandSession`] fairing: reads and validates the options at ignite, writes the
//! session back in the response phase.

use std::io::Cursor;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use rocket::fairing::{self, Fairing, Info, Kind};
use rocket::http::{Header, Status, StatusClass};
use rocket::{Build, Request, Response, Rocket};
use serde_json::Value;
use time::OffsetDateTime;

use crate::session::codec::SessionCodec;
use crate::session::cookies::SessionConfig;
use crate::session::csrf;
use crate::session::error::ConfigError;
use crate::session::guard::{has_csrf_token, has_session_id, keys};
use crate::session::options::{misspelled_tables, secret_in_a_file, SessionOptions};
use crate::session::revocation_hook::new_session_id;
use crate::session::state::{Inner, Loaded, Pending, SessionState};

/// The name the fairing reports to Rocket (and in `FailedFairings`).
pub(crate) const FAIRING_NAME: &str = "Wristband Session";

/// Encrypted-cookie sessions for Rocket: the fairing's constructors.
///
/// Attach [`WristbandSession::fairing()`] to read the options from the `wristband_session`
/// table of the active profile, or [`WristbandSession::custom()`] to pass them from code. The
/// fairing validates the options and derives the keys once, at ignite, aborting launch with
/// every problem listed if anything is wrong; then it writes the session cookie on each
/// response whose handler changed the session.
///
/// ```rust,no_run
/// # use rocket::launch;
/// use wristband_rocket_session::WristbandSession;
///
/// #[launch]
/// fn rocket() -> _ {
///     rocket::build().attach(WristbandSession::fairing())
/// }
/// ```
#[derive(Debug)]
pub struct WristbandSession {
    /// `None`: read from the figment at ignite.
    options: Option<SessionOptions>,
}

impl WristbandSession {
    /// The fairing, with options from the active profile's `wristband_session` table (and so
    /// from `ROCKET_WRISTBAND_SESSION`). A missing table means the defaults.
    ///
    /// In the `debug` profile a missing `secrets` is replaced by a random secret (logged as a
    /// warning: sessions then do not survive a restart); in any other profile it aborts launch.
    ///
    /// ```rust
    /// # use wristband_rocket_session::WristbandSession;
    /// let rocket = rocket::build().attach(WristbandSession::fairing());
    /// ```
    pub fn fairing() -> WristbandSession {
        WristbandSession { options: None }
    }

    /// The fairing with `options` from code; the figment is not consulted for them (the active
    /// profile still decides whether a missing secret may be generated).
    ///
    /// ```rust
    /// use wristband_rocket_session::{SessionOptions, WristbandSession};
    ///
    /// let options = SessionOptions {
    ///     secrets: std::env::var("SESSION_SECRET")
    ///         .unwrap_or_else(|_| "dev-only-secret-of-32-characters!!!".into())
    ///         .into(),
    ///     cookie_name: "app_session".into(),
    ///     ..SessionOptions::default()
    /// };
    /// let rocket = rocket::build().attach(WristbandSession::custom(options));
    /// ```
    ///
    /// Both constructors return a `WristbandSession`, so the choice can be made at run time:
    ///
    /// ```rust
    /// use wristband_rocket_session::{SessionOptions, WristbandSession};
    ///
    /// let from_code = std::env::var("SESSION_FROM_CODE").is_ok();
    /// let fairing = if from_code {
    ///     WristbandSession::custom(SessionOptions::default())
    /// } else {
    ///     WristbandSession::fairing()
    /// };
    /// let rocket = rocket::build().attach(fairing);
    /// ```
    pub fn custom(options: SessionOptions) -> WristbandSession {
        WristbandSession { options: Some(options) }
    }

    /// The configuration, and whether its secret was generated for this run.
    fn configure(&self, rocket: &Rocket<Build>) -> Result<(SessionConfig, bool), ConfigError> {
        let figment = rocket.figment();
        let profile = figment.profile().as_str().to_string();
        // A misspelled table is the cause of whatever else looks wrong (its keys were never
        // read): it alone is reported.
        let misspelled = misspelled_tables(figment, crate::session::options::TABLE);
        if !misspelled.is_empty() {
            return Err(ConfigError::invalid(Some(profile), misspelled));
        }
        let (mut options, mut problems) = match &self.options {
            Some(options) => (options.clone(), Vec::new()),
            None => {
                let (options, mut problems) = SessionOptions::read_figment(figment);
                problems.extend(secret_in_a_file(
                    figment,
                    "wristband_session",
                    "secrets",
                    "ROCKET_WRISTBAND_SESSION='{secrets=[\"...\"]}'",
                ));
                for key in ["password", "sentinel_password"] {
                    problems.extend(secret_in_a_file(
                        figment,
                        "wristband_session",
                        &format!("revocation.{key}"),
                        &format!("ROCKET_WRISTBAND_SESSION='{{revocation={{{key}=\"...\"}}}}'"),
                    ));
                }
                (options, problems)
            }
        };
        // Said at liftoff (`warn_generated_secret`), once the whole configuration is known
        // good, so that it never precedes a launch error.
        let generated =
            options.secrets.is_empty() && figment.profile() == rocket::Config::DEBUG_PROFILE;
        if generated {
            let mut bytes = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            options.secrets = URL_SAFE_NO_PAD.encode(bytes).into();
        }
        if let Err(e) = options.validate() {
            // A key that failed to read is reported once, as read.
            let unread: Vec<String> = problems.iter().map(|p| p.key.clone()).collect();
            problems.extend(e.problems().iter().filter(|p| !unread.contains(&p.key)).cloned());
        }
        if !problems.is_empty() {
            return Err(ConfigError::invalid(Some(profile), problems));
        }
        if !options.secure && figment.profile() != rocket::Config::DEBUG_PROFILE {
            log::warn!(
                "wristband_session: `secure = false` in profile `{profile}`: session cookies \
                 are sent over plain http, where anyone on the network can copy them; keep it \
                 for local development (the `debug` profile) only"
            );
        }
        let codec = SessionCodec::new(&options).map_err(|e| e.with_profile(&profile))?;
        Ok((SessionConfig::new(options, codec), generated))
    }
}

/// Managed when the session fairing failed to start (it logged why), so that the `auth`
/// layer adds no error of its own about a missing session.
pub(crate) struct SessionStartFailed;

/// Managed when the secret was generated for this run: warned about at liftoff.
struct GeneratedSecret;

fn warn_generated_secret() {
    log::warn!(
        "wristband_session: no `secrets` set in the `debug` profile: using a RANDOM secret \
         generated for this run (every session is lost when the app restarts, and no other \
         instance can open them); set `secrets` in Rocket.toml or ROCKET_WRISTBAND_SESSION \
         (`cargo run --example gen_secret` makes one)"
    );
}

#[rocket::async_trait]
impl Fairing for WristbandSession {
    fn info(&self) -> Info {
        let kind = Kind::Ignite | Kind::Liftoff | Kind::Response | Kind::Singleton;
        Info { name: FAIRING_NAME, kind }
    }

    async fn on_ignite(&self, rocket: Rocket<Build>) -> fairing::Result {
        let (config, generated) = match self.configure(&rocket) {
            Ok(configured) => configured,
            Err(e) => {
                for line in e.to_string().lines() {
                    log::error!("{line}");
                }
                return Err(rocket.manage(SessionStartFailed));
            }
        };
        let rocket = if generated { rocket.manage(GeneratedSecret) } else { rocket };
        match config {
            #[cfg(feature = "redis")]
            mut config => {
                let mut rocket = rocket;
                if let Some(options) = config.options.revocation.clone() {
                    match crate::revocation::start(&options, config.codec.max_age()).await {
                        Ok((hook, revocations)) => {
                            config.revocation = Some(hook);
                            // The same Redis coordinates token refreshes across instances
                            // (used by the `auth` layer when it is attached).
                            if options.refresh_coordination {
                                let shared = crate::revocation::shared_refresh(
                                    &revocations,
                                    &config.options,
                                );
                                if let Some(shared) = shared {
                                    rocket = rocket.manage(shared);
                                }
                            }
                            rocket = rocket.manage(revocations);
                        }
                        Err(e) => {
                            log::error!("wristband_session: {e}");
                            return Err(rocket.manage(SessionStartFailed));
                        }
                    }
                }
                Ok(rocket.manage(config))
            }
            #[cfg(not(feature = "redis"))]
            config => Ok(rocket.manage(config)),
        }
    }

    async fn on_liftoff(&self, rocket: &Rocket<rocket::Orbit>) {
        if rocket.state::<GeneratedSecret>().is_some() {
            warn_generated_secret();
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        // Nothing to do for a request that never touched its session (no guard ran).
        let Some(state) = SessionState::existing(req) else {
            return;
        };
        // The configuration is looked up where it is used: a read-only request served from the
        // open cache needs none.
        let config = || req.rocket().state::<SessionConfig>();
        let mut inner = state.lock();
        // What another layer queued and no responder wrote (the `auth` layer's login-state
        // cookies: a callback's removal of its cookie must reach the browser whatever the app
        // answered), on every response.
        for header in inner.take_queued() {
            res.adjoin_raw_header("Set-Cookie", header);
        }
        // A failed request keeps the client's previous session.
        if res.status().class() == StatusClass::ServerError {
            return;
        }
        if inner.pending() == Pending::Nothing && inner.loaded() != Loaded::Invalid {
            cache_unchanged(config, &mut inner, req);
            return;
        }
        let Some(config) = config() else {
            return;
        };
        match inner.pending() {
            // A destroyed session goes, and so does a refused or expired cookie (the only
            // unchanged one that gets here), each with its CSRF cookie.
            Pending::Nothing | Pending::Destroy => {
                remove_chunks(config, 0, res);
                remove_csrf(config, req, res);
            }
            Pending::Write => write_session(config, &mut inner, res),
        }
    }
}

/// Remembers a cookie that this request opened in full and only read, so that the browser's
/// next requests with it skip base64, AES-GCM and JSON (see `open_cache`). `config` is called
/// only then.
fn cache_unchanged<'c>(
    config: impl FnOnce() -> Option<&'c SessionConfig>,
    inner: &mut Inner,
    req: &Request<'_>,
) {
    if let Some(entry) = inner.take_unchanged_for_cache() {
        let Some(config) = config() else {
            return;
        };
        if let Some(value) = config.presented_value(req.cookies()) {
            config.opened.insert(&value, entry);
        }
    }
}

/// Removal cookies for every chunk name from `from` on (0 is the base cookie), whether or not
/// the request carried it: a browser may hold chunks written by a racing response this
/// request never saw, and a write must leave it with exactly the chunks it wrote.
fn remove_chunks(config: &SessionConfig, from: usize, res: &mut Response<'_>) {
    for i in from..config.chunk_count() {
        res.adjoin_raw_header("Set-Cookie", config.removal_header(i).to_string());
    }
}

/// The CSRF cookie's removal, when CSRF protection is on or the request carried one.
fn remove_csrf(config: &SessionConfig, req: &Request<'_>, res: &mut Response<'_>) {
    let csrf = &config.options.csrf_cookie_name;
    if config.options.enable_csrf_protection || req.cookies().get(csrf).is_some() {
        res.adjoin_raw_header("Set-Cookie", config.csrf_removal_header().to_string());
    }
}

fn write_session(config: &SessionConfig, inner: &mut Inner, res: &mut Response<'_>) {
    let csrf_on = config.options.enable_csrf_protection;
    if csrf_on && !has_csrf_token(inner.data()) {
        inner.insert(keys::CSRF_TOKEN, Value::String(csrf::new_token()));
    }
    // The one place a session gets its revocation identity: the first time it is written
    // without one (a new session, a login, `clear()`); every later write (a rolling re-seal,
    // an insert) keeps the id and issued-at it carries.
    if config.revocation.is_some() && !has_session_id(inner.data()) {
        let now_ms = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
        inner.insert(keys::SESSION_ID, Value::String(new_session_id()));
        inner.insert(keys::SESSION_ISSUED_AT, Value::from(u64::try_from(now_ms).unwrap_or(0)));
    }
    let data = inner.data();
    let headers = config
        .codec
        .seal_sized(data, inner.known_json_len())
        .ok()
        .and_then(|value| config.session_headers(&value));
    let Some(headers) = headers else {
        // `insert` and `from_callback` keep sessions within the budget; only a session sealed
        // elsewhere with JSON laid out otherwise (its size then only estimated) could get
        // here. Fail loudly rather than write a cookie the browser would drop.
        log::error!(
            "session cookie `{}` would exceed its size budget; answering 500 and keeping the \
             client's previous cookie",
            config.options.cookie_name
        );
        res.set_status(Status::InternalServerError);
        res.set_sized_body(0, Cursor::new(Vec::new()));
        return;
    };
    let used = headers.len();
    for header in headers {
        res.adjoin_header(Header::new("Set-Cookie", header));
    }
    remove_chunks(config, used, res);
    if csrf_on && let Some(token) = data.get(keys::CSRF_TOKEN).and_then(Value::as_str) {
        res.adjoin_raw_header("Set-Cookie", config.csrf_header(token));
    }
}

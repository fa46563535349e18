//! Configuration through real Rocket instances: every validation error aborting launch
//! (`FailedFairings`) from the figment and from `WristbandSession::custom`, all problems reported
//! at once in the log (keys, profile, fix hints, never a secret), profiles (`debug`, `release`,
//! custom), every key of the `wristband_session` table observed in the written `Set-Cookie`
//! headers, the `Session` Sentinel, and secret-free `Debug`/`Display` output.

use std::sync::{Mutex, Once};
use std::thread::{self, ThreadId};

use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use rocket::error::ErrorKind;
use rocket::http::{Cookie, SameSite, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use rocket::{get, routes, Build, Rocket};
use serde_json::{json, Map, Value};
use wristband_rocket_session::{
    SameSiteOption, Secrets, Session, SessionCodec, SessionOptions, WristbandSession,
};

const SECRET: &str = "config-test-secret-0001-abcdefghijklmnop";
const OLD_SECRET: &str = "config-test-secret-0002-qrstuvwxyzABCDEF";
const THIRD_SECRET: &str = "config-test-secret-0003-GHIJKLMNOPQRSTUV";
const FOURTH_SECRET: &str = "config-test-secret-0004-WXYZ0123456789ab";
/// 31 characters: one short of the minimum.
const SHORT_SECRET: &str = "short-secret-31-chars-xxxxxxxxx";
const FAIRING: &str = "Wristband Session";

// ---------------------------------------------------------------------------------------------
// Log capture: installed once per test binary, before any Rocket is built (Rocket's own
// `set_boxed_logger` then fails quietly). Lines are tagged with the thread that logged them; each
// `#[tokio::test]` runs on its own current-thread runtime, so ignite logs land on the test's thread.
// ---------------------------------------------------------------------------------------------

struct Line {
    thread: ThreadId,
    level: log::Level,
    text: String,
}

struct Capture(Mutex<Vec<Line>>);

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let line = Line {
            thread: thread::current().id(),
            level: record.level(),
            text: record.args().to_string(),
        };
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(line);
    }

    fn flush(&self) {}
}

static CAPTURE: Capture = Capture(Mutex::new(Vec::new()));

/// Installs the capturing logger (once) and forgets what this thread logged so far, so that
/// tests also see only their own lines under `--test-threads=1` (one thread for every test).
/// Called before each Rocket is built.
fn install_logger() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        log::set_logger(&CAPTURE).expect("the capturing logger is installed before any Rocket");
        log::set_max_level(log::LevelFilter::Debug);
    });
    let me = thread::current().id();
    CAPTURE.0.lock().unwrap_or_else(|e| e.into_inner()).retain(|l| l.thread != me);
}

/// The lines this test's thread logged at `level`.
fn logged(level: log::Level) -> Vec<String> {
    let me = thread::current().id();
    let lines = CAPTURE.0.lock().unwrap_or_else(|e| e.into_inner());
    lines.iter().filter(|l| l.thread == me && l.level == level).map(|l| l.text.clone()).collect()
}

/// Every line this test's thread logged, at any level.
fn logged_all() -> Vec<String> {
    let me = thread::current().id();
    let lines = CAPTURE.0.lock().unwrap_or_else(|e| e.into_inner());
    lines.iter().filter(|l| l.thread == me).map(|l| l.text.clone()).collect()
}

fn assert_no_secret_logged(secrets: &[&str]) {
    for line in logged_all() {
        for secret in secrets {
            assert!(!line.contains(secret), "a secret was logged: {line}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Rocket helpers
// ---------------------------------------------------------------------------------------------

#[get("/set/<key>/<value>")]
fn set(session: Session<'_>, key: &str, value: &str) -> &'static str {
    session.insert(key, value).expect("insert fits");
    "ok"
}

#[get("/read/<key>")]
fn read(session: Session<'_>, key: &str) -> String {
    session.get::<String>(key).expect("a string").unwrap_or_else(|| "none".into())
}

#[get("/fill/<len>")]
fn fill(session: Session<'_>, len: usize) -> &'static str {
    session.insert("big", "x".repeat(len)).expect("fits in the configured chunks");
    "ok"
}

/// `Rocket.toml` (read from the package root) with `profile` selected.
fn figment(profile: &str) -> Figment {
    rocket::Config::figment().select(profile)
}

/// The figment of `profile` with `table` merged over the `wristband_session` table.
fn figment_with(profile: &str, table: Value) -> Figment {
    figment(profile).merge(Serialized::global("wristband_session", table))
}

/// A Rocket with the figment-reading fairing and the test routes.
fn app(figment: Figment) -> Rocket<Build> {
    install_logger();
    rocket::custom(figment).attach(WristbandSession::fairing()).mount("/", routes![set, read, fill])
}

/// A Rocket with options from code and the test routes.
fn app_custom(profile: &str, options: SessionOptions) -> Rocket<Build> {
    install_logger();
    rocket::custom(figment(profile))
        .attach(WristbandSession::custom(options))
        .mount("/", routes![set, read, fill])
}

async fn launch(rocket: Rocket<Build>) -> Client {
    match Client::tracked(rocket).await {
        Ok(client) => client,
        Err(e) => panic!("launch failed: {:?}", e.kind()),
    }
}

/// Asserts that launch aborts because the session fairing failed.
async fn assert_fairing_fails(rocket: Rocket<Build>) {
    match Client::tracked(rocket).await {
        Ok(_) => panic!("launched although the session configuration is invalid"),
        Err(e) => match e.kind() {
            ErrorKind::FailedFairings(infos) => {
                assert_eq!(infos.len(), 1, "only the session fairing fails");
                assert_eq!(infos[0].name, FAIRING);
            }
            other => panic!("expected FailedFairings, got {other:?}"),
        },
    }
}

/// Launch with `table` in `profile` fails, and the error log names `wristband_session.<key>`.
async fn assert_rejected(profile: &str, table: Value, key: &str) {
    assert_fairing_fails(app(figment_with(profile, table))).await;
    let errors = logged(log::Level::Error);
    let needle = format!("`wristband_session.{key}`");
    assert!(errors.iter().any(|l| l.contains(&needle)), "no error names {needle}: {errors:#?}");
    assert!(
        errors.iter().any(|l| l.contains(&format!("profile `{profile}`"))),
        "no error names the profile {profile}: {errors:#?}"
    );
    assert_no_secret_logged(&[SECRET, OLD_SECRET, THIRD_SECRET, FOURTH_SECRET, SHORT_SECRET]);
}

/// `SessionOptions` with a valid secret and the rest default.
fn options() -> SessionOptions {
    SessionOptions { secrets: SECRET.into(), ..SessionOptions::default() }
}

/// Launch with options from code fails.
async fn assert_custom_rejected(options: SessionOptions, key: &str) {
    assert_fairing_fails(app_custom("debug", options)).await;
    let needle = format!("`wristband_session.{key}`");
    let errors = logged(log::Level::Error);
    assert!(errors.iter().any(|l| l.contains(&needle)), "no error names {needle}: {errors:#?}");
    assert_no_secret_logged(&[SECRET, OLD_SECRET, THIRD_SECRET, FOURTH_SECRET, SHORT_SECRET]);
}

fn set_cookies(response: &LocalResponse<'_>) -> Vec<Cookie<'static>> {
    response
        .headers()
        .get("Set-Cookie")
        .map(|h| Cookie::parse(h.to_string()).expect("a parsable Set-Cookie header"))
        .collect()
}

fn set_cookie_headers(response: &LocalResponse<'_>) -> Vec<String> {
    response.headers().get("Set-Cookie").map(str::to_string).collect()
}

fn named<'a>(cookies: &'a [Cookie<'static>], name: &str) -> &'a Cookie<'static> {
    cookies.iter().find(|c| c.name() == name).unwrap_or_else(|| {
        let names: Vec<&str> = cookies.iter().map(|c| c.name()).collect();
        panic!("no Set-Cookie for `{name}` among {names:?}")
    })
}

/// Writes `who=alice` and returns the `Set-Cookie` headers, parsed.
async fn write_session(client: &Client) -> Vec<Cookie<'static>> {
    let response = client.get("/set/who/alice").dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    set_cookies(&response)
}

// ---------------------------------------------------------------------------------------------
// Each validation error, through the figment
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn figment_short_secret_fails() {
    assert_rejected("debug", json!({ "secrets": SHORT_SECRET }), "secrets").await;
}

#[tokio::test]
async fn figment_four_secrets_fail() {
    let four = [SECRET, OLD_SECRET, THIRD_SECRET, FOURTH_SECRET];
    assert_rejected("debug", json!({ "secrets": four }), "secrets").await;
}

#[tokio::test]
async fn figment_duplicate_secret_fails() {
    assert_rejected("debug", json!({ "secrets": [SECRET, OLD_SECRET, SECRET] }), "secrets").await;
}

#[tokio::test]
async fn figment_secret_of_wrong_type_fails_without_echoing_the_others() {
    assert_rejected("debug", json!({ "secrets": [SECRET, 5] }), "secrets").await;
}

#[tokio::test]
async fn figment_empty_cookie_name_fails() {
    assert_rejected("debug", json!({ "secrets": SECRET, "cookie_name": "" }), "cookie_name").await;
}

#[tokio::test]
async fn figment_cookie_name_with_space_fails() {
    let table = json!({ "secrets": SECRET, "cookie_name": "my session" });
    assert_rejected("debug", table, "cookie_name").await;
}

#[tokio::test]
async fn figment_cookie_name_with_semicolon_fails() {
    let table = json!({ "secrets": SECRET, "cookie_name": "sess;ion" });
    assert_rejected("debug", table, "cookie_name").await;
}

#[tokio::test]
async fn figment_zero_max_age_fails() {
    assert_rejected("debug", json!({ "secrets": SECRET, "max_age": 0 }), "max_age").await;
}

#[tokio::test]
async fn figment_negative_max_age_fails() {
    assert_rejected("debug", json!({ "secrets": SECRET, "max_age": -60 }), "max_age").await;
}

#[tokio::test]
async fn figment_relative_path_fails() {
    assert_rejected("debug", json!({ "secrets": SECRET, "path": "app" }), "path").await;
}

#[tokio::test]
async fn figment_path_with_semicolon_fails() {
    assert_rejected("debug", json!({ "secrets": SECRET, "path": "/app;x" }), "path").await;
}

#[tokio::test]
async fn figment_empty_domain_fails() {
    assert_rejected("debug", json!({ "secrets": SECRET, "domain": "" }), "domain").await;
}

#[tokio::test]
async fn figment_csrf_cookie_domain_with_semicolon_fails() {
    let table = json!({ "secrets": SECRET, "csrf_cookie_domain": "a.com; Secure" });
    assert_rejected("debug", table, "csrf_cookie_domain").await;
}

#[tokio::test]
async fn figment_same_site_none_without_secure_fails() {
    // The repo's Rocket.toml sets `secure = false` for `debug`; say it here too.
    let table = json!({ "secrets": SECRET, "same_site": "none", "secure": false });
    assert_rejected("debug", table, "same_site").await;
}

#[tokio::test]
async fn figment_same_site_none_in_debug_fails_by_rocket_toml() {
    // Only `same_site` is set: `secure = false` comes from Rocket.toml's `[debug]` table.
    assert_rejected("debug", json!({ "secrets": SECRET, "same_site": "None" }), "same_site").await;
}

#[tokio::test]
async fn figment_unknown_same_site_fails() {
    let table = json!({ "secrets": SECRET, "same_site": "sometimes" });
    assert_rejected("debug", table, "same_site").await;
}

#[tokio::test]
async fn figment_csrf_cookie_name_equal_to_cookie_name_fails() {
    let table = json!({ "secrets": SECRET, "cookie_name": "sid", "csrf_cookie_name": "sid" });
    assert_rejected("debug", table, "csrf_cookie_name").await;
}

#[tokio::test]
async fn figment_csrf_cookie_name_equal_to_a_chunk_name_fails() {
    let table = json!({ "secrets": SECRET, "cookie_name": "sid", "csrf_cookie_name": "sid.1" });
    assert_rejected("debug", table, "csrf_cookie_name").await;
}

#[tokio::test]
async fn figment_bad_csrf_header_name_fails() {
    let table = json!({ "secrets": SECRET, "csrf_header_name": "X CSRF: token" });
    assert_rejected("debug", table, "csrf_header_name").await;
}

#[tokio::test]
async fn figment_zero_cookie_chunks_fail() {
    let table = json!({ "secrets": SECRET, "max_cookie_chunks": 0 });
    assert_rejected("debug", table, "max_cookie_chunks").await;
}

#[tokio::test]
async fn figment_nine_cookie_chunks_fail() {
    let table = json!({ "secrets": SECRET, "max_cookie_chunks": 9 });
    assert_rejected("debug", table, "max_cookie_chunks").await;
}

#[tokio::test]
async fn figment_wrong_type_fails_once() {
    assert_rejected("debug", json!({ "secrets": SECRET, "max_age": "soon" }), "max_age").await;
    // A key that could not be read is reported once, not again by validation.
    let errors = logged(log::Level::Error);
    let count = errors.iter().filter(|l| l.contains("`wristband_session.max_age`")).count();
    assert_eq!(count, 1, "{errors:#?}");
}

#[tokio::test]
async fn figment_unknown_key_fails() {
    assert_rejected("debug", json!({ "secrets": SECRET, "max_agee": 60 }), "max_agee").await;
    let errors = logged(log::Level::Error);
    let line = errors.iter().find(|l| l.contains("`wristband_session.max_agee`")).unwrap();
    // The hint lists the real keys, so the typo is easy to spot.
    assert!(line.contains("max_age"), "{line}");
}

#[tokio::test]
async fn figment_table_of_wrong_type_fails() {
    install_logger();
    let figment = figment("debug").merge(Serialized::global("wristband_session", 42));
    assert_fairing_fails(app(figment)).await;
}

#[tokio::test]
async fn figment_valid_table_launches() {
    // The counterpart of the cases above: the same helper with a valid table launches.
    let client = launch(app(figment_with("debug", json!({ "secrets": SECRET })))).await;
    assert!(!named(&write_session(&client).await, "session").value().is_empty());
}

// ---------------------------------------------------------------------------------------------
// The same through `WristbandSession::custom`
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn custom_short_secret_fails() {
    assert_custom_rejected(SessionOptions { secrets: SHORT_SECRET.into(), ..options() }, "secrets")
        .await;
}

#[tokio::test]
async fn custom_four_secrets_fail() {
    let four: Vec<String> =
        [SECRET, OLD_SECRET, THIRD_SECRET, FOURTH_SECRET].map(String::from).to_vec();
    assert_custom_rejected(SessionOptions { secrets: four.into(), ..options() }, "secrets").await;
}

#[tokio::test]
async fn custom_duplicate_secret_fails() {
    let twice = vec![SECRET.to_string(), SECRET.to_string()];
    assert_custom_rejected(SessionOptions { secrets: twice.into(), ..options() }, "secrets").await;
}

#[tokio::test]
async fn custom_bad_cookie_names_fail() {
    for name in ["", "my session", "a;b"] {
        let options = SessionOptions { cookie_name: name.into(), ..options() };
        assert_custom_rejected(options, "cookie_name").await;
    }
}

#[tokio::test]
async fn custom_bad_max_age_fails() {
    for max_age in [0, -1] {
        assert_custom_rejected(SessionOptions { max_age, ..options() }, "max_age").await;
    }
}

#[tokio::test]
async fn custom_bad_paths_fail() {
    for path in ["app", "/a;b"] {
        assert_custom_rejected(SessionOptions { path: path.into(), ..options() }, "path").await;
    }
}

#[tokio::test]
async fn custom_same_site_none_without_secure_fails() {
    let options = SessionOptions { same_site: SameSiteOption::None, secure: false, ..options() };
    assert_custom_rejected(options, "same_site").await;
}

#[tokio::test]
async fn custom_csrf_cookie_name_clashes_fail() {
    for csrf in ["session", "session.1"] {
        let options = SessionOptions { csrf_cookie_name: csrf.into(), ..options() };
        assert_custom_rejected(options, "csrf_cookie_name").await;
    }
}

#[tokio::test]
async fn custom_bad_csrf_header_name_fails() {
    let options = SessionOptions { csrf_header_name: "X CSRF".into(), ..options() };
    assert_custom_rejected(options, "csrf_header_name").await;
}

#[tokio::test]
async fn custom_bad_cookie_chunks_fail() {
    for max_cookie_chunks in [0, 9] {
        let options = SessionOptions { max_cookie_chunks, ..options() };
        assert_custom_rejected(options, "max_cookie_chunks").await;
    }
}

#[tokio::test]
async fn custom_without_secret_fails_in_release() {
    let options = SessionOptions::default();
    assert_fairing_fails(app_custom("release", options)).await;
    let errors = logged(log::Level::Error);
    assert!(errors.iter().any(|l| l.contains("`wristband_session.secrets`")), "{errors:#?}");
}

#[tokio::test]
async fn custom_ignores_the_figment_table() {
    // The figment's table is invalid, but `custom` options are used instead of it.
    install_logger();
    let figment = figment_with("debug", json!({ "max_age": 0, "cookie_name": "from_figment" }));
    let options = SessionOptions { cookie_name: "from_code".into(), ..options() };
    let rocket = rocket::custom(figment)
        .attach(WristbandSession::custom(options))
        .mount("/", routes![set, read, fill]);
    let client = launch(rocket).await;
    let cookies = write_session(&client).await;
    assert!(named(&cookies, "from_code").max_age().is_some());
    assert!(cookies.iter().all(|c| c.name() != "from_figment"));
}

// ---------------------------------------------------------------------------------------------
// Every problem at once
// ---------------------------------------------------------------------------------------------

/// Five bad options: a short secret, a bad cookie name, max_age 0, a relative path, 9 chunks.
fn many_bad_options() -> SessionOptions {
    SessionOptions {
        secrets: SHORT_SECRET.into(),
        cookie_name: "bad name".into(),
        max_age: 0,
        path: "api".into(),
        max_cookie_chunks: 9,
        ..SessionOptions::default()
    }
}

#[test]
fn validate_lists_every_problem() {
    let err = many_bad_options().validate().unwrap_err();
    let keys: Vec<&str> = err.problems().iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["secrets", "cookie_name", "max_age", "path", "max_cookie_chunks"]);
    assert_eq!(err.profile(), None);
    let text = err.to_string();
    assert!(text.contains("(5 problems)"), "{text}");
    for key in keys {
        assert!(text.contains(&format!("`wristband_session.{key}`")), "{key} missing: {text}");
    }
    assert!(text.contains("at least 32"), "{text}");
    assert!(!text.contains(SHORT_SECRET), "{text}");
}

#[tokio::test]
async fn fairing_logs_every_problem_with_profile_and_hints() {
    let table = json!({
        "secrets": SHORT_SECRET,
        "cookie_name": "bad name",
        "max_age": 0,
        "path": "api",
        "max_cookie_chunks": 9,
        "max_agee": 5,
    });
    assert_fairing_fails(app(figment_with("release", table))).await;
    let errors = logged(log::Level::Error);
    // One heading line naming the profile and the count, then one line per problem.
    let heading = errors.iter().find(|l| l.contains("invalid `wristband_session`")).unwrap();
    assert!(heading.contains("profile `release`"), "{heading}");
    assert!(heading.contains("(6 problems)"), "{heading}");
    let line = |key: &str| -> String {
        let needle = format!("`wristband_session.{key}`");
        errors.iter().find(|l| l.contains(&needle)).cloned().unwrap_or_else(|| {
            panic!("no error line for {key}: {errors:#?}");
        })
    };
    // Each line says what to do.
    assert!(line("secrets").contains("at least 32"));
    assert!(line("secrets").contains("gen_secret"));
    assert!(line("cookie_name").contains("use letters"));
    assert!(line("max_age").contains("greater than 0"));
    assert!(line("path").contains("must start with `/`"));
    assert!(line("max_cookie_chunks").contains("between 1 and 8"));
    assert!(line("max_agee").contains("unknown option"));
    assert_no_secret_logged(&[SHORT_SECRET]);
}

// ---------------------------------------------------------------------------------------------
// Profiles
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn debug_profile_writes_cookies_without_secure() {
    let client = launch(app(figment_with("debug", json!({ "secrets": SECRET })))).await;
    assert_eq!(client.rocket().figment().profile(), "debug");
    let cookies = write_session(&client).await;
    let session = named(&cookies, "session");
    assert_ne!(session.secure(), Some(true), "{session}");
    assert_eq!(session.http_only(), Some(true));
    // Rocket.toml's `[default]` table: cookie name, max_age 3600, SameSite=Lax.
    assert_eq!(session.max_age(), Some(rocket::time::Duration::seconds(3600)));
    assert_eq!(session.same_site(), Some(SameSite::Lax));
}

#[tokio::test]
async fn release_profile_with_secret_writes_secure_cookies() {
    let client = launch(app(figment_with("release", json!({ "secrets": SECRET })))).await;
    assert_eq!(client.rocket().figment().profile(), "release");
    let cookies = write_session(&client).await;
    assert_eq!(named(&cookies, "session").secure(), Some(true));
    assert_no_secret_logged(&[SECRET]);
}

#[tokio::test]
async fn release_profile_without_secret_fails() {
    install_logger();
    assert_fairing_fails(app(figment("release"))).await;
    let errors = logged(log::Level::Error);
    assert!(errors.iter().any(|l| l.contains("profile `release`")), "{errors:#?}");
    let secrets = errors.iter().find(|l| l.contains("`wristband_session.secrets`")).unwrap();
    assert!(secrets.contains("ROCKET_WRISTBAND_SESSION"), "{secrets}");
}

#[tokio::test]
async fn custom_profile_without_secret_fails() {
    install_logger();
    assert_fairing_fails(app(figment("staging"))).await;
    let errors = logged(log::Level::Error);
    assert!(errors.iter().any(|l| l.contains("profile `staging`")), "{errors:#?}");
    assert!(errors.iter().any(|l| l.contains("`wristband_session.secrets`")), "{errors:#?}");
}

#[tokio::test]
async fn custom_profile_with_secret_launches_with_secure_default() {
    let client = launch(app(figment_with("staging", json!({ "secrets": SECRET })))).await;
    assert_eq!(client.rocket().figment().profile(), "staging");
    // No `[staging]` table: the secure default applies.
    assert_eq!(named(&write_session(&client).await, "session").secure(), Some(true));
}

#[tokio::test]
async fn debug_without_secret_warns_and_sessions_work_within_one_instance() {
    install_logger();
    // No secret anywhere: the fairing generates one and says so.
    let client = launch(app(figment("debug"))).await;
    let warnings = logged(log::Level::Warn);
    assert!(
        warnings.iter().any(|l| l.contains("restart") && l.contains("lost")),
        "no warning that sessions will not survive a restart: {warnings:#?}"
    );
    assert!(logged(log::Level::Error).is_empty());

    // Insert in one request...
    let cookies = write_session(&client).await;
    assert!(!named(&cookies, "session").value().is_empty());
    // ...and read it back in the next, with the client's tracked cookie.
    let response = client.get("/read/who").dispatch().await;
    assert_eq!(response.into_string().await.as_deref(), Some("alice"));
}

#[tokio::test]
async fn debug_random_secrets_differ_between_instances() {
    install_logger();
    // A cookie from one debug instance does not open in another: the secret is per launch.
    let first = launch(app(figment("debug"))).await;
    let cookies = write_session(&first).await;
    let value = named(&cookies, "session").value().to_string();
    let second = launch(app(figment("debug"))).await;
    let response = second.get("/read/who").cookie(Cookie::new("session", value)).dispatch().await;
    assert_eq!(response.into_string().await.as_deref(), Some("none"));
}

// ---------------------------------------------------------------------------------------------
// Every key of the table, from TOML, observed in Set-Cookie
// ---------------------------------------------------------------------------------------------

/// `Rocket.toml` with `toml` (a nested, profile-keyed document) merged over it.
fn toml_figment(profile: &str, toml: &str) -> Figment {
    figment(profile).merge(Toml::string(toml).nested())
}

/// A codec with `secrets` and `cookie_name`, as a separate tool would build it.
fn codec(secrets: &[&str], cookie_name: &str) -> SessionCodec {
    let secrets: Vec<String> = secrets.iter().map(|s| s.to_string()).collect();
    let options = SessionOptions {
        secrets: secrets.into(),
        cookie_name: cookie_name.into(),
        ..SessionOptions::default()
    };
    SessionCodec::new(&options).expect("valid codec options")
}

fn session_map(value: Value) -> Map<String, Value> {
    value.as_object().expect("an object").clone()
}

#[tokio::test]
async fn toml_keys_show_in_session_cookie() {
    let toml = format!(
        r#"
        [staging.wristband_session]
        secrets = "{SECRET}"
        cookie_name = "app_sess"
        max_age = 120
        path = "/app"
        domain = "example.com"
        same_site = "STRICT"
        secure = true
        "#
    );
    let client = launch(app(toml_figment("staging", &toml))).await;
    let cookies = write_session(&client).await;
    let session = named(&cookies, "app_sess");
    assert_eq!(session.max_age(), Some(rocket::time::Duration::seconds(120)));
    assert_eq!(session.path(), Some("/app"));
    assert_eq!(session.domain(), Some("example.com"));
    assert_eq!(session.same_site(), Some(SameSite::Strict));
    assert_eq!(session.secure(), Some(true));
    assert_eq!(session.http_only(), Some(true));
    // The string secret seals: a codec with the same secret and name opens the value.
    let opened = codec(&[SECRET], "app_sess").open(session.value()).expect("opens");
    assert_eq!(opened.get("who"), Some(&json!("alice")));
    // No CSRF cookie when CSRF protection is off (the default).
    assert!(cookies.iter().all(|c| c.name() != "CSRF-TOKEN"));
}

#[tokio::test]
async fn toml_same_site_lax_and_secure_false() {
    let toml = format!(
        r#"
        [staging.wristband_session]
        secrets = "{SECRET}"
        same_site = "Lax"
        secure = false
        "#
    );
    let client = launch(app(toml_figment("staging", &toml))).await;
    let session = write_session(&client).await;
    let session = named(&session, "session");
    assert_eq!(session.same_site(), Some(SameSite::Lax));
    assert_ne!(session.secure(), Some(true));
    // No `domain`: a host-only cookie.
    assert_eq!(session.domain(), None);
    assert_eq!(session.path(), Some("/"));
}

#[tokio::test]
async fn toml_same_site_none_with_secure() {
    let toml = format!(
        r#"
        [staging.wristband_session]
        secrets = "{SECRET}"
        same_site = "none"
        secure = true
        "#
    );
    let client = launch(app(toml_figment("staging", &toml))).await;
    let cookies = write_session(&client).await;
    let session = named(&cookies, "session");
    assert_eq!(session.same_site(), Some(SameSite::None));
    assert_eq!(session.secure(), Some(true));
}

#[tokio::test]
async fn toml_secrets_array_rotates() {
    let toml = format!(
        r#"
        [debug.wristband_session]
        secrets = ["{SECRET}", "{OLD_SECRET}"]
        "#
    );
    let client = launch(app(toml_figment("debug", &toml))).await;
    // A cookie sealed with the second (older) secret opens...
    let old = codec(&[OLD_SECRET], "session").seal(&session_map(json!({ "who": "bob" }))).unwrap();
    let response = client.get("/read/who").cookie(Cookie::new("session", old)).dispatch().await;
    assert_eq!(response.into_string().await.as_deref(), Some("bob"));
    // ...and what the app writes is sealed with the first.
    let cookies = write_session(&client).await;
    let value = named(&cookies, "session").value();
    assert!(codec(&[SECRET], "session").open(value).is_some());
    assert!(codec(&[OLD_SECRET], "session").open(value).is_none());
}

#[tokio::test]
async fn toml_csrf_keys_show_in_csrf_cookie() {
    let toml = format!(
        r#"
        [debug.wristband_session]
        secrets = "{SECRET}"
        domain = "example.com"
        enable_csrf_protection = true
        csrf_cookie_name = "XSRF"
        csrf_cookie_domain = "csrf.example.com"
        csrf_header_name = "X-XSRF"
        "#
    );
    let client = launch(app(toml_figment("debug", &toml))).await;
    let cookies = write_session(&client).await;
    let csrf = named(&cookies, "XSRF");
    assert_eq!(csrf.domain(), Some("csrf.example.com"));
    assert_ne!(csrf.http_only(), Some(true), "the CSRF cookie must be readable by scripts");
    assert_eq!(csrf.value().len(), 64);
    assert_eq!(named(&cookies, "session").domain(), Some("example.com"));
    // The token in the cookie is the one sealed in the session.
    let opened = codec(&[SECRET], "session").open(named(&cookies, "session").value()).unwrap();
    assert_eq!(opened.get("csrfToken"), Some(&json!(csrf.value())));
}

#[tokio::test]
async fn toml_csrf_cookie_domain_falls_back_to_domain() {
    let toml = format!(
        r#"
        [debug.wristband_session]
        secrets = "{SECRET}"
        domain = "example.org"
        enable_csrf_protection = true
        "#
    );
    let client = launch(app(toml_figment("debug", &toml))).await;
    let cookies = write_session(&client).await;
    assert_eq!(named(&cookies, "CSRF-TOKEN").domain(), Some("example.org"));
}

#[tokio::test]
async fn toml_max_cookie_chunks_splits_a_large_session() {
    let toml = format!(
        r#"
        [debug.wristband_session]
        secrets = "{SECRET}"
        cookie_name = "big"
        max_cookie_chunks = 3
        "#
    );
    let client = launch(app(toml_figment("debug", &toml))).await;
    // About 5.4 KB of cookie value: two chunks.
    let response = client.get("/fill/4000").dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    let headers = set_cookie_headers(&response);
    assert!(headers.iter().all(|h| h.len() <= 4096), "a header over 4096 bytes");
    let all = set_cookies(&response);
    let (cookies, removed): (Vec<_>, Vec<_>) = all.iter().partition(|c| !c.value().is_empty());
    let names: Vec<&str> = cookies.iter().map(|c| c.name()).collect();
    assert_eq!(names, ["big", "big.1"]);
    // The third chunk name is removed, so no older chunk can be joined to these two.
    let removed: Vec<&str> = removed.iter().map(|c| c.name()).collect();
    assert_eq!(removed, ["big.2"]);
    // The chunks joined open as one value, and the app reads them back.
    let joined = format!("{}{}", cookies[0].value(), cookies[1].value());
    // (A codec refuses values longer than its own chunks could carry: give it the same 3.)
    let options = SessionOptions {
        secrets: SECRET.into(),
        cookie_name: "big".into(),
        max_cookie_chunks: 3,
        ..SessionOptions::default()
    };
    let codec = SessionCodec::new(&options).unwrap();
    let opened = codec.open(&joined).expect("the joined chunks open");
    assert_eq!(opened.get("big").and_then(Value::as_str).map(str::len), Some(4000));
    let response = client.get("/read/big").dispatch().await;
    assert_eq!(response.into_string().await.map(|s| s.len()), Some(4000));
}

#[tokio::test]
async fn toml_with_every_key_launches() {
    // Every key at once, in one table.
    let toml = format!(
        r#"
        [debug.wristband_session]
        secrets = ["{SECRET}"]
        cookie_name = "all"
        max_age = 90
        path = "/"
        domain = "example.net"
        same_site = "strict"
        secure = true
        enable_csrf_protection = true
        csrf_cookie_name = "all-csrf"
        csrf_cookie_domain = "x.example.net"
        csrf_header_name = "X-All-Csrf"
        csrf_check_all_methods = true
        max_cookie_chunks = 8
        renew_after = 30
        "#
    );
    let client = launch(app(toml_figment("debug", &toml))).await;
    let cookies = write_session(&client).await;
    let names: Vec<&str> =
        cookies.iter().filter(|c| !c.value().is_empty()).map(|c| c.name()).collect();
    assert_eq!(names, ["all", "all-csrf"]);
    // The other seven chunk names are removed by the same write.
    let removed = cookies.iter().filter(|c| c.value().is_empty()).count();
    assert_eq!(removed, 7);
    let session = named(&cookies, "all");
    assert_eq!(session.max_age(), Some(rocket::time::Duration::seconds(90)));
    assert_eq!(session.domain(), Some("example.net"));
    assert_eq!(session.same_site(), Some(SameSite::Strict));
    assert_eq!(session.secure(), Some(true));
    let csrf = named(&cookies, "all-csrf");
    assert_eq!(csrf.domain(), Some("x.example.net"));
    assert_eq!(csrf.same_site(), Some(SameSite::Strict));
    assert_eq!(csrf.secure(), Some(true));
}

// ---------------------------------------------------------------------------------------------
// Sentinel
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn session_route_without_fairing_aborts_launch() {
    install_logger();
    let rocket = rocket::build().mount("/", routes![read]);
    match Client::tracked(rocket).await {
        Ok(_) => panic!("launched a Session route without the fairing"),
        Err(e) => match e.kind() {
            ErrorKind::SentinelAborts(sentries) => {
                assert_eq!(sentries.len(), 1);
                assert!(sentries[0].type_name.contains("Session"), "{}", sentries[0].type_name);
            }
            other => panic!("expected SentinelAborts, got {other:?}"),
        },
    }
    let errors = logged(log::Level::Error);
    assert!(
        errors.iter().any(|l| l.contains("WristbandSession::fairing()")),
        "no hint to attach the fairing: {errors:#?}"
    );
}

#[tokio::test]
async fn session_route_with_fairing_launches() {
    install_logger();
    let rocket = rocket::build().attach(WristbandSession::fairing()).mount("/", routes![read]);
    let client = launch(rocket).await;
    let response = client.get("/read/who").dispatch().await;
    assert_eq!(response.into_string().await.as_deref(), Some("none"));
}

// ---------------------------------------------------------------------------------------------
// The `revocation` table: `url` or Redis Sentinel (`sentinels` + `sentinel_master`), exactly one
// ---------------------------------------------------------------------------------------------

/// A password in the Redis URLs below; it must never be logged.
const REDIS_PASSWORD: &str = "redis-pass-0042-never-logged";

fn sentinel_urls() -> Vec<String> {
    vec![
        format!("redis://:{REDIS_PASSWORD}@127.0.0.1:26379"),
        "redis://127.0.0.1:26380".to_string(),
    ]
}

/// The error line that names `wristband_session.<key>`.
fn error_naming(key: &str) -> String {
    let needle = format!("`wristband_session.{key}`");
    let errors = logged(log::Level::Error);
    errors.iter().find(|l| l.contains(&needle)).cloned().unwrap_or_else(|| {
        panic!("no error names {needle}: {errors:#?}");
    })
}

#[tokio::test]
async fn figment_revocation_with_both_url_and_sentinels_fails_naming_both() {
    let revocation = json!({
        "url": format!("redis://:{REDIS_PASSWORD}@127.0.0.1:6379"),
        "sentinels": sentinel_urls(),
        "sentinel_master": "mymaster",
    });
    let table = json!({ "secrets": SECRET, "revocation": revocation });
    assert_rejected("release", table, "revocation.sentinels").await;
    let line = error_naming("revocation.sentinels");
    assert!(line.contains("`revocation.url`") && line.contains("exactly one of"), "{line}");
    assert_no_secret_logged(&[REDIS_PASSWORD]);
}

#[tokio::test]
async fn figment_revocation_with_neither_url_nor_sentinels_fails() {
    let table = json!({ "secrets": SECRET, "revocation": { "on_unavailable": "accept" } });
    assert_rejected("debug", table, "revocation.url").await;
    let line = error_naming("revocation.url");
    assert!(line.contains("`sentinels`") && line.contains("`sentinel_master`"), "{line}");
}

#[tokio::test]
async fn figment_revocation_sentinels_without_sentinel_master_fails() {
    let table = json!({ "secrets": SECRET, "revocation": { "sentinels": sentinel_urls() } });
    assert_rejected("debug", table, "revocation.sentinel_master").await;
    assert!(error_naming("revocation.sentinel_master").contains("`sentinel monitor"));
    assert_no_secret_logged(&[REDIS_PASSWORD]);
}

#[tokio::test]
async fn figment_revocation_sentinel_master_without_sentinels_fails() {
    let table = json!({ "secrets": SECRET, "revocation": { "sentinel_master": "mymaster" } });
    assert_rejected("debug", table, "revocation.sentinels").await;
}

#[tokio::test]
async fn figment_revocation_empty_sentinel_list_fails_even_with_a_url() {
    // `sentinels = []` would otherwise read as "no sentinels" and fall back to `url` silently.
    install_logger();
    let toml = r#"
        [debug.wristband_session]
        secrets = "config-test-secret-0001-abcdefghijklmnop"
        [debug.wristband_session.revocation]
        url = "redis://127.0.0.1:6379"
        sentinels = []
    "#;
    let figment = figment("debug").merge(Toml::string(toml).nested());
    assert_fairing_fails(app(figment)).await;
    assert!(error_naming("revocation.sentinels").contains("empty list"));
}

#[test]
fn revocation_options_debug_and_serialize_hide_sentinel_passwords() {
    let options = wristband_rocket_session::RevocationOptions {
        sentinels: sentinel_urls(),
        sentinel_master: Some("mymaster".into()),
        ..Default::default()
    };
    let debug = format!("{options:?}");
    let serialized = serde_json::to_string(&options).unwrap();
    for text in [&debug, &serialized] {
        assert!(!text.contains(REDIS_PASSWORD), "{text}");
        assert!(text.contains("mymaster"), "{text}");
        // The addresses the Redis client parses, never the URLs.
        assert!(!text.contains("redis://"), "{text}");
        if cfg!(feature = "redis") {
            assert!(text.contains("127.0.0.1:26379") && text.contains("127.0.0.1:26380"), "{text}");
        }
    }
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn figment_revocation_sentinel_problems_are_reported_at_once_without_passwords() {
    let revocation = json!({
        "sentinels": [
            format!("http://:{REDIS_PASSWORD}@127.0.0.1:26379"),
            format!("redis://:{REDIS_PASSWORD}@127.0.0.1:26380/3"),
            "redis://127.0.0.1:26381",
        ],
        "sentinel_master": "",
        "key_prefix": "",
    });
    let table = json!({ "secrets": SECRET, "revocation": revocation });
    assert_rejected("debug", table, "revocation.sentinels").await;
    let line = error_naming("revocation.sentinels");
    // Both bad entries in one line, by position (never their text), the good one not named.
    assert!(
        line.contains("entry 1 is not a `redis://host:port` or `rediss://host:port` URL"),
        "{line}"
    );
    assert!(line.contains("entry 2 has a database number"), "{line}");
    assert!(!line.contains("entry 3") && !line.contains("127.0.0.1"), "{line}");
    error_naming("revocation.sentinel_master");
    error_naming("revocation.key_prefix");
    assert_no_secret_logged(&[REDIS_PASSWORD]);
}

// ---------------------------------------------------------------------------------------------
// Debug / Display never show a secret
// ---------------------------------------------------------------------------------------------

#[test]
fn debug_and_display_never_show_a_secret() {
    let secrets: Secrets = vec![SECRET.to_string(), OLD_SECRET.to_string()].into();
    let options = SessionOptions { secrets: secrets.clone(), ..SessionOptions::default() };
    let texts = [
        format!("{options:?}"),
        format!("{options:#?}"),
        format!("{secrets:?}"),
        format!("{secrets}"),
        serde_json::to_string(&options).unwrap(),
    ];
    for text in &texts {
        assert!(!text.contains(SECRET) && !text.contains(OLD_SECRET), "{text}");
        assert!(!text.contains("config-test-secret"), "a secret fragment: {text}");
    }
    // The redacted form still says how many there are.
    assert!(texts[2].contains('2'), "{}", texts[2]);
    assert!(texts[0].contains("cookie_name"), "{}", texts[0]);

    // A ConfigError about secrets (short, duplicated, too many) names none of them.
    let bad: Vec<String> =
        [SHORT_SECRET, SECRET, SECRET, OLD_SECRET].iter().map(|s| s.to_string()).collect();
    let err =
        SessionOptions { secrets: bad.into(), ..SessionOptions::default() }.validate().unwrap_err();
    assert!(err.problems().len() >= 3, "{err}");
    for text in [err.to_string(), format!("{err:?}")] {
        for secret in [SHORT_SECRET, SECRET, OLD_SECRET] {
            assert!(!text.contains(secret), "{text}");
        }
    }
    // The codec's Debug neither.
    let codec_debug = format!("{:?}", codec(&[SECRET], "session"));
    assert!(!codec_debug.contains(SECRET), "{codec_debug}");
}

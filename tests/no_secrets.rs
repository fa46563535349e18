//! No secret, cookie value or session value reaches the logs or `Debug`/`Display` output.
//!
//! A capturing `log::Log` is installed before any Rocket is built, so every record (Rocket's and
//! the crate's, at every level) lands in one buffer. Tests then drive sessions, writes, destroys,
//! refused cookies and bad configurations, and search that buffer and the formatted types.

#[macro_use]
extern crate rocket;

use std::sync::{Mutex, Once};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hkdf::Hkdf;
use log::{Level, LevelFilter, Log, Metadata, Record};
use rocket::figment::Figment;
use rocket::http::{Cookie, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use serde_json::{json, Map, Value};
use sha2::Sha256;
use time::{Duration, OffsetDateTime};
use wristband_rocket_session::{
    Secrets, Session, SessionCodec, SessionError, SessionOptions, WristbandSession,
};

const SECRET: &str = "no-secrets-test-SECRET-7f3a9c1e5b2d4f60";
const OTHER_SECRET: &str = "another-secret-nobody-configured-0123456789";
const SHORT_SECRET: &str = "short-but-secret-xyz";
const VALUE: &str = "TOPSECRETVALUE";
const TOKEN: &str = "TOPSECRETACCESSTOKEN-abc123";
/// The cookie name of the driving test, so its log lines can be told from other tests'.
const COOKIE: &str = "ns_sess";

// ---------------------------------------------------------------------------------------------
// The capturing logger.

struct Captured {
    level: Level,
    text: String,
}

static RECORDS: Mutex<Vec<Captured>> = Mutex::new(Vec::new());

struct Capture;

impl Log for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &Record<'_>) {
        let text = format!("[{}] {}", record.target(), record.args());
        RECORDS.lock().unwrap().push(Captured { level: record.level(), text });
    }

    fn flush(&self) {}
}

static CAPTURE: Capture = Capture;

/// Installs the capturing logger; every test calls this before building a Rocket.
fn capture_logs() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        log::set_logger(&CAPTURE).expect("the capturing logger is the first logger");
        log::set_max_level(LevelFilter::Trace);
    });
}

/// Every captured record so far, one per line.
fn log_text() -> String {
    let records = RECORDS.lock().unwrap();
    records.iter().map(|r| format!("{} {}\n", r.level, r.text)).collect()
}

/// The captured records at `level` whose text contains `needle`.
fn records_with(level: Level, needle: &str) -> Vec<String> {
    let records = RECORDS.lock().unwrap();
    records
        .iter()
        .filter(|r| r.level == level && r.text.contains(needle))
        .map(|r| r.text.clone())
        .collect()
}

/// Texts that must never be printed: the secrets, parts of them, and their derived keys.
fn forbidden_secret_texts() -> Vec<String> {
    let mut texts = Vec::new();
    for secret in [SECRET, OTHER_SECRET, SHORT_SECRET] {
        texts.push(secret.to_string());
        texts.push(secret[..16].to_string());
        texts.push(secret[secret.len() - 16..].to_string());
        let mut key = [0u8; 32];
        Hkdf::<Sha256>::new(Some(b"wristband-session-v1"), secret.as_bytes())
            .expand(b"aes-gcm-encryption", &mut key)
            .unwrap();
        texts.push(key.iter().map(|b| format!("{b:02x}")).collect());
        texts.push(URL_SAFE_NO_PAD.encode(key));
        texts.push(format!("{:?}", &key[..8]).trim_matches(['[', ']']).to_string());
    }
    texts
}

fn assert_absent(text: &str, forbidden: &[String], what: &str) {
    for needle in forbidden {
        assert!(!text.contains(needle.as_str()), "{what} contains `{needle}`:\n{text}");
    }
}

// ---------------------------------------------------------------------------------------------
// The application.

/// A login-like write: session data that must never be printed.
#[post("/login")]
fn login(session: Session<'_>) -> &'static str {
    session.insert("secret_data", VALUE).unwrap();
    session.insert("accessToken", TOKEN).unwrap();
    session.insert("userId", "user-TOPSECRETUSER").unwrap();
    "ok"
}

#[post("/bump")]
fn bump(session: Session<'_>) -> String {
    let n: u64 = session.get("n").unwrap().unwrap_or(0) + 1;
    session.insert("n", n).unwrap();
    n.to_string()
}

/// Whether the session holds the login's data (never the data itself).
#[get("/read")]
fn read(session: Session<'_>) -> &'static str {
    match session.get::<String>("secret_data").unwrap() {
        Some(v) if v == VALUE => "present",
        Some(_) => "other",
        None => "absent",
    }
}

#[post("/logout")]
fn logout(session: Session<'_>) -> &'static str {
    session.destroy();
    "bye"
}

/// The `Debug` text of a session that holds data.
#[get("/debug")]
fn debug(session: Session<'_>) -> String {
    session.insert("secret_data", VALUE).unwrap();
    assert_eq!(session.get::<String>("secret_data").unwrap().as_deref(), Some(VALUE));
    format!("{session:?}")
}

/// The `Display` texts of the session errors a handler can get, one per line.
#[get("/errors")]
fn errors(session: Session<'_>) -> String {
    session.insert("secret_data", VALUE).unwrap();
    let mut lines = Vec::new();
    // Asking for another type than the stored one.
    match session.get::<u64>("secret_data") {
        Err(e @ SessionError::Json { .. }) => lines.push(e.to_string()),
        other => lines.push(format!("UNEXPECTED get: {:?}", other.map(|_| ()))),
    }
    // A value too large for the cookie.
    match session.insert("big", VALUE.repeat(1000)) {
        Err(e @ SessionError::TooLarge { .. }) => lines.push(e.to_string()),
        other => lines.push(format!("UNEXPECTED insert: {other:?}")),
    }
    lines.join("\n")
}

fn options() -> SessionOptions {
    SessionOptions {
        secrets: SECRET.into(),
        cookie_name: COOKIE.into(),
        secure: false,
        ..SessionOptions::default()
    }
}

/// Rocket's config with Rocket's own logging at `debug`.
fn debug_figment() -> Figment {
    rocket::Config::figment().merge(("log_level", rocket::config::LogLevel::Debug))
}

async fn launch(options: SessionOptions) -> Client {
    capture_logs();
    let rocket = rocket::custom(debug_figment())
        .attach(WristbandSession::custom(options))
        .mount("/", routes![login, bump, read, logout, debug, errors]);
    Client::untracked(rocket).await.expect("valid rocket")
}

/// The `name=value` pairs of a response's `Set-Cookie` headers.
fn set_cookies(resp: &LocalResponse<'_>) -> Vec<(String, String)> {
    resp.headers()
        .get("Set-Cookie")
        .map(|h| {
            let pair = h.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            (name.to_string(), value.to_string())
        })
        .collect()
}

fn map(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

/// Changes one base64url character in the middle of `value` (the ciphertext, not the padding
/// bits of the last character).
fn tamper(value: &str) -> String {
    let mut bytes = value.as_bytes().to_vec();
    let i = bytes.len() / 2;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Tests.

#[rocket::async_test]
async fn logs_give_refusal_reasons_but_no_secret_cookie_or_session_value() {
    let client = launch(options()).await;
    let mut values = Vec::new();

    // A valid session: login, a few writes, reads with the latest cookie.
    let resp = client.post("/login").dispatch().await;
    assert_eq!(resp.status(), Status::Ok);
    let (name, mut cookie) = set_cookies(&resp).pop().expect("login writes the cookie");
    assert_eq!(name, COOKIE);
    values.push(cookie.clone());
    for i in 1..=3 {
        let resp =
            client.post("/bump").cookie(Cookie::new(COOKIE, cookie.clone())).dispatch().await;
        cookie = set_cookies(&resp).pop().unwrap().1;
        values.push(cookie.clone());
        assert_eq!(resp.into_string().await.unwrap(), i.to_string());
    }
    let resp = client.get("/read").cookie(Cookie::new(COOKIE, cookie.clone())).dispatch().await;
    assert_eq!(resp.into_string().await.unwrap(), "present");

    // Destroy: a removal cookie.
    let resp = client.post("/logout").cookie(Cookie::new(COOKIE, cookie.clone())).dispatch().await;
    let removal = set_cookies(&resp);
    assert_eq!(removal, vec![(COOKIE.to_string(), String::new())]);

    // Refused cookies, each for its own reason.
    let session = map(json!({ "secret_data": VALUE, "accessToken": TOKEN }));
    let codec = SessionCodec::new(&options()).unwrap();
    let stranger =
        SessionCodec::new(&SessionOptions { secrets: OTHER_SECRET.into(), ..options() }).unwrap();
    let now = OffsetDateTime::now_utc();
    let mut version_2 = URL_SAFE_NO_PAD.decode(codec.seal(&session).unwrap()).unwrap();
    version_2[0] = 2;
    let refused = vec![
        ("tag", tamper(&cookie)),
        ("tag", tamper(&codec.seal(&session).unwrap())),
        ("expired", codec.seal_at(&session, now - Duration::hours(2)).unwrap()),
        ("future", codec.seal_at(&session, now + Duration::hours(2)).unwrap()),
        ("key id", stranger.seal(&session).unwrap()),
        ("version", URL_SAFE_NO_PAD.encode(&version_2)),
        ("base64", "junk-cookie-value-QWERTY!!".to_string()),
        ("base64", "%7B%22secret_data%22%3A%22x%22%7D".to_string()),
        ("too short", "c2hvcnQtanVuay12YWx1ZQ".to_string()),
        ("longer", "Z".repeat(6000)),
    ];
    for (reason, value) in &refused {
        values.push(value.clone());
        let resp = client.get("/read").cookie(Cookie::new(COOKIE, value.clone())).dispatch().await;
        assert_eq!(resp.status(), Status::Ok, "{reason}");
        let written = set_cookies(&resp);
        assert_eq!(written, vec![(COOKIE.to_string(), String::new())], "{reason}: removal");
        assert_eq!(resp.into_string().await.unwrap(), "absent", "{reason}");
    }

    // The reasons are logged at debug level, naming the cookie.
    let refusals = records_with(Level::Debug, &format!("`{COOKIE}` refused"));
    assert!(refusals.len() >= refused.len(), "{} refusals logged:\n{}", refusals.len(), log_text());
    for (reason, _) in &refused {
        assert!(
            refusals.iter().any(|line| line.contains(reason)),
            "no debug line gives the reason `{reason}`:\n{refusals:#?}"
        );
    }
    assert!(
        records_with(Level::Error, "refused").is_empty()
            && records_with(Level::Warn, "refused").is_empty(),
        "refusals are debug-level only"
    );

    // Rotation: with the stranger's secret configured second, its cookie opens, and the debug
    // line says which secret opened it, not what the secret is.
    let rotated = launch(SessionOptions {
        secrets: Secrets::from(vec![SECRET.to_string(), OTHER_SECRET.to_string()]),
        ..options()
    })
    .await;
    let value = stranger.seal(&session).unwrap();
    values.push(value.clone());
    let resp = rotated.get("/read").cookie(Cookie::new(COOKIE, value)).dispatch().await;
    assert_eq!(resp.into_string().await.unwrap(), "present");
    let opened = records_with(Level::Debug, &format!("`{COOKIE}` opened with secret #2"));
    assert!(!opened.is_empty(), "{}", log_text());

    // Nothing of what was sent or written, nor the secret, nor the session's values.
    let text = log_text();
    let mut forbidden = forbidden_secret_texts();
    for value in &values {
        forbidden.push(value.clone());
        // Any 24-character window of a long value would be as bad as the whole.
        if value.len() > 48 {
            forbidden.push(value[value.len() / 2..value.len() / 2 + 24].to_string());
        }
    }
    forbidden.extend([VALUE.to_string(), TOKEN.to_string(), "TOPSECRETUSER".to_string()]);
    assert_absent(&text, &forbidden, "the captured log");
}

#[rocket::async_test]
async fn bad_config_logs_name_the_keys_and_not_the_secret() {
    capture_logs();
    // A short secret, an invalid max_age, and the secret again under a misspelt key.
    let figment = debug_figment().merge((
        "wristband_session",
        json!({
            "secrets": SHORT_SECRET,
            "max_age": 0,
            "secret": SHORT_SECRET,
        }),
    ));
    let rocket = rocket::custom(figment).attach(WristbandSession::fairing());
    let err = rocket.ignite().await.expect_err("a bad config aborts launch");
    match err.kind() {
        rocket::error::ErrorKind::FailedFairings(failed) => {
            assert!(failed.iter().any(|info| info.name == "Wristband Session"), "{failed:?}");
        }
        other => panic!("expected FailedFairings, got {other:?}"),
    }
    assert_absent(&err.to_string(), &forbidden_secret_texts(), "rocket's error");

    // The error lines name every key…
    for key in ["`wristband_session.secrets`", "`wristband_session.max_age`"] {
        assert!(
            !records_with(Level::Error, key).is_empty(),
            "no error names {key}:\n{}",
            log_text()
        );
    }
    assert!(!records_with(Level::Error, "`wristband_session.secret`").is_empty(), "{}", log_text());
    // …and never the secret.
    assert_absent(&log_text(), &forbidden_secret_texts(), "the captured log");

    // The same options from code fail the same way, with the same discretion.
    let options = SessionOptions { secrets: SHORT_SECRET.into(), max_age: 0, ..options() };
    let rocket = rocket::custom(debug_figment()).attach(WristbandSession::custom(options));
    let err = rocket.ignite().await.expect_err("a bad config aborts launch");
    assert!(matches!(err.kind(), rocket::error::ErrorKind::FailedFairings(_)));
    assert_absent(&log_text(), &forbidden_secret_texts(), "the captured log");
}

#[test]
fn debug_of_options_secrets_and_codec_hides_secrets() {
    let options = SessionOptions {
        secrets: Secrets::from(vec![SECRET.to_string(), OTHER_SECRET.to_string()]),
        ..options()
    };
    let forbidden = forbidden_secret_texts();

    let text = format!("{options:?}");
    assert!(text.contains("SessionOptions") && text.contains(COOKIE), "{text}");
    assert_absent(&text, &forbidden, "Debug of SessionOptions");
    let text = format!("{options:#?}");
    assert_absent(&text, &forbidden, "pretty Debug of SessionOptions");

    let text = format!("{:?} {}", options.secrets, options.secrets);
    assert!(text.contains('2'), "says how many: {text}");
    assert_absent(&text, &forbidden, "Debug and Display of Secrets");

    let codec = SessionCodec::new(&options).unwrap();
    let text = format!("{codec:?} {codec:#?}");
    assert!(text.contains("SessionCodec"), "{text}");
    assert_absent(&text, &forbidden, "Debug of SessionCodec");
}

#[test]
fn config_error_hides_the_secret() {
    let options = SessionOptions {
        secrets: Secrets::from(vec![SHORT_SECRET.to_string(), SHORT_SECRET.to_string()]),
        max_age: 0,
        ..SessionOptions::default()
    };
    let err = options.validate().unwrap_err();
    let codec_err = SessionCodec::new(&options).unwrap_err();
    let forbidden = forbidden_secret_texts();
    for text in [
        format!("{err:?}"),
        format!("{err:#?}"),
        err.to_string(),
        format!("{codec_err:?}"),
        codec_err.to_string(),
    ] {
        assert!(text.contains("secrets") && text.contains("max_age"), "names the keys: {text}");
        assert_absent(&text, &forbidden, "ConfigError");
    }
}

#[rocket::async_test]
async fn debug_of_a_session_in_a_handler_hides_its_data() {
    let client = launch(options()).await;
    let resp = client.get("/debug").dispatch().await;
    assert_eq!(resp.status(), Status::Ok);
    let cookie = set_cookies(&resp).pop().expect("the insert writes a cookie").1;
    let text = resp.into_string().await.unwrap();
    assert!(text.starts_with("Session"), "{text}");
    let mut forbidden = forbidden_secret_texts();
    forbidden.extend([VALUE.to_string(), cookie]);
    assert_absent(&text, &forbidden, "Debug of Session");
}

#[rocket::async_test]
async fn session_error_display_hides_session_values() {
    let client = launch(options()).await;
    let resp = client.get("/errors").dispatch().await;
    assert_eq!(resp.status(), Status::Ok);
    let text = resp.into_string().await.unwrap();
    assert!(!text.contains("UNEXPECTED"), "{text}");
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains("secret_data"), "the Json error names the key: {text}");
    let mut forbidden = forbidden_secret_texts();
    forbidden.push(VALUE.to_string());
    assert_absent(&text, &forbidden, "Display of SessionError");
}

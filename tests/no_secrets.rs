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

// ---------------------------------------------------------------------------------------------
// Redis passwords (cargo feature `redis`): only the address a URL names is ever printed.

#[cfg(feature = "redis")]
mod redis_urls {
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    use log::Level;
    use rocket::local::asynchronous::Client;
    use wristband_rocket_session::{
        ConfigError, RevocationOptions, Revocations, SessionOptions, WristbandSession,
    };

    use super::{assert_absent, capture_logs, debug_figment, log_text, options, RECORDS};

    /// The `requirepass` of the Redis below, given only in the URL's query (`?pass=`).
    const REDIS_PASSWORD: &str = "hunter2-unix-socket-PASSWORD-5c1d";

    /// The password and parts of it: none may be printed.
    fn forbidden(password: &str) -> Vec<String> {
        vec![password.to_string(), password[..12].to_string(), password[12..].to_string()]
    }

    /// A `redis-server` listening on a unix socket only (no TCP port), with a password.
    struct UnixRedis {
        dir: PathBuf,
        child: Child,
    }

    impl UnixRedis {
        fn start(password: &str) -> UnixRedis {
            let dir = std::env::temp_dir().join(format!("wrs-ns-redis-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let child = Command::new("redis-server")
                .args(["--port", "0", "--unixsocketperm", "700", "--requirepass", password])
                .arg("--unixsocket")
                .arg(dir.join("redis.sock"))
                .arg("--dir")
                .arg(&dir)
                .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn redis-server (apt-get install redis-server)");
            let redis = UnixRedis { dir, child };
            let deadline = Instant::now() + Duration::from_secs(10);
            while !redis.answers(password) {
                assert!(Instant::now() < deadline, "redis-server did not answer within 10 s");
                std::thread::sleep(Duration::from_millis(20));
            }
            redis
        }

        fn socket(&self) -> PathBuf {
            self.dir.join("redis.sock")
        }

        fn answers(&self, password: &str) -> bool {
            let Ok(mut stream) = UnixStream::connect(self.socket()) else { return false };
            let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
            let command = format!("AUTH {password}\r\nPING\r\n");
            if stream.write_all(command.as_bytes()).is_err() {
                return false;
            }
            let mut reply = [0u8; 12];
            stream.read_exact(&mut reply).is_ok() && &reply == b"+OK\r\n+PONG\r\n"
        }
    }

    impl Drop for UnixRedis {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn unix_url(socket: &Path, password: &str) -> String {
        format!("redis+unix://{}?pass={password}", socket.display())
    }

    /// The `Debug`, pretty `Debug` and JSON texts of `options`.
    fn printed(options: &RevocationOptions) -> Vec<String> {
        vec![
            format!("{options:?}"),
            format!("{options:#?}"),
            serde_json::to_string(options).unwrap(),
            serde_json::to_string(&SessionOptions {
                revocation: Some(options.clone()),
                ..options_without_revocation()
            })
            .unwrap(),
        ]
    }

    fn options_without_revocation() -> SessionOptions {
        SessionOptions { revocation: None, ..options() }
    }

    #[rocket::async_test]
    async fn redis_password_in_a_unix_socket_url_query_reaches_no_log_debug_or_serialize() {
        capture_logs();
        let redis = UnixRedis::start(REDIS_PASSWORD);
        let socket = redis.socket().display().to_string();
        let revocation = RevocationOptions {
            url: unix_url(&redis.socket(), REDIS_PASSWORD),
            ..RevocationOptions::default()
        };
        let session = SessionOptions { revocation: Some(revocation.clone()), ..options() };
        let rocket = rocket::custom(debug_figment()).attach(WristbandSession::custom(session));
        let client = Client::untracked(rocket).await.expect("valid rocket");
        let revocations = client.rocket().state::<Revocations>().expect("revocation is on");
        // The password in the query was used: this instance caught up with that Redis.
        assert!(
            revocations.wait_for_catch_ups(1, Duration::from_secs(10)).await,
            "never caught up with the Redis at {socket}:\n{}",
            log_text()
        );
        // The line is logged just after the catch-up is counted.
        let caught_up = || {
            RECORDS.lock().unwrap().iter().any(|r| {
                r.level == Level::Info
                    && r.text.contains("caught up with Redis at")
                    && r.text.contains(&socket)
            })
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while !caught_up() {
            assert!(Instant::now() < deadline, "no line names {socket}:\n{}", log_text());
            rocket::tokio::time::sleep(Duration::from_millis(10)).await;
        }

        let forbidden = forbidden(REDIS_PASSWORD);
        assert_absent(&log_text(), &forbidden, "the captured log");
        for text in printed(&revocation) {
            assert!(text.contains(&socket), "the socket's path is shown: {text}");
            assert_absent(&text, &forbidden, "Debug or Serialize of RevocationOptions");
        }
        drop(client);
    }

    #[test]
    fn redis_passwords_in_url_queries_reach_no_debug_or_serialize_of_the_options() {
        let password = "hunter2-query-PASSWORD-77e0a4";
        let forms = [
            // Read by the Redis client: the unix socket's `pass` (and `user`, `db`).
            format!("redis+unix:///run/redis/redis.sock?user=app&pass={password}&db=2"),
            format!("unix:///run/redis/redis.sock?pass={password}"),
            // Not read by the Redis client, but meant as a password all the same.
            format!("redis://10.0.0.9:6380/?password={password}"),
            format!("redis://app:{password}@10.0.0.9:6380/1"),
        ];
        let shown = ["/run/redis/redis.sock (db 2)", "/run/redis/redis.sock", "10.0.0.9:6380"];
        for (url, shown) in forms.iter().zip(shown.into_iter().chain(["10.0.0.9:6380 (db 1)"])) {
            let options = RevocationOptions { url: url.clone(), ..RevocationOptions::default() };
            for text in printed(&options) {
                assert_absent(&text, &forbidden(password), &format!("options with url {url}"));
                assert!(text.contains(&format!("\"{shown}\"")), "{url} shown as {shown}: {text}");
            }
        }
        let options = RevocationOptions {
            sentinels: vec![
                format!("redis://:{password}@10.0.0.1:26379"),
                format!("redis://10.0.0.2:26379/?password={password}"),
            ],
            sentinel_master: Some("mymaster".into()),
            ..RevocationOptions::default()
        };
        for text in printed(&options) {
            assert_absent(&text, &forbidden(password), "options with sentinels");
            assert!(text.contains("10.0.0.1:26379") && text.contains("10.0.0.2:26379"), "{text}");
        }
        // The credential keys: shown as set, never their text (usernames included).
        let user = "acl-user-NAME-5c1d";
        let sentinel_user = "sentinel-user-NAME-77aa";
        let sentinel_password = "sentinel-PASSWORD-e4d2c9";
        let options = RevocationOptions {
            url: format!("rediss://other-user:{password}@10.0.0.9:6380"),
            username: Some(user.into()),
            password: Some(password.into()),
            ..RevocationOptions::default()
        };
        for text in printed(&options) {
            assert_absent(&text, &forbidden(password), "options with username/password");
            assert_absent(&text, &[user.to_string()], "options with username/password");
            assert!(text.contains("[redacted]") && text.contains("10.0.0.9:6380"), "{text}");
        }
        let options = RevocationOptions {
            sentinels: vec!["rediss://10.0.0.1:26379".into()],
            sentinel_master: Some("mymaster".into()),
            password: Some(password.into()),
            sentinel_username: Some(sentinel_user.into()),
            sentinel_password: Some(sentinel_password.into()),
            ..RevocationOptions::default()
        };
        for text in printed(&options) {
            assert_absent(&text, &forbidden(password), "options with sentinel credentials");
            let others = [sentinel_user.to_string(), sentinel_password.to_string()];
            assert_absent(&text, &others, "options with sentinel credentials");
        }
    }

    /// Every problem of these Redis URLs is reported without any text of the URL.
    #[rocket::async_test]
    async fn redis_url_problems_are_reported_without_the_url_s_passwords() {
        capture_logs();
        let password = "hunter2-problem-PASSWORD-0b9f3e";
        let bad_urls = [
            // Not a scheme the crate accepts.
            format!("unix:/run/redis/redis.sock?pass={password}"),
            // TLS with the Redis client's switch that would turn certificate checks off.
            format!("rediss://:{password}@10.0.0.9:6380#insecure"),
            // The right scheme, but the Redis client refuses what follows.
            format!("redis://10.0.0.9:6380/?protocol={password}"),
            format!("redis+unix:///run/redis/redis.sock?pass={password}&db=x"),
        ];
        for url in &bad_urls {
            let revocation = RevocationOptions { url: url.clone(), ..RevocationOptions::default() };
            let session = SessionOptions { revocation: Some(revocation), ..options() };
            let texts = match session.validate() {
                Err(e) => vec![e.to_string(), format!("{e:?}")],
                Ok(()) => vec![],
            };
            for text in &texts {
                assert_absent(text, &forbidden(password), &format!("the error for {url}"));
            }
            if url.starts_with("rediss:") {
                let says = texts.iter().all(|t| t.contains("turn certificate verification off"));
                assert!(says, "{texts:?}");
            }
            let rocket = rocket::custom(debug_figment()).attach(WristbandSession::custom(session));
            let err = rocket.ignite().await.expect_err("a bad Redis URL aborts launch");
            assert_absent(&err.to_string(), &forbidden(password), "rocket's error");
            assert_absent(&log_text(), &forbidden(password), &format!("the log for {url}"));
        }
        let sentinels = RevocationOptions {
            sentinels: vec![
                format!("redis+unix:///run/redis/sentinel.sock?pass={password}"),
                format!("http://:{password}@10.0.0.1:26379"),
                format!("redis://:{password}@10.0.0.2:26379/3"),
            ],
            sentinel_master: Some("mymaster".into()),
            ..RevocationOptions::default()
        };
        let session = SessionOptions { revocation: Some(sentinels), ..options() };
        let err: ConfigError = session.validate().expect_err("three bad sentinels");
        for text in [err.to_string(), format!("{err:?}")] {
            assert!(text.contains("revocation.sentinels"), "{text}");
            assert!(["entry 1", "entry 2", "entry 3"].iter().all(|e| text.contains(e)), "{text}");
            assert_absent(&text, &forbidden(password), "the error for the sentinels");
        }
    }
}

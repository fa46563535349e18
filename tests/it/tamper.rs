//! Exhaustive tampering (DESIGN.md §4 "Open", §5): a Wristband-shaped session whose JSON is
//! exactly 1024 bytes is sealed with `SessionCodec`; every single-bit flip of its sealed bytes
//! and every truncation of them (and of its cookie text) is refused by `SessionCodec::open`, and
//! each of them, sent as the session cookie through a real Rocket (`rocket::local`), gets a 200
//! with an empty session and a removal cookie. Crash inputs found by fuzzing (`fuzz/`, see
//! `docs/reliability.md`) belong here as regression tests; none has been found so far.

use std::sync::Arc;
use std::time::Instant;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rocket::http::Status;
use rocket::local::asynchronous::Client;
use rocket::tokio::task::JoinSet;
use serde_json::{json, Map, Value};
use wristband_rocket_session::{Session, SessionCodec, SessionOptions, WristbandSession};

const SECRET: &str = "tamper-test-secret-0123456789-abcdefghijkl";
/// What `/read` answers for an empty session.
const EMPTY: &str = "keys=0 authenticated=false user=None";
/// The size of the session's JSON text.
const JSON_LEN: usize = 1024;
/// Requests run on this many tasks, all sharing one client.
const TASKS: usize = 4;

/// Only reads the session: it never writes, so any `Set-Cookie` comes from a refused cookie.
#[get("/read")]
fn read(session: Session<'_>) -> String {
    format!(
        "keys={} authenticated={} user={:?}",
        session.keys().len(),
        session.is_authenticated(),
        session.user_id()
    )
}

fn options() -> SessionOptions {
    SessionOptions { secrets: SECRET.into(), ..SessionOptions::default() }
}

fn codec() -> SessionCodec {
    SessionCodec::new(&options()).expect("valid test options")
}

/// One client for a whole test. Untracked: every request carries exactly the cookie it is
/// given, never one kept from an earlier response.
async fn client() -> Client {
    let rocket = rocket::custom(rocket::Config::figment().merge(("log_level", "off")))
        .attach(WristbandSession::custom(options()))
        .mount("/", routes![read]);
    Client::untracked(rocket).await.expect("the test app launches")
}

/// `len` deterministic base64url characters (tokens look like this).
fn token(seed: u64, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ALPHABET[(state >> 58) as usize] as char
        })
        .collect()
}

/// The session a Wristband login leaves, its access token sized so that the JSON text is
/// exactly `JSON_LEN` bytes.
fn wristband_session() -> Map<String, Value> {
    let with_token = |token_len: usize| {
        let value = json!({
            "isAuthenticated": true,
            "accessToken": format!("eyJhbGciOiJSUzI1NiJ9.{}", token(1, token_len)),
            "expiresAt": 1_767_225_600_000_i64,
            "userId": token(2, 22).to_lowercase(),
            "tenantId": token(3, 22).to_lowercase(),
            "tenantName": "acme-industries",
            "identityProviderName": "wristband",
            "refreshToken": token(4, 64),
            "csrfToken": "9b1e5c7a3f0d4e8b2a6c1f9d5e3b7a0c4f8e2d6b1a5c9f3e7d0b4a8c2e6f1d5b",
        });
        value.as_object().expect("an object").clone()
    };
    let base = serde_json::to_vec(&with_token(0)).unwrap().len();
    let session = with_token(JSON_LEN - base);
    assert_eq!(serde_json::to_vec(&session).unwrap().len(), JSON_LEN);
    session
}

/// Sends `value` as the session cookie to `/read`: (status, body, `Set-Cookie` headers).
async fn send(client: &Client, value: String) -> (Status, String, Vec<String>) {
    let response = client.get("/read").cookie(("session", value)).dispatch().await;
    let status = response.status();
    let set_cookies = response.headers().get("Set-Cookie").map(String::from).collect();
    let body = response.into_string().await.unwrap_or_default();
    (status, body, set_cookies)
}

/// Checks the answer to a refused cookie: 200, an empty session, exactly one removal cookie.
fn check_refused(answer: &(Status, String, Vec<String>), what: &str) {
    let (status, body, set_cookies) = answer;
    assert_eq!(*status, Status::Ok, "{what}");
    assert_eq!(body, EMPTY, "{what}");
    assert_eq!(set_cookies.len(), 1, "{what}: {set_cookies:?}");
    let removal = &set_cookies[0];
    assert!(removal.starts_with("session=;"), "{what}: not a removal: {removal}");
    assert!(removal.split("; ").any(|a| a == "Max-Age=0"), "{what}: {removal}");
}

/// Sends every value in `values` through `client`, spread over `TASKS` tasks, and checks that
/// each one is refused. Returns how many requests were made.
async fn all_refused(client: Arc<Client>, values: Vec<(String, String)>) -> usize {
    let count = values.len();
    let values = Arc::new(values);
    let mut tasks = JoinSet::new();
    for task in 0..TASKS {
        let client = client.clone();
        let values = values.clone();
        tasks.spawn(async move {
            for (what, value) in values.iter().skip(task).step_by(TASKS) {
                check_refused(&send(&client, value.clone()).await, what);
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("a request task panicked (see the assertion above)");
    }
    count
}

#[rocket::async_test]
async fn the_untampered_cookie_opens_through_the_app() {
    // The control: without it, "every variant is refused" could mean "nothing ever opens".
    let session = wristband_session();
    let value = codec().seal(&session).unwrap();
    assert_eq!(value.len(), SessionCodec::sealed_len(JSON_LEN));
    assert_eq!(codec().open(&value), Some(session.clone()));
    let client = client().await;
    let (status, body, set_cookies) = send(&client, value).await;
    assert_eq!(status, Status::Ok);
    assert_eq!(
        body,
        format!("keys={} authenticated=true user={:?}", session.len(), session["userId"].as_str())
    );
    assert!(set_cookies.is_empty(), "a read-only request writes nothing: {set_cookies:?}");
}

#[rocket::async_test]
async fn every_bit_flip_and_truncation_is_refused() {
    let started = Instant::now();
    let codec = codec();
    let value = codec.seal(&wristband_session()).unwrap();
    let bytes = URL_SAFE_NO_PAD.decode(&value).unwrap();
    assert_eq!(bytes.len(), 49 + JSON_LEN);

    // Every single-bit flip of the sealed bytes, and every truncation (lengths 0..len).
    let mut variants = Vec::with_capacity(bytes.len() * 9);
    for bit in 0..bytes.len() * 8 {
        let mut flipped = bytes.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        variants.push((format!("bit {bit} flipped"), URL_SAFE_NO_PAD.encode(&flipped)));
    }
    for len in 0..bytes.len() {
        variants.push((format!("truncated to {len} bytes"), URL_SAFE_NO_PAD.encode(&bytes[..len])));
    }
    for (what, variant) in &variants {
        assert_ne!(variant, &value, "{what}");
        assert_eq!(codec.open(variant), None, "{what} opened");
    }
    let opened = started.elapsed();

    let client = Arc::new(client().await);
    let requests = all_refused(client, variants).await;
    assert_eq!(requests, bytes.len() * 9);
    println!(
        "{requests} tampered cookies: open() refused all in {opened:?}, the app in {:?}",
        started.elapsed() - opened
    );
}

#[rocket::async_test]
async fn every_truncation_of_the_cookie_text_is_refused() {
    // Truncating the text (not the bytes) also yields values that are not valid base64url.
    let codec = codec();
    let value = codec.seal(&wristband_session()).unwrap();
    let variants: Vec<(String, String)> = (0..value.len())
        .map(|len| (format!("text truncated to {len} characters"), value[..len].to_string()))
        .collect();
    for (what, variant) in &variants {
        assert_eq!(codec.open(variant), None, "{what} opened");
    }
    let requests = all_refused(Arc::new(client().await), variants).await;
    assert_eq!(requests, value.len());
}

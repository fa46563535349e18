//! The request lifecycle (DESIGN.md §5) through `rocket::local`: which responses carry a
//! session `Set-Cookie` and with which attributes, what each `Session` method writes, 5xx
//! responses, the size budget, chunking over several cookies, secret rotation and HEAD requests.

use rocket::http::{Cookie, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use rocket::{Build, Rocket, Route};
use serde_json::{json, Map, Value};
use time::{Duration, OffsetDateTime};
use wristband_rocket_session::{
    SameSiteOption, Session, SessionCodec, SessionError, SessionOptions, WristbandSession,
};

const SECRET: &str = "lifecycle-test-secret-0123456789abcdefghij";
const NEW: &str = "rotation-test-secret-NEW-0123456789abcdefgh";
const MID: &str = "rotation-test-secret-MID-0123456789abcdefgh";
const OLD: &str = "rotation-test-secret-OLD-0123456789abcdefgh";
/// Each `Set-Cookie` header value must stay within this many bytes (DESIGN.md §5.4).
const HEADER_BUDGET: usize = 4096;

// ---------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------

/// No session guard at all.
#[get("/plain")]
fn plain() -> &'static str {
    "plain"
}

/// Takes the guard but never calls a method on it.
#[get("/unused")]
fn unused(_session: Session<'_>) -> &'static str {
    "unused"
}

#[get("/visits")]
fn visits(session: Session<'_>) -> String {
    let n: u64 = session.get("visits").unwrap().unwrap_or(0) + 1;
    session.insert("visits", n).unwrap();
    n.to_string()
}

/// Read-only: the visit count, unchanged.
#[get("/peek")]
fn peek(session: Session<'_>) -> String {
    session.get::<u64>("visits").unwrap().unwrap_or(0).to_string()
}

/// Read-only: `is_empty`, `keys` and `contains_key`.
#[get("/inspect")]
fn inspect(session: Session<'_>) -> String {
    format!(
        "empty={} keys={} has_a={}",
        session.is_empty(),
        session.keys().join(","),
        session.contains_key("a")
    )
}

#[get("/set/<key>/<value>")]
fn set(session: Session<'_>, key: &str, value: &str) -> &'static str {
    session.insert(key, value).unwrap();
    "set"
}

#[get("/get/<key>")]
fn get(session: Session<'_>, key: &str) -> String {
    match session.get::<Value>(key).unwrap() {
        Some(value) => value.to_string(),
        None => "none".into(),
    }
}

/// Reads `key` as a number, reporting the error kind.
#[get("/number/<key>")]
fn number(session: Session<'_>, key: &str) -> String {
    match session.get::<u64>(key) {
        Ok(Some(n)) => n.to_string(),
        Ok(None) => "none".into(),
        Err(SessionError::Json { key, .. }) => format!("json error at {key}"),
        Err(e) => format!("other error: {e}"),
    }
}

#[get("/remove/<key>")]
fn remove(session: Session<'_>, key: &str) -> String {
    format!("{:?}", session.remove(key))
}

#[get("/many")]
fn many(session: Session<'_>) -> &'static str {
    for i in 0..50u64 {
        session.insert(&format!("k{i}"), i).unwrap();
    }
    "many"
}

#[get("/save")]
fn save(session: Session<'_>) -> &'static str {
    session.save();
    "saved"
}

#[get("/clear")]
fn clear(session: Session<'_>) -> &'static str {
    session.clear();
    "cleared"
}

#[get("/logout")]
fn logout(session: Session<'_>) -> &'static str {
    session.destroy();
    "bye"
}

/// Stores `n` bytes of text under `big`.
#[get("/big/<n>")]
fn big(session: Session<'_>, n: usize) -> String {
    match session.insert("big", "x".repeat(n)) {
        Ok(()) => "ok".into(),
        Err(SessionError::TooLarge { size, limit }) => format!("too large: {size} > {limit}"),
        Err(e) => format!("other error: {e}"),
    }
}

/// Stores under `big` the longest text that `insert` accepts (found by bisection), after
/// checking that one byte more is refused with `TooLarge`; answers its length.
#[get("/fill")]
fn fill(session: Session<'_>) -> Result<String, (Status, String)> {
    let fits = |n: usize| session.insert("big", "x".repeat(n)).is_ok();
    let (mut lo, mut hi) = (0, 100_000);
    if !fits(lo) || fits(hi) {
        return Err((Status::BadRequest, "bisection bounds are wrong".into()));
    }
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    match session.insert("big", "x".repeat(lo + 1)) {
        Err(SessionError::TooLarge { .. }) => {}
        other => return Err((Status::BadRequest, format!("one more byte gave {other:?}"))),
    }
    session.insert("big", "x".repeat(lo)).map_err(|e| (Status::BadRequest, e.to_string()))?;
    Ok(lo.to_string())
}

#[get("/fail/status")]
fn fail_status(session: Session<'_>) -> (Status, &'static str) {
    session.insert("visits", 999u64).unwrap();
    (Status::InternalServerError, "failed")
}

#[get("/fail/unavailable")]
fn fail_unavailable(session: Session<'_>) -> (Status, &'static str) {
    session.insert("visits", 999u64).unwrap();
    (Status::ServiceUnavailable, "down")
}

#[get("/fail/err")]
fn fail_err(session: Session<'_>) -> Result<&'static str, Status> {
    session.insert("visits", 999u64).unwrap();
    Err(Status::InternalServerError)
}

/// An application error type whose responder answers 500 by itself (no catcher involved).
#[derive(rocket::Responder)]
#[response(status = 500)]
struct Failure(&'static str);

#[get("/fail/derived")]
fn fail_derived(session: Session<'_>) -> Result<&'static str, Failure> {
    session.insert("visits", 999u64).unwrap();
    Err(Failure("database unavailable"))
}

#[get("/fail/panic")]
fn fail_panic(session: Session<'_>) -> &'static str {
    session.insert("visits", 999u64).unwrap();
    panic!("handler fails after an insert (expected by the test)")
}

fn all_routes() -> Vec<Route> {
    routes![
        plain,
        unused,
        visits,
        peek,
        inspect,
        set,
        get,
        number,
        remove,
        many,
        save,
        clear,
        logout,
        big,
        fill,
        fail_status,
        fail_unavailable,
        fail_err,
        fail_derived,
        fail_panic,
    ]
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn options() -> SessionOptions {
    SessionOptions { secrets: SECRET.into(), ..SessionOptions::default() }
}

fn chunked() -> SessionOptions {
    SessionOptions { max_cookie_chunks: 3, ..options() }
}

fn with_secrets(secrets: &[&str]) -> SessionOptions {
    let secrets: Vec<String> = secrets.iter().map(|s| s.to_string()).collect();
    SessionOptions { secrets: secrets.into(), ..SessionOptions::default() }
}

fn app(options: SessionOptions) -> Rocket<Build> {
    rocket::custom(rocket::Config::figment().merge(("log_level", "off")))
        .attach(WristbandSession::custom(options))
        .mount("/", all_routes())
}

async fn start(options: SessionOptions) -> Client {
    Client::tracked(app(options)).await.expect("the test app launches")
}

fn codec(options: &SessionOptions) -> SessionCodec {
    SessionCodec::new(options).expect("valid test options")
}

fn object(value: Value) -> Map<String, Value> {
    value.as_object().expect("a JSON object").clone()
}

/// One `Set-Cookie` header value, split into name, value and attributes.
#[derive(Debug, Clone)]
struct SetCookie {
    raw: String,
    name: String,
    value: String,
    attrs: Vec<String>,
}

impl SetCookie {
    fn parse(raw: &str) -> Self {
        let mut parts = raw.split("; ");
        let (name, value) = parts.next().unwrap().split_once('=').expect("name=value");
        SetCookie {
            raw: raw.to_string(),
            name: name.to_string(),
            value: value.to_string(),
            attrs: parts.map(str::to_string).collect(),
        }
    }

    /// The value of attribute `key` (`""` for a flag such as `HttpOnly`).
    fn attr(&self, key: &str) -> Option<&str> {
        self.attrs.iter().find_map(|attr| match attr.split_once('=') {
            Some((k, v)) if k == key => Some(v),
            None if attr == key => Some(""),
            _ => None,
        })
    }

    fn is_removal(&self) -> bool {
        self.value.is_empty() && self.attr("Max-Age") == Some("0")
    }
}

fn set_cookies(response: &LocalResponse<'_>) -> Vec<SetCookie> {
    response.headers().get("Set-Cookie").map(SetCookie::parse).collect()
}

async fn body(response: LocalResponse<'_>) -> String {
    response.into_string().await.unwrap_or_default()
}

/// GET `uri`, expecting 200: the body and the `Set-Cookie` headers.
async fn fetch(client: &Client, uri: &str) -> (String, Vec<SetCookie>) {
    let response = client.get(uri).dispatch().await;
    assert_eq!(response.status(), Status::Ok, "GET {uri}");
    let cookies = set_cookies(&response);
    (body(response).await, cookies)
}

/// The attributes a written session cookie carries: exactly these, in any order.
fn expected_attrs(options: &SessionOptions) -> Vec<String> {
    let same_site = match options.same_site {
        SameSiteOption::Lax => "Lax",
        SameSiteOption::Strict => "Strict",
        SameSiteOption::None => "None",
    };
    let mut attrs = vec![
        "HttpOnly".to_string(),
        format!("SameSite={same_site}"),
        format!("Path={}", options.path),
        format!("Max-Age={}", options.max_age),
    ];
    if options.secure {
        attrs.push("Secure".into());
    }
    if let Some(domain) = &options.domain {
        attrs.push(format!("Domain={domain}"));
    }
    attrs.sort();
    attrs
}

/// `cookie` is a written (not removal) cookie named `name` with exactly the options' attributes.
fn assert_written(cookie: &SetCookie, name: &str, options: &SessionOptions) {
    assert_eq!(cookie.name, name, "{}", cookie.raw);
    assert!(!cookie.value.is_empty(), "empty value: {}", cookie.raw);
    let mut attrs = cookie.attrs.clone();
    attrs.sort();
    assert_eq!(attrs, expected_attrs(options), "attributes of {}", cookie.raw);
    assert!(cookie.raw.len() <= HEADER_BUDGET, "{} bytes", cookie.raw.len());
}

/// `cookie` removes `name`: empty value, `Max-Age=0`, an `Expires` (if any) in the past, and
/// the same `Path` and `Domain` as the written cookie.
fn assert_removal(cookie: &SetCookie, name: &str, options: &SessionOptions) {
    assert_eq!(cookie.name, name, "{}", cookie.raw);
    assert_eq!(cookie.value, "", "{}", cookie.raw);
    assert_eq!(cookie.attr("Max-Age"), Some("0"), "{}", cookie.raw);
    assert_eq!(cookie.attr("Path"), Some(options.path.as_str()), "{}", cookie.raw);
    assert_eq!(cookie.attr("Domain"), options.domain.as_deref(), "{}", cookie.raw);
    let parsed = Cookie::parse(cookie.raw.clone()).expect("a parseable Set-Cookie");
    if let Some(expires) = parsed.expires_datetime() {
        assert!(expires < OffsetDateTime::now_utc(), "{}", cookie.raw);
    }
}

/// Exactly one `Set-Cookie`, a written session cookie; its value.
fn single_written(cookies: &[SetCookie], options: &SessionOptions) -> String {
    assert_eq!(cookies.len(), 1, "{cookies:#?}");
    assert_written(&cookies[0], &options.cookie_name, options);
    cookies[0].value.clone()
}

fn names(cookies: &[SetCookie]) -> Vec<&str> {
    cookies.iter().map(|c| c.name.as_str()).collect()
}

// ---------------------------------------------------------------------------------------------
// The lifecycle, step by step
// ---------------------------------------------------------------------------------------------

#[rocket::async_test]
async fn narrated_lifecycle_with_options_from_the_figment() {
    // The app reads its options from the figment (Rocket.toml plus this override), as
    // `WristbandSession::fairing()` does in production; `secure = true` beats Rocket.toml's
    // debug-profile `secure = false`.
    let figment = rocket::Config::figment()
        .merge(("log_level", "off"))
        .merge(("wristband_session", json!({ "secrets": [SECRET], "secure": true })));
    let rocket =
        rocket::custom(figment).attach(WristbandSession::fairing()).mount("/", all_routes());
    let client = Client::tracked(rocket).await.unwrap();
    let options = SessionOptions { secure: true, ..options() };
    let codec = codec(&options);

    // 0. Before any session exists, a route without the guard writes nothing.
    let (_, cookies) = fetch(&client, "/plain").await;
    assert!(cookies.is_empty(), "{cookies:#?}");

    // 1. First visit: one cookie, with exactly the configured attributes, sealing {visits: 1}.
    let (text, cookies) = fetch(&client, "/visits").await;
    assert_eq!(text, "1");
    let first = single_written(&cookies, &options);
    assert_eq!(first.len(), SessionCodec::sealed_len(r#"{"visits":1}"#.len()));
    assert_eq!(codec.open(&first), Some(object(json!({ "visits": 1 }))));
    // The expiry inside the cookie is max_age from now, not only the browser's Max-Age.
    let now = OffsetDateTime::now_utc();
    assert!(codec.open_at(&first, now + Duration::seconds(3590)).is_some());
    assert!(codec.open_at(&first, now + Duration::seconds(3610)).is_none());

    // 2. Second visit: the cookie is read, updated and written again.
    let (text, cookies) = fetch(&client, "/visits").await;
    assert_eq!(text, "2");
    let second = single_written(&cookies, &options);
    assert_ne!(second, first);
    assert_eq!(codec.open(&second), Some(object(json!({ "visits": 2 }))));

    // 3. A read-only route sees the session and writes nothing.
    let (text, cookies) = fetch(&client, "/peek").await;
    assert_eq!(text, "2");
    assert!(cookies.is_empty(), "read-only wrote {cookies:#?}");

    // 4. Untouched routes write nothing: no guard, or a guard that is never used.
    for uri in ["/plain", "/unused"] {
        let (_, cookies) = fetch(&client, uri).await;
        assert!(cookies.is_empty(), "{uri} wrote {cookies:#?}");
    }

    // 5. Destroy: one removal cookie with the same Path (and no Domain, as configured).
    let (_, cookies) = fetch(&client, "/logout").await;
    assert_eq!(cookies.len(), 1, "{cookies:#?}");
    assert_removal(&cookies[0], "session", &options);
    assert!(client.cookies().get("session").is_none());

    // 6. Afterwards the session is empty, and reading it still writes nothing.
    let (text, cookies) = fetch(&client, "/inspect").await;
    assert_eq!(text, "empty=true keys= has_a=false");
    assert!(cookies.is_empty(), "{cookies:#?}");
    let (text, _) = fetch(&client, "/peek").await;
    assert_eq!(text, "0");
}

#[rocket::async_test]
async fn every_attribute_follows_the_options() {
    let variants = [
        SessionOptions { secure: false, ..options() },
        options(),
        SessionOptions {
            cookie_name: "sid".into(),
            path: "/app".into(),
            domain: Some("example.com".into()),
            same_site: SameSiteOption::Strict,
            max_age: 120,
            ..options()
        },
        SessionOptions {
            path: "/api/v1".into(),
            domain: Some("auth.example.org".into()),
            same_site: SameSiteOption::None,
            secure: true,
            max_age: 86_400,
            ..options()
        },
    ];
    for options in variants {
        let client = start(options.clone()).await;
        let name = options.cookie_name.clone();

        // Written cookie: exactly the configured attributes.
        let (_, cookies) = fetch(&client, "/visits").await;
        let value = single_written(&cookies, &options);
        assert_eq!(codec(&options).open(&value), Some(object(json!({ "visits": 1 }))));

        // `save()` writes the same attributes.
        let (_, cookies) = fetch(&client, "/save").await;
        single_written(&cookies, &options);

        // Removal: same name, Path and Domain.
        let (_, cookies) = fetch(&client, "/logout").await;
        assert_eq!(cookies.len(), 1, "{cookies:#?}");
        assert_removal(&cookies[0], &name, &options);
    }
}

#[rocket::async_test]
async fn one_set_cookie_however_many_inserts() {
    let client = start(options()).await;
    let (_, cookies) = fetch(&client, "/many").await;
    let value = single_written(&cookies, &options());
    let session = codec(&options()).open(&value).expect("opens");
    assert_eq!(session.len(), 50);
    assert_eq!(session["k49"], json!(49));

    // Inserting again over the same keys still yields a single header.
    let (_, cookies) = fetch(&client, "/many").await;
    single_written(&cookies, &options());
}

// ---------------------------------------------------------------------------------------------
// The Session API and what it writes
// ---------------------------------------------------------------------------------------------

#[rocket::async_test]
async fn save_reissues_an_unchanged_session() {
    let client = start(options()).await;
    let codec = codec(&options());
    let (_, cookies) = fetch(&client, "/set/a/1").await;
    let before = single_written(&cookies, &options());

    let (_, cookies) = fetch(&client, "/save").await;
    let after = single_written(&cookies, &options());
    assert_ne!(after, before, "a re-issued cookie is sealed afresh");
    assert_eq!(codec.open(&after), Some(object(json!({ "a": "1" }))));
}

#[rocket::async_test]
async fn clear_writes_an_empty_session() {
    let client = start(options()).await;
    fetch(&client, "/set/a/1").await;
    let (_, cookies) = fetch(&client, "/clear").await;
    let value = single_written(&cookies, &options());
    assert_eq!(codec(&options()).open(&value), Some(Map::new()));
    let (text, cookies) = fetch(&client, "/inspect").await;
    assert_eq!(text, "empty=true keys= has_a=false");
    assert!(cookies.is_empty());
}

#[rocket::async_test]
async fn remove_writes_only_when_a_key_was_removed() {
    let client = start(options()).await;
    fetch(&client, "/set/a/1").await;
    fetch(&client, "/set/b/2").await;

    // A missing key: nothing removed, nothing written.
    let (text, cookies) = fetch(&client, "/remove/missing").await;
    assert_eq!(text, "None");
    assert!(cookies.is_empty(), "{cookies:#?}");

    // A present key: its value comes back and the smaller session is written.
    let (text, cookies) = fetch(&client, "/remove/a").await;
    assert_eq!(text, r#"Some(String("1"))"#);
    let value = single_written(&cookies, &options());
    assert_eq!(codec(&options()).open(&value), Some(object(json!({ "b": "2" }))));
}

#[rocket::async_test]
async fn get_of_the_wrong_type_is_a_json_error() {
    let client = start(options()).await;
    fetch(&client, "/set/name/alice").await;
    let (text, cookies) = fetch(&client, "/number/name").await;
    assert_eq!(text, "json error at name");
    assert!(cookies.is_empty());
    let (text, _) = fetch(&client, "/number/absent").await;
    assert_eq!(text, "none");
    let (text, _) = fetch(&client, "/get/name").await;
    assert_eq!(text, r#""alice""#);
}

#[rocket::async_test]
async fn keys_contains_key_and_is_empty() {
    let client = start(options()).await;
    let (text, _) = fetch(&client, "/inspect").await;
    assert_eq!(text, "empty=true keys= has_a=false");
    fetch(&client, "/set/b/2").await;
    fetch(&client, "/set/a/1").await;
    let (text, cookies) = fetch(&client, "/inspect").await;
    assert_eq!(text, "empty=false keys=a,b has_a=true");
    assert!(cookies.is_empty());
    fetch(&client, "/remove/a").await;
    let (text, _) = fetch(&client, "/inspect").await;
    assert_eq!(text, "empty=false keys=b has_a=false");
}

// ---------------------------------------------------------------------------------------------
// Invalid presented cookies
// ---------------------------------------------------------------------------------------------

#[rocket::async_test]
async fn invalid_cookie_is_removed_by_a_read_only_request() {
    let client = start(options()).await;
    let response = client.get("/peek").cookie(("session", "not-a-session")).dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    let cookies = set_cookies(&response);
    assert_eq!(body(response).await, "0");
    assert_eq!(cookies.len(), 1, "{cookies:#?}");
    assert_removal(&cookies[0], "session", &options());
}

#[rocket::async_test]
async fn invalid_cookie_is_replaced_by_a_new_session() {
    let client = start(options()).await;
    let response = client.get("/visits").cookie(("session", "not-a-session")).dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    let cookies = set_cookies(&response);
    assert_eq!(body(response).await, "1");
    let value = single_written(&cookies, &options());
    assert_eq!(codec(&options()).open(&value), Some(object(json!({ "visits": 1 }))));
}

// ---------------------------------------------------------------------------------------------
// 5xx responses keep the client's previous session
// ---------------------------------------------------------------------------------------------

#[rocket::async_test]
async fn server_errors_write_no_session_cookie() {
    let client = start(options()).await;
    let (text, _) = fetch(&client, "/visits").await;
    assert_eq!(text, "1");
    let cookie_before = client.cookies().get("session").map(|c| c.value().to_string());
    assert!(cookie_before.is_some());

    let failing = [
        ("/fail/status", Status::InternalServerError),
        ("/fail/unavailable", Status::ServiceUnavailable),
        ("/fail/err", Status::InternalServerError),
        ("/fail/derived", Status::InternalServerError),
        ("/fail/panic", Status::InternalServerError),
    ];
    for (uri, status) in failing {
        let response = client.get(uri).dispatch().await;
        assert_eq!(response.status(), status, "{uri}");
        let cookies = set_cookies(&response);
        assert!(cookies.is_empty(), "{uri} wrote {cookies:#?}");

        // The server keeps serving, and the client still has its previous session.
        let (text, cookies) = fetch(&client, "/peek").await;
        assert_eq!(text, "1", "after {uri}");
        assert!(cookies.is_empty());
        let cookie_now = client.cookies().get("session").map(|c| c.value().to_string());
        assert_eq!(cookie_now, cookie_before, "after {uri}");
    }
}

// ---------------------------------------------------------------------------------------------
// Size budget
// ---------------------------------------------------------------------------------------------

#[rocket::async_test]
async fn too_large_insert_leaves_the_session_unchanged() {
    let client = start(options()).await;
    let (text, cookies) = fetch(&client, "/big/10").await;
    assert_eq!(text, "ok");
    // What a header adds around its value: `session=` and the attributes.
    let around_value = cookies[0].raw.len() - cookies[0].value.len();

    // 5000 bytes cannot fit in one 4096-byte cookie: refused, nothing written.
    let (text, cookies) = fetch(&client, "/big/5000").await;
    let (size, limit) = text
        .strip_prefix("too large: ")
        .and_then(|rest| rest.split_once(" > "))
        .unwrap_or_else(|| panic!("expected TooLarge, got {text:?}"));
    assert_eq!(limit, "4096");
    // The size reported is the header the session would have needed, byte for byte.
    let json_len = r#"{"big":""}"#.len() + 5000;
    assert_eq!(size.parse::<usize>().unwrap(), around_value + SessionCodec::sealed_len(json_len));
    assert!(cookies.is_empty(), "the failed insert caused a write: {cookies:#?}");

    // The previous value is still there.
    let (text, _) = fetch(&client, "/get/big").await;
    assert_eq!(text, format!("\"{}\"", "x".repeat(10)));

    // On a fresh session too: the failed key is not left behind.
    let fresh = start(options()).await;
    let (_, cookies) = fetch(&fresh, "/big/5000").await;
    assert!(cookies.is_empty());
    let (text, _) = fetch(&fresh, "/inspect").await;
    assert_eq!(text, "empty=true keys= has_a=false");
}

#[rocket::async_test]
async fn a_session_just_under_the_budget_fits_in_4096_bytes() {
    let long_attrs = SessionOptions {
        cookie_name: "a_rather_long_session_cookie_name".into(),
        path: "/a/rather/long/path/for/the/cookie".into(),
        domain: Some("sessions.subdomain.example.com".into()),
        same_site: SameSiteOption::Strict,
        max_age: 1_209_600,
        ..options()
    };
    for options in [options(), SessionOptions { secure: false, ..options() }, long_attrs] {
        let client = start(options.clone()).await;
        let (text, cookies) = fetch(&client, "/fill").await;
        let n: usize = text.parse().unwrap_or_else(|_| panic!("{text}"));
        let value = single_written(&cookies, &options);
        let header_len = cookies[0].raw.len();
        assert!(header_len <= HEADER_BUDGET, "{header_len} bytes");
        // One more byte of JSON adds one or two base64 characters: the biggest session that
        // fits leaves at most one byte of the budget unused.
        assert!(header_len >= HEADER_BUDGET - 1, "{header_len} bytes for {n}");
        let opened = codec(&options).open(&value).expect("opens");
        assert_eq!(opened["big"].as_str().map(str::len), Some(n));

        // It round-trips through the next request unchanged.
        let (text, cookies) = fetch(&client, "/get/big").await;
        assert_eq!(text.len(), n + 2);
        assert!(cookies.is_empty());
    }
}

// ---------------------------------------------------------------------------------------------
// Chunking (max_cookie_chunks = 3)
// ---------------------------------------------------------------------------------------------

/// The written chunks, checked and in order: their values.
fn chunk_values(cookies: &[SetCookie], options: &SessionOptions, count: usize) -> Vec<String> {
    let written: Vec<&SetCookie> = cookies.iter().filter(|c| !c.is_removal()).collect();
    assert_eq!(written.len(), count, "{cookies:#?}");
    written
        .iter()
        .enumerate()
        .map(|(i, cookie)| {
            let name = match i {
                0 => "session".to_string(),
                i => format!("session.{i}"),
            };
            assert_written(cookie, &name, options);
            cookie.value.clone()
        })
        .collect()
}

#[rocket::async_test]
async fn a_big_session_round_trips_over_three_chunks() {
    let options = chunked();
    let client = start(options.clone()).await;

    // ~9 KB of data: three cookies, each header within 4096 bytes.
    let (text, cookies) = fetch(&client, "/big/8500").await;
    assert_eq!(text, "ok");
    assert_eq!(cookies.len(), 3, "{cookies:#?}");
    let values = chunk_values(&cookies, &options, 3);
    let joined: String = values.concat();
    let session = codec(&options).open(&joined).expect("the joined chunks open");
    assert_eq!(session["big"].as_str().map(str::len), Some(8500));

    // The next request joins the chunks again; reading writes nothing.
    let (text, cookies) = fetch(&client, "/get/big").await;
    assert_eq!(text.len(), 8502);
    assert!(cookies.is_empty(), "{cookies:#?}");

    // The largest session that fits: three headers, each <= 4096 bytes, the budget used up.
    let (_, cookies) = fetch(&client, "/fill").await;
    chunk_values(&cookies, &options, 3);
    let total: usize = cookies.iter().map(|c| c.raw.len()).sum();
    assert!(total >= 3 * HEADER_BUDGET - 3, "{total} bytes over three headers");
    assert!(cookies.iter().all(|c| c.raw.len() <= HEADER_BUDGET));
    let (text, _) = fetch(&client, "/big/20000").await;
    assert!(text.starts_with("too large: ") && text.ends_with(" > 12288"), "{text}");
}

#[rocket::async_test]
async fn shrinking_removes_stale_chunks() {
    let options = chunked();
    let client = start(options.clone()).await;
    fetch(&client, "/big/8500").await;
    assert!(client.cookies().get("session.2").is_some());

    // Two chunks now: session.2 is removed.
    let (_, cookies) = fetch(&client, "/big/5000").await;
    chunk_values(&cookies, &options, 2);
    let removed: Vec<&SetCookie> = cookies.iter().filter(|c| c.is_removal()).collect();
    assert_eq!(removed.len(), 1, "{cookies:#?}");
    assert_removal(removed[0], "session.2", &options);
    let (text, _) = fetch(&client, "/get/big").await;
    assert_eq!(text.len(), 5002);

    // One chunk: session.1 is removed (and session.2 again, carried or not).
    let (_, cookies) = fetch(&client, "/big/10").await;
    chunk_values(&cookies, &options, 1);
    let removed: Vec<&SetCookie> = cookies.iter().filter(|c| c.is_removal()).collect();
    assert_eq!(removed.len(), 2, "{cookies:#?}");
    assert_removal(removed[0], "session.1", &options);
    assert_removal(removed[1], "session.2", &options);
    assert!(client.cookies().get("session.1").is_none());
    let (text, _) = fetch(&client, "/get/big").await;
    assert_eq!(text, format!("\"{}\"", "x".repeat(10)));
}

#[rocket::async_test]
async fn destroy_removes_every_chunk_present() {
    let options = chunked();
    let client = start(options.clone()).await;
    fetch(&client, "/big/8500").await;

    let (_, cookies) = fetch(&client, "/logout").await;
    let mut removed = names(&cookies);
    removed.sort();
    assert_eq!(removed, ["session", "session.1", "session.2"], "{cookies:#?}");
    for cookie in &cookies {
        assert_removal(cookie, &cookie.name, &options);
    }
    let (text, cookies) = fetch(&client, "/inspect").await;
    assert_eq!(text, "empty=true keys= has_a=false");
    assert!(cookies.is_empty());
}

#[rocket::async_test]
async fn a_missing_middle_chunk_gives_an_empty_session() {
    let options = chunked();
    let client = start(options.clone()).await;
    let (_, cookies) = fetch(&client, "/big/8500").await;
    let values = chunk_values(&cookies, &options, 3);

    // All three chunks: the session opens (sanity check for the case below).
    let other = Client::tracked(app(options.clone())).await.unwrap();
    let response = other
        .get("/get/big")
        .cookie(("session", values[0].clone()))
        .cookie(("session.1", values[1].clone()))
        .cookie(("session.2", values[2].clone()))
        .dispatch()
        .await;
    assert_eq!(body(response).await.len(), 8502);

    // Without session.1: an empty session, and the chunks presented are removed.
    let other = Client::tracked(app(options.clone())).await.unwrap();
    let response = other
        .get("/inspect")
        .cookie(("session", values[0].clone()))
        .cookie(("session.2", values[2].clone()))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Ok);
    let cookies = set_cookies(&response);
    assert_eq!(body(response).await, "empty=true keys= has_a=false");
    assert!(cookies.iter().all(SetCookie::is_removal), "{cookies:#?}");
    let removed = names(&cookies);
    assert!(removed.contains(&"session") && removed.contains(&"session.2"), "{removed:?}");
}

#[rocket::async_test]
async fn a_small_session_uses_one_cookie_even_when_chunking_is_on() {
    let options = chunked();
    let client = start(options.clone()).await;
    let (_, cookies) = fetch(&client, "/set/a/1").await;
    let values = chunk_values(&cookies, &options, 1);
    assert_eq!(codec(&options).open(&values[0]), Some(object(json!({ "a": "1" }))));
    // The unused chunk names are removed although the request carried none of them.
    let removed: Vec<&SetCookie> = cookies.iter().filter(|c| c.is_removal()).collect();
    assert_eq!(removed.len(), 2, "{cookies:#?}");
    assert_removal(removed[0], "session.1", &options);
    assert_removal(removed[1], "session.2", &options);
}

/// A browser's cookie store for one host: `Set-Cookie` headers applied in order.
fn apply(store: &mut Vec<(String, String)>, cookies: &[SetCookie]) {
    for cookie in cookies {
        store.retain(|(name, _)| *name != cookie.name);
        if !cookie.is_removal() {
            store.push((cookie.name.clone(), cookie.value.clone()));
        }
    }
}

/// Two racing writes (DESIGN §5): A grows the session to two chunks while B, which started
/// from the one-chunk cookie, writes one chunk. Whichever response the browser stores last,
/// the browser is left with one whole session, never B's first chunk joined to A's second.
#[rocket::async_test]
async fn racing_writes_each_leave_a_whole_session() {
    let options = chunked();
    let client = Client::untracked(app(options.clone())).await.expect("launches");
    let one_chunk = codec(&options).seal(&object(json!({ "n": "start" }))).unwrap();
    let start = vec![("session".to_string(), one_chunk)];

    // Both requests carry the same one-chunk cookie.
    let send = |uri: &'static str| {
        let cookies = start.clone();
        let client = &client;
        async move {
            let response = client.get(uri).cookies(cookies).dispatch().await;
            assert_eq!(response.status(), Status::Ok, "{uri}");
            set_cookies(&response)
        }
    };
    let a = send("/big/5000").await;
    let b = send("/set/n/b").await;
    assert_eq!(a.iter().filter(|c| !c.is_removal()).count(), 2, "A writes two chunks");

    let read = |store: &[(String, String)]| {
        let joined: String = ["session", "session.1", "session.2"]
            .iter()
            .map_while(|name| store.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()))
            .collect();
        codec(&options).open(&joined)
    };
    for (order, first, last) in [("A then B", &a, &b), ("B then A", &b, &a)] {
        let mut store = start.clone();
        apply(&mut store, first);
        apply(&mut store, last);
        let session = read(&store).unwrap_or_else(|| panic!("{order}: the session is lost"));
        if order == "A then B" {
            assert_eq!(session.get("n"), Some(&json!("b")), "{order}: B wins whole");
            assert!(!session.contains_key("big"), "{order}");
        } else {
            assert_eq!(session.get("big").and_then(Value::as_str).map(str::len), Some(5000));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Secret rotation
// ---------------------------------------------------------------------------------------------

/// A cookie sealed under `sealed_with` is read by an app configured with `configured`; a write
/// re-seals it under the first configured secret only.
async fn check_rotation(configured: &[&str], sealed_with: &str) {
    let old = codec(&with_secrets(&[sealed_with]));
    let cookie = old.seal(&object(json!({ "visits": 7 }))).unwrap();
    let client = start(with_secrets(configured)).await;

    // Read-only: the old cookie opens, nothing is written.
    let response = client.get("/peek").cookie(("session", cookie.clone())).dispatch().await;
    let cookies = set_cookies(&response);
    assert_eq!(body(response).await, "7", "sealed with {sealed_with}");
    assert!(cookies.is_empty(), "{cookies:#?}");

    // A write re-seals with the first secret.
    let response = client.get("/visits").cookie(("session", cookie)).dispatch().await;
    let cookies = set_cookies(&response);
    assert_eq!(body(response).await, "8");
    let value = single_written(&cookies, &with_secrets(configured));
    let first_only = codec(&with_secrets(&[configured[0]]));
    assert_eq!(first_only.open(&value), Some(object(json!({ "visits": 8 }))));
    assert_eq!(old.open(&value), None, "still sealed with the old secret");
}

#[rocket::async_test]
async fn rotation_reads_the_second_secret_and_reseals_with_the_first() {
    check_rotation(&[NEW, OLD], OLD).await;
}

#[rocket::async_test]
async fn rotation_reads_a_third_secret_as_well_as_a_second() {
    check_rotation(&[NEW, MID, OLD], OLD).await;
    check_rotation(&[NEW, MID, OLD], MID).await;
}

// ---------------------------------------------------------------------------------------------
// HEAD
// ---------------------------------------------------------------------------------------------

#[rocket::async_test]
async fn head_to_a_writing_route_sets_the_cookie_as_get_would() {
    let client = start(options()).await;
    let response = client.head("/visits").dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    let cookies = set_cookies(&response);
    assert!(body(response).await.is_empty());
    let value = single_written(&cookies, &options());
    assert_eq!(codec(&options()).open(&value), Some(object(json!({ "visits": 1 }))));

    // The GET that follows sees what the HEAD stored.
    let (text, _) = fetch(&client, "/visits").await;
    assert_eq!(text, "2");
}

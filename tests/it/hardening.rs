//! The session core's lifecycle fixes (issue 8 of the review): cookies that open but could
//! never be written back, `max_age` cuts that reach cookies already issued, `renew_after`,
//! cookie-name rules, the CSRF cookie of a refused session. The chunk race is in
//! `tests/it/lifecycle.rs` (`racing_writes_each_leave_a_whole_session`).

use rocket::http::{Header, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use rocket::{Build, Rocket};
use serde_json::{json, Map, Value};
use time::{Duration, OffsetDateTime};
use wristband_rocket_session::{
    AuthenticatedSession, Session, SessionCodec, SessionOptions, WristbandSession,
};

const SECRET: &str = "hardening-test-secret-0123456789abcdefghij";

#[get("/read")]
fn read(session: Session<'_>) -> String {
    format!("keys={}", session.keys().len())
}

#[get("/me")]
fn me(session: AuthenticatedSession<'_>) -> String {
    session.user_id()
}

fn options() -> SessionOptions {
    SessionOptions { secrets: SECRET.into(), ..SessionOptions::default() }
}

fn app(options: SessionOptions) -> Rocket<Build> {
    rocket::custom(rocket::Config::figment().merge(("log_level", "off")))
        .attach(WristbandSession::custom(options))
        .mount("/", routes![read, me])
}

async fn client(options: SessionOptions) -> Client {
    Client::untracked(app(options)).await.expect("the test app launches")
}

fn codec(options: &SessionOptions) -> SessionCodec {
    SessionCodec::new(options).expect("valid options")
}

fn object(value: Value) -> Map<String, Value> {
    value.as_object().expect("an object").clone()
}

fn logged_in(extra: Value) -> Map<String, Value> {
    let mut data = object(json!({ "isAuthenticated": true, "userId": "u1", "tenantId": "t1" }));
    data.extend(object(extra));
    data
}

fn set_cookies(response: &LocalResponse<'_>) -> Vec<String> {
    response.headers().get("Set-Cookie").map(String::from).collect()
}

fn is_removal_of(header: &str, name: &str) -> bool {
    header.starts_with(&format!("{name}=;")) && header.split("; ").any(|a| a == "Max-Age=0")
}

fn written(headers: &[String], name: &str) -> bool {
    headers.iter().any(|h| h.starts_with(&format!("{name}=")) && !is_removal_of(h, name))
}

// ----- item 2: a cookie that opens but could never be written back -------------------------

/// A session whose sealed value is exactly `value_len` characters long (`value_len` ≥ 80).
fn session_sealing_to(value_len: usize) -> Map<String, Value> {
    // A JSON text of n bytes seals to ceil((49 + n) * 4 / 3) characters.
    let json_len = (value_len * 3 / 4) - 49;
    let data = object(json!({ "k": "x".repeat(json_len - 8) }));
    assert_eq!(SessionCodec::sealed_len(serde_json::to_vec(&data).unwrap().len()), value_len);
    data
}

#[rocket::async_test]
async fn a_cookie_that_could_not_be_written_back_is_refused() {
    // The reader gained a long `Domain` (and `Secure`): its cookies carry fewer value bytes.
    let domain = format!("{}.example.com", "sub".repeat(40));
    let writer = options();
    let reader = SessionOptions { domain: Some(domain), ..options() };
    let client = client(reader.clone()).await;

    // A value that the old configuration wrote (its header fit in 4096 bytes) ...
    let value = codec(&writer).seal(&session_sealing_to(4000)).unwrap();
    let header_len =
        format!("session={value}; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=3600").len();
    assert!(header_len <= 4096, "the writer could write it ({header_len} bytes)");
    // ... is too long for the reader's own Set-Cookie header: refused, and removed.
    let response = client.get("/read").cookie(("session", value)).dispatch().await;
    let headers = set_cookies(&response);
    assert_eq!(response.into_string().await.as_deref(), Some("keys=0"));
    assert!(headers.iter().any(|h| is_removal_of(h, "session")), "{headers:?}");

    // Control: a value the reader can write back still opens.
    let small = codec(&writer).seal(&session_sealing_to(3000)).unwrap();
    let response = client.get("/read").cookie(("session", small)).dispatch().await;
    assert!(set_cookies(&response).is_empty());
    assert_eq!(response.into_string().await.as_deref(), Some("keys=1"));
}

#[rocket::async_test]
async fn fewer_chunks_refuse_a_session_that_needed_more() {
    // 4060 characters: within 4096 (so the old length check let it through) but more than one
    // `session` cookie's header can carry with its attributes.
    let base = logged_in(json!({ "pad": "" }));
    let base_len = serde_json::to_vec(&base).unwrap().len();
    let target_json = 4060 * 3 / 4 - 49;
    let data = logged_in(json!({ "pad": "x".repeat(target_json - base_len) }));
    let writer = SessionOptions { max_cookie_chunks: 2, ..options() };
    let value = codec(&writer).seal(&data).unwrap();
    assert_eq!(value.len(), 4060);
    // A browser that kept the value under the one name the reader joins.
    let client = client(options()).await;
    let response = client.get("/me").cookie(("session", value)).dispatch().await;
    // Not authenticated (refused and removed), rather than an empty 500 on every request
    // until it expires.
    assert_eq!(response.status(), Status::Unauthorized);
    let headers = set_cookies(&response);
    assert!(headers.iter().any(|h| is_removal_of(h, "session")), "{headers:?}");
}

// ----- item 3: lowering `max_age` cuts cookies already issued ------------------------------

#[rocket::async_test]
async fn lowering_max_age_cuts_cookies_already_issued() {
    let month = SessionOptions { max_age: 30 * 24 * 3600, ..options() };
    let issued = OffsetDateTime::now_utc() - Duration::seconds(120);
    let value = codec(&month).seal_at(&logged_in(json!({})), issued).unwrap();

    // Still within the 30 days sealed into it, and within an hour: opens.
    let client_hour = client(SessionOptions { max_age: 3600, ..options() }).await;
    let response = client_hour.get("/me").cookie(("session", value.clone())).dispatch().await;
    assert_eq!(response.status(), Status::Ok);

    // After the operator cut `max_age` to 60 s, the 2-minute-old cookie is refused.
    let client_cut = client(SessionOptions { max_age: 60, ..options() }).await;
    let response = client_cut.get("/read").cookie(("session", value.clone())).dispatch().await;
    let headers = set_cookies(&response);
    assert_eq!(response.into_string().await.as_deref(), Some("keys=0"));
    assert!(headers.iter().any(|h| is_removal_of(h, "session")), "{headers:?}");
    let response = client_cut.get("/me").cookie(("session", value)).dispatch().await;
    assert_eq!(response.status(), Status::Unauthorized);
}

#[test]
fn codec_applies_the_configured_max_age_from_issued_at() {
    let at = |s: i64| OffsetDateTime::from_unix_timestamp(1_800_000_000 + s).unwrap();
    let long = codec(&SessionOptions { max_age: 86_400, ..options() });
    let value = long.seal_at(&Map::new(), at(0)).unwrap();
    let short = codec(&SessionOptions { max_age: 60, ..options() });
    assert!(short.open_at(&value, at(59)).is_some());
    assert!(short.open_at(&value, at(60)).is_none());
    assert!(long.open_at(&value, at(60)).is_some());
}

// ----- item 4: `renew_after` ------------------------------------------------------------------

async fn me_with_cookie_issued(options: SessionOptions, age_secs: i64) -> Vec<String> {
    let issued = OffsetDateTime::now_utc() - Duration::seconds(age_secs);
    let value = codec(&options).seal_at(&logged_in(json!({})), issued).unwrap();
    let client = client(options).await;
    let response = client.get("/me").cookie(("session", value)).dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    set_cookies(&response)
}

#[rocket::async_test]
async fn a_fresh_cookie_is_not_reissued_within_renew_after() {
    // Default `renew_after` is 60 s: a 10-second-old cookie is left alone.
    assert_eq!(options().renew_after, 60);
    let headers = me_with_cookie_issued(options(), 10).await;
    assert!(headers.is_empty(), "{headers:?}");
}

#[rocket::async_test]
async fn a_cookie_older_than_renew_after_is_reissued() {
    let headers = me_with_cookie_issued(options(), 61).await;
    assert!(written(&headers, "session"), "{headers:?}");
    // A custom threshold.
    let options = SessionOptions { renew_after: 600, ..options() };
    assert!(me_with_cookie_issued(options.clone(), 300).await.is_empty());
    assert!(written(&me_with_cookie_issued(options, 601).await, "session"));
}

#[rocket::async_test]
async fn renew_after_zero_reissues_on_every_authenticated_request() {
    let options = SessionOptions { renew_after: 0, ..options() };
    let headers = me_with_cookie_issued(options, 0).await;
    assert!(written(&headers, "session"), "{headers:?}");
}

#[rocket::async_test]
async fn renew_after_is_read_from_the_profile() {
    let figment = rocket::Config::figment()
        .merge(("log_level", "off"))
        .merge(("wristband_session", json!({ "secrets": SECRET, "renew_after": 5 })));
    let client = Client::untracked(
        rocket::custom(figment).attach(WristbandSession::fairing()).mount("/", routes![me]),
    )
    .await
    .unwrap();
    let issued = OffsetDateTime::now_utc() - Duration::seconds(6);
    let value = codec(&options()).seal_at(&logged_in(json!({})), issued).unwrap();
    let response = client.get("/me").cookie(("session", value)).dispatch().await;
    assert!(written(&set_cookies(&response), "session"));
}

#[test]
fn negative_renew_after_is_a_configuration_error() {
    let err = SessionOptions { renew_after: -1, ..options() }.validate().unwrap_err();
    assert_eq!(err.problems().len(), 1);
    assert_eq!(err.problems()[0].key, "renew_after");
}

// ----- item 5: cookie names -------------------------------------------------------------------

#[test]
fn percent_in_a_cookie_name_is_refused_saying_what_is_accepted() {
    for (key, options) in [
        ("cookie_name", SessionOptions { cookie_name: "sess%31".into(), ..options() }),
        ("csrf_cookie_name", SessionOptions { csrf_cookie_name: "csrf%31".into(), ..options() }),
    ] {
        let err = options.validate().unwrap_err();
        let problem = &err.problems()[0];
        assert_eq!(problem.key, key);
        assert!(problem.message.contains("no `%`"), "{}", problem.message);
        assert!(problem.message.contains("letters, digits"), "{}", problem.message);
    }
    // Every other token character is still accepted.
    let fine = SessionOptions { cookie_name: "a!#$&'*+-.^_`|~9".into(), ..options() };
    assert!(fine.validate().is_ok());
}

#[test]
fn host_prefix_requires_secure_root_path_and_no_domain() {
    let host = SessionOptions { cookie_name: "__Host-session".into(), ..options() };
    assert!(host.validate().is_ok());
    for (options, needle) in [
        (SessionOptions { secure: false, ..host.clone() }, "`secure = true`"),
        (SessionOptions { path: "/app".into(), ..host.clone() }, "`path = \"/\"`"),
        (SessionOptions { domain: Some("example.com".into()), ..host.clone() }, "no domain"),
    ] {
        let err = options.validate().unwrap_err();
        assert_eq!(err.problems()[0].key, "cookie_name");
        assert!(err.problems()[0].message.contains(needle), "{}", err.problems()[0].message);
    }
    // The CSRF cookie: its own domain (or the session's) counts.
    let csrf = SessionOptions { csrf_cookie_name: "__Host-csrf".into(), ..options() };
    assert!(csrf.validate().is_ok());
    let with_domain = SessionOptions { csrf_cookie_domain: Some("example.com".into()), ..csrf };
    assert_eq!(with_domain.validate().unwrap_err().problems()[0].key, "csrf_cookie_name");
}

#[test]
fn secure_prefix_requires_secure() {
    let name = SessionOptions { cookie_name: "__Secure-s".into(), ..options() };
    assert!(name.validate().is_ok());
    let err = SessionOptions { secure: false, ..name }.validate().unwrap_err();
    assert_eq!(err.problems()[0].key, "cookie_name");
    let csrf = SessionOptions { csrf_cookie_name: "__Secure-c".into(), secure: false, ..options() };
    assert_eq!(csrf.validate().unwrap_err().problems()[0].key, "csrf_cookie_name");
}

// ----- item 5: the CSRF cookie of a refused session goes too ------------------------------

#[rocket::async_test]
async fn a_refused_session_cookie_takes_its_csrf_cookie_with_it() {
    let options = SessionOptions { enable_csrf_protection: true, ..options() };
    let client = client(options.clone()).await;
    // Expired inside the cookie.
    let old = OffsetDateTime::now_utc() - Duration::seconds(7200);
    let token = "cd".repeat(32);
    let expired = codec(&options).seal_at(&logged_in(json!({ "csrfToken": token })), old).unwrap();
    for value in [expired, "garbage".to_string()] {
        let response = client
            .get("/me")
            .cookie(("session", value.clone()))
            .cookie(("CSRF-TOKEN", token.clone()))
            .header(Header::new("X-CSRF-TOKEN", token.clone()))
            .dispatch()
            .await;
        assert_eq!(response.status(), Status::Unauthorized);
        let headers = set_cookies(&response);
        assert!(headers.iter().any(|h| is_removal_of(h, "session")), "{headers:?}");
        assert!(headers.iter().any(|h| is_removal_of(h, "CSRF-TOKEN")), "{headers:?}");
    }
}

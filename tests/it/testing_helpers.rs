//! The `testing` module as a user's route tests use it: requests as a logged-in user or with any
//! session data, sealed with the app's own configuration, and reading what a response wrote.

use rocket::figment::providers::Serialized;
use rocket::http::Status;
use rocket::local::asynchronous::Client;
use serde_json::json;
use wristband_rocket_session::testing::{callback_data, written_session, LocalRequestExt};
use wristband_rocket_session::{catchers, AuthenticatedSession, Session, WristbandSession};

#[get("/me")]
fn me(session: AuthenticatedSession<'_>) -> String {
    format!("{}@{}", session.user_id(), session.tenant_id())
}

#[post("/visit")]
fn visit(session: Session<'_>) -> String {
    let n = session.get::<u64>("visits").unwrap().unwrap_or(0) + 1;
    session.insert("visits", n).unwrap();
    n.to_string()
}

async fn client(table: serde_json::Value) -> Client {
    let figment = rocket::Config::figment().merge(Serialized::global("wristband_session", table));
    let rocket = rocket::custom(figment)
        .attach(WristbandSession::fairing())
        .register("/", catchers())
        .mount("/", routes![me, visit]);
    Client::untracked(rocket).await.expect("valid configuration")
}

const SECRET: &str = "testing-helpers-secret-0123456789abcdef";

#[rocket::async_test]
async fn logged_in_as_passes_the_guard_without_csrf() {
    let client = client(json!({ "secrets": SECRET })).await;
    // Without the helper: 401.
    assert_eq!(client.get("/me").dispatch().await.status(), Status::Unauthorized);
    // With it: the guard sees the user.
    let response = client.get("/me").logged_in_as(&callback_data("u1", "t1")).dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(response.into_string().await.unwrap(), "u1@t1");
}

#[rocket::async_test]
async fn logged_in_as_sends_the_csrf_header_when_csrf_is_on() {
    // Every method checked, so that the GET below proves the helper sent the header.
    let table = json!({
        "secrets": SECRET, "enable_csrf_protection": true, "csrf_header_name": "X-Test-Csrf",
        "csrf_check_all_methods": true
    });
    let client = client(table).await;
    let response = client.get("/me").logged_in_as(&callback_data("u2", "t2")).dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    // The same kind of session, with a token but sent without the header, is refused: the
    // helper really sent it.
    let mut data = serde_json::Map::new();
    data.insert("isAuthenticated".into(), json!(true));
    data.insert("userId".into(), json!("u2"));
    data.insert("tenantId".into(), json!("t2"));
    data.insert("csrfToken".into(), json!("ab".repeat(32)));
    let options =
        wristband_rocket_session::SessionOptions { secrets: SECRET.into(), ..Default::default() };
    let value = wristband_rocket_session::SessionCodec::new(&options).unwrap().seal(&data).unwrap();
    let response = client.get("/me").cookie(("session", value)).dispatch().await;
    assert_eq!(response.status(), Status::Forbidden);
}

#[rocket::async_test]
async fn with_session_and_written_session_round_trip() {
    let client = client(json!({ "secrets": SECRET, "cookie_name": "app" })).await;
    let response = client.post("/visit").with_session(&json!({ "visits": 41 })).dispatch().await;
    let written = written_session(client.rocket(), response.cookies()).expect("a session cookie");
    assert_eq!(written["visits"], 42);
    assert_eq!(response.into_string().await.unwrap(), "42");
}

#[rocket::async_test]
async fn with_session_spreads_large_data_over_chunks() {
    let client = client(json!({ "secrets": SECRET, "max_cookie_chunks": 3 })).await;
    let big = "x".repeat(6000);
    let response =
        client.post("/visit").with_session(&json!({ "visits": 1, "big": big })).dispatch().await;
    assert_eq!(response.into_string().await.unwrap(), "2");
}

#[rocket::async_test]
#[should_panic(expected = "too large")]
async fn with_session_refuses_data_over_the_budget() {
    let client = client(json!({ "secrets": SECRET })).await;
    let big = "x".repeat(6000);
    let _ = client.post("/visit").with_session(&json!({ "big": big })).dispatch().await;
}

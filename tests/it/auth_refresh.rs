//! Token refresh inside `AuthenticatedSession` (DESIGN-auth §D) against `FakeWristband`: only
//! with `WristbandAuth` attached, only when `expiresAt` has passed and a refresh token is held;
//! 3 tries on 5xx, none on a 4xx; the old refresh token kept when the answer has none; a refused
//! refresh token destroys the session; single flight for concurrent requests over real TCP.
#![cfg(feature = "fake-wristband")]

use crate::support::server;

use std::time::Duration;

use rocket::http::Status;
use rocket::local::asynchronous::{Client, LocalResponse};
use rocket::serde::json::Json;
use rocket::{Build, Rocket};
use serde_json::{json, Map, Value};
use time::OffsetDateTime;
use wristband_rocket_session::testing::{Endpoint, FakeWristband, LocalRequestExt, Reply};
use wristband_rocket_session::{
    AuthenticatedSession, SessionCodec, SessionOptions, WristbandAuth, WristbandSession,
};

const SECRET: &str = "refresh-test-session-secret-0123456789abcdef";

/// The tokens the guard leaves in the session.
#[get("/me")]
fn me(session: AuthenticatedSession<'_>) -> Json<Value> {
    Json(json!({
        "userId": session.user_id(),
        "accessToken": session.access_token(),
        "refreshToken": session.refresh_token(),
        "expiresAt": session.expires_at(),
    }))
}

fn session_options() -> SessionOptions {
    SessionOptions { secrets: SECRET.into(), ..SessionOptions::default() }
}

fn base(auth: Option<&FakeWristband>) -> Rocket<Build> {
    let rocket = rocket::custom(rocket::Config::figment().merge(("log_level", "off")))
        .attach(WristbandSession::custom(session_options()))
        .mount("/", routes![me]);
    match auth {
        Some(fake) => rocket.attach(WristbandAuth::custom(fake.auth_options())),
        None => rocket,
    }
}

async fn client(fake: &FakeWristband) -> Client {
    Client::untracked(base(Some(fake))).await.expect("launches")
}

fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// A signed-in session holding `refresh_token` whose access token expires at `expires_at`.
fn signed_in(refresh_token: Option<&str>, expires_at: Value) -> Map<String, Value> {
    let mut data = json!({
        "isAuthenticated": true, "userId": "u1", "tenantId": "t1",
        "accessToken": "old-access-token", "expiresAt": expires_at,
    })
    .as_object()
    .unwrap()
    .clone();
    if let Some(token) = refresh_token {
        data.insert("refreshToken".into(), json!(token));
    }
    data
}

fn expired() -> Value {
    json!(now_ms() - 1_000)
}

async fn body(response: LocalResponse<'_>) -> Value {
    serde_json::from_str(&response.into_string().await.unwrap()).unwrap()
}

fn removes_session(response: &LocalResponse<'_>) -> bool {
    response
        .headers()
        .get("Set-Cookie")
        .any(|h| h.starts_with("session=;") && h.contains("Max-Age=0"))
}

fn written_session(response: &LocalResponse<'_>) -> Option<Map<String, Value>> {
    let codec = SessionCodec::new(&session_options()).unwrap();
    response
        .headers()
        .get("Set-Cookie")
        .find(|h| h.starts_with("session=") && !h.starts_with("session=;"))
        .and_then(|h| codec.open(&h["session=".len()..h.find(';').unwrap_or(h.len())]))
}

#[rocket::async_test]
async fn a_fresh_access_token_is_not_refreshed() {
    let fake = FakeWristband::start().await;
    let client = client(&fake).await;
    let rt = fake.issue_refresh_token("u1", "t1");
    let data = signed_in(Some(&rt), json!(now_ms() + 60_000));
    let response = client.get("/me").with_session(&data).dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(body(response).await["accessToken"], "old-access-token");
    assert_eq!(fake.calls(Endpoint::Token), 0);
}

#[rocket::async_test]
async fn an_expired_access_token_is_refreshed_and_the_new_tokens_are_stored() {
    let fake = FakeWristband::start().await;
    let client = client(&fake).await;
    let rt = fake.issue_refresh_token("u1", "t1");
    let before = now_ms();
    let response =
        client.get("/me").with_session(&signed_in(Some(&rt), expired())).dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    let stored = written_session(&response).expect("the session is written back");
    let seen = body(response).await;
    assert_eq!(fake.calls(Endpoint::Token), 1);
    // The handler saw the new tokens, and the cookie holds them.
    assert_ne!(seen["accessToken"], "old-access-token");
    assert_eq!(stored["accessToken"], seen["accessToken"]);
    assert_ne!(stored["refreshToken"], json!(rt), "Wristband rotated the refresh token");
    // expiresAt = now + (1800 − 60) s.
    let expires_at = stored["expiresAt"].as_i64().unwrap();
    assert!(expires_at >= before + 1_740_000 && expires_at <= now_ms() + 1_740_000);
    assert_eq!(stored["userId"], "u1");
}

#[rocket::async_test]
async fn an_expires_at_equal_to_now_zero_or_negative_counts_as_expired() {
    let fake = FakeWristband::start().await;
    let client = client(&fake).await;
    for (i, expires_at) in [json!(now_ms()), json!(0), json!(-5)].into_iter().enumerate() {
        let rt = fake.issue_refresh_token("u1", "t1");
        let response =
            client.get("/me").with_session(&signed_in(Some(&rt), expires_at)).dispatch().await;
        assert_eq!(response.status(), Status::Ok);
        assert_ne!(body(response).await["accessToken"], "old-access-token");
        assert_eq!(fake.calls(Endpoint::Token), i + 1);
    }
}

#[rocket::async_test]
async fn without_a_refresh_token_or_an_expiry_nothing_is_refreshed() {
    let fake = FakeWristband::start().await;
    let client = client(&fake).await;
    let rt = fake.issue_refresh_token("u1", "t1");
    for data in [
        signed_in(None, expired()),
        signed_in(Some(""), expired()),
        signed_in(Some(&rt), Value::Null),
        signed_in(Some(&rt), json!("yesterday")),
    ] {
        let response = client.get("/me").with_session(&data).dispatch().await;
        // As Wristband's guard: an expired access token alone does not fail the session.
        assert_eq!(response.status(), Status::Ok, "{data:?}");
    }
    assert_eq!(fake.calls(Endpoint::Token), 0);
}

#[rocket::async_test]
async fn without_wristband_auth_the_guard_never_refreshes() {
    let fake = FakeWristband::start().await;
    let client = Client::untracked(base(None)).await.unwrap();
    let rt = fake.issue_refresh_token("u1", "t1");
    let response =
        client.get("/me").with_session(&signed_in(Some(&rt), expired())).dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(body(response).await["accessToken"], "old-access-token");
    assert_eq!(fake.calls(Endpoint::Token), 0);
}

#[rocket::async_test]
async fn an_answer_without_a_refresh_token_keeps_the_old_one() {
    let fake = FakeWristband::start().await;
    let client = client(&fake).await;
    let answer = json!({
        "access_token": "new-access-token", "expires_in": 600, "token_type": "bearer",
        "id_token": "id",
    });
    fake.script(Endpoint::Token, [Reply::Json(200, answer)]);
    let rt = fake.issue_refresh_token("u1", "t1");
    let response =
        client.get("/me").with_session(&signed_in(Some(&rt), expired())).dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    let stored = written_session(&response).unwrap();
    assert_eq!(stored["accessToken"], "new-access-token");
    assert_eq!(stored["refreshToken"], json!(rt));
}

/// `invalid_grant` without Redis: 401 without retry, and the session cookie is NOT removed (another
/// instance may just have rotated the token and written a newer cookie, which a removal arriving
/// later would overwrite: the review's sign-out race). The refusal is remembered for 30 s, so
/// the dead token costs one call per instance, however many requests carry it.
#[rocket::async_test]
async fn a_refused_refresh_token_answers_401_keeps_the_cookie_and_is_remembered() {
    let refusals =
        [Reply::InvalidGrant(Some("Refresh token expired".into())), Reply::InvalidGrant(None)];
    for (i, refusal) in refusals.into_iter().enumerate() {
        let fake = FakeWristband::start().await;
        let client = client(&fake).await;
        fake.script(Endpoint::Token, [refusal]);
        let rt = fake.issue_refresh_token("u1", "t1");
        let data = signed_in(Some(&rt), expired());
        for round in 0..5 {
            let response = client.get("/me").with_session(&data).dispatch().await;
            assert_eq!(response.status(), Status::Unauthorized, "refusal #{i}, round {round}");
            assert!(!removes_session(&response), "refusal #{i}: the cookie is kept");
        }
        assert_eq!(fake.calls(Endpoint::Token), 1, "refusal #{i}: one call, no retry");
    }
}

/// Another 4xx is not about the refresh token (a wrong client secret on this instance, a bad
/// request): no retry, 401, and the session is kept for when the instance is fixed.
#[rocket::async_test]
async fn another_4xx_answers_401_without_retrying_and_keeps_the_session() {
    let others = [
        Reply::Json(401, json!({ "error": "invalid_client", "error_description": "bad" })),
        Reply::Json(400, json!({ "error": "invalid_request" })),
        Reply::Status(403),
    ];
    for (i, other) in others.into_iter().enumerate() {
        let fake = FakeWristband::start().await;
        let client = client(&fake).await;
        fake.script(Endpoint::Token, [other]);
        let rt = fake.issue_refresh_token("u1", "t1");
        let data = signed_in(Some(&rt), expired());
        let response = client.get("/me").with_session(&data).dispatch().await;
        assert_eq!(response.status(), Status::Unauthorized, "#{i}");
        assert!(!removes_session(&response), "#{i}: the session is kept");
        assert_eq!(fake.calls(Endpoint::Token), 1, "#{i}: no retry on a 4xx");
        // Fixed: the next request refreshes with the same (unspent) refresh token.
        let response = client.get("/me").with_session(&data).dispatch().await;
        assert_eq!(response.status(), Status::Ok, "#{i}");
    }
}

/// Wristband rotates refresh tokens, and a 5xx may come after it rotated one: the refresh is
/// not retried, the session is kept, and the token is not presented again while the failure
/// is remembered (30 s).
#[rocket::async_test]
async fn a_5xx_refresh_is_not_retried_and_keeps_the_session() {
    for reply in [Reply::Status(500), Reply::Status(502), Reply::Status(503)] {
        let fake = FakeWristband::start().await;
        let client = client(&fake).await;
        fake.script(Endpoint::Token, [reply.clone()]);
        let rt = fake.issue_refresh_token("u1", "t1");
        let data = signed_in(Some(&rt), expired());
        for _ in 0..2 {
            let response = client.get("/me").with_session(&data).dispatch().await;
            assert_eq!(response.status(), Status::Unauthorized, "{reply:?}");
            assert!(!removes_session(&response), "{reply:?}: Wristband failing signs nobody out");
        }
        assert_eq!(fake.calls(Endpoint::Token), 1, "{reply:?}: presented again");
    }
}

#[rocket::async_test]
async fn a_request_with_the_old_cookie_right_after_gets_the_same_new_tokens() {
    let fake = FakeWristband::start().await;
    let client = client(&fake).await;
    let rt = fake.issue_refresh_token("u1", "t1");
    let data = signed_in(Some(&rt), expired());
    let first = client.get("/me").with_session(&data).dispatch().await;
    let first = body(first).await;
    // The browser had not stored the new cookie yet: the old one again.
    let second = client.get("/me").with_session(&data).dispatch().await;
    assert_eq!(second.status(), Status::Ok);
    assert_eq!(body(second).await, first);
    assert_eq!(fake.calls(Endpoint::Token), 1, "no replay of the spent refresh token");
}

/// 50 concurrent requests over real TCP, one slow refresh: exactly one call, 50 successes,
/// all with the same new tokens.
#[rocket::async_test]
async fn fifty_concurrent_requests_make_one_refresh_call() {
    let fake = FakeWristband::start().await;
    fake.set_delay(Endpoint::Token, Duration::from_millis(500));
    let server = server::Server::start(base(Some(&fake))).await;
    let rt = fake.issue_refresh_token("u1", "t1");
    let codec = SessionCodec::new(&session_options()).unwrap();
    let cookie = format!("session={}", codec.seal(&signed_in(Some(&rt), expired())).unwrap());

    let http = reqwest::Client::new();
    let requests = (0..50).map(|_| {
        let http = http.clone();
        let url = format!("{}/me", server.base);
        let cookie = cookie.clone();
        rocket::tokio::spawn(async move {
            let response = http.get(url).header("Cookie", cookie).send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.ok())
        })
    });
    let mut tokens = Vec::new();
    for request in requests.collect::<Vec<_>>() {
        let (status, body) = request.await.unwrap();
        assert_eq!(status, 200);
        tokens.push(body.unwrap()["accessToken"].clone());
    }
    assert_eq!(tokens.len(), 50);
    assert!(tokens.iter().all(|t| *t == tokens[0] && *t != "old-access-token"));
    assert_eq!(fake.calls(Endpoint::Token), 1);
    assert_eq!(fake.refresh_tokens_spent(), 1);
    server.stop().await;
}

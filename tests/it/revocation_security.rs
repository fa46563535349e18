//! What `/auth/logout` revokes with revocation on, over real TCP against a real `redis-server`
//! and the fake Wristband (review findings 4 and 5):
//!
//! - an anonymous session is only destroyed: no revocation entry, so unauthenticated clients
//!   cannot grow every instance's revocation table; a signed-in one is revoked everywhere;
//! - the refresh token in the cookie is revoked at Wristband even when the session cannot be
//!   loaded (Redis unreachable under `refuse`, or the session revoked).
#![cfg(all(feature = "fake-wristband", feature = "redis"))]

use crate::support::redis as redis_server;
use crate::support::server;

use std::time::{Duration, Instant};

use redis_server::RedisServer;
use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::StatusCode;
use rocket::serde::json::Json;
use serde_json::{json, Value};
use server::Server;
use wristband_rocket_session::testing::{callback_data, Endpoint, FakeWristband};
use wristband_rocket_session::{
    AuthenticatedSession, RevocationOptions, Revocations, Session, SessionOptions,
    UnavailablePolicy, WristbandAuth, WristbandSession,
};

/// An anonymous visitor: the session gets data (and so, written, an id).
#[get("/visit")]
fn visit(session: Session<'_>) {
    session.insert("cart", 1).unwrap();
}

/// A signed-in user whose session holds `test-refresh-token`.
#[post("/login")]
fn login(session: Session<'_>) {
    session.from_callback(&callback_data("u1", "t1"), None).unwrap();
}

#[get("/me")]
fn me(session: AuthenticatedSession<'_>) -> String {
    session.user_id()
}

#[post("/revoke-session")]
async fn revoke_session(session: Session<'_>, revocations: Revocations) -> &'static str {
    let id = session.session_id().expect("the session has an id");
    revocations.revoke_session(&id).await.expect("Redis is up");
    "revoked"
}

#[get("/stats")]
fn stats(revocations: Revocations) -> Json<Value> {
    let stats = revocations.stats();
    Json(json!({
        "entries": stats.entries, "sessions": stats.sessions, "users": stats.users,
        "caught_up": stats.caught_up,
    }))
}

async fn instance(redis: &RedisServer, fake: &FakeWristband) -> Server {
    let session = SessionOptions {
        secrets: "revocation-security-secret-0123456789-abc".into(),
        secure: false,
        revocation: Some(RevocationOptions {
            url: redis.url(),
            on_unavailable: UnavailablePolicy::Refuse,
            ..RevocationOptions::default()
        }),
        ..SessionOptions::default()
    };
    let rocket = rocket::build()
        .attach(WristbandSession::custom(session))
        .attach(WristbandAuth::custom(fake.auth_options()))
        .mount("/auth", WristbandAuth::routes())
        .mount("/", routes![visit, login, me, revoke_session, stats]);
    Server::start(rocket).await
}

/// A client that shows redirects instead of following them, and keeps no cookies.
fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The session cookie (`session=<value>`) a response set.
fn session_cookie(resp: &reqwest::Response) -> String {
    resp.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("session=") && !v.starts_with("session=;"))
        .map(|v| v.split(';').next().unwrap().to_string())
        .expect("the response writes the session cookie")
}

/// Whether a response removes the session cookie.
fn removes_cookie(resp: &reqwest::Response) -> bool {
    resp.headers().get_all(SET_COOKIE).iter().any(|v| {
        let v = v.to_str().unwrap();
        v.starts_with("session=") && v.contains("Max-Age=0")
    })
}

async fn get(server: &Server, path: &str, cookie: &str) -> reqwest::Response {
    client().get(server.url(path)).header(COOKIE, cookie).send().await.unwrap()
}

async fn sign_in(server: &Server) -> String {
    let resp = client().post(server.url("/login")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    session_cookie(&resp)
}

async fn stats_of(server: &Server) -> Value {
    client().get(server.url("/stats")).send().await.unwrap().json().await.unwrap()
}

/// Waits until `server` answers `GET /me` with `cookie` with `want`.
async fn until_me(server: &Server, cookie: &str, want: StatusCode) {
    let start = Instant::now();
    loop {
        let status = get(server, "/me", cookie).await.status();
        if status == want {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "still {status}, want {want}");
        rocket::tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until `server`'s stats say `caught_up == want`.
async fn until_caught_up(server: &Server, want: bool) {
    let start = Instant::now();
    while stats_of(server).await["caught_up"] != json!(want) {
        assert!(start.elapsed() < Duration::from_secs(10), "caught_up never became {want}");
        rocket::tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Review finding 4: 300 anonymous visit + logout pairs used to leave 300 revoked sessions
/// on every instance.
#[rocket::async_test]
async fn anonymous_logouts_add_no_revocation_and_a_signed_in_logout_still_does() {
    let redis = RedisServer::start();
    let fake = FakeWristband::start().await;
    let a = instance(&redis, &fake).await;
    let b = instance(&redis, &fake).await;

    for _ in 0..300 {
        let resp = client().get(a.url("/visit")).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let anonymous = session_cookie(&resp);
        let resp = get(&a, "/auth/logout", &anonymous).await;
        assert_eq!(resp.status(), StatusCode::FOUND);
        assert!(removes_cookie(&resp), "an anonymous logout still destroys the session");
    }
    let stats = stats_of(&a).await;
    eprintln!("after 300 anonymous logouts: {stats}");
    assert_eq!((&stats["sessions"], &stats["entries"]), (&json!(0), &json!(0)), "{stats}");

    // A signed-in logout on A revokes the session: its cookie is refused on B too.
    let signed_in = sign_in(&a).await;
    assert_eq!(get(&b, "/me", &signed_in).await.status(), StatusCode::OK);
    let resp = get(&a, "/auth/logout", &signed_in).await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert!(removes_cookie(&resp));
    assert_eq!(get(&a, "/me", &signed_in).await.status(), StatusCode::UNAUTHORIZED);
    until_me(&b, &signed_in, StatusCode::UNAUTHORIZED).await;
    // Once B has the signed-in revocation, it holds that one only: nothing else was published.
    for server in [&a, &b] {
        let stats = stats_of(server).await;
        assert_eq!((&stats["sessions"], &stats["entries"]), (&json!(1), &json!(1)), "{stats}");
    }
    // Only the signed-in session had a refresh token to revoke at Wristband.
    assert_eq!(fake.calls(Endpoint::Revoke), 1);
    assert_eq!(fake.revoked_tokens(), ["test-refresh-token"]);
    a.stop().await;
    b.stop().await;
}

/// Review finding 5: with Redis unreachable under `refuse`, the request's session loads empty
/// (withheld), and logout used to read the refresh token from that empty session, so it never
/// revoked it at Wristband.
#[rocket::async_test]
async fn logout_while_redis_is_unreachable_still_revokes_the_refresh_token() {
    let mut redis = RedisServer::start();
    let fake = FakeWristband::start().await;
    let a = instance(&redis, &fake).await;
    let cookie = sign_in(&a).await;
    assert_eq!(get(&a, "/me", &cookie).await.status(), StatusCode::OK);

    redis.kill();
    until_caught_up(&a, false).await;
    // The session cannot be loaded: withheld, its cookie kept.
    let resp = get(&a, "/me", &cookie).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(!removes_cookie(&resp));

    let resp = get(&a, "/auth/logout", &cookie).await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert!(removes_cookie(&resp));
    eprintln!("revoke calls at Wristband: {}", fake.calls(Endpoint::Revoke));
    assert_eq!(fake.calls(Endpoint::Revoke), 1, "the sealed refresh token is revoked");
    assert_eq!(fake.revoked_tokens(), ["test-refresh-token"]);
    // The signed-in session is revoked too: held here, written to Redis on reconnect.
    assert_eq!(stats_of(&a).await["sessions"], json!(1));
    redis.start_again();
    until_caught_up(&a, true).await;
    assert_eq!(get(&a, "/me", &cookie).await.status(), StatusCode::UNAUTHORIZED);
    let fresh = instance(&redis, &fake).await;
    assert_eq!(stats_of(&fresh).await["sessions"], json!(1));
    assert_eq!(get(&fresh, "/me", &cookie).await.status(), StatusCode::UNAUTHORIZED);
    a.stop().await;
    fresh.stop().await;
}

/// A revoked session loads empty too; its refresh token is still revoked at logout (and no
/// second revocation entry is needed to refuse it).
#[rocket::async_test]
async fn logout_with_a_revoked_session_still_revokes_the_refresh_token() {
    let redis = RedisServer::start();
    let fake = FakeWristband::start().await;
    let a = instance(&redis, &fake).await;
    let cookie = sign_in(&a).await;
    let resp = client().post(a.url("/revoke-session")).header(COOKIE, &cookie).send().await;
    assert_eq!(resp.unwrap().status(), StatusCode::OK);
    assert_eq!(get(&a, "/me", &cookie).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(fake.calls(Endpoint::Revoke), 0);

    let resp = get(&a, "/auth/logout", &cookie).await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(fake.calls(Endpoint::Revoke), 1, "the sealed refresh token is revoked");
    assert_eq!(fake.revoked_tokens(), ["test-refresh-token"]);
    assert_eq!(stats_of(&a).await["sessions"], json!(1));
    a.stop().await;
}

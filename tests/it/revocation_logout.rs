//! With the `fake-wristband` (so `auth`) and `redis` features, `Wristband::logout()` revokes
//! the signed-in session: a copy of the cookie taken before the logout is refused afterwards
//! (real `redis-server`, fake Wristband).
#![cfg(all(feature = "fake-wristband", feature = "redis"))]

use crate::support::redis as redis_server;

use redis_server::RedisServer;
use rocket::http::Status;
use rocket::local::asynchronous::Client;
use wristband_rocket_session::testing::{callback_data, FakeWristband};
use wristband_rocket_session::{
    AuthenticatedSession, RevocationOptions, Revocations, Session, SessionOptions, WristbandAuth,
    WristbandSession,
};

#[post("/login")]
fn login(session: Session<'_>) {
    session.from_callback(&callback_data("u1", "t1"), None).unwrap();
}

#[get("/me")]
fn me(session: AuthenticatedSession<'_>) -> String {
    session.user_id()
}

#[rocket::async_test]
async fn logout_revokes_the_session_so_a_copied_cookie_is_refused() {
    let redis = RedisServer::start();
    let fake = FakeWristband::start().await;
    let session = SessionOptions {
        secrets: "revocation-logout-secret-0123456789-abcd".into(),
        secure: false,
        revocation: Some(RevocationOptions { url: redis.url(), ..RevocationOptions::default() }),
        ..SessionOptions::default()
    };
    let figment = rocket::Config::figment().merge(("log_level", "off"));
    let rocket = rocket::custom(figment)
        .attach(WristbandSession::custom(session))
        .attach(WristbandAuth::custom(fake.auth_options()))
        .mount("/auth", WristbandAuth::routes())
        .mount("/", routes![login, me]);
    let client = Client::untracked(rocket).await.unwrap();
    let response = client.post("/login").dispatch().await;
    let copied = response.cookies().get("session").unwrap().clone();
    assert_eq!(client.get("/me").cookie(copied.clone()).dispatch().await.status(), Status::Ok);

    let response = client.get("/auth/logout").cookie(copied.clone()).dispatch().await;
    assert_eq!(response.status(), Status::Found);
    let stats = client.rocket().state::<Revocations>().unwrap().stats();
    assert_eq!(stats.sessions, 1, "the logout revoked the session");
    // The copy taken before the logout no longer signs anyone in.
    let response = client.get("/me").cookie(copied).dispatch().await;
    assert_eq!(response.status(), Status::Unauthorized);
}

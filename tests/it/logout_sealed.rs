#![cfg(feature = "fake-wristband")]
//! Logout of a session the request cannot load (security review, finding 5): a signed-in
//! session whose cookie has expired is still read from its sealed cookie, so its refresh token
//! is revoked at Wristband and the tenant's logout page is used. Before, logout saw an empty
//! session, revoked nothing, and sent the browser to the application's login page. (Redis
//! unreachable and revoked sessions: `tests/it/revocation_security.rs`.)

use std::time::Duration;

use rocket::http::Status;
use rocket::local::asynchronous::Client;
use wristband_rocket_session::testing::{callback_data, Endpoint, FakeWristband};
use wristband_rocket_session::{
    AuthenticatedSession, Session, SessionOptions, WristbandAuth, WristbandSession,
};

#[post("/login")]
fn login(session: Session<'_>) {
    session.from_callback(&callback_data("u1", "t1"), None).unwrap();
}

#[post("/visit")]
fn visit(session: Session<'_>) {
    session.insert("visits", 1).unwrap();
}

#[get("/me")]
fn me(session: AuthenticatedSession<'_>) -> String {
    session.user_id()
}

async fn app(fake: &FakeWristband) -> Client {
    let session = SessionOptions {
        secrets: "logout-sealed-test-secret-0123456789abcdef".into(),
        secure: false,
        max_age: 1,
        ..SessionOptions::default()
    };
    let figment = rocket::Config::figment().merge(("log_level", "off"));
    let rocket = rocket::custom(figment)
        .attach(WristbandSession::custom(session))
        .attach(WristbandAuth::custom(fake.auth_options()))
        .mount("/auth", WristbandAuth::routes())
        .mount("/", routes![login, visit, me]);
    Client::untracked(rocket).await.unwrap()
}

#[rocket::async_test]
async fn logout_with_an_expired_cookie_revokes_its_refresh_token_at_its_tenant() {
    let fake = FakeWristband::start().await;
    let client = app(&fake).await;
    let cookie = client.post("/login").dispatch().await.cookies().get("session").unwrap().clone();
    assert_eq!(client.get("/me").cookie(cookie.clone()).dispatch().await.status(), Status::Ok);

    rocket::tokio::time::sleep(Duration::from_millis(2100)).await;
    let response = client.get("/me").cookie(cookie.clone()).dispatch().await;
    assert_eq!(response.status(), Status::Unauthorized, "the cookie has expired");

    let response = client.get("/auth/logout").cookie(cookie).dispatch().await;
    assert_eq!(response.status(), Status::Found);
    assert_eq!(fake.calls(Endpoint::Revoke), 1, "the sealed refresh token was revoked");
    assert_eq!(fake.revoked_tokens(), ["test-refresh-token"]);
    let location = response.headers().get_one("Location").unwrap();
    let tenant = fake.tenant_url("test-tenant");
    assert!(location.starts_with(&format!("{tenant}/api/v1/logout?")), "{location}");
}

#[rocket::async_test]
async fn logout_of_an_anonymous_session_revokes_nothing() {
    let fake = FakeWristband::start().await;
    let client = app(&fake).await;
    let cookie = client.post("/visit").dispatch().await.cookies().get("session").unwrap().clone();
    let response = client.get("/auth/logout").cookie(cookie).dispatch().await;
    assert_eq!(response.status(), Status::Found);
    assert_eq!(fake.calls(Endpoint::Revoke), 0);
}

//! Configuration from the environment: `ROCKET_WRISTBAND_SESSION` and `ROCKET_PROFILE=release`
//! set before `rocket::build()`, in a child process started with them (`support/child_env.rs`).

use rocket::http::{Cookie, Status};
use rocket::local::asynchronous::Client;
use rocket::{get, routes};
use serde_json::json;
use wristband_rocket_session::{Session, SessionCodec, SessionOptions, WristbandSession};

use crate::support::child_env;

/// 40 characters, only ones that need no quoting inside the variable's `{..}` syntax.
const SECRET: &str = "env-secret-0123456789-abcdefghijklmnopqr";

#[get("/who")]
fn who(session: Session<'_>) -> String {
    session.get::<String>("who").expect("a string").unwrap_or_else(|| "none".into())
}

#[get("/login")]
fn login(session: Session<'_>) -> &'static str {
    session.insert("who", "carol").expect("fits");
    "ok"
}

#[tokio::test]
async fn environment_configures_release_sessions() {
    assert_eq!(SECRET.len(), 40);
    // The whole configuration comes from the environment, as in production.
    let session = format!(r#"{{secrets=["{SECRET}"], cookie_name="envsess"}}"#);
    if !child_env::in_child(
        "environment_configures_release_sessions",
        &[("ROCKET_WRISTBAND_SESSION", &session), ("ROCKET_PROFILE", "release")],
        &[],
    ) {
        return;
    }

    let rocket =
        rocket::build().attach(WristbandSession::fairing()).mount("/", routes![who, login]);
    let client = match Client::tracked(rocket).await {
        Ok(client) => client,
        Err(e) => panic!("launch failed: {:?}", e.kind()),
    };
    assert_eq!(client.rocket().figment().profile(), "release");

    // A write uses the cookie name from the environment and Rocket.toml's `secure = true`.
    let response = client.get("/login").dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    let cookies: Vec<Cookie<'static>> = response
        .headers()
        .get("Set-Cookie")
        .map(|h| Cookie::parse(h.to_string()).expect("a parsable Set-Cookie"))
        .collect();
    let names: Vec<&str> = cookies.iter().map(|c| c.name()).collect();
    assert_eq!(names, ["envsess"]);
    assert_eq!(cookies[0].secure(), Some(true));
    assert_eq!(cookies[0].http_only(), Some(true));

    // A separately built codec with the same secret and name opens what the app wrote...
    let options = SessionOptions {
        secrets: SECRET.into(),
        cookie_name: "envsess".into(),
        ..SessionOptions::default()
    };
    let codec = SessionCodec::new(&options).expect("valid options");
    let opened = codec.open(cookies[0].value()).expect("the app's cookie opens");
    assert_eq!(opened.get("who"), Some(&json!("carol")));

    // ...and a cookie it seals opens in a handler (it replaces the tracked one).
    let session = json!({ "who": "dave" }).as_object().unwrap().clone();
    let sealed = codec.seal(&session).expect("seals");
    let response = client.get("/who").cookie(Cookie::new("envsess", sealed)).dispatch().await;
    assert_eq!(response.into_string().await.as_deref(), Some("dave"));

    // A value sealed for another cookie name does not open as `envsess` (the name is bound in).
    let other = SessionCodec::new(&SessionOptions { cookie_name: "other".into(), ..options })
        .expect("valid options");
    let moved = other.seal(&session).expect("seals");
    let response = client.get("/who").cookie(Cookie::new("envsess", moved)).dispatch().await;
    assert_eq!(response.into_string().await.as_deref(), Some("none"));
}

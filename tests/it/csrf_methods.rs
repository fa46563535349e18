//! Which methods `AuthenticatedSession` checks the CSRF header on, with CSRF protection turned
//! on from TOML: by default the state-changing ones only (every method but GET, HEAD, OPTIONS and
//! TRACE), so a page opened by a link or by the redirect after sign-in is not a 403; with
//! `csrf_check_all_methods = true`, every method (Wristband's SDK behaviour). HEAD goes to the
//! GET route, as Rocket routes it when no HEAD route exists.

use rocket::figment::providers::{Format, Toml};
use rocket::figment::Figment;
use rocket::http::{Header, Method, Status};
use rocket::local::asynchronous::Client;
use serde_json::{json, Map, Value};
use wristband_rocket_session::{
    catchers, AuthenticatedSession, SessionCodec, SessionOptions, WristbandSession,
};

const SECRET: &str = "csrf-methods-test-secret-0123456789abcdef";

/// The CSRF token sealed into the test sessions.
fn token() -> String {
    "0123456789abcdef".repeat(4)
}

fn answer(method: &str, session: &AuthenticatedSession<'_>) -> String {
    format!("{method} {}", session.user_id())
}

#[get("/guarded")]
fn guarded_get(session: AuthenticatedSession<'_>) -> String {
    answer("GET", &session)
}

#[options("/guarded")]
fn guarded_options(session: AuthenticatedSession<'_>) -> String {
    answer("OPTIONS", &session)
}

#[post("/guarded")]
fn guarded_post(session: AuthenticatedSession<'_>) -> String {
    answer("POST", &session)
}

#[put("/guarded")]
fn guarded_put(session: AuthenticatedSession<'_>) -> String {
    answer("PUT", &session)
}

#[patch("/guarded")]
fn guarded_patch(session: AuthenticatedSession<'_>) -> String {
    answer("PATCH", &session)
}

#[delete("/guarded")]
fn guarded_delete(session: AuthenticatedSession<'_>) -> String {
    answer("DELETE", &session)
}

/// The app with `extra` TOML lines added to a `wristband_session` table that turns CSRF
/// protection on (profile `debug`).
async fn client(extra: &str) -> Client {
    let toml = format!(
        "[debug.wristband_session]\n\
         secrets = \"{SECRET}\"\n\
         secure = false\n\
         enable_csrf_protection = true\n\
         {extra}\n"
    );
    let figment = Figment::from(rocket::Config::default())
        .merge(Toml::string(&toml).nested())
        .merge(("log_level", "off"))
        .select("debug");
    let rocket = rocket::custom(figment)
        .attach(WristbandSession::fairing())
        .register("/", catchers())
        .mount(
            "/",
            routes![
                guarded_get,
                guarded_options,
                guarded_post,
                guarded_put,
                guarded_patch,
                guarded_delete
            ],
        );
    Client::untracked(rocket).await.expect("the TOML configuration launches")
}

/// A signed-in session holding [`token()`], sealed as the app seals it.
fn session_cookie() -> String {
    let options = SessionOptions { secrets: SECRET.into(), ..SessionOptions::default() };
    let data: Map<String, Value> = json!({
        "isAuthenticated": true, "userId": "user-m", "tenantId": "tenant-m", "csrfToken": token()
    })
    .as_object()
    .unwrap()
    .clone();
    SessionCodec::new(&options).unwrap().seal(&data).unwrap()
}

/// The status of `method /guarded` with the signed-in session, and the CSRF header `header`.
async fn status(client: &Client, method: Method, header: Option<&str>) -> Status {
    let mut request = client.req(method, "/guarded").cookie(("session", session_cookie()));
    if let Some(value) = header {
        request = request.header(Header::new("X-CSRF-TOKEN", value.to_string()));
    }
    request.dispatch().await.status()
}

/// TRACE is safe too, but Rocket's routes cannot take it.
const SAFE: [Method; 3] = [Method::Get, Method::Head, Method::Options];
const UNSAFE: [Method; 4] = [Method::Post, Method::Put, Method::Patch, Method::Delete];

#[rocket::async_test]
async fn by_default_only_state_changing_methods_need_the_csrf_header() {
    let client = client("").await;
    for method in SAFE {
        assert_eq!(status(&client, method, None).await, Status::Ok, "{method} without header");
        // The check is skipped, not inverted: the right header passes too.
        assert_eq!(status(&client, method, Some(&token())).await, Status::Ok, "{method}");
    }
    for method in UNSAFE {
        assert_eq!(status(&client, method, None).await, Status::Forbidden, "{method} no header");
        let wrong = status(&client, method, Some("not-the-token")).await;
        assert_eq!(wrong, Status::Forbidden, "{method} with a wrong header");
        let right = status(&client, method, Some(&token())).await;
        assert_eq!(right, Status::Ok, "{method} with the header");
    }
    // The answer is the route's: the guard succeeded on a GET without the header.
    let response = client.get("/guarded").cookie(("session", session_cookie())).dispatch().await;
    assert_eq!(response.into_string().await.as_deref(), Some("GET user-m"));
}

#[rocket::async_test]
async fn csrf_check_all_methods_checks_get_too() {
    let client = client("csrf_check_all_methods = true").await;
    for method in SAFE.into_iter().chain(UNSAFE) {
        assert_eq!(status(&client, method, None).await, Status::Forbidden, "{method} no header");
        let wrong = status(&client, method, Some("not-the-token")).await;
        assert_eq!(wrong, Status::Forbidden, "{method} with a wrong header");
        let right = status(&client, method, Some(&token())).await;
        assert_eq!(right, Status::Ok, "{method} with the header");
    }
}

#[rocket::async_test]
async fn csrf_check_all_methods_false_from_toml_is_the_default() {
    let client = client("csrf_check_all_methods = false").await;
    assert_eq!(status(&client, Method::Get, None).await, Status::Ok);
    assert_eq!(status(&client, Method::Post, None).await, Status::Forbidden);
}

#[rocket::async_test]
async fn csrf_check_all_methods_of_the_wrong_type_aborts_launch() {
    let toml = format!(
        "[debug.wristband_session]\nsecrets = \"{SECRET}\"\ncsrf_check_all_methods = \"yes\"\n"
    );
    let figment = Figment::from(rocket::Config::default())
        .merge(Toml::string(&toml).nested())
        .merge(("log_level", "off"))
        .select("debug");
    let rocket = rocket::custom(figment).attach(WristbandSession::fairing());
    match Client::untracked(rocket).await {
        Ok(_) => panic!("a string for a bool launched"),
        Err(e) => assert!(matches!(e.kind(), rocket::error::ErrorKind::FailedFairings(_))),
    }
}

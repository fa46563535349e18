//! The response phase skips requests that never touched their session (no guard created the
//! request-local state), by a count of live states per slot of the requests' addresses. These
//! tests show that no request that did touch it is ever skipped: one whose guard changed the
//! session and then forwarded to a route without a guard, one whose guard refused the cookie
//! and forwarded to a catcher, and many touched and untouched requests in flight at once.

use rocket::futures::future::join_all;
use rocket::http::{Cookie, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use rocket::request::{FromRequest, Outcome};
use rocket::Request;
use wristband_rocket_session::{Session, SessionOptions, WristbandSession};

const SECRET: &str = "untouched-test-secret-0123456789abcdefghij";

#[get("/plain")]
fn plain() -> &'static str {
    "plain"
}

#[get("/write")]
fn write(session: Session<'_>) -> String {
    let n = session.get::<u64>("n").ok().flatten().unwrap_or(0) + 1;
    session.insert("n", n).unwrap();
    n.to_string()
}

/// A guard that writes to the session and then forwards (to a route without a guard).
struct MarksThenForwards;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for MarksThenForwards {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let session = req.guard::<Session<'_>>().await.unwrap();
        session.insert("seen", true).unwrap();
        Outcome::Forward(Status::NotFound)
    }
}

/// A guard that reads the session (so a refused cookie is noticed) and then forwards.
struct ReadsThenForwards;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ReadsThenForwards {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let session = req.guard::<Session<'_>>().await.unwrap();
        let _ = session.is_authenticated();
        Outcome::Forward(Status::Unauthorized)
    }
}

#[get("/forwarded", rank = 1)]
fn forwarded_first(_guard: MarksThenForwards) -> &'static str {
    "never"
}

#[get("/forwarded", rank = 2)]
fn forwarded_second() -> &'static str {
    "second"
}

#[get("/refused")]
fn refused(_guard: ReadsThenForwards) -> &'static str {
    "never"
}

async fn client() -> Client {
    let options = SessionOptions { secrets: SECRET.into(), ..SessionOptions::default() };
    let rocket = rocket::build()
        .attach(WristbandSession::custom(options))
        .mount("/", routes![plain, write, forwarded_first, forwarded_second, refused]);
    Client::untracked(rocket).await.unwrap()
}

/// A request fairing that writes to the session of `/plain?mark` requests, before routing
/// (Rocket's local client moves the request between its request fairings and its dispatch).
#[rocket::async_test]
async fn a_change_made_by_a_request_fairing_is_written() {
    let options = SessionOptions { secrets: SECRET.into(), ..SessionOptions::default() };
    let rocket = rocket::build()
        .attach(WristbandSession::custom(options))
        .attach(rocket::fairing::AdHoc::on_request("mark", |req, _| {
            Box::pin(async move {
                if req.uri().query().is_some_and(|q| q.as_str() == "mark") {
                    let session = req.guard::<Session<'_>>().await.unwrap();
                    session.insert("marked", true).unwrap();
                }
            })
        }))
        .mount("/", routes![plain]);
    let client = Client::untracked(rocket).await.unwrap();
    let response = client.get("/plain?mark").dispatch().await;
    let cookies = session_cookies(&response);
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    let response = client.get("/plain").dispatch().await;
    assert!(session_cookies(&response).is_empty());
}

fn session_cookies(response: &LocalResponse<'_>) -> Vec<String> {
    response
        .headers()
        .get("Set-Cookie")
        .filter(|h| h.starts_with("session="))
        .map(str::to_string)
        .collect()
}

#[rocket::async_test]
async fn a_change_made_before_a_forward_is_written() {
    let client = client().await;
    let response = client.get("/forwarded").dispatch().await;
    let cookies = session_cookies(&response);
    assert_eq!(response.into_string().await.as_deref(), Some("second"));
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    assert!(!cookies[0].starts_with("session=;"), "{cookies:?}");
}

#[rocket::async_test]
async fn a_refused_cookie_is_removed_even_when_the_route_forwarded_to_a_catcher() {
    let client = client().await;
    let forged = Cookie::new("session", "not-a-sealed-value");
    let response = client.get("/refused").cookie(forged.clone()).dispatch().await;
    assert_eq!(response.status(), Status::Unauthorized);
    let cookies = session_cookies(&response);
    assert!(cookies.iter().any(|c| c.starts_with("session=;")), "removal expected: {cookies:?}");
    // A route that never touches the session leaves the same cookie alone.
    let response = client.get("/plain").cookie(forged).dispatch().await;
    assert!(session_cookies(&response).is_empty());
}

#[rocket::async_test]
async fn touched_and_untouched_requests_in_flight_together_are_each_answered_right() {
    let client = client().await;
    for _ in 0..5 {
        let requests = (0..200).map(|i| {
            let uri = if i % 2 == 0 { "/write" } else { "/plain" };
            let client = &client;
            async move {
                let response = client.get(uri).dispatch().await;
                (uri, session_cookies(&response))
            }
        });
        for (uri, cookies) in join_all(requests).await {
            match uri {
                "/write" => assert_eq!(cookies.len(), 1, "/write: {cookies:?}"),
                _ => assert!(cookies.is_empty(), "/plain: {cookies:?}"),
            }
        }
    }
}

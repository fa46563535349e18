//! Sessions over real TCP: a Rocket server on 127.0.0.1 driven by `reqwest` clients.
//!
//! Covers many concurrent cookie-keeping clients (no lost or crossed writes), the `Set-Cookie`
//! headers a real client receives (attributes, one per response), removal through `destroy()`
//! as a real cookie store applies it, and oversized `Cookie` headers getting a clean answer.

use crate::support::server;

use server::Server;

use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::StatusCode;
use rocket::http::CookieJar;
use wristband_rocket_session::{Session, SessionOptions, WristbandSession};

const SECRET: &str = "tcp-test-secret-0123456789-abcdefghijklmnop";

/// Adds one to the session's counter and answers the new value.
#[post("/incr")]
fn incr(session: Session<'_>) -> String {
    let n: u64 = session.get("count").unwrap().unwrap_or(0) + 1;
    session.insert("count", n).unwrap();
    n.to_string()
}

/// Answers `<count> <whether a session cookie came with the request>`; changes nothing.
#[get("/count")]
fn count(session: Session<'_>, jar: &CookieJar<'_>) -> String {
    let n: u64 = session.get("count").unwrap().unwrap_or(0);
    format!("{n} {}", jar.get("session").is_some())
}

#[post("/destroy")]
fn destroy(session: Session<'_>) -> &'static str {
    session.destroy();
    "bye"
}

/// Serves the test routes with `options` over real TCP.
async fn launch(options: SessionOptions) -> Server {
    let rocket = rocket::build()
        .attach(WristbandSession::custom(options))
        .mount("/", routes![incr, count, destroy]);
    Server::start(rocket).await
}

fn options(secure: bool) -> SessionOptions {
    SessionOptions { secrets: SECRET.into(), secure, ..SessionOptions::default() }
}

fn cookie_client() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).build().unwrap()
}

fn plain_client() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}

/// The `Set-Cookie` header values of a response.
fn set_cookies(resp: &reqwest::Response) -> Vec<String> {
    resp.headers().get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_string()).collect()
}

/// The attributes of a `Set-Cookie` value after `name=value`, trimmed.
fn attributes(set_cookie: &str) -> Vec<String> {
    set_cookie.split(';').skip(1).map(|a| a.trim().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_clients_keep_their_own_counts() {
    let server = launch(options(false)).await;

    // 50 clients, each with its own cookie store, each doing 20 writes in a row.
    let mut tasks = Vec::new();
    for client_no in 0..50 {
        let incr_url = server.url("/incr");
        let count_url = server.url("/count");
        tasks.push(rocket::tokio::spawn(async move {
            let client = cookie_client();
            for expected in 1..=20u64 {
                let resp = client
                    .post(&incr_url)
                    .send()
                    .await
                    .map_err(|e| format!("client {client_no}, write {expected}: {e}"))?;
                let status = resp.status();
                let body = resp.text().await.map_err(|e| e.to_string())?;
                if status != StatusCode::OK || body != expected.to_string() {
                    return Err(format!("client {client_no}, write {expected}: {status} `{body}`"));
                }
            }
            // A final read request sees all 20 writes of this client and no other's.
            let body = client
                .get(&count_url)
                .send()
                .await
                .map_err(|e| e.to_string())?
                .text()
                .await
                .map_err(|e| e.to_string())?;
            Ok::<String, String>(body)
        }));
    }
    let mut failures = Vec::new();
    for task in tasks {
        match task.await.expect("client task did not panic") {
            Ok(body) if body == "20 true" => {}
            Ok(body) => failures.push(format!("final read: `{body}`")),
            Err(e) => failures.push(e),
        }
    }
    assert!(failures.is_empty(), "{} failures, e.g. {:?}", failures.len(), &failures[..]);

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_cookie_attributes_over_tcp() {
    // secure = false: no `Secure`.
    let server = launch(SessionOptions { max_age: 1234, ..options(false) }).await;
    let client = plain_client();

    let resp = client.post(server.url("/incr")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let headers = set_cookies(&resp);
    assert_eq!(headers.len(), 1, "one Set-Cookie per response: {headers:?}");
    let header = &headers[0];
    assert!(header.starts_with("session="), "{header}");
    let attrs = attributes(header);
    for wanted in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=1234"] {
        assert!(attrs.iter().any(|a| a == wanted), "missing {wanted} in {header}");
    }
    assert!(!attrs.iter().any(|a| a.eq_ignore_ascii_case("secure")), "{header}");

    // Sending the cookie back: a read answers without any Set-Cookie, a write with exactly one.
    let pair = header.split(';').next().unwrap().to_string();
    let resp = client.get(server.url("/count")).header(COOKIE, &pair).send().await.unwrap();
    assert!(set_cookies(&resp).is_empty(), "read-only use writes nothing");
    assert_eq!(resp.text().await.unwrap(), "1 true");
    let resp = client.post(server.url("/incr")).header(COOKIE, &pair).send().await.unwrap();
    assert_eq!(set_cookies(&resp).len(), 1);
    assert_eq!(resp.text().await.unwrap(), "2");
    server.stop().await;

    // secure = true: `Secure` is there.
    let server = launch(options(true)).await;
    let resp = client.post(server.url("/incr")).send().await.unwrap();
    let headers = set_cookies(&resp);
    assert_eq!(headers.len(), 1, "{headers:?}");
    let attrs = attributes(&headers[0]);
    assert!(attrs.iter().any(|a| a == "Secure"), "{:?}", headers[0]);
    assert!(attrs.iter().any(|a| a == "Max-Age=3600"), "{:?}", headers[0]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_makes_a_real_cookie_store_drop_the_cookie() {
    let server = launch(options(false)).await;
    let client = cookie_client();

    // Two writes: the store keeps and sends the cookie.
    for _ in 0..2 {
        client.post(server.url("/incr")).send().await.unwrap().error_for_status().unwrap();
    }
    let body = client.get(server.url("/count")).send().await.unwrap().text().await.unwrap();
    assert_eq!(body, "2 true");

    // Destroy: a removal cookie for `session`, with the same path.
    let resp = client.post(server.url("/destroy")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let headers = set_cookies(&resp);
    assert_eq!(headers.len(), 1, "{headers:?}");
    assert!(headers[0].starts_with("session=;"), "{}", headers[0]);
    assert!(attributes(&headers[0]).iter().any(|a| a == "Path=/"), "{}", headers[0]);

    // The store dropped it: the next request carries no cookie and sees an empty session.
    let body = client.get(server.url("/count")).send().await.unwrap().text().await.unwrap();
    assert_eq!(body, "0 false");

    // A new write starts a new session from 1.
    let body = client.post(server.url("/incr")).send().await.unwrap().text().await.unwrap();
    assert_eq!(body, "1");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_cookie_headers_get_a_clean_answer() {
    let server = launch(options(false)).await;
    let client = plain_client();
    let clean = |status: StatusCode| status == StatusCode::OK || status.is_client_error();

    // A valid session to hide among many cookies.
    let resp = client.post(server.url("/incr")).send().await.unwrap();
    let pair = set_cookies(&resp)[0].split(';').next().unwrap().to_string();

    // One 16 KB session cookie: too long to be a session, so an empty one (or a 4xx).
    let huge = format!("session={}", "A".repeat(16 * 1024));
    let resp = client.get(server.url("/count")).header(COOKIE, huge).send().await;
    let resp = resp.expect("a 16 KB Cookie header gets an HTTP answer, not a dropped connection");
    let status = resp.status();
    assert!(clean(status), "16 KB cookie: {status}");
    if status == StatusCode::OK {
        let removal = set_cookies(&resp);
        assert_eq!(resp.text().await.unwrap(), "0 true");
        assert!(removal.iter().any(|h| h.starts_with("session=;")), "{removal:?}");
    }

    // 100 cookies of about 160 bytes each (16 KB in all), the valid session among them.
    let mut cookies: Vec<String> = (0..99).map(|i| format!("c{i}={}", "x".repeat(160))).collect();
    cookies.insert(50, pair);
    let header = cookies.join("; ");
    assert!(header.len() >= 16 * 1024, "{}", header.len());
    let resp = client.get(server.url("/count")).header(COOKIE, header).send().await;
    let resp = resp.expect("100 cookies get an HTTP answer, not a dropped connection");
    let status = resp.status();
    assert!(clean(status), "100 cookies: {status}");
    if status == StatusCode::OK {
        assert!(set_cookies(&resp).is_empty());
        assert_eq!(resp.text().await.unwrap(), "1 true");
    }

    // 100 junk cookies and a 16 KB junk value under the session's name at once.
    let mut cookies: Vec<String> = (0..100).map(|i| format!("j{i}=%00;;==")).collect();
    cookies.push(format!("session={}", "!".repeat(16 * 1024)));
    let resp = client.get(server.url("/count")).header(COOKIE, cookies.join("; ")).send().await;
    let status = resp.expect("junk cookies get an HTTP answer").status();
    assert!(clean(status), "junk cookies: {status}");

    // The server is still serving.
    let resp = client.get(server.url("/count")).send().await.unwrap();
    assert_eq!(resp.text().await.unwrap(), "0 false");
    server.stop().await;
}

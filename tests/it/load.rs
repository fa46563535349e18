//! Load and faults over real TCP: a Rocket server on 127.0.0.1 (port 0, the bound port read in
//! an `on_liftoff` hook) driven by `reqwest` clients.
//!
//! - Ignored (run by hand, see `docs/reliability.md`): 200 concurrent cookie-keeping clients
//!   on a read+write route for 60 s (`WRISTBAND_LOAD_SECS` changes it): zero errors, and this
//!   process's memory (VmRSS / VmHWM from `/proc/self/status`) flat between 1/6 of the run and
//!   its end.
//! - Always: a handler that panics after changing the session answers 500, writes no cookie,
//!   and the server keeps serving (the client keeps its previous session); 100 cookies, in one
//!   `Cookie` header or in 100 of them, and a 16 KB `Cookie` header get a clean answer.

use crate::support::server;

use server::Server;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderValue, COOKIE, SET_COOKIE};
use reqwest::StatusCode;
use wristband_rocket_session::{Session, SessionOptions, WristbandSession};

const SECRET: &str = "load-test-secret-0123456789-abcdefghijklmno";

/// Reads and writes: adds one to the session's counter and answers the new value.
#[post("/incr")]
fn incr(session: Session<'_>) -> String {
    let n: u64 = session.get("count").unwrap().unwrap_or(0) + 1;
    session.insert("count", n).unwrap();
    n.to_string()
}

/// Reads only: the counter (0 without a session).
#[get("/count")]
fn count(session: Session<'_>) -> String {
    session.get::<u64>("count").unwrap().unwrap_or(0).to_string()
}

/// Changes the session, then panics: Rocket answers 500 and no cookie may be written.
#[post("/panic")]
fn panics(session: Session<'_>) -> &'static str {
    session.insert("count", 999_u64).unwrap();
    session.insert("poison", "written by a handler that then panicked").unwrap();
    panic!("this handler panics on purpose (tests/it/load.rs)");
}

/// Serves the test routes with `options` over real TCP.
async fn launch(options: SessionOptions) -> Server {
    let rocket = rocket::build()
        .attach(WristbandSession::custom(options))
        .mount("/", routes![incr, count, panics]);
    Server::start(rocket).await
}

fn options() -> SessionOptions {
    // `secure = false`: the clients speak plain HTTP to 127.0.0.1.
    SessionOptions { secrets: SECRET.into(), secure: false, ..SessionOptions::default() }
}

fn cookie_client() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).build().unwrap()
}

fn set_cookies(resp: &reqwest::Response) -> Vec<String> {
    resp.headers().get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_string()).collect()
}

/// `(VmRSS, VmHWM)` of this process, in kB.
fn memory_kb() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let field = |name: &str| -> u64 {
        let line = status.lines().find(|l| l.starts_with(name)).expect("field present");
        line[name.len()..].trim().trim_end_matches("kB").trim().parse().expect("a number of kB")
    };
    (field("VmRSS:"), field("VmHWM:"))
}

// ---------------------------------------------------------------------------------------------
// (a) Load: 200 clients for 60 s
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "60 s load test; run with cargo test --release --test it load:: -- --ignored"]
async fn two_hundred_clients_for_a_minute() {
    const CLIENTS: u64 = 200;
    let secs: u64 = std::env::var("WRISTBAND_LOAD_SECS").map_or(60, |s| s.parse().unwrap());
    let server = launch(options()).await;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let requests = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(Mutex::new(None::<String>));

    // Each client keeps its cookie and checks that its counter goes up by exactly one per
    // request: a lost, crossed or refused session is an error, as is any failed request.
    let mut tasks = Vec::new();
    for client_no in 0..CLIENTS {
        let url = server.url("/incr");
        let (requests, errors, first_error) =
            (requests.clone(), errors.clone(), first_error.clone());
        tasks.push(rocket::tokio::spawn(async move {
            let client = cookie_client();
            let mut expected = 1u64;
            while Instant::now() < deadline {
                let outcome = match client.post(&url).send().await {
                    Ok(resp) => {
                        let status = resp.status();
                        match resp.text().await {
                            Ok(body)
                                if status == StatusCode::OK && body == expected.to_string() =>
                            {
                                Ok(())
                            }
                            Ok(body) => Err(format!("{status} `{body}`, expected {expected}")),
                            Err(e) => Err(format!("reading the body: {e}")),
                        }
                    }
                    Err(e) => Err(format!("request: {e}")),
                };
                requests.fetch_add(1, Ordering::Relaxed);
                match outcome {
                    Ok(()) => expected += 1,
                    Err(e) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        first_error
                            .lock()
                            .unwrap()
                            .get_or_insert(format!("client {client_no}: {e}"));
                        // Start over from whatever the session holds now.
                        break;
                    }
                }
            }
        }));
    }

    // Memory once warm (1/6 of the run: 10 s of 60) and at the end.
    let warm_at = Duration::from_secs(secs) / 6;
    rocket::tokio::time::sleep_until((started + warm_at).into()).await;
    let (warm_rss, warm_hwm) = memory_kb();
    let warm_requests = requests.load(Ordering::Relaxed);
    for task in tasks {
        task.await.expect("client task did not panic");
    }
    let elapsed = started.elapsed();
    let (end_rss, end_hwm) = memory_kb();
    let done = requests.load(Ordering::Relaxed);
    let errors = errors.load(Ordering::Relaxed);
    server.stop().await;

    println!(
        "load: {CLIENTS} clients, {:.1} s, {done} requests ({:.0}/s), {errors} errors",
        elapsed.as_secs_f64(),
        done as f64 / elapsed.as_secs_f64()
    );
    println!(
        "load: at {:.0} s ({warm_requests} requests): VmRSS {warm_rss} kB, VmHWM {warm_hwm} kB",
        warm_at.as_secs_f64()
    );
    println!("load: at {:.0} s: VmRSS {end_rss} kB, VmHWM {end_hwm} kB", elapsed.as_secs_f64());
    assert_eq!(errors, 0, "first error: {:?}", first_error.lock().unwrap());
    assert!(done >= CLIENTS, "every client made at least one request: {done}");
    // Flat: the end is within 1.5x + 20 MB of the warm figure, for both measures.
    let bound = |warm: u64| warm * 3 / 2 + 20 * 1024;
    assert!(end_rss < bound(warm_rss), "VmRSS grew: {warm_rss} kB -> {end_rss} kB");
    assert!(end_hwm < bound(warm_hwm), "VmHWM grew: {warm_hwm} kB -> {end_hwm} kB");
}

// ---------------------------------------------------------------------------------------------
// (b) Faults
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_answers_500_writes_nothing_and_the_server_goes_on() {
    let server = launch(options()).await;
    let client = cookie_client();

    // A session with count = 1.
    let resp = client.post(server.url("/incr")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(set_cookies(&resp).len(), 1);
    assert_eq!(resp.text().await.unwrap(), "1");

    // The handler changes the session, then panics: 500 and no Set-Cookie at all.
    for _ in 0..3 {
        let resp = client.post(server.url("/panic")).send().await.expect("an HTTP answer");
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(set_cookies(&resp), Vec::<String>::new(), "a 5xx writes no session cookie");
    }

    // The server still serves this client, on the session it had before the panics…
    let resp = client.get(server.url("/count")).send().await.unwrap();
    assert_eq!((resp.status(), resp.text().await.unwrap()), (StatusCode::OK, "1".into()));
    let resp = client.post(server.url("/incr")).send().await.unwrap();
    assert_eq!(resp.text().await.unwrap(), "2");

    // …and new clients, on new connections.
    for _ in 0..5 {
        let resp = cookie_client().post(server.url("/incr")).send().await.unwrap();
        assert_eq!((resp.status(), resp.text().await.unwrap()), (StatusCode::OK, "1".into()));
    }
    server.stop().await;
}

/// A valid `session=...` pair with count = `n`, made by the server itself.
async fn session_pair(server: &Server, n: u64) -> String {
    let client = cookie_client();
    let mut header = String::new();
    for _ in 0..n {
        let resp = client.post(server.url("/incr")).send().await.unwrap();
        header = set_cookies(&resp).pop().expect("a session cookie");
    }
    header.split(';').next().unwrap().to_string()
}

/// Sends `headers` to `/count`: the answer must arrive (no dropped connection). Returns the
/// status, body and `Set-Cookie` headers.
async fn send_count(
    server: &Server,
    headers: HeaderMap,
    what: &str,
) -> (StatusCode, String, Vec<String>) {
    let client = reqwest::Client::new();
    let resp = client.get(server.url("/count")).headers(headers).send().await;
    let resp = resp.unwrap_or_else(|e| panic!("{what}: no HTTP answer: {e}"));
    let status = resp.status();
    let cookies = set_cookies(&resp);
    (status, resp.text().await.unwrap(), cookies)
}

/// As `send_count`, and the answer must be 200: the body and `Set-Cookie` headers.
async fn count_with(server: &Server, headers: HeaderMap, what: &str) -> (String, Vec<String>) {
    let (status, body, cookies) = send_count(server, headers, what).await;
    assert_eq!(status, StatusCode::OK, "{what}");
    (body, cookies)
}

fn cookie_header(value: String) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(COOKIE, HeaderValue::from_str(&value).unwrap());
    headers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_cookies_and_a_16_kb_cookie_header_get_a_clean_answer() {
    let server = launch(options()).await;
    let pair = session_pair(&server, 3).await;

    // 100 cookies in one header, the session among them: it still opens, nothing is written.
    let mut cookies: Vec<String> = (0..99).map(|i| format!("other{i}=value-{i}")).collect();
    cookies.insert(37, pair.clone());
    let (body, set) = count_with(&server, cookie_header(cookies.join("; ")), "100 cookies").await;
    assert_eq!((body.as_str(), set.len()), ("3", 0), "100 cookies: {set:?}");

    // 90 of them as 90 separate `Cookie` headers (HTTP/2 style): Rocket joins them.
    let mut headers = HeaderMap::new();
    for cookie in &cookies[..90] {
        headers.append(COOKIE, HeaderValue::from_str(cookie).unwrap());
    }
    let (body, set) = count_with(&server, headers, "90 Cookie headers").await;
    assert_eq!((body.as_str(), set.len()), ("3", 0), "90 Cookie headers: {set:?}");

    // All 100 as separate headers: past hyper's limit of 100 request headers, hyper itself
    // answers 431 before Rocket sees the request. Either way a clean answer, never a 5xx.
    let mut headers = HeaderMap::new();
    for cookie in &cookies {
        headers.append(COOKIE, HeaderValue::from_str(cookie).unwrap());
    }
    let (status, body, set) = send_count(&server, headers, "100 Cookie headers").await;
    match status {
        StatusCode::OK => assert_eq!((body.as_str(), set.len()), ("3", 0), "{set:?}"),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => assert!(set.is_empty(), "{set:?}"),
        other => panic!("100 Cookie headers: {other}"),
    }

    // A 16 KB Cookie header of other cookies around the session: it still opens.
    let filler = format!("filler={}", "f".repeat(16 * 1024));
    let header = format!("{filler}; {pair}");
    assert!(header.len() > 16 * 1024);
    let (body, set) = count_with(&server, cookie_header(header), "16 KB of other cookies").await;
    assert_eq!((body.as_str(), set.len()), ("3", 0), "16 KB header: {set:?}");

    // A 16 KB session cookie: refused as too long, so an empty session and a removal.
    let header = format!("session={}", "A".repeat(16 * 1024));
    let (body, set) = count_with(&server, cookie_header(header), "16 KB session cookie").await;
    assert_eq!(body, "0");
    assert_eq!(set.len(), 1, "{set:?}");
    assert!(set[0].starts_with("session=;") && set[0].contains("Max-Age=0"), "{set:?}");

    // 100 copies of the session cookie name with junk values: an empty session, no 5xx.
    let junk: Vec<String> = (0..100).map(|i| format!("session=junk{i}")).collect();
    let (body, _) = count_with(&server, cookie_header(junk.join("; ")), "100 junk sessions").await;
    assert_eq!(body, "0");

    // Still serving.
    let resp = cookie_client().post(server.url("/incr")).send().await.unwrap();
    assert_eq!(resp.text().await.unwrap(), "1");
    server.stop().await;
}

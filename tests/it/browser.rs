//! End to end in a real browser: the `auth_flow` example (included as a module) served over TCP
//! on 127.0.0.1, driven in Debian's headless Chromium through chromedriver (W3C WebDriver). Covers the login
//! redirect, the fake login, the HttpOnly session cookie and the readable CSRF cookie as page JS
//! sees them, CSRF-checked calls made by the page's own JS (and a 403 without the header), a
//! reload that keeps the session, and logout. Saves `target/browser-e2e/protected.png`.
//!
//! Ignored by default; `scripts/test.sh` (the README's test command) installs chromium + chromium-driver and runs it with
//! `cargo test --test it browser:: -- --ignored --nocapture`. When run, a missing browser FAILS.

use crate::support::server;

use server::Server;

use crate::auth_flow;
use crate::webdriver;

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use webdriver::WebDriver;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long any one step may take (each polls every 50 ms, so a passing step is quick).
const STEP: Duration = Duration::from_secs(10);

/// Stops everything the test started, on success and on failure (it runs during unwinding):
/// the WebDriver session (so Chromium quits), chromedriver, the server, the browser profile.
struct Cleanup {
    chromedriver: Option<Child>,
    driver_port: u16,
    session: Option<String>,
    server: Option<rocket::Shutdown>,
    profile: Option<PathBuf>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(id) = self.session.take() {
            webdriver::delete_session_blocking(self.driver_port, &id);
        }
        if let Some(mut child) = self.chromedriver.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(server) = self.server.take() {
            server.notify();
        }
        if let Some(profile) = self.profile.take() {
            let _ = std::fs::remove_dir_all(profile);
        }
    }
}

/// Cargo's target directory (the parent of `target/tmp`).
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("target/tmp has a parent").into()
}

/// A port that was free a moment ago (the OS picks it).
fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a probe port");
    listener.local_addr().expect("probe address").port()
}

/// Starts chromedriver on a free port and waits until `/status` says it is ready.
async fn start_chromedriver(cleanup: &mut Cleanup, log: &Path) -> u16 {
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .arg(format!("--log-path={}", log.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    cleanup.chromedriver = Some(child);
    cleanup.driver_port = port;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let start = Instant::now();
    loop {
        let status = http.get(format!("http://127.0.0.1:{port}/status")).send().await;
        if let Ok(response) = status {
            let body: Value = response.json().await.unwrap_or_default();
            if body["value"]["ready"] == json!(true) {
                return port;
            }
        }
        let exited = cleanup.chromedriver.as_mut().unwrap().try_wait().unwrap();
        assert!(exited.is_none(), "chromedriver exited: {exited:?}; see {}", log.display());
        assert!(start.elapsed() < STEP, "chromedriver not ready; see {}", log.display());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Width and height from a PNG's IHDR chunk, after checking the signature.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.len() > 24 && png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert_eq!(&png[12..16], b"IHDR", "PNG starts with IHDR");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    (width, height)
}

/// The cookie names in a `document.cookie` string.
fn cookie_names(cookies: &str) -> Vec<&str> {
    cookies.split("; ").filter(|c| !c.is_empty()).map(|c| c.split('=').next().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Debian chromium + chromium-driver; run by scripts/test.sh"]
async fn login_notes_csrf_reload_logout_in_headless_chromium() {
    let started = Instant::now();
    let lap = |what: &str| println!("[{:>6.2}s] {what}", started.elapsed().as_secs_f64());
    // Run means run: a missing browser is a failure, not a skip.
    for tool in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            Path::new(tool).exists(),
            "{tool} is missing: install Debian's chromium and chromium-driver (scripts/test.sh does)"
        );
    }
    let out = target_dir().join("browser-e2e");
    std::fs::create_dir_all(&out).unwrap();
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    let profile = out.join(format!("profile-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&profile).unwrap();
    let mut cleanup = Cleanup {
        chromedriver: None,
        driver_port: 0,
        session: None,
        server: None,
        profile: Some(profile.clone()),
    };

    // The app on a real TCP port, chromedriver beside it, then a headless Chromium session.
    // The example over its own figment (Rocket.toml: `debug` has `secure = false`).
    let server = Server::start(auth_flow::app()).await;
    let base = server.base.clone();
    cleanup.server = Some(server.shutdown_handle());
    lap(&format!("app listening on {base}"));
    let driver_port = start_chromedriver(&mut cleanup, &out.join("chromedriver.log")).await;
    lap(&format!("chromedriver ready on port {driver_port}"));
    let capabilities = json!({
        "browserName": "chrome",
        "timeouts": { "script": 10_000, "pageLoad": 15_000, "implicit": 0 },
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                "--disable-quic", format!("--user-data-dir={}", profile.display()),
            ],
        },
    });
    let driver = WebDriver::new_session(driver_port, capabilities).await.expect("a session");
    cleanup.session = Some(driver.id.clone());
    lap("chromium session created");

    // Not logged in: `/` redirects to the login page.
    driver.goto(&format!("{base}/")).await;
    assert_eq!(driver.current_url().await, format!("{base}/login"));
    driver
        .wait_for("the login button", "return document.getElementById('login') !== null", STEP)
        .await;
    lap("/ redirected to /login");

    // The login button posts the fake callback data, then the page goes to `/`.
    driver.click("#login").await;
    let welcome = driver
        .wait_for(
            "the welcome heading on /",
            "const h = document.getElementById('welcome');
             return location.pathname === '/' && h ? h.textContent : null;",
            STEP,
        )
        .await;
    assert!(welcome.as_str().unwrap().contains("Welcome, user-1"), "heading: {welcome}");
    assert_eq!(driver.current_url().await, format!("{base}/"));
    // The page's own JS reads the session through `/api/session` (CSRF header from the cookie).
    let notes_text = "return document.getElementById('notes').textContent;";
    let notes_are =
        |n: &str| format!("return document.getElementById('notes').textContent === '{n}';");
    driver.wait_for("notes to read 0", &notes_are("0"), STEP).await;
    lap("logged in: welcome shown, notes 0");

    // A picture of the protected page.
    let png = driver.screenshot().await;
    let (width, height) = png_size(&png);
    assert!(width >= 100 && height >= 100, "screenshot is {width}x{height}");
    let shot = out.join("protected.png");
    std::fs::write(&shot, &png).unwrap();
    lap(&format!("screenshot {width}x{height} saved to {}", shot.display()));

    // Page JS sees the CSRF cookie but not the HttpOnly session cookie.
    let cookies = driver.execute("return document.cookie;").await.unwrap();
    let cookies = cookies.as_str().expect("document.cookie is a string");
    assert!(cookie_names(cookies).contains(&"CSRF-TOKEN"), "document.cookie: {cookies}");
    assert!(!cookies.contains("session="), "HttpOnly cookie visible to JS: {cookies}");

    // "Add a note" twice: each click is a CSRF-checked POST made by the page's JS.
    for expected in ["1", "2"] {
        driver.click("#add").await;
        driver.wait_for(&format!("notes to read {expected}"), &notes_are(expected), STEP).await;
    }
    lap("two notes added");

    // The same call from page JS without the header (or with a wrong one) is refused.
    let status = |headers: &str| {
        format!(
            "return fetch('/api/notes', {{ method: 'POST', headers: {headers} }})
               .then(r => r.status);"
        )
    };
    assert_eq!(driver.execute(&status("{}")).await.unwrap(), json!(403), "no CSRF header");
    let wrong = status("{ 'X-CSRF-TOKEN': 'not-the-token' }");
    assert_eq!(driver.execute(&wrong).await.unwrap(), json!(403), "wrong CSRF header");
    // ... and changed nothing: the session still counts 2 notes.
    let session = "return api('GET', '/api/session').then(r => r.json());";
    let body = driver.execute(session).await.unwrap();
    assert_eq!(body["userId"], json!("user-1"), "{body}");
    assert_eq!(body["metadata"]["notes"], json!(2), "{body}");
    lap("403 without the CSRF header; notes still 2");

    // A reload keeps the session: same user, and the count comes back from `/api/session`.
    driver.refresh().await;
    let welcome = driver
        .wait_for(
            "the welcome heading after reload",
            "return document.getElementById('welcome')?.textContent;",
            STEP,
        )
        .await;
    assert!(welcome.as_str().unwrap().contains("Welcome, user-1"), "heading: {welcome}");
    driver.wait_for("notes to read 2 after reload", &notes_are("2"), STEP).await;
    assert_eq!(driver.execute(notes_text).await.unwrap(), json!("2"));
    lap("reloaded: still logged in, notes 2");

    // Log out: back on the login page, both cookies gone, the API answers 401.
    driver.click("#logout").await;
    driver
        .wait_for(
            "the login page after logout",
            "return location.pathname === '/login' && document.getElementById('login') !== null;",
            STEP,
        )
        .await;
    let cookies = driver.execute("return document.cookie;").await.unwrap();
    assert_eq!(cookies, json!(""), "cookies left after logout");
    let status = "return fetch('/api/session').then(r => r.status);";
    assert_eq!(driver.execute(status).await.unwrap(), json!(401));
    // A fresh load of `/` redirects to the login page again.
    driver.goto(&format!("{base}/")).await;
    assert_eq!(driver.current_url().await, format!("{base}/login"));
    lap("logged out: / redirects to /login again");

    // Orderly shutdown; `cleanup` then stops chromedriver and removes the profile.
    driver.delete().await.expect("the session ends");
    cleanup.session = None;
    server.stop().await;
    cleanup.server = None;
    drop(cleanup);
    lap("browser, chromedriver and server stopped");
    assert!(started.elapsed() < Duration::from_secs(60), "took {:?}", started.elapsed());
}

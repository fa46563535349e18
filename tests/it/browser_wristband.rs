#![cfg(feature = "fake-wristband")]
//! The whole Wristband sign-in in a real browser: the `wristband_app` example (included as a
//! module) served over TCP with its own `FakeWristband`, driven in Debian's headless Chromium
//! through chromedriver (W3C WebDriver).
//!
//! Signed out, `/protected` leads to the fake's sign-in page on the tenant host
//! `acme.localhost:<port>` (Chromium resolves `*.localhost` to loopback itself); its button
//! sends the browser to the app's callback and on to `/protected`, which shows the user. The
//! page's JavaScript makes a CSRF-protected call (and is refused without the header); a reload
//! keeps the session; signing out goes through Wristband's logout URL, which sends the browser
//! back to the app's login (and so to the sign-in page), after which the app answers as signed
//! out. Saves `target/browser-e2e/wristband-signed-in.png`.
//!
//! Ignored by default; `scripts/test.sh` installs chromium + chromium-driver and runs it with
//! `cargo test --all-features --test it browser_wristband:: -- --ignored --nocapture`. When run, a
//! missing browser FAILS.

use crate::chromium;
use crate::support::server;
use crate::wristband_app;

use std::time::{Duration, Instant};

use chromium::{png_size, target_dir, Browser};
use serde_json::json;
use server::Server;
use wristband_rocket_session::testing::{Endpoint, FakeWristband};

/// How long any one step may take (each polls every 50 ms, so a passing step is quick).
const STEP: Duration = Duration::from_secs(10);

/// A script that is true once the fake's sign-in page for `acme` is shown on `host`.
fn sign_in_page_on(host: &str) -> String {
    format!(
        "return location.host === '{host}' && location.pathname === '/api/v1/oauth2/authorize' \
         && document.getElementById('sign-in') !== null \
         && document.getElementById('tenant').textContent === 'acme';"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Debian chromium + chromium-driver; run by scripts/test.sh"]
async fn sign_in_csrf_call_reload_and_sign_out_in_headless_chromium() {
    let started = Instant::now();
    let lap = |what: &str| println!("[{:>6.2}s] {what}", started.elapsed().as_secs_f64());
    chromium::require_tools();
    let out = target_dir().join("browser-e2e");
    std::fs::create_dir_all(&out).unwrap();

    // The fake Wristband, the example app over TCP, and the app registered with the fake under
    // `localhost` (as `cargo run --example wristband_app` does for port 8000).
    let fake = FakeWristband::start().await;
    let server = Server::start(wristband_app::app(Some(&fake))).await;
    let port = server.base.rsplit(':').next().unwrap().to_string();
    let app = format!("http://localhost:{port}");
    wristband_app::register_with_fake(&fake, &app);
    let tenant_host = format!("acme.localhost:{}", fake.port());
    let sign_in_page = sign_in_page_on(&tenant_host);
    lap(&format!("app on {app}, fake Wristband on {}", fake.base_url()));

    let browser = Browser::start(&out, "wristband").await;
    let driver = &browser.driver;
    lap("chromium session created");

    // Signed out: /protected → the app's login → the fake's sign-in page on the tenant host.
    driver.goto(&format!("{app}/protected")).await;
    driver.wait_for("the fake's sign-in page", &sign_in_page, STEP).await;
    let authorize = driver.current_url().await;
    let callback = "redirect_uri=http%3A%2F%2Flocalhost%3A".to_string() + &port;
    assert!(authorize.contains(&format!("{callback}%2Fauth%2Fcallback&")), "{authorize}");
    let user = driver.execute("return document.getElementById('user').textContent;").await;
    assert_eq!(user.unwrap(), json!("fake.user@example.com"));
    assert_eq!(fake.calls(Endpoint::Token), 0, "nothing exchanged before the sign-in");
    lap(&format!("/protected led to the sign-in page on {tenant_host}"));

    // Sign in: the fake sends the browser to the app's callback, which lands on /protected.
    driver.click("#sign-in").await;
    let user_id = driver
        .wait_for(
            "the protected page",
            "return location.pathname === '/protected'
               && document.getElementById('user-id')?.textContent;",
            STEP,
        )
        .await;
    assert_eq!(user_id, json!("fake-user-1"));
    assert_eq!(driver.current_url().await, format!("{app}/protected"));
    let shown = "return [document.getElementById('welcome').textContent,
                         document.getElementById('tenant').textContent];";
    let shown = driver.execute(shown).await.unwrap();
    assert_eq!(shown, json!(["Signed in as fake.user@example.com", "acme"]));
    // The page's JS read /api/session with the CSRF header taken from the cookie.
    let session_shows = |notes: u64| {
        format!(
            "const text = document.getElementById('session').textContent;
             if (!text.startsWith('{{')) return false;
             const body = JSON.parse(text);
             return body.userId === 'fake-user-1' && body.metadata.notes === {notes};"
        )
    };
    driver.wait_for("the session shown by the page", &session_shows(0), STEP).await;
    lap("signed in: the protected page shows the user and the session");

    // Page JS sees the CSRF cookie but not the HttpOnly session cookie.
    let cookies = driver.execute("return document.cookie;").await.unwrap();
    let cookies = cookies.as_str().expect("document.cookie is a string");
    assert!(cookies.starts_with("CSRF-TOKEN=") && !cookies.contains(';'), "{cookies}");

    // The button: a CSRF-protected POST made by the page's own JavaScript.
    driver.click("#add-note").await;
    driver
        .wait_for(
            "the note to be saved",
            "return document.getElementById('result').textContent === 'Saved: 1 note(s)';",
            STEP,
        )
        .await;
    driver.wait_for("the session to count 1 note", &session_shows(1), STEP).await;
    lap("page JS: POST /api/notes with the CSRF header saved a note");

    // A picture of the signed-in page, with the call's result on it.
    let png = driver.screenshot().await;
    let (width, height) = png_size(&png);
    assert!(width >= 400 && height >= 300, "screenshot is {width}x{height}");
    let shot = out.join("wristband-signed-in.png");
    std::fs::write(&shot, &png).unwrap();
    lap(&format!("screenshot {width}x{height} saved to {}", shot.display()));

    // The same call without the header, or with a wrong one, is refused and changes nothing.
    let status = |headers: &str| {
        format!("return fetch('/api/notes', {{ method: 'POST', headers: {headers} }}).then(r => r.status);")
    };
    assert_eq!(driver.execute(&status("{}")).await.unwrap(), json!(403), "no CSRF header");
    let wrong = status("{ 'X-CSRF-TOKEN': 'not-the-token' }");
    assert_eq!(driver.execute(&wrong).await.unwrap(), json!(403), "wrong CSRF header");

    // A reload keeps the session: same user, and still one note.
    driver.refresh().await;
    let user_id = driver
        .wait_for(
            "the protected page after reload",
            "return document.getElementById('user-id')?.textContent;",
            STEP,
        )
        .await;
    assert_eq!(user_id, json!("fake-user-1"));
    driver.wait_for("the session after reload", &session_shows(1), STEP).await;
    lap("reloaded: still signed in, 1 note, 403 without the CSRF header");

    // Sign out: the app's logout → Wristband's logout URL on the tenant host, which sends the
    // browser back to the app's login for the tenant → the fake's sign-in page.
    assert_eq!(fake.calls(Endpoint::Logout), 0);
    driver.click("#logout").await;
    driver.wait_for("the sign-in page after the logout", &sign_in_page, STEP).await;
    assert_eq!(fake.calls(Endpoint::Logout), 1, "the browser went through Wristband's logout");
    lap("signed out through Wristband's logout URL, back at sign-in");

    // The app now answers as signed out.
    driver.goto(&format!("{app}/")).await;
    let status_text = "return document.getElementById('status').textContent;";
    assert_eq!(driver.execute(status_text).await.unwrap(), json!("You are signed out."));
    assert_eq!(driver.execute("return document.cookie;").await.unwrap(), json!(""));
    let api = "return fetch('/api/session').then(r => r.status);";
    assert_eq!(driver.execute(api).await.unwrap(), json!(401));
    driver.goto(&format!("{app}/protected")).await;
    driver.wait_for("the sign-in page for /protected again", &sign_in_page, STEP).await;
    lap("signed out: /api/session 401, /protected leads to the sign-in page again");

    // What the fake saw: one code exchange, one userinfo, the refresh token revoked once, and
    // three authorize pages plus one sign-in post.
    assert_eq!(fake.calls(Endpoint::Token), 1);
    assert_eq!(fake.calls(Endpoint::Userinfo), 1);
    assert_eq!(fake.calls(Endpoint::Revoke), 1);
    assert_eq!(fake.revoked_tokens().len(), 1);
    assert_eq!(fake.calls(Endpoint::Authorize), 4);
    assert_eq!(fake.refresh_tokens_spent(), 0, "no refresh was needed");

    browser.quit().await;
    server.stop().await;
    fake.shutdown().await;
    lap("browser, chromedriver, app and fake stopped");
    assert!(started.elapsed() < Duration::from_secs(60), "took {:?}", started.elapsed());
}

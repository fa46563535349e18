#![cfg(feature = "fake-wristband")]
//! A login that arrives on another host than `login_url`'s is moved to `login_url`'s host
//! (tests/it/login_host.rs); the first such move in a process is logged at info level, naming
//! `login_url`, so the redirect is not silent (issue 27, item 4). Its own test binary: the
//! line is logged once per process, so no other test may move a login first.

#[macro_use]
extern crate rocket;

use auth_app::{get_on_host, location, AuthApp};
use log::Level;
use wristband_rocket_session::testing::FakeWristband;

#[allow(dead_code)] // each test file uses part of it
#[path = "support/auth_app.rs"]
mod auth_app;
#[path = "support/logs.rs"]
mod logs;

#[rocket::async_test]
async fn the_first_login_moved_to_login_urls_host_is_logged_once_at_info_level() {
    logs::install();
    let fake = FakeWristband::start().await;
    // `login_url` is the fake's default, on `localhost:8000`.
    let client = AuthApp::new(routes![]).client(&fake, |_| {}).await;

    // Two logins on another host.
    for _ in 0..2 {
        let response = get_on_host(&client, "/auth/login?tenant_name=acme", "127.0.0.1:8000").await;
        assert_eq!(location(&response), "http://localhost:8000/auth/login?tenant_name=acme");
    }
    // And one on `login_url`'s host, which is not moved.
    let response = get_on_host(&client, "/auth/login?tenant_name=acme", "localhost:8000").await;
    assert!(location(&response).contains("/api/v1/oauth2/authorize?"));

    let info: Vec<String> = logs::logged(Some(Level::Info))
        .into_iter()
        .filter(|line| line.contains("127.0.0.1:8000"))
        .collect();
    assert_eq!(info.len(), 1, "logged once at info level: {}", logs::all_logged());
    let line = &info[0];
    assert!(line.contains("`login_url`"), "names the key: {line}");
    assert!(line.contains("localhost:8000"), "names login_url's host: {line}");
    // The second move is still said, at debug level only.
    let debug = logs::logged(Some(Level::Debug));
    assert_eq!(
        debug.iter().filter(|line| line.contains("127.0.0.1:8000")).count(),
        1,
        "{}",
        logs::all_logged()
    );
}

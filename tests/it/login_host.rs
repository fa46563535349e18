#![cfg(feature = "fake-wristband")]
//! Wristband fidelity (issue 17, items 4 and 5), over real TCP against the fake Wristband:
//!
//! - A login that arrives on another host than `login_url`'s (the demo opened at
//!   `127.0.0.1:<port>`, what Rocket prints, while `login_url` is on `localhost:<port>`) first
//!   moves to the same path and query on `login_url`'s host, so the login-state cookie lands
//!   where the callback reads it. Before, the cookie was set on `127.0.0.1`, the callback ran on
//!   `localhost`, found none, and the sign-in silently started over.
//! - `tenant_domain`, the query parameter of Wristband's SDK 3.x, names the tenant on login
//!   and logout too (it already did on the callback).

use crate::support::server;

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::cookie::Jar;
use reqwest::header::{LOCATION, SET_COOKIE};
use reqwest::{StatusCode, Url};
use server::Server;
use wristband_rocket_session::testing::FakeWristband;
use wristband_rocket_session::{SessionOptions, WristbandAuth, WristbandSession};

struct App {
    fake: FakeWristband,
    server: Server,
    port: u16,
    browser: reqwest::Client,
}

impl App {
    /// The standard routes under `/auth`, with `login_url` and `redirect_uri` on
    /// `localhost:<the app's port>`, as Wristband's dashboard would have them.
    async fn start() -> App {
        let fake = FakeWristband::start().await;
        let session = SessionOptions {
            secrets: "login-host-test-secret-0123456789abcdefgh".into(),
            secure: false,
            ..SessionOptions::default()
        };
        let rocket = rocket::custom(rocket::Config::figment())
            .attach(WristbandSession::custom(session))
            .attach(WristbandAuth::custom(fake.auth_options()))
            .mount("/auth", WristbandAuth::routes());
        let server = Server::start(rocket).await;
        let port = Url::parse(&server.base).unwrap().port().unwrap();
        fake.set_app_urls(
            &format!("http://localhost:{port}/auth/login"),
            &format!("http://localhost:{port}/auth/callback"),
        );
        let browser = reqwest::Client::builder()
            .cookie_provider(Arc::new(Jar::default()))
            .redirect(reqwest::redirect::Policy::none())
            .resolve("localhost", SocketAddr::from(([127, 0, 0, 1], port)))
            .resolve("acme.localhost", SocketAddr::from(([127, 0, 0, 1], fake.port())))
            .build()
            .unwrap();
        App { fake, server, port, browser }
    }

    /// `GET url`: the status, the `Location` (resolved against `url`) and the `Set-Cookie`s.
    async fn get(&self, url: &str) -> (StatusCode, Option<Url>, Vec<String>) {
        let resp = self.browser.get(url).send().await.unwrap();
        let location = resp
            .headers()
            .get(LOCATION)
            .map(|l| Url::parse(url).unwrap().join(l.to_str().unwrap()).unwrap());
        let cookies =
            resp.headers().get_all(SET_COOKIE).iter().map(|c| c.to_str().unwrap().into()).collect();
        (resp.status(), location, cookies)
    }

    async fn stop(self) {
        self.server.stop().await;
        self.fake.shutdown().await;
    }
}

#[rocket::async_test]
async fn a_login_on_another_host_moves_to_the_login_url_host_first() {
    let app = App::start().await;
    let port = app.port;
    let query = "tenant_name=acme&return_url=%2Fafter";

    // Opened as Rocket prints it: 127.0.0.1. Same path and query, on localhost; no cookie.
    let on_ip = format!("http://127.0.0.1:{port}/auth/login?{query}");
    let (status, location, cookies) = app.get(&on_ip).await;
    assert_eq!(status, StatusCode::FOUND);
    let expected = format!("http://localhost:{port}/auth/login?{query}");
    assert_eq!(location.as_ref().map(Url::as_str), Some(expected.as_str()));
    assert!(cookies.is_empty(), "no login-state cookie on the wrong host: {cookies:?}");

    // Followed as a browser would: the whole sign-in completes on localhost.
    let (status, authorize, cookies) = app.get(&expected).await;
    assert_eq!(status, StatusCode::FOUND);
    assert!(cookies.iter().any(|c| c.starts_with("login#")), "login-state cookie set");
    let authorize = authorize.unwrap();
    assert_eq!(authorize.path(), "/api/v1/oauth2/authorize");
    let (status, back, _) = app.get(authorize.as_str()).await;
    assert_eq!(status, StatusCode::FOUND, "the fake approves");
    let back = back.unwrap();
    assert_eq!(back.host_str(), Some("localhost"), "the callback runs on localhost");
    let (status, done, cookies) = app.get(back.as_str()).await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(done.unwrap().path(), "/after", "completed, to the return URL");
    assert!(cookies.iter().any(|c| c.starts_with("session=")), "signed in: {cookies:?}");
    let (status, _, _) = app.get(&format!("http://localhost:{port}/auth/session")).await;
    assert_eq!(status, StatusCode::OK);
    app.stop().await;
}

#[rocket::async_test]
async fn on_the_login_url_host_the_login_goes_straight_to_wristband() {
    let app = App::start().await;
    let url = format!("http://localhost:{}/auth/login?tenant_name=acme", app.port);
    let (status, location, cookies) = app.get(&url).await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(location.unwrap().path(), "/api/v1/oauth2/authorize");
    assert_eq!(cookies.iter().filter(|c| c.starts_with("login#")).count(), 1);
    app.stop().await;
}

#[rocket::async_test]
async fn the_legacy_tenant_domain_parameter_names_the_tenant_on_login_and_logout() {
    let app = App::start().await;
    let acme = Url::parse(&app.fake.tenant_url("acme")).unwrap();
    let base = format!("http://localhost:{}", app.port);

    let (_, location, _) = app.get(&format!("{base}/auth/login?tenant_domain=acme")).await;
    let location = location.unwrap();
    assert_eq!(location.host_str(), acme.host_str(), "{location}");
    assert_eq!(location.path(), "/api/v1/oauth2/authorize");

    let (_, location, _) = app.get(&format!("{base}/auth/logout?tenant_domain=acme")).await;
    let location = location.unwrap();
    assert_eq!(location.host_str(), acme.host_str(), "{location}");
    assert_eq!(location.path(), "/api/v1/logout");

    // `tenant_name` wins when both are given; a repeated alias is a 400 like any repeat.
    let (_, location, _) =
        app.get(&format!("{base}/auth/login?tenant_name=acme&tenant_domain=globex")).await;
    assert_eq!(location.unwrap().host_str(), acme.host_str());
    let (status, _, _) =
        app.get(&format!("{base}/auth/login?tenant_domain=a&tenant_domain=b")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    app.stop().await;
}

#![cfg(feature = "fake-wristband")]
//! Security review, finding 2 (high): `tenant_custom_domain` sent users to any host. A custom
//! domain is now used as a host only when it is on `allowed_tenant_custom_domains`, whatever
//! its source: the login or logout query, the callback query (then stored in the session),
//! a `LoginConfig` default, or a session written by the app. Otherwise it is ignored as if
//! absent. Everything here runs over real TCP against the fake Wristband.

use crate::support::server;

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::cookie::Jar;
use reqwest::{StatusCode, Url};
use server::Server;
use wristband_rocket_session::testing::{callback_data, FakeWristband};
use wristband_rocket_session::{
    LoginConfig, Session, SessionError, SessionOptions, Wristband, WristbandAuth, WristbandError,
    WristbandRedirect, WristbandSession,
};

const ALLOWED: [&str; 2] = ["login.acme.test", "*.customers.test"];

/// The session of an app that stored a custom domain itself (`from_callback` with
/// `tenant_custom_domain` set), e.g. from an older version of the app.
#[post("/seed?<domain>")]
fn seed(session: Session<'_>, domain: &str) -> Result<(), SessionError> {
    let mut data = callback_data("seeded-user", "seeded-tenant");
    data.tenant_custom_domain = Some(domain.to_string());
    session.from_callback(&data, None)
}

/// A login whose `LoginConfig` names a default custom domain.
#[get("/default-login?<domain>")]
async fn default_login(
    wristband: Wristband<'_>,
    domain: &str,
) -> Result<WristbandRedirect, WristbandError> {
    let config = LoginConfig {
        default_tenant_custom_domain: Some(domain.to_string()),
        ..LoginConfig::default()
    };
    wristband.login(config).await
}

struct App {
    fake: FakeWristband,
    server: Server,
    browser: reqwest::Client,
}

impl App {
    async fn start(allowed: &[&str]) -> App {
        let fake = FakeWristband::start().await;
        let mut auth = fake.auth_options();
        auth.allowed_tenant_custom_domains = allowed.iter().map(|d| d.to_string()).collect();
        let session = SessionOptions {
            secrets: "tenant-domain-test-secret-0123456789abcdef".into(),
            secure: false,
            ..SessionOptions::default()
        };
        let rocket = rocket::custom(rocket::Config::figment())
            .attach(WristbandSession::custom(session))
            .attach(WristbandAuth::custom(auth))
            .mount("/auth", WristbandAuth::routes())
            .mount("/", routes![seed, default_login]);
        let server = Server::start(rocket).await;
        // The SDK configuration is fetched on first use, so the app's URLs can follow its port.
        fake.set_app_urls(
            &format!("{}/auth/login", server.base),
            &format!("{}/auth/callback", server.base),
        );
        let browser = reqwest::Client::builder()
            .cookie_provider(Arc::new(Jar::default()))
            .redirect(reqwest::redirect::Policy::none())
            .resolve("acme.localhost", SocketAddr::from(([127, 0, 0, 1], fake.port())))
            .build()
            .unwrap();
        App { fake, server, browser }
    }

    /// `GET path`: the `Location` of the 302 it must answer.
    async fn get(&self, path: &str) -> Url {
        let url = format!("{}{path}", self.server.base);
        let resp = self.browser.get(&url).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::FOUND, "{path}");
        // A relative `Location` (the callback's `/`) is resolved against the request.
        Url::parse(&url).unwrap().join(resp.headers()["location"].to_str().unwrap()).unwrap()
    }

    /// Signs in as the fake's user of tenant `acme`, with `extra` appended to the callback
    /// query Wristband sends the browser back with.
    async fn sign_in_with_callback_extra(&self, extra: &str) {
        let authorize = self.get("/auth/login?tenant_name=acme").await;
        let resp = self.browser.get(authorize).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::FOUND, "the fake approves");
        let back = resp.headers()["location"].to_str().unwrap().to_string();
        let done = self.get(&format!("/auth/callback?{}{extra}", query_of(&back))).await;
        assert_eq!(done.path(), "/", "the callback completed: {done}");
    }

    async fn stop(self) {
        self.server.stop().await;
        self.fake.shutdown().await;
    }
}

fn query_of(url: &str) -> String {
    Url::parse(url).unwrap().query().unwrap().to_string()
}

fn host(url: &Url) -> String {
    let host = url.host_str().unwrap();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

#[rocket::async_test]
async fn login_sends_the_browser_only_to_listed_custom_domains() {
    let app = App::start(&ALLOWED).await;
    let vanity = app.fake.vanity_domain();
    let acme = host(&Url::parse(&app.fake.tenant_url("acme")).unwrap());

    // The review's probe: an unlisted domain got the state, PKCE challenge and nonce.
    let to = app.get("/auth/login?tenant_custom_domain=evil.example").await;
    assert_eq!(host(&to), vanity, "no tenant left: the application-level login page ({to})");
    assert_eq!(param(&to, "code_challenge"), None, "{to}");
    assert_eq!(param(&to, "state"), None, "{to}");

    // Ignored as if absent: the tenant name decides.
    let to = app.get("/auth/login?tenant_name=acme&tenant_custom_domain=evil.example").await;
    assert_eq!(host(&to), acme, "{to}");
    assert!(param(&to, "code_challenge").is_some(), "{to}");

    // Listed: exact, and one or more labels under a `*.` pattern; the bare suffix is not.
    for listed in ["login.acme.test", "LOGIN.ACME.test", "a.customers.test", "b.a.customers.test"] {
        let to = app.get(&format!("/auth/login?tenant_custom_domain={listed}")).await;
        assert_eq!(host(&to), listed.to_ascii_lowercase(), "{listed} is listed");
        assert_eq!(to.path(), "/api/v1/oauth2/authorize");
    }
    for unlisted in
        ["customers.test", "xlogin.acme.test", "login.acme.test:8443", "evilcustomers.test"]
    {
        let to = app.get(&format!("/auth/login?tenant_custom_domain={unlisted}")).await;
        assert_eq!(host(&to), vanity, "{unlisted} is not listed ({to})");
    }

    // A `LoginConfig` default is checked the same way.
    let to = app.get("/default-login?domain=evil.example").await;
    assert_eq!(host(&to), vanity, "{to}");
    let to = app.get("/default-login?domain=login.acme.test").await;
    assert_eq!(host(&to), "login.acme.test", "{to}");
    app.stop().await;
}

#[rocket::async_test]
async fn with_no_list_every_custom_domain_is_ignored() {
    let app = App::start(&[]).await;
    let to = app.get("/auth/login?tenant_custom_domain=login.acme.test").await;
    assert_eq!(host(&to), app.fake.vanity_domain(), "{to}");
    let to = app.get("/auth/logout?tenant_custom_domain=login.acme.test").await;
    assert_ne!(host(&to), "login.acme.test", "{to}");
    app.stop().await;
}

#[rocket::async_test]
async fn logout_sends_the_browser_only_to_listed_custom_domains() {
    let app = App::start(&ALLOWED).await;
    let to = app.get("/auth/logout?tenant_custom_domain=evil.example").await;
    assert_ne!(host(&to), "evil.example", "{to}");
    let to = app.get("/auth/logout?tenant_custom_domain=login.acme.test").await;
    assert_eq!(host(&to), "login.acme.test", "{to}");
    assert_eq!(to.path(), "/api/v1/logout");
    app.stop().await;
}

#[rocket::async_test]
async fn a_callback_never_stores_an_unlisted_domain_for_the_next_logout() {
    // The review's probe: the callback's value was stored, and the next logout used it.
    let app = App::start(&ALLOWED).await;
    app.sign_in_with_callback_extra("&tenant_custom_domain=evil.example").await;
    let to = app.get("/auth/logout").await;
    assert_eq!(host(&to), host(&Url::parse(&app.fake.tenant_url("acme")).unwrap()), "{to}");
    app.stop().await;

    // The control: a listed domain is stored and used, so the test above can see a stored one.
    let app = App::start(&ALLOWED).await;
    app.sign_in_with_callback_extra("&tenant_custom_domain=login.acme.test").await;
    let to = app.get("/auth/logout").await;
    assert_eq!(host(&to), "login.acme.test", "{to}");
    app.stop().await;
}

#[rocket::async_test]
async fn a_domain_the_app_stored_in_the_session_is_checked_at_logout() {
    for (stored, expected_host) in
        [("evil.example", None), ("a.customers.test", Some("a.customers.test"))]
    {
        let app = App::start(&ALLOWED).await;
        let url = format!("{}/seed?domain={stored}", app.server.base);
        let resp = app.browser.post(url).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let to = app.get("/auth/logout").await;
        match expected_host {
            Some(expected) => assert_eq!(host(&to), expected, "{to}"),
            None => {
                assert_ne!(host(&to), stored, "{to}");
                // The session's tenant name decides instead.
                assert!(host(&to).starts_with("test-tenant"), "{to}");
            }
        }
        app.stop().await;
    }
}

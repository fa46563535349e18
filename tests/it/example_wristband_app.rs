#![cfg(feature = "fake-wristband")]
//! The `wristband_app` example's choice between a configured Wristband and its fake: with a
//! `client_id` in the active profile's `wristband_auth` table (here from
//! `ROCKET_WRISTBAND_AUTH`) `app(None)` signs in with that application; without one the example
//! runs on a fake, with `acme` as the default tenant. The whole sign-in is covered by the
//! README walk-through (`tests/it/readme.rs`) and in Chromium (`tests/it/browser_wristband.rs`).
//!
//! The configured case runs in a child process started with the variable
//! (`support/child_env.rs`).

use crate::support::child_env;
use crate::support::server;
use crate::wristband_app;

use reqwest::redirect::Policy;
use server::Server;
use wristband_rocket_session::testing::{Endpoint, FakeWristband};

const VARIABLE: &str = "ROCKET_WRISTBAND_AUTH";

/// `GET url` without following redirects: the status and the `Location` header.
async fn get(url: &str) -> (u16, String) {
    let http = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
    let response = http.get(url).send().await.unwrap();
    let location = response.headers().get("location").map(|l| l.to_str().unwrap().to_string());
    (response.status().as_u16(), location.unwrap_or_default())
}

#[test]
fn a_configured_client_id_wins_over_the_fake() {
    // A fake Wristband plays the configured ("real") application here: it is configured like
    // any Wristband application, through the environment (`http` is allowed on loopback), on a
    // port chosen before the child process that has the variable starts it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = format!(
        "{{client_id=\"fake-client-id\", client_secret=\"fake-client-secret-0123456789abcdef\", \
         wristband_application_vanity_domain=\"localhost:{port}\", wristband_scheme=\"http\"}}"
    );
    if !child_env::in_child(
        "a_configured_client_id_wins_over_the_fake",
        &[(VARIABLE, &config)],
        &[],
    ) {
        return;
    }
    let configured = rocket::Config::figment();
    assert!(wristband_app::real_wristband_configured(&configured));
    // The port the parent chose, from the variable (this process would pick another).
    let domain: String =
        configured.extract_inner("wristband_auth.wristband_application_vanity_domain").unwrap();
    let port: u16 = domain.strip_prefix("localhost:").unwrap().parse().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async move {
        let fake = FakeWristband::start_on(port).await;
        assert_eq!(fake.vanity_domain(), format!("localhost:{port}"));
        assert_eq!(fake.client_secret(), "fake-client-secret-0123456789abcdef");
        // Configured: no default tenant, so a login that names none goes to the application's
        // login page at the configured Wristband (tenant discovery); one that names a tenant
        // goes to that tenant's authorize page.
        let app = Server::start(wristband_app::app(None)).await;
        // The application's login URL is the app's own address, as registered in Wristband's
        // dashboard (a login on another host first moves to the login URL's host).
        fake.set_app_urls(&app.url("/auth/login"), &app.url("/auth/callback"));
        let (status, location) = get(&app.url("/auth/login")).await;
        assert_eq!(status, 302);
        assert_eq!(location, format!("{}/login?client_id=fake-client-id", fake.base_url()));
        let (status, location) = get(&app.url("/auth/login?tenant_name=globex")).await;
        assert_eq!(status, 302);
        let authorize = format!("{}/api/v1/oauth2/authorize?", fake.tenant_url("globex"));
        assert!(location.starts_with(&authorize), "{location}");
        assert_eq!(fake.calls(Endpoint::SdkConfiguration), 1, "configured from Wristband");
        app.stop().await;
        fake.shutdown().await;
    });
}

#[test]
fn without_a_client_id_the_example_runs_on_the_fake() {
    assert!(std::env::var_os(VARIABLE).is_none(), "{VARIABLE} is set around the test");
    assert!(!wristband_app::real_wristband_configured(&rocket::Config::figment()));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async move {
        let fake = FakeWristband::start().await;
        // On the fake (what `main` does without a client id): `acme` by default.
        let app = Server::start(wristband_app::app(Some(&fake))).await;
        wristband_app::register_with_fake(&fake, &app.base);
        let (status, location) = get(&app.url("/auth/login")).await;
        assert_eq!(status, 302);
        let authorize = format!("{}/api/v1/oauth2/authorize?", fake.tenant_url("acme"));
        assert!(location.starts_with(&authorize), "{location}");
        let (status, location) = get(&app.url("/auth/login?tenant_name=globex")).await;
        assert_eq!(status, 302);
        assert!(location.starts_with(&fake.tenant_url("globex")), "{location}");
        // Signed out: /protected sends the browser to the login, /api answers 401.
        let (status, location) = get(&app.url("/protected")).await;
        assert_eq!((status, location.as_str()), (303, "/auth/login?return_url=/protected"));
        let (status, _) = get(&app.url("/api/session")).await;
        assert_eq!(status, 401);
        app.stop().await;
        fake.shutdown().await;
    });
}

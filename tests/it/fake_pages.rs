#![cfg(feature = "fake-wristband")]
//! The fake Wristband's pages, over real TCP with reqwest: the application-level
//! tenant-discovery page (`GET /login?client_id=…`, where Wristband's SDKs and this crate send
//! a browser when no tenant is known) and its form, HTML escaping of what a visitor typed, and
//! the whole round trip through an app that uses the crate's standard routes: login without a
//! tenant → discovery → the app's login for the tenant → Wristband → callback → session →
//! logout → Wristband's logout → back to the app's login for the tenant. The logout endpoint's
//! other cases (and its signed-out page): `tests/it/fake_logout.rs`.
//!
//! The last test walks the same pages in Debian's headless Chromium (ignored by default, like
//! `tests/it/browser_wristband.rs`: `cargo test --all-features --test it fake_pages:: -- --ignored`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::cookie::Jar;
use reqwest::header::{CONTENT_TYPE, LOCATION};
use reqwest::redirect::Policy;
use reqwest::{Client, Response, StatusCode, Url};
use serde_json::{json, Value};
use wristband_rocket_session::testing::{Endpoint, FakeWristband};
use wristband_rocket_session::{SessionOptions, WristbandAuth, WristbandSession};

use crate::chromium;
use crate::support::server;

const APP_LOGIN: &str = "http://127.0.0.1:9/auth/login";
const APP_CALLBACK: &str = "http://127.0.0.1:9/auth/callback";

/// A browser that follows no redirect (the test does, step by step) and reaches the fake's
/// tenant hosts `<tenant>.localhost` on loopback.
fn browser(jar: Option<Arc<Jar>>) -> Client {
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut builder = Client::builder()
        .redirect(Policy::none())
        .resolve("acme.localhost", loopback)
        .resolve("globex.localhost", loopback);
    if let Some(jar) = jar {
        builder = builder.cookie_provider(jar);
    }
    builder.build().unwrap()
}

fn location(response: &Response) -> String {
    let value = response.headers().get(LOCATION).expect("a Location header");
    value.to_str().unwrap().to_string()
}

/// An HTML answer: its status and body (the content type is checked).
async fn page(response: Response) -> (StatusCode, String) {
    let status = response.status();
    let content_type =
        response.headers().get(CONTENT_TYPE).map(|v| v.to_str().unwrap().to_string());
    assert!(
        content_type.as_deref().is_some_and(|t| t.starts_with("text/html")),
        "{content_type:?}"
    );
    assert!(response.headers().get(LOCATION).is_none(), "a page, not a redirect");
    (status, response.text().await.unwrap())
}

/// The value of attribute `name` in the first tag of `html` that contains `marker`.
fn attribute(html: &str, marker: &str, name: &str) -> Option<String> {
    let at = html.find(marker)?;
    let start = html[..at].rfind('<')?;
    let end = at + html[at..].find('>')?;
    let tag = &html[start..end];
    let from = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let value = &tag[from..];
    Some(value[..value.find('"')?].to_string())
}

/// Undoes the escaping of an attribute value (only what the fake escapes).
fn unescape(value: &str) -> String {
    value
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Submits the discovery page's form as a browser would: its method and action, its hidden
/// `client_id`, and `tenant_name` typed in. Returns the answer.
async fn submit_discovery(client: &Client, page_url: &str, html: &str, typed: &str) -> Response {
    assert_eq!(attribute(html, "id=\"tenant-discovery\"", "method").as_deref(), Some("get"));
    let action = attribute(html, "id=\"tenant-discovery\"", "action").expect("an action");
    let client_id = attribute(html, "name=\"client_id\"", "value").expect("a hidden client_id");
    assert_eq!(attribute(html, "id=\"tenant_name\"", "name").as_deref(), Some("tenant_name"));
    assert!(html.contains("id=\"continue\""), "a submit button");
    let target = Url::parse(page_url).unwrap().join(&unescape(&action)).unwrap();
    let form = [("client_id", unescape(&client_id)), ("tenant_name", typed.to_string())];
    client.get(target).query(&form).send().await.unwrap()
}

#[rocket::async_test]
async fn the_discovery_page_asks_for_a_tenant_and_sends_the_browser_to_the_apps_login() {
    let fake = FakeWristband::start().await;
    let client = browser(None);
    let page_url = format!("{}/login?client_id={}", fake.base_url(), fake.client_id());

    // Plain login URL: `?tenant_name=` appended.
    fake.set_app_urls(APP_LOGIN, APP_CALLBACK);
    let (status, html) = page(client.get(&page_url).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("<form id=\"tenant-discovery\""), "{html}");
    let response = submit_discovery(&client, &page_url, &html, "acme").await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(location(&response), format!("{APP_LOGIN}?tenant_name=acme"));
    // Typed with spaces and capitals: the tenant name, normalised.
    let response = submit_discovery(&client, &page_url, &html, "  Globex ").await;
    assert_eq!(location(&response), format!("{APP_LOGIN}?tenant_name=globex"));

    // Tenant subdomains: the placeholder filled, no query parameter.
    fake.set_app_urls(
        "http://{tenant_name}.app.test:9/auth/login",
        "http://{tenant_name}.app.test:9/auth/callback",
    );
    let (_, html) = page(client.get(&page_url).send().await.unwrap()).await;
    let response = submit_discovery(&client, &page_url, &html, "acme").await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(location(&response), "http://acme.app.test:9/auth/login");
    assert_eq!(fake.calls(Endpoint::Login), 5);

    // On a tenant's host the tenant is known: straight to the app's login for it.
    let tenant_login =
        format!("{}/login?client_id={}", fake.tenant_url("globex"), fake.client_id());
    let response = client.get(&tenant_login).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(location(&response), "http://globex.app.test:9/auth/login");

    // No usable loginUrl in the SDK configuration: an error page, no redirect.
    fake.set_sdk_configuration(json!({ "loginUrl": null }));
    let response = client.get(format!("{page_url}&tenant_name=acme")).send().await.unwrap();
    let (status, _) = page(response).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
}

#[rocket::async_test]
async fn the_discovery_page_refuses_unknown_clients_and_bad_requests() {
    let fake = FakeWristband::start().await;
    let client = browser(None);
    let login = format!("{}/login", fake.base_url());
    let id = fake.client_id().to_string();
    let cases: [(Vec<(&str, &str)>, &str); 4] = [
        (vec![], "client_id is missing"),
        (vec![("client_id", "")], "client_id is missing"),
        (vec![("client_id", "someone-else")], "unknown client_id"),
        (
            vec![("client_id", id.as_str()), ("client_id", id.as_str())],
            "parameter client_id is repeated",
        ),
    ];
    for (query, why) in cases {
        let (status, html) = page(client.get(&login).query(&query).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query:?}");
        assert!(html.contains(why), "{query:?}: {html}");
        assert!(!html.contains("<form"), "{query:?}: {html}");
    }
    // A repeated tenant_name is refused too, with no redirect.
    let query = [("client_id", id.as_str()), ("tenant_name", "acme"), ("tenant_name", "globex")];
    let (status, _) = page(client.get(&login).query(&query).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(fake.calls(Endpoint::Login), 5);
}

#[rocket::async_test]
async fn a_hostile_tenant_name_is_shown_back_escaped_and_goes_nowhere() {
    let fake = FakeWristband::start().await;
    fake.set_app_urls(APP_LOGIN, APP_CALLBACK);
    let client = browser(None);
    let page_url = format!("{}/login?client_id={}", fake.base_url(), fake.client_id());
    let (_, form) = page(client.get(&page_url).send().await.unwrap()).await;

    let hostile = "\"><script>alert('x')</script>&amp;";
    let (status, html) = page(submit_discovery(&client, &page_url, &form, hostile).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    println!("{html}");
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("alert('x')"), "{html}");
    let escaped = "&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;amp;";
    assert!(
        html.contains(&format!("id=\"error\" role=\"alert\">\u{201c}{escaped}\u{201d}")),
        "{html}"
    );
    // Shown back in the field, which keeps it as typed.
    assert_eq!(attribute(&html, "id=\"tenant_name\"", "value").as_deref(), Some(escaped));
    assert_eq!(unescape(escaped), hostile);
    // The form is there again, to try another name.
    let response = submit_discovery(&client, &page_url, &html, "acme").await;
    assert_eq!(location(&response), format!("{APP_LOGIN}?tenant_name=acme"));

    // Names that would change the app's host in a placeholder URL are not tenant names.
    fake.set_app_urls(
        "http://{tenant_name}.app.test/auth/login",
        "http://{tenant_name}.app.test/cb",
    );
    for bad in ["evil.example/x?", "a@evil.example", "acme.evil", "", "-acme"] {
        let response = submit_discovery(&client, &page_url, &form, bad).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad:?}");
        assert!(response.headers().get(LOCATION).is_none(), "{bad:?}");
    }
}

/// The crate's standard routes with the fake, in the order a browser takes them: a login with
/// no tenant lands on the discovery page; its form leads to the app's login for the tenant,
/// Wristband's authorize and the callback; Wristband's logout sends the browser back to the
/// app's login for the same tenant, which starts a new sign-in.
#[rocket::async_test]
async fn the_crates_login_without_a_tenant_goes_through_the_discovery_page() {
    let fake = FakeWristband::start().await;
    let app = standard_app(&fake).await;
    let client = browser(Some(Arc::new(Jar::default())));

    // No tenant: the crate sends the browser to Wristband's application-level login page.
    let response = client.get(app.url("/auth/login")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let discovery = location(&response);
    assert_eq!(discovery, format!("{}/login?client_id=fake-client-id", fake.base_url()));
    let (status, html) = page(client.get(&discovery).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);

    // The form: on to the app's login for the tenant, then Wristband, then the callback.
    let response = submit_discovery(&client, &discovery, &html, "globex").await;
    let app_login = location(&response);
    assert_eq!(app_login, app.url("/auth/login?tenant_name=globex"));
    let response = client.get(&app_login).send().await.unwrap();
    let authorize = location(&response);
    assert!(
        authorize.starts_with(&format!("{}/api/v1/oauth2/authorize?", fake.tenant_url("globex"))),
        "{authorize}"
    );
    let response = client.get(&authorize).send().await.unwrap();
    let callback = location(&response);
    assert!(callback.starts_with(&app.url("/auth/callback?")), "{callback}");
    let response = client.get(&callback).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND, "{:?}", response.text().await);
    let session: Value =
        client.get(app.url("/auth/session")).send().await.unwrap().json().await.unwrap();
    assert_eq!(session["userId"], "fake-user-1");

    // Logout: Wristband's logout on the tenant host sends the browser back to the app's login
    // for the tenant, as Wristband does when no redirect_url is given.
    let response = client.get(app.url("/auth/logout")).send().await.unwrap();
    let wristband_logout = location(&response);
    assert!(
        wristband_logout.starts_with(&format!("{}/api/v1/logout?", fake.tenant_url("globex"))),
        "{wristband_logout}"
    );
    let response = client.get(&wristband_logout).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let again = location(&response);
    assert_eq!(again, app.url("/auth/login?tenant_name=globex"));
    let response = client.get(&again).send().await.unwrap();
    assert!(location(&response)
        .starts_with(&format!("{}/api/v1/oauth2/authorize?", fake.tenant_url("globex"))));
    assert_eq!(
        client.get(app.url("/auth/session")).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    app.stop().await;
}

/// The app of [`the_crates_login_without_a_tenant_goes_through_the_discovery_page`], served
/// over TCP and registered with `fake`.
async fn standard_app(fake: &FakeWristband) -> server::Server {
    let mut options = fake.auth_options();
    options.login_state_secret = Some("a-login-state-secret-of-at-least-32-chars".into());
    let session = SessionOptions {
        secrets: "a-session-secret-of-at-least-32-characters".into(),
        secure: false,
        ..SessionOptions::default()
    };
    let rocket = rocket::custom(rocket::Config::figment().merge(("log_level", "off")))
        .attach(WristbandSession::custom(session))
        .attach(WristbandAuth::custom(options))
        .mount("/auth", WristbandAuth::routes());
    let app = server::Server::start(rocket).await;
    fake.set_app_urls(&app.url("/auth/login"), &app.url("/auth/callback"));
    app
}

/// The discovery page and the logout in a real browser: a login with no tenant shows the form,
/// typing a tenant and pressing the button leads to that tenant's sign-in page; the logout goes
/// through Wristband's logout, back to the app's login and on to the sign-in page again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Debian chromium + chromium-driver; run by scripts/test.sh"]
async fn discovery_page_and_logout_in_headless_chromium() {
    const STEP: Duration = Duration::from_secs(10);
    chromium::require_tools();
    let out = chromium::target_dir().join("browser-e2e");
    std::fs::create_dir_all(&out).unwrap();
    let fake = FakeWristband::start().await;
    fake.set_auto_approve(false);
    let app = standard_app(&fake).await;
    let browser = chromium::Browser::start(&out, "fake-pages").await;
    let driver = &browser.driver;
    let fake_host = format!("localhost:{}", fake.port());
    let globex = format!("globex.localhost:{}", fake.port());
    let sign_in_page = format!(
        "return location.host === '{globex}' && location.pathname === '/api/v1/oauth2/authorize' \
         && document.getElementById('tenant')?.textContent === 'globex';"
    );

    driver.goto(&app.url("/auth/login")).await;
    let discovery = format!(
        "return location.host === '{fake_host}' && location.pathname === '/login' \
         && document.getElementById('tenant-discovery') !== null;"
    );
    driver.wait_for("the discovery page", &discovery, STEP).await;
    driver.execute("document.getElementById('tenant_name').value = 'Globex';").await.unwrap();
    driver.click("#continue").await;
    driver.wait_for("globex's sign-in page", &sign_in_page, STEP).await;
    println!("discovery page → typed Globex → the sign-in page on {globex}");

    driver.click("#sign-in").await;
    let landed = format!("return location.href === '{}';", app.url("/"));
    driver.wait_for("the app after the callback", &landed, STEP).await;
    driver.goto(&app.url("/auth/logout")).await;
    driver.wait_for("the sign-in page again", &sign_in_page, STEP).await;
    println!("signed in, then the logout led back to the sign-in page");
    assert_eq!(fake.calls(Endpoint::Login), 2);
    assert_eq!(fake.calls(Endpoint::Logout), 1);
    assert_eq!(fake.calls(Endpoint::Token), 1);

    browser.quit().await;
    app.stop().await;
    fake.shutdown().await;
}

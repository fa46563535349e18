#![cfg(feature = "fake-wristband")]
//! The fake Wristband as a development tool, over real TCP with reqwest: a fake handed to the
//! app with `rocket.manage(fake)` serves for as long as the app (a full sign-in after the
//! function that built the app returned); a stopped fake is named at the first login; the
//! sign-in page's user picker signs in different users (different `sub`, tenant and roles);
//! the discovery page keeps `return_url` and `state` and explains an empty field; the
//! standalone `fake_wristband` example starts, prints its client and URLs, and serves.
//!
//! The browser half (ignored by default, like `tests/it/browser_wristband.rs`) signs in as two
//! users in headless Chromium and, with `SCREENSHOTS_DIR` set, saves the pages' screenshots
//! (`scripts/screenshots.sh`).

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use reqwest::cookie::Jar;
use reqwest::header::LOCATION;
use reqwest::redirect::Policy;
use reqwest::{Client, Response, StatusCode};
use rocket::fairing::AdHoc;
use rocket::{Build, Rocket, State};
use serde_json::{json, Value};
use wristband_rocket_session::testing::{FakeUser, FakeWristband};
use wristband_rocket_session::{SessionOptions, WristbandAuth, WristbandSession};

use crate::chromium;
use crate::support::server;

/// Reaches the fake's tenant hosts `<tenant>.localhost` on loopback; follows no redirect.
fn browser() -> Client {
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    Client::builder()
        .redirect(Policy::none())
        .cookie_provider(Arc::new(Jar::default()))
        .resolve("acme.localhost", loopback)
        .resolve("globex.localhost", loopback)
        .build()
        .unwrap()
}

fn location(response: &Response) -> String {
    let value = response.headers().get(LOCATION).expect("a Location header");
    value.to_str().unwrap().to_string()
}

/// The value of attribute `name` in the tag of `html` that contains `marker`.
fn attribute(html: &str, marker: &str, name: &str) -> Option<String> {
    let at = html.find(marker)?;
    let start = html[..at].rfind('<')?;
    let end = at + html[at..].find('>')?;
    let tag = &html[start..end];
    let from = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let value = &tag[from..];
    Some(value[..value.find('"')?].to_string())
}

/// The fake's address, for the test (the app holds the fake itself).
#[rocket::get("/fake")]
fn fake_url(fake: &State<FakeWristband>) -> String {
    fake.local_url()
}

/// Two users of different tenants and roles.
fn two_users() -> [FakeUser; 2] {
    [
        FakeUser::new("ada", "acme").with_roles(["admin", "viewer"]),
        FakeUser::new("bob", "globex").with_roles(["viewer"]),
    ]
}

/// An app built the way the docs tell: the fake is a local of this function, handed to the
/// Rocket with `manage`; on liftoff the app registers its real URLs with it.
async fn app_with_its_fake(users: &[FakeUser]) -> Rocket<Build> {
    let fake = FakeWristband::start().await;
    fake.set_auto_approve(false);
    fake.set_users(users.iter().cloned());
    let mut options = fake.auth_options();
    options.login_state_secret = Some("a-login-state-secret-of-at-least-32-chars".into());
    let session = SessionOptions {
        secrets: "a-session-secret-of-at-least-32-characters".into(),
        secure: false,
        ..SessionOptions::default()
    };
    rocket::custom(rocket::Config::figment().merge(("log_level", "off")))
        .attach(WristbandSession::custom(session))
        .attach(WristbandAuth::custom(options))
        .attach(AdHoc::on_liftoff("register with the fake", |rocket| {
            Box::pin(async move {
                let port = rocket.config().port;
                let fake = rocket.state::<FakeWristband>().expect("the app manages its fake");
                let origin = format!("http://127.0.0.1:{port}");
                fake.set_app_urls(
                    &format!("{origin}/auth/login"),
                    &format!("{origin}/auth/callback"),
                );
            })
        }))
        .mount("/auth", WristbandAuth::routes())
        .mount("/", rocket::routes![fake_url])
        .manage(fake)
}

/// Signs in on `app` as the `n`th user of the sign-in page's picker; returns the fake's
/// userinfo for the access token the app then holds.
async fn sign_in_as(app: &server::Server, fake_url: &str, n: usize) -> Value {
    let client = browser();
    let response =
        client.get(app.url("/auth/login?tenant_name=acme&return_url=/auth/session")).send().await;
    let authorize = location(&response.unwrap());
    let page = client.get(&authorize).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("<fieldset id=\"users\">"), "a user picker: {html}");
    let request_id = attribute(&html, &format!("id=\"user-{n}\""), "value").expect("user n");
    let action = authorize.split('?').next().unwrap();
    let response = client.post(action).form(&[("request_id", &request_id)]).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let callback = location(&response);
    let response = client.get(&callback).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND, "{callback}: {:?}", response.text().await);
    let session: Value =
        client.get(app.url("/auth/session")).send().await.unwrap().json().await.unwrap();
    let token: Value =
        client.get(app.url("/auth/token")).send().await.unwrap().json().await.unwrap();
    let access_token = token["accessToken"].as_str().expect("an access token");
    let userinfo: Value = client
        .get(format!("{fake_url}/api/v1/oauth2/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    json!({ "session": session, "userinfo": userinfo, "callback": callback })
}

/// The role names of a userinfo answer.
fn roles(userinfo: &Value) -> Vec<String> {
    let roles = userinfo["roles"].as_array().expect("roles");
    roles.iter().map(|r| r["name"].as_str().unwrap().to_string()).collect()
}

#[rocket::async_test]
async fn a_managed_fake_lives_as_long_as_the_app_and_its_picker_signs_in_two_users() {
    let app = server::Server::start(app_with_its_fake(&two_users()).await).await;
    // `app_with_its_fake` has returned: its `fake` lives on in the app.
    let fake_url = browser().get(app.url("/fake")).send().await.unwrap().text().await.unwrap();

    let ada = sign_in_as(&app, &fake_url, 0).await;
    let bob = sign_in_as(&app, &fake_url, 1).await;
    println!("{ada:#}\n{bob:#}");
    assert_eq!(ada["userinfo"]["sub"], "ada");
    assert_eq!(ada["session"]["userId"], "ada");
    assert_eq!(ada["userinfo"]["tnt_id"], "fake-tenant-acme");
    assert_eq!(roles(&ada["userinfo"]), ["app:fake:admin", "app:fake:viewer"]);
    assert_eq!(bob["userinfo"]["sub"], "bob");
    assert_eq!(bob["session"]["userId"], "bob");
    assert_eq!(bob["userinfo"]["tnt_id"], "fake-tenant-globex");
    assert_eq!(roles(&bob["userinfo"]), ["app:fake:viewer"]);
    // Bob's tenant is his own, whatever tenant the login asked for.
    assert!(bob["callback"].as_str().unwrap().contains("tenant_name=globex"), "{bob}");
    app.stop().await;
}

#[rocket::async_test]
async fn a_stopped_fake_is_named_at_the_first_login() {
    let fake = FakeWristband::start().await;
    let session = SessionOptions {
        secrets: "a-session-secret-of-at-least-32-characters".into(),
        secure: false,
        ..SessionOptions::default()
    };
    let rocket = rocket::custom(rocket::Config::figment().merge(("log_level", "off")))
        .attach(WristbandSession::custom(session))
        .attach(WristbandAuth::custom(fake.auth_options()))
        .mount("/auth", WristbandAuth::routes());
    let app = server::Server::start(rocket).await;
    let vanity = fake.vanity_domain();
    // The trap: the fake dropped while the app goes on.
    fake.shutdown().await;

    // A browser's request: in the debug profile the 500 page says why.
    let response = browser()
        .get(app.url("/auth/login?tenant_name=acme"))
        .header("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = response.text().await.unwrap();
    println!("{body}");
    let expected =
        format!("nothing is listening at {vanity}: is the fake Wristband (or Wristband) running?");
    assert!(body.contains(&expected), "{body}");
    assert!(!body.contains("firewall"), "{body}");
    app.stop().await;
}

#[rocket::async_test]
async fn the_discovery_page_keeps_return_url_and_state_and_explains_an_empty_field() {
    let fake = FakeWristband::start().await;
    fake.set_app_urls("http://127.0.0.1:9/auth/login", "http://127.0.0.1:9/auth/callback");
    let client = browser();
    let query = [
        ("client_id", fake.client_id()),
        ("return_url", "/billing?tab=1&x=\"y\""),
        ("state", "s-123"),
    ];
    let login = format!("{}/login", fake.base_url());
    let html = client.get(&login).query(&query).send().await.unwrap().text().await.unwrap();
    assert_eq!(
        attribute(&html, "name=\"return_url\"", "value").as_deref(),
        Some("/billing?tab=1&amp;x=&quot;y&quot;")
    );
    assert_eq!(attribute(&html, "name=\"state\"", "value").as_deref(), Some("s-123"));

    // Left empty: 400, saying so, with the return URL and state still there.
    let empty: Vec<_> = query.iter().copied().chain([("tenant_name", "  ")]).collect();
    let response = client.get(&login).query(&empty).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert!(html.contains("the field was empty"), "{html}");
    assert!(html.contains("name=\"state\" value=\"s-123\""), "{html}");

    // Filled: on to the app's login with both.
    let filled: Vec<_> = query.iter().copied().chain([("tenant_name", "Acme")]).collect();
    let response = client.get(&login).query(&filled).send().await.unwrap();
    let to = reqwest::Url::parse(&location(&response)).unwrap();
    let pairs: Vec<(String, String)> = to.query_pairs().into_owned().collect();
    assert_eq!(
        pairs,
        [
            ("tenant_name".to_string(), "acme".to_string()),
            ("return_url".into(), "/billing?tab=1&x=\"y\"".into()),
            ("state".into(), "s-123".into()),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// The standalone example
// ---------------------------------------------------------------------------------------------

/// The `fake_wristband` example, built now as the README builds it.
fn example() -> PathBuf {
    crate::support::examples::built("fake_wristband", &["fake-wristband"])
}

/// Kills the example when the test ends, passing or not.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[rocket::async_test]
async fn the_standalone_fake_prints_its_client_and_serves() {
    let path = rocket::tokio::task::spawn_blocking(example).await.unwrap();
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port();
    let mut child = Command::new(path)
        .args(["--port", &port.to_string(), "--app", "http://localhost:3000"])
        .args(["--user", "ada:acme:admin,viewer", "--user", "bob:globex:viewer"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the example");
    let stdout = child.stdout.take().unwrap();
    let _running = Running(child);
    // Everything it prints, up to its last line.
    let printed = rocket::tokio::time::timeout(
        Duration::from_secs(60),
        rocket::tokio::task::spawn_blocking(move || {
            let mut text = String::new();
            for line in BufReader::new(stdout).lines() {
                let line = line.unwrap();
                text.push_str(&line);
                text.push('\n');
                if line.starts_with("Stop it with Ctrl-C") {
                    break;
                }
            }
            text
        }),
    )
    .await
    .expect("the example prints its summary within 60 s")
    .unwrap();
    println!("{printed}");
    let base = format!("http://localhost:{port}");
    for shown in [
        "client_id:     fake-client-id".to_string(),
        "client_secret: fake-client-secret-0123456789abcdef".into(),
        format!("vanity domain: localhost:{port}"),
        format!("SDK configuration: {base}/api/v1/clients/fake-client-id/sdk-configuration"),
        format!("authorize:         {base}/api/v1/oauth2/authorize"),
        format!("tenant discovery:  {base}/login?client_id=fake-client-id"),
        "app login URL:     http://localhost:3000/auth/login".into(),
        "ada (tenant acme, tnt_id fake-tenant-acme): roles admin, viewer".into(),
        "bob (tenant globex, tnt_id fake-tenant-globex): roles viewer".into(),
    ] {
        assert!(printed.contains(&shown), "not printed: {shown}\n{printed}");
    }

    let url = format!("{base}/api/v1/clients/fake-client-id/sdk-configuration");
    let config: Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
    assert_eq!(config["loginUrl"], "http://localhost:3000/auth/login");
    assert_eq!(config["redirectUri"], "http://localhost:3000/auth/callback");
    assert_eq!(config["isApplicationCustomDomainActive"], true);
}

// ---------------------------------------------------------------------------------------------
// In a real browser
// ---------------------------------------------------------------------------------------------

/// Saves a screenshot of the current page as `<SCREENSHOTS_DIR>/<name>.png` when that variable
/// is set (`scripts/screenshots.sh`).
async fn screenshot(driver: &crate::webdriver::WebDriver, name: &str) {
    let Some(dir) = std::env::var_os("SCREENSHOTS_DIR") else { return };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    let png = driver.screenshot().await;
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, png).unwrap();
    println!("saved {}", path.display());
}

/// The sign-in page's picker in headless Chromium: the first sign-in picks Ada (admin of
/// acme), the second, after signing out, Bob (viewer of globex); the app's session says who.
/// Also visits (and, with `SCREENSHOTS_DIR`, photographs) the discovery page, its "empty
/// field" answer and the sign-in page. Each logout ends on the tenant's sign-in page again (the
/// fake knows the app's login URL); its signed-out page, shown only without one, is
/// `docs/images/signed-out.png`, taken before that rule.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Debian chromium + chromium-driver; run by scripts/test.sh"]
async fn the_user_picker_signs_in_two_users_in_headless_chromium() {
    const STEP: Duration = Duration::from_secs(10);
    chromium::require_tools();
    let out = chromium::target_dir().join("browser-e2e");
    std::fs::create_dir_all(&out).unwrap();
    let app = server::Server::start(app_with_its_fake(&two_users()).await).await;
    let fake_url = browser().get(app.url("/fake")).send().await.unwrap().text().await.unwrap();
    let fake_host = fake_url.trim_start_matches("http://").to_string();
    let browser = chromium::Browser::start(&out, "fake-devtool").await;
    let driver = &browser.driver;
    // A phone-to-laptop-sized window keeps the screenshots small.
    let rect = json!({ "width": 640, "height": 640 });
    driver.command(reqwest::Method::POST, "/window/rect", Some(rect)).await.unwrap();

    // The discovery page, and what it says about an empty field.
    driver.goto(&format!("{fake_url}/login?client_id=fake-client-id&return_url=/")).await;
    let discovery = "return document.getElementById('tenant-discovery') !== null;";
    driver.wait_for("the discovery page", discovery, STEP).await;
    screenshot(driver, "discovery").await;
    driver
        .execute("document.getElementById('tenant_name').removeAttribute('required');")
        .await
        .unwrap();
    driver.click("#continue").await;
    let empty = "return document.getElementById('error')?.textContent ?? false;";
    let said = driver.wait_for("the empty-field answer", empty, STEP).await;
    assert!(said.as_str().unwrap().contains("the field was empty"), "{said}");
    screenshot(driver, "discovery-empty").await;

    let picker = format!(
        "return location.host === 'acme.{fake_host}' \
         && document.getElementById('user-1') !== null;"
    );
    for (n, user, tenant) in [(0, "ada", "acme"), (1, "bob", "globex")] {
        driver.goto(&app.url("/auth/login?tenant_name=acme&return_url=/auth/session")).await;
        driver.wait_for("the sign-in page with its user picker", &picker, STEP).await;
        if n == 0 {
            screenshot(driver, "sign-in").await;
        }
        driver.click(&format!("#user-{n}")).await;
        driver.click("#sign-in").await;
        let session = format!(
            "return location.href === '{}' && document.body.textContent;",
            app.url("/auth/session")
        );
        let text = driver.wait_for("the session after the callback", &session, STEP).await;
        let session: Value = serde_json::from_str(text.as_str().unwrap()).unwrap();
        println!("signed in as user {n}: {session}");
        assert_eq!(session["userId"], user);
        assert_eq!(session["tenantId"], format!("fake-tenant-{tenant}"));

        // The fake knows the app's login URL, so its logout sends the browser back there, as
        // Wristband's does: the app's login shows a tenant's sign-in page again.
        driver.goto(&app.url("/auth/logout")).await;
        let again = format!(
            "return location.host.endsWith('.{fake_host}') \
             && document.getElementById('user-1') !== null;"
        );
        driver.wait_for("the tenant's sign-in page after the logout", &again, STEP).await;
        // …and the browser's session at the app is gone.
        driver.goto(&app.url("/auth/session")).await;
        let gone = format!(
            "return location.href === '{}' && !document.body.textContent.includes('userId');",
            app.url("/auth/session")
        );
        driver.wait_for("the app's session gone after the logout", &gone, STEP).await;
    }
    browser.quit().await;
    app.stop().await;
}

//! The `auth_flow` example's app over real TCP, walked by a `reqwest` client with a cookie
//! store: redirect to the login page, fake login, CSRF-checked API calls, the token endpoint,
//! logout, and the 401 after it.

use std::sync::Arc;
use std::time::Duration;

use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, PRAGMA, SET_COOKIE};
use reqwest::{StatusCode, Url};
use serde_json::{json, Value};

use crate::support::server;

use server::Server;

use crate::auth_flow;

/// The names of the cookies the store would send to `url`.
fn stored_names(jar: &Jar, url: &Url) -> Vec<String> {
    let Some(header) = jar.cookies(url) else {
        return Vec::new();
    };
    header
        .to_str()
        .unwrap()
        .split("; ")
        .map(|pair| pair.split('=').next().unwrap().to_string())
        .collect()
}

/// The value of cookie `name` in the store, for `url`.
fn stored_value(jar: &Jar, url: &Url, name: &str) -> Option<String> {
    let header = jar.cookies(url)?;
    header
        .to_str()
        .unwrap()
        .split("; ")
        .find_map(|pair| pair.strip_prefix(&format!("{name}=")).map(str::to_string))
}

/// The `Set-Cookie` header values of a response.
fn set_cookies(resp: &reqwest::Response) -> Vec<String> {
    resp.headers().get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_string()).collect()
}

fn set_cookie<'a>(set_cookies: &'a [String], name: &str) -> Option<&'a str> {
    set_cookies.iter().find(|h| h.starts_with(&format!("{name}="))).map(String::as_str)
}

async fn walk(base: &str) {
    let jar = Arc::new(Jar::default());
    let client = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = |path: &str| format!("{base}{path}");
    let base_url = Url::parse(base).unwrap();

    // Not logged in: the home page redirects to the login page.
    let resp = client.get(url("/")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()[LOCATION], "/login");
    let resp = client.get(url("/login")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);

    // The fake callback logs in: 204 with the session and CSRF cookies.
    let callback = json!({
        "accessToken": "demo-access-token", "expiresAt": 1_767_225_600_000_i64,
        "expiresIn": 1740, "idToken": "demo-id-token", "refreshToken": "demo-refresh-token",
        "tenantName": "acme",
        "userinfo": { "userId": "user-1", "tenantId": "tenant-1", "applicationId": "app-1",
                      "identityProviderName": "wristband", "email": "ada@example.com" }
    });
    let resp = client.post(url("/login")).json(&callback).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let headers = set_cookies(&resp);
    let session = set_cookie(&headers, "session").expect("session cookie");
    assert!(session.contains("HttpOnly"), "{session}");
    let csrf = set_cookie(&headers, "CSRF-TOKEN").expect("CSRF cookie");
    assert!(!csrf.contains("HttpOnly"), "{csrf}");
    let token = stored_value(&jar, &base_url, "CSRF-TOKEN").expect("CSRF cookie stored");
    assert_eq!(token.len(), 64);
    assert!(stored_names(&jar, &base_url).contains(&"session".to_string()));

    // The page now greets the user.
    let resp = client.get(url("/")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await.unwrap().contains("Welcome, user-1 of acme"));

    // A state-changing call wants the CSRF header; a read (GET) does not.
    let resp = client.post(url("/api/notes")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(set_cookies(&resp).is_empty());
    assert_eq!(resp.text().await.unwrap(), r#"{"error":"Forbidden"}"#);
    let resp = client.get(url("/api/session")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "GET is not CSRF-checked");
    let resp = client.get(url("/api/session")).header("X-CSRF-TOKEN", &token).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()[CONTENT_TYPE], "application/json");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body,
        json!({ "userId": "user-1", "tenantId": "tenant-1",
                "metadata": { "tenantName": "acme", "notes": 0 } })
    );

    // Two notes, counted in the session.
    for expected in 1..=2 {
        let resp =
            client.post(url("/api/notes")).header("X-CSRF-TOKEN", &token).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body, json!({ "notes": expected }));
    }
    // The token stayed the same through those re-issues.
    assert_eq!(stored_value(&jar, &base_url, "CSRF-TOKEN"), Some(token.clone()));

    // The token endpoint: no-store.
    let resp = client.get(url("/api/token")).header("X-CSRF-TOKEN", &token).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()[CACHE_CONTROL], "no-store");
    assert_eq!(resp.headers()[PRAGMA], "no-cache");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body,
        json!({ "accessToken": "demo-access-token", "expiresAt": 1_767_225_600_000_i64 })
    );

    // Logout removes both cookies.
    let resp = client.post(url("/api/logout")).header("X-CSRF-TOKEN", &token).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let headers = set_cookies(&resp);
    for name in ["session", "CSRF-TOKEN"] {
        let removal = set_cookie(&headers, name).unwrap_or_else(|| panic!("{name} removal"));
        assert!(removal.contains("Max-Age=0"), "{removal}");
    }
    assert!(stored_names(&jar, &base_url).is_empty(), "{:?}", stored_names(&jar, &base_url));

    // Logged out: 401, and the home page redirects again.
    let resp = client.get(url("/api/session")).header("X-CSRF-TOKEN", &token).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(resp.text().await.unwrap(), r#"{"error":"Unauthorized"}"#);
    let resp = client.get(url("/")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_flow_over_tcp() {
    // The example as it is, with the repository's Rocket.toml (`debug`: plain HTTP, no
    // `Secure`).
    let server = Server::start(auth_flow::app()).await;
    // The whole walk is bounded so that a hang fails instead of stalling the suite.
    rocket::tokio::time::timeout(Duration::from_secs(15), walk(&server.base))
        .await
        .expect("the walk finishes within 15 s");
    server.stop().await;
}

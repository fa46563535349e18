#![cfg(feature = "fake-wristband")]
//! The fake Wristband's logout (`GET /api/v1/logout`) over real TCP with reqwest, ending as
//! Wristband's does: without `redirect_url`, 302 to the app's login URL for the tenant with
//! `tenant_name` and the `state` it was given; its signed-out page only when it knows no login
//! URL; with `redirect_url`, 302 there only when it is a logout URL of the client
//! (`set_logout_urls`, by default the origin of the app's login URL), else a 400 page.

use std::net::SocketAddr;

use reqwest::header::{CONTENT_TYPE, LOCATION};
use reqwest::redirect::Policy;
use reqwest::{Client, Response, StatusCode};
use serde_json::json;
use wristband_rocket_session::testing::{Endpoint, FakeUser, FakeWristband};

const APP_LOGIN: &str = "http://127.0.0.1:9/auth/login";
const APP_CALLBACK: &str = "http://127.0.0.1:9/auth/callback";

/// A client that follows no redirect and reaches the fake's tenant hosts on loopback.
fn client() -> Client {
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    Client::builder()
        .redirect(Policy::none())
        .resolve("acme.localhost", loopback)
        .resolve("globex.localhost", loopback)
        .build()
        .unwrap()
}

/// `GET {host}/api/v1/logout` with the fake's client id and `extra` parameters.
async fn logout(fake: &FakeWristband, host: &str, extra: &[(&str, &str)]) -> Response {
    let mut query = vec![("client_id", fake.client_id())];
    query.extend_from_slice(extra);
    client().get(format!("{host}/api/v1/logout")).query(&query).send().await.unwrap()
}

fn location(response: &Response) -> String {
    assert_eq!(response.status(), StatusCode::FOUND);
    let value = response.headers().get(LOCATION).expect("a Location header");
    value.to_str().unwrap().to_string()
}

/// A 400 HTML error page, no redirect; its body.
async fn refused(response: Response) -> String {
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get(LOCATION).is_none(), "no redirect");
    let content_type = response.headers().get(CONTENT_TYPE).unwrap().to_str().unwrap();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    response.text().await.unwrap()
}

#[rocket::async_test]
async fn without_a_redirect_url_logout_goes_back_to_the_apps_login_with_tenant_and_state() {
    let fake = FakeWristband::start().await;
    fake.set_app_urls(APP_LOGIN, APP_CALLBACK);
    let globex = fake.tenant_url("globex");

    // The tenant's host: tenant_name, then the state as given (encoded once).
    let response = logout(&fake, &globex, &[("state", "s 1&x")]).await;
    assert_eq!(location(&response), format!("{APP_LOGIN}?tenant_name=globex&state=s+1%26x"));
    assert_eq!(response.headers()["cache-control"], "no-store");

    // No state given: none added (an empty one counts as none).
    let response = logout(&fake, &globex, &[]).await;
    assert_eq!(location(&response), format!("{APP_LOGIN}?tenant_name=globex"));
    let response = logout(&fake, &globex, &[("state", "")]).await;
    assert_eq!(location(&response), format!("{APP_LOGIN}?tenant_name=globex"));

    // Tenant subdomains: the placeholder filled instead of a tenant_name parameter.
    fake.set_app_urls("http://{tenant_name}.app.test:9/auth/login", APP_CALLBACK);
    let response = logout(&fake, &fake.tenant_url("acme"), &[("state", "s2")]).await;
    assert_eq!(location(&response), "http://acme.app.test:9/auth/login?state=s2");

    // A tenant custom domain (any other host) is named too.
    fake.set_app_urls(APP_LOGIN, APP_CALLBACK);
    let custom = format!("http://127.0.0.1:{}", fake.port());
    let response = logout(&fake, &custom, &[("state", "s3")]).await;
    assert_eq!(
        location(&response),
        format!(
            "{APP_LOGIN}?tenant_name=acme&tenant_custom_domain=127.0.0.1%3A{}&state=s3",
            fake.port()
        )
    );

    // A user whose tenant name needs encoding: encoded, not pasted.
    fake.set_user(FakeUser { tenant_name: Some("a&b c".into()), ..FakeUser::default() });
    let response = logout(&fake, &globex, &[]).await;
    assert_eq!(location(&response), format!("{APP_LOGIN}?tenant_name=a%26b+c"));
    assert_eq!(fake.calls(Endpoint::Logout), 6);
}

#[rocket::async_test]
async fn the_signed_out_page_only_when_no_login_url_is_known() {
    let fake = FakeWristband::start().await;
    for configuration in [json!({}), json!({ "loginUrl": null }), json!({ "loginUrl": "nope" })] {
        fake.set_sdk_configuration(configuration.clone());
        let response = logout(&fake, &fake.tenant_url("acme"), &[("state", "s1")]).await;
        assert_eq!(response.status(), StatusCode::OK, "{configuration}");
        assert!(response.headers().get(LOCATION).is_none());
        let html = response.text().await.unwrap();
        assert!(html.contains("<p id=\"signed-out\">You are signed out.</p>"), "{html}");
        // Its link: the application-level login page (the tenant-discovery form).
        let link = format!(
            "id=\"sign-in-again\" href=\"{}/login?client_id=fake-client-id\"",
            fake.base_url()
        );
        assert!(html.contains(&link), "{html}");
        assert!(!html.contains("s1"), "the state is not used: {html}");
    }
    // With a public URL the link names it.
    fake.set_public_url(Some("https://auth.example.test"));
    let response = logout(&fake, &format!("http://acme.localhost:{}", fake.port()), &[]).await;
    let html = response.text().await.unwrap();
    assert!(html.contains("href=\"https://auth.example.test/login?client_id=fake-client-id\""));

    // A login URL again: a redirect again.
    fake.set_public_url(None);
    fake.set_app_urls(APP_LOGIN, APP_CALLBACK);
    let response = logout(&fake, &fake.tenant_url("acme"), &[]).await;
    assert_eq!(location(&response), format!("{APP_LOGIN}?tenant_name=acme"));
}

#[rocket::async_test]
async fn by_default_a_redirect_url_must_be_on_the_origin_of_the_apps_login_url() {
    let fake = FakeWristband::start().await;
    fake.set_app_urls(APP_LOGIN, APP_CALLBACK);
    let acme = fake.tenant_url("acme");

    let to = "http://127.0.0.1:9/bye?x=1";
    let response = logout(&fake, &acme, &[("redirect_url", to), ("state", "s 1")]).await;
    assert_eq!(location(&response), "http://127.0.0.1:9/bye?x=1&state=s+1");
    let response = logout(&fake, &acme, &[("redirect_url", "http://127.0.0.1:9/")]).await;
    assert_eq!(location(&response), "http://127.0.0.1:9/");

    // Another scheme, host or port: refused with an error page.
    for other in [
        "https://127.0.0.1:9/bye",
        "http://127.0.0.2:9/bye",
        "http://127.0.0.1:10/bye",
        "http://localhost:9/bye",
        "http://evil.example/",
    ] {
        let html = refused(logout(&fake, &acme, &[("redirect_url", other)]).await).await;
        assert!(html.contains("redirect_url is not a logout URL of this client"), "{html}");
    }
    // Not an http(s) URL at all.
    let html = refused(logout(&fake, &acme, &[("redirect_url", "javascript:x")]).await).await;
    assert!(html.contains("redirect_url is not a URL"), "{html}");

    // Subdomains: the origin of the login URL for the logout host's tenant.
    fake.set_app_urls("http://{tenant_name}.app.test/auth/login", APP_CALLBACK);
    let response = logout(&fake, &acme, &[("redirect_url", "http://acme.app.test/bye")]).await;
    assert_eq!(location(&response), "http://acme.app.test/bye");
    let wrong_tenant = logout(&fake, &acme, &[("redirect_url", "http://globex.app.test/bye")]);
    refused(wrong_tenant.await).await;

    // No login URL known: no redirect_url is known either.
    fake.set_sdk_configuration(json!({}));
    refused(logout(&fake, &acme, &[("redirect_url", "http://acme.app.test/bye")]).await).await;
}

#[rocket::async_test]
async fn configured_logout_urls_are_the_only_redirect_urls() {
    let fake = FakeWristband::start().await;
    fake.set_app_urls(APP_LOGIN, APP_CALLBACK);
    fake.set_logout_urls(Some(&["https://app.example/bye", "https://{tenant_name}.app.example/"]));
    let acme = fake.tenant_url("acme");

    let response = logout(&fake, &acme, &[("redirect_url", "https://app.example/bye")]).await;
    assert_eq!(location(&response), "https://app.example/bye");
    // Compared as URLs: case of scheme and host, default port.
    let same = "HTTPS://App.Example:443/bye";
    let response = logout(&fake, &acme, &[("redirect_url", same), ("state", "s")]).await;
    assert_eq!(location(&response), "https://app.example/bye?state=s");
    // The placeholder filled with the logout host's tenant.
    let response = logout(&fake, &acme, &[("redirect_url", "https://acme.app.example/")]).await;
    assert_eq!(location(&response), "https://acme.app.example/");

    // Anything else, the login URL's origin included: refused.
    for other in [
        "https://app.example/bye?x=1",
        "https://app.example/bye/",
        "https://globex.app.example/",
        "http://127.0.0.1:9/bye",
        APP_LOGIN,
    ] {
        refused(logout(&fake, &acme, &[("redirect_url", other)]).await).await;
    }
    // Without redirect_url, still back to the app's login.
    let response = logout(&fake, &acme, &[]).await;
    assert_eq!(location(&response), format!("{APP_LOGIN}?tenant_name=acme"));

    // An empty list allows none; `None` is the default again.
    fake.set_logout_urls(Some(&[]));
    refused(logout(&fake, &acme, &[("redirect_url", "https://app.example/bye")]).await).await;
    fake.set_logout_urls(None);
    let response = logout(&fake, &acme, &[("redirect_url", "http://127.0.0.1:9/bye")]).await;
    assert_eq!(location(&response), "http://127.0.0.1:9/bye");
}

#[test]
#[should_panic(expected = "is not an http(s) URL")]
fn a_logout_url_that_is_not_an_http_url_is_a_panic() {
    rocket::async_test(async {
        let fake = FakeWristband::start().await;
        fake.set_logout_urls(Some(&["javascript:alert(1)"]));
    });
}

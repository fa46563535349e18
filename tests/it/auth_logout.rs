#![cfg(feature = "fake-wristband")]
//! `Wristband::logout()` against the fake Wristband: the logout URL's host precedence and
//! encoding, `state`, the application-level fallback, refresh-token revocation (failures
//! ignored), the session and CSRF cookies removed, repeated parameters, hostile input.

use crate::support::auth_app;

use auth_app::{custom_logout, on_host, set_config, AuthApp};
use rocket::http::{Cookie, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use serde_json::{json, Value};
use wristband_rocket_session::testing::{
    callback_data, Endpoint, FakeWristband, LocalRequestExt, Reply,
};
use wristband_rocket_session::{AuthOptions, CallbackData, LogoutConfig};

/// An app on the fake (CSRF protection, `/t/logout`), with `configure` applied to the fake's
/// options.
async fn app(fake: &FakeWristband, configure: impl FnOnce(&mut AuthOptions)) -> Client {
    AuthApp { csrf: true, ..AuthApp::new(routes![custom_logout]) }.client(fake, configure).await
}

/// A logged-in user of tenant `tenant` (no custom domain), refresh token `refresh`.
fn user(tenant: &str, refresh: Option<&str>) -> CallbackData {
    let mut data = callback_data("u1", "t1");
    data.tenant_name = tenant.into();
    data.refresh_token = refresh.map(String::from);
    data
}

/// The `Location` of a 302 that also forbids caching.
fn location(response: &LocalResponse<'_>) -> String {
    let url = auth_app::location(response);
    assert_eq!(response.headers().get_one("Cache-Control"), Some("no-store"));
    assert_eq!(response.headers().get_one("Pragma"), Some("no-cache"));
    url
}

#[rocket::async_test]
async fn logout_revokes_destroys_the_session_and_redirects_to_the_tenant_logout() {
    let fake = FakeWristband::start().await;
    let client = app(&fake, |_| {}).await;
    let refresh = fake.issue_refresh_token("u1", "t1");
    let response =
        client.get("/auth/logout").logged_in_as(&user("acme", Some(&refresh))).dispatch().await;
    assert_eq!(
        location(&response),
        format!("http://acme.localhost:{}/api/v1/logout?client_id=fake-client-id", fake.port())
    );
    assert_eq!(fake.revoked_tokens(), [refresh]);
    let cookies: Vec<&str> = response.headers().get("Set-Cookie").collect();
    let removal = |name: &str| {
        cookies.iter().any(|c| c.starts_with(&format!("{name}=;")) && c.contains("Max-Age=0"))
    };
    assert!(removal("session"), "{cookies:?}");
    assert!(removal("CSRF-TOKEN"), "{cookies:?}");
    assert_eq!(cookies.len(), 2);
}

#[rocket::async_test]
async fn without_a_refresh_token_nothing_is_revoked_and_a_failed_revocation_is_ignored() {
    let fake = FakeWristband::start().await;
    let client = app(&fake, |_| {}).await;
    let response = client.get("/auth/logout").logged_in_as(&user("acme", None)).dispatch().await;
    assert!(location(&response).contains("acme.localhost"));
    assert_eq!(fake.calls(Endpoint::Revoke), 0);

    fake.script(Endpoint::Revoke, [Reply::Status(500)]);
    let response =
        client.get("/auth/logout").logged_in_as(&user("acme", Some("rt"))).dispatch().await;
    assert!(location(&response).contains("/api/v1/logout?client_id="));
    assert_eq!(fake.calls(Endpoint::Revoke), 1);
    assert!(response.headers().get("Set-Cookie").any(|c| c.starts_with("session=;")));

    // The config's refresh token wins over the session's.
    set_config(
        &client,
        LogoutConfig { refresh_token: Some("from-config".into()), ..LogoutConfig::default() },
    );
    client.get("/t/logout").logged_in_as(&user("acme", Some("from-session"))).dispatch().await;
    assert_eq!(fake.revoked_tokens().last().map(String::as_str), Some("from-config"));
}

#[rocket::async_test]
async fn host_precedence() {
    let fake = FakeWristband::start().await;
    let vanity = fake.vanity_domain();
    let client = app(&fake, |_| {}).await;
    let mut session = user("sess", None);
    session.tenant_custom_domain = Some("sess.example.com".into());
    let config = |domain: Option<&str>, name: Option<&str>| LogoutConfig {
        tenant_custom_domain: domain.map(String::from),
        tenant_name: name.map(String::from),
        ..LogoutConfig::default()
    };
    let query = "?tenant_custom_domain=q.example.com&tenant_name=qname";
    let cases: Vec<(LogoutConfig, Option<&CallbackData>, &str, String)> = vec![
        (
            config(Some("c.example.com"), Some("cname")),
            Some(&session),
            query,
            "c.example.com".into(),
        ),
        (config(None, Some("cname")), Some(&session), query, format!("cname.{vanity}")),
        (config(None, None), Some(&session), query, "sess.example.com".into()),
        (config(None, None), None, query, "q.example.com".into()),
        (config(None, None), None, "?tenant_name=qname", format!("qname.{vanity}")),
    ];
    let plain = user("plain", None);
    for (logout_config, login, query, expected) in cases {
        set_config(&client, logout_config);
        let request = client.get(format!("/t/logout{query}"));
        let request = match login {
            Some(login) => request.logged_in_as(login),
            None => request,
        };
        let url = location(&request.dispatch().await);
        assert_eq!(url, format!("http://{expected}/api/v1/logout?client_id=fake-client-id"));
    }
    // The session's tenant name beats the query.
    set_config(&client, LogoutConfig::default());
    let url =
        location(&client.get(format!("/t/logout{query}")).logged_in_as(&plain).dispatch().await);
    assert!(url.starts_with(&format!("http://plain.{vanity}/")), "{url}");

    // Subdomain mode: the host's tenant, not the tenant_name parameter.
    let client = app(&fake, |o| {
        o.parse_tenant_from_root_domain = Some("app.test".into());
        o.login_url = Some("http://{tenant_name}.app.test/auth/login".into());
        o.redirect_uri = Some("http://{tenant_name}.app.test/auth/callback".into());
    })
    .await;
    let url = location(
        &on_host(client.get("/auth/logout?tenant_name=q"), "sub.app.test").dispatch().await,
    );
    assert!(url.starts_with(&format!("http://sub.{vanity}/api/v1/logout")), "{url}");
    // Without the application custom domain: a dash.
    let client = app(&fake, |o| o.is_application_custom_domain_active = Some(false)).await;
    let url = location(&client.get("/auth/logout").logged_in_as(&plain).dispatch().await);
    assert!(url.starts_with(&format!("http://plain-{vanity}/")), "{url}");
}

#[rocket::async_test]
async fn redirect_url_and_state_are_encoded() {
    let fake = FakeWristband::start().await;
    let client = app(&fake, |_| {}).await;
    set_config(
        &client,
        LogoutConfig {
            redirect_url: Some("https://app.example.com/bye?x=1&y=2".into()),
            state: Some("a b&c=d".into()),
            ..LogoutConfig::default()
        },
    );
    let url = location(&client.get("/t/logout").logged_in_as(&user("acme", None)).dispatch().await);
    assert_eq!(
        url,
        format!(
            "http://acme.localhost:{}/api/v1/logout?client_id=fake-client-id\
             &redirect_url=https%3A%2F%2Fapp.example.com%2Fbye%3Fx%3D1%26y%3D2&state=a+b%26c%3Dd",
            fake.port()
        )
    );
}

#[rocket::async_test]
async fn state_is_limited_to_512_characters_and_omitted_when_empty() {
    let fake = FakeWristband::start().await;
    let client = app(&fake, |_| {}).await;
    let logout = |state: String| {
        set_config(&client, LogoutConfig { state: Some(state), ..LogoutConfig::default() });
        client.get("/t/logout").logged_in_as(&user("acme", Some("rt"))).dispatch()
    };
    let url = location(&logout("é".repeat(512)).await);
    assert!(url.contains("&state="));
    assert!(!location(&logout(String::new()).await).contains("state"));
    let response = logout("s".repeat(513)).await;
    assert_eq!(response.status(), Status::InternalServerError);
    // Nothing happened: no revocation (the two logouts above revoked), no cookie removed.
    assert_eq!(fake.calls(Endpoint::Revoke), 2);
    assert!(response.headers().get("Set-Cookie").next().is_none());
    let body: Value = response.into_json().await.unwrap();
    assert_eq!(body, json!({ "error": "invalid_logout_state" }));
    // Also in the fallback, where state is not sent at all.
    set_config(&client, LogoutConfig { state: Some("s".repeat(513)), ..LogoutConfig::default() });
    assert_eq!(client.get("/t/logout").dispatch().await.status(), Status::InternalServerError);
}

#[rocket::async_test]
async fn with_no_tenant_it_falls_back() {
    let fake = FakeWristband::start().await;
    let client = app(&fake, |_| {}).await;
    // The vanity login page.
    let url = location(&client.get("/auth/logout").dispatch().await);
    assert_eq!(url, format!("{}/login?client_id=fake-client-id", fake.base_url()));
    // The config's redirect URL, as given; state dropped.
    set_config(
        &client,
        LogoutConfig {
            redirect_url: Some("https://app.example.com/bye?x=1".into()),
            state: Some("st".into()),
            ..LogoutConfig::default()
        },
    );
    assert_eq!(
        location(&client.get("/t/logout").dispatch().await),
        "https://app.example.com/bye?x=1"
    );
    // A custom application login page.
    let mut sdk = fake.sdk_configuration();
    sdk["customApplicationLoginPageUrl"] = "https://login.example.com/".into();
    fake.set_sdk_configuration(sdk);
    let client = app(&fake, |_| {}).await;
    let url = location(&client.get("/auth/logout").dispatch().await);
    assert_eq!(url, "https://login.example.com/?client_id=fake-client-id");
}

#[rocket::async_test]
async fn repeated_or_malformed_parameters_are_400_and_keep_the_session() {
    let fake = FakeWristband::start().await;
    let client = app(&fake, |_| {}).await;
    for (query, code) in [
        ("tenant_name=a&tenant_name=b", "duplicate_query_parameter"),
        ("tenant_custom_domain=a.com&tenant_custom_domain=b.com", "duplicate_query_parameter"),
        ("tenant_name=evil.com%2F", "invalid_tenant_name"),
    ] {
        let response = client
            .get(format!("/auth/logout?{query}"))
            .logged_in_as(&user("acme", Some("rt")))
            .dispatch()
            .await;
        assert_eq!(response.status(), Status::BadRequest);
        assert!(response.headers().get("Set-Cookie").next().is_none());
        let body: Value = response.into_json().await.unwrap();
        assert_eq!(body, json!({ "error": code }), "{query}");
    }
    assert_eq!(fake.calls(Endpoint::Revoke), 0);
    // A malformed tenant from the app's config is a 500.
    set_config(
        &client,
        LogoutConfig { tenant_name: Some("a/b".into()), ..LogoutConfig::default() },
    );
    assert_eq!(client.get("/t/logout").dispatch().await.status(), Status::InternalServerError);
}

#[rocket::async_test]
async fn hostile_input_never_gives_a_5xx() {
    use rand::{Rng, SeedableRng};
    let fake = FakeWristband::start().await;
    let client = app(&fake, |_| {}).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(13);
    let keys = ["tenant_name", "tenant_custom_domain", "state", "redirect_url", ""];
    let atoms = ["%FF", "%00", "%2F", "+", "=", "a", "-", ".", "%E2%82%AC", "%25", ":", "@"];
    for round in 0..200 {
        let mut query = String::new();
        for _ in 0..rng.gen_range(0..6) {
            let key = keys[rng.gen_range(0..keys.len())];
            let len = rng.gen_range(0..if round % 50 == 0 { 3000 } else { 10 });
            let value: String = (0..len).map(|_| atoms[rng.gen_range(0..atoms.len())]).collect();
            query.push_str(&format!("{key}={value}&"));
        }
        let mut request = client.get(format!("/auth/logout?{query}"));
        if round % 2 == 0 {
            let value: String = (0..rng.gen_range(0..500))
                .map(|_| rng.gen_range('!'..='~'))
                .filter(|c| *c != ';')
                .collect();
            request = request.cookie(Cookie::new("session", value));
        }
        let status = request.dispatch().await.status();
        assert!(matches!(status.code, 302 | 400), "{query} gave {status}");
    }
}

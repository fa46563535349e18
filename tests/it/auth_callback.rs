#![cfg(feature = "fake-wristband")]
//! `Wristband::callback()` against the fake Wristband: a completed login (tokens, expiry with
//! the buffer, userinfo mapping, return URL and custom state), each `RedirectReason`, the
//! login-state cookie always cleared, Wristband's errors, repeated parameters, hostile input,
//! and a full login → callback → session → logout round trip over real TCP.

use std::net::SocketAddr;
use std::sync::Arc;

use auth_app::{custom_login, get_on_host, location, login_state_codec, set_config, set_cookies};
use auth_app::{AuthApp, LOGIN_STATE_SECRET};
use reqwest::cookie::Jar;
use reqwest::Url;
use rocket::http::{Cookie, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use rocket::serde::json::Json;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;
use wristband_rocket_session::testing::{Endpoint, FakeUser, FakeWristband, Reply};
use wristband_rocket_session::{
    AuthOptions, AuthenticatedSession, CallbackResult, LoginConfig, Wristband, WristbandError,
};

use crate::support::auth_app;
use crate::support::server;

/// The callback's result as JSON, for the tests to read.
#[get("/t/callback")]
async fn json_callback(wristband: Wristband<'_>) -> Result<Json<Value>, WristbandError> {
    Ok(Json(match wristband.callback().await? {
        CallbackResult::Completed(data) => json!({ "completed": data }),
        CallbackResult::RedirectRequired { redirect_url, reason } => {
            json!({ "redirect_url": redirect_url, "reason": reason })
        }
    }))
}

/// The app (a login-state secret, CSRF protection, `/t/login` and `/t/callback`), with
/// `configure` applied to the fake's options.
fn rocket(
    fake: &FakeWristband,
    configure: impl FnOnce(&mut AuthOptions),
) -> rocket::Rocket<rocket::Build> {
    AuthApp {
        // The custom domains these tests use (the allowlist: tests/it/security_tenant_domains.rs).
        allowed_tenant_custom_domains: &["auth.acme.com", "x.com", "y.com"],
        login_state_secret: Some(LOGIN_STATE_SECRET),
        csrf: true,
        routes: routes![custom_login, json_callback],
    }
    .rocket(fake, configure)
}

async fn app(fake: &FakeWristband, configure: impl FnOnce(&mut AuthOptions)) -> Client {
    Client::untracked(rocket(fake, configure)).await.expect("valid app")
}

/// A client for the fake's tenant hosts (`<tenant>.localhost` resolved to loopback).
fn browser(fake: &FakeWristband, tenants: &[&str]) -> reqwest::Client {
    let mut builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    for tenant in tenants {
        let addr = SocketAddr::from(([127, 0, 0, 1], fake.port()));
        builder = builder.resolve(&format!("{tenant}.localhost"), addr);
    }
    builder.build().unwrap()
}

/// A login for `query`: the login-state cookie and the path + query Wristband sends the
/// browser back to (after the fake's authorize).
async fn login(client: &Client, fake: &FakeWristband, query: &str) -> (Cookie<'static>, String) {
    let response = client.get(format!("/t/login?{query}")).dispatch().await;
    let authorize = location(&response);
    let cookie = login_cookie(&response);
    let answer = browser(fake, &["acme", "globex"]).get(&authorize).send().await.unwrap();
    assert_eq!(answer.status(), 302, "the fake approves");
    let back = Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
    (cookie, format!("/t/callback?{}", back.query().unwrap()))
}

fn login_cookie(response: &LocalResponse<'_>) -> Cookie<'static> {
    let header = set_cookies(response).into_iter().find(|h| h.starts_with("login#")).unwrap();
    let cookie = Cookie::parse(header).unwrap();
    Cookie::new(cookie.name().to_string(), cookie.value().to_string())
}

/// The login-state cookies a response removed.
fn removed(response: &LocalResponse<'_>) -> Vec<String> {
    set_cookies(response)
        .into_iter()
        .filter(|h| h.starts_with("login#") && h.contains("Max-Age=0"))
        .map(|h| Cookie::parse(h).unwrap().name().to_string())
        .collect()
}

async fn callback<'c>(
    client: &'c Client,
    uri: &str,
    cookie: Option<&Cookie<'static>>,
) -> LocalResponse<'c> {
    let mut request = client.get(uri.to_string());
    if let Some(cookie) = cookie {
        request = request.cookie(cookie.clone());
    }
    request.dispatch().await
}

async fn json_of(response: LocalResponse<'_>) -> Value {
    response.into_json().await.expect("a JSON body")
}

fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// A login-state value sealed by hand (as the app would), at `now`.
fn seal(name: &str, state: &str, at: OffsetDateTime) -> String {
    let login = json!({
        "state": state, "codeVerifier": "v".repeat(43),
        "redirectUri": "http://localhost:8000/auth/callback"
    });
    login_state_codec(name).seal_at(login.as_object().unwrap(), at).unwrap()
}

#[rocket::async_test]
async fn a_completed_callback_gives_tokens_user_return_url_and_custom_state() {
    let fake = FakeWristband::start().await;
    let mut extra = Map::new();
    extra.insert("phone_number".into(), "+441234".into());
    extra.insert("preferred_username".into(), "ada.l".into());
    extra.insert("locale".into(), "en-GB".into());
    fake.set_user(FakeUser {
        user_id: "user-42".into(),
        tenant_id: "tenant-7".into(),
        roles: vec![json!({ "id": "r1", "name": "app:fake:admin", "display_name": "Admin" })],
        custom_claims: json!({ "plan": "pro" }).as_object().cloned(),
        extra_claims: extra,
        ..FakeUser::default()
    });
    let client = app(&fake, |_| {}).await;
    let custom = json!({ "cart": [1, 2] }).as_object().cloned();
    set_config(
        &client,
        LoginConfig {
            custom_state: custom.clone(),
            return_url: Some("/settings?tab=2".into()),
            ..LoginConfig::default()
        },
    );
    let (cookie, uri) = login(&client, &fake, "tenant_name=acme").await;
    let before = now_ms();
    let response = callback(&client, &uri, Some(&cookie)).await;
    assert_eq!(response.status(), Status::Ok);
    let body = json_of(response).await;
    let data = &body["completed"];
    assert!(data["accessToken"].as_str().unwrap().len() > 20);
    assert!(!data["idToken"].as_str().unwrap().is_empty());
    assert!(!data["refreshToken"].as_str().unwrap().is_empty());
    assert_eq!(data["expiresIn"], 1740, "1800 − the 60 s buffer");
    let expires_at = data["expiresAt"].as_i64().unwrap();
    assert!(expires_at >= before + 1_740_000 && expires_at <= now_ms() + 1_740_000);
    assert_eq!(data["tenantName"], "acme");
    assert!(data.get("tenantCustomDomain").is_none());
    assert_eq!(data["returnUrl"], "/settings?tab=2");
    assert_eq!(data["customState"], Value::Object(custom.unwrap()));
    let user = &data["userinfo"];
    assert_eq!(user["userId"], "user-42");
    assert_eq!(user["tenantId"], "tenant-7");
    assert_eq!(user["applicationId"], fake.application_id());
    assert_eq!(user["identityProviderName"], "wristband");
    assert_eq!(user["email"], "fake.user@example.com");
    assert_eq!(user["emailVerified"], true);
    assert_eq!(user["fullName"], "Fake User");
    assert_eq!(user["givenName"], "Fake");
    assert_eq!(user["familyName"], "User");
    assert_eq!(user["phoneNumber"], "+441234");
    assert_eq!(user["displayName"], "ada.l");
    assert_eq!(user["locale"], "en-GB");
    assert_eq!(
        user["roles"],
        json!([{ "id": "r1", "name": "app:fake:admin", "displayName": "Admin" }])
    );
    assert_eq!(user["customClaims"], json!({ "plan": "pro" }));

    // The code is spent: replaying the callback with a fresh cookie is an invalid grant.
    let (cookie2, _) = login(&client, &fake, "tenant_name=acme").await;
    let state2 = cookie2.name().split('#').nth(1).unwrap().to_string();
    let code = Url::parse(&format!("http://x{uri}"))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let replay = format!("/t/callback?code={code}&state={state2}&tenant_name=acme");
    let body = json_of(callback(&client, &replay, Some(&cookie2)).await).await;
    assert_eq!(body["reason"], "invalid_grant");
}

#[rocket::async_test]
async fn expiry_uses_the_token_expiration_buffer() {
    for (buffer, expected) in [(0, 1800), (120, 1680)] {
        let fake = FakeWristband::start().await;
        let client = app(&fake, |o| o.token_expiration_buffer = buffer).await;
        let (cookie, uri) = login(&client, &fake, "tenant_name=acme").await;
        let before = now_ms();
        let body = json_of(callback(&client, &uri, Some(&cookie)).await).await;
        assert_eq!(body["completed"]["expiresIn"], expected);
        let at = body["completed"]["expiresAt"].as_i64().unwrap();
        assert!(at >= before + expected * 1000 && at <= now_ms() + expected * 1000);
    }
}

#[rocket::async_test]
async fn the_tenant_custom_domain_of_the_callback_is_kept() {
    let fake = FakeWristband::start().await;
    let client = app(&fake, |_| {}).await;
    let (cookie, uri) = login(&client, &fake, "tenant_name=acme").await;
    let uri = format!("{uri}&tenant_custom_domain=auth.acme.com");
    let body = json_of(callback(&client, &uri, Some(&cookie)).await).await;
    assert_eq!(body["completed"]["tenantCustomDomain"], "auth.acme.com");
}

#[rocket::async_test]
async fn each_redirect_reason() {
    let fake = FakeWristband::start().await;
    let client = app(&fake, |_| {}).await;
    let login_url = "http://localhost:8000/auth/login?tenant_name=acme";
    let reason = |body: &Value| {
        (
            body["reason"].as_str().unwrap().to_string(),
            body["redirect_url"].as_str().unwrap().to_string(),
        )
    };

    // No cookie.
    let (_, uri) = login(&client, &fake, "tenant_name=acme").await;
    let body = json_of(callback(&client, &uri, None).await).await;
    assert_eq!(reason(&body), ("missing_login_state".into(), login_url.into()));

    // A tampered cookie: invalid, and still cleared.
    let (cookie, uri) = login(&client, &fake, "tenant_name=acme").await;
    let mut value = cookie.value().to_string();
    let last = if value.ends_with('A') { "B" } else { "A" };
    value.replace_range(value.len() - 1.., last);
    let tampered = Cookie::new(cookie.name().to_string(), value);
    let response = callback(&client, &uri, Some(&tampered)).await;
    assert_eq!(reason(&json_of(response).await).0, "invalid_login_state");

    // An expired cookie (sealed more than an hour ago).
    let name = "login#the-state#1000";
    let old = OffsetDateTime::now_utc() - time::Duration::seconds(3601);
    let expired = Cookie::new(name, seal(name, "the-state", old));
    let uri = "/t/callback?code=c&state=the-state&tenant_name=acme";
    assert_eq!(
        reason(&json_of(callback(&client, uri, Some(&expired)).await).await).0,
        "invalid_login_state"
    );
    // The same value, fresh, opens: the check above is the expiry.
    let fresh = Cookie::new(name, seal(name, "the-state", OffsetDateTime::now_utc()));
    let body = json_of(callback(&client, uri, Some(&fresh)).await).await;
    assert_eq!(reason(&body).0, "invalid_grant", "the code `c` is unknown to the fake");
    // A value sealed under another cookie name (moved), or holding another state.
    let moved =
        Cookie::new(name, seal("login#the-state#2000", "the-state", OffsetDateTime::now_utc()));
    assert_eq!(
        reason(&json_of(callback(&client, uri, Some(&moved)).await).await).0,
        "invalid_login_state"
    );
    let other = Cookie::new(name, seal(name, "another-state", OffsetDateTime::now_utc()));
    assert_eq!(
        reason(&json_of(callback(&client, uri, Some(&other)).await).await).0,
        "invalid_login_state"
    );

    // Wristband says the user must log in (any case).
    fake.set_authorize_error(Some("login_required"));
    let (cookie, uri) = login(&client, &fake, "tenant_name=acme").await;
    assert!(uri.contains("error=login_required"));
    let response = callback(&client, &uri, Some(&cookie)).await;
    assert_eq!(reason(&json_of(response).await).0, "login_required");
    let (cookie, uri) = login(&client, &fake, "tenant_name=acme").await;
    let uri = uri.replace("error=login_required", "error=LOGIN_REQUIRED");
    assert_eq!(
        reason(&json_of(callback(&client, &uri, Some(&cookie)).await).await).0,
        "login_required"
    );
    fake.set_authorize_error(None);

    // Wristband refuses the code.
    fake.script(Endpoint::Token, [Reply::InvalidGrant(Some("code expired".into()))]);
    let (cookie, uri) = login(&client, &fake, "tenant_name=acme").await;
    let body = json_of(callback(&client, &uri, Some(&cookie)).await).await;
    assert_eq!(reason(&body), ("invalid_grant".into(), login_url.into()));
    assert!(body.get("completed").is_none());
}

#[rocket::async_test]
async fn redirect_urls_in_subdomain_mode_and_with_a_custom_domain() {
    let fake = FakeWristband::start().await;
    let client = app(&fake, |o| {
        o.parse_tenant_from_root_domain = Some("app.test".into());
        o.login_url = Some("http://{tenant_name}.app.test/auth/login".into());
        o.redirect_uri = Some("http://{tenant_name}.app.test/auth/callback".into());
    })
    .await;
    let on_host = |uri: &'static str, host: &'static str| get_on_host(&client, uri, host);
    let body =
        json_of(on_host("/t/callback?state=s&code=c&tenant_name=ignored", "acme.app.test").await)
            .await;
    assert_eq!(body["reason"], "missing_login_state");
    assert_eq!(body["redirect_url"], "http://acme.app.test/auth/login");
    let uri = "/t/callback?state=s&code=c&tenant_custom_domain=auth.acme.com";
    let body = json_of(on_host(uri, "acme.app.test").await).await;
    assert_eq!(
        body["redirect_url"],
        "http://acme.app.test/auth/login?tenant_custom_domain=auth.acme.com"
    );
    // No subdomain: a 400 naming it.
    let response = on_host("/t/callback?state=s&code=c&tenant_name=acme", "app.test").await;
    assert_eq!(response.status(), Status::BadRequest);
    assert_eq!(json_of(response).await, json!({ "error": "missing_tenant_subdomain" }));

    // Query mode with a custom domain, values encoded.
    let client = app(&fake, |_| {}).await;
    let uri = "/t/callback?state=s&code=c&tenant_name=acme&tenant_custom_domain=auth.acme.com";
    let body = json_of(callback(&client, uri, None).await).await;
    assert_eq!(
        body["redirect_url"],
        "http://localhost:8000/auth/login?tenant_name=acme&tenant_custom_domain=auth.acme.com"
    );
}

#[rocket::async_test]
async fn wristbands_other_errors_and_bad_parameters_are_400() {
    let fake = FakeWristband::start().await;
    let client = app(&fake, |_| {}).await;
    let (cookie, uri) = login(&client, &fake, "tenant_name=acme").await;
    let state = cookie.name().split('#').nth(1).unwrap().to_string();
    let uri_error = format!(
        "/t/callback?state={state}&tenant_name=acme&error=access_denied&error_description=no"
    );
    let response = callback(&client, &uri_error, Some(&cookie)).await;
    assert_eq!(response.status(), Status::BadRequest);
    assert_eq!(removed(&response), [cookie.name()], "cleared even on an error");
    assert_eq!(json_of(response).await, json!({ "error": "access_denied" }));
    drop(uri);

    let cases = [
        ("code=c&tenant_name=acme", "invalid_query_parameter"),
        ("state=s&tenant_name=acme&code=c&code=d", "duplicate_query_parameter"),
        ("state=s&state=t&tenant_name=acme&code=c", "duplicate_query_parameter"),
        ("state=s&tenant_name=acme&error=x&error=y", "duplicate_query_parameter"),
        (
            "state=s&tenant_name=acme&error_description=x&error_description=y",
            "duplicate_query_parameter",
        ),
        ("state=s&tenant_name=a&tenant_name=b&code=c", "duplicate_query_parameter"),
        (
            "state=s&tenant_name=a&tenant_custom_domain=x.com&tenant_custom_domain=y.com",
            "duplicate_query_parameter",
        ),
        ("state=s&code=c", "missing_tenant_name"),
        ("state=s&code=c&tenant_name=evil.com%2F", "invalid_tenant_name"),
    ];
    for (query, code) in cases {
        let response = callback(&client, &format!("/t/callback?{query}"), None).await;
        assert_eq!(response.status(), Status::BadRequest, "{query}");
        assert_eq!(response.headers().get_one("Cache-Control"), Some("no-store"));
        assert_eq!(json_of(response).await, json!({ "error": code }), "{query}");
    }
    // A valid cookie but no code.
    let (cookie, _) = login(&client, &fake, "tenant_name=acme").await;
    let state = cookie.name().split('#').nth(1).unwrap().to_string();
    let response =
        callback(&client, &format!("/t/callback?state={state}&tenant_name=acme"), Some(&cookie))
            .await;
    assert_eq!(json_of(response).await, json!({ "error": "invalid_query_parameter" }));
    // The deprecated `tenant_domain` names the tenant too.
    let body =
        json_of(callback(&client, "/t/callback?state=s&code=c&tenant_domain=acme", None).await)
            .await;
    assert_eq!(body["redirect_url"], "http://localhost:8000/auth/login?tenant_name=acme");
}

#[rocket::async_test]
async fn wristband_failing_is_500_without_leaking_anything() {
    let fake = FakeWristband::start().await;
    let client = app(&fake, |_| {}).await;
    let leaky =
        json!({ "error": "server_error", "access_token": "leaky-token", "detail": "secret stack" });
    fake.script(Endpoint::Token, (0..3).map(|_| Reply::Json(500, leaky.clone())));
    let (cookie, uri) = login(&client, &fake, "tenant_name=acme").await;
    let response = callback(&client, &uri, Some(&cookie)).await;
    assert_eq!(response.status(), Status::InternalServerError);
    assert_eq!(response.headers().get_one("Cache-Control"), Some("no-store"));
    assert_eq!(removed(&response), [cookie.name()]);
    let body = response.into_string().await.unwrap();
    assert_eq!(body, r#"{"error":"unexpected_error"}"#);
    for secret in
        ["leaky", "server_error", fake.client_secret(), LOGIN_STATE_SECRET, cookie.value()]
    {
        assert!(!body.contains(secret));
    }
    assert_eq!(fake.calls(Endpoint::Token), 3, "5xx retried");

    // Userinfo failing is a 500 too.
    fake.script(Endpoint::Userinfo, (0..3).map(|_| Reply::Status(503)));
    let (cookie, uri) = login(&client, &fake, "tenant_name=acme").await;
    let response = callback(&client, &uri, Some(&cookie)).await;
    assert_eq!(response.status(), Status::InternalServerError);
    assert_eq!(json_of(response).await, json!({ "error": "unexpected_error" }));
}

/// The standard callback route (a `WristbandRedirect` or a `WristbandError`) clears the
/// login-state cookie whatever the outcome.
#[rocket::async_test]
async fn the_login_state_cookie_is_always_cleared() {
    let fake = FakeWristband::start().await;
    let client = app(&fake, |_| {}).await;
    let standard = |uri: String| uri.replace("/t/callback", "/auth/callback");
    // Completed: 302 to the return URL (here none: `/`), with the session.
    let (cookie, uri) = login(&client, &fake, "tenant_name=acme").await;
    let response = callback(&client, &standard(uri), Some(&cookie)).await;
    assert_eq!(response.headers().get_one("Location"), Some("/"));
    assert_eq!(removed(&response), [cookie.name()]);
    assert!(set_cookies(&response).iter().any(|c| c.starts_with("session=")));
    // Tampered: 302 to the login, cleared.
    let (cookie, uri) = login(&client, &fake, "tenant_name=acme").await;
    let tampered = Cookie::new(cookie.name().to_string(), "x".repeat(80));
    let response = callback(&client, &standard(uri), Some(&tampered)).await;
    assert_eq!(response.status(), Status::Found);
    assert_eq!(removed(&response), [cookie.name()]);
    // Wristband's login_required: cleared.
    fake.set_authorize_error(Some("login_required"));
    let (cookie, uri) = login(&client, &fake, "tenant_name=acme").await;
    let response = callback(&client, &standard(uri), Some(&cookie)).await;
    assert_eq!(
        response.headers().get_one("Location"),
        Some("http://localhost:8000/auth/login?tenant_name=acme")
    );
    assert_eq!(removed(&response), [cookie.name()]);
    fake.set_authorize_error(Some("access_denied"));
    let (cookie, uri) = login(&client, &fake, "tenant_name=acme").await;
    let response = callback(&client, &standard(uri), Some(&cookie)).await;
    assert_eq!(response.status(), Status::BadRequest);
    assert_eq!(removed(&response), [cookie.name()]);
    // Every matching cookie goes; others stay.
    fake.set_authorize_error(None);
    let (cookie, uri) = login(&client, &fake, "tenant_name=acme").await;
    let twin = Cookie::new(format!("{}9", cookie.name()), "x");
    let other = Cookie::new("login#other#1", "x");
    let mut request = client.get(standard(uri));
    request = request.cookie(cookie.clone()).cookie(twin.clone()).cookie(other);
    let response = request.dispatch().await;
    let mut gone = removed(&response);
    gone.sort();
    let mut expected = vec![cookie.name().to_string(), twin.name().to_string()];
    expected.sort();
    assert_eq!(gone, expected);
}

/// With any other responder (here `Json`), the `WristbandAuth` fairing's response phase
/// writes the removal cookie.
#[rocket::async_test]
async fn the_login_state_cookie_is_cleared_whatever_the_handler_returns() {
    let fake = FakeWristband::start().await;
    let client = app(&fake, |_| {}).await;
    let (cookie, uri) = login(&client, &fake, "tenant_name=acme").await;
    let response = callback(&client, &uri, Some(&cookie)).await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(removed(&response), [cookie.name()]);
    let response = callback(&client, "/t/callback?state=s&code=c&tenant_name=acme", None).await;
    assert_eq!(response.status(), Status::Ok);
    assert!(removed(&response).is_empty());
}

/// Any query string or cookies a client sends to the callback: 302, 400 or the JSON route's
/// 200, never a 5xx (Wristband is up).
#[rocket::async_test]
async fn hostile_input_never_gives_a_5xx() {
    use rand::{Rng, SeedableRng};
    let fake = FakeWristband::start().await;
    let client = app(&fake, |_| {}).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let keys = [
        "state",
        "code",
        "tenant_name",
        "tenant_domain",
        "tenant_custom_domain",
        "error",
        "error_description",
        "",
    ];
    let atoms = [
        "%FF",
        "%00",
        "%23",
        "%2F",
        "+",
        "=",
        "a",
        "s",
        "-",
        ".",
        "%E2%82%AC",
        "%25",
        "login_required",
        "acme",
    ];
    for round in 0..300 {
        let mut query = String::new();
        for _ in 0..rng.gen_range(0..7) {
            let key = keys[rng.gen_range(0..keys.len())];
            let len = rng.gen_range(0..if round % 50 == 0 { 3000 } else { 8 });
            let value: String = (0..len).map(|_| atoms[rng.gen_range(0..atoms.len())]).collect();
            query.push_str(&format!("{key}={value}&"));
        }
        let path = if round % 2 == 0 { "/t/callback" } else { "/auth/callback" };
        let mut request = client.get(format!("{path}?{query}"));
        for _ in 0..rng.gen_range(0..4) {
            let state = if rng.r#gen() { "s" } else { "a" };
            let value: String = (0..rng.gen_range(0..300))
                .map(|_| rng.gen_range('!'..='~'))
                .filter(|c| *c != ';')
                .collect();
            request =
                request.cookie(Cookie::new(format!("login#{state}#{}", rng.r#gen::<u16>()), value));
        }
        let status = request.dispatch().await.status();
        assert!(matches!(status.code, 200 | 302 | 400), "{path}?{query} gave {status}");
    }
}

/// A page for signed-in users, behind `AuthenticatedSession`.
#[get("/me")]
fn me(session: AuthenticatedSession<'_>) -> String {
    format!("page of {}", session.user_id())
}

/// The same path on a state-changing method.
#[post("/me")]
fn me_post(session: AuthenticatedSession<'_>) -> String {
    format!("posted by {}", session.user_id())
}

/// Issue 27: with CSRF protection on, signing in with `return_url=/me` ended on a 403, since
/// the browser's navigation to `/me` after the callback cannot carry the CSRF header. A GET is
/// not CSRF-checked now; a POST still is.
#[rocket::async_test]
async fn signing_in_with_csrf_on_lands_on_the_return_url_page() {
    let fake = FakeWristband::start().await;
    let app = AuthApp {
        login_state_secret: Some(LOGIN_STATE_SECRET),
        csrf: true,
        ..AuthApp::new(routes![me, me_post])
    };
    let client = Client::tracked(app.rocket(&fake, |_| {})).await.expect("valid app");

    let response = client.get("/auth/login?tenant_name=acme&return_url=%2Fme").dispatch().await;
    let authorize = location(&response);
    drop(response);
    let answer = browser(&fake, &["acme"]).get(&authorize).send().await.unwrap();
    assert_eq!(answer.status(), 302, "the fake approves");
    let back = Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
    let response = client.get(format!("/auth/callback?{}", back.query().unwrap())).dispatch().await;
    assert_eq!(location(&response), "/me", "the callback sends the browser to the return URL");
    drop(response);
    let token = client.cookies().get("CSRF-TOKEN").expect("a CSRF cookie").value().to_string();

    // The browser follows the redirect: a plain GET with its cookies and no CSRF header.
    let response = client.get("/me").dispatch().await;
    assert_eq!(response.status(), Status::Ok, "the page opens after sign-in");
    assert_eq!(response.into_string().await.unwrap(), "page of fake-user-1");
    // A state-changing request still needs the header.
    assert_eq!(client.post("/me").dispatch().await.status(), Status::Forbidden);
    let response = client
        .post("/me")
        .header(rocket::http::Header::new("X-CSRF-TOKEN", token))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Ok);
}

/// The standard routes over real TCP, walked by a `reqwest` client with a cookie store:
/// login → Wristband's authorize → callback → session and token → logout → 401.
#[rocket::async_test]
async fn login_callback_session_logout_over_tcp() {
    let fake = FakeWristband::start().await;
    let app = server::Server::start(rocket(&fake, |_| {})).await;
    fake.set_app_urls(&app.url("/auth/login"), &app.url("/auth/callback"));
    let jar = Arc::new(Jar::default());
    let addr = SocketAddr::from(([127, 0, 0, 1], fake.port()));
    let browser = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .resolve("acme.localhost", addr)
        .build()
        .unwrap();

    let response = browser
        .get(app.url("/auth/login?tenant_name=acme&return_url=%2Fhome"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(set_cookie.starts_with("login#"), "{set_cookie}");
    let authorize = response.headers()["location"].to_str().unwrap().to_string();
    assert!(authorize
        .starts_with(&format!("http://acme.localhost:{}/api/v1/oauth2/authorize?", fake.port())));

    let response = browser.get(&authorize).send().await.unwrap();
    assert_eq!(response.status(), 302);
    let back = response.headers()["location"].to_str().unwrap().to_string();
    assert!(back.starts_with(&app.url("/auth/callback?")), "{back}");

    let response = browser.get(&back).send().await.unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(response.headers()["location"], "/home");
    let cookies: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(
        cookies.iter().any(|c| c.starts_with("login#") && c.contains("Max-Age=0")),
        "{cookies:?}"
    );
    assert!(cookies.iter().any(|c| c.starts_with("session=")), "{cookies:?}");
    let csrf = cookies
        .iter()
        .find_map(|c| c.strip_prefix("CSRF-TOKEN="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();

    let session: Value = browser
        .get(app.url("/auth/session"))
        .header("X-CSRF-TOKEN", &csrf)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        session,
        json!({ "userId": "fake-user-1", "tenantId": "fake-tenant-1", "metadata": {} })
    );
    let token: Value = browser
        .get(app.url("/auth/token"))
        .header("X-CSRF-TOKEN", &csrf)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(token["accessToken"].as_str().unwrap().len() > 20);

    let response = browser.get(app.url("/auth/logout")).send().await.unwrap();
    assert_eq!(response.status(), 302);
    let logout = response.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(
        logout,
        format!("http://acme.localhost:{}/api/v1/logout?client_id=fake-client-id", fake.port())
    );
    assert_eq!(fake.revoked_tokens().len(), 1, "the refresh token is revoked");
    let response =
        browser.get(app.url("/auth/session")).header("X-CSRF-TOKEN", &csrf).send().await.unwrap();
    assert_eq!(response.status(), 401);
    app.stop().await;
}

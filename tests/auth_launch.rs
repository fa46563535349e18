#![cfg(feature = "fake-wristband")]
//! Launch and configuration ergonomics of the `auth` feature (issues 17.6, 18.2, 18.4):
//!
//! - `preload_config`: the SDK configuration fetched at ignite; a 404 or an invalid answer
//!   aborts launch, an unreachable Wristband only warns; a no-op without auto-configuration;
//! - `jwks_cache_max_size` and `jwks_cache_ttl`, seen from the JWKS fetches they cause;
//! - `WristbandJwtValidator`: the guard's checks outside a request;
//! - auto-configuration failures logged with the URL and the likely cause, and answered in the
//!   debug profile with a page naming the keys to check (the JSON body elsewhere);
//! - an unknown key in `wristband_session.revocation` named; an invalid session configuration
//!   not reported as a missing session fairing; `AuthenticatedSession` without
//!   `WristbandAuth` warned about at launch.
//!
//! New keys are given through the figment (as `Rocket.toml` would), so that on a build without
//! them a test fails at launch ("unknown option") rather than not compiling.

#[macro_use]
extern crate rocket;

use std::time::Duration;

use figment::providers::Serialized;
use figment::Figment;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header as JwtHeader};
use rocket::error::ErrorKind;
use rocket::http::{ContentType, Header, Status};
use rocket::local::asynchronous::Client;
use rocket::{Build, Rocket};
use serde_json::{json, Value};
use wristband_rocket_session::testing::{Endpoint, FakeWristband, Reply};
use wristband_rocket_session::{
    AuthenticatedSession, LoginConfig, Wristband, WristbandAuth, WristbandError, WristbandJwt,
    WristbandJwtError, WristbandRedirect, WristbandSession,
};

const SESSION_SECRET: &str = "auth-launch-session-secret-0123456789abcdef";
const AUTH: &str = "Wristband Auth";
const SESSION: &str = "Wristband Session";

#[allow(dead_code)] // not every test file reads every kind of line
#[path = "support/logs.rs"]
mod logs;
use logs::{all_logged, install as install_logger};

/// This thread's lines at `level`.
fn logged(level: log::Level) -> Vec<String> {
    logs::logged(Some(level))
}

/// The first line at `level` that contains every one of `needles`.
fn line_with(level: log::Level, needles: &[&str]) -> Option<String> {
    logged(level).into_iter().find(|line| needles.iter().all(|n| line.contains(n)))
}

fn assert_no_secret(text: &str, fake: Option<&FakeWristband>) {
    assert!(!text.contains(SESSION_SECRET), "the session secret leaked: {text}");
    if let Some(fake) = fake {
        assert!(!text.contains(fake.client_secret()), "the client secret leaked: {text}");
    }
}

// ---------------------------------------------------------------------------------------------
// Apps
// ---------------------------------------------------------------------------------------------

#[get("/auth/login")]
async fn login(wristband: Wristband<'_>) -> Result<WristbandRedirect, WristbandError> {
    wristband.login(LoginConfig::default()).await
}

#[get("/api/jwt")]
fn jwt_route(jwt: WristbandJwt<'_>) -> String {
    format!("{}@{}", jwt.user_id(), jwt.tenant_id())
}

#[get("/me")]
fn me(session: AuthenticatedSession<'_>) -> String {
    session.user_id()
}

/// The `wristband_auth` table for `fake`.
fn fake_table(fake: &FakeWristband) -> Value {
    json!({
        "client_id": fake.client_id(),
        "client_secret": fake.client_secret(),
        "wristband_application_vanity_domain": fake.vanity_domain(),
        "wristband_scheme": "http",
    })
}

/// `table` with `extra`'s keys set.
fn with(mut table: Value, extra: Value) -> Value {
    for (key, value) in extra.as_object().unwrap() {
        table[key] = value.clone();
    }
    table
}

/// A loopback port where nothing listens (bound, then released).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn figment(profile: &str, auth: Value) -> Figment {
    rocket::Config::figment()
        .merge(("wristband_session.secrets", SESSION_SECRET))
        .merge(Serialized::global("wristband_auth", auth))
        .select(profile)
}

fn app(profile: &str, auth: Value) -> Rocket<Build> {
    rocket::custom(figment(profile, auth))
        .attach(WristbandSession::fairing())
        .attach(WristbandAuth::fairing())
        .mount("/", routes![login, jwt_route, me])
}

/// The names of the fairings that failed, or the client.
async fn launch(rocket: Rocket<Build>) -> Result<Client, Vec<String>> {
    match Client::tracked(rocket).await {
        Ok(client) => Ok(client),
        Err(e) => match e.kind() {
            ErrorKind::FailedFairings(infos) => {
                Err(infos.iter().map(|i| i.name.to_string()).collect())
            }
            other => panic!("expected FailedFairings, got {other:?}"),
        },
    }
}

async fn launched(rocket: Rocket<Build>) -> Client {
    match launch(rocket).await {
        Ok(client) => client,
        Err(failed) => panic!("launch failed: {failed:?}\n{}", all_logged()),
    }
}

// ---------------------------------------------------------------------------------------------
// preload_config
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn preload_fetches_the_sdk_configuration_at_launch() {
    install_logger();
    let fake = FakeWristband::start().await;
    let client =
        launched(app("debug", with(fake_table(&fake), json!({"preload_config": true})))).await;
    assert_eq!(fake.calls(Endpoint::SdkConfiguration), 1, "fetched at launch");
    let response = client.get("/auth/login").dispatch().await;
    assert_eq!(response.status(), Status::Found, "{}", all_logged());
    assert_eq!(fake.calls(Endpoint::SdkConfiguration), 1, "the first login used what launch got");
    assert_no_secret(&all_logged(), Some(&fake));
}

#[tokio::test]
async fn without_preload_launch_fetches_nothing() {
    install_logger();
    let fake = FakeWristband::start().await;
    let client = launched(app("debug", fake_table(&fake))).await;
    assert_eq!(fake.calls(Endpoint::SdkConfiguration), 0);
    client.get("/auth/login").dispatch().await;
    assert_eq!(fake.calls(Endpoint::SdkConfiguration), 1, "fetched on first use");
}

#[tokio::test]
async fn preload_aborts_launch_on_a_wrong_client_id_naming_the_url_and_the_keys() {
    install_logger();
    let fake = FakeWristband::start().await;
    // The fake answers 404 for any other client id, as Wristband does.
    let table =
        with(fake_table(&fake), json!({"client_id": "no-such-client", "preload_config": true}));
    assert_eq!(launch(app("release", table)).await.err(), Some(vec![AUTH.to_string()]));
    let url = format!("{}/api/v1/clients/no-such-client/sdk-configuration", fake.base_url());
    let line = line_with(log::Level::Error, &[&url, "404"]).unwrap_or_else(|| {
        panic!("no error names the URL {url} and the status:\n{}", all_logged())
    });
    for needle in ["`client_id`", "`wristband_application_vanity_domain`", "preload_config"] {
        assert!(line.contains(needle), "{needle} missing from: {line}");
    }
    assert!(line.contains("profile `release`"), "{line}");
    assert_eq!(fake.calls(Endpoint::SdkConfiguration), 1, "a 404 is not retried");
    assert_no_secret(&all_logged(), Some(&fake));
}

#[tokio::test]
async fn preload_aborts_launch_on_a_configuration_that_does_not_validate() {
    install_logger();
    let fake = FakeWristband::start().await;
    // Tenant subdomains announced, but URLs without a placeholder.
    let mut sdk = fake.sdk_configuration();
    sdk["loginUrlTenantDomainSuffix"] = json!("example.com");
    fake.set_sdk_configuration(sdk);
    let table = with(fake_table(&fake), json!({"preload_config": true}));
    assert_eq!(launch(app("debug", table)).await.err(), Some(vec![AUTH.to_string()]));
    let line = line_with(log::Level::Error, &["does not validate", "placeholder"])
        .unwrap_or_else(|| panic!("no error says why:\n{}", all_logged()));
    assert!(line.contains(&fake.base_url()), "{line}");
}

#[tokio::test]
async fn preload_launches_with_a_warning_when_wristband_is_unreachable() {
    install_logger();
    let port = closed_port();
    let table = json!({
        "client_id": "my-client",
        "client_secret": "auth-launch-client-secret-0123456789",
        "wristband_application_vanity_domain": format!("127.0.0.1:{port}"),
        "wristband_scheme": "http",
        "preload_config": true,
    });
    let client = launched(app("debug", table)).await;
    let url = format!("http://127.0.0.1:{port}/api/v1/clients/my-client/sdk-configuration");
    let warning = line_with(log::Level::Warn, &[&url, "could not connect", "launching anyway"])
        .unwrap_or_else(|| panic!("no warning with the URL:\n{}", all_logged()));
    assert!(warning.contains("`wristband_application_vanity_domain`"), "{warning}");
    assert!(line_with(log::Level::Error, &[&url]).is_none(), "not an error at launch");
    // The first use fetches again (and fails again: 500).
    let response = client.get("/auth/login").dispatch().await;
    assert_eq!(response.status(), Status::InternalServerError);
    assert!(!all_logged().contains("auth-launch-client-secret-0123456789"));
}

#[tokio::test]
async fn preload_launches_when_wristband_answers_5xx_and_the_first_login_fetches_again() {
    install_logger();
    let fake = FakeWristband::start().await;
    fake.script(
        Endpoint::SdkConfiguration,
        [Reply::Status(503), Reply::Status(502), Reply::Status(500)],
    );
    let client =
        launched(app("debug", with(fake_table(&fake), json!({"preload_config": true})))).await;
    assert_eq!(fake.calls(Endpoint::SdkConfiguration), 3, "three tries at launch");
    assert!(
        line_with(log::Level::Warn, &["HTTP 500", "launching anyway"]).is_some(),
        "{}",
        all_logged()
    );
    let response = client.get("/auth/login").dispatch().await;
    assert_eq!(response.status(), Status::Found, "{}", all_logged());
    assert_eq!(fake.calls(Endpoint::SdkConfiguration), 4);
}

#[tokio::test]
async fn preload_does_nothing_without_auto_configuration() {
    install_logger();
    let fake = FakeWristband::start().await;
    let table = with(
        fake_table(&fake),
        json!({
            "preload_config": true,
            "auto_configure_enabled": false,
            "login_url": "http://localhost:8000/auth/login",
            "redirect_uri": "http://localhost:8000/auth/callback",
        }),
    );
    launched(app("release", table)).await;
    assert_eq!(fake.calls(Endpoint::SdkConfiguration), 0);
    assert!(line_with(log::Level::Info, &["preload_config", "nothing to fetch"]).is_some());
}

// ---------------------------------------------------------------------------------------------
// Diagnosis of auto-configuration failures: log and browser
// ---------------------------------------------------------------------------------------------

/// `GET /auth/login` from a browser: status, content type and body.
async fn login_answer(client: &Client) -> (Status, Option<ContentType>, String) {
    login_answer_to(client, "text/html,application/xhtml+xml,*/*;q=0.8").await
}

/// `GET /auth/login` with `Accept: accept`.
async fn login_answer_to(client: &Client, accept: &str) -> (Status, Option<ContentType>, String) {
    let request = client.get("/auth/login").header(Header::new("Accept", accept.to_string()));
    let response = request.dispatch().await;
    let status = response.status();
    let content_type = response.content_type();
    (status, content_type, response.into_string().await.unwrap_or_default())
}

#[tokio::test]
async fn a_wrong_client_id_is_logged_with_the_url_and_explained_in_the_debug_profile_only() {
    install_logger();
    let fake = FakeWristband::start().await;
    let table = with(fake_table(&fake), json!({"client_id": "wrong-client-id"}));
    let url = format!("{}/api/v1/clients/wrong-client-id/sdk-configuration", fake.base_url());

    let client = launched(app("debug", table.clone())).await;
    let (status, content_type, page) = login_answer(&client).await;
    assert_eq!(status, Status::InternalServerError);
    let line = line_with(log::Level::Error, &["SDK auto-configuration failed", &url, "HTTP 404"])
        .unwrap_or_else(|| panic!("no error line with the URL {url}:\n{}", all_logged()));
    assert!(line.contains("check `client_id`"), "no hint: {line}");
    assert_eq!(content_type, Some(ContentType::Plain));
    assert!(page.contains("wristband_auth.client_id"), "the page names the key: {page}");
    assert!(page.contains("wristband_auth.wristband_application_vanity_domain"), "{page}");
    assert!(page.contains("404") && page.contains(&url), "the page says what failed: {page}");
    assert_no_secret(&page, Some(&fake));
    assert_no_secret(&all_logged(), Some(&fake));
    // An API client gets the JSON body, in debug too.
    let (_, content_type, body) = login_answer_to(&client, "application/json").await;
    assert_eq!(content_type, Some(ContentType::JSON));
    assert_eq!(body, r#"{"error":"configuration_error"}"#);

    let client = launched(app("release", table)).await;
    let (status, content_type, body) = login_answer(&client).await;
    assert_eq!(status, Status::InternalServerError);
    assert_eq!(content_type, Some(ContentType::JSON));
    assert_eq!(body, r#"{"error":"configuration_error"}"#);
}

#[tokio::test]
async fn an_unreachable_vanity_domain_is_logged_with_the_url_and_the_keys_to_check() {
    install_logger();
    let port = closed_port();
    let table = json!({
        "client_id": "my-client",
        "client_secret": "auth-launch-client-secret-0123456789",
        "wristband_application_vanity_domain": format!("localhost:{port}"),
        "wristband_scheme": "http",
    });
    let client = launched(app("debug", table.clone())).await;
    let (status, _, page) = login_answer(&client).await;
    assert_eq!(status, Status::InternalServerError);
    let url = format!("http://localhost:{port}/api/v1/clients/my-client/sdk-configuration");
    let line = line_with(log::Level::Error, &[&url, "could not connect (after 3 tries)"])
        .unwrap_or_else(|| panic!("no error line with the URL {url}:\n{}", all_logged()));
    assert!(line.contains("`wristband_application_vanity_domain`"), "{line}");
    assert!(line.contains("`wristband_scheme`"), "{line}");
    for key in ["wristband_application_vanity_domain", "wristband_scheme"] {
        assert!(page.contains(&format!("wristband_auth.{key}")), "{key} not named: {page}");
    }
    assert!(!page.contains("auth-launch-client-secret-0123456789"));
    assert!(!all_logged().contains("auth-launch-client-secret-0123456789"));

    let client = launched(app("release", table)).await;
    let (_, _, body) = login_answer(&client).await;
    assert_eq!(body, r#"{"error":"configuration_error"}"#);
}

// ---------------------------------------------------------------------------------------------
// jwks_cache_max_size, jwks_cache_ttl
// ---------------------------------------------------------------------------------------------

async fn bearer(client: &Client, token: &str) -> Status {
    client
        .get("/api/jwt")
        .header(Header::new("Authorization", format!("Bearer {token}")))
        .dispatch()
        .await
        .status()
}

/// Two tokens signed by the first key, one by the second (both published), and the JWKS
/// fetches made by checking them in the order first, second, first again.
async fn jwks_fetches_with(extra: Value) -> usize {
    let fake = FakeWristband::start().await;
    let first_a = fake.issue_access_token("user-a", "tenant-1", 1800);
    let first_b = fake.issue_access_token("user-b", "tenant-1", 1800);
    fake.rotate_signing_key();
    let second = fake.issue_access_token("user-c", "tenant-1", 1800);
    let client = launched(app("debug", with(fake_table(&fake), extra))).await;
    for token in [&first_a, &second, &first_b] {
        assert_eq!(bearer(&client, token).await, Status::Ok);
    }
    fake.calls(Endpoint::Jwks)
}

#[tokio::test]
async fn jwks_cache_max_size_bounds_the_keys_kept() {
    install_logger();
    assert_eq!(jwks_fetches_with(json!({})).await, 1, "by default both keys are kept");
    // One key kept: the second evicts the first, which is fetched again.
    assert_eq!(jwks_fetches_with(json!({"jwks_cache_max_size": 1})).await, 3);
    assert_eq!(jwks_fetches_with(json!({"jwks_cache_max_size": 2})).await, 1);
}

#[tokio::test]
async fn jwks_cache_ttl_fetches_a_known_key_again() {
    install_logger();
    for (ttl, fetches_after) in [(None, 1), (Some(1), 2)] {
        let fake = FakeWristband::start().await;
        let extra = match ttl {
            Some(seconds) => json!({ "jwks_cache_ttl": seconds }),
            None => json!({}),
        };
        let client = launched(app("debug", with(fake_table(&fake), extra))).await;
        let token = fake.issue_access_token("user-1", "tenant-1", 1800);
        let other = fake.issue_access_token("user-2", "tenant-1", 1800);
        // Twice: remembered from its second verification on.
        for _ in 0..2 {
            assert_eq!(bearer(&client, &token).await, Status::Ok);
        }
        assert_eq!(bearer(&client, &other).await, Status::Ok);
        assert_eq!(fake.calls(Endpoint::Jwks), 1, "one fetch while the key is fresh ({ttl:?})");
        tokio::time::sleep(Duration::from_millis(1300)).await;
        // The same token again: with a TTL, its remembered verification is not trusted past
        // the key's age, and the key is fetched again.
        assert_eq!(bearer(&client, &token).await, Status::Ok);
        assert_eq!(fake.calls(Endpoint::Jwks), fetches_after, "ttl {ttl:?}");
    }
}

#[tokio::test]
async fn jwks_cache_options_are_validated() {
    install_logger();
    let fake = FakeWristband::start().await;
    for (key, value) in [
        ("jwks_cache_max_size", json!(0)),
        ("jwks_cache_ttl", json!(0)),
        ("jwks_cache_max_size", json!(-1)),
    ] {
        install_logger();
        let table = with(fake_table(&fake), json!({ key: value }));
        assert_eq!(launch(app("debug", table)).await.err(), Some(vec![AUTH.to_string()]));
        let needle = format!("`wristband_auth.{key}`");
        assert!(
            line_with(log::Level::Error, &[&needle]).is_some(),
            "{key} = {value}: {}",
            all_logged()
        );
    }
    let table = with(fake_table(&fake), json!({"jwks_cache_max_size": 1, "jwks_cache_ttl": 1}));
    launched(app("debug", table)).await;
}

// ---------------------------------------------------------------------------------------------
// WristbandJwtValidator
// ---------------------------------------------------------------------------------------------

/// A token with `fake`'s claims and `header`, signed with an HMAC key (not Wristband's).
fn hs256_token(fake: &FakeWristband, typ: &str) -> String {
    let mut header = JwtHeader::new(Algorithm::HS256);
    header.typ = Some(typ.into());
    header.kid = Some(fake.current_kid());
    let claims = json!({
        "iss": fake.base_url(), "sub": "user-1", "tnt_id": "tenant-1",
        "exp": 4_000_000_000u64, "client_id": fake.client_id(),
    });
    encode(&header, &claims, &EncodingKey::from_secret(b"a-guessed-hmac-key").unwrap()).unwrap()
}

/// An ID token of `fake` (`typ: JWT`), from its token endpoint.
async fn id_token(fake: &FakeWristband) -> String {
    let refresh_token = fake.issue_refresh_token("user-1", "tenant-1");
    let answer: Value = reqwest::Client::new()
        .post(format!("{}/api/v1/oauth2/token", fake.base_url()))
        .basic_auth(fake.client_id(), Some(fake.client_secret()))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["id_token"].as_str().expect("an ID token").to_string()
}

#[tokio::test]
async fn the_validator_applies_the_guards_checks_with_the_guards_cache() {
    install_logger();
    let fake = FakeWristband::start().await;
    let client = launched(app("debug", fake_table(&fake))).await;
    let validator = client
        .rocket()
        .state::<WristbandAuth>()
        .and_then(WristbandAuth::jwt_validator)
        .expect("the managed WristbandAuth gives a validator");

    let good = fake.issue_access_token("user-1", "tenant-1", 1800);
    // Usable from a spawned task ('static, Send).
    let task = tokio::spawn({
        let validator = validator.clone();
        let good = good.clone();
        async move { validator.validate(&good).await.map(|jwt| (jwt.user_id(), jwt.tenant_id())) }
    });
    assert_eq!(task.await.unwrap(), Ok(("user-1".to_string(), "tenant-1".to_string())));
    assert_eq!(fake.calls(Endpoint::Jwks), 1);
    // The guard takes the same token from the shared cache: no second fetch.
    assert_eq!(bearer(&client, &good).await, Status::Ok);
    assert_eq!(fake.calls(Endpoint::Jwks), 1, "the guard and the validator share one cache");

    let expired = fake.issue_access_token("user-1", "tenant-1", -3600);
    let id = id_token(&fake).await;
    let refused = [
        ("not-a-jwt".to_string(), WristbandJwtError::Malformed),
        (id, WristbandJwtError::NotAnAccessToken),
        (hs256_token(&fake, "at+JWT"), WristbandJwtError::WrongAlgorithm),
        (expired, WristbandJwtError::Expired),
    ];
    for (token, why) in &refused {
        assert_eq!(validator.validate(token).await.err(), Some(*why));
        // The guard refuses exactly these.
        assert_eq!(bearer(&client, token).await, Status::Unauthorized, "{why:?}");
    }
    // A tampered signature.
    let mut parts: Vec<String> = good.split('.').map(str::to_string).collect();
    parts[2] = parts[2].chars().rev().collect();
    let tampered = parts.join(".");
    assert_eq!(validator.validate(&tampered).await.err(), Some(WristbandJwtError::Invalid));

    // The fairing value itself is not the managed copy.
    assert!(rocket::build().state::<WristbandAuth>().is_none());
}

#[tokio::test]
async fn the_validator_enforces_jwt_allowed_client_ids() {
    install_logger();
    let fake = FakeWristband::start().await;
    let table = with(fake_table(&fake), json!({"jwt_allowed_client_ids": ["another-client"]}));
    let client = launched(app("debug", table)).await;
    let validator = client.rocket().state::<WristbandAuth>().unwrap().jwt_validator().unwrap();
    let token = fake.issue_access_token("user-1", "tenant-1", 1800);
    for _ in 0..2 {
        // The second time too (a refused token is never remembered).
        assert_eq!(
            validator.validate(&token).await.err(),
            Some(WristbandJwtError::ClientNotAllowed)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Session-side launch messages
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_unknown_revocation_key_is_named_with_the_known_ones() {
    install_logger();
    let figment = rocket::Config::figment()
        .merge(("wristband_session.secrets", SESSION_SECRET))
        .merge(("wristband_session.revocation.url", "redis://127.0.0.1:1"))
        .merge(("wristband_session.revocation.on_unavaliable", "accept"))
        .select("release");
    let rocket = rocket::custom(figment).attach(WristbandSession::fairing());
    assert_eq!(launch(rocket).await.err(), Some(vec![SESSION.to_string()]));
    let line = line_with(log::Level::Error, &["revocation.on_unavaliable"])
        .unwrap_or_else(|| panic!("the unknown key is not named:\n{}", all_logged()));
    assert!(line.contains("unknown option"), "{line}");
    for known in ["url", "on_unavailable", "key_prefix"] {
        assert!(line.contains(known), "{known} not listed: {line}");
    }
    assert!(!all_logged().contains("has the wrong type"), "{}", all_logged());
}

#[tokio::test]
async fn an_invalid_session_configuration_is_not_called_a_missing_session_fairing() {
    for auth_first in [false, true] {
        install_logger();
        let fake = FakeWristband::start().await;
        let figment = figment("release", fake_table(&fake)).merge(("wristband_session.max_age", 0));
        let rocket = rocket::custom(figment);
        let rocket = if auth_first {
            rocket.attach(WristbandAuth::fairing()).attach(WristbandSession::fairing())
        } else {
            rocket.attach(WristbandSession::fairing()).attach(WristbandAuth::fairing())
        };
        let Err(failed) = launch(rocket).await else { panic!("launched with max_age = 0") };
        // One failure, one message: the session fairing's; the auth fairing adds nothing.
        assert_eq!(failed, [SESSION.to_string()], "auth_first {auth_first}");
        let errors = logged(log::Level::Error).join("\n");
        assert!(errors.contains("max_age"), "{errors}");
        assert!(!errors.contains("WristbandAuth"), "auth_first {auth_first}: {errors}");
        assert!(!errors.contains("needs the session fairing"), "{errors}");
    }
    // Really missing: still said so.
    install_logger();
    let fake = FakeWristband::start().await;
    let rocket =
        rocket::custom(figment("debug", fake_table(&fake))).attach(WristbandAuth::fairing());
    assert_eq!(launch(rocket).await.err(), Some(vec![AUTH.to_string()]));
    assert!(line_with(
        log::Level::Error,
        &["needs the session fairing", "WristbandSession::fairing()"]
    )
    .is_some());
}

#[tokio::test]
async fn authenticated_session_without_wristband_auth_warns_once_at_launch() {
    install_logger();
    let rocket = rocket::custom(figment("debug", json!({})))
        .attach(WristbandSession::fairing())
        .mount("/", routes![me])
        .mount("/again", routes![me]);
    launched(rocket).await;
    let warnings: Vec<String> = logged(log::Level::Warn)
        .into_iter()
        .filter(|l| l.contains("AuthenticatedSession") && l.contains("not be refreshed"))
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(warnings[0].contains("WristbandAuth::fairing()"), "{}", warnings[0]);

    // With WristbandAuth attached: no warning.
    install_logger();
    let fake = FakeWristband::start().await;
    launched(app("debug", fake_table(&fake))).await;
    assert!(line_with(log::Level::Warn, &["not be refreshed"]).is_none(), "{}", all_logged());
}

// ---------------------------------------------------------------------------------------------
// One concrete type for each fairing's two constructors
// ---------------------------------------------------------------------------------------------

/// `fairing()` (options from the figment) and `custom(..)` (options from code) return the same
/// type, so an app can choose one at run time (before, the two `impl Fairing` types did not
/// unify: E0308). Both choices launch and sign in.
#[tokio::test]
async fn fairing_and_custom_are_one_type_so_either_can_be_chosen_at_run_time() {
    install_logger();
    let fake = FakeWristband::start().await;
    for from_code in [false, true] {
        let session = if from_code {
            WristbandSession::custom(wristband_rocket_session::SessionOptions {
                secrets: SESSION_SECRET.into(),
                ..Default::default()
            })
        } else {
            WristbandSession::fairing()
        };
        let auth = if from_code {
            WristbandAuth::custom(fake.auth_options())
        } else {
            WristbandAuth::fairing()
        };
        let rocket = rocket::custom(figment("debug", fake_table(&fake)))
            .attach(session)
            .attach(auth)
            .mount("/", routes![login]);
        let client = launched(rocket).await;
        let response = client.get("/auth/login").dispatch().await;
        assert_eq!(response.status(), Status::Found, "from code: {from_code}");
    }
}

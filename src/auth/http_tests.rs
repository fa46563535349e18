//! Tests of the HTTP client's retry policy and of auto-configuration's single flight, against
//! a tiny scripted Wristband served over TCP by the test itself (crate-internal API, so unit
//! tests; the end-to-end flows are tested against `testing::FakeWristband`).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rocket::http::{ContentType, Status};
use rocket::{get, post, routes, State};
use serde_json::{json, Value};

use super::client::{HttpClient, MAX_TRIES};
use super::config::AuthState;
use super::error::WristbandError;
use super::options::{AuthOptions, WristbandScheme};

#[allow(dead_code)]
#[path = "../../tests/support/server.rs"]
mod server;

const SECRET: &str = "a-client-secret-that-must-not-leak";
const REFRESH: &str = "a-refresh-token-that-must-not-leak";

/// What the scripted Wristband answers, per endpoint: queued replies first, then the default.
#[derive(Default)]
struct Script {
    queued: Mutex<HashMap<&'static str, VecDeque<(u16, Value)>>>,
    default: Mutex<HashMap<&'static str, (u16, Value)>>,
    calls: Mutex<HashMap<&'static str, usize>>,
    delay_ms: AtomicUsize,
    /// The last Authorization header and form body seen at the token endpoint.
    last_token_request: Mutex<Option<(String, String)>>,
}

impl Script {
    fn reply(&self, endpoint: &'static str) -> (Status, (ContentType, String)) {
        *self.calls.lock().unwrap().entry(endpoint).or_default() += 1;
        let queued = self.queued.lock().unwrap().get_mut(endpoint).and_then(VecDeque::pop_front);
        let (code, body) = queued.unwrap_or_else(|| {
            self.default.lock().unwrap().get(endpoint).cloned().unwrap_or((404, json!({})))
        });
        (Status::new(code), (ContentType::JSON, body.to_string()))
    }

    fn calls(&self, endpoint: &str) -> usize {
        self.calls.lock().unwrap().get(endpoint).copied().unwrap_or(0)
    }

    fn queue(&self, endpoint: &'static str, replies: impl IntoIterator<Item = (u16, Value)>) {
        self.queued.lock().unwrap().entry(endpoint).or_default().extend(replies);
    }

    fn set(&self, endpoint: &'static str, code: u16, body: Value) {
        self.default.lock().unwrap().insert(endpoint, (code, body));
    }
}

struct Headers(String);

#[rocket::async_trait]
impl<'r> rocket::request::FromRequest<'r> for Headers {
    type Error = ();
    async fn from_request(
        req: &'r rocket::Request<'_>,
    ) -> rocket::request::Outcome<Self, Self::Error> {
        rocket::request::Outcome::Success(Headers(
            req.headers().get_one("Authorization").unwrap_or_default().to_string(),
        ))
    }
}

#[post("/api/v1/oauth2/token", data = "<body>")]
async fn token(
    script: &State<Arc<Script>>,
    auth: Headers,
    body: String,
) -> (Status, (ContentType, String)) {
    *script.last_token_request.lock().unwrap() = Some((auth.0, body));
    script.reply("token")
}

#[get("/api/v1/oauth2/userinfo")]
fn userinfo(script: &State<Arc<Script>>) -> (Status, (ContentType, String)) {
    script.reply("userinfo")
}

#[post("/api/v1/oauth2/revoke")]
fn revoke(script: &State<Arc<Script>>) -> (Status, (ContentType, String)) {
    script.reply("revoke")
}

#[get("/api/v1/clients/<_id>/sdk-configuration")]
async fn sdk(script: &State<Arc<Script>>, _id: &str) -> (Status, (ContentType, String)) {
    let delay = script.delay_ms.load(Ordering::Relaxed) as u64;
    if delay > 0 {
        rocket::tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    script.reply("sdk")
}

async fn start() -> (server::Server, Arc<Script>) {
    let script = Arc::new(Script::default());
    let rocket = rocket::custom(rocket::Config::figment())
        .manage(script.clone())
        .mount("/", routes![token, userinfo, revoke, sdk]);
    (server::Server::start(rocket).await, script)
}

fn options(server: &server::Server) -> AuthOptions {
    AuthOptions {
        client_id: "test-client".into(),
        client_secret: SECRET.into(),
        wristband_application_vanity_domain: server.base.trim_start_matches("http://").into(),
        wristband_scheme: WristbandScheme::Http,
        ..AuthOptions::default()
    }
}

fn tokens() -> Value {
    json!({
        "access_token": "access-1",
        "id_token": "id-1",
        "refresh_token": "refresh-2",
        "expires_in": 1800,
        "token_type": "Bearer",
    })
}

fn sdk_config() -> Value {
    json!({
        "loginUrl": "https://app.example.com/auth/login",
        "redirectUri": "https://app.example.com/auth/callback",
        "loginUrlTenantDomainSuffix": null,
        "isApplicationCustomDomainActive": true,
        "customApplicationLoginPageUrl": null,
    })
}

fn assert_no_secret(e: &WristbandError) {
    let text = format!("{e} {e:?}");
    for secret in [SECRET, REFRESH, "access-1", "refresh-2", "id-1"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
}

#[rocket::async_test]
async fn code_exchange_sends_basic_auth_and_pkce_and_reads_tokens() {
    let (server, script) = start().await;
    script.set("token", 200, tokens());
    let client = HttpClient::new(&options(&server)).unwrap();
    let set = client
        .exchange_code("the-code", "the-verifier", "https://app.example.com/auth/callback")
        .await
        .unwrap();
    assert_eq!(set.access_token, "access-1");
    assert_eq!(set.id_token.as_deref(), Some("id-1"));
    assert_eq!(set.refresh_token.as_deref(), Some("refresh-2"));
    assert_eq!(set.expires_in, 1800);
    assert!(!format!("{set:?}").contains("access-1"));
    let (auth, body) = script.last_token_request.lock().unwrap().clone().unwrap();
    assert!(auth.starts_with("Basic "), "{auth}");
    let form: HashMap<String, String> = oauth2::url::form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert_eq!(form["grant_type"], "authorization_code");
    assert_eq!(form["code"], "the-code");
    assert_eq!(form["code_verifier"], "the-verifier");
    assert_eq!(form["redirect_uri"], "https://app.example.com/auth/callback");
    server.stop().await;
}

#[rocket::async_test]
async fn a_code_exchange_retries_5xx_then_succeeds_on_the_third_try() {
    let (server, script) = start().await;
    script.queue("token", [(500, json!({})), (503, json!({"error": "server_error"}))]);
    script.set("token", 200, tokens());
    let client = HttpClient::new(&options(&server)).unwrap();
    let started = Instant::now();
    let set = client.exchange_code("c", "v", "https://a/cb").await.unwrap();
    assert_eq!(set.refresh_token.as_deref(), Some("refresh-2"));
    assert_eq!(script.calls("token"), 3);
    assert!(started.elapsed() >= Duration::from_millis(200), "100 ms between tries");
    server.stop().await;
}

#[rocket::async_test]
async fn a_code_exchange_gives_up_after_three_5xx() {
    let (server, script) = start().await;
    script.set("token", 502, json!({}));
    let client = HttpClient::new(&options(&server)).unwrap();
    let failure = client.exchange_code_classified("c", "v", "https://a/cb").await.unwrap_err();
    assert!(!failure.refused && !failure.unsent);
    assert!(matches!(failure.error, WristbandError::Unexpected { .. }), "{:?}", failure.error);
    assert_eq!(script.calls("token"), MAX_TRIES as usize);
    assert_no_secret(&failure.error);
    server.stop().await;
}

/// Wristband rotates refresh tokens: a refresh that got an answer (any answer) may have spent
/// its token, so it is never sent again with the same token.
#[rocket::async_test]
async fn a_refresh_that_reached_wristband_is_never_retried() {
    let (server, script) = start().await;
    let client = HttpClient::new(&options(&server)).unwrap();
    for status in [500, 502, 503, 504] {
        script.queue("token", [(status, json!({}))]);
        script.set("token", 200, tokens());
        let before = script.calls("token");
        let failure = client.refresh_classified(REFRESH).await.unwrap_err();
        assert!(!failure.refused && !failure.unsent, "HTTP {status}");
        assert_eq!(script.calls("token"), before + 1, "HTTP {status} was retried");
        assert_no_secret(&failure.error);
    }
    let (_, body) = script.last_token_request.lock().unwrap().clone().unwrap();
    assert!(body.contains("grant_type=refresh_token"), "{body}");
    server.stop().await;
}

#[rocket::async_test]
async fn token_never_retries_a_4xx() {
    let (server, script) = start().await;
    let client = HttpClient::new(&options(&server)).unwrap();

    script.set("token", 400, json!({"error": "invalid_grant", "error_description": "expired"}));
    let failure = client.refresh_classified(REFRESH).await.unwrap_err();
    assert!(failure.refused);
    match &failure.error {
        WristbandError::InvalidGrant { description } => {
            assert_eq!(description.as_deref(), Some("expired"))
        }
        other => panic!("expected InvalidGrant, got {other:?}"),
    }
    assert_eq!(script.calls("token"), 1);

    script.set("token", 401, json!({"error": "invalid_client"}));
    let failure = client.refresh_classified(REFRESH).await.unwrap_err();
    assert!(failure.refused);
    assert!(matches!(failure.error, WristbandError::Unexpected { .. }));
    assert_no_secret(&failure.error);
    assert_eq!(script.calls("token"), 2);

    // A 4xx that is not an OAuth2 error body is a refusal too.
    script.set("token", 403, json!("nope"));
    let failure = client.exchange_code_classified("c", "v", "https://a/cb").await.unwrap_err();
    assert!(failure.refused);
    assert_eq!(script.calls("token"), 3);
    server.stop().await;
}

#[rocket::async_test]
async fn token_answer_without_access_token_or_expires_in_is_unexpected() {
    let (server, script) = start().await;
    let client = HttpClient::new(&options(&server)).unwrap();
    for body in [
        json!({"token_type": "Bearer", "expires_in": 60}),
        json!({"access_token": "access-1", "token_type": "Bearer"}),
        json!({"access_token": "access-1", "token_type": "Bearer", "expires_in": "soon"}),
        json!({"access_token": "access-1", "token_type": "Bearer", "expires_in": -5}),
    ] {
        script.set("token", 200, body.clone());
        let before = script.calls("token");
        let failure = client.refresh_classified(REFRESH).await.unwrap_err();
        assert!(!failure.refused, "{body}");
        assert!(matches!(failure.error, WristbandError::Unexpected { .. }), "{body}");
        assert_no_secret(&failure.error);
        assert_eq!(script.calls("token"), before + 1, "not retried: {body}");
    }
    server.stop().await;
}

#[rocket::async_test]
async fn unreachable_wristband_is_unexpected_after_three_tries() {
    let (server, _script) = start().await;
    let options = options(&server);
    server.stop().await;
    let client = HttpClient::new(&options).unwrap();
    let started = Instant::now();
    let failure = client.refresh_classified(REFRESH).await.unwrap_err();
    assert!(!failure.refused);
    assert!(failure.unsent, "no try reached Wristband: the refresh token is not spent");
    assert!(failure.error.to_string().contains("3 tries"), "{}", failure.error);
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[rocket::async_test]
async fn userinfo_and_revoke() {
    let (server, script) = start().await;
    let client = HttpClient::new(&options(&server)).unwrap();
    script.queue("userinfo", [(500, json!({}))]);
    script.set("userinfo", 200, json!({"sub": "user-1", "tnt_id": "t-1"}));
    let claims = client.userinfo("access-1").await.unwrap();
    assert_eq!(claims["sub"], "user-1");
    assert_eq!(script.calls("userinfo"), 2);
    script.set("userinfo", 401, json!({}));
    assert!(client.userinfo("access-1").await.is_err());
    assert_eq!(script.calls("userinfo"), 3, "a 4xx is not retried");

    script.set("revoke", 200, json!({}));
    client.revoke(REFRESH).await.unwrap();
    script.set("revoke", 500, json!({}));
    let e = client.revoke(REFRESH).await.unwrap_err();
    assert_no_secret(&e);
    assert_eq!(script.calls("revoke"), 2, "revocation is tried once");
    server.stop().await;
}

#[rocket::async_test]
async fn sdk_configuration_retries_5xx_but_not_404() {
    let (server, script) = start().await;
    let client = HttpClient::new(&options(&server)).unwrap();
    script.queue("sdk", [(500, json!({})), (502, json!({}))]);
    script.set("sdk", 200, sdk_config());
    assert_eq!(client.sdk_configuration().await.unwrap(), sdk_config());
    assert_eq!(script.calls("sdk"), 3);
    script.set("sdk", 404, json!({}));
    let e = client.sdk_configuration().await.unwrap_err();
    assert!(matches!(e, WristbandError::Configuration { .. }), "{e:?}");
    assert_eq!(script.calls("sdk"), 4);
    server.stop().await;
}

fn state(options: AuthOptions) -> AuthState {
    let state = AuthState::new(options).unwrap();
    state.set_derived_login_state_secret("session-secret-of-at-least-32-chars!!");
    state
}

#[rocket::async_test]
async fn auto_configuration_is_fetched_once_for_twenty_concurrent_callers() {
    let (server, script) = start().await;
    script.set("sdk", 200, sdk_config());
    script.delay_ms.store(150, Ordering::Relaxed);
    let state = Arc::new(state(options(&server)));
    let callers: Vec<_> = (0..20)
        .map(|_| {
            let state = state.clone();
            rocket::tokio::spawn(async move { state.endpoints().await.map_err(|e| e.to_string()) })
        })
        .collect();
    for caller in callers {
        let endpoints = caller.await.unwrap().unwrap();
        assert_eq!(endpoints.login_url, "https://app.example.com/auth/login");
        assert!(endpoints.is_application_custom_domain_active);
        assert_eq!(endpoints.parse_tenant_from_root_domain, None);
    }
    assert_eq!(script.calls("sdk"), 1);
    state.endpoints().await.unwrap();
    assert_eq!(script.calls("sdk"), 1, "cached");
    server.stop().await;
}

#[rocket::async_test]
async fn concurrent_callers_share_a_failed_fetch_and_the_next_call_fetches_again() {
    let (server, script) = start().await;
    script.set("sdk", 500, json!({}));
    script.delay_ms.store(50, Ordering::Relaxed);
    let state = Arc::new(state(options(&server)));
    let callers: Vec<_> = (0..20)
        .map(|_| {
            let state = state.clone();
            rocket::tokio::spawn(async move { state.endpoints().await.is_err() })
        })
        .collect();
    for caller in callers {
        assert!(caller.await.unwrap());
    }
    assert_eq!(script.calls("sdk"), 3, "one fetch of three tries, shared");

    script.set("sdk", 200, sdk_config());
    script.delay_ms.store(0, Ordering::Relaxed);
    assert!(state.endpoints().await.is_ok(), "a failure is not cached");
    assert_eq!(script.calls("sdk"), 4);
    server.stop().await;
}

#[rocket::async_test]
async fn an_invalid_configuration_is_not_cached() {
    let (server, script) = start().await;
    // Tenant subdomains without placeholders in the URLs: fails validation.
    let mut invalid = sdk_config();
    invalid["loginUrlTenantDomainSuffix"] = json!("example.com");
    script.set("sdk", 200, invalid);
    let state = state(options(&server));
    for _ in 0..2 {
        let e = state.endpoints().await.unwrap_err();
        assert!(matches!(e, WristbandError::Configuration { .. }), "{e:?}");
    }
    assert_eq!(script.calls("sdk"), 2, "each call fetches again");
    script.set("sdk", 200, json!({"loginUrl": "https://a/login"}));
    assert!(state.endpoints().await.is_err(), "no redirectUri");
    script.set("sdk", 200, sdk_config());
    assert!(state.endpoints().await.is_ok());
    assert_eq!(script.calls("sdk"), 4);
    server.stop().await;
}

#[rocket::async_test]
async fn manual_values_win_and_auto_configuration_off_makes_no_call() {
    let (server, script) = start().await;
    script.set("sdk", 200, sdk_config());
    let manual = AuthOptions {
        redirect_uri: Some("https://mine.example.com/cb".into()),
        is_application_custom_domain_active: Some(false),
        ..options(&server)
    };
    let endpoints = state(manual).endpoints().await.unwrap();
    assert_eq!(endpoints.redirect_uri, "https://mine.example.com/cb");
    assert_eq!(endpoints.login_url, "https://app.example.com/auth/login");
    assert!(!endpoints.is_application_custom_domain_active, "a manual false wins");
    assert_eq!(script.calls("sdk"), 1);

    let off = AuthOptions {
        auto_configure_enabled: false,
        login_url: Some("https://mine.example.com/login".into()),
        redirect_uri: Some("https://mine.example.com/cb".into()),
        ..options(&server)
    };
    let state = state(off);
    let endpoints = state.endpoints().await.unwrap();
    assert_eq!(endpoints.login_url, "https://mine.example.com/login");
    assert!(!endpoints.is_application_custom_domain_active);
    assert_eq!(script.calls("sdk"), 1, "no fetch with auto-configuration off");
    assert_eq!(state.wristband_base(), server.base);
    server.stop().await;
}

#[rocket::async_test]
async fn the_login_state_secret_is_derived_from_the_session_in_either_attach_order() {
    use super::config::derive_login_state_secret;
    use super::fairing::WristbandAuth;
    use crate::{SessionOptions, WristbandSession};

    let session_secret = "session-secret-for-derivation-0123456789";
    let session = || SessionOptions { secrets: session_secret.into(), ..SessionOptions::default() };
    let auth = AuthOptions {
        client_id: "c".into(),
        client_secret: SECRET.into(),
        wristband_application_vanity_domain: "auth.example.com".into(),
        ..AuthOptions::default()
    };
    let expected = derive_login_state_secret(session_secret);
    assert!(expected.len() >= 32);
    let orders = [
        rocket::build()
            .attach(WristbandSession::custom(session()))
            .attach(WristbandAuth::custom(auth.clone())),
        rocket::build()
            .attach(WristbandAuth::custom(auth.clone()))
            .attach(WristbandSession::custom(session())),
    ];
    for rocket in orders {
        let rocket = rocket.ignite().await.expect("ignites");
        let state = rocket.state::<AuthState>().expect("AuthState is managed");
        assert_eq!(state.login_state_secret(), expected);
        assert_ne!(state.login_state_secret(), session_secret);
    }

    // A given secret is used as is.
    let given = AuthOptions { login_state_secret: Some("g".repeat(40)), ..auth };
    let rocket = rocket::build()
        .attach(WristbandAuth::custom(given))
        .attach(WristbandSession::custom(session()))
        .ignite()
        .await
        .expect("ignites");
    assert_eq!(rocket.state::<AuthState>().unwrap().login_state_secret(), "g".repeat(40));
}

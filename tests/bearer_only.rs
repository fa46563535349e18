#![cfg(feature = "fake-wristband")]
//! Bearer-only services (resource servers): `WristbandAuth::fairing()` with only
//! `wristband_application_vanity_domain` in its table (plus the optional JWT keys), no client
//! id or secret, no session fairing, no login routes: `WristbandJwt` works, over real TCP too;
//! a route using a guard that needs what is missing aborts launch saying what it needs.
//! `WristbandJwtValidator` without any Rocket, and `bearer_token`'s rules (the guard's).

use std::time::Duration;

use figment::providers::{Format, Toml};
use figment::Figment;
use rocket::error::ErrorKind;
use rocket::http::{Header, Status};
use rocket::local::asynchronous::Client;
use rocket::{get, routes, Build, Rocket};
use wristband_rocket_session::testing::{Endpoint, FakeWristband};
use wristband_rocket_session::{
    bearer_token, AuthOptions, AuthenticatedSession, AuthenticatedUser, Wristband, WristbandAuth,
    WristbandJwt, WristbandJwtError, WristbandJwtValidator, WristbandScheme, WristbandSession,
};

#[allow(dead_code)] // not every test file reads every kind of line
#[path = "support/logs.rs"]
mod logs;
#[path = "support/server.rs"]
mod server;

#[get("/api/whoami")]
fn whoami(jwt: WristbandJwt<'_>) -> String {
    format!("{} of {}", jwt.user_id(), jwt.tenant_id())
}

#[get("/api/user")]
fn user(user: AuthenticatedUser<'_>) -> String {
    user.user_id()
}

#[get("/auth/login")]
fn login(_wristband: Wristband<'_>) {}

#[get("/session")]
fn session(_session: AuthenticatedSession<'_>) {}

/// The fake's `wristband_auth` table as a resource server writes it in `Rocket.toml`: the
/// vanity domain (and `wristband_scheme = "http"` for the local fake), the optional JWT keys,
/// `extra` lines; no client id or secret.
fn figment(fake: &FakeWristband, extra: &str) -> Figment {
    let toml = format!(
        "[default.wristband_auth]\n\
         wristband_application_vanity_domain = \"{}\"\n\
         wristband_scheme = \"http\"\n\
         jwt_allowed_client_ids = [\"{}\"]\n\
         jwks_cache_max_size = 5\n\
         jwks_cache_ttl = 3600\n\
         {extra}\n",
        fake.vanity_domain(),
        fake.client_id()
    );
    Figment::from(rocket::Config::default())
        .merge(Toml::string(&toml).nested())
        .merge(("log_level", "off"))
        .select("debug")
}

fn api(figment: Figment) -> Rocket<Build> {
    rocket::custom(figment).attach(WristbandAuth::fairing()).mount("/", routes![whoami])
}

async fn status_with(client: &Client, path: &str, authorization: &str) -> Status {
    client
        .get(path.to_string())
        .header(Header::new("Authorization", authorization.to_string()))
        .dispatch()
        .await
        .status()
}

/// The type names of the sentinels that aborted launch; panics if launch did not abort so.
async fn sentinel_aborts(rocket: Rocket<Build>) -> Vec<&'static str> {
    let error = rocket.ignite().await.expect_err("launch must abort");
    match error.kind() {
        ErrorKind::SentinelAborts(sentries) => sentries.iter().map(|s| s.type_name).collect(),
        other => panic!("expected SentinelAborts, got {other:?}"),
    }
}

#[rocket::async_test]
async fn only_the_vanity_domain_and_wristband_jwt_works_without_session_or_client() {
    logs::install();
    let fake = FakeWristband::start().await;
    let client = Client::untracked(api(figment(&fake, ""))).await.expect("launches");
    let token = fake.issue_access_token("user-1", "tenant-1", 300);
    let response = client
        .get("/api/whoami")
        .header(Header::new("Authorization", format!("Bearer {token}")))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Ok);
    assert!(response.headers().get("Set-Cookie").next().is_none(), "no cookie written");
    assert_eq!(response.into_string().await.as_deref(), Some("user-1 of tenant-1"));
    assert_eq!(client.get("/api/whoami").dispatch().await.status(), Status::Unauthorized);
    let expired = fake.issue_access_token("user-1", "tenant-1", -3600);
    assert_eq!(
        status_with(&client, "/api/whoami", &format!("Bearer {expired}")).await,
        Status::Unauthorized
    );
    assert_eq!(fake.calls(Endpoint::Jwks), 1);
    // No SDK configuration is ever fetched: there is no client to fetch it for.
    assert_eq!(fake.calls(Endpoint::SdkConfiguration), 0);

    // `jwt_allowed_client_ids` applies.
    let other = figment(&fake, "").merge(("wristband_auth.jwt_allowed_client_ids", ["another"]));
    let client = Client::untracked(api(other)).await.expect("launches");
    assert_eq!(
        status_with(&client, "/api/whoami", &format!("Bearer {token}")).await,
        Status::Unauthorized
    );

    // The managed validator is there too.
    let validator = client.rocket().state::<WristbandAuth>().unwrap().jwt_validator().unwrap();
    assert_eq!(validator.validate(&token).await.unwrap_err(), WristbandJwtError::ClientNotAllowed);
}

#[rocket::async_test]
async fn a_bearer_only_service_over_tcp() {
    logs::install();
    let fake = FakeWristband::start().await;
    let app = server::Server::start(api(figment(&fake, ""))).await;
    let token = fake.issue_access_token("user-2", "tenant-2", 300);
    let http = reqwest::Client::new();
    let answer = http.get(app.url("/api/whoami")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(answer.status(), reqwest::StatusCode::OK);
    assert_eq!(answer.text().await.unwrap(), "user-2 of tenant-2");
    let answer = http
        .get(app.url("/api/whoami"))
        .header("Authorization", format!("Bearer  {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), reqwest::StatusCode::UNAUTHORIZED, "two spaces");
    app.stop().await;
}

#[rocket::async_test]
async fn authenticated_user_with_the_jwt_strategy_works_and_with_session_needs_the_fairing() {
    logs::install();
    let fake = FakeWristband::start().await;
    let token = fake.issue_access_token("user-3", "tenant-3", 300);

    let jwt_only = figment(&fake, "auth_strategies = [\"jwt\"]");
    let rocket =
        rocket::custom(jwt_only).attach(WristbandAuth::fairing()).mount("/", routes![user]);
    let client = Client::untracked(rocket).await.expect("launches");
    let response = client
        .get("/api/user")
        .header(Header::new("Authorization", format!("Bearer {token}")))
        .dispatch()
        .await;
    assert_eq!(response.into_string().await.as_deref(), Some("user-3"));

    // The default strategies (["session"]) need the session fairing.
    logs::install();
    let rocket = rocket::custom(figment(&fake, ""))
        .attach(WristbandAuth::fairing())
        .mount("/", routes![user]);
    let aborted = sentinel_aborts(rocket).await;
    assert!(aborted.iter().any(|t| t.contains("AuthenticatedUser")), "{aborted:?}");
    let errors = logs::logged(Some(log::Level::Error)).join("\n");
    assert!(errors.contains("WristbandSession::fairing()"), "{errors}");
    assert!(errors.contains("auth_strategies"), "{errors}");
}

#[rocket::async_test]
async fn routes_that_sign_users_in_abort_launch_naming_what_they_need() {
    logs::install();
    let fake = FakeWristband::start().await;

    // The `Wristband` guard: client_id and client_secret.
    let rocket = rocket::custom(figment(&fake, ""))
        .attach(WristbandAuth::fairing())
        .mount("/", routes![login]);
    let aborted = sentinel_aborts(rocket).await;
    assert!(aborted.iter().any(|t| t.contains("Wristband")), "{aborted:?}");
    let errors = logs::logged(Some(log::Level::Error)).join("\n");
    assert!(errors.contains("`client_id` and `client_secret`"), "{errors}");
    assert!(errors.contains("WristbandSession::fairing()"), "{errors}");

    // The crate's standard routes use it.
    let rocket = rocket::custom(figment(&fake, ""))
        .attach(WristbandAuth::fairing())
        .mount("/auth", WristbandAuth::routes());
    assert!(!sentinel_aborts(rocket).await.is_empty());

    // Even with the session fairing attached: signing in needs the client.
    let rocket = rocket::custom(
        figment(&fake, "")
            .merge(("wristband_session.secrets", "a-session-secret-of-at-least-32-characters")),
    )
    .attach(WristbandSession::fairing())
    .attach(WristbandAuth::fairing())
    .mount("/", routes![login, whoami]);
    assert!(!sentinel_aborts(rocket).await.is_empty());

    // `AuthenticatedSession`: the session fairing.
    logs::install();
    let rocket = rocket::custom(figment(&fake, ""))
        .attach(WristbandAuth::fairing())
        .mount("/", routes![session, whoami]);
    let aborted = sentinel_aborts(rocket).await;
    assert!(aborted.iter().any(|t| t.contains("AuthenticatedSession")), "{aborted:?}");
    let errors = logs::logged(Some(log::Level::Error)).join("\n");
    assert!(errors.contains("WristbandSession"), "{errors}");
}

#[rocket::async_test]
async fn half_a_client_or_preload_config_is_a_configuration_error() {
    logs::install();
    let fake = FakeWristband::start().await;
    for (extra, key) in [
        ("client_id = \"fake-client-id\"", "client_secret"),
        ("client_secret = \"a-secret\"", "client_id"),
        ("preload_config = true", "preload_config"),
    ] {
        logs::install();
        let error = Client::untracked(api(figment(&fake, extra))).await.expect_err(extra);
        assert!(matches!(error.kind(), ErrorKind::FailedFairings(_)), "{extra}");
        let errors = logs::logged(Some(log::Level::Error)).join("\n");
        assert!(errors.contains(&format!("`wristband_auth.{key}`")), "{extra}: {errors}");
    }
    // And the vanity domain stays required.
    let options = AuthOptions::default();
    assert!(options.is_bearer_only());
    let err = options.validate().unwrap_err();
    let keys: Vec<&str> = err.problems().iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["wristband_application_vanity_domain"]);
}

/// The validator with no Rocket at all: a plain multi-threaded Tokio runtime, the validator
/// built from the vanity domain and options, a token checked, cloned into a task.
#[test]
fn the_validator_runs_without_rocket() {
    logs::install();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let fake = FakeWristband::start().await;
        let options = AuthOptions {
            wristband_scheme: WristbandScheme::Http,
            jwks_cache_ttl: Some(60),
            ..AuthOptions::bearer_only(fake.vanity_domain())
        };
        let validator = WristbandJwtValidator::from_options(&options).unwrap();
        let token = fake.issue_access_token("user-4", "tenant-4", 300);
        let task = tokio::spawn({
            let validator = validator.clone();
            let token = token.clone();
            async move { validator.validate(&token).await.map(|jwt| jwt.user_id()) }
        });
        assert_eq!(task.await.unwrap(), Ok("user-4".to_string()));
        let id_token_like = fake.issue_access_token("u", "t", -3600);
        assert_eq!(
            validator.validate(&id_token_like).await.unwrap_err(),
            WristbandJwtError::Expired
        );

        // `new`: https by default, so the loopback fake over http is not reached.
        let https = WristbandJwtValidator::new(fake.vanity_domain()).unwrap();
        let refused = tokio::time::timeout(Duration::from_secs(30), https.validate(&token));
        assert_eq!(refused.await.unwrap().unwrap_err(), WristbandJwtError::UnknownKey);
        // A client id in the options is neither needed nor checked.
        let with_client = AuthOptions { client_id: "x".into(), ..options };
        assert!(WristbandJwtValidator::from_options(&with_client).is_ok());
    });
}

#[test]
fn bearer_token_has_the_guards_rules() {
    let token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln";
    for ok in [
        format!("Bearer {token}"),
        format!("bearer {token}"),
        format!("BEARER {token}"),
        format!("bEaReR {token}"),
        format!("  Bearer {token}\t "),
        "Bearer !~".to_string(),
    ] {
        let expected = ok.trim().split_once(' ').unwrap().1;
        assert_eq!(bearer_token(&ok), Some(expected), "{ok:?}");
    }
    for bad in [
        format!("Basic {token}"),
        format!("Bearer  {token}"),
        format!("Bearer\t{token}"),
        format!("Bearer {token} x"),
        format!("Bearer {token}\u{a0}"),
        format!("Bearer {token}\u{7f}"),
        format!("Bearer {token}\u{0}"),
        format!("Bearer {token}é"),
        format!("Bearer{token}"),
        format!("Bearerx {token}"),
        token.to_string(),
        "Bearer".into(),
        "Bearer ".into(),
        String::new(),
    ] {
        assert_eq!(bearer_token(&bad), None, "{bad:?}");
    }
}

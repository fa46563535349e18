#![cfg(feature = "auth")]
//! `ROCKET_WRISTBAND_AUTH` and `ROCKET_PROFILE=release` set before `rocket::build()`: the
//! client secret from the environment, the rest from the repository's `Rocket.toml`. Each test
//! runs in a child process started with its variables (`support/child_env.rs`).

use rocket::local::asynchronous::Client;
use wristband_rocket_session::{WristbandAuth, WristbandSession};

use crate::support::child_env;

const PROFILE: (&str, &str) = ("ROCKET_PROFILE", "release");
const SESSION: (&str, &str) =
    ("ROCKET_WRISTBAND_SESSION", r#"{secrets=["env-secret-0123456789-abcdefghijklmnopqr"]}"#);
const AUTH: &str = "ROCKET_WRISTBAND_AUTH";

#[tokio::test]
async fn release_without_a_client_secret_in_the_environment_is_refused() {
    // Without the variable, release has no client secret (Rocket.toml keeps none): refused.
    let name = "release_without_a_client_secret_in_the_environment_is_refused";
    if !child_env::in_child(name, &[PROFILE, SESSION], &[AUTH]) {
        return;
    }
    let rocket =
        rocket::build().attach(WristbandSession::fairing()).attach(WristbandAuth::fairing());
    match Client::untracked(rocket).await {
        Ok(_) => panic!("launched without a client secret"),
        Err(e) => {
            let _ = e.kind();
        }
    }
}

#[tokio::test]
async fn environment_configures_wristband_auth_in_release() {
    let auth = r#"{client_id="env-client", client_secret="env-client-secret", wristband_application_vanity_domain="auth.example.com", auth_strategies=["session", "jwt"]}"#;
    if !child_env::in_child(
        "environment_configures_wristband_auth_in_release",
        &[PROFILE, SESSION, (AUTH, auth)],
        &[],
    ) {
        return;
    }
    let rocket =
        rocket::build().attach(WristbandAuth::fairing()).attach(WristbandSession::fairing());
    let client = match Client::untracked(rocket).await {
        Ok(client) => client,
        Err(e) => panic!("launch failed: {:?}", e.kind()),
    };
    let figment = client.rocket().figment();
    assert_eq!(figment.profile(), "release");
    assert_eq!(figment.extract_inner::<String>("wristband_auth.client_id").unwrap(), "env-client");
    assert!(!figment
        .extract_inner::<bool>("wristband_auth.dangerously_disable_secure_cookies")
        .unwrap_or(false));
}

#![cfg(feature = "auth")]
//! `ROCKET_WRISTBAND_AUTH` and `ROCKET_PROFILE=release` set before `rocket::build()`: the
//! client secret from the environment, the rest from the repository's `Rocket.toml`. A single
//! test in its own binary, so changing the process environment affects nothing else.

use rocket::local::asynchronous::Client;
use wristband_rocket_session::{WristbandAuth, WristbandSession};

#[tokio::test]
async fn environment_configures_wristband_auth_in_release() {
    std::env::set_var("ROCKET_PROFILE", "release");
    std::env::set_var(
        "ROCKET_WRISTBAND_SESSION",
        r#"{secrets=["env-secret-0123456789-abcdefghijklmnopqr"]}"#,
    );
    // Without the variable, release has no client secret (Rocket.toml keeps none): refused.
    std::env::remove_var("ROCKET_WRISTBAND_AUTH");
    let rocket =
        rocket::build().attach(WristbandSession::fairing()).attach(WristbandAuth::fairing());
    match Client::untracked(rocket).await {
        Ok(_) => panic!("launched without a client secret"),
        Err(e) => {
            let _ = e.kind();
        }
    }

    std::env::set_var(
        "ROCKET_WRISTBAND_AUTH",
        r#"{client_id="env-client", client_secret="env-client-secret", wristband_application_vanity_domain="auth.example.com", auth_strategies=["session", "jwt"]}"#,
    );
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

//! Without a `revocation` table sessions stay fully stateless and byte-for-byte as before: no
//! `sessionId`, no `sessionIssuedAt`, no Redis. Runs with and without the `redis` feature.

use rocket::local::blocking::Client;
use serde_json::json;
use wristband_rocket_session::testing::{self, callback_data, LocalRequestExt};
use wristband_rocket_session::{
    RevocationOptions, Session, SessionError, SessionOptions, WristbandSession,
};

#[post("/login")]
fn login(session: Session<'_>) {
    session.from_callback(&callback_data("u1", "t1"), None).unwrap();
}

#[post("/touch")]
fn touch(session: Session<'_>) {
    session.insert("n", 1).unwrap();
}

#[post("/clear")]
fn clear(session: Session<'_>) {
    session.clear();
}

#[post("/revoke")]
async fn revoke(session: Session<'_>) -> String {
    match session.revoke().await {
        Err(SessionError::RevocationNotConfigured) => "not configured".into(),
        other => format!("{other:?}"),
    }
}

fn client() -> Client {
    let options = SessionOptions {
        secrets: "revocation-off-secret-0123456789-abcdefgh".into(),
        ..SessionOptions::default()
    };
    let rocket = rocket::build()
        .attach(WristbandSession::custom(options))
        .mount("/", routes![login, touch, clear, revoke]);
    Client::untracked(rocket).unwrap()
}

#[test]
fn without_the_table_the_sealed_json_has_no_new_keys() {
    let client = client();
    let response = client.post("/login").dispatch();
    let written = testing::written_session(client.rocket(), response.cookies()).unwrap();
    let mut keys: Vec<&str> = written.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "accessToken",
            "expiresAt",
            "identityProviderName",
            "isAuthenticated",
            "refreshToken",
            "tenantId",
            "tenantName",
            "userId"
        ]
    );
    let response = client.post("/touch").with_session(&json!({ "a": 1 })).dispatch();
    let written = testing::written_session(client.rocket(), response.cookies()).unwrap();
    assert_eq!(written, *json!({ "a": 1, "n": 1 }).as_object().unwrap());
    let response = client.post("/clear").with_session(&json!({ "a": 1 })).dispatch();
    let written = testing::written_session(client.rocket(), response.cookies()).unwrap();
    assert!(written.is_empty());
}

#[test]
fn without_the_table_revoke_says_so_and_leaves_the_session() {
    let client = client();
    let response = client.post("/revoke").logged_in_as(&callback_data("u1", "t1")).dispatch();
    assert!(response.headers().get("Set-Cookie").next().is_none(), "session left as it was");
    assert_eq!(response.into_string().as_deref(), Some("not configured"));
}

#[cfg(not(feature = "redis"))]
#[test]
fn a_revocation_table_without_the_redis_feature_aborts_launch_naming_the_feature() {
    let options = SessionOptions {
        secrets: "revocation-off-secret-0123456789-abcdefgh".into(),
        revocation: Some(RevocationOptions {
            url: "redis://127.0.0.1:6379".into(),
            ..RevocationOptions::default()
        }),
        ..SessionOptions::default()
    };
    let problems = options.validate().unwrap_err();
    let message = problems.to_string();
    assert!(message.contains("revocation") && message.contains("feature `redis`"), "{message}");
    let rocket = rocket::build().attach(WristbandSession::custom(options));
    match Client::untracked(rocket) {
        Ok(_) => panic!("launch must be aborted"),
        Err(error) => {
            assert!(matches!(error.kind(), rocket::error::ErrorKind::FailedFairings(_)))
        }
    }
}

#[test]
fn revocation_options_are_validated_all_at_once() {
    let options = SessionOptions {
        secrets: "revocation-off-secret-0123456789-abcdefgh".into(),
        revocation: Some(RevocationOptions {
            url: "http://:topsecret@127.0.0.1".into(),
            key_prefix: String::new(),
            ..RevocationOptions::default()
        }),
        ..SessionOptions::default()
    };
    let error = options.validate().unwrap_err();
    let keys: Vec<&str> = error.problems().iter().map(|p| p.key.as_str()).collect();
    assert!(keys.contains(&"revocation.url"), "{keys:?}");
    assert!(keys.contains(&"revocation.key_prefix"), "{keys:?}");
    assert!(!error.to_string().contains("topsecret"), "the password is never shown");
}

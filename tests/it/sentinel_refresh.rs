#![cfg(all(feature = "fake-wristband", feature = "redis"))]
//! Refresh coordination across a Sentinel failover (issue 16): two instances configured with
//! `sentinels` + `sentinel_master`; before the failover and after the master was killed and a
//! replica promoted, parallel requests with one expired session, spread over both instances,
//! all get the same new access token, no removal cookie, and Wristband sees one token call.
//! Real master, replica and three sentinels (`tests/support/sentinel.rs`), real TCP, the fake
//! Wristband.

use crate::support::sentinel;
use crate::support::server;

use std::time::{Duration, Instant};

use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::StatusCode;
use sentinel::SentinelCluster;
use server::Server;
use wristband_rocket_session::testing::{callback_data, Endpoint, FakeWristband};
use wristband_rocket_session::{
    AuthenticatedSession, RevocationOptions, Session, SessionError, SessionOptions, WristbandAuth,
    WristbandSession,
};

const SECRET: &str = "sentinel-refresh-test-secret-0123456789ab";

#[post("/seed?<rt>")]
fn seed(session: Session<'_>, rt: &str) -> Result<(), SessionError> {
    let mut data = callback_data("u1", "t1");
    data.refresh_token = Some(rt.to_string());
    data.expires_at = time::OffsetDateTime::now_utc().unix_timestamp() * 1000 - 60_000;
    session.from_callback(&data, None)
}

#[get("/token")]
fn token(session: AuthenticatedSession<'_>) -> String {
    session.get::<String>("accessToken").unwrap().unwrap_or_default()
}

async fn instance(fake: &FakeWristband, cluster: &SentinelCluster) -> Server {
    let session = SessionOptions {
        secrets: SECRET.into(),
        secure: false,
        revocation: Some(RevocationOptions {
            sentinels: cluster.sentinel_urls(),
            sentinel_master: Some(cluster.name().to_string()),
            ..RevocationOptions::default()
        }),
        ..SessionOptions::default()
    };
    let rocket = rocket::custom(rocket::Config::figment())
        .attach(WristbandSession::custom(session))
        .attach(WristbandAuth::custom(fake.auth_options()))
        .mount("/", routes![seed, token]);
    Server::start(rocket).await
}

/// Parallel `/token` requests on both instances with one expired session: `(status, body,
/// removes the session cookie)` of each.
async fn race(fake: &FakeWristband, a: &Server, b: &Server) -> Vec<(StatusCode, String, bool)> {
    let http = reqwest::Client::new();
    let rt = fake.issue_refresh_token("u1", "t1");
    let resp = http.post(format!("{}/seed?rt={rt}", a.base)).send().await.unwrap();
    let cookie =
        resp.headers()[SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_string();
    let mut calls = Vec::new();
    for i in 0..8 {
        let base = if i % 2 == 0 { a.base.clone() } else { b.base.clone() };
        let (http, cookie) = (http.clone(), cookie.clone());
        calls.push(rocket::tokio::spawn(async move {
            let resp =
                http.get(format!("{base}/token")).header(COOKIE, cookie).send().await.unwrap();
            let removes = resp.headers().get_all(SET_COOKIE).iter().any(|h| {
                let h = h.to_str().unwrap();
                h.starts_with("session=") && h.contains("Max-Age=0")
            });
            (resp.status(), resp.text().await.unwrap(), removes)
        }));
    }
    let mut answers = Vec::new();
    for call in calls {
        answers.push(call.await.unwrap());
    }
    answers
}

fn one_refresh(answers: &[(StatusCode, String, bool)], when: &str) {
    for (status, _, removes) in answers {
        assert_eq!(*status, StatusCode::OK, "{when}: {answers:?}");
        assert!(!removes, "{when}: {answers:?}");
    }
    assert!(answers.iter().all(|a| a.1 == answers[0].1), "{when}: one new token: {answers:?}");
}

#[rocket::async_test]
async fn refresh_is_single_flight_across_instances_before_and_after_a_failover() {
    let mut cluster = SentinelCluster::start("refreshmaster");
    let fake = FakeWristband::start().await;
    fake.set_delay(Endpoint::Token, Duration::from_millis(150));
    let a = instance(&fake, &cluster).await;
    let b = instance(&fake, &cluster).await;

    let calls = fake.calls(Endpoint::Token);
    one_refresh(&race(&fake, &a, &b).await, "before the failover");
    assert_eq!(fake.calls(Endpoint::Token) - calls, 1, "before the failover: one token call");

    cluster.kill_master();
    let killed = Instant::now();
    // After the sentinels promoted the replica and both instances moved to it, a race is
    // coordinated again: one token call, every request 200.
    loop {
        assert!(killed.elapsed() < Duration::from_secs(30), "coordination never came back");
        rocket::tokio::time::sleep(Duration::from_millis(250)).await;
        if cluster.master_port_by_sentinels() != Some(cluster.replica_port()) {
            continue;
        }
        let calls = fake.calls(Endpoint::Token);
        let answers = race(&fake, &a, &b).await;
        let ok = answers.iter().all(|(s, _, removes)| *s == StatusCode::OK && !removes);
        if ok && fake.calls(Endpoint::Token) - calls == 1 {
            one_refresh(&answers, "after the failover");
            println!(
                "refresh coordinated again {:?} after the master was killed",
                killed.elapsed()
            );
            break;
        }
    }
    a.stop().await;
    b.stop().await;
}

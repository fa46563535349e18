//! Revocation with Redis Sentinel (`sentinels` + `sentinel_master`), against a real deployment
//! the test starts (tests/support/sentinel.rs: a master, a replica, three sentinels, all on
//! 127.0.0.1) and app instances over real TCP configured from the crate docs' Sentinel TOML.
//! The master is killed; revocations must flow again once the sentinels have promoted the
//! replica, and a revocation the new master never received must come back through the
//! instances' write-back catch-up.
#![cfg(feature = "redis")]

use crate::support::sentinel;
use crate::support::server;

use std::time::{Duration, Instant};

use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::StatusCode;
use rocket::figment::providers::{Format, Toml};
use rocket::figment::Figment;
use rocket::http::Status;
use rocket::serde::json::Json;
use sentinel::SentinelCluster;
use serde_json::{json, Value};
use server::Server;
use wristband_rocket_session::testing::callback_data;
use wristband_rocket_session::{
    AuthenticatedSession, Revocations, Session, SessionCodec, SessionOptions, WristbandSession,
};

const SECRET: &str = "sentinel-test-secret-0123456789-abcdefghij";
/// The name the crate docs' example monitors the master under (the deployment uses it too).
const MASTER_NAME: &str = "mymaster";
/// The Redis keys, with the default `key_prefix`.
const SESSIONS_KEY: &str = "wristband_session:revoked-sessions";
const CHANNEL: &str = "wristband_session:revocations";

#[post("/login/<user>")]
fn login(session: Session<'_>, user: &str) {
    session.from_callback(&callback_data(user, "t1"), None).unwrap();
}

#[get("/me")]
fn me(session: AuthenticatedSession<'_>) -> String {
    session.user_id()
}

#[post("/revoke")]
async fn revoke(session: Session<'_>) -> Status {
    match session.revoke().await {
        Ok(()) => Status::Ok,
        // Redis could not be written: the revocation holds here and is written back later.
        Err(_) => Status::ServiceUnavailable,
    }
}

#[get("/stats")]
fn stats(revocations: Revocations) -> Json<Value> {
    let stats = revocations.stats();
    Json(json!({ "caught_up": stats.caught_up, "catch_ups": stats.catch_ups }))
}

/// The crate docs' Sentinel example (the ```text block of src/lib.rs that sets
/// `sentinel_master`), with the deployment's sentinels in place of the example's addresses.
fn documented_toml(cluster: &SentinelCluster) -> String {
    let lib = include_str!("../../src/lib.rs");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in lib.lines() {
        let line = line.strip_prefix("//!").unwrap_or(line);
        let line = line.strip_prefix(' ').unwrap_or(line);
        match (&mut current, line) {
            (None, "```text") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), line) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    let example = blocks
        .into_iter()
        .find(|b| b.contains("sentinel_master") && b.contains("sentinels"))
        .expect("the crate docs have a Sentinel TOML example");
    let sentinels: Vec<String> = cluster.sentinel_urls().iter().map(|u| format!("{u:?}")).collect();
    let mut toml = String::new();
    for line in example.lines() {
        if line.trim_start().starts_with("sentinels") {
            toml.push_str(&format!("sentinels = [{}]\n", sentinels.join(", ")));
        } else {
            toml.push_str(line);
            toml.push('\n');
        }
    }
    assert!(toml.contains(&format!("sentinel_master = \"{}\"", cluster.name())), "{toml}");
    toml
}

/// An app instance configured from `toml` (and this test's secret), over TCP.
async fn instance(toml: &str) -> Server {
    let figment = Figment::from(rocket::Config::default())
        .merge(Toml::string(toml).nested())
        .merge(("wristband_session.secrets", SECRET))
        .merge(("wristband_session.secure", false))
        .select("debug");
    let rocket = rocket::custom(figment)
        .attach(WristbandSession::fairing())
        .mount("/", routes![login, me, revoke, stats]);
    Server::start(rocket).await
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap()
}

fn session_cookie(resp: &reqwest::Response) -> Option<String> {
    resp.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("session=") && !v.starts_with("session=;"))
        .map(|v| v.split(';').next().unwrap().to_string())
}

/// Whether a response removes the session cookie: what a *revoked* session gets. A session
/// an instance cannot check (not caught up, policy `refuse`) also gets 401, but keeps it.
fn removes_cookie(resp: &reqwest::Response) -> bool {
    resp.headers().get_all(SET_COOKIE).iter().any(|v| {
        let v = v.to_str().unwrap();
        v.starts_with("session=;") || (v.starts_with("session=") && v.contains("Max-Age=0"))
    })
}

fn session_id(cookie: &str) -> String {
    let options = SessionOptions { secrets: SECRET.into(), ..SessionOptions::default() };
    let codec = SessionCodec::new(&options).unwrap();
    let data = codec.open(cookie.strip_prefix("session=").unwrap()).expect("the cookie opens");
    data["sessionId"].as_str().expect("a session id").to_string()
}

async fn sign_in(server: &Server, user: &str) -> String {
    let resp = client().post(server.url(&format!("/login/{user}"))).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    session_cookie(&resp).expect("a login writes the session cookie")
}

/// What `server` does with `cookie` on `GET /me`.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Seen {
    Accepted,
    /// 401 and the cookie removed.
    Revoked,
    /// 401, cookie kept (not caught up under `refuse`).
    Withheld,
}

async fn seen(server: &Server, cookie: &str) -> Seen {
    let resp = client().get(server.url("/me")).header(COOKIE, cookie).send().await.unwrap();
    match resp.status() {
        StatusCode::OK => Seen::Accepted,
        StatusCode::UNAUTHORIZED if removes_cookie(&resp) => Seen::Revoked,
        StatusCode::UNAUTHORIZED => Seen::Withheld,
        other => panic!("unexpected {other}"),
    }
}

async fn revoke_on(server: &Server, cookie: &str) -> StatusCode {
    client().post(server.url("/revoke")).header(COOKIE, cookie).send().await.unwrap().status()
}

/// Polls until `server` sees `cookie` as revoked; the time it took, or `None` after `limit`.
async fn revoked_within(server: &Server, cookie: &str, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if seen(server, cookie).await == Seen::Revoked {
            return Some(start.elapsed());
        }
        if start.elapsed() >= limit {
            return None;
        }
        rocket::tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn stats_of(server: &Server) -> Value {
    client().get(server.url("/stats")).send().await.unwrap().json().await.unwrap()
}

async fn until_caught_up(server: &Server, limit: Duration) {
    let start = Instant::now();
    while stats_of(server).await["caught_up"] != json!(true) {
        assert!(start.elapsed() < limit, "not caught up after {limit:?}");
        rocket::tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn redis_connection(url: &str) -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(url).unwrap();
    rocket::tokio::time::timeout(Duration::from_secs(5), client.get_multiplexed_async_connection())
        .await
        .expect("connects within 5 s")
        .expect("connects")
}

/// The score of `id` in the revoked-sessions set of the server at `url`.
async fn stored(url: &str, id: &str) -> Option<f64> {
    let mut conn = redis_connection(url).await;
    redis::cmd("ZSCORE").arg(SESSIONS_KEY).arg(id).query_async(&mut conn).await.unwrap()
}

#[rocket::async_test]
async fn revocations_flow_again_after_a_sentinel_failover_and_lost_ones_come_back() {
    let mut cluster = SentinelCluster::start(MASTER_NAME);
    let toml = documented_toml(&cluster);
    let a = instance(&toml).await;
    let b = instance(&toml).await;
    for server in [&a, &b] {
        until_caught_up(server, Duration::from_secs(5)).await;
    }

    // (a) Before the failover: revoked on A, refused on B.
    let first = sign_in(&a, "u1").await;
    assert_eq!(seen(&b, &first).await, Seen::Accepted);
    assert_eq!(revoke_on(&a, &first).await, StatusCode::OK);
    let took = revoked_within(&b, &first, Duration::from_secs(1)).await;
    eprintln!("before the failover: revoked on A, refused on B after {took:?}");
    assert!(took.is_some(), "B refuses a session revoked on A");
    let id = session_id(&first);
    assert!(stored(&cluster.first_master_url(), &id).await.is_some(), "written to the master");

    // (c, set-up) A revocation the master takes but never replicates, as asynchronous
    // replication loses the last writes before a crash: written on the master only (a Lua
    // script with replication turned off), laid out and announced as the store does it, so
    // both instances hold it in memory.
    let lost = sign_in(&a, "u2").await;
    let lost_id = session_id(&lost);
    let until = rocket::time::OffsetDateTime::now_utc().unix_timestamp() + 3600 + 60;
    let mut master = redis_connection(&cluster.first_master_url()).await;
    let script = "redis.set_repl(redis.REPL_NONE) \
                  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2]) \
                  redis.call('PUBLISH', KEYS[2], ARGV[3]) \
                  return 1";
    let _: i64 = redis::cmd("EVAL")
        .arg(script)
        .arg(2)
        .arg(SESSIONS_KEY)
        .arg(CHANNEL)
        .arg(until)
        .arg(&lost_id)
        .arg(format!("s {until} {lost_id}"))
        .query_async(&mut master)
        .await
        .unwrap();
    for server in [&a, &b] {
        assert!(revoked_within(server, &lost, Duration::from_secs(1)).await.is_some());
    }
    // Everything replicated so far has reached the replica (WAIT), yet it lacks that entry:
    // the replica, which the sentinels will promote, never gets it from the old master.
    let _: () = redis::cmd("SET").arg("marker").arg(1).query_async(&mut master).await.unwrap();
    let acked: i64 = redis::cmd("WAIT").arg(1).arg(2000).query_async(&mut master).await.unwrap();
    assert_eq!(acked, 1, "the replica acknowledged the marker");
    let mut replica = redis_connection(&cluster.replica_url()).await;
    let marker: Option<String> =
        redis::cmd("GET").arg("marker").query_async(&mut replica).await.unwrap();
    assert_eq!(marker.as_deref(), Some("1"), "the replica is in sync");
    assert!(stored(&cluster.first_master_url(), &lost_id).await.is_some());
    assert_eq!(stored(&cluster.replica_url(), &lost_id).await, None, "the replica lacks it");
    assert!(stored(&cluster.replica_url(), &id).await.is_some(), "but has the replicated one");
    drop(master);

    // (b, d) Kill the master. Until the sentinels have promoted the replica and the instances
    // have moved there, revoke a new session on A every round and watch B for it: the first
    // one B refuses ends the outage as far as revocations go.
    let old_port = cluster.master_port_by_sentinels().expect("the sentinels name a master");
    cluster.kill_master();
    let killed = Instant::now();
    let mut switched: Option<Duration> = None;
    let mut attempts = Vec::new();
    let gap = loop {
        assert!(
            killed.elapsed() < Duration::from_secs(30),
            "no revocation propagated: {attempts:?}"
        );
        let cookie = sign_in(&a, "during").await;
        let revoked_at = killed.elapsed();
        let status = revoke_on(&a, &cookie).await;
        attempts.push((revoked_at, status.as_u16()));
        let propagated = revoked_within(&b, &cookie, Duration::from_millis(150)).await.is_some();
        let refused_at = killed.elapsed();
        if switched.is_none() && cluster.master_port_by_sentinels().is_some_and(|p| p != old_port) {
            switched = Some(killed.elapsed());
        }
        if propagated {
            break (revoked_at, refused_at, status);
        }
    };
    let (revoked_at, refused_at, status) = gap;
    eprintln!(
        "failover: the sentinels named the new master by {switched:?} after the kill; the first \
         revocation that propagated was made on A {revoked_at:?} after the kill (A answered \
         {status}) and refused on B {refused_at:?} after the kill; {} revocation(s) tried: \
         {attempts:?}",
        attempts.len()
    );
    assert_eq!(
        cluster.master_port_by_sentinels(),
        Some(cluster.replica_port()),
        "the sentinels promoted the replica"
    );
    for server in [&a, &b] {
        until_caught_up(server, Duration::from_secs(10)).await;
        assert!(stats_of(server).await["catch_ups"].as_u64().unwrap() >= 2);
    }
    // (b) After the failover, both ways, on the new master.
    let after = sign_in(&b, "u3").await;
    assert_eq!(seen(&a, &after).await, Seen::Accepted);
    assert_eq!(revoke_on(&b, &after).await, StatusCode::OK);
    let took = revoked_within(&a, &after, Duration::from_secs(1)).await;
    eprintln!("after the failover: revoked on B, refused on A after {took:?}");
    assert!(took.is_some(), "A refuses a session revoked on B after the failover");
    let again = sign_in(&a, "u4").await;
    assert_eq!(revoke_on(&a, &again).await, StatusCode::OK);
    assert!(revoked_within(&b, &again, Duration::from_secs(1)).await.is_some());
    assert!(stored(&cluster.replica_url(), &session_id(&after)).await.is_some());

    // (c) The lost revocation is back on the new master (written back by the catch-up), and
    // an instance started now, which never saw it, refuses it.
    let start = Instant::now();
    while stored(&cluster.replica_url(), &lost_id).await.is_none() {
        assert!(start.elapsed() < Duration::from_secs(10), "the lost revocation never came back");
        rocket::tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let fresh = instance(&toml).await;
    until_caught_up(&fresh, Duration::from_secs(5)).await;
    assert_eq!(seen(&fresh, &lost).await, Seen::Revoked, "the fresh instance refuses it");
    assert_eq!(seen(&fresh, &first).await, Seen::Revoked);
    let valid = sign_in(&b, "u5").await;
    assert_eq!(seen(&fresh, &valid).await, Seen::Accepted, "and accepts the others");

    for server in [a, b, fresh] {
        server.stop().await;
    }
}

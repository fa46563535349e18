//! Revocation and refresh coordination on Redis Cluster (`cluster_nodes`), against a real
//! six-node cluster the test starts (tests/support/cluster.rs: three masters with one replica
//! each, `cluster-node-timeout` 1000, all on 127.0.0.1) and app instances over real TCP
//! configured from the crate docs' Cluster TOML. The master serving the revocation keys' slot
//! is killed; revocations made before stay in force, new ones flow again once its replica
//! has taken over, and an instance started afterwards knows them all.
#![cfg(feature = "redis")]

use crate::support::cluster::RedisCluster;
use crate::support::server::Server;
use crate::support::tls::TestCa;

use std::time::{Duration, Instant};

use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::StatusCode;
use rocket::figment::providers::{Format, Toml};
use rocket::figment::Figment;
use rocket::http::Status;
use rocket::serde::json::Json;
use serde_json::{json, Value};
use wristband_rocket_session::testing::callback_data;
use wristband_rocket_session::{
    AuthenticatedSession, RevocationOptions, Revocations, Session, SessionCodec, SessionOptions,
    WristbandSession,
};

const SECRET: &str = "cluster-test-secret-0123456789-abcdefghijk";
/// The revocation keys in cluster mode, with the default `key_prefix`: one hash tag.
const SESSIONS_KEY: &str = "{wristband_session}:revoked-sessions";

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
        Err(_) => Status::ServiceUnavailable,
    }
}

#[get("/stats")]
fn stats(revocations: Revocations) -> Json<Value> {
    let stats = revocations.stats();
    Json(json!({ "caught_up": stats.caught_up, "catch_ups": stats.catch_ups }))
}

/// The crate docs' Cluster example (the ```text block of src/lib.rs that sets
/// `cluster_nodes`), with the test cluster's nodes in place of the example's addresses.
fn documented_toml(cluster: &RedisCluster) -> String {
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
        .find(|b| b.contains("cluster_nodes"))
        .expect("the crate docs have a Cluster TOML example");
    let nodes: Vec<String> = cluster.urls().iter().map(|u| format!("{u:?}")).collect();
    let mut toml = String::new();
    for line in example.lines() {
        if line.trim_start().starts_with("cluster_nodes") {
            toml.push_str(&format!("cluster_nodes = [{}]\n", nodes.join(", ")));
        } else {
            toml.push_str(line);
            toml.push('\n');
        }
    }
    toml
}

fn figment(toml: &str) -> Figment {
    Figment::from(rocket::Config::default())
        .merge(Toml::string(toml).nested())
        .merge(("wristband_session.secrets", SECRET))
        .merge(("wristband_session.secure", false))
        .select("debug")
}

async fn instance(toml: &str) -> Server {
    let rocket = rocket::custom(figment(toml))
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

/// `rounds` sign-ins of `user`, alternately on `a` and on `b`: each accepted by the other
/// instance, revoked where it was made, and refused by the other within 2 s. The cookies.
async fn revocations_flow_both_ways(
    a: &Server,
    b: &Server,
    user: &str,
    rounds: usize,
    label: &str,
) -> Vec<String> {
    let mut cookies = Vec::new();
    for round in 0..rounds {
        let (from, to) = if round % 2 == 0 { (a, b) } else { (b, a) };
        let cookie = sign_in(from, user).await;
        assert_eq!(seen(to, &cookie).await, Seen::Accepted);
        assert_eq!(revoke_on(from, &cookie).await, StatusCode::OK);
        let took = revoked_within(to, &cookie, Duration::from_secs(2)).await;
        eprintln!("{label}: revoked on one instance, refused on the other after {took:?}");
        assert!(took.is_some(), "the other instance refuses the revoked session");
        cookies.push(cookie);
    }
    cookies
}

/// The score of `id` in the revoked-sessions set, read through the cluster.
async fn stored(cluster: &RedisCluster, id: &str) -> Option<f64> {
    let client = redis::cluster::ClusterClient::new(cluster.urls()).unwrap();
    let mut conn =
        rocket::tokio::time::timeout(Duration::from_secs(5), client.get_async_connection())
            .await
            .expect("connects within 5 s")
            .expect("connects");
    redis::cmd("ZSCORE").arg(SESSIONS_KEY).arg(id).query_async(&mut conn).await.unwrap()
}

#[rocket::async_test]
async fn a_revocation_on_one_instance_is_refused_on_the_other_over_a_cluster() {
    let cluster = RedisCluster::start();
    let toml = documented_toml(&cluster);
    let a = instance(&toml).await;
    let b = instance(&toml).await;
    for server in [&a, &b] {
        until_caught_up(server, Duration::from_secs(10)).await;
    }
    for cookie in revocations_flow_both_ways(&a, &b, "u1", 3, "cluster").await {
        assert!(stored(&cluster, &session_id(&cookie)).await.is_some(), "written to the cluster");
    }
    // Both sets share the hash tag (one slot), and the other instance learnt through pub/sub
    // whichever node it subscribed through.
    a.stop().await;
    b.stop().await;
}

#[rocket::async_test]
async fn revocations_survive_a_master_failover_and_flow_again_after_it() {
    let mut cluster = RedisCluster::start();
    let toml = documented_toml(&cluster);
    let a = instance(&toml).await;
    let b = instance(&toml).await;
    for server in [&a, &b] {
        until_caught_up(server, Duration::from_secs(10)).await;
    }
    // Revocations made before the failover.
    let mut before = Vec::new();
    for user in ["b1", "b2", "b3"] {
        let cookie = sign_in(&a, user).await;
        assert_eq!(revoke_on(&a, &cookie).await, StatusCode::OK);
        assert!(revoked_within(&b, &cookie, Duration::from_secs(2)).await.is_some());
        before.push(cookie);
    }

    let killed_port = cluster.kill_master_of(SESSIONS_KEY);
    let killed = Instant::now();
    let mut took_over: Option<(u16, Duration)> = None;
    let mut attempts = Vec::new();
    let (revoked_at, refused_at, status) = loop {
        assert!(
            killed.elapsed() < Duration::from_secs(30),
            "no revocation propagated after the kill: {attempts:?}"
        );
        let cookie = sign_in(&a, "during").await;
        let revoked_at = killed.elapsed();
        let status = revoke_on(&a, &cookie).await;
        attempts.push((revoked_at, status.as_u16()));
        let propagated = revoked_within(&b, &cookie, Duration::from_millis(150)).await.is_some();
        let refused_at = killed.elapsed();
        if took_over.is_none()
            && let Some(port) = cluster.took_over(SESSIONS_KEY, killed_port)
        {
            took_over = Some((port, killed.elapsed()));
        }
        // Revocations made before stay in force all along.
        for cookie in &before {
            assert_eq!(seen(&b, cookie).await, Seen::Revoked, "a revocation made before");
        }
        if propagated {
            break (revoked_at, refused_at, status);
        }
    };
    eprintln!(
        "cluster failover: killed the master on port {killed_port}; the cluster was ok with a \
         new master for the slot {took_over:?} after the kill; the first revocation that \
         propagated was made on A {revoked_at:?} after the kill (A answered {status}) and \
         refused on B {refused_at:?} after the kill; {} revocation(s) tried: {attempts:?}",
        attempts.len()
    );
    let start = Instant::now();
    while cluster.took_over(SESSIONS_KEY, killed_port).is_none() {
        assert!(start.elapsed() < Duration::from_secs(30), "no replica took over");
        rocket::tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for server in [&a, &b] {
        until_caught_up(server, Duration::from_secs(10)).await;
    }
    // After the failover, both ways. The instance's cluster client may still be refreshing its
    // view of the slots when the cluster reports healthy: a revocation may answer 503 (held in
    // memory, written back later) for a moment; within 5 s one must succeed.
    let start = Instant::now();
    let after = loop {
        let session = sign_in(&b, "a1").await;
        let status = revoke_on(&b, &session).await;
        if status == StatusCode::OK {
            break session;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "revocations still fail: {status}");
        rocket::tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let took = revoked_within(&a, &after, Duration::from_secs(2)).await;
    eprintln!("cluster: after the failover, revoked on B, refused on A after {took:?}");
    assert!(took.is_some());

    // Everything is on the new master (written back by the catch-up where it was lost), and an
    // instance started now knows all of it.
    for cookie in before.iter().chain([&after]) {
        let id = session_id(cookie);
        let start = Instant::now();
        while stored(&cluster, &id).await.is_none() {
            assert!(start.elapsed() < Duration::from_secs(10), "a revocation is not in Redis");
            rocket::tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let fresh = instance(&toml).await;
    until_caught_up(&fresh, Duration::from_secs(10)).await;
    for cookie in before.iter().chain([&after]) {
        assert_eq!(seen(&fresh, cookie).await, Seen::Revoked, "the fresh instance refuses it");
    }
    let valid = sign_in(&b, "a2").await;
    assert_eq!(seen(&fresh, &valid).await, Seen::Accepted, "and accepts the others");
    for server in [a, b, fresh] {
        server.stop().await;
    }
}

#[rocket::async_test]
async fn a_password_protected_cluster_is_reached_with_the_password_key_only() {
    const PASSWORD: &str = "cluster-hunter2-password";
    let cluster = RedisCluster::start_with(Some(PASSWORD));
    let toml = documented_toml(&cluster);
    // The password comes from its own key (the URLs have none); it reaches every node.
    let with_password = format!("{toml}password = \"{PASSWORD}\"\n");
    let a = instance(&with_password).await;
    let b = instance(&with_password).await;
    // Without it, an instance never catches up (and `refuse` withholds sessions).
    let without = instance(&toml).await;
    for server in [&a, &b] {
        until_caught_up(server, Duration::from_secs(10)).await;
    }
    let cookie = sign_in(&a, "p1").await;
    assert_eq!(revoke_on(&a, &cookie).await, StatusCode::OK);
    assert!(revoked_within(&b, &cookie, Duration::from_secs(2)).await.is_some());
    assert_eq!(stats_of(&without).await["caught_up"], json!(false));
    let other = sign_in(&a, "p2").await;
    assert_eq!(seen(&without, &other).await, Seen::Withheld);
    for server in [a, b, without] {
        server.stop().await;
    }
}

#[rocket::async_test]
async fn a_tls_cluster_behind_a_private_ca_is_reached_with_tls_ca_file() {
    // Every node speaks TLS only (clients, replication, cluster bus), its certificate from a CA
    // of this test's: the seed nodes are `rediss://`, and the nodes the client discovers from
    // them are reached over TLS too.
    let ca = TestCa::new("cluster-ca");
    let cluster = RedisCluster::start_tls(&ca);
    let toml = documented_toml(&cluster);
    assert!(toml.contains("\"rediss://127.0.0.1:"), "{toml}");
    let with_ca = format!("{toml}tls_ca_file = {:?}\n", ca.cert().display().to_string());
    let a = instance(&with_ca).await;
    let b = instance(&with_ca).await;
    // Without the CA, the public roots do not verify the nodes' certificates: never caught up.
    let without = instance(&toml).await;
    for server in [&a, &b] {
        until_caught_up(server, Duration::from_secs(10)).await;
    }
    revocations_flow_both_ways(&a, &b, "tls-user", 2, "TLS cluster").await;
    assert_eq!(stats_of(&without).await["caught_up"], json!(false));
    for server in [a, b, without] {
        server.stop().await;
    }
}

/// The configuration error of a `revocation` table, as launch reports it.
fn config_error(revocation: RevocationOptions) -> String {
    let options = SessionOptions {
        secrets: SECRET.into(),
        revocation: Some(revocation),
        ..SessionOptions::default()
    };
    format!("{:?}", options.validate().expect_err("refused"))
}

#[test]
fn cluster_nodes_with_url_or_sentinels_is_refused_naming_the_keys() {
    let nodes = vec!["redis://127.0.0.1:7000".to_string()];
    let error = config_error(RevocationOptions {
        url: "redis://:hunter2-password@127.0.0.1:6379".into(),
        cluster_nodes: nodes.clone(),
        ..RevocationOptions::default()
    });
    for key in ["`url`", "`sentinels`", "`cluster_nodes`", "revocation.cluster_nodes"] {
        assert!(error.contains(key), "{key}: {error}");
    }
    assert!(!error.contains("hunter2"), "{error}");
    let error = config_error(RevocationOptions {
        sentinels: vec!["redis://127.0.0.1:26379".into()],
        sentinel_master: Some("mymaster".into()),
        cluster_nodes: nodes.clone(),
        ..RevocationOptions::default()
    });
    assert!(error.contains("exactly one of"), "{error}");
    // Neither: the message names the three forms.
    let error = config_error(RevocationOptions::default());
    assert!(error.contains("cluster_nodes") && error.contains("sentinels"), "{error}");
    // Entries are checked, named by position, never quoted.
    let error = config_error(RevocationOptions {
        cluster_nodes: vec![
            "redis://:hunter2-password@127.0.0.1:7000".into(),
            "http://hunter2-password@x".into(),
            "redis://127.0.0.1:7001/3".into(),
        ],
        ..RevocationOptions::default()
    });
    assert!(error.contains("entry 2") && error.contains("entry 3"), "{error}");
    assert!(!error.contains("entry 1"), "{error}");
    assert!(!error.contains("hunter2"), "{error}");
    // TLS files need TLS nodes.
    let error = config_error(RevocationOptions {
        cluster_nodes: nodes,
        tls_ca_file: Some("/etc/ssl/ca.pem".into()),
        ..RevocationOptions::default()
    });
    assert!(error.contains("tls_ca_file"), "{error}");
    let fine = SessionOptions {
        secrets: SECRET.into(),
        revocation: Some(RevocationOptions {
            cluster_nodes: vec!["rediss://10.0.0.1:6380".into(), "rediss://10.0.0.2:6380".into()],
            tls_ca_file: Some("/etc/ssl/ca.pem".into()),
            ..RevocationOptions::default()
        }),
        ..SessionOptions::default()
    };
    assert!(fine.validate().is_ok());
}

#[test]
fn cluster_nodes_is_read_from_toml_and_printed_as_addresses_only() {
    let toml = "[debug.wristband_session.revocation]\n\
                cluster_nodes = [\"redis://app:hunter2-password@10.0.0.1:7000\", \
                \"redis://app:hunter2-password@10.0.0.2:7000\"]\n";
    let options: SessionOptions = figment(toml).extract_inner("wristband_session").unwrap();
    let revocation = options.revocation.as_ref().expect("the revocation table");
    assert_eq!(revocation.cluster_nodes.len(), 2);
    assert!(revocation.url.is_empty());
    options.validate().expect("valid");
    let debug = format!("{revocation:?}");
    assert!(debug.contains("10.0.0.1:7000") && debug.contains("10.0.0.2:7000"), "{debug}");
    let json = serde_json::to_string(revocation).unwrap();
    assert!(json.contains("\"cluster_nodes\":[\"10.0.0.1:7000\",\"10.0.0.2:7000\"]"), "{json}");
    for text in [debug, json] {
        assert!(!text.contains("hunter2") && !text.contains("app:"), "{text}");
    }
    // Both forms in one file: refused.
    let both = format!("{toml}url = \"redis://127.0.0.1:6379\"\n");
    let options: SessionOptions = figment(&both).extract_inner("wristband_session").unwrap();
    assert!(options.validate().is_err());
}

/// Refresh coordination over the cluster: parallel requests on two instances with one
/// expired session refresh once, and nobody is signed out.
#[cfg(feature = "fake-wristband")]
mod refresh {
    use super::*;
    use wristband_rocket_session::testing::{Endpoint, FakeWristband};
    use wristband_rocket_session::{SessionError, WristbandAuth};

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

    async fn instance(fake: &FakeWristband, cluster: &RedisCluster) -> Server {
        let session = SessionOptions {
            secrets: SECRET.into(),
            secure: false,
            revocation: Some(RevocationOptions {
                cluster_nodes: cluster.urls(),
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

    #[rocket::async_test]
    async fn parallel_requests_on_two_instances_refresh_once_over_a_cluster() {
        let cluster = RedisCluster::start();
        let fake = FakeWristband::start().await;
        fake.set_delay(Endpoint::Token, Duration::from_millis(150));
        let a = instance(&fake, &cluster).await;
        let b = instance(&fake, &cluster).await;
        let http = reqwest::Client::new();
        for round in 0..5 {
            let rt = fake.issue_refresh_token("u1", "t1");
            let resp = http.post(format!("{}/seed?rt={rt}", a.base)).send().await.unwrap();
            let cookie =
                resp.headers()[SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_string();
            let calls = fake.calls(Endpoint::Token);
            let mut tasks = Vec::new();
            for i in 0..8 {
                let base = if i % 2 == 0 { a.base.clone() } else { b.base.clone() };
                let (http, cookie) = (http.clone(), cookie.clone());
                tasks.push(rocket::tokio::spawn(async move {
                    let resp = http
                        .get(format!("{base}/token"))
                        .header(COOKIE, cookie)
                        .send()
                        .await
                        .unwrap();
                    let removes = resp.headers().get_all(SET_COOKIE).iter().any(|h| {
                        let h = h.to_str().unwrap();
                        h.starts_with("session=") && h.contains("Max-Age=0")
                    });
                    (resp.status(), resp.text().await.unwrap(), removes)
                }));
            }
            let mut answers = Vec::new();
            for task in tasks {
                answers.push(task.await.unwrap());
            }
            for (status, _, removes) in &answers {
                assert_eq!(*status, StatusCode::OK, "round {round}: {answers:?}");
                assert!(!removes, "round {round}: {answers:?}");
            }
            assert!(
                answers.iter().all(|x| x.1 == answers[0].1 && !x.1.is_empty()),
                "round {round}: one new token: {answers:?}"
            );
            assert_eq!(fake.calls(Endpoint::Token) - calls, 1, "round {round}: one token call");
        }
        a.stop().await;
        b.stop().await;
    }
}

//! Revocation propagation over each shape of Redis the crate supports (issue 25, item 5):
//!
//!   cargo bench --bench redis_shapes --features fake-wristband,redis
//!   SHAPES=tls,cluster cargo bench --bench redis_shapes --features fake-wristband,redis
//!
//! For each shape in `SHAPES` (comma separated; default `plain,tls,sentinel,cluster`), starts
//! the Redis of that shape on 127.0.0.1 with the test helpers of `tests/support/` (free ports,
//! temporary directories, everything killed and removed at the end of the shape):
//!
//! | shape | Redis | the instances' `revocation` table |
//! | --- | --- | --- |
//! | `plain` | one `redis-server` | `url = "redis://…"` |
//! | `tls` | one `redis-server` serving TLS, its certificate from a CA made with `openssl` at run time (`tests/support/tls.rs`; no key material is committed) | `url = "rediss://…"`, `tls_ca_file` |
//! | `sentinel` | a master, a replica and three sentinels (quorum 2) | `sentinels`, `sentinel_master` |
//! | `cluster` | six cluster nodes: three masters, one replica each | `cluster_nodes` (all six) |
//!
//! Then two instances (two Rockets in this process, each with its own Redis connections and
//! subscription; Rocket's local client) and `REVOCATIONS` times: a session is signed in on
//! instance A, instance B serves it (200), A revokes it (`Session::revoke`, which returns once
//! Redis has it), and B is asked for it again and again until it refuses it (401). Reported per
//! shape: the median and largest time of the revoke call on A, and of the whole propagation
//! (from just before the revoke call until B's first refusal), with the load average.
//!
//! Run without `--bench` (`cargo test --bench redis_shapes --features fake-wristband,redis`,
//! as CI does), it runs 2 revocations on `plain` and `tls` only unless `SHAPES` is set: the
//! sentinels take a few seconds to find each other, and the cluster to form.

#[macro_use]
extern crate rocket;

#[allow(dead_code)]
#[path = "../tests/support/cluster.rs"]
mod cluster;
#[allow(dead_code)]
#[path = "../tests/support/redis.rs"]
mod redis_server;
#[allow(dead_code)]
#[path = "../tests/support/sentinel.rs"]
mod sentinel;
// tls.rs allows dead code itself.
#[path = "../tests/support/tls.rs"]
mod tls;

use std::time::{Duration, Instant};

use rocket::http::{Cookie, Status};
use rocket::local::asynchronous::Client;
use wristband_rocket_session::testing::callback_data;
use wristband_rocket_session::{RevocationOptions, Session, SessionOptions, WristbandSession};

const REVOCATIONS: usize = 40;
const SECRET: &str = "shapes-bench-secret-0123456789-abcdefghij";
/// How long an instance may take to catch up with Redis, or a revocation to reach the other.
const WITHIN: Duration = Duration::from_secs(10);

#[post("/seed")]
fn seed(session: Session<'_>) -> Status {
    match session.from_callback(&callback_data("bench-user", "bench-tenant"), None) {
        Ok(()) => Status::NoContent,
        Err(_) => Status::InternalServerError,
    }
}

#[get("/read")]
fn read(session: Session<'_>) -> Result<String, Status> {
    if !session.is_authenticated() {
        return Err(Status::Unauthorized);
    }
    Ok(session.user_id().unwrap_or_default())
}

#[post("/revoke")]
async fn revoke(session: Session<'_>) -> Status {
    match session.revoke().await {
        Ok(()) => Status::NoContent,
        Err(_) => Status::ServiceUnavailable,
    }
}

/// A running Redis of one shape (dropped: stopped) and the `revocation` table that reaches it.
struct Shape {
    options: RevocationOptions,
    // Held until the shape is measured; the CA's directory must outlive the instances' launch.
    _servers: Box<dyn std::any::Any + Send>,
}

fn start(shape: &str) -> Shape {
    match shape {
        "plain" => {
            let redis = redis_server::RedisServer::start();
            let options = RevocationOptions { url: redis.url(), ..RevocationOptions::default() };
            Shape { options, _servers: Box::new(redis) }
        }
        "tls" => {
            let ca = tls::TestCa::new("shapes-bench-ca");
            let issued = ca.issue("redis");
            let tls_port = redis_server::RedisServer::free_port();
            let redis = redis_server::RedisServer::start_with(
                ca.redis_args(&issued, tls_port, false),
                Some(tls_port),
            );
            let options = RevocationOptions {
                url: redis.tls_url(),
                tls_ca_file: Some(ca.cert()),
                ..RevocationOptions::default()
            };
            // Dropped in this order: the server, then the CA's directory.
            Shape { options, _servers: Box::new((redis, ca)) }
        }
        "sentinel" => {
            let group = sentinel::SentinelCluster::start("shapesbench");
            let options = RevocationOptions {
                sentinels: group.sentinel_urls(),
                sentinel_master: Some(group.name().to_string()),
                ..RevocationOptions::default()
            };
            Shape { options, _servers: Box::new(group) }
        }
        "cluster" => {
            let cluster = cluster::RedisCluster::start();
            let options =
                RevocationOptions { cluster_nodes: cluster.urls(), ..RevocationOptions::default() };
            Shape { options, _servers: Box::new(cluster) }
        }
        other => panic!("unknown shape `{other}` in SHAPES: use plain, tls, sentinel, cluster"),
    }
}

async fn instance(revocation: &RevocationOptions) -> Client {
    let options = SessionOptions {
        secrets: SECRET.into(),
        revocation: Some(revocation.clone()),
        ..SessionOptions::default()
    };
    let figment = rocket::Config::figment().merge(("log_level", "off"));
    let rocket = rocket::custom(figment)
        .attach(WristbandSession::custom(options))
        .mount("/", routes![seed, read, revoke]);
    Client::untracked(rocket).await.expect("the instance launches")
}

async fn seeded(client: &Client) -> Cookie<'static> {
    let response = client.post("/seed").dispatch().await;
    assert_eq!(response.status(), Status::NoContent, "seeded");
    response.cookies().get("session").expect("a session cookie").clone().into_owned()
}

async fn read_status(client: &Client, cookie: &Cookie<'static>) -> Status {
    client.get("/read").cookie(cookie.clone()).dispatch().await.status()
}

/// Waits until `client` serves `cookie` (the instance has caught up with Redis).
async fn until_served(client: &Client, cookie: &Cookie<'static>) {
    let start = Instant::now();
    while read_status(client, cookie).await != Status::Ok {
        assert!(start.elapsed() < WITHIN, "the instance never caught up with Redis");
        rocket::tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn median(values: &[f64]) -> f64 {
    let mut values = values.to_vec();
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn largest(values: &[f64]) -> f64 {
    values.iter().cloned().fold(0.0, f64::max)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// One shape: its Redis, two instances, `revocations` revocations. The table row.
async fn measure(shape: &str, revocations: usize) -> String {
    let started = Instant::now();
    let running = start(shape);
    let ready = started.elapsed().as_secs_f64();
    let (a, b) = (instance(&running.options).await, instance(&running.options).await);
    let first = seeded(&a).await;
    until_served(&a, &first).await;
    until_served(&b, &first).await;
    let (mut calls, mut delays) = (Vec::new(), Vec::new());
    for _ in 0..revocations {
        let cookie = seeded(&a).await;
        assert_eq!(read_status(&b, &cookie).await, Status::Ok, "B serves the new session");
        let start = Instant::now();
        let status = a.post("/revoke").cookie(cookie.clone()).dispatch().await.status();
        let call = start.elapsed();
        assert_eq!(status, Status::NoContent, "the revocation reached Redis");
        while read_status(&b, &cookie).await != Status::Unauthorized {
            assert!(start.elapsed() < WITHIN, "the revocation never reached instance B");
        }
        delays.push(start.elapsed().as_secs_f64() * 1000.0);
        calls.push(call.as_secs_f64() * 1000.0);
    }
    println!(
        "{shape}: Redis ready in {ready:.1} s; {revocations} revocations: revoke call median \
         {:.2} ms (largest {:.2}), propagation median {:.2} ms (largest {:.2})",
        median(&calls),
        largest(&calls),
        median(&delays),
        largest(&delays)
    );
    drop((a, b));
    drop(running);
    format!(
        "| {shape} | {revocations} | {:.2} | {:.2} | {:.2} | {:.2} |",
        median(&calls),
        largest(&calls),
        median(&delays),
        largest(&delays)
    )
}

#[rocket::main]
async fn main() {
    // `cargo test --benches` runs bench targets once without `--bench`: keep it short.
    let quick = !std::env::args().any(|a| a == "--bench");
    let default_shapes = if quick { "plain,tls" } else { "plain,tls,sentinel,cluster" };
    let shapes = std::env::var("SHAPES")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| default_shapes.to_string());
    let revocations = if quick { 2 } else { REVOCATIONS };
    let load_start = loadavg();
    let mut rows = Vec::new();
    for shape in shapes.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        rows.push(measure(shape, revocations).await);
    }
    println!();
    println!("load average {load_start} at the start, {} at the end", loadavg());
    println!();
    println!(
        "| shape | revocations | revoke call median (ms) | largest (ms) | propagation median \
         (ms) | largest (ms) |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for row in rows {
        println!("{row}");
    }
}

//! What running a fleet costs, measured in one run (the numbers of `docs/scaling.md`):
//!
//!   cargo bench --bench fleet --features fake-wristband,redis
//!
//! Starts its own `redis-server` (a free port, no persistence, killed at the end) and a fake
//! Wristband, then:
//!
//! 1. **Fresh-token requests, refresh coordination on against off** (goal: on ≥ 0.99× off):
//!    two apps that differ only in `revocation.refresh_coordination`, `GET /token` through
//!    `AuthenticatedSession` with an access token that is not expired, in interleaved rounds of
//!    `REQUESTS` requests (ratio of the medians of the per-round rates). Redis' own command
//!    counters (`INFO commandstats`) are read before and after: the fresh path must send none
//!    of the refresh commands (`GET`, `SET`, `DEL`).
//! 2. **One refresh, coordinated against per process**: `REFRESHES` requests, each with a
//!    session whose access token has expired (a new refresh token each time), on the two apps
//!    alternately; the medians of the request times and the Redis commands per refresh.
//! 3. **Revocation propagation**: two instances on one Redis; a session revoked on one is
//!    polled on the other until refused; median and largest delay over `REVOCATIONS` tries.

#[macro_use]
extern crate rocket;

#[path = "../tests/support/redis.rs"]
mod redis_server;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rocket::http::{Cookie, Status};
use rocket::local::asynchronous::Client;
use wristband_rocket_session::testing::{callback_data, FakeWristband};
use wristband_rocket_session::{
    AuthenticatedSession, RevocationOptions, Session, SessionOptions, WristbandAuth,
    WristbandSession,
};

const REQUESTS: usize = 5_000;
const ROUNDS: usize = 7;
const REFRESHES: usize = 40;
const REVOCATIONS: usize = 40;
const SECRET: &str = "fleet-bench-secret-0123456789-abcdefghij";

/// Signs in with refresh token `rt`; `expired`: the access token expired a minute ago.
#[post("/seed?<rt>&<expired>")]
fn seed(session: Session<'_>, rt: &str, expired: bool) {
    let mut data = callback_data("bench-user", "bench-tenant");
    data.refresh_token = Some(rt.to_string());
    let now_ms = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    data.expires_at = if expired { now_ms - 60_000 } else { now_ms + 86_400_000 };
    session.from_callback(&data, None).unwrap();
}

#[get("/token")]
fn token(session: AuthenticatedSession<'_>) -> String {
    session.user_id()
}

#[post("/revoke")]
async fn revoke(session: Session<'_>) -> Status {
    match session.revoke().await {
        Ok(()) => Status::NoContent,
        Err(_) => Status::ServiceUnavailable,
    }
}

async fn app(fake: &FakeWristband, redis_url: &str, coordinate: bool) -> Client {
    let options = SessionOptions {
        secrets: SECRET.into(),
        revocation: Some(RevocationOptions {
            url: redis_url.into(),
            refresh_coordination: coordinate,
            ..RevocationOptions::default()
        }),
        ..SessionOptions::default()
    };
    let figment = rocket::Config::figment().merge(("log_level", "off"));
    let rocket = rocket::custom(figment)
        .attach(WristbandSession::custom(options))
        .attach(WristbandAuth::custom(fake.auth_options()))
        .mount("/", routes![seed, token, revoke]);
    Client::untracked(rocket).await.unwrap()
}

async fn seeded(client: &Client, fake: &FakeWristband, expired: bool) -> Cookie<'static> {
    let rt = fake.issue_refresh_token("bench-user", "bench-tenant");
    let response = client.post(format!("/seed?rt={rt}&expired={expired}")).dispatch().await;
    response.cookies().get("session").unwrap().clone().into_owned()
}

async fn round(client: &Client, cookie: &Cookie<'static>, requests: usize) -> f64 {
    let start = Instant::now();
    for _ in 0..requests {
        let response = client.get("/token").cookie(cookie.clone()).dispatch().await;
        assert_eq!(response.status(), Status::Ok);
    }
    requests as f64 / start.elapsed().as_secs_f64()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Redis' per-command call counters (`INFO commandstats`), by command name.
fn command_counts(redis: &redis_server::RedisServer) -> HashMap<String, u64> {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_connection().unwrap();
    let info: String = redis::cmd("INFO").arg("commandstats").query(&mut connection).unwrap();
    info.lines()
        .filter_map(|line| {
            let (name, rest) = line.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = rest.split(',').find_map(|kv| kv.strip_prefix("calls="))?;
            Some((name.to_string(), calls.parse().ok()?))
        })
        .collect()
}

fn refresh_commands(before: &HashMap<String, u64>, after: &HashMap<String, u64>) -> u64 {
    ["get", "set", "del", "multi", "exec"]
        .iter()
        .map(|c| after.get(*c).unwrap_or(&0) - before.get(*c).unwrap_or(&0))
        .sum()
}

#[rocket::main]
async fn main() {
    // `cargo test --benches` runs bench targets once without `--bench`: keep it short.
    let quick = !std::env::args().any(|a| a == "--bench");
    let (requests, rounds, refreshes, revocations) =
        if quick { (200, 1, 4, 4) } else { (REQUESTS, ROUNDS, REFRESHES, REVOCATIONS) };
    let redis = redis_server::RedisServer::start();
    let fake = FakeWristband::start().await;
    let on = app(&fake, &redis.url(), true).await;
    let off = app(&fake, &redis.url(), false).await;

    // 1. Fresh tokens: coordination on against off.
    let (on_cookie, off_cookie) =
        (seeded(&on, &fake, false).await, seeded(&off, &fake, false).await);
    round(&on, &on_cookie, requests).await;
    round(&off, &off_cookie, requests).await;
    let before = command_counts(&redis);
    let (mut on_rates, mut off_rates) = (Vec::new(), Vec::new());
    for i in 0..rounds {
        if i % 2 == 0 {
            off_rates.push(round(&off, &off_cookie, requests).await);
            on_rates.push(round(&on, &on_cookie, requests).await);
        } else {
            on_rates.push(round(&on, &on_cookie, requests).await);
            off_rates.push(round(&off, &off_cookie, requests).await);
        }
        println!("fresh round {}: off {:.0}/s, on {:.0}/s", i + 1, off_rates[i], on_rates[i]);
    }
    let fresh_commands = refresh_commands(&before, &command_counts(&redis));
    let (on_median, off_median) = (median(on_rates), median(off_rates));
    println!(
        "fresh GET /token, {requests} requests x {rounds} rounds: off {off_median:.0}/s, on \
         {on_median:.0}/s, on/off = {:.3}; Redis GET/SET/DEL/MULTI/EXEC sent meanwhile: \
         {fresh_commands}",
        on_median / off_median
    );
    assert_eq!(fresh_commands, 0, "the fresh-token path must not touch Redis");

    // 2. One refresh: coordinated against per process.
    let (mut on_times, mut off_times) = (Vec::new(), Vec::new());
    let mut coordinated_commands = 0;
    for i in 0..refreshes * 2 {
        let coordinated = i % 2 == 0;
        let client = if coordinated { &on } else { &off };
        let cookie = seeded(client, &fake, true).await;
        let before = command_counts(&redis);
        let start = Instant::now();
        let response = client.get("/token").cookie(cookie).dispatch().await;
        let took = start.elapsed().as_secs_f64() * 1000.0;
        assert_eq!(response.status(), Status::Ok, "the refresh succeeded");
        let commands = refresh_commands(&before, &command_counts(&redis));
        if coordinated {
            on_times.push(took);
            coordinated_commands += commands;
        } else {
            off_times.push(took);
        }
    }
    println!(
        "one refresh (fake Wristband on loopback): per process {:.2} ms, coordinated {:.2} ms \
         (medians of {refreshes}); Redis commands per coordinated refresh: {:.1}",
        median(off_times),
        median(on_times),
        coordinated_commands as f64 / refreshes as f64
    );

    // 3. Revocation propagation between two instances.
    let other = app(&fake, &redis.url(), true).await;
    let mut delays = Vec::new();
    for _ in 0..revocations {
        let cookie = seeded(&on, &fake, false).await;
        assert_eq!(
            other.get("/token").cookie(cookie.clone()).dispatch().await.status(),
            Status::Ok
        );
        let start = Instant::now();
        assert_eq!(
            on.post("/revoke").cookie(cookie.clone()).dispatch().await.status(),
            Status::NoContent
        );
        loop {
            let status = other.get("/token").cookie(cookie.clone()).dispatch().await.status();
            if status == Status::Unauthorized {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(5), "never propagated");
        }
        delays.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    let largest = delays.iter().cloned().fold(0.0, f64::max);
    println!(
        "revocation propagation, {revocations} revocations: median {:.2} ms, largest {largest:.2} \
         ms (revoke on one instance until the other refuses the cookie)",
        median(delays)
    );
}

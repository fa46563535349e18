//! The read-only route with revocation on against off, in the same run (goal: on ≥ 0.97× off).
//!
//!   cargo bench --bench revocation --features redis
//!
//! Starts its own `redis-server` (Debian's package; a free port, no persistence, killed at the
//! end), builds two apps that differ only in the `revocation` table, signs a user in on each
//! (so the cookie carries `sessionId` with revocation on) and dispatches `GET /read` through
//! Rocket's local client in interleaved rounds: each round times `REQUESTS` requests on one
//! app, then on the other, and the medians of the per-round rates are compared. The cookie is
//! the same on every request, so both apps serve it from the open cache after the first; with
//! revocation on each request adds the in-memory check (one read lock, two hash look-ups).

#[macro_use]
extern crate rocket;

#[path = "../tests/support/redis.rs"]
mod redis_server;

use std::time::Instant;

use rocket::http::Cookie;
use rocket::local::asynchronous::Client;
use wristband_rocket_session::testing::callback_data;
use wristband_rocket_session::{RevocationOptions, Session, SessionOptions, WristbandSession};

const REQUESTS: usize = 20_000;
const ROUNDS: usize = 7;

#[post("/login")]
fn login(session: Session<'_>) {
    session.from_callback(&callback_data("bench-user", "bench-tenant"), None).unwrap();
}

#[get("/read")]
fn read(session: Session<'_>) -> Option<String> {
    session.user_id()
}

async fn app(revocation: Option<RevocationOptions>) -> (Client, Cookie<'static>) {
    let options = SessionOptions {
        secrets: "revocation-bench-secret-0123456789-abcdef".into(),
        revocation,
        ..SessionOptions::default()
    };
    let figment = rocket::Config::figment().merge(("log_level", "off"));
    let rocket = rocket::custom(figment)
        .attach(WristbandSession::custom(options))
        .mount("/", routes![login, read]);
    let client = Client::untracked(rocket).await.unwrap();
    let cookie = client.post("/login").dispatch().await.cookies().get("session").unwrap().clone();
    (client, cookie.into_owned())
}

async fn round(client: &Client, cookie: &Cookie<'static>) -> f64 {
    let start = Instant::now();
    for _ in 0..REQUESTS {
        let response = client.get("/read").cookie(cookie.clone()).dispatch().await;
        assert_eq!(response.into_string().await.as_deref(), Some("bench-user"));
    }
    REQUESTS as f64 / start.elapsed().as_secs_f64()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[rocket::main]
async fn main() {
    // `cargo test --benches` runs bench targets once with `--bench`-less arguments: keep it short.
    let quick = !std::env::args().any(|a| a == "--bench");
    let redis = redis_server::RedisServer::start();
    let (off, off_cookie) = app(None).await;
    let on_options = RevocationOptions { url: redis.url(), ..RevocationOptions::default() };
    let (on, on_cookie) = app(Some(on_options)).await;
    let rounds = if quick { 1 } else { ROUNDS };
    let (mut off_rates, mut on_rates) = (Vec::new(), Vec::new());
    // One warm-up round each, not counted.
    round(&off, &off_cookie).await;
    round(&on, &on_cookie).await;
    for i in 0..rounds {
        // Alternate which goes first.
        if i % 2 == 0 {
            off_rates.push(round(&off, &off_cookie).await);
            on_rates.push(round(&on, &on_cookie).await);
        } else {
            on_rates.push(round(&on, &on_cookie).await);
            off_rates.push(round(&off, &off_cookie).await);
        }
        println!("round {}: off {:.0}/s, on {:.0}/s", i + 1, off_rates[i], on_rates[i]);
    }
    let (off_median, on_median) = (median(off_rates), median(on_rates));
    println!(
        "GET /read, {REQUESTS} requests x {rounds} rounds: off {off_median:.0}/s, on \
         {on_median:.0}/s, on/off = {:.3}",
        on_median / off_median
    );
}

//! What the crate adds to a request, against the same route without it, in process (issue 19):
//! five pairs, each measured in many short interleaved batches so that a change in the
//! machine's load lands on both sides of a round alike.
//!
//!   cargo bench --bench overhead --features fake-wristband,redis
//!
//! | pair | target | baseline | goal |
//! | --- | --- | --- | --- |
//! | P1 | `GET /read` (`Session`: `is_authenticated`, `user_id`; open-cache hit) | `GET /read` answering the same text on an app without the fairing, same `Cookie` | ≥ 0.97 |
//! | P2 | the same `/read` with the `revocation` table set (Redis) | the same `/read` without it | ≥ 0.98 |
//! | P3 | `GET /me` (`AuthenticatedSession`) with `WristbandAuth` attached, fresh token | the same `/me` with sessions only | ≥ 0.99 |
//! | P4 | `GET /jwt` (`WristbandJwt`, token remembered) | `GET /jwt` unguarded on the same app otherwise, same `Authorization` | ≥ 0.97 |
//! | P5 | `GET /hello` with every fairing attached (session, auth, revocation) | `GET /hello` with none | ≥ 0.99 |
//!
//! Every app mounts its GET routes in the same order, with a plain stand-in (the same answer,
//! no guard) where it lacks what a route needs, so that routing costs both sides the same.
//!
//! Each round times `BATCH` requests on one side and `BATCH` on the other (the first side
//! alternating by round) through Rocket's local client, and gives the ratio of the two rates;
//! printed per pair: the median of the per-round ratios with its quartiles, and the ratio of
//! the sides' median rates. Every response is checked (status and body). A real
//! `redis-server` (started here on a free port) and an in-process `FakeWristband` serve the
//! revocation and JWKS sides. See `docs/benchmarks.md`.

#[macro_use]
extern crate rocket;

#[path = "../tests/support/redis.rs"]
mod redis_server;

use std::time::Instant;

use rocket::http::{Cookie, Header, Status};
use rocket::local::asynchronous::{Client, LocalRequest};
use rocket::{Build, Rocket};
use wristband_rocket_session::testing::{callback_data, FakeWristband};
use wristband_rocket_session::{
    AuthenticatedSession, RevocationOptions, Session, SessionOptions, WristbandAuth, WristbandJwt,
    WristbandSession,
};

const SECRET: &str = "overhead-bench-secret-0123456789-abcdefgh";
/// Requests per side and round.
const BATCH: usize = 400;
/// Rounds per pair (odd, for a plain median).
const ROUNDS: usize = 151;

#[post("/login")]
fn login(session: Session<'_>) {
    session.from_callback(&callback_data("bench-user", "bench-tenant"), None).unwrap();
}

#[get("/read")]
fn read(session: Session<'_>) -> Option<String> {
    if !session.is_authenticated() {
        return None;
    }
    session.user_id()
}

#[get("/me")]
fn me(session: AuthenticatedSession<'_>) -> String {
    session.user_id()
}

#[get("/hello")]
fn hello() -> &'static str {
    "bench-user"
}

#[get("/jwt")]
fn jwt(_jwt: WristbandJwt<'_>) -> &'static str {
    "bench-user"
}

/// `/read` and `/me` of the apps without the session layer, and `/jwt` of the one without the
/// guard: the same answer at the same place in the route table, so that routing costs both
/// sides of a pair the same.
#[get("/read")]
fn read_plain() -> &'static str {
    "bench-user"
}

#[get("/me")]
fn me_plain() -> &'static str {
    "bench-user"
}

#[get("/jwt")]
fn jwt_plain() -> &'static str {
    "bench-user"
}

fn options(revocation: Option<RevocationOptions>) -> SessionOptions {
    SessionOptions {
        secrets: SECRET.into(),
        // No re-issue during the run: `/me` stays read-only on both sides.
        renew_after: 3000,
        revocation,
        ..SessionOptions::default()
    }
}

fn base() -> Rocket<Build> {
    rocket::custom(rocket::Config::figment().merge(("log_level", "off")))
}

async fn client(rocket: Rocket<Build>) -> Client {
    Client::untracked(rocket).await.expect("the bench app launches")
}

/// One side of a pair: an app, a path, and what every request carries.
struct Side<'a> {
    client: &'a Client,
    path: &'static str,
    cookie: Option<&'a Cookie<'static>>,
    header: Option<&'a Header<'static>>,
}

impl Side<'_> {
    fn request(&self) -> LocalRequest<'_> {
        let mut request = self.client.get(self.path);
        if let Some(cookie) = self.cookie {
            request = request.cookie(cookie.clone());
        }
        if let Some(header) = self.header {
            request = request.header(header.clone());
        }
        request
    }

    /// Requests per second over `n` requests; every answer must be `200 bench-user` with no
    /// cookie written.
    async fn rate(&self, n: usize) -> f64 {
        let start = Instant::now();
        for _ in 0..n {
            let response = self.request().dispatch().await;
            assert_eq!(response.status(), Status::Ok, "{}", self.path);
            assert!(response.headers().get_one("Set-Cookie").is_none(), "{}", self.path);
            assert_eq!(response.into_string().await.as_deref(), Some("bench-user"));
        }
        n as f64 / start.elapsed().as_secs_f64()
    }
}

fn quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// Measures `target / baseline` in `rounds` interleaved rounds and prints the result.
async fn pair(name: &str, goal: f64, target: Side<'_>, baseline: Side<'_>, rounds: usize) {
    let batch = if rounds > 1 { BATCH } else { 20 };
    // Warm-up (fills the open cache and the verified-token cache), not counted.
    target.rate(batch).await;
    baseline.rate(batch).await;
    let (mut t_rates, mut b_rates, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..rounds {
        let (t, b) = if i % 2 == 0 {
            let t = target.rate(batch).await;
            (t, baseline.rate(batch).await)
        } else {
            let b = baseline.rate(batch).await;
            (target.rate(batch).await, b)
        };
        t_rates.push(t);
        b_rates.push(b);
        ratios.push(t / b);
    }
    println!(
        "{name}: {} {} vs {} {}: per-round ratio median {:.3} (p25 {:.3}, p75 {:.3}); median \
         rates {:.0}/s vs {:.0}/s, ratio of medians {:.3} (goal >= {goal}; {rounds} rounds of \
         {batch} requests per side)",
        target.path,
        target.cookie.map_or("", |_| "+cookie"),
        baseline.path,
        baseline.cookie.map_or("", |_| "+cookie"),
        quantile(&ratios, 0.5),
        quantile(&ratios, 0.25),
        quantile(&ratios, 0.75),
        quantile(&t_rates, 0.5),
        quantile(&b_rates, 0.5),
        quantile(&t_rates, 0.5) / quantile(&b_rates, 0.5),
    );
}

#[rocket::main]
async fn main() {
    // `cargo test --benches` runs bench targets once without `--bench`: keep it short.
    let quick = !std::env::args().any(|a| a == "--bench");
    let rounds = if quick { 1 } else { ROUNDS };
    println!("load average at the start: {}", std::fs::read_to_string("/proc/loadavg").unwrap());

    let redis = redis_server::RedisServer::start();
    let revocation =
        || Some(RevocationOptions { url: redis.url(), ..RevocationOptions::default() });
    let fake = FakeWristband::start().await;

    // Every app's GET routes in the same order (`/hello`, `/read`, `/me`, `/jwt`), with
    // `*_plain` stand-ins where the app lacks what the route needs.
    let plain = client(base().mount("/", routes![hello, read_plain, me_plain, jwt_plain])).await;
    let sessions = client(
        base()
            .attach(WristbandSession::custom(options(None)))
            .mount("/", routes![login, hello, read, me, jwt_plain]),
    )
    .await;
    let revoked = client(
        base()
            .attach(WristbandSession::custom(options(revocation())))
            .mount("/", routes![login, hello, read, me, jwt_plain]),
    )
    .await;
    let with_auth = client(
        base()
            .attach(WristbandSession::custom(options(None)))
            .attach(WristbandAuth::custom(fake.auth_options()))
            .mount("/", routes![hello, read, me, jwt]),
    )
    .await;
    let unguarded = client(
        base()
            .attach(WristbandSession::custom(options(None)))
            .attach(WristbandAuth::custom(fake.auth_options()))
            .mount("/", routes![hello, read, me, jwt_plain]),
    )
    .await;
    let everything = client(
        base()
            .attach(WristbandSession::custom(options(revocation())))
            .attach(WristbandAuth::custom(fake.auth_options()))
            .mount("/", routes![hello, read, me, jwt]),
    )
    .await;

    // A session written with revocation on (it carries `sessionId`); the secret is the same
    // everywhere, so it opens on every app.
    let response = revoked.post("/login").dispatch().await;
    let cookie = response.cookies().get("session").expect("a login cookie").clone().into_owned();
    let token = fake.issue_access_token("bench-user", "bench-tenant", 86_400);
    let bearer = Header::new("Authorization", format!("Bearer {token}"));

    let side = |client, path, cookie, header| Side { client, path, cookie, header };
    pair(
        "P1",
        0.97,
        side(&sessions, "/read", Some(&cookie), None),
        side(&plain, "/read", Some(&cookie), None),
        rounds,
    )
    .await;
    pair(
        "P2",
        0.98,
        side(&revoked, "/read", Some(&cookie), None),
        side(&sessions, "/read", Some(&cookie), None),
        rounds,
    )
    .await;
    pair(
        "P3",
        0.99,
        side(&with_auth, "/me", Some(&cookie), None),
        side(&sessions, "/me", Some(&cookie), None),
        rounds,
    )
    .await;
    pair(
        "P4",
        0.97,
        side(&with_auth, "/jwt", None, Some(&bearer)),
        side(&unguarded, "/jwt", None, Some(&bearer)),
        rounds,
    )
    .await;
    pair(
        "P5",
        0.99,
        side(&everything, "/hello", None, None),
        side(&plain, "/hello", None, None),
        rounds,
    )
    .await;
    println!("load average at the end: {}", std::fs::read_to_string("/proc/loadavg").unwrap());
}

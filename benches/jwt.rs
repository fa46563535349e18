//! `WristbandJwt`'s check against jsonwebtoken's bare `decode` on the same token (goal: at
//! most 1.10× the time).
//!
//! The guard is only reachable through a request, so both sides go through one Rocket app and
//! `rocket::local::blocking::Client` (one GET each, same `Authorization` header, same `ok` body):
//!
//! - `guard`: `/a` takes `WristbandJwt` (state lookup, `Authorization` parsing,
//!   `decode_header`, JWKS cache lookup under an `RwLock`, a `Validation` built per request,
//!   `decode`, the `sub` / `tnt_id` checks);
//! - `bare`: `/b` takes a guard of this file that reads the `Authorization` header, strips
//!   `Bearer ` and calls `jsonwebtoken::decode::<Map<String, Value>>` with a `DecodingKey` built
//!   once from the fake's JWKS and a `Validation` built once like the crate's (RS256, issuer,
//!   leeway 60, `nbf`, no `aud`, required `exp`, `iss`, `sub`).
//!
//! The dispatch is the same, so `guard / bare` isolates the guard's extra work. For the record
//! also: `dispatch` (`/c`, no guard: what Rocket's local dispatch costs alone) and
//! `decode_alone` (the bare decode, no Rocket: the absolute cost of the RS256 check).
//!
//! A `FakeWristband` (crate feature `fake-wristband`) serves the JWKS on 127.0.0.1; the guard
//! fetches it on the first request (a warm-up request, before any timing), then serves it from
//! its cache.
//!
//! After criterion's runs, `cargo bench` also measures `guard / bare` *interleaved*
//! (alternating ~1 ms batches, the ratio per round, quartiles printed as `ratio` lines); set
//! `JWT_INTERLEAVED=0` to skip it. `JWT_PROFILE=<guard|bare|dispatch|decode_alone>
//! JWT_PROFILE_ITERS=<n>` runs exactly `n` iterations of one body and exits (for callgrind).
//! See `docs/benchmarks.md`.
//!
//! All of the above send the same token on every request, and the crate remembers tokens that
//! verified twice (a bounded cache keyed by the whole token): after the warm-up, `guard` measures a
//! cache *hit*, with no RSA check. The *miss* path is measured apart, after the interleaved
//! pass above (same `JWT_INTERLEAVED=0` to skip):
//!
//! - `miss guard/bare`: the same interleaved scheme, but every request carries a token that
//!   was never sent before, so on `/a` the verified-token cache misses every time and the full
//!   check runs (`decode_header`, the key lookup, the RS256 `decode`, the claim checks, and
//!   noting the token's fingerprint: a token is remembered at its second verification). `/b`
//!   also gets a fresh token each time, from its own part of the pool (its cost does not
//!   depend on the token; this keeps the two sides alike). The tokens
//!   are signed before any timing by the fake (`issue_access_token("u<i>", "t", 3600)`: a
//!   distinct `sub` each), [`MISS_ROUNDS`] rounds of a batch chosen like the hit pass's
//!   (about 1 ms of `/a` misses, at most [`MISS_MAX_BATCH`] requests), and the pool is sized
//!   by counting: `rounds × batch` tokens per side; taking a token from an empty pool panics.
//!   The signing time is printed. A first request with a fresh token must answer 200 on both
//!   routes. Tokens sent once never enter the verified-token cache, so no miss evicts.
//! - `JWT_PROFILE=guard_miss JWT_PROFILE_ITERS=<n>`: `n` `/a` requests, each with a fresh
//!   token, all signed before the loop. Subtracting a 0-iteration run does not isolate the
//!   loop here (the `n` signatures are set-up too, and the fake's RSA key generation at start
//!   varies from run to run by hundreds of millions of instructions); count only the loop's
//!   iterations instead, for this side and the one it is compared with:
//!   `valgrind --tool=callgrind --toggle-collect='jwt::profile_loop::{{closure}}' <bench binary>`
//!   (the binary that `cargo bench --no-run` names), divided by `n`.
//!
//! Under `cargo test` the miss pass still runs, as a smoke test: a handful of tokens (the
//! 200 check, then [`SMOKE_MISS_ROUNDS`] rounds of one request per side).
//!
//! ```sh
//! cargo bench --features fake-wristband --bench jwt
//! cargo test --features fake-wristband --bench jwt    # one pass of each body, as a smoke test
//! ```

use std::convert::Infallible;
use std::hint::black_box;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
use rocket::http::{Header, Status};
use rocket::local::blocking::Client;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::{get, routes};
use serde_json::{Map, Value};
use wristband_rocket_session::testing::FakeWristband;
use wristband_rocket_session::{SessionOptions, WristbandAuth, WristbandJwt, WristbandSession};

const SESSION_SECRET: &str = "bench-jwt-session-secret-0123456789abcdef";

/// The bare side's key and validation, built once.
struct Bare {
    key: DecodingKey,
    validation: Validation,
}

static BARE: OnceLock<Bare> = OnceLock::new();

/// The bare side: the `Authorization` header, `Bearer ` stripped, `decode` with [`BARE`].
struct BareJwt;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for BareJwt {
    type Error = Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let bare = BARE.get().expect("set before the client starts");
        let token = req.headers().get_one("Authorization").and_then(|v| v.strip_prefix("Bearer "));
        match token.map(|t| decode::<Map<String, Value>>(t, &bare.key, &bare.validation)) {
            Some(Ok(_)) => Outcome::Success(BareJwt),
            _ => Outcome::Forward(Status::Unauthorized),
        }
    }
}

#[get("/a")]
fn guarded(_jwt: WristbandJwt<'_>) -> &'static str {
    "ok"
}

#[get("/b")]
fn bare(_jwt: BareJwt) -> &'static str {
    "ok"
}

#[get("/c")]
fn dispatch_only() -> &'static str {
    "ok"
}

/// The fake, the client, the `Authorization` value and the token; the runtime the fake runs on.
struct Setup {
    _runtime: rocket::tokio::runtime::Runtime,
    fake: FakeWristband,
    client: Client,
    authorization: String,
    token: String,
}

fn setup() -> Setup {
    let runtime = rocket::tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime for the fake");
    let fake = runtime.block_on(FakeWristband::start());
    let token = fake.issue_access_token("u", "t", 86_400);
    let jwks_url = format!("{}/api/v1/oauth2/jwks", fake.base_url());
    let jwks: JwkSet = runtime.block_on(async {
        reqwest::get(jwks_url).await.expect("JWKS").json().await.expect("JWKS JSON")
    });
    let jwk = jwks.find(&fake.current_kid()).expect("the signing key is published");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.leeway = 60;
    validation.validate_nbf = true;
    validation.validate_aud = false;
    validation.set_issuer(&[fake.base_url()]);
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    let key = DecodingKey::from_jwk(jwk).expect("an RSA key");
    if BARE.set(Bare { key, validation }).is_err() {
        panic!("setup runs once");
    }

    let session = SessionOptions {
        secrets: SESSION_SECRET.into(),
        secure: false,
        ..SessionOptions::default()
    };
    let figment = rocket::Config::figment().merge(("log_level", "off"));
    let rocket = rocket::custom(figment)
        .attach(WristbandSession::custom(session))
        .attach(WristbandAuth::custom(fake.auth_options()))
        .mount("/", routes![guarded, bare, dispatch_only]);
    let client = Client::untracked(rocket).expect("valid app");
    let authorization = format!("Bearer {token}");
    let setup = Setup { _runtime: runtime, fake, client, authorization, token };
    // Warm-up: the guard fetches the JWKS now; every side answers 200 `ok`.
    for path in ["/a", "/b", "/c"] {
        assert_eq!(get(&setup, path), "ok", "{path}");
    }
    setup
}

/// One GET of `path` with the token; the body (`ok` for a 200).
fn get(setup: &Setup, path: &str) -> String {
    get_with(setup, path, setup.authorization.clone())
}

/// One GET of `path` with this `Authorization` value; the body (`ok` for a 200).
fn get_with(setup: &Setup, path: &str, authorization: String) -> String {
    let response =
        setup.client.get(path).header(Header::new("Authorization", authorization)).dispatch();
    assert_eq!(response.status(), Status::Ok, "{path}");
    response.into_string().unwrap_or_default()
}

/// `count` distinct `Authorization: Bearer` values, each an access token that was never sent
/// (`sub` = `u<first + i>`), in the order they are to be sent.
fn fresh_tokens(setup: &Setup, first: usize, count: usize) -> std::vec::IntoIter<String> {
    let tokens: Vec<String> = (first..first + count)
        .map(|i| format!("Bearer {}", setup.fake.issue_access_token(&format!("u{i}"), "t", 3600)))
        .collect();
    tokens.into_iter()
}

/// Signs tokens for the miss measurement: hands them out once each, never the same twice, and
/// counts how many it signed and how long that took.
struct TokenMint<'s> {
    setup: &'s Setup,
    next_sub: usize,
    signed: usize,
    signing: Duration,
}

impl<'s> TokenMint<'s> {
    fn new(setup: &'s Setup) -> Self {
        // `sub`s `u0`, `u1`, ... are not the warm-up's `u`, so none was ever sent.
        TokenMint { setup, next_sub: 0, signed: 0, signing: Duration::ZERO }
    }

    /// A pool of `count` fresh tokens, signed now (before any timing).
    fn pool(&mut self, count: usize) -> std::vec::IntoIter<String> {
        let start = Instant::now();
        let pool = fresh_tokens(self.setup, self.next_sub, count);
        self.signing += start.elapsed();
        self.next_sub += count;
        self.signed += count;
        pool
    }
}

/// The next token of a pool; a pool never runs out, by construction (sized by counting).
fn take(pool: &mut std::vec::IntoIter<String>) -> String {
    pool.next().expect("the miss pool is sized to the requests it serves")
}

fn decode_alone(setup: &Setup) {
    let bare = BARE.get().expect("set");
    let claims = decode::<Map<String, Value>>(black_box(&setup.token), &bare.key, &bare.validation)
        .expect("valid token");
    black_box(claims);
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
}

/// The setup, made on first use (everything runs on the main thread; the blocking client is not
/// `Sync`).
fn setup_once() -> &'static Setup {
    thread_local! {
        static SETUP: &'static Setup = Box::leak(Box::new(setup()));
    }
    SETUP.with(|s| *s)
}

fn jwt(c: &mut Criterion) {
    let setup = setup_once();
    let mut group = c.benchmark_group("jwt");
    group.bench_function("guard", |b| b.iter(|| black_box(get(setup, "/a"))));
    group.bench_function("bare", |b| b.iter(|| black_box(get(setup, "/b"))));
    group.bench_function("dispatch", |b| b.iter(|| black_box(get(setup, "/c"))));
    group.bench_function("decode_alone", |b| b.iter(|| decode_alone(setup)));
    group.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = jwt
}

/// Seconds that `n` calls of `f` take.
fn time(f: &mut impl FnMut(), n: u32) -> f64 {
    let start = Instant::now();
    (0..n).for_each(|_| f());
    start.elapsed().as_secs_f64()
}

/// The batch size for [`interleaved_batches`]: doubled from 1 until a batch of `a` takes about
/// 1 ms or reaches `max` (`a` runs `2 × batch - 1` times here).
fn batch_for(a: &mut impl FnMut(), max: u32) -> u32 {
    let mut batch = 1;
    while time(a, batch) < 1e-3 && batch < max {
        batch *= 2;
    }
    batch
}

/// Times `a` and `b` in alternating batches of about 1 ms each (`a` first in even rounds) and
/// returns the quartiles of the per-round ratios `time(a) / time(b)`.
fn interleaved(mut a: impl FnMut(), b: impl FnMut(), rounds: usize) -> [f64; 3] {
    let batch = batch_for(&mut a, 1 << 20);
    interleaved_batches(a, b, batch, rounds)
}

/// [`interleaved`] with a given batch size: `a` and `b` each run `rounds × batch` times.
fn interleaved_batches(
    mut a: impl FnMut(),
    mut b: impl FnMut(),
    batch: u32,
    rounds: usize,
) -> [f64; 3] {
    let mut ratios: Vec<f64> = (0..rounds)
        .map(|round| {
            if round % 2 == 0 {
                let ta = time(&mut a, batch);
                ta / time(&mut b, batch)
            } else {
                let tb = time(&mut b, batch);
                time(&mut a, batch) / tb
            }
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    [ratios[rounds / 4], ratios[rounds / 2], ratios[rounds * 3 / 4]]
}

fn interleaved_ratios() {
    const ROUNDS: usize = 401;
    let setup = setup_once();
    println!("\nInterleaved ratios (time of the first / time of the second, {ROUNDS} rounds):");
    let pairs: [(&str, &str, &str); 2] =
        [("guard/bare", "/a", "/b"), ("bare/dispatch", "/b", "/c")];
    for (name, first, second) in pairs {
        let [p25, median, p75] = interleaved(
            || drop(black_box(get(setup, first))),
            || drop(black_box(get(setup, second))),
            ROUNDS,
        );
        println!("ratio {name:<16} median {median:.3}  (p25 {p25:.3}, p75 {p75:.3})");
    }
}

/// Rounds of the interleaved miss pass under `cargo bench` (each one signs `2 × batch` tokens).
const MISS_ROUNDS: usize = 201;
/// The largest batch of the miss pass (a batch is about 1 ms of `/a` misses, fewer if slower).
const MISS_MAX_BATCH: u32 = 64;
/// Rounds of the miss pass under `cargo test` (batch 1: one request per side and round).
const SMOKE_MISS_ROUNDS: usize = 3;

/// `miss guard/bare`: `guard / bare` interleaved with a never-sent token on every request (see
/// the module docs); `rounds` rounds of at most `max_batch` requests per side.
fn miss_ratios(rounds: usize, max_batch: u32) {
    let setup = setup_once();
    let mut mint = TokenMint::new(setup);
    // A fresh token answers 200 on both routes (on `/a`, through the full check).
    let mut check = mint.pool(2);
    for path in ["/a", "/b"] {
        assert_eq!(get_with(setup, path, take(&mut check)), "ok", "fresh token on {path}");
    }
    // The batch: calibrated on `/a` misses, with their own tokens (`2 × max - 1` at most).
    let mut calibration = mint.pool(2 * max_batch as usize - 1);
    let batch = batch_for(
        &mut || drop(black_box(get_with(setup, "/a", take(&mut calibration)))),
        max_batch,
    );
    // Exactly what the pass sends: `rounds × batch` requests per side.
    let per_side = rounds * batch as usize;
    let mut guard_pool = mint.pool(per_side);
    let mut bare_pool = mint.pool(per_side);
    println!(
        "\nMiss pass: signed {} fresh tokens in {:.2} s ({:.2} ms each); batch {batch}, \
         {rounds} rounds, {per_side} requests per side",
        mint.signed,
        mint.signing.as_secs_f64(),
        mint.signing.as_secs_f64() * 1e3 / mint.signed as f64,
    );
    let [p25, median, p75] = interleaved_batches(
        || drop(black_box(get_with(setup, "/a", take(&mut guard_pool)))),
        || drop(black_box(get_with(setup, "/b", take(&mut bare_pool)))),
        batch,
        rounds,
    );
    assert_eq!((guard_pool.len(), bare_pool.len()), (0, 0), "every token sent once");
    let name = "miss guard/bare";
    println!("ratio {name:<16} median {median:.3}  (p25 {p25:.3}, p75 {p75:.3})");
}

/// `JWT_PROFILE=<side> JWT_PROFILE_ITERS=<n>`: exactly `n` iterations of one side, then exit.
fn profile_loop(side: &str, n: usize) {
    let setup = setup_once();
    // `guard_miss`: one fresh token per iteration, all signed here, before the loop.
    let mut pool = fresh_tokens(setup, 0, if side == "guard_miss" { n } else { 0 });
    let mut body: Box<dyn FnMut()> = match side {
        "guard" => Box::new(|| drop(black_box(get(setup, "/a")))),
        "guard_miss" => Box::new(|| drop(black_box(get_with(setup, "/a", take(&mut pool))))),
        "bare" => Box::new(|| drop(black_box(get(setup, "/b")))),
        "dispatch" => Box::new(|| drop(black_box(get(setup, "/c")))),
        "decode_alone" => Box::new(|| decode_alone(setup)),
        other => panic!("JWT_PROFILE: unknown side {other}"),
    };
    let start = Instant::now();
    (0..n).for_each(|_| body());
    let ns = start.elapsed().as_nanos() as f64 / n.max(1) as f64;
    println!("loop {side}: {n} iterations, {ns:.0} ns per iteration");
}

fn main() {
    if let Ok(side) = std::env::var("JWT_PROFILE") {
        let n = std::env::var("JWT_PROFILE_ITERS").ok().and_then(|n| n.parse().ok());
        profile_loop(&side, n.unwrap_or(1000));
        return;
    }
    benches();
    // The interleaved passes only under `cargo bench` (not `cargo test --bench jwt`, nor
    // criterion's `--profile-time`); under `cargo test`, a short miss pass.
    let args: Vec<String> = std::env::args().collect();
    let benching = args.iter().any(|a| a == "--bench");
    let profiling = args.iter().any(|a| a == "--profile-time");
    if benching && !profiling && std::env::var("JWT_INTERLEAVED").as_deref() != Ok("0") {
        interleaved_ratios();
        miss_ratios(MISS_ROUNDS, MISS_MAX_BATCH);
    } else if !benching && !profiling {
        // `cargo test --bench jwt`: the miss pass with a handful of tokens, as a smoke test.
        miss_ratios(SMOKE_MISS_ROUNDS, 1);
    }
    Criterion::default().configure_from_args().final_summary();
}

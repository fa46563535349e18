//! Memory, counted by an allocator (issue 19, item 6): `dhat`'s global allocator counts every
//! allocation of this process, so the numbers below are measured, not computed.
//!
//!   cargo bench --bench memory --features fake-wristband
//!
//! 1. **Allocations per request.** `GET /read` (a `Session` read, served from the open cache)
//!    against `GET /hello` (no session at all) on an app without the fairing, both with the
//!    same `Cookie` header, `REQUESTS` requests each through Rocket's local client: the blocks
//!    allocated per request. The goal is no allocation of ours on an open-cache hit, so the
//!    two should be equal.
//! 2. **The open cache at its budget (8 MiB).** Distinct sessions are read once each until the
//!    cache is full; the live heap before and after, per session read, in all and as a share
//!    of the budget. With `--bench`, a live heap above the budget fails the run.
//! 3. **The verified-token cache at its budget (4 MiB).** Distinct bearer tokens (signed before
//!    the baseline is taken) are checked twice each by `WristbandJwt` (a token is remembered at
//!    its second verification); the live heap before and after, in all and as a share of the
//!    budget. With `--bench`, a live heap above the budget fails the run.

#[macro_use]
extern crate rocket;

use rocket::http::{Cookie, Header};
use rocket::local::asynchronous::Client;
use wristband_rocket_session::testing::{callback_data, FakeWristband};
use wristband_rocket_session::{
    Session, SessionOptions, WristbandAuth, WristbandJwt, WristbandSession,
};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const SECRET: &str = "memory-bench-secret-0123456789-abcdefghij";
const REQUESTS: u64 = 2_000;
const MIB: f64 = 1_048_576.0;
/// The open cache's budget (`BUDGET_BYTES` in `src/session/open_cache.rs`), in MiB.
const OPEN_CACHE_BUDGET_MIB: f64 = 8.0;
/// The verified-token cache's budget (`VERIFIED_BUDGET_BYTES` in `src/auth/jwks.rs`), in MiB.
const VERIFIED_BUDGET_MIB: f64 = 4.0;

#[post("/login?<user>")]
fn login(session: Session<'_>, user: &str) {
    session.from_callback(&callback_data(user, "bench-tenant"), None).unwrap();
}

#[get("/read")]
fn read(session: Session<'_>) -> Option<String> {
    session.user_id()
}

#[get("/hello")]
fn hello() -> &'static str {
    "bench-user"
}

/// Request-local state of the plainest kind, for the Rocket-mechanisms baseline.
#[derive(Default)]
struct Local(std::sync::Mutex<u64>);

/// A request guard that does what any guard with request-local state does in Rocket: its
/// (boxed) `from_request` future and `Request::local_cache`.
struct LocalGuard;

#[rocket::async_trait]
impl<'r> rocket::request::FromRequest<'r> for LocalGuard {
    type Error = std::convert::Infallible;

    async fn from_request(
        req: &'r rocket::Request<'_>,
    ) -> rocket::request::Outcome<Self, Self::Error> {
        *req.local_cache(Local::default).0.lock().unwrap() += 1;
        rocket::request::Outcome::Success(LocalGuard)
    }
}

/// A response fairing that reads the request-local state, as any such fairing does (its
/// boxed `on_response` future and `Request::local_cache`).
struct LocalFairing;

#[rocket::async_trait]
impl rocket::fairing::Fairing for LocalFairing {
    fn info(&self) -> rocket::fairing::Info {
        rocket::fairing::Info { name: "local", kind: rocket::fairing::Kind::Response }
    }

    async fn on_response<'r>(&self, req: &'r rocket::Request<'_>, _: &mut rocket::Response<'r>) {
        let _ = *req.local_cache(Local::default).0.lock().unwrap();
    }
}

/// `/read` without the session: the same `Option<String>` answer, through a guard and a
/// response fairing that use request-local state (see `mechanisms`).
#[get("/read")]
fn read_without_us(_guard: LocalGuard) -> Option<String> {
    Some("bench-user".to_string())
}

#[get("/jwt")]
fn jwt(jwt: WristbandJwt<'_>) -> String {
    jwt.user_id()
}

fn stats() -> dhat::HeapStats {
    dhat::HeapStats::get()
}

fn session_options() -> SessionOptions {
    SessionOptions { secrets: SECRET.into(), ..SessionOptions::default() }
}

async fn quiet(rocket: rocket::Rocket<rocket::Build>) -> Client {
    Client::untracked(rocket).await.unwrap()
}

/// Blocks allocated per request of `GET uri` with `cookie`, after a warm-up.
async fn blocks_per_request(client: &Client, uri: &str, cookie: &Cookie<'static>, n: u64) -> f64 {
    for _ in 0..50 {
        client.get(uri.to_string()).cookie(cookie.clone()).dispatch().await;
    }
    let before = stats().total_blocks;
    for _ in 0..n {
        let response = client.get(uri.to_string()).cookie(cookie.clone()).dispatch().await;
        assert!(response.into_string().await.is_some_and(|body| body.contains("bench")));
    }
    (stats().total_blocks - before) as f64 / n as f64
}

#[rocket::main]
async fn main() {
    let _profiler = dhat::Profiler::builder().testing().build();
    // `cargo test --benches` runs bench targets once without `--bench`: keep it short.
    let quick = !std::env::args().any(|a| a == "--bench");
    let figment = || rocket::Config::figment().merge(("log_level", "off"));

    // 1. Allocations per request.
    let app = quiet(
        rocket::custom(figment())
            .attach(WristbandSession::custom(session_options()))
            .mount("/", routes![login, read]),
    )
    .await;
    let response = app.post("/login?user=bench-user").dispatch().await;
    let cookie = response.cookies().get("session").unwrap().clone().into_owned();
    let bare = quiet(rocket::custom(figment()).mount("/", routes![hello])).await;
    let n = if quick { 100 } else { REQUESTS };
    // The same route shape without the crate: a guard with request-local state, a response
    // fairing that reads it, a handler answering an owned `String` (what `user_id()` returns).
    let mechanisms =
        quiet(rocket::custom(figment()).attach(LocalFairing).mount("/", routes![read_without_us]))
            .await;
    let ours = blocks_per_request(&app, "/read", &cookie, n).await;
    let rocket_alone = blocks_per_request(&bare, "/hello", &cookie, n).await;
    let same_shape = blocks_per_request(&mechanisms, "/read", &cookie, n).await;
    println!(
        "allocations per request ({n} requests, same Cookie header): GET /read with the session \
         (open-cache hit) {ours:.2} blocks, GET /hello without the fairing {rocket_alone:.2} \
         blocks; ours {:+.2}",
        ours - rocket_alone
    );
    println!(
        "  the same route shape without the crate (a guard and a response fairing with \
         request-local state, an owned String answer): {same_shape:.2} blocks; ours beyond \
         Rocket's mechanisms {:+.2}",
        ours - same_shape
    );

    // 2. The open cache at its budget.
    let sessions = if quick { 50 } else { 12_000 };
    let mut cookies = Vec::with_capacity(sessions);
    for i in 0..sessions {
        let response = app.post(format!("/login?user=user-{i:06}")).dispatch().await;
        cookies.push(response.cookies().get("session").unwrap().clone().into_owned());
    }
    let before = stats().curr_bytes;
    for cookie in &cookies {
        app.get("/read").cookie(cookie.clone()).dispatch().await;
    }
    let grown = stats().curr_bytes as f64 - before as f64;
    println!(
        "open cache: {sessions} distinct sessions of {} bytes of cookie each read once: live heap \
         +{:.2} MiB, {:.1} % of the {OPEN_CACHE_BUDGET_MIB} MiB budget, {:.0} bytes per session \
         read",
        cookies[0].value().len(),
        grown / MIB,
        100.0 * grown / (OPEN_CACHE_BUDGET_MIB * MIB),
        grown / sessions as f64
    );
    assert!(quick || grown <= OPEN_CACHE_BUDGET_MIB * MIB, "the open cache outgrew its budget");
    drop(cookies);

    // 3. The verified-token cache at its budget.
    let fake = FakeWristband::start().await;
    let jwt_app = quiet(
        rocket::custom(figment())
            .attach(WristbandSession::custom(session_options()))
            .attach(WristbandAuth::custom(fake.auth_options()))
            .mount("/", routes![jwt]),
    )
    .await;
    let tokens_n = if quick { 20 } else { 6_000 };
    let tokens: Vec<String> =
        (0..tokens_n).map(|i| fake.issue_access_token(&format!("u{i}"), "t", 3600)).collect();
    // The JWKS is fetched by the first check; not counted.
    let first = Header::new("Authorization", format!("Bearer {}", tokens[0]));
    assert_eq!(jwt_app.get("/jwt").header(first).dispatch().await.status().code, 200);
    let before = stats().curr_bytes;
    for token in &tokens[1..] {
        for _ in 0..2 {
            let header = Header::new("Authorization", format!("Bearer {token}"));
            jwt_app.get("/jwt").header(header).dispatch().await;
        }
    }
    let grown = stats().curr_bytes as f64 - before as f64;
    println!(
        "verified-token cache: {} distinct tokens of {} bytes checked twice: live heap +{:.2} MiB, \
         {:.1} % of the {VERIFIED_BUDGET_MIB} MiB budget, {:.0} bytes per token",
        tokens_n - 1,
        tokens[0].len(),
        grown / MIB,
        100.0 * grown / (VERIFIED_BUDGET_MIB * MIB),
        grown / (tokens_n - 1) as f64
    );
    assert!(
        quick || grown <= VERIFIED_BUDGET_MIB * MIB,
        "the verified-token cache outgrew its budget"
    );
}

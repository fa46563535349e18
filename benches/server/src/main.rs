//! The Rocket side of the end-to-end benchmarks (`benches/e2e.sh`, `benches/jwt.sh`,
//! `benches/overhead.sh`, `docs/benchmarks.md`).
//!
//! ```sh
//! cargo build --release --manifest-path benches/server/Cargo.toml --target-dir target
//! target/release/bench_server session 18002   # the fairing attached
//! target/release/bench_server plain 18001     # no fairing: Rocket alone
//! target/release/bench_server session-auth 18003  # + WristbandAuth on a fake Wristband
//! target/release/bench_server jwt 18004       # WristbandJwt on /jwt, no guard on /noguard
//! REDIS_URL=redis://127.0.0.1:6379 target/release/bench_server session-revocation 18005
//! REDIS_URL=redis://127.0.0.1:6379 target/release/bench_server all 18006  # every fairing
//! target/release/bench_server jwt-noguard 18007  # the jwt mode's app, /jwt unguarded
//! REDIS_URL=redis://127.0.0.1:6379 target/release/bench_server pairs 18010  # 18010-18016
//! target/release/bench_server payload         # prints the session JSON and exits
//! target/release/bench_server payload-large   # the ~2.7 KB one (with custom fields)
//! ```
//!
//! The mode and port come from the arguments, or from `BENCH_MODE` and `BENCH_PORT`. The server
//! listens on 127.0.0.1 only, with logging off. The revocation modes (`session-revocation`,
//! `all`, `pairs`) find Redis through these variables (one of the first two, not both):
//!
//! | variable | what it sets | example |
//! | --- | --- | --- |
//! | `REDIS_URL` | `revocation.url`: one server, `redis://` or over TLS `rediss://` | `redis://127.0.0.1:6379`, `rediss://127.0.0.1:6380` |
//! | `REDIS_CLUSTER_NODES` | `revocation.cluster_nodes`: a Redis Cluster's seed nodes, comma separated | `redis://127.0.0.1:7000,redis://127.0.0.1:7001` |
//! | `REDIS_TLS_CA_FILE` | `revocation.tls_ca_file`: the PEM CA to trust for `rediss://` (unset: the public roots) | `/tmp/ca.crt` |
//!
//! ```sh
//! REDIS_URL=rediss://127.0.0.1:6380 REDIS_TLS_CA_FILE=/tmp/ca.crt \
//!     target/release/bench_server session-revocation 18005
//! REDIS_CLUSTER_NODES=redis://127.0.0.1:7000,redis://127.0.0.1:7001 \
//!     target/release/bench_server pairs 18010
//! ```
//!
//! | mode | route | what it does |
//! | --- | --- | --- |
//! | every mode but `payload*` | `/hello` | a plain string; in the session modes the fairings are attached but untouched |
//! | `session` | `/seed` | writes the ~1.1 KB Wristband-shaped session (gives the bench cookie) |
//! | `session` | `/read` | reads the session (`isAuthenticated`, `userId`): no cookie written |
//! | `plain` | `/read` | answers `hello`: `/hello` at `/read`'s place in the route table (the session modes mount `/read` second too) |
//! | `session` | `/write` | reads and increments a counter: the session is re-sealed |
//! | `session` | `/me` | `AuthenticatedSession` guard, answers `userId`: re-sealed only when the guard renews (`renew_after`) |
//! | `plain` | `/private/seed` | the same payload as JSON in a Rocket private cookie |
//! | `plain` | `/private` | the same read + write with `get_private` / `add_private` |
//! | `session-auth` | all of `session`'s | the same, with `WristbandAuth` attached to an in-process `FakeWristband`: `/me` also runs the token-refresh check |
//! | `session-auth` | `/seed` | the same session, but `expiresAt` a year from now: `/me`'s refresh check runs and does not fire |
//! | `session-revocation` | all of `session`'s | the same, with revocation on (`SessionOptions.revocation`, Redis at `REDIS_URL` or `REDIS_CLUSTER_NODES`, required): every opened session is checked against the revocations held in memory, and `/seed` writes a session with a `sessionId` |
//! | `all` | all of `session-auth`'s | every fairing at once: sessions with revocation (`REDIS_URL` or `REDIS_CLUSTER_NODES`) and `WristbandAuth` on an in-process `FakeWristband`; `/hello` is the "untouched route, everything attached" target |
//! | `jwt` | `/jwt` | `WristbandJwt` guard (RS256 against the fake's JWKS, cached after the first request), answers `ok` |
//! | `jwt` | `/noguard` | no guard, answers `ok` (the baseline for `/jwt`, same headers) |
//! | `jwt` | `/token` | a fresh access token from the fake (`sub` `u`, `tnt_id` `t`, valid 24 h) |
//! | `jwt-noguard` | `/jwt` | the `jwt` mode's app (same fairings, same place in the route table) with `/jwt` unguarded: answers `ok` |
//! | `pairs` | all of the above | the modes `plain`, `session`, `session-revocation`, `session-auth`, `all`, `jwt` and `jwt-noguard` in one process, on the given port and the six after it (`REDIS_URL` or `REDIS_CLUSTER_NODES` required) |
//!
//! The `jwt`, `jwt-noguard`, `session-auth` and `all` modes start a `FakeWristband` (crate feature
//! `fake-wristband`) on another port of 127.0.0.1 in the same process; it serves the JWKS and the
//! SDK configuration. The `session-revocation` and `all` modes need a Redis (crate feature
//! `redis`) at `REDIS_URL` or `REDIS_CLUSTER_NODES` and refuse to start without one.

#[macro_use]
extern crate rocket;

use rocket::http::{Cookie, CookieJar, Status};
use rocket::{Build, Rocket, State};
use serde_json::{Map, Value};
use wristband_rocket_session::testing::FakeWristband;
use wristband_rocket_session::{
    AuthenticatedSession, RevocationOptions, Session, SessionOptions, WristbandAuth, WristbandJwt,
    WristbandSession,
};

#[path = "../../support/payload.rs"]
mod payload;

/// The private cookie's name (another name than the session's, so the modes never mix).
const PRIVATE_COOKIE: &str = "private_session";
/// A fixed secret: every run seals with the same key, so cookies stay valid across restarts.
const SESSION_SECRET: &str = "bench-server-session-secret-0123456789abcdef";
/// Rocket's own secret key (for private cookies): 32 bytes, hex.
const ROCKET_SECRET_KEY: &str = "8f3b1e6a0c4d7f2a9e5b3c1d0f8a6e4b2c9d7f5a3e1b0c8d6f4a2e9b7c5d3f1a";

#[get("/hello")]
fn hello() -> &'static str {
    "hello"
}

/// Writes the Wristband-shaped session the benchmark then presents on every request.
#[get("/seed")]
fn seed(session: Session<'_>) -> Result<&'static str, Status> {
    session.clear();
    for (key, value) in payload::wristband_session() {
        session.insert(&key, value).map_err(|_| Status::InternalServerError)?;
    }
    Ok("seeded")
}

/// `/seed` of the `session-auth` mode: the same session, with `expiresAt` a year from now, so
/// `/me`'s refresh check (`WristbandAuth` attached) finds a refresh token and a live access
/// token, and does not refresh.
#[get("/seed")]
fn seed_fresh(session: Session<'_>) -> Result<&'static str, Status> {
    session.clear();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| Status::InternalServerError)?
        .as_millis();
    let expires_at =
        i64::try_from(now_ms).map_err(|_| Status::InternalServerError)? + 365 * 24 * 3_600_000;
    for (key, value) in payload::wristband_session() {
        let value = if key == "expiresAt" { Value::from(expires_at) } else { value };
        session.insert(&key, value).map_err(|_| Status::InternalServerError)?;
    }
    Ok("seeded")
}

/// `/read` of the `plain` mode: `/hello` at the place of the session modes' `/read` in the
/// route table, so that a request to it is routed exactly as one to theirs: `/read`'s
/// baseline (P1).
#[get("/read")]
fn read_plain() -> &'static str {
    "hello"
}

/// Read-only use: opens the cookie, writes nothing.
#[get("/read")]
fn read(session: Session<'_>) -> Result<String, Status> {
    if !session.is_authenticated() {
        return Err(Status::Unauthorized);
    }
    Ok(session.user_id().unwrap_or_default())
}

/// Read-only use through the `AuthenticatedSession` guard: the handler writes nothing, and the
/// guard re-issues the cookie only when `renew_after` (60 s by default) has passed since the
/// cookie was issued (`benches/renew.sh`).
#[get("/me")]
fn me(session: AuthenticatedSession<'_>) -> String {
    session.user_id()
}

/// Read + write: opens the cookie, increments a counter, the response re-seals it.
#[get("/write")]
fn write(session: Session<'_>) -> Result<String, Status> {
    if !session.is_authenticated() {
        return Err(Status::Unauthorized);
    }
    let n: u64 = session.get("counter").ok().flatten().unwrap_or(0) + 1;
    session.insert("counter", n).map_err(|_| Status::InternalServerError)?;
    Ok(n.to_string())
}

/// The in-process fake Wristband of the `jwt` and `session-auth` modes.
struct Fake(FakeWristband);

/// The bearer-token guard: RS256 against the fake's JWKS (cached after the first request).
#[get("/jwt")]
fn jwt(_jwt: WristbandJwt<'_>) -> &'static str {
    "ok"
}

/// `/jwt` of the `jwt-noguard` mode: the same route without the guard (the `Authorization`
/// header is ignored), at the same place in the same route table: `/jwt`'s baseline (P4).
#[get("/jwt")]
fn jwt_unguarded() -> &'static str {
    "ok"
}

/// The same answer as `/jwt`, no guard (the `Authorization` header is ignored).
#[get("/noguard")]
fn noguard() -> &'static str {
    "ok"
}

/// A fresh access token for `/jwt`: user `u`, tenant `t`, valid for 24 hours.
#[get("/token")]
fn token(fake: &State<Fake>) -> String {
    fake.0.issue_access_token("u", "t", 86_400)
}

fn private_cookie(session: &Map<String, Value>) -> Cookie<'static> {
    let json = serde_json::to_string(session).expect("a Map serializes");
    Cookie::new(PRIVATE_COOKIE, json)
}

/// The same payload in a Rocket private cookie.
#[get("/private/seed")]
fn private_seed(cookies: &CookieJar<'_>) -> &'static str {
    cookies.add_private(private_cookie(&payload::wristband_session()));
    "seeded"
}

/// What `/write` does, with Rocket's private cookies and serde_json.
#[get("/private")]
fn private(cookies: &CookieJar<'_>) -> Result<String, Status> {
    let cookie = cookies.get_private(PRIVATE_COOKIE).ok_or(Status::Unauthorized)?;
    let mut session: Map<String, Value> =
        serde_json::from_str(cookie.value()).map_err(|_| Status::Unauthorized)?;
    if session.get("isAuthenticated") != Some(&Value::Bool(true)) {
        return Err(Status::Unauthorized);
    }
    let n = session.get("counter").and_then(Value::as_u64).unwrap_or(0) + 1;
    session.insert("counter".into(), n.into());
    cookies.add_private(private_cookie(&session));
    Ok(n.to_string())
}

/// The session options of every session mode: a fixed secret and cookie name, so one cookie
/// opens on every server.
fn session_options() -> SessionOptions {
    SessionOptions {
        secrets: SESSION_SECRET.into(),
        cookie_name: "session".into(),
        // Plain HTTP on 127.0.0.1.
        secure: false,
        ..SessionOptions::default()
    }
}

/// An environment variable, `None` when unset or empty.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// The session options of the `session-revocation` and `all` modes: `session_options()` with
/// revocation on, against the Redis at `REDIS_URL` or the cluster at `REDIS_CLUSTER_NODES`
/// (one of them required), trusting `REDIS_TLS_CA_FILE` for `rediss://` when set.
fn revocation_session_options() -> Result<SessionOptions, String> {
    let cluster_nodes: Vec<String> = env("REDIS_CLUSTER_NODES")
        .map(|nodes| {
            nodes.split(',').map(str::trim).filter(|n| !n.is_empty()).map(String::from).collect()
        })
        .unwrap_or_default();
    let url = env("REDIS_URL").unwrap_or_default();
    if url.is_empty() == cluster_nodes.is_empty() {
        return Err("this mode needs REDIS_URL (such as redis://127.0.0.1:6379) or \
                    REDIS_CLUSTER_NODES (such as redis://127.0.0.1:7000,redis://127.0.0.1:7001), \
                    not both"
            .into());
    }
    let tls_ca_file = env("REDIS_TLS_CA_FILE").map(std::path::PathBuf::from);
    Ok(SessionOptions {
        revocation: Some(RevocationOptions {
            url,
            cluster_nodes,
            tls_ca_file,
            ..RevocationOptions::default()
        }),
        ..session_options()
    })
}

async fn server(mode: &str, port: u16) -> Result<Rocket<Build>, String> {
    // Checked before the fake starts, so a missing REDIS_URL fails at once.
    let revocation = match mode {
        "session-revocation" | "all" => Some(revocation_session_options()?),
        _ => None,
    };
    // The fake first: building a Rocket raises the process-wide log level until it ignites,
    // and ours (log level off) ignites last.
    let fake = match mode {
        "jwt" | "jwt-noguard" | "session-auth" | "all" => Some(FakeWristband::start().await),
        _ => None,
    };
    let figment = rocket::Config::figment()
        .merge(("address", "127.0.0.1"))
        .merge(("port", port))
        .merge(("log_level", "off"))
        .merge(("cli_colors", false))
        .merge(("secret_key", ROCKET_SECRET_KEY));
    let rocket = rocket::custom(figment);
    match (mode, fake, revocation) {
        ("plain", _, _) => Ok(rocket.mount("/", routes![hello, read_plain, private_seed, private])),
        ("session", _, _) => Ok(rocket
            .attach(WristbandSession::custom(session_options()))
            .mount("/", routes![hello, read, seed, write, me])),
        ("session-revocation", _, Some(options)) => Ok(rocket
            .attach(WristbandSession::custom(options))
            .mount("/", routes![hello, read, seed, write, me])),
        ("session-auth", Some(fake), _) => Ok(rocket
            .attach(WristbandSession::custom(session_options()))
            .attach(WristbandAuth::custom(fake.auth_options()))
            .manage(Fake(fake))
            .mount("/", routes![hello, read, seed_fresh, write, me])),
        ("all", Some(fake), Some(options)) => Ok(rocket
            .attach(WristbandSession::custom(options))
            .attach(WristbandAuth::custom(fake.auth_options()))
            .manage(Fake(fake))
            .mount("/", routes![hello, read, seed_fresh, write, me])),
        ("jwt", Some(fake), _) => Ok(rocket
            .attach(WristbandSession::custom(session_options()))
            .attach(WristbandAuth::custom(fake.auth_options()))
            .manage(Fake(fake))
            .mount("/", routes![hello, jwt, token, noguard])),
        ("jwt-noguard", Some(fake), _) => Ok(rocket
            .attach(WristbandSession::custom(session_options()))
            .attach(WristbandAuth::custom(fake.auth_options()))
            .manage(Fake(fake))
            .mount("/", routes![hello, jwt_unguarded, token])),
        (other, _, _) => Err(format!(
            "unknown mode `{other}`: use plain, session, session-revocation, session-auth, all, \
             jwt, jwt-noguard, pairs, payload or payload-large"
        )),
    }
}

#[rocket::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut args = args.into_iter();
    let mode = args.next().or_else(|| std::env::var("BENCH_MODE").ok()).unwrap_or_default();
    if mode == "payload" || mode == "payload-large" {
        let session = match mode.as_str() {
            "payload" => payload::wristband_session(),
            _ => payload::wristband_session_with_custom_fields(),
        };
        println!("{}", serde_json::to_string(&session).expect("serializes"));
        return;
    }
    let port = args
        .next()
        .or_else(|| std::env::var("BENCH_PORT").ok())
        .map(|p| p.parse::<u16>().unwrap_or_else(|_| panic!("not a port: {p}")))
        .unwrap_or(8000);
    let modes: Vec<(&str, u16)> = if mode == "pairs" {
        PAIRS_MODES.iter().zip(port..).map(|(&mode, port)| (mode, port)).collect()
    } else {
        vec![(mode.as_str(), port)]
    };
    let mut launched = Vec::new();
    for (mode, port) in modes {
        let rocket = server(mode, port).await.unwrap_or_else(|e| {
            eprintln!("bench_server: {e}");
            std::process::exit(2);
        });
        launched.push(rocket::tokio::spawn(rocket.launch()));
    }
    for launch in launched {
        if !matches!(launch.await, Ok(Ok(_))) {
            eprintln!("bench_server: launch failed");
            std::process::exit(1);
        }
    }
}

/// The servers of the `pairs` mode, on consecutive ports from the one given: every server of
/// `benches/profile_overhead.sh`'s pairs in one process, so that each target and its baseline
/// are measured with the same allocator state and the same threads.
const PAIRS_MODES: [&str; 7] =
    ["plain", "session", "session-revocation", "session-auth", "all", "jwt", "jwt-noguard"];

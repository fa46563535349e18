//! A fleet over real TCP: two instances of one app, each its own Rocket on its own port of
//! 127.0.0.1, configured from a `wristband_session` TOML table, sharing secrets; users are
//! `reqwest` clients, each with its own cookie store.
//!
//! **Why two ports on one host is the load-balancer situation.** Cookies ignore ports
//! (RFC 6265 §8.5): a cookie set by `127.0.0.1:A` is sent to `127.0.0.1:B` by the same cookie
//! store. So one client alternating between the two base URLs presents one cookie to two
//! instances, exactly as a browser behind a load balancer does, and an instance restarted on a
//! new port (same host) still gets the client's cookie.
//!
//! - **Shared session**: a signed-in user alternates 200 writes (read-modify-write of a counter)
//!   between A and B; every answer's count is exact, each instance serves 100, the final count
//!   is 200 on both.
//! - **Staged rotation** (the procedure of the crate docs, "Rotating secrets across a fleet"):
//!   `[old]` → `[old, new]` on every instance → `[new, old]` (A first, B still on
//!   `[old, new]`: the mixed moment) → `[new]` once `max_age` has passed since the last
//!   instance stopped sealing with `old`. Instances are drained, stopped and restarted on the
//!   new configuration one at a time while three users keep writing. Every response's cookie is
//!   checked to be sealed with the serving instance's first secret (key id computed here, from
//!   `docs/cookie-format.md`, not by the crate). Nobody is signed out, no count is lost; a
//!   cookie sealed with `old` is refused once `old` is gone, and the same session sealed with
//!   `new` is not.
//! - **Skipping step 2 signs users out** (the negative control of the procedure): A on
//!   `[new, old]` while B is still on `[old]`: B refuses every cookie A sealed.
//! - **No shared secret, no shared session**: an instance with another secret refuses the
//!   session (so the first test can fail).
//!
//! Run with `--nocapture` to see the counts.

use crate::support::server;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hkdf::Hkdf;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::COOKIE;
use reqwest::{StatusCode, Url};
use rocket::figment::providers::{Format, Toml};
use rocket::figment::Figment;
use rocket::tokio::sync::RwLock;
use rocket::State;
use server::Server;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use wristband_rocket_session::testing::callback_data;
use wristband_rocket_session::{
    AuthenticatedSession, Session, SessionCodec, SessionOptions, WristbandSession,
};

const OLD: &str = "fleet-old-secret-0123456789-abcdefghijklmn";
const NEW: &str = "fleet-new-secret-0123456789-opqrstuvwxyzAB";
const OTHER: &str = "fleet-unrelated-secret-0123456789-CDEFGHIJ";

/// The `max_age` of the rotation test, in seconds: step 4 waits this long.
const MAX_AGE: u64 = 3;

// ---------------------------------------------------------------------------------------------
// The app
// ---------------------------------------------------------------------------------------------

/// Set by the test for each instance it starts: a label such as `A2[old,new]`, answered in
/// every body so the client knows which instance, on which configuration, served it.
struct Instance(String);

/// Signs `user` in (as a Wristband callback would) with a counter at 0.
#[post("/sign-in/<user>")]
fn sign_in(session: Session<'_>, user: &str, instance: &State<Instance>) -> String {
    session.from_callback(&callback_data(user, "tenant-1"), None).unwrap();
    session.insert("count", 0_u64).unwrap();
    format!("{} {user} 0", instance.0)
}

/// Read-modify-write for a signed-in user: `<instance> <user> <new count>`.
#[post("/incr")]
fn incr(session: AuthenticatedSession<'_>, instance: &State<Instance>) -> String {
    let n: u64 = session.get("count").unwrap().unwrap_or(0) + 1;
    session.insert("count", n).unwrap();
    format!("{} {} {n}", instance.0, session.user_id())
}

/// Reads only: `<instance> <count>`, or `<instance> none` without a session.
#[get("/count")]
fn count(session: Session<'_>, instance: &State<Instance>) -> String {
    let n = session.get::<u64>("count").unwrap();
    format!("{} {}", instance.0, n.map_or("none".to_string(), |n| n.to_string()))
}

/// `<instance> <user id>` for a signed-in user; 401 otherwise.
#[get("/me")]
fn me(session: AuthenticatedSession<'_>, instance: &State<Instance>) -> String {
    format!("{} {}", instance.0, session.user_id())
}

/// The instance's `wristband_session` table, as an operator would write it.
fn table(secrets: &[&str], max_age: u64) -> String {
    let secrets: Vec<String> = secrets.iter().map(|s| format!("{s:?}")).collect();
    format!(
        "[default.wristband_session]\nsecrets = [{}]\nmax_age = {max_age}\nsecure = false\n",
        secrets.join(", ")
    )
}

/// The short name of a secret of this file.
fn short(secret: &str) -> &'static str {
    match secret {
        OLD => "old",
        NEW => "new",
        OTHER => "other",
        _ => panic!("not a secret of this test"),
    }
}

/// Starts instance `name` (generation `generation`) with `secrets` from a TOML table.
async fn start(name: &str, generation: u32, secrets: &[&str], max_age: u64) -> (String, Server) {
    let names: Vec<&str> = secrets.iter().map(|s| short(s)).collect();
    let label = format!("{name}{generation}[{}]", names.join(","));
    let figment = Figment::from(rocket::Config::default())
        .merge(Toml::string(&table(secrets, max_age)).nested());
    let rocket = rocket::custom(figment)
        .attach(WristbandSession::fairing())
        .manage(Instance(label.clone()))
        .mount("/", routes![sign_in, incr, count, me]);
    (label, Server::start(rocket).await)
}

// ---------------------------------------------------------------------------------------------
// Cookies: which key sealed them (computed here, from docs/cookie-format.md)
// ---------------------------------------------------------------------------------------------

/// Key id of `secret`: SHA-256 of the HKDF-SHA256 key, first 4 bytes (cookie format §1).
fn key_id(secret: &str) -> [u8; 4] {
    let hkdf = Hkdf::<Sha256>::new(Some(b"wristband-session-v1"), secret.as_bytes());
    let mut key = [0_u8; 32];
    hkdf.expand(b"aes-gcm-encryption", &mut key).unwrap();
    Sha256::digest(key)[..4].try_into().unwrap()
}

/// `"old"`, `"new"` or `"other"`: the secret whose key id is in bytes 1..5 of `value`.
fn sealed_with(value: &str) -> &'static str {
    let bytes = URL_SAFE_NO_PAD.decode(value).expect("a cookie value is base64url");
    [OLD, NEW, OTHER]
        .into_iter()
        .find(|s| bytes[1..5] == key_id(s))
        .map(short)
        .unwrap_or_else(|| panic!("a key id of no secret of this test: {:?}", &bytes[1..5]))
}

#[test]
fn the_key_id_computed_here_matches_the_documented_vector() {
    // docs/cookie-format.md, vector 1.
    assert_eq!(key_id("wristband-kat-secret-one-0123456789abcdef"), [0x4b, 0x09, 0x6a, 0x8e]);
    assert_ne!(key_id(OLD), key_id(NEW));
}

/// The `session` cookie the store would send to 127.0.0.1 (any port).
fn session_cookie(jar: &Jar) -> Option<String> {
    let url = Url::parse("http://127.0.0.1/").unwrap();
    let header = jar.cookies(&url)?;
    header
        .to_str()
        .unwrap()
        .split("; ")
        .find_map(|pair| pair.strip_prefix("session=").map(str::to_string))
}

// ---------------------------------------------------------------------------------------------
// Users
// ---------------------------------------------------------------------------------------------

/// A browser: its own cookie store, shared by every instance of the fleet.
struct User {
    name: String,
    jar: Arc<Jar>,
    client: reqwest::Client,
    count: u64,
}

impl User {
    fn new(name: &str) -> User {
        let jar = Arc::new(Jar::default());
        let client = reqwest::Client::builder().cookie_provider(jar.clone()).build().unwrap();
        User { name: name.to_string(), jar, client, count: 0 }
    }

    async fn sign_in(&mut self, base: &str) {
        let resp = self.client.post(format!("{base}/sign-in/{}", self.name)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        self.count = 0;
    }

    /// One write: `Ok((instance label, key that sealed the cookie now held))`, after checking
    /// that the count is exactly one more; `Err` describes what went wrong.
    async fn incr(&mut self, base: &str) -> Result<(String, &'static str), String> {
        let resp = self
            .client
            .post(format!("{base}/incr"))
            .send()
            .await
            .map_err(|e| format!("request to {base}: {e}"))?;
        let status = resp.status();
        let body = resp.text().await.map_err(|e| format!("body: {e}"))?;
        if status != StatusCode::OK {
            return Err(format!("{status} from {base} (signed out)"));
        }
        let parts: Vec<&str> = body.split(' ').collect();
        let expected = self.count + 1;
        if parts.len() != 3 || parts[1] != self.name || parts[2] != expected.to_string() {
            return Err(format!("`{body}`, expected user {} count {expected}", self.name));
        }
        self.count = expected;
        let cookie = session_cookie(&self.jar).ok_or("no session cookie held")?;
        Ok((parts[0].to_string(), sealed_with(&cookie)))
    }
}

/// What the fleet served: per instance label, how many writes, and with which key the cookies
/// it wrote were sealed.
#[derive(Default)]
struct Tally(BTreeMap<String, BTreeMap<&'static str, u64>>);

impl Tally {
    fn record(&mut self, label: &str, sealed: &'static str) {
        *self.0.entry(label.to_string()).or_default().entry(sealed).or_default() += 1;
    }

    fn served(&self, label: &str) -> u64 {
        self.0.get(label).map_or(0, |keys| keys.values().sum())
    }
}

/// The first secret in an instance label (`A3[new,old]` → `new`): the one it must seal with.
fn seals_with(label: &str) -> &str {
    let list = label.split('[').nth(1).unwrap();
    list.trim_end_matches(']').split(',').next().unwrap()
}

// ---------------------------------------------------------------------------------------------
// 1. Two instances share one session
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_one_session_over_200_alternating_writes() {
    let (a_label, a) = start("A", 1, &[OLD], 3600).await;
    let (b_label, b) = start("B", 1, &[OLD], 3600).await;
    assert_ne!(a.base, b.base);

    let mut user = User::new("ada");
    user.sign_in(&a.base).await;
    let mut tally = Tally::default();
    for i in 1..=200_u64 {
        let base = if i % 2 == 1 { &a.base } else { &b.base };
        let (label, sealed) = user.incr(base).await.unwrap_or_else(|e| panic!("write {i}: {e}"));
        assert_eq!(&label, if i % 2 == 1 { &a_label } else { &b_label }, "write {i}");
        tally.record(&label, sealed);
    }
    assert_eq!(user.count, 200);
    assert_eq!((tally.served(&a_label), tally.served(&b_label)), (100, 100));

    // Both read the same final session, and both see the user signed in.
    for server in [&a, &b] {
        let body = user.client.get(server.url("/count")).send().await.unwrap().text().await;
        assert!(body.unwrap().ends_with(" 200"));
        let resp = user.client.get(server.url("/me")).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(resp.text().await.unwrap().ends_with(" ada"));
    }
    println!(
        "fleet: 200 alternating writes, final count {} on A and B; served A {} B {}; sealed {:?}",
        user.count,
        tally.served(&a_label),
        tally.served(&b_label),
        tally.0
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_with_another_secret_does_not_share_the_session() {
    let (_, a) = start("A", 1, &[OLD], 3600).await;
    let (_, b) = start("B", 1, &[OTHER], 3600).await;
    let mut user = User::new("ada");
    user.sign_in(&a.base).await;
    user.incr(&a.base).await.unwrap();
    let error = user.incr(&b.base).await.unwrap_err();
    assert!(error.starts_with("401"), "{error}");
    a.stop().await;
    b.stop().await;
}

// ---------------------------------------------------------------------------------------------
// 2. Staged rotation while users stay active
// ---------------------------------------------------------------------------------------------

/// The load balancer: the instances that take requests. A user holds the read lock for the
/// length of a request, so taking an instance out (write lock) waits for its requests to end:
/// a drain, as before a restart behind a real load balancer.
type Pool = Arc<RwLock<Vec<(String, String)>>>;

struct Fleet {
    pool: Pool,
    servers: BTreeMap<&'static str, Server>,
    generations: BTreeMap<&'static str, u32>,
    log: Vec<String>,
    started: Instant,
}

impl Fleet {
    /// Drains instance `name`, stops it, starts it again with `secrets` on a new port and puts
    /// it back in the pool. Returns when the new instance takes requests.
    async fn restart(&mut self, name: &'static str, secrets: &[&str]) {
        let old = self.servers.remove(name);
        if old.is_some() {
            self.pool.write().await.retain(|(label, _)| !label.starts_with(name));
        }
        if let Some(old) = old {
            old.stop().await;
        }
        let generation = self.generations.entry(name).or_default();
        *generation += 1;
        let (label, server) = start(name, *generation, secrets, MAX_AGE).await;
        self.pool.write().await.push((label.clone(), server.base.clone()));
        self.servers.insert(name, server);
        let live: Vec<String> = self.pool.read().await.iter().map(|(l, _)| l.clone()).collect();
        let line = format!(
            "[{:>5.2}s] {name} restarted as {label}; fleet: {}",
            self.started.elapsed().as_secs_f64(),
            live.join(" + ")
        );
        println!("{line}");
        self.log.push(line);
    }

    fn base(&self, name: &str) -> &str {
        &self.servers[name].base
    }
}

/// What the active users saw.
#[derive(Default)]
struct Seen {
    tally: Tally,
    errors: Vec<String>,
}

/// A user writing through the pool until `stop`: round robin over the live instances, each
/// answer checked (exact count; cookie sealed with the serving instance's first secret).
async fn keep_writing(
    mut user: User,
    pool: Pool,
    seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
) -> User {
    let mut turn = 0_usize;
    while !stop.load(Ordering::Relaxed) {
        let live = pool.read().await;
        let (_, base) = &live[turn % live.len()];
        let outcome = user.incr(base).await;
        drop(live);
        let failed = {
            let mut seen = seen.lock().unwrap();
            match outcome {
                Ok((label, sealed)) if sealed == seals_with(&label) => {
                    seen.tally.record(&label, sealed);
                    false
                }
                Ok((label, sealed)) => {
                    let error =
                        format!("{}: {label} wrote a cookie sealed with {sealed}", user.name);
                    seen.errors.push(error);
                    true
                }
                Err(e) => {
                    seen.errors.push(format!("{}: {e}", user.name));
                    true
                }
            }
        };
        if failed {
            // The count is unknown from here on.
            break;
        }
        turn += 1;
        rocket::tokio::time::sleep(Duration::from_millis(3)).await;
    }
    user
}

/// Status of `path` on `base` for a request carrying exactly `session=<value>`.
async fn with_cookie(base: &str, path: &str, value: &str) -> (StatusCode, String) {
    let resp = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .header(COOKIE, format!("session={value}"))
        .send()
        .await
        .unwrap();
    (resp.status(), resp.text().await.unwrap())
}

/// A codec with only `secret`, the test's `max_age` and the default cookie name.
fn codec(secret: &str) -> SessionCodec {
    let options = SessionOptions {
        secrets: secret.into(),
        max_age: MAX_AGE as i64,
        ..SessionOptions::default()
    };
    SessionCodec::new(&options).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn staged_rotation_across_two_instances_signs_no_one_out() {
    let started = Instant::now();
    let pool: Pool = Arc::default();
    let mut fleet = Fleet {
        pool: pool.clone(),
        servers: BTreeMap::new(),
        generations: BTreeMap::new(),
        log: Vec::new(),
        started,
    };
    let pause = || rocket::tokio::time::sleep(Duration::from_millis(400));

    // Step 1: [old] everywhere. Three users sign in, one on A, two on B.
    fleet.restart("A", &[OLD]).await;
    fleet.restart("B", &[OLD]).await;
    let mut users = Vec::new();
    for (i, name) in ["ada", "bob", "cyd"].into_iter().enumerate() {
        let mut user = User::new(name);
        user.sign_in(fleet.base(if i == 0 { "A" } else { "B" })).await;
        users.push(user);
    }
    // Kept aside: ada's cookie as step 1 sealed it, and when.
    let kept_old = session_cookie(&users[0].jar).unwrap();
    let kept_at = OffsetDateTime::now_utc();
    assert_eq!(sealed_with(&kept_old), "old");

    let seen = Arc::new(Mutex::new(Seen::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = users
        .into_iter()
        .map(|u| rocket::tokio::spawn(keep_writing(u, pool.clone(), seen.clone(), stop.clone())))
        .collect();
    pause().await;

    // Step 2: [old, new] on every instance, one at a time (still sealing with old).
    fleet.restart("A", &[OLD, NEW]).await;
    pause().await;
    fleet.restart("B", &[OLD, NEW]).await;
    pause().await;

    // Step 3: [new, old]. A first; for a while A seals with new while B, still on step 2,
    // seals with old, and each opens what the other sealed.
    fleet.restart("A", &[NEW, OLD]).await;
    let mixed_from = { seen.lock().unwrap().tally.0.clone() };
    pause().await;
    let mixed_to = { seen.lock().unwrap().tally.0.clone() };
    // A cookie freshly sealed with old still opens on a step-3 instance.
    let ada_data = codec(OLD).open_at(&kept_old, kept_at).expect("the kept cookie, at its time");
    let fresh_old = codec(OLD).seal(&ada_data).unwrap();
    assert_eq!(with_cookie(fleet.base("A"), "/me", &fresh_old).await.0, StatusCode::OK);
    fleet.restart("B", &[NEW, OLD]).await;
    // From here on no instance seals with old: the last old-sealed cookie expires max_age on.
    let last_old_seal = Instant::now();
    pause().await;

    // Step 4, once max_age has passed: [new] only.
    let wait = Duration::from_secs(MAX_AGE) + Duration::from_millis(100);
    rocket::tokio::time::sleep_until((last_old_seal + wait).into()).await;
    fleet.restart("A", &[NEW]).await;
    pause().await;
    fleet.restart("B", &[NEW]).await;
    pause().await;

    stop.store(true, Ordering::Relaxed);
    let mut users = Vec::new();
    for task in tasks {
        users.push(task.await.expect("user task did not panic"));
    }
    let seen = Arc::try_unwrap(seen).ok().unwrap().into_inner().unwrap();

    // Nobody signed out, no write lost, every cookie sealed with its instance's first secret.
    assert_eq!(seen.errors, Vec::<String>::new());
    let writes: u64 = users.iter().map(|u| u.count).sum();
    let served: u64 = seen.tally.0.keys().map(|l| seen.tally.served(l)).sum();
    assert_eq!(writes, served, "every write was counted once");
    for user in &users {
        assert!(user.count > 20, "{} kept writing: {}", user.name, user.count);
        assert_eq!(sealed_with(&session_cookie(&user.jar).unwrap()), "new");
        for name in ["A", "B"] {
            let (status, body) = {
                let resp = user.client.get(format!("{}/count", fleet.base(name))).send().await;
                let resp = resp.unwrap();
                (resp.status(), resp.text().await.unwrap())
            };
            assert_eq!(status, StatusCode::OK);
            assert!(body.ends_with(&format!(" {}", user.count)), "{body} for {}", user.name);
        }
    }
    // Every configuration served writes, and the mixed moment served both ways.
    for label in [
        "A1[old]",
        "B1[old]",
        "A2[old,new]",
        "B2[old,new]",
        "A3[new,old]",
        "B3[new,old]",
        "A4[new]",
        "B4[new]",
    ] {
        assert!(seen.tally.served(label) > 0, "{label} served no write: {:?}", seen.tally.0);
    }
    let during = |label: &str| {
        mixed_to.get(label).map_or(0, |k| k.values().sum::<u64>())
            - mixed_from.get(label).map_or(0, |k| k.values().sum::<u64>())
    };
    let (mixed_a, mixed_b) = (during("A3[new,old]"), during("B2[old,new]"));
    assert!(mixed_a > 5 && mixed_b > 5, "mixed moment: A3 {mixed_a}, B2 {mixed_b}");

    // Old is gone: the cookie kept from step 1 is refused, and so is the same session sealed
    // with old just now; sealed with new just now, it opens (so the key is the reason).
    let fresh_old = codec(OLD).seal(&ada_data).unwrap();
    let fresh_new = codec(NEW).seal(&ada_data).unwrap();
    let mut refused = 0;
    for name in ["A", "B"] {
        let base = fleet.base(name);
        for value in [&kept_old, &fresh_old] {
            assert_eq!(with_cookie(base, "/me", value).await.0, StatusCode::UNAUTHORIZED);
            assert!(with_cookie(base, "/count", value).await.1.ends_with(" none"));
            refused += 1;
        }
        let (status, body) = with_cookie(base, "/me", &fresh_new).await;
        assert_eq!((status, body.ends_with(" ada")), (StatusCode::OK, true));
    }

    println!("rotation: {:.1} s in all", started.elapsed().as_secs_f64());
    for user in &users {
        println!(
            "rotation: {} made {} writes, final count {} on A and B",
            user.name, user.count, user.count
        );
    }
    for (label, keys) in &seen.tally.0 {
        println!(
            "rotation: {label} served {} writes, cookies sealed with {keys:?}",
            seen.tally.served(label)
        );
    }
    println!(
        "rotation: mixed moment (A3[new,old] + B2[old,new]): A3 served {mixed_a}, B2 {mixed_b}"
    );
    println!(
        "rotation: 0 sign-outs, 0 errors; {refused} old-sealed presentations refused after step 4"
    );
    for server in fleet.servers.into_values() {
        server.stop().await;
    }
}

// ---------------------------------------------------------------------------------------------
// 3. The negative control: skipping step 2
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skipping_step_two_signs_users_out() {
    // A goes straight to [new, old] while B is still on [old].
    let (_, a) = start("A", 3, &[NEW, OLD], 3600).await;
    let (_, b) = start("B", 1, &[OLD], 3600).await;
    let mut signed_out = 0;
    for name in ["ada", "bob", "cyd"] {
        let mut user = User::new(name);
        user.sign_in(&b.base).await;
        let (_, sealed) = user.incr(&a.base).await.expect("A opens old");
        assert_eq!(sealed, "new");
        let error = user.incr(&b.base).await.expect_err("B cannot open new");
        assert!(error.starts_with("401"), "{error}");
        signed_out += 1;
    }
    println!("skip step 2: {signed_out} of 3 users signed out on B");
    a.stop().await;
    b.stop().await;
}

#![cfg(all(feature = "fake-wristband", feature = "redis"))]
//! Token refresh across a fleet (issue 16): a browser's parallel requests land on two instances
//! just after the access token expired. Wristband rotates refresh tokens, so two refreshes with
//! one token sign the user out (the second gets `invalid_grant`).
//!
//! - With Redis (a `revocation` table), refresh is single flight across instances: every
//!   request 200 with the same new access token, no removal cookie, one token call — 20 rounds.
//! - Without Redis, an instance that gets `invalid_grant` answers 401 and never removes the
//!   session cookie, so the other instance's new cookie survives.
//! - Redis unreachable: each instance refreshes on its own (the per-process behaviour).
//! - `WristbandAuth::refresh_token_if_expired` shares the same single flight.
//!
//! Real TCP (two Rocket servers, `reqwest`), a real `redis-server`, the fake Wristband.

use crate::support::redis as redis_server;
use crate::support::server;

use std::time::Duration;

use redis_server::RedisServer;
use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::StatusCode;
use rocket::State;
use server::Server;
use wristband_rocket_session::testing::{callback_data, Endpoint, FakeWristband, Reply};
use wristband_rocket_session::{
    AuthenticatedSession, RevocationOptions, Session, SessionError, SessionOptions,
    UnavailablePolicy, WristbandAuth, WristbandSession,
};

const SECRET: &str = "fleet-refresh-test-secret-0123456789abcdef";

/// Signs in `u1` with refresh token `rt` and an access token that expired a minute ago.
#[post("/seed?<rt>")]
fn seed(session: Session<'_>, rt: &str) -> Result<(), SessionError> {
    let mut data = callback_data("u1", "t1");
    data.refresh_token = Some(rt.to_string());
    data.expires_at = time::OffsetDateTime::now_utc().unix_timestamp() * 1000 - 60_000;
    session.from_callback(&data, None)
}

/// The access token the guard leaves in the session (refreshed when it had expired).
#[get("/token")]
fn token(session: AuthenticatedSession<'_>) -> String {
    session.get::<String>("accessToken").unwrap().unwrap_or_default()
}

/// A job's refresh, outside any session.
#[post("/job?<rt>")]
async fn job(auth: &State<WristbandAuth>, rt: &str) -> String {
    match auth.refresh_token_if_expired(rt, 0).await {
        Ok(Some(tokens)) => tokens.access_token,
        Ok(None) => "not expired".into(),
        Err(e) => format!("error: {}", e.code()),
    }
}

async fn instance(fake: &FakeWristband, redis: Option<&RedisServer>) -> Server {
    instance_with(fake, redis, UnavailablePolicy::Refuse).await
}

async fn instance_with(
    fake: &FakeWristband,
    redis: Option<&RedisServer>,
    on_unavailable: UnavailablePolicy,
) -> Server {
    let session = SessionOptions {
        secrets: SECRET.into(),
        secure: false,
        revocation: redis.map(|r| RevocationOptions {
            url: r.url(),
            on_unavailable,
            ..Default::default()
        }),
        ..SessionOptions::default()
    };
    let rocket = rocket::custom(rocket::Config::figment())
        .attach(WristbandSession::custom(session))
        .attach(WristbandAuth::custom(fake.auth_options()))
        .mount("/", routes![seed, token, job]);
    Server::start(rocket).await
}

/// One answer: the status, the body, and whether it removed the session cookie.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    body: String,
    removes_session: bool,
}

async fn get_token(http: &reqwest::Client, base: &str, cookie: &str) -> Answer {
    let resp = http.get(format!("{base}/token")).header(COOKIE, cookie).send().await.unwrap();
    let removes_session = resp.headers().get_all(SET_COOKIE).iter().any(|h| {
        let h = h.to_str().unwrap();
        h.starts_with("session=") && h.contains("Max-Age=0")
    });
    Answer { status: resp.status(), removes_session, body: resp.text().await.unwrap() }
}

/// The session cookie (`name=value`) for a fresh refresh token of the fake's.
async fn seeded_cookie(http: &reqwest::Client, base: &str, fake: &FakeWristband) -> String {
    let rt = fake.issue_refresh_token("u1", "t1");
    let resp = http.post(format!("{base}/seed?rt={rt}")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let set = resp.headers()[SET_COOKIE].to_str().unwrap();
    set.split(';').next().unwrap().to_string()
}

/// `per_instance` concurrent `/token` requests on each of `bases`, all with `cookie`.
async fn burst(http: &reqwest::Client, bases: &[&str], cookie: &str, per: usize) -> Vec<Answer> {
    let mut calls = Vec::new();
    for i in 0..per {
        for base in bases {
            let (http, base, cookie) = (http.clone(), base.to_string(), cookie.to_string());
            calls.push(rocket::tokio::spawn(async move {
                // Interleave the instances' arrival a little.
                rocket::tokio::time::sleep(Duration::from_millis(i as u64 * 3)).await;
                get_token(&http, &base, &cookie).await
            }));
        }
    }
    let mut answers = Vec::new();
    for call in calls {
        answers.push(call.await.unwrap());
    }
    answers
}

#[rocket::async_test]
async fn with_redis_parallel_requests_on_two_instances_refresh_once_and_nobody_is_signed_out() {
    let redis = RedisServer::start();
    let fake = FakeWristband::start().await;
    // A slow token endpoint keeps both instances inside the race window.
    fake.set_delay(Endpoint::Token, Duration::from_millis(150));
    let a = instance(&fake, Some(&redis)).await;
    let b = instance(&fake, Some(&redis)).await;
    let http = reqwest::Client::new();
    for round in 0..20 {
        let calls_before = fake.calls(Endpoint::Token);
        let cookie = seeded_cookie(&http, &a.base, &fake).await;
        let answers = burst(&http, &[&a.base, &b.base], &cookie, 4).await;
        for answer in &answers {
            assert_eq!(answer.status, StatusCode::OK, "round {round}: {answers:?}");
            assert!(!answer.removes_session, "round {round}: {answers:?}");
        }
        let first = &answers[0].body;
        assert!(first.starts_with("eyJ"), "a JWT from the fake: {first}");
        assert!(answers.iter().all(|a| &a.body == first), "round {round}: one new token");
        assert_eq!(fake.calls(Endpoint::Token) - calls_before, 1, "round {round}: one call");
    }
    a.stop().await;
    b.stop().await;
}

#[rocket::async_test]
async fn without_redis_invalid_grant_never_removes_the_cookie() {
    let fake = FakeWristband::start().await;
    fake.set_delay(Endpoint::Token, Duration::from_millis(150));
    let a = instance(&fake, None).await;
    let b = instance(&fake, None).await;
    let http = reqwest::Client::new();
    for round in 0..20 {
        let calls_before = fake.calls(Endpoint::Token);
        let cookie = seeded_cookie(&http, &a.base, &fake).await;
        let answers = burst(&http, &[&a.base, &b.base], &cookie, 4).await;
        // One instance wins the rotation; the other may get `invalid_grant`: a 401, never a
        // removal, so the winner's new cookie survives in the browser.
        assert!(answers.iter().all(|a| !a.removes_session), "round {round}: {answers:?}");
        assert!(answers.iter().any(|a| a.status == StatusCode::OK), "round {round}: {answers:?}");
        let calls = fake.calls(Endpoint::Token) - calls_before;
        assert!((1..=2).contains(&calls), "round {round}: one call per instance at most");
    }
    a.stop().await;
    b.stop().await;
}

#[rocket::async_test]
async fn with_redis_unreachable_each_instance_still_refreshes() {
    let mut redis = RedisServer::start();
    let fake = FakeWristband::start().await;
    // `accept`: with Redis down, sessions are taken unchecked (revocation's own policy), so
    // what is left to see is the refresh.
    let a = instance_with(&fake, Some(&redis), UnavailablePolicy::Accept).await;
    redis.kill();
    let http = reqwest::Client::new();
    let cookie = seeded_cookie(&http, &a.base, &fake).await;
    let answers = burst(&http, &[&a.base], &cookie, 3).await;
    assert!(answers.iter().all(|a| a.status == StatusCode::OK), "{answers:?}");
    assert_eq!(fake.calls(Endpoint::Token), 1, "per-process single flight");
    a.stop().await;
}

#[rocket::async_test]
async fn a_job_and_a_browser_refreshing_one_token_spend_it_once() {
    let redis = RedisServer::start();
    let fake = FakeWristband::start().await;
    fake.set_delay(Endpoint::Token, Duration::from_millis(150));
    let a = instance(&fake, Some(&redis)).await;
    let b = instance(&fake, Some(&redis)).await;
    let http = reqwest::Client::new();
    let rt = fake.issue_refresh_token("u1", "t1");
    let resp = http.post(format!("{}/seed?rt={rt}", a.base)).send().await.unwrap();
    let cookie =
        resp.headers()[SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_string();
    let job = {
        let (http, url) = (http.clone(), format!("{}/job?rt={rt}", b.base));
        rocket::tokio::spawn(async move { http.post(url).send().await.unwrap().text().await })
    };
    let browser = get_token(&http, &a.base, &cookie).await;
    let job = job.await.unwrap().unwrap();
    assert_eq!(browser.status, StatusCode::OK);
    assert_eq!(job, browser.body, "the job got the browser's new token (or the other way)");
    assert_eq!(fake.calls(Endpoint::Token), 1);
    // A dead token: the job is told so.
    let resp = http.post(format!("{}/job?rt=never-issued", b.base)).send().await.unwrap();
    assert_eq!(resp.text().await.unwrap(), "error: invalid_grant");
    a.stop().await;
    b.stop().await;
}

/// Redis' call counters of the commands a coordinated refresh sends.
fn refresh_commands(redis: &RedisServer) -> u64 {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_connection().unwrap();
    let info: String = redis::cmd("INFO").arg("commandstats").query(&mut connection).unwrap();
    info.lines()
        .filter_map(|line| {
            let (name, rest) = line.strip_prefix("cmdstat_")?.split_once(':')?;
            ["get", "set", "del"].contains(&name).then_some(())?;
            rest.split(',').find_map(|kv| kv.strip_prefix("calls="))?.parse::<u64>().ok()
        })
        .sum()
}

/// `refresh_coordination` (read from TOML, as in the crate docs): `true` (the default) sends a
/// refresh through Redis, `false` keeps it per process; a fresh token sends nothing either way.
#[rocket::async_test]
async fn refresh_coordination_can_be_turned_off_and_a_fresh_token_never_touches_redis() {
    use rocket::figment::providers::{Format, Toml};
    let redis = RedisServer::start();
    let fake = FakeWristband::start().await;
    let http = reqwest::Client::new();
    for coordinate in [true, false] {
        let toml = format!(
            "[wristband_session]\nsecrets = \"{SECRET}\"\nsecure = false\n\
             [wristband_session.revocation]\nurl = \"{}\"\nrefresh_coordination = {coordinate}\n",
            redis.url()
        );
        let figment = rocket::Config::figment().merge(Toml::string(&toml));
        let rocket = rocket::custom(figment)
            .attach(WristbandSession::fairing())
            .attach(WristbandAuth::custom(fake.auth_options()))
            .mount("/", routes![seed, token]);
        let app = Server::start(rocket).await;
        let cookie = seeded_cookie(&http, &app.base, &fake).await;

        let before = refresh_commands(&redis);
        assert_eq!(get_token(&http, &app.base, &cookie).await.status, StatusCode::OK);
        let refreshed = refresh_commands(&redis) - before;
        if coordinate {
            assert!(refreshed >= 2, "a coordinated refresh looks and locks: {refreshed}");
        } else {
            assert_eq!(refreshed, 0, "refresh_coordination = false: Redis is not asked");
        }

        // The refreshed session's next requests carry a fresh token: no refresh, no Redis.
        let resp = http.get(format!("{}/token", app.base)).header(COOKIE, &cookie).send().await;
        let fresh_cookie = resp.unwrap().headers()[SET_COOKIE].to_str().unwrap().to_string();
        let fresh_cookie = fresh_cookie.split(';').next().unwrap().to_string();
        let before = refresh_commands(&redis);
        for _ in 0..20 {
            assert_eq!(get_token(&http, &app.base, &fresh_cookie).await.status, StatusCode::OK);
        }
        assert_eq!(refresh_commands(&redis) - before, 0, "the fresh-token path sent commands");
        app.stop().await;
    }
}

// ---------------------------------------------------------------------------------------------
// The second security review: Redis is untrusted, and a slow Wristband must never make two
// calls with one rotating refresh token, nor sign the user out.

/// A command connection to the test's Redis.
fn redis_connection(redis: &RedisServer) -> redis::Connection {
    redis::Client::open(redis.url()).unwrap().get_connection().unwrap()
}

/// The Redis keys matching `pattern`.
fn keys(redis: &RedisServer, pattern: &str) -> Vec<String> {
    let mut keys: Vec<String> =
        redis::cmd("KEYS").arg(pattern).query(&mut redis_connection(redis)).unwrap();
    keys.sort();
    keys
}

/// Waits (at most 5 s) until a key matching `pattern` exists, and returns it.
async fn wait_for_key(redis: &RedisServer, pattern: &str) -> String {
    for _ in 0..500 {
        if let Some(key) = keys(redis, pattern).pop() {
            return key;
        }
        rocket::tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no key {pattern} within 5 s");
}

/// Finding 1: whoever can write to Redis copies the victim's sealed refresh result onto the
/// key of the attacker's spent refresh token; the attacker's old cookie, replayed on another
/// instance, must not pick up the victim's tokens.
#[rocket::async_test]
async fn a_refresh_result_copied_onto_another_token_key_gives_the_attacker_nothing() {
    let redis = RedisServer::start();
    let fake = FakeWristband::start().await;
    let a = instance(&fake, Some(&redis)).await;
    let b = instance(&fake, Some(&redis)).await;
    let http = reqwest::Client::new();

    // The attacker refreshes on A and keeps the old cookie.
    let attacker = seeded_cookie(&http, &a.base, &fake).await;
    assert_eq!(get_token(&http, &a.base, &attacker).await.status, StatusCode::OK);
    let attacker_key = keys(&redis, "*:refresh:*").pop().expect("the attacker's result");
    // The victim refreshes on A.
    let victim = seeded_cookie(&http, &a.base, &fake).await;
    let victim_answer = get_token(&http, &a.base, &victim).await;
    assert_eq!(victim_answer.status, StatusCode::OK);
    let victim_key = keys(&redis, "*:refresh:*").into_iter().find(|k| *k != attacker_key).unwrap();

    // Copy the victim's value onto the attacker's key.
    let mut connection = redis_connection(&redis);
    let value: String = redis::cmd("GET").arg(&victim_key).query(&mut connection).unwrap();
    let _: () = redis::cmd("SET")
        .arg(&attacker_key)
        .arg(value)
        .arg("PX")
        .arg(30_000)
        .query(&mut connection)
        .unwrap();

    // The attacker replays the old cookie on B, which has no memory of its own of that token.
    let replay = get_token(&http, &b.base, &attacker).await;
    assert_ne!(replay.body, victim_answer.body, "the attacker got the victim's token: {replay:?}");
    assert_ne!(replay.status, StatusCode::OK, "{replay:?}");
    a.stop().await;
    b.stop().await;
}

/// Finding 2, as reproduced: Wristband answers in 6 s and fails once (503). Three instances
/// share one expired session; the browser tries again after 10.5 s. One token call in all,
/// and nobody is signed out.
#[rocket::async_test]
async fn a_slow_wristband_that_fails_once_never_gets_the_token_twice_nor_signs_out() {
    let redis = RedisServer::start();
    let fake = FakeWristband::start().await;
    let a = instance(&fake, Some(&redis)).await;
    let b = instance(&fake, Some(&redis)).await;
    let c = instance(&fake, Some(&redis)).await;
    let http = reqwest::Client::new();
    let cookie = seeded_cookie(&http, &a.base, &fake).await;
    fake.set_delay(Endpoint::Token, Duration::from_secs(6));
    fake.script(Endpoint::Token, [Reply::Status(503)]);

    let bases = [a.base.as_str(), b.base.as_str(), c.base.as_str()];
    let first = burst(&http, &bases, &cookie, 1);
    let again = async {
        rocket::tokio::time::sleep(Duration::from_millis(10_500)).await;
        burst(&http, &bases, &cookie, 1).await
    };
    let (first, again) = rocket::tokio::join!(first, again);
    for answer in first.iter().chain(&again) {
        assert!(!answer.removes_session, "signed out: {first:?} {again:?}");
    }
    // Wait until no call can still be on its way, then count.
    rocket::tokio::time::sleep(Duration::from_secs(7)).await;
    assert_eq!(fake.calls(Endpoint::Token), 1, "the refresh token was presented more than once");
    a.stop().await;
    b.stop().await;
    c.stop().await;
}

/// Finding 2, on one instance: Wristband processes the refresh (the token is spent) but
/// answers after the client's 10 s time-out. No second call with the spent token, and the
/// session is kept.
#[rocket::async_test]
async fn a_refresh_answered_after_the_client_gave_up_is_not_retried_and_keeps_the_session() {
    let redis = RedisServer::start();
    let fake = FakeWristband::start().await;
    let a = instance(&fake, Some(&redis)).await;
    let http = reqwest::Client::new();
    let cookie = seeded_cookie(&http, &a.base, &fake).await;
    fake.script(Endpoint::Token, [Reply::LateAnswer(Duration::from_secs(12))]);
    let answer = get_token(&http, &a.base, &cookie).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{answer:?}");
    assert!(!answer.removes_session, "a time-out signed the user out: {answer:?}");
    assert_eq!(fake.refresh_tokens_spent(), 1);
    // Within the window the spent token is not presented again, here or on another instance.
    let b = instance(&fake, Some(&redis)).await;
    for base in [&a.base, &b.base] {
        let answer = get_token(&http, base, &cookie).await;
        assert!(!answer.removes_session, "{answer:?}");
    }
    assert_eq!(fake.calls(Endpoint::Token), 1, "the spent refresh token was presented again");
    a.stop().await;
    b.stop().await;
}

/// Finding 2: a lock whose holder lost it (it lapsed, or a failover lost it, and another
/// instance took it) is released only by its new owner.
#[rocket::async_test]
async fn a_lock_taken_over_by_another_owner_is_not_released_by_the_first() {
    let redis = RedisServer::start();
    let fake = FakeWristband::start().await;
    let a = instance(&fake, Some(&redis)).await;
    let http = reqwest::Client::new();
    let cookie = seeded_cookie(&http, &a.base, &fake).await;
    fake.set_delay(Endpoint::Token, Duration::from_millis(800));
    let refresh = {
        let (http, base, cookie) = (http.clone(), a.base.clone(), cookie.clone());
        rocket::tokio::spawn(async move { get_token(&http, &base, &cookie).await })
    };
    let lock = wait_for_key(&redis, "*:refresh-lock:*").await;
    let _: () = redis::cmd("SET")
        .arg(&lock)
        .arg("another-instance")
        .query(&mut redis_connection(&redis))
        .unwrap();
    let answer = refresh.await.unwrap();
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    let held: Option<String> =
        redis::cmd("GET").arg(&lock).query(&mut redis_connection(&redis)).unwrap();
    assert_eq!(held.as_deref(), Some("another-instance"), "another owner's lock was released");
    a.stop().await;
}

/// Finding 2: the lock is lost while its holder calls Wristband (a failover to a replica that
/// never got it), so a second instance calls too and gets `invalid_grant`. The first one's
/// new tokens stay in Redis, and the second, looking once more, uses them: nobody signed out.
#[rocket::async_test]
async fn a_refusal_never_overwrites_new_tokens_nor_signs_out_when_the_lock_was_lost() {
    let redis = RedisServer::start();
    let fake = FakeWristband::start().await;
    let a = instance(&fake, Some(&redis)).await;
    let b = instance(&fake, Some(&redis)).await;
    let http = reqwest::Client::new();
    let cookie = seeded_cookie(&http, &a.base, &fake).await;
    fake.set_delay(Endpoint::Token, Duration::from_millis(600));
    let on_a = {
        let (http, base, cookie) = (http.clone(), a.base.clone(), cookie.clone());
        rocket::tokio::spawn(async move { get_token(&http, &base, &cookie).await })
    };
    let lock = wait_for_key(&redis, "*:refresh-lock:*").await;
    let _: () = redis::cmd("DEL").arg(&lock).query(&mut redis_connection(&redis)).unwrap();
    // B arrives 100 ms later: its call reaches Wristband after A's has spent the token.
    rocket::tokio::time::sleep(Duration::from_millis(100)).await;
    let on_b = get_token(&http, &b.base, &cookie).await;
    let on_a = on_a.await.unwrap();
    assert_eq!(fake.calls(Endpoint::Token), 2, "the lost lock let B call as well");
    assert_eq!(on_a.status, StatusCode::OK, "{on_a:?}");
    assert!(!on_b.removes_session, "B's refusal signed the user out: {on_b:?}");
    assert_eq!((on_b.status, &on_b.body), (StatusCode::OK, &on_a.body), "B used A's tokens");
    // A third instance finds A's tokens, not a refusal.
    let c = instance(&fake, Some(&redis)).await;
    let on_c = get_token(&http, &c.base, &cookie).await;
    assert_eq!((on_c.status, &on_c.body), (StatusCode::OK, &on_a.body), "{on_c:?}");
    a.stop().await;
    b.stop().await;
    c.stop().await;
}

/// Finding 2: Redis holds back writes (`CLIENT PAUSE … WRITE`) so the lock's `SET NX` times
/// out on the instance, yet takes effect later. The instance must not call Wristband on a
/// lock it cannot know it holds; the session is kept.
#[rocket::async_test]
async fn a_lock_command_that_timed_out_never_leads_to_a_token_call() {
    let redis = RedisServer::start();
    let fake = FakeWristband::start().await;
    let a = instance(&fake, Some(&redis)).await;
    let http = reqwest::Client::new();
    let cookie = seeded_cookie(&http, &a.base, &fake).await;
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(4_000)
        .arg("WRITE")
        .query(&mut redis_connection(&redis))
        .unwrap();
    let answer = get_token(&http, &a.base, &cookie).await;
    assert!(!answer.removes_session, "{answer:?}");
    assert_eq!(fake.calls(Endpoint::Token), 0, "called Wristband without knowing it held the lock");
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{answer:?}");
    a.stop().await;
}

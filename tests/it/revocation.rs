//! Revocation across instances, against a real `redis-server` (started per test on a free
//! port, killed at the end) and two or three app instances over real TCP.
#![cfg(feature = "redis")]

use crate::support::redis as redis_server;
use crate::support::server;

use std::time::{Duration, Instant};

use redis_server::RedisServer;
use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::StatusCode;
use rocket::serde::json::Json;
use rocket::time::OffsetDateTime;
use serde_json::{json, Map, Value};
use server::Server;
use wristband_rocket_session::testing::callback_data;
use wristband_rocket_session::{
    AuthenticatedSession, RevocationOptions, Revocations, Session, SessionCodec, SessionOptions,
    UnavailablePolicy, WristbandSession,
};

const SECRET: &str = "revocation-test-secret-0123456789-abcdefgh";

#[post("/login/<user>")]
fn login(session: Session<'_>, user: &str) {
    session.from_callback(&callback_data(user, "t1"), None).unwrap();
}

/// `<user id> <session id>` for a signed-in, non-revoked session; 401 otherwise.
#[get("/me")]
fn me(session: AuthenticatedSession<'_>) -> String {
    format!("{} {}", session.user_id(), session.session_id().unwrap_or_default())
}

/// The user id of a signed-in session, read only (the cookie is never re-sealed, so its
/// value goes into the open cache and later requests are served from there); 401 otherwise.
#[get("/read")]
fn read(session: Session<'_>) -> Result<String, rocket::http::Status> {
    session.user_id().ok_or(rocket::http::Status::Unauthorized)
}

#[post("/revoke")]
async fn revoke(session: Session<'_>) -> Result<&'static str, Unavailable> {
    session.revoke().await.map(|()| "revoked").map_err(|_| Unavailable)
}

#[post("/revoke-user/<user>")]
async fn revoke_user(user: &str, revocations: Revocations) -> Result<&'static str, Unavailable> {
    let now = OffsetDateTime::now_utc();
    revocations.revoke_user_before(user, now).await.map(|()| "revoked").map_err(|_| Unavailable)
}

/// A cut-off `ago` seconds in the past, made now.
#[post("/revoke-user/<user>/<ago>")]
async fn revoke_user_ago(
    user: &str,
    ago: i64,
    revocations: Revocations,
) -> Result<&'static str, Unavailable> {
    let before = OffsetDateTime::now_utc() - rocket::time::Duration::seconds(ago);
    revocations.revoke_user_before(user, before).await.map(|()| "revoked").map_err(|_| Unavailable)
}

#[get("/stats")]
fn stats(revocations: Revocations) -> Json<Value> {
    let stats = revocations.stats();
    Json(json!({
        "sessions": stats.sessions, "users": stats.users, "memory_bytes": stats.memory_bytes,
        "caught_up": stats.caught_up, "catch_ups": stats.catch_ups,
    }))
}

/// 503: Redis could not be written (the revocation holds on this instance).
#[derive(Debug)]
struct Unavailable;

impl<'r> rocket::response::Responder<'r, 'static> for Unavailable {
    fn respond_to(self, _: &'r rocket::Request<'_>) -> rocket::response::Result<'static> {
        Err(rocket::http::Status::ServiceUnavailable)
    }
}

fn options(redis: &RedisServer, policy: UnavailablePolicy) -> SessionOptions {
    SessionOptions {
        secrets: SECRET.into(),
        secure: false,
        renew_after: 0,
        revocation: Some(RevocationOptions {
            url: redis.url(),
            on_unavailable: policy,
            ..RevocationOptions::default()
        }),
        ..SessionOptions::default()
    }
}

async fn instance(options: SessionOptions) -> Server {
    let rocket = rocket::build()
        .attach(WristbandSession::custom(options))
        .mount("/", routes![login, me, read, revoke, revoke_user, revoke_user_ago, stats]);
    Server::start(rocket).await
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}

/// The session cookie (`session=<value>`) a response set, if any.
fn session_cookie(resp: &reqwest::Response) -> Option<String> {
    resp.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("session=") && !v.starts_with("session=;"))
        .map(|v| v.split(';').next().unwrap().to_string())
}

/// Whether a response removes the session cookie.
fn removes_cookie(resp: &reqwest::Response) -> bool {
    resp.headers().get_all(SET_COOKIE).iter().any(|v| {
        let v = v.to_str().unwrap();
        v.starts_with("session=;") || (v.starts_with("session=") && v.contains("Max-Age=0"))
    })
}

/// The JSON sealed in a `session=<value>` cookie.
fn sealed_json(cookie: &str) -> Map<String, Value> {
    let options = SessionOptions { secrets: SECRET.into(), ..SessionOptions::default() };
    let codec = SessionCodec::new(&options).unwrap();
    codec.open(cookie.strip_prefix("session=").unwrap()).expect("the cookie opens")
}

async fn sign_in(server: &Server, user: &str) -> String {
    let resp = client().post(server.url(&format!("/login/{user}"))).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    session_cookie(&resp).expect("a login writes the session cookie")
}

/// `GET /me` with `cookie`: the status and body.
async fn me_with(server: &Server, cookie: &str) -> (StatusCode, String) {
    let resp = client().get(server.url("/me")).header(COOKIE, cookie).send().await.unwrap();
    (resp.status(), resp.text().await.unwrap())
}

async fn stats_of(server: &Server) -> Value {
    client().get(server.url("/stats")).send().await.unwrap().json().await.unwrap()
}

/// Polls `server` with `cookie` until it answers `want`; the time it took.
async fn until_status(
    server: &Server,
    cookie: &str,
    want: StatusCode,
    limit: Duration,
) -> Duration {
    let start = Instant::now();
    loop {
        let (status, _) = me_with(server, cookie).await;
        if status == want {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "still {status} after {limit:?}, want {want}");
        rocket::tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits until `server`'s stats say `caught_up == want`.
async fn until_caught_up(server: &Server, want: bool) {
    let start = Instant::now();
    while stats_of(server).await["caught_up"] != json!(want) {
        assert!(start.elapsed() < Duration::from_secs(10), "caught_up never became {want}");
        rocket::tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[rocket::async_test]
async fn a_session_revoked_on_one_instance_is_refused_on_the_other_within_one_second() {
    let redis = RedisServer::start();
    let a = instance(options(&redis, UnavailablePolicy::Refuse)).await;
    let b = instance(options(&redis, UnavailablePolicy::Refuse)).await;
    let cookie = sign_in(&a, "u1").await;
    let id = sealed_json(&cookie)["sessionId"].as_str().unwrap().to_string();
    // B accepts it, twice: the second time from its open cache.
    for _ in 0..2 {
        let (status, body) = me_with(&b, &cookie).await;
        assert_eq!((status, body), (StatusCode::OK, format!("u1 {id}")));
    }
    // A rolling renewal on B keeps the session id (renew_after = 0 re-seals on every request).
    let resp = client().get(b.url("/me")).header(COOKIE, &cookie).send().await.unwrap();
    let renewed = session_cookie(&resp).expect("renewed");
    assert_ne!(renewed, cookie);
    assert_eq!(sealed_json(&renewed)["sessionId"], json!(id));

    let resp = client().post(a.url("/revoke")).header(COOKIE, &cookie).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(removes_cookie(&resp), "revoke() also removes the cookie in this browser");
    // A refuses it at once, and removes the cookie.
    let resp = client().get(a.url("/me")).header(COOKIE, &cookie).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(removes_cookie(&resp));
    // B within a second, both the old and the renewed cookie (one was in B's open cache).
    let took = until_status(&b, &cookie, StatusCode::UNAUTHORIZED, Duration::from_secs(1)).await;
    eprintln!("revoked on A, refused on B after {took:?}");
    assert_eq!(me_with(&b, &renewed).await.0, StatusCode::UNAUTHORIZED);
    // Another user's session is not affected.
    let other = sign_in(&b, "u2").await;
    assert_eq!(me_with(&a, &other).await.0, StatusCode::OK);
    a.stop().await;
    b.stop().await;
}

/// The open cache remembers that a session was found valid, with the stamp of the revocation
/// memory it was checked against; any revocation changes the stamp, so a session served from
/// the cache is checked again and refused, on the instance that revoked it and on the others.
#[rocket::async_test]
async fn sessions_served_from_the_open_cache_are_refused_once_revoked() {
    let redis = RedisServer::start();
    let a = instance(options(&redis, UnavailablePolicy::Refuse)).await;
    let b = instance(options(&redis, UnavailablePolicy::Refuse)).await;
    let read_with = |server: &Server, cookie: &str| {
        let request = client().get(server.url("/read")).header(COOKIE, cookie);
        async move {
            let resp = request.send().await.unwrap();
            assert!(session_cookie(&resp).is_none(), "a read never re-seals");
            resp.status()
        }
    };
    let one = sign_in(&a, "u1").await;
    let two = sign_in(&a, "u2").await;
    // Opened in full, then twice from the cache (checked once, then by its stamp).
    for _ in 0..3 {
        for server in [&a, &b] {
            assert_eq!(read_with(server, &one).await, StatusCode::OK);
            assert_eq!(read_with(server, &two).await, StatusCode::OK);
        }
    }
    // One session, revoked on A: refused at once on A, within a second on B.
    let resp = client().post(a.url("/revoke")).header(COOKIE, &one).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(read_with(&a, &one).await, StatusCode::UNAUTHORIZED);
    let start = Instant::now();
    while read_with(&b, &one).await != StatusCode::UNAUTHORIZED {
        assert!(start.elapsed() < Duration::from_secs(1), "B still serves the revoked session");
        rocket::tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The other session was checked again and is still valid, from the cache.
    for server in [&a, &b] {
        assert_eq!(read_with(server, &two).await, StatusCode::OK);
        assert_eq!(read_with(server, &two).await, StatusCode::OK);
    }
    // A user cut-off made on B: refused at once on B, within a second on A.
    let resp = client().post(b.url("/revoke-user/u2")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(read_with(&b, &two).await, StatusCode::UNAUTHORIZED);
    let start = Instant::now();
    while read_with(&a, &two).await != StatusCode::UNAUTHORIZED {
        assert!(start.elapsed() < Duration::from_secs(1), "A still serves the cut-off session");
        rocket::tokio::time::sleep(Duration::from_millis(5)).await;
    }
    a.stop().await;
    b.stop().await;
}

#[rocket::async_test]
async fn a_user_cutoff_revokes_every_earlier_session_of_that_user_only() {
    let redis = RedisServer::start();
    let a = instance(options(&redis, UnavailablePolicy::Refuse)).await;
    let b = instance(options(&redis, UnavailablePolicy::Refuse)).await;
    let first = sign_in(&a, "u1").await;
    let second = sign_in(&b, "u1").await;
    let bystander = sign_in(&a, "u2").await;
    for cookie in [&first, &second, &bystander] {
        assert_eq!(me_with(&b, cookie).await.0, StatusCode::OK);
    }
    let resp = client().post(a.url("/revoke-user/u1")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let took = until_status(&b, &first, StatusCode::UNAUTHORIZED, Duration::from_secs(1)).await;
    eprintln!("user cut-off on A, refused on B after {took:?}");
    for server in [&a, &b] {
        assert_eq!(me_with(server, &first).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(me_with(server, &second).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(me_with(server, &bystander).await.0, StatusCode::OK);
    }
    // A login after the cut-off is a new session, not revoked.
    rocket::tokio::time::sleep(Duration::from_millis(5)).await;
    let again = sign_in(&b, "u1").await;
    assert_eq!(me_with(&a, &again).await.0, StatusCode::OK);
    assert_eq!(stats_of(&a).await["users"], json!(1));
    a.stop().await;
    b.stop().await;
}

/// Review finding 3: a session issued before a user cut-off in the past but renewed since
/// (rolling renewal keeps `sessionIssuedAt`) has cookies sealed until the cut-off was made.
/// The cut-off used to be kept only until `before + max_age + 61 s`: made late enough, it was
/// pruned from Redis at once, so an instance catching up afterwards never learnt it and the
/// renewed cookie worked (and could be renewed for ever). The review's probe at this scale:
/// `max_age = 60`, a session issued 10 minutes ago and renewed just now, a cut-off 5 minutes
/// ago made now, a fresh instance catching up.
#[rocket::async_test]
async fn a_user_cutoff_in_the_past_outlives_the_sessions_renewed_before_it_was_made() {
    let redis = RedisServer::start();
    let short = || SessionOptions { max_age: 60, ..options(&redis, UnavailablePolicy::Refuse) };
    let a = instance(short()).await;
    // A session issued 10 minutes ago and renewed every request since: its cookie, as the
    // last renewal but one sealed it (only a sealed cookie can carry an old issue time).
    let login = sign_in(&a, "u1").await;
    let mut data = sealed_json(&login);
    let issued_ms = data["sessionIssuedAt"].as_u64().unwrap() - 600_000;
    data.insert("sessionIssuedAt".into(), json!(issued_ms));
    let codec = SessionCodec::new(&short()).unwrap();
    let old = format!("session={}", codec.seal(&data).unwrap());
    // The renewal (renew_after = 0): a new cookie, the same session.
    let resp = client().get(a.url("/me")).header(COOKIE, &old).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let renewed = session_cookie(&resp).expect("renewed");
    assert_eq!(sealed_json(&renewed)["sessionIssuedAt"], json!(issued_ms));
    // An instance running before the cut-off (it learns it through pub/sub).
    let b = instance(short()).await;
    assert_eq!(me_with(&b, &renewed).await.0, StatusCode::OK);

    // "Sign u1 out of every session issued before 5 minutes ago", made now.
    let resp = client().post(a.url("/revoke-user/u1/300")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(me_with(&a, &renewed).await.0, StatusCode::UNAUTHORIZED);
    until_status(&b, &renewed, StatusCode::UNAUTHORIZED, Duration::from_secs(1)).await;

    // Redis keeps it at least max_age from now (before: pruned at once, the key's TTL 1 s).
    let mut redis_client =
        redis::Client::open(redis.url()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let key = "wristband_session:revoked-user-cutoffs";
    let (members, ttl): (Vec<String>, i64) = redis::pipe()
        .cmd("ZRANGE")
        .arg(key)
        .arg(0)
        .arg(-1)
        .cmd("TTL")
        .arg(key)
        .query_async(&mut redis_client)
        .await
        .unwrap();
    eprintln!("Redis holds {members:?}, key TTL {ttl} s");
    assert_eq!(members.len(), 1, "{members:?}");
    assert!(members[0].ends_with(" u1"), "{members:?}");
    assert!(ttl > 60, "kept at least max_age after it was made: TTL {ttl} s");

    // An instance started now catches up from Redis and refuses the renewed cookie, and the
    // one before it (which it would also refuse to renew).
    let fresh = instance(short()).await;
    assert_eq!(stats_of(&fresh).await["caught_up"], json!(true));
    assert_eq!(stats_of(&fresh).await["users"], json!(1));
    for cookie in [&renewed, &old] {
        let (status, _) = me_with(&fresh, cookie).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "a fresh instance refuses it");
    }
    // The cut-off reaches only sessions issued before it: a login now is accepted everywhere.
    let again = sign_in(&fresh, "u1").await;
    for server in [&a, &b, &fresh] {
        assert_eq!(me_with(server, &again).await.0, StatusCode::OK);
    }
    for server in [a, b, fresh] {
        server.stop().await;
    }
}

#[rocket::async_test]
async fn a_revoked_cookie_replayed_later_is_refused_even_by_a_new_instance() {
    let redis = RedisServer::start();
    let a = instance(options(&redis, UnavailablePolicy::Refuse)).await;
    let cookie = sign_in(&a, "u1").await;
    let resp = client().post(a.url("/revoke")).header(COOKIE, &cookie).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    a.stop().await;
    rocket::tokio::time::sleep(Duration::from_millis(1500)).await;
    // An instance started afterwards loads the revocation from Redis before it serves.
    let c = instance(options(&redis, UnavailablePolicy::Refuse)).await;
    assert_eq!(stats_of(&c).await["caught_up"], json!(true));
    let resp = client().get(c.url("/me")).header(COOKIE, &cookie).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(removes_cookie(&resp), "a revoked cookie is removed like an expired one");
    c.stop().await;
}

/// Kills Redis under two instances, one per failure policy, revokes while it is down, starts
/// it again empty (no persistence), and checks that nothing revoked is lost.
#[rocket::async_test]
async fn redis_killed_and_restarted_policies_hold_and_no_revocation_is_lost() {
    let mut redis = RedisServer::start();
    let refuse = instance(options(&redis, UnavailablePolicy::Refuse)).await;
    let accept = instance(options(&redis, UnavailablePolicy::Accept)).await;
    let revoked_before = sign_in(&refuse, "u1").await;
    let valid = sign_in(&refuse, "u2").await;
    let revoked_during = sign_in(&accept, "u3").await;
    let resp =
        client().post(refuse.url("/revoke")).header(COOKIE, &revoked_before).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    until_status(&accept, &revoked_before, StatusCode::UNAUTHORIZED, Duration::from_secs(1)).await;

    redis.kill();
    until_caught_up(&refuse, false).await;
    until_caught_up(&accept, false).await;

    // What memory holds is enforced under either policy.
    for server in [&refuse, &accept] {
        assert_eq!(me_with(server, &revoked_before).await.0, StatusCode::UNAUTHORIZED);
    }
    // `refuse`: a session it cannot check gets an empty session, and its cookie is kept.
    let resp = client().get(refuse.url("/me")).header(COOKIE, &valid).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(!removes_cookie(&resp), "a withheld session's cookie is not removed");
    // `accept`: it is accepted (and logged).
    assert_eq!(me_with(&accept, &valid).await.0, StatusCode::OK);
    // A revocation while Redis is down: refused where it was made, Redis could not be told.
    let resp =
        client().post(accept.url("/revoke")).header(COOKIE, &revoked_during).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(me_with(&accept, &revoked_during).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        me_with(&refuse, &revoked_during).await.0,
        StatusCode::UNAUTHORIZED,
        "withheld: not caught up"
    );

    redis.start_again();
    until_caught_up(&refuse, true).await;
    until_caught_up(&accept, true).await;
    // The valid session works again on `refuse` with the cookie it kept.
    assert_eq!(me_with(&refuse, &valid).await.0, StatusCode::OK);
    // Nothing lost: Redis came back empty, the instances wrote back what they held, and the
    // revocation made during the outage reached the other instance.
    for server in [&refuse, &accept] {
        assert_eq!(me_with(server, &revoked_before).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(me_with(server, &revoked_during).await.0, StatusCode::UNAUTHORIZED);
    }
    // And a new instance, which knew nothing, learns both from Redis.
    let fresh = instance(options(&redis, UnavailablePolicy::Refuse)).await;
    assert_eq!(stats_of(&fresh).await["sessions"], json!(2));
    assert_eq!(me_with(&fresh, &revoked_during).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(me_with(&fresh, &valid).await.0, StatusCode::OK);
    for server in [refuse, accept, fresh] {
        server.stop().await;
    }
}

/// The documented figure: 10,000 revoked sessions take at most 1 MiB of memory per instance.
#[rocket::async_test]
async fn ten_thousand_revocations_are_held_within_one_mebibyte() {
    let redis = RedisServer::start();
    let a = instance(options(&redis, UnavailablePolicy::Refuse)).await;
    let b = instance(options(&redis, UnavailablePolicy::Refuse)).await;
    // Revoke 10,000 sessions from a background job: the handle of an ignited, not serving,
    // instance (ids shaped as `Session::session_id` gives them).
    let rocket = rocket::build()
        .attach(WristbandSession::custom(options(&redis, UnavailablePolicy::Refuse)));
    let rocket = rocket.ignite().await.unwrap();
    let revocations = rocket.state::<Revocations>().unwrap().clone();
    let mut ids = Vec::new();
    for i in 0..10_000u32 {
        let mut bytes = [0u8; 16];
        bytes[..4].copy_from_slice(&i.to_be_bytes());
        bytes[4..8].copy_from_slice(&0x5eed_u32.to_be_bytes());
        use base64::Engine;
        ids.push(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
    }
    let start = Instant::now();
    for chunk in ids.chunks(100) {
        let writes = chunk.iter().map(|id| revocations.revoke_session(id));
        for result in rocket::futures::future::join_all(writes).await {
            result.unwrap();
        }
    }
    eprintln!("10,000 revocations written in {:?}", start.elapsed());
    // The running instances learn them through pub/sub, a new one loads them at start.
    let c = instance(options(&redis, UnavailablePolicy::Refuse)).await;
    for server in [&a, &b, &c] {
        let start = Instant::now();
        while stats_of(server).await["sessions"] != json!(10_000) {
            assert!(start.elapsed() < Duration::from_secs(5), "{}", stats_of(server).await);
            rocket::tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let bytes = stats_of(server).await["memory_bytes"].as_u64().unwrap();
        eprintln!("10,000 revoked sessions held in {bytes} bytes");
        assert!(bytes <= 1024 * 1024, "{bytes} bytes");
    }
    drop(rocket);
    for server in [a, b, c] {
        server.stop().await;
    }
}

#[post("/touch")]
fn touch(session: Session<'_>) -> String {
    session.insert("n", 1).unwrap();
    session.keys().join(",")
}

#[post("/clear")]
fn clear(session: Session<'_>) -> String {
    session.clear();
    session.is_empty().to_string()
}

#[post("/login-custom")]
fn login_custom(session: Session<'_>) -> String {
    let mut custom = Map::new();
    custom.insert("sessionId".into(), json!("mine"));
    match session.from_callback(&callback_data("u1", "t1"), Some(custom)) {
        Err(e) => e.to_string(),
        Ok(()) => "accepted".into(),
    }
}

#[rocket::async_test]
async fn a_session_gets_an_id_when_first_written_and_keeps_it_until_cleared_or_replaced() {
    use rocket::local::asynchronous::Client;
    use wristband_rocket_session::testing;
    let redis = RedisServer::start();
    let rocket = rocket::build()
        .attach(WristbandSession::custom(options(&redis, UnavailablePolicy::Refuse)))
        .mount("/", routes![login, touch, clear, login_custom]);
    let client = Client::untracked(rocket).await.unwrap();
    let written = |response: &rocket::local::asynchronous::LocalResponse<'_>| {
        testing::written_session(client.rocket(), response.cookies()).unwrap()
    };
    let response = client.post("/login/u1").dispatch().await;
    let first = written(&response);
    let id = first["sessionId"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 22);
    let issued = first["sessionIssuedAt"].as_u64().unwrap();
    let now_ms = (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as u64;
    assert!(issued <= now_ms && now_ms - issued < 5_000, "{issued} vs {now_ms}");
    let cookie = response.cookies().get("session").unwrap().clone();

    // A write keeps the id and issued-at; `keys()` does not show them.
    let response = client.post("/touch").cookie(cookie.clone()).dispatch().await;
    let again = written(&response);
    assert_eq!((&again["sessionId"], &again["sessionIssuedAt"]), (&json!(id), &json!(issued)));
    assert!(!response.into_string().await.unwrap().contains("session"));
    // `clear()` starts a new session, with a new id; `is_empty()` ignores the id.
    let response = client.post("/clear").cookie(cookie.clone()).dispatch().await;
    let cleared = written(&response);
    assert_ne!(cleared["sessionId"], json!(id));
    assert_eq!(cleared.len(), 2);
    assert_eq!(response.into_string().await.as_deref(), Some("true"));
    // So does a new login.
    let response = client.post("/login/u1").cookie(cookie).dispatch().await;
    assert_ne!(written(&response)["sessionId"], json!(id));
    // Custom fields cannot take the reserved keys.
    let response = client.post("/login-custom").dispatch().await;
    assert!(response.into_string().await.unwrap().contains("`sessionId`"));
}

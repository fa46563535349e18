//! The open cache (recently opened cookie values, kept per process) keeps every rule of
//! `docs/cookie-format.md` §5: a value read again is still refused once it expires or once
//! issued-at + `max_age` has passed, a value one character off a cached one is refused, and a
//! value that was written over is not served from the cache as if it were still current. The
//! fields an open-cache hit answers without a look-up (`isAuthenticated`, `userId`,
//! `tenantId`, `expiresAt`) follow every change the request makes, whichever of its guards makes
//! it.

use rocket::http::Status;
use rocket::local::asynchronous::Client;
use serde_json::{json, Map, Value};
use time::{Duration, OffsetDateTime};
use wristband_rocket_session::{
    AuthenticatedSession, Session, SessionCodec, SessionOptions, WristbandSession,
};

const SECRET: &str = "open-cache-test-secret-0123456789abcdefghij";

#[get("/read")]
fn read(session: Session<'_>) -> String {
    session.get::<String>("who").ok().flatten().unwrap_or_else(|| "nobody".into())
}

#[get("/me")]
fn me(session: AuthenticatedSession<'_>) -> String {
    session.user_id()
}

#[get("/set/<who>")]
fn set(session: Session<'_>, who: &str) {
    session.insert("who", who).unwrap();
}

/// The four fields as the accessors give them.
fn fields(session: &Session<'_>) -> String {
    format!(
        "{} {:?} {:?} {:?}",
        session.is_authenticated(),
        session.user_id(),
        session.tenant_id(),
        session.expires_at()
    )
}

/// Reads the fields, changes them one way or another (`how`), reads them again.
#[get("/change/<how>")]
fn change(session: Session<'_>, how: &str) -> String {
    let before = fields(&session);
    match how {
        "insert" => {
            session.insert("isAuthenticated", false).unwrap();
            session.insert("userId", "u2").unwrap();
            session.insert("expiresAt", 42).unwrap();
            session.remove("tenantId");
        }
        "clear" => session.clear(),
        "destroy" => session.destroy(),
        "login" => {
            session.clear();
            session.insert("isAuthenticated", true).unwrap();
            session.insert("userId", "u3").unwrap();
            session.insert("tenantId", "t3").unwrap();
        }
        _ => {}
    }
    format!("{before} | {}", fields(&session))
}

/// Two guards of one request: `first` reads, one of them changes the session as `how` says,
/// then both read again. A guard that read an open-cache hit on its own must see the other's
/// change as soon as there is one.
#[get("/two/<how>")]
fn two(first: Session<'_>, second: AuthenticatedSession<'_>, how: &str) -> String {
    let before = format!("{} {}", fields(&first), fields(&second));
    match how {
        "second-inserts" => second.insert("userId", "u2").unwrap(),
        "second-destroys" => second.destroy(),
        "first-inserts" => first.insert("userId", "u3").unwrap(),
        _ => {}
    }
    format!("{before} | {} {}", fields(&first), fields(&second))
}

fn options(max_age: i64) -> SessionOptions {
    SessionOptions { secrets: SECRET.into(), max_age, ..SessionOptions::default() }
}

async fn client(options: SessionOptions) -> Client {
    let rocket = rocket::custom(rocket::Config::figment().merge(("log_level", "off")))
        .attach(WristbandSession::custom(options))
        .mount("/", routes![read, me, set, change, two]);
    Client::untracked(rocket).await.unwrap()
}

fn data() -> Map<String, Value> {
    json!({ "who": "ada", "isAuthenticated": true, "userId": "u1", "tenantId": "t1",
            "expiresAt": 1_767_225_600_000_i64 })
    .as_object()
    .unwrap()
    .clone()
}

/// [`fields`] of [`data`].
const DATA_FIELDS: &str = "true Some(\"u1\") Some(\"t1\") Some(1767225600000)";

/// A client (`max_age` one hour) and a cookie value sealing [`data`].
async fn client_and_value() -> (Client, String) {
    let options = options(3600);
    let value = SessionCodec::new(&options).unwrap().seal(&data()).unwrap();
    (client(options).await, value)
}

async fn read_with(client: &Client, value: &str) -> (String, bool) {
    let response = client.get("/read").cookie(("session", value.to_string())).dispatch().await;
    let removed = response.headers().get("Set-Cookie").any(|h| h.starts_with("session=;"));
    (response.into_string().await.unwrap(), removed)
}

#[rocket::async_test]
async fn a_value_read_many_times_still_expires() {
    // Sealed 1 s into its 3 s lifetime: read (and cached) now, refused 2.5 s later. Times are
    // whole seconds, so at least one second of validity is left for the first reads.
    let options = options(3);
    let codec = SessionCodec::new(&options).unwrap();
    let value = codec.seal_at(&data(), OffsetDateTime::now_utc() - Duration::seconds(1)).unwrap();
    let client = client(options).await;
    for _ in 0..5 {
        assert_eq!(read_with(&client, &value).await, ("ada".into(), false));
    }
    rocket::tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(read_with(&client, &value).await, ("nobody".into(), true));
    let response = client.get("/me").cookie(("session", value)).dispatch().await;
    assert_eq!(response.status(), Status::Unauthorized);
}

#[rocket::async_test]
async fn the_configured_max_age_is_applied_to_cached_values_too() {
    // Sealed for a day 60 s ago; this app allows 62 s: valid now, not 2.5 s later.
    let day = SessionCodec::new(&options(86_400)).unwrap();
    let value = day.seal_at(&data(), OffsetDateTime::now_utc() - Duration::seconds(60)).unwrap();
    let client = client(options(62)).await;
    assert_eq!(read_with(&client, &value).await.0, "ada");
    assert_eq!(read_with(&client, &value).await.0, "ada");
    rocket::tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(read_with(&client, &value).await, ("nobody".into(), true));
}

#[rocket::async_test]
async fn only_the_exact_cached_value_opens() {
    let options = options(3600);
    let value = SessionCodec::new(&options).unwrap().seal(&data()).unwrap();
    let client = client(options).await;
    assert_eq!(read_with(&client, &value).await.0, "ada");
    assert_eq!(read_with(&client, &value).await.0, "ada");
    let mut near = Vec::new();
    let last = value.len() - 1;
    near.push(value[..last].to_string());
    near.push(format!("{value}A"));
    let flip = |c: u8| if c == b'A' { 'B' } else { 'A' };
    near.push(format!("{}{}", &value[..last], flip(value.as_bytes()[last])));
    near.push(format!("{}{}", flip(value.as_bytes()[0]), &value[1..]));
    for tampered in near {
        assert_eq!(read_with(&client, &tampered).await, ("nobody".into(), true), "{tampered}");
    }
}

#[rocket::async_test]
async fn a_written_session_is_read_back_new_and_the_old_value_still_opens_as_it_was() {
    let options = options(3600);
    let old = SessionCodec::new(&options).unwrap().seal(&data()).unwrap();
    let client = client(options.clone()).await;
    assert_eq!(read_with(&client, &old).await.0, "ada");
    let response = client.get("/set/grace").cookie(("session", old.clone())).dispatch().await;
    let header = response.headers().get_one("Set-Cookie").unwrap().to_string();
    let new = header["session=".len()..header.find(';').unwrap()].to_string();
    assert_eq!(read_with(&client, &new).await.0, "grace");
    assert_eq!(read_with(&client, &new).await.0, "grace");
    // The old value is a valid cookie too (stateless sessions): it still opens, unchanged.
    assert_eq!(read_with(&client, &old).await.0, "ada");
}

#[rocket::async_test]
async fn the_fields_of_a_cached_session_follow_the_requests_changes() {
    let (client, value) = client_and_value().await;
    let before = DATA_FIELDS;
    for (how, after) in [
        ("none", before),
        ("insert", "false Some(\"u2\") None Some(42)"),
        ("clear", "false None None None"),
        ("destroy", "false None None None"),
        ("login", "true Some(\"u3\") Some(\"t3\") None"),
    ] {
        // The first request opens the value in full and caches it; the second is a hit.
        for _ in 0..2 {
            let response = client.get(format!("/change/{how}")).cookie(("session", value.clone()));
            let body = response.dispatch().await.into_string().await.unwrap();
            assert_eq!(body, format!("{before} | {after}"), "{how}");
        }
    }
    assert_eq!(read_with(&client, &value).await.0, "ada");
}

#[rocket::async_test]
async fn every_guard_of_a_request_sees_the_change_another_one_made() {
    let (client, value) = client_and_value().await;
    let before = format!("{DATA_FIELDS} {DATA_FIELDS}");
    for (how, after, writes) in [
        ("none", before.clone(), false),
        ("second-inserts", before.replace("u1", "u2"), true),
        ("second-destroys", "false None None None false None None None".to_string(), true),
        ("first-inserts", before.replace("u1", "u3"), true),
    ] {
        // The first request opens the value in full and caches it; the second is a hit.
        for round in 0..2 {
            let request = client.get(format!("/two/{how}")).cookie(("session", value.clone()));
            let response = request.dispatch().await;
            assert_eq!(response.status(), Status::Ok, "{how} {round}");
            let set_cookie =
                response.headers().get("Set-Cookie").any(|h| h.starts_with("session="));
            assert_eq!(set_cookie, writes, "{how} {round}");
            let body = response.into_string().await.unwrap();
            assert_eq!(body, format!("{before} | {after}"), "{how} {round}");
        }
    }
}

//! Hostile session cookies (DESIGN.md §4 "Open", §5): whatever a client sends as its session
//! cookie, a read-only handler answers 200 with an empty session and the response removes the
//! cookie; nothing panics or answers 5xx. Covers malformed values, tampering, other names,
//! unknown keys, expiry and clock skew, wrong versions, non-object plaintexts sealed with the
//! right key (built here from DESIGN.md §4 with hkdf/aes-gcm/sha2), and oversized headers, both
//! through `rocket::local` and as raw `Cookie` headers over TCP.

use crate::support::server;

use server::Server;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hkdf::Hkdf;
use rand::{Rng, RngCore};
use rocket::http::Status;
use rocket::local::asynchronous::Client;
use rocket::{Build, Rocket};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};
use wristband_rocket_session::{Session, SessionCodec, SessionOptions, WristbandSession};

const SECRET: &str = "bad-cookies-test-secret-0123456789abcdefgh";
const OTHER_SECRET: &str = "an-unconfigured-secret-0123456789abcdefghi";
const EMPTY: &str = "empty=true keys=0";

/// Only reads the session.
#[get("/read")]
fn read(session: Session<'_>) -> String {
    format!("empty={} keys={}", session.is_empty(), session.keys().len())
}

fn options() -> SessionOptions {
    SessionOptions { secrets: SECRET.into(), ..SessionOptions::default() }
}

fn app(options: SessionOptions) -> Rocket<Build> {
    rocket::custom(rocket::Config::figment().merge(("log_level", "off")))
        .attach(WristbandSession::custom(options))
        .mount("/", routes![read])
}

async fn start(options: SessionOptions) -> Client {
    Client::tracked(app(options)).await.expect("the test app launches")
}

fn codec(options: &SessionOptions) -> SessionCodec {
    SessionCodec::new(options).expect("valid test options")
}

fn small_session() -> Map<String, Value> {
    json!({ "a": 1 }).as_object().unwrap().clone()
}

fn unix_now() -> u64 {
    OffsetDateTime::now_utc().unix_timestamp() as u64
}

/// Checks a response to `/read`: 200 and an empty session, and (when `removal`) `Set-Cookie`
/// headers that remove `session` first and then only its chunks (`session.1`, … when chunking
/// is on: every chunk name goes, carried or not), else none.
fn check(status: Status, body: &str, set_cookies: &[String], removal: bool, what: &str) {
    assert_eq!(status, Status::Ok, "{what}");
    assert_eq!(body, EMPTY, "{what}");
    if !removal {
        assert!(set_cookies.is_empty(), "{what}: {set_cookies:?}");
        return;
    }
    assert!(!set_cookies.is_empty(), "{what}: no removal");
    assert!(set_cookies[0].starts_with("session=;"), "{what}: not a removal: {set_cookies:?}");
    for (i, header) in set_cookies.iter().enumerate().skip(1) {
        assert!(header.starts_with(&format!("session.{i}=;")), "{what}: {header}");
    }
    for header in set_cookies {
        assert!(header.split("; ").any(|a| a == "Max-Age=0"), "{what}: {header}");
        assert!(header.split("; ").any(|a| a == "Path=/"), "{what}: {header}");
    }
}

/// Sends `cookies` to `/read` and expects an empty session and a removal cookie.
async fn assert_rejected(client: &Client, cookies: Vec<(String, String)>, what: &str) {
    let response = client.get("/read").cookies(cookies).dispatch().await;
    let status = response.status();
    let set_cookies: Vec<String> = response.headers().get("Set-Cookie").map(String::from).collect();
    let body = response.into_string().await.unwrap_or_default();
    check(status, &body, &set_cookies, true, what);
}

/// Sends `value` as the session cookie and expects an empty session and a removal cookie.
async fn reject(client: &Client, value: impl Into<String>, what: &str) {
    assert_rejected(client, vec![("session".into(), value.into())], what).await;
}

/// Sends `value` as the session cookie and expects it to open with `keys` keys, writing nothing.
async fn accept(client: &Client, value: &str, keys: usize, what: &str) {
    let response = client.get("/read").cookie(("session", value.to_string())).dispatch().await;
    assert_eq!(response.status(), Status::Ok, "{what}");
    assert_eq!(response.headers().get("Set-Cookie").count(), 0, "{what}");
    let body = response.into_string().await.unwrap_or_default();
    assert_eq!(body, format!("empty={} keys={keys}", keys == 0), "{what}");
}

// ---------------------------------------------------------------------------------------------
// A sealer written from DESIGN.md §4 alone, for plaintexts the codec refuses to seal
// ---------------------------------------------------------------------------------------------

/// HKDF-SHA256 key and its 4-byte key id, for `secret`.
fn derive(secret: &str) -> ([u8; 32], [u8; 4]) {
    let mut key = [0u8; 32];
    Hkdf::<Sha256>::new(Some(b"wristband-session-v1"), secret.as_bytes())
        .expand(b"aes-gcm-encryption", &mut key)
        .unwrap();
    let digest = Sha256::digest(key);
    (key, [digest[0], digest[1], digest[2], digest[3]])
}

/// Seals `json` (any bytes) as format v1 would, but with `version` as the first byte (the
/// associated data keeps `0x01`, so only the version byte is wrong when `version != 1`).
fn seal_raw(version: u8, issued_at: u64, expires_at: u64, json: &[u8]) -> String {
    let (key, id) = derive(SECRET);
    let mut nonce = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut nonce);
    let mut aad = vec![1u8];
    aad.extend_from_slice(&id);
    aad.extend_from_slice(b"session");
    let mut plaintext = issued_at.to_be_bytes().to_vec();
    plaintext.extend_from_slice(&expires_at.to_be_bytes());
    plaintext.extend_from_slice(json);
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key));
    let sealed =
        cipher.encrypt(Nonce::from_slice(&nonce), Payload { msg: &plaintext, aad: &aad }).unwrap();
    let mut bytes = vec![version];
    bytes.extend_from_slice(&id);
    bytes.extend_from_slice(&nonce);
    bytes.extend_from_slice(&sealed);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Seals `json` correctly (v1, issued now, expiring in an hour).
fn seal_json(json: &[u8]) -> String {
    let now = unix_now();
    seal_raw(1, now, now + 3600, json)
}

#[rocket::async_test]
async fn the_hand_made_sealer_agrees_with_the_codec() {
    // Without this, the rejections of hand-sealed values below would prove nothing.
    let value = seal_json(br#"{"a":1,"b":[true]}"#);
    let opened = codec(&options()).open(&value).expect("the codec opens the hand-sealed value");
    assert_eq!(Value::Object(opened), json!({ "a": 1, "b": [true] }));
    let client = start(options()).await;
    accept(&client, &value, 2, "hand-sealed object").await;
    accept(&client, &seal_json(b"{}"), 0, "hand-sealed empty object").await;
}

// ---------------------------------------------------------------------------------------------
// Malformed values
// ---------------------------------------------------------------------------------------------

#[rocket::async_test]
async fn empty_value() {
    let client = start(options()).await;
    reject(&client, "", "empty value").await;
}

#[rocket::async_test]
async fn values_that_are_not_base64url() {
    let client = start(options()).await;
    let values = [
        "!!!",
        " ",
        "a b c",
        "%zz",
        "%00",
        "abc=",
        "====",
        "YWJj+/8",
        "\"quoted\"",
        "séssion☃",
        "\t",
        "\u{0}",
        "a\\b",
        ".",
    ];
    for value in values {
        reject(&client, value, &format!("not base64url: {value:?}")).await;
    }
}

#[rocket::async_test]
async fn base64url_of_random_bytes() {
    let client = start(options()).await;
    let mut rng = rand::thread_rng();
    for len in 0..300 {
        let mut bytes = vec![0u8; len];
        rng.fill_bytes(&mut bytes);
        reject(&client, URL_SAFE_NO_PAD.encode(&bytes), &format!("{len} random bytes")).await;
    }
    // Random bytes behind a correct version byte and key id reach the decryption.
    let (_, id) = derive(SECRET);
    for len in 0..120 {
        let mut bytes = vec![1u8];
        bytes.extend_from_slice(&id);
        bytes.extend((0..len).map(|_| rng.r#gen::<u8>()));
        let what = format!("v1 header and key id, then {len} random bytes");
        reject(&client, URL_SAFE_NO_PAD.encode(&bytes), &what).await;
    }
}

#[rocket::async_test]
async fn every_truncation_of_a_valid_value() {
    let client = start(options()).await;
    let value = codec(&options()).seal(&small_session()).unwrap();
    accept(&client, &value, 1, "the untruncated value").await;
    for len in 0..value.len() {
        reject(&client, &value[..len], &format!("truncated to {len} of {}", value.len())).await;
    }
}

#[rocket::async_test]
async fn every_single_bit_flip_of_a_valid_value() {
    let client = start(options()).await;
    let value = codec(&options()).seal(&small_session()).unwrap();
    accept(&client, &value, 1, "the unflipped value").await;
    let bytes = URL_SAFE_NO_PAD.decode(&value).unwrap();
    for bit in 0..bytes.len() * 8 {
        let mut flipped = bytes.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        reject(&client, URL_SAFE_NO_PAD.encode(&flipped), &format!("bit {bit} flipped")).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Well-formed values that must still be refused
// ---------------------------------------------------------------------------------------------

#[rocket::async_test]
async fn a_valid_value_of_another_cookie_name() {
    let client = start(options()).await;
    let other = codec(&SessionOptions { cookie_name: "other".into(), ..options() });
    let value = other.seal(&small_session()).unwrap();
    assert!(other.open(&value).is_some());
    reject(&client, value, "sealed for cookie `other`").await;
}

#[rocket::async_test]
async fn a_value_sealed_with_an_unconfigured_secret() {
    let client = start(options()).await;
    let stranger = codec(&SessionOptions { secrets: OTHER_SECRET.into(), ..options() });
    let value = stranger.seal(&small_session()).unwrap();
    reject(&client, value, "unknown key id").await;
}

#[rocket::async_test]
async fn expired_values() {
    let client = start(options()).await;
    let codec = codec(&options());
    let now = OffsetDateTime::now_utc();
    // Sealed exactly max_age ago (expires-at = now), an hour and a second ago, a day ago.
    for ago in [3600, 3601, 86_400] {
        let value = codec.seal_at(&small_session(), now - Duration::seconds(ago)).unwrap();
        reject(&client, value, &format!("sealed {ago} s ago")).await;
    }
    // Hand-sealed: issued a moment ago but already expired.
    let unix = unix_now();
    reject(&client, seal_raw(1, unix - 10, unix - 1, br#"{"a":1}"#), "expires-at past").await;
    // Still valid a bit before expiry (sanity check for the cases above).
    let value = codec.seal_at(&small_session(), now - Duration::seconds(3500)).unwrap();
    accept(&client, &value, 1, "sealed 3500 s ago").await;
}

#[rocket::async_test]
async fn future_dated_values() {
    let client = start(options()).await;
    let codec = codec(&options());
    let now = OffsetDateTime::now_utc();
    for ahead in [75, 600, 86_400] {
        let value = codec.seal_at(&small_session(), now + Duration::seconds(ahead)).unwrap();
        reject(&client, value, &format!("issued {ahead} s ahead")).await;
    }
    // Clock skew of 30 s between instances is accepted.
    let value = codec.seal_at(&small_session(), now + Duration::seconds(30)).unwrap();
    accept(&client, &value, 1, "issued 30 s ahead").await;
}

#[rocket::async_test]
async fn version_byte_two() {
    let client = start(options()).await;
    let now = unix_now();
    accept(&client, &seal_raw(1, now, now + 3600, br#"{"a":1}"#), 1, "version 1").await;
    for version in [0, 2, 0xff] {
        let value = seal_raw(version, now, now + 3600, br#"{"a":1}"#);
        reject(&client, value, &format!("version byte {version}")).await;
    }
    // The codec's own value with its version byte changed to 2.
    let mut bytes =
        URL_SAFE_NO_PAD.decode(codec(&options()).seal(&small_session()).unwrap()).unwrap();
    bytes[0] = 2;
    reject(&client, URL_SAFE_NO_PAD.encode(bytes), "codec value, version byte 2").await;
}

#[rocket::async_test]
async fn sealed_plaintexts_that_are_not_json_objects() {
    let client = start(options()).await;
    let plaintexts: [&[u8]; 12] = [
        b"[]",
        b"[1,2]",
        b"1",
        b"\"x\"",
        b"null",
        b"true",
        b"",
        b"{",
        b"{\"a\":1}garbage",
        b"\xff\xfe",
        b"{\"a\":\"\xff\"}",
        b"\xef\xbb\xbf{}",
    ];
    for json in plaintexts {
        let what = format!("sealed plaintext {:?}", String::from_utf8_lossy(json));
        reject(&client, seal_json(json), &what).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Sizes and counts
// ---------------------------------------------------------------------------------------------

/// `len` random characters that are safe in a raw `Cookie` header (no `;`, `,`, `%`, space).
fn junk(len: usize) -> String {
    const CHARS: &[u8] =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!*+/=:~";
    let mut rng = rand::thread_rng();
    (0..len).map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char).collect()
}

#[rocket::async_test]
async fn six_kilobytes_of_junk() {
    let client = start(options()).await;
    reject(&client, junk(6 * 1024), "6 KB of junk").await;
    let mut bytes = vec![0u8; 4608];
    rand::thread_rng().fill_bytes(&mut bytes);
    reject(&client, URL_SAFE_NO_PAD.encode(bytes), "6 KB of base64url").await;

    // With three chunks allowed, 6 KB is within the length limit and reaches decryption.
    let chunked = SessionOptions { max_cookie_chunks: 3, ..options() };
    let client = start(chunked).await;
    reject(&client, junk(6 * 1024), "6 KB of junk, chunking on").await;
    let (_, id) = derive(SECRET);
    let mut bytes = vec![1u8];
    bytes.extend_from_slice(&id);
    bytes.extend((0..4600).map(|_| rand::random::<u8>()));
    reject(&client, URL_SAFE_NO_PAD.encode(bytes), "6 KB with a v1 header, chunking on").await;
}

#[rocket::async_test]
async fn a_hundred_cookies_in_one_request() {
    let client = start(options()).await;
    let mut cookies: Vec<(String, String)> =
        (0..99).map(|i| (format!("c{i}"), format!("value-{i}"))).collect();
    cookies.insert(50, ("session".into(), junk(40)));
    assert_eq!(cookies.len(), 100);
    assert_rejected(&client, cookies, "100 cookies, session junk").await;
}

#[rocket::async_test]
async fn broken_chunk_sets() {
    let chunked = SessionOptions { max_cookie_chunks: 3, ..options() };
    let client = start(chunked.clone()).await;
    let valid = codec(&chunked).seal(&small_session()).unwrap();
    accept(&client, &valid, 1, "one valid chunk").await;
    let (head, tail) = valid.split_at(valid.len() / 2);
    let cases: [(&str, Vec<(&str, &str)>); 5] = [
        ("an orphan second chunk", vec![("session.1", tail)]),
        ("an orphan third chunk", vec![("session.2", tail)]),
        ("a valid value followed by a junk chunk", vec![("session", &valid), ("session.1", "x")]),
        ("a split value, chunks swapped", vec![("session", tail), ("session.1", head)]),
        ("a split value with a junk middle", vec![("session", head), ("session.1", "A")]),
    ];
    for (what, cookies) in cases {
        let presented: Vec<String> = cookies.iter().map(|(name, _)| name.to_string()).collect();
        let mut request = client.get("/read");
        for (name, value) in cookies {
            request = request.cookie((name.to_string(), value.to_string()));
        }
        let response = request.dispatch().await;
        assert_eq!(response.status(), Status::Ok, "{what}");
        let set_cookies: Vec<String> =
            response.headers().get("Set-Cookie").map(String::from).collect();
        assert_eq!(response.into_string().await.unwrap_or_default(), EMPTY, "{what}");
        // Every header is a removal, and every chunk presented is removed.
        assert!(
            set_cookies.iter().all(|h| h.contains("=;") && h.contains("; Max-Age=0")),
            "{what}: {set_cookies:?}"
        );
        for name in presented {
            let prefix = format!("{name}=;");
            assert!(set_cookies.iter().any(|h| h.starts_with(&prefix)), "{what}: {set_cookies:?}");
        }
    }
    // The split value in order opens (sanity check for the cases above).
    let response = client.get("/read").cookie(("session", head)).cookie(("session.1", tail));
    let body = response.dispatch().await.into_string().await.unwrap_or_default();
    assert_eq!(body, "empty=false keys=1");
}

// ---------------------------------------------------------------------------------------------
// Raw `Cookie` headers over TCP (the local client does not parse a `Cookie` header)
// ---------------------------------------------------------------------------------------------

/// GET `/read` with `cookie_header` as the raw `Cookie` header.
async fn read_over_tcp(
    http: &reqwest::Client,
    base: &str,
    cookie_header: &str,
) -> (Status, String, Vec<String>) {
    let response = http
        .get(format!("{base}/read"))
        .header("Cookie", cookie_header)
        .send()
        .await
        .expect("the server answers");
    let status = Status::from_code(response.status().as_u16()).unwrap();
    let set_cookies = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    (status, response.text().await.unwrap(), set_cookies)
}

#[rocket::async_test]
async fn raw_cookie_headers_over_tcp() {
    let server = Server::start(app(options())).await;
    let base = server.base.clone();
    let http = reqwest::Client::new();
    let valid = codec(&options()).seal(&small_session()).unwrap();
    let others: Vec<String> = (0..99).map(|i| format!("c{i}=value-{i}")).collect();
    let with_session = |value: &str| {
        let mut cookies = others.clone();
        cookies.insert(50, format!("session={value}"));
        cookies.join("; ")
    };

    // Sanity check: a valid session among 99 other cookies in one header opens.
    let (status, body, set_cookies) = read_over_tcp(&http, &base, &with_session(&valid)).await;
    assert_eq!((status, body.as_str()), (Status::Ok, "empty=false keys=1"));
    assert!(set_cookies.is_empty(), "{set_cookies:?}");

    // 100 cookies in one header, the session one junk.
    let header = with_session(&junk(40));
    let (status, body, set_cookies) = read_over_tcp(&http, &base, &header).await;
    check(status, &body, &set_cookies, true, "100 cookies in one header");

    // A ~16 KB header: one huge session cookie, or the session among many large cookies.
    let header = format!("session={}", junk(16 * 1024));
    let (status, body, set_cookies) = read_over_tcp(&http, &base, &header).await;
    check(status, &body, &set_cookies, true, "16 KB session cookie");
    let mut cookies: Vec<String> = (0..15).map(|i| format!("big{i}={}", junk(1000))).collect();
    cookies.insert(7, format!("session={}", junk(900)));
    let header = cookies.join("; ");
    assert!(header.len() > 15 * 1024, "{} bytes", header.len());
    let (status, body, set_cookies) = read_over_tcp(&http, &base, &header).await;
    check(status, &body, &set_cookies, true, "16 KB Cookie header");

    // Other hostile raw forms: empty value, no `=`, duplicate names, percent-escapes.
    for header in ["session=", "session=%zz", "session=a; session=b", "session=\"x\""] {
        let (status, body, set_cookies) = read_over_tcp(&http, &base, header).await;
        check(status, &body, &set_cookies, true, header);
    }
    // Cookies the server cannot even parse as a session cookie answer 200 with an empty
    // session and write nothing.
    for header in ["session", ";;;", "=session", "c1=1;c2"] {
        let (status, body, set_cookies) = read_over_tcp(&http, &base, header).await;
        check(status, &body, &set_cookies, false, header);
    }
    server.stop().await;
}

//! Property tests (proptest): `SessionCodec` round-trips any JSON object that fits (nested
//! values, unicode strings, i64/u64/f64 numbers, bools, nulls); `open` of arbitrary strings and
//! of base64url of arbitrary bytes never panics and refuses them; and sessions split over 1 to 8
//! cookies round-trip through a real Rocket (`rocket::local`) at sizes sampled across the whole
//! budget, with the exact edge checked: the largest session that fits is written and read back,
//! one byte more is `SessionError::TooLarge`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use rocket::http::Status;
use rocket::local::asynchronous::Client;
use rocket::tokio::runtime::Runtime;
use serde_json::{json, Map, Value};
use wristband_rocket_session::{
    Session, SessionCodec, SessionError, SessionOptions, WristbandSession,
};

const SECRET: &str = "properties-test-secret-0123456789-abcdefgh";
/// Each `Set-Cookie` header value stays within this many bytes (DESIGN.md §5.4).
const HEADER_BUDGET: usize = 4096;

fn options(max_cookie_chunks: usize) -> SessionOptions {
    SessionOptions { secrets: SECRET.into(), max_cookie_chunks, ..SessionOptions::default() }
}

fn codec(max_cookie_chunks: usize) -> SessionCodec {
    SessionCodec::new(&options(max_cookie_chunks)).expect("valid test options")
}

/// `cases` cases (`PROPTEST_CASES` overrides it), no regression files written into the
/// repository: a failure prints its minimal input.
fn config(cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(cases);
    Config { cases, failure_persistence: None, ..Config::default() }
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

/// Any string of up to `max` characters: every Unicode scalar, controls and quotes included.
fn text(max: usize) -> impl Strategy<Value = String> {
    vec(any::<char>(), 0..=max).prop_map(String::from_iter)
}

/// Floats with at most 10 significant decimal digits (`i32 / 10^k`), as sessions usually hold.
fn decimal_float() -> impl Strategy<Value = f64> {
    (any::<i32>(), 0..6u32).prop_map(|(m, k)| f64::from(m) / 10f64.powi(k as i32))
}

/// Any finite `f64`: subnormals, extremes and 17-digit values included.
fn any_finite_float() -> impl Strategy<Value = f64> {
    any::<f64>().prop_filter("JSON numbers are finite", |f| f.is_finite())
}

/// A JSON scalar, its floats drawn from `float`.
fn leaf(float: BoxedStrategy<f64>) -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        float.prop_map(Value::from),
        text(40).prop_map(Value::String),
    ]
}

/// A JSON value nested up to 4 levels deep, arrays and objects of up to 8 entries.
fn json_value(float: BoxedStrategy<f64>) -> impl Strategy<Value = Value> {
    leaf(float).prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..8).prop_map(Value::Array),
            btree_map(text(12), inner, 0..8).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A session: a JSON object of up to 12 entries.
fn session(float: BoxedStrategy<f64>) -> impl Strategy<Value = Map<String, Value>> {
    btree_map(text(16), json_value(float), 0..12).prop_map(|m| m.into_iter().collect())
}

/// Seals `session` with 1 and with 8 chunks configured: it must open to itself whenever its
/// value is within the configuration's cookie budget.
fn check_round_trip(session: &Map<String, Value>) -> Result<(), TestCaseError> {
    let json_len = serde_json::to_vec(session).unwrap().len();
    for chunks in [1, 8] {
        let codec = codec(chunks);
        let value = codec.seal(session).unwrap();
        prop_assert_eq!(value.len(), SessionCodec::sealed_len(json_len));
        prop_assert!(value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        if value.len() <= HEADER_BUDGET * chunks {
            prop_assert_eq!(codec.open(&value), Some(session.clone()));
        } else {
            // Longer than any cookie this configuration can write: refused unread.
            prop_assert_eq!(codec.open(&value), None);
        }
    }
    Ok(())
}

#[test]
fn any_finite_f64_round_trips_exactly() {
    // The minimal input proptest found: written as -4.1430852596271803e-228, read back as
    // -4.14308525962718e-228 (one unit in the last place off).
    let found = json!({ "": [[-4.1430852596271803e-228_f64]] });
    check_round_trip(found.as_object().unwrap()).unwrap();
    let mut runner = TestRunner::new(config(256));
    runner.run(&session(any_finite_float().boxed()), |s| check_round_trip(&s)).unwrap();
}

// ---------------------------------------------------------------------------------------------
// The codec alone
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn seal_then_open_round_trips_any_object_that_fits(s in session(decimal_float().boxed())) {
        check_round_trip(&s)?;
    }

    #[test]
    fn open_refuses_arbitrary_strings(value in text(6000)) {
        prop_assert_eq!(codec(8).open(&value), None);
    }

    #[test]
    fn open_refuses_arbitrary_base64url_text(value in "[A-Za-z0-9_-]{0,6000}") {
        prop_assert_eq!(codec(8).open(&value), None);
    }

    #[test]
    fn open_refuses_base64url_of_arbitrary_bytes(bytes in vec(any::<u8>(), 0..4500)) {
        prop_assert_eq!(codec(8).open(&URL_SAFE_NO_PAD.encode(&bytes)), None);
    }

    #[test]
    fn open_refuses_arbitrary_bytes_behind_a_valid_header(
        body in vec(any::<u8>(), 0..3000),
        flip in any::<bool>(),
    ) {
        // Version byte and key id copied from a real value, so each input reaches the
        // decryption (and, with `flip`, a header byte is wrong instead).
        let codec = codec(8);
        let real = URL_SAFE_NO_PAD.decode(codec.seal(&Map::new()).unwrap()).unwrap();
        let mut bytes = real[..5].to_vec();
        if flip {
            bytes[body.len() % 5] ^= 0x80;
        }
        bytes.extend_from_slice(&body);
        prop_assert_eq!(codec.open(&URL_SAFE_NO_PAD.encode(&bytes)), None);
    }
}

// ---------------------------------------------------------------------------------------------
// Chunked sessions through a real Rocket
// ---------------------------------------------------------------------------------------------

/// Characters `/fill` builds values from: ASCII first, then ones JSON escapes or UTF-8
/// encodes in several bytes.
const ALPHABET: [char; 8] = ['a', 'Z', '7', 'é', '"', '\\', '\n', '☃'];

/// `n` characters: all `'a'`..`'Z'`-style ASCII when `seed` is 0, otherwise a deterministic mix
/// of `ALPHABET` chosen by `seed`.
fn content(n: usize, seed: u64) -> String {
    let mut state = seed;
    (0..n)
        .map(|i| {
            if seed == 0 {
                return ALPHABET[i % 3];
            }
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            ALPHABET[(state >> 61) as usize]
        })
        .collect()
}

/// Stores `content(n, seed)` under `"v"`: 200 `ok`, or 413 `size limit` for `TooLarge`.
#[post("/fill/<n>/<seed>")]
fn fill(session: Session<'_>, n: usize, seed: u64) -> (Status, String) {
    match session.insert("v", content(n, seed)) {
        Ok(()) => (Status::Ok, "ok".into()),
        Err(SessionError::TooLarge { size, limit }) => {
            (Status::PayloadTooLarge, format!("{size} {limit}"))
        }
        Err(e) => (Status::InternalServerError, e.to_string()),
    }
}

/// Answers the stored `"v"` and how many keys the session has; changes nothing.
#[get("/read")]
fn read(session: Session<'_>) -> String {
    let v: Option<String> = session.get("v").unwrap();
    format!("{} {}", session.keys().len(), v.unwrap_or_default())
}

/// A tracked client (it keeps and sends back every cookie, as a browser does) for a Rocket with
/// `max_cookie_chunks` chunks.
async fn client(max_cookie_chunks: usize) -> Client {
    let rocket = rocket::custom(rocket::Config::figment().merge(("log_level", "off")))
        .attach(WristbandSession::custom(options(max_cookie_chunks)))
        .mount("/", routes![fill, read]);
    Client::tracked(rocket).await.expect("the test app launches")
}

/// What one `/fill` answered: status, body and the `Set-Cookie` headers.
struct Filled {
    status: Status,
    body: String,
    set_cookies: Vec<String>,
}

async fn fill_request(client: &Client, n: usize, seed: u64) -> Filled {
    let response = client.post(format!("/fill/{n}/{seed}")).dispatch().await;
    let status = response.status();
    let set_cookies = response.headers().get("Set-Cookie").map(String::from).collect();
    let body = response.into_string().await.unwrap_or_default();
    Filled { status, body, set_cookies }
}

async fn read_request(client: &Client) -> String {
    let response = client.get("/read").dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(response.headers().get("Set-Cookie").count(), 0, "reading writes nothing");
    response.into_string().await.unwrap_or_default()
}

/// The session cookie names for `chunks` chunks: `session`, `session.1`, …
fn chunk_names(chunks: usize) -> Vec<String> {
    (0..chunks).map(|i| if i == 0 { "session".into() } else { format!("session.{i}") }).collect()
}

/// The budget arithmetic of DESIGN.md §4-§5, done here independently: how many value bytes
/// `chunks` cookies hold when the attributes after the value take `attrs_len` bytes.
fn capacity(chunks: usize, attrs_len: usize) -> usize {
    chunk_names(chunks).iter().map(|name| HEADER_BUDGET - (name.len() + 1) - attrs_len).sum()
}

/// The JSON length of the session `/fill` stores for `content(n, seed)`.
fn json_len(n: usize, seed: u64) -> usize {
    serde_json::to_vec(&json!({ "v": content(n, seed) })).unwrap().len()
}

/// The largest `n` whose ASCII content fits in `capacity` value bytes (a binary search: the
/// sealed length grows with `n`).
fn largest_ascii_fit(capacity: usize) -> usize {
    let fits = |n: usize| SessionCodec::sealed_len(json_len(n, 0)) <= capacity;
    let first_too_large = (0..HEADER_BUDGET * 8).collect::<Vec<_>>().partition_point(|&n| fits(n));
    assert!(first_too_large > 0, "an empty value fits");
    first_too_large - 1
}

/// Learns the bytes the attributes take from a real response, then, for every chunk count:
/// the largest ASCII session that fits.
fn budgets(rt: &Runtime) -> (usize, Vec<(usize, usize)>) {
    rt.block_on(async {
        let client = client(1).await;
        let filled = fill_request(&client, 0, 0).await;
        assert_eq!(filled.set_cookies.len(), 1, "{:?}", filled.set_cookies);
        let header = &filled.set_cookies[0];
        let attrs_len = header.len() - header.find(';').expect("attributes follow the value");
        let edges = (1..=8)
            .map(|chunks| (chunks, largest_ascii_fit(capacity(chunks, attrs_len))))
            .collect();
        (attrs_len, edges)
    })
}

/// Checks the `Set-Cookie` headers of a successful `/fill`: session chunks in order, each within
/// the header budget, stale chunks of a bigger earlier session removed.
fn check_headers(set_cookies: &[String], chunks: usize) -> usize {
    let names = chunk_names(chunks);
    let mut written = 0;
    for (i, header) in set_cookies.iter().enumerate() {
        assert!(header.len() <= HEADER_BUDGET, "header {i} is {} bytes", header.len());
        let name = &header[..header.find('=').unwrap()];
        let removal = header.split("; ").any(|a| a == "Max-Age=0");
        if removal {
            assert!(names[written..].iter().any(|n| n == name), "removes a live chunk: {name}");
        } else {
            assert_eq!(name, names[written], "chunks are written in order");
            written += 1;
        }
    }
    written
}

#[test]
fn chunked_sessions_round_trip_at_the_exact_edge() {
    let rt = Runtime::new().unwrap();
    let (attrs_len, edges) = budgets(&rt);
    rt.block_on(async {
        for (chunks, largest) in edges {
            let client = client(chunks).await;
            // The largest session that fits is written over every chunk, filling them all.
            let filled = fill_request(&client, largest, 0).await;
            assert_eq!((filled.status, filled.body.as_str()), (Status::Ok, "ok"), "{chunks}");
            assert_eq!(check_headers(&filled.set_cookies, chunks), chunks);
            let total: usize = filled.set_cookies.iter().map(String::len).sum();
            assert!(total + 2 >= HEADER_BUDGET * chunks, "{chunks} chunks: {total} bytes used");
            // It reads back whole.
            assert_eq!(read_request(&client).await, format!("1 {}", content(largest, 0)));

            // One byte more is refused with the budget named, and the session is unchanged.
            let refused = fill_request(&client, largest + 1, 0).await;
            assert_eq!(refused.status, Status::PayloadTooLarge, "{chunks}: {}", refused.body);
            assert!(refused.set_cookies.is_empty(), "{:?}", refused.set_cookies);
            let (size, limit) = refused.body.split_once(' ').unwrap();
            assert_eq!(limit.parse::<usize>().unwrap(), HEADER_BUDGET * chunks);
            assert!(size.parse::<usize>().unwrap() > HEADER_BUDGET * chunks);
            assert_eq!(read_request(&client).await, format!("1 {}", content(largest, 0)));

            // Every chunk boundary, from the biggest session down (so stale chunks must be
            // removed): the largest session that fits `k` chunks uses exactly `k`, one byte
            // more uses `k + 1`, and both read back whole.
            for k in (1..chunks).rev() {
                let edge = largest_ascii_fit(capacity(k, attrs_len));
                for (n, cookies) in [(edge + 1, k + 1), (edge, k)] {
                    let filled = fill_request(&client, n, 0).await;
                    assert_eq!(filled.status, Status::Ok, "{chunks} chunks, n = {n}");
                    assert_eq!(check_headers(&filled.set_cookies, chunks), cookies, "n = {n}");
                    assert_eq!(read_request(&client).await, format!("1 {}", content(n, 0)));
                }
            }
        }
    });
}

#[test]
fn chunked_sessions_round_trip_at_sampled_sizes() {
    let rt = Runtime::new().unwrap();
    let (attrs_len, edges) = budgets(&rt);
    let clients: Vec<Client> = rt.block_on(async {
        let mut clients = Vec::new();
        for chunks in 2..=8 {
            clients.push(client(chunks).await);
        }
        clients
    });
    // Sizes across the whole range, a little past the ASCII edge too; seeds mix in escaped and
    // multi-byte characters (seed 0 is plain ASCII).
    let strategy = (2usize..=8).prop_flat_map(move |chunks| {
        let largest = edges[chunks - 1].1;
        (Just(chunks), 0..=largest + 64, prop_oneof![Just(0u64), any::<u64>()])
    });
    let outcomes = [AtomicUsize::new(0), AtomicUsize::new(0)];
    let mut runner = TestRunner::new(config(96));
    runner
        .run(&strategy, |(chunks, n, seed)| {
            let client = &clients[chunks - 2];
            let fits = SessionCodec::sealed_len(json_len(n, seed)) <= capacity(chunks, attrs_len);
            outcomes[usize::from(fits)].fetch_add(1, Ordering::Relaxed);
            rt.block_on(async {
                let before = read_request(client).await;
                let filled = fill_request(client, n, seed).await;
                if fits {
                    prop_assert_eq!(filled.status, Status::Ok, "{}", filled.body);
                    let written = check_headers(&filled.set_cookies, chunks);
                    prop_assert!((1..=chunks).contains(&written));
                    prop_assert_eq!(read_request(client).await, format!("1 {}", content(n, seed)));
                } else {
                    prop_assert_eq!(filled.status, Status::PayloadTooLarge, "{}", filled.body);
                    prop_assert!(filled.set_cookies.is_empty());
                    prop_assert_eq!(read_request(client).await, before);
                }
                Ok(())
            })
        })
        .unwrap();
    // Both outcomes were sampled (the strategy reaches past the budget).
    let [refused, written] = outcomes.map(AtomicUsize::into_inner);
    assert!(refused > 0 && written > 0, "refused {refused}, written {written}");
}

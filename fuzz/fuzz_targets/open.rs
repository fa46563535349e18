//! Fuzzes the cookie-reading path, `SessionCodec::open`, with a fixed configuration. Each input
//! is tried three ways: as the cookie text itself, as the bytes under the base64url (so every
//! decoded-byte path is reachable), and as those bytes behind a valid version byte and key id
//! (so it reaches the AES-GCM check). Oracle: at the fuzzing clock a value opens if and only
//! if it is one of the known-good values, and then to its own session; with the real clock
//! nothing opens (they have all expired); never a panic.
#![no_main]

use std::sync::LazyLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use wristband_rocket_session::SessionCodec;
use wristband_rocket_session_fuzz::{codec, known_values, now};

struct Fixture {
    codec: SessionCodec,
    known: Vec<(String, Map<String, Value>)>,
    /// Version byte and key id.
    header: Vec<u8>,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let codec = codec(1);
    let known = known_values(&codec);
    let header = URL_SAFE_NO_PAD.decode(&known[0].0).unwrap()[..5].to_vec();
    Fixture { codec, known, header }
});

fn check(fixture: &Fixture, value: &str, how: &str) {
    let opened = fixture.codec.open_at(value, now());
    match fixture.known.iter().find(|(known, _)| known == value) {
        Some((_, session)) => assert_eq!(opened.as_ref(), Some(session), "{how}: known value"),
        None => assert!(opened.is_none(), "{how}: an unknown value opened"),
    }
    assert!(fixture.codec.open(value).is_none(), "{how}: opened with the real clock");
}

fuzz_target!(|data: &[u8]| {
    let fixture = &*FIXTURE;
    check(fixture, &String::from_utf8_lossy(data), "as text");
    check(fixture, &URL_SAFE_NO_PAD.encode(data), "as bytes");
    let mut behind_header = fixture.header.clone();
    behind_header.extend_from_slice(data);
    check(fixture, &URL_SAFE_NO_PAD.encode(&behind_header), "behind a header");
});

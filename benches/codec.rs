//! `SessionCodec` seal, open and seal+open on Wristband-shaped sessions (about 1.1 KB and
//! 2.7 KB of JSON), each beside two baselines run on the same data:
//!
//! - `floor`: the least any implementation of the same idea can do in-process: serde_json
//!   (serialize the `Map`, parse it back to a `Map`) + AES-256-GCM (aes-gcm 0.10, cipher built
//!   once, 12-byte nonce from `rand::thread_rng()`, in place) + base64url without padding.
//! - `private_jar`: the `cookie` crate's `PrivateJar` (what Rocket's `add_private` /
//!   `get_private` use) holding the same JSON text, then parsed back with serde_json.
//!
//! Plus opening with the first vs the third configured secret (rotation).
//!
//! After criterion's runs (one after the other, so a noisy neighbour can skew one of a pair),
//! `cargo bench` also measures each pair's ratio *interleaved*: short alternating batches of
//! the two, the ratio taken per round, the median of the rounds printed as `ratio` lines. Set
//! `CODEC_INTERLEAVED=0` to skip that part. `benches/micro.sh` runs all this and the Node
//! baseline; `benches/profile.sh` counts instructions per operation under callgrind (with
//! `CODEC_PROFILE`, below). See `docs/benchmarks.md`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use cookie::{Cookie, CookieJar, Key};
use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use rand::RngCore;
use serde_json::{Map, Value};
use wristband_rocket_session::{SessionCodec, SessionOptions};

#[path = "support/payload.rs"]
mod payload;

const COOKIE_NAME: &str = "session";
const SECRET_1: &str = "bench-secret-number-one-0123456789abcdef";
const SECRET_2: &str = "bench-secret-number-two-0123456789abcdef";
const SECRET_3: &str = "bench-secret-number-three-0123456789abcd";

fn new_codec(secrets: &[&str]) -> SessionCodec {
    let secrets: Vec<String> = secrets.iter().map(|s| s.to_string()).collect();
    let options = SessionOptions {
        secrets: secrets.into(),
        cookie_name: COOKIE_NAME.into(),
        ..SessionOptions::default()
    };
    SessionCodec::new(&options).expect("valid bench options")
}

/// serde_json + AES-256-GCM + base64url, nothing else: the floor under any sealed-cookie codec.
struct Floor {
    cipher: Aes256Gcm,
}

impl Floor {
    const NONCE_LEN: usize = 12;
    const TAG_LEN: usize = 16;

    fn new() -> Self {
        Floor { cipher: Aes256Gcm::new(&[7u8; 32].into()) }
    }

    /// nonce | ciphertext | tag, base64url: serialized into one buffer, encrypted in place.
    fn seal(&self, session: &Map<String, Value>) -> String {
        let mut nonce = [0u8; Self::NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        let mut buf = Vec::new();
        buf.extend_from_slice(&nonce);
        serde_json::to_writer(&mut buf, session).expect("a Map serializes");
        let tag = self
            .cipher
            .encrypt_in_place_detached(Nonce::from_slice(&nonce), b"", &mut buf[Self::NONCE_LEN..])
            .expect("cookie-sized plaintext");
        buf.extend_from_slice(&tag);
        URL_SAFE_NO_PAD.encode(&buf)
    }

    fn open(&self, value: &str) -> Option<Map<String, Value>> {
        let mut buf = URL_SAFE_NO_PAD.decode(value).ok()?;
        if buf.len() < Self::NONCE_LEN + Self::TAG_LEN {
            return None;
        }
        let (nonce, rest) = buf.split_at_mut(Self::NONCE_LEN);
        let (ciphertext, tag) = rest.split_at_mut(rest.len() - Self::TAG_LEN);
        self.cipher
            .decrypt_in_place_detached(
                Nonce::from_slice(nonce),
                b"",
                ciphertext,
                Tag::from_slice(tag),
            )
            .ok()?;
        serde_json::from_slice(ciphertext).ok()
    }
}

/// The `cookie` crate's private (AES-256-GCM) jar holding the session's JSON text.
struct PrivateJar {
    key: Key,
}

impl PrivateJar {
    fn new() -> Self {
        PrivateJar { key: Key::derive_from(SECRET_1.as_bytes()) }
    }

    fn seal(&self, session: &Map<String, Value>) -> CookieJar {
        let json = serde_json::to_string(session).expect("a Map serializes");
        let mut jar = CookieJar::new();
        jar.private_mut(&self.key).add(Cookie::new(COOKIE_NAME, json));
        jar
    }

    fn open(&self, jar: &CookieJar) -> Option<Map<String, Value>> {
        let cookie = jar.private(&self.key).get(COOKIE_NAME)?;
        serde_json::from_str(cookie.value()).ok()
    }
}

/// The two payload sizes, labelled with their JSON length.
fn payloads() -> Vec<(String, Map<String, Value>)> {
    [payload::wristband_session(), payload::wristband_session_with_custom_fields()]
        .into_iter()
        .map(|session| {
            let len = serde_json::to_vec(&session).expect("serializes").len();
            (format!("{:.1}KB", len as f64 / 1000.0), session)
        })
        .collect()
}

fn json_len(session: &Map<String, Value>) -> u64 {
    serde_json::to_vec(session).expect("serializes").len() as u64
}

fn seal(c: &mut Criterion) {
    let codec = new_codec(&[SECRET_1]);
    let floor = Floor::new();
    let jar = PrivateJar::new();
    let mut group = c.benchmark_group("seal");
    for (label, session) in payloads() {
        group.throughput(Throughput::Bytes(json_len(&session)));
        group.bench_with_input(BenchmarkId::new("codec", &label), &session, |b, s| {
            b.iter(|| codec.seal(black_box(s)).expect("seals"))
        });
        group.bench_with_input(BenchmarkId::new("floor", &label), &session, |b, s| {
            b.iter(|| floor.seal(black_box(s)))
        });
        group.bench_with_input(BenchmarkId::new("private_jar", &label), &session, |b, s| {
            b.iter(|| jar.seal(black_box(s)))
        });
    }
    group.finish();
}

fn open(c: &mut Criterion) {
    let codec = new_codec(&[SECRET_1]);
    let floor = Floor::new();
    let jar = PrivateJar::new();
    let mut group = c.benchmark_group("open");
    for (label, session) in payloads() {
        group.throughput(Throughput::Bytes(json_len(&session)));
        let sealed = codec.seal(&session).expect("seals");
        assert_eq!(codec.open(&sealed).as_ref(), Some(&session));
        group.bench_with_input(BenchmarkId::new("codec", &label), &sealed, |b, v| {
            b.iter(|| codec.open(black_box(v)).expect("opens"))
        });
        let sealed = floor.seal(&session);
        assert_eq!(floor.open(&sealed).as_ref(), Some(&session));
        group.bench_with_input(BenchmarkId::new("floor", &label), &sealed, |b, v| {
            b.iter(|| floor.open(black_box(v)).expect("opens"))
        });
        let sealed = jar.seal(&session);
        assert_eq!(jar.open(&sealed).as_ref(), Some(&session));
        group.bench_with_input(BenchmarkId::new("private_jar", &label), &sealed, |b, j| {
            b.iter(|| jar.open(black_box(j)).expect("opens"))
        });
    }
    group.finish();
}

fn seal_open(c: &mut Criterion) {
    let codec = new_codec(&[SECRET_1]);
    let floor = Floor::new();
    let jar = PrivateJar::new();
    let mut group = c.benchmark_group("seal_open");
    for (label, session) in payloads() {
        group.throughput(Throughput::Bytes(json_len(&session)));
        group.bench_with_input(BenchmarkId::new("codec", &label), &session, |b, s| {
            b.iter(|| codec.open(&codec.seal(black_box(s)).expect("seals")).expect("opens"))
        });
        group.bench_with_input(BenchmarkId::new("floor", &label), &session, |b, s| {
            b.iter(|| floor.open(&floor.seal(black_box(s))).expect("opens"))
        });
        group.bench_with_input(BenchmarkId::new("private_jar", &label), &session, |b, s| {
            b.iter(|| jar.open(&jar.seal(black_box(s))).expect("opens"))
        });
    }
    group.finish();
}

/// A codec with three secrets opening values sealed under its first and under its third.
fn rotation(c: &mut Criterion) {
    let session = payload::wristband_session();
    let rotated = new_codec(&[SECRET_1, SECRET_2, SECRET_3]);
    let by_first = new_codec(&[SECRET_1]).seal(&session).expect("seals");
    let by_third = new_codec(&[SECRET_3]).seal(&session).expect("seals");
    assert_eq!(rotated.open(&by_first).as_ref(), Some(&session));
    assert_eq!(rotated.open(&by_third).as_ref(), Some(&session));
    let mut group = c.benchmark_group("rotation_open");
    group.bench_with_input("first_secret", &by_first, |b, v| {
        b.iter(|| rotated.open(black_box(v)).expect("opens"))
    });
    group.bench_with_input("third_secret", &by_third, |b, v| {
        b.iter(|| rotated.open(black_box(v)).expect("opens"))
    });
    group.finish();
}

fn config() -> Criterion {
    // Small samples: the whole run stays well under 3 minutes on 2 cores.
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

/// Times `a` and `b` in alternating batches (`a` first in even rounds, `b` first in odd ones)
/// and returns the quartiles of the per-round ratios `time(a) / time(b)`.
fn interleaved(mut a: impl FnMut(), mut b: impl FnMut(), rounds: usize) -> [f64; 3] {
    fn time(f: &mut impl FnMut(), n: u32) -> f64 {
        let start = Instant::now();
        for _ in 0..n {
            f();
        }
        start.elapsed().as_secs_f64()
    }
    // A batch of `a` takes about 1 ms.
    let mut batch = 1;
    while time(&mut a, batch) < 1e-3 && batch < 1 << 20 {
        batch *= 2;
    }
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

fn print_ratio(name: &str, [p25, median, p75]: [f64; 3]) {
    println!("ratio {name:<40} median {median:.3}  (p25 {p25:.3}, p75 {p75:.3})");
}

/// Each codec/baseline pair, interleaved. A ratio below 1 means the codec takes less time.
fn interleaved_ratios() {
    const ROUNDS: usize = 201;
    println!("\nInterleaved ratios (time of the first / time of the second, {ROUNDS} rounds):");
    let codec = new_codec(&[SECRET_1]);
    let floor = Floor::new();
    let jar = PrivateJar::new();
    for (label, s) in payloads() {
        let by_codec = codec.seal(&s).expect("seals");
        let by_floor = floor.seal(&s);
        let by_jar = jar.seal(&s);
        let seal_codec = || drop(black_box(codec.seal(black_box(&s)).expect("seals")));
        let open_codec = || drop(black_box(codec.open(black_box(&by_codec)).expect("opens")));
        let both_codec = || {
            drop(black_box(codec.open(&codec.seal(black_box(&s)).expect("seals")).expect("opens")))
        };
        let seal_floor = || drop(black_box(floor.seal(black_box(&s))));
        let open_floor = || drop(black_box(floor.open(black_box(&by_floor)).expect("opens")));
        let both_floor = || drop(black_box(floor.open(&floor.seal(black_box(&s))).expect("opens")));
        let seal_jar = || drop(black_box(jar.seal(black_box(&s))));
        let open_jar = || drop(black_box(jar.open(black_box(&by_jar)).expect("opens")));
        let both_jar = || drop(black_box(jar.open(&jar.seal(black_box(&s))).expect("opens")));
        let name = |op: &str, base: &str| format!("{op}/{label} codec/{base}");
        print_ratio(&name("seal", "floor"), interleaved(seal_codec, seal_floor, ROUNDS));
        print_ratio(&name("open", "floor"), interleaved(open_codec, open_floor, ROUNDS));
        print_ratio(&name("seal_open", "floor"), interleaved(both_codec, both_floor, ROUNDS));
        print_ratio(&name("seal", "private_jar"), interleaved(seal_codec, seal_jar, ROUNDS));
        print_ratio(&name("open", "private_jar"), interleaved(open_codec, open_jar, ROUNDS));
        print_ratio(&name("seal_open", "private_jar"), interleaved(both_codec, both_jar, ROUNDS));
        // How far apart the two baselines themselves are: no codec can beat the floor.
        let floor_vs_jar = format!("seal_open/{label} floor/private_jar");
        print_ratio(&floor_vs_jar, interleaved(both_floor, both_jar, ROUNDS));
    }
    let session = payload::wristband_session();
    let rotated = new_codec(&[SECRET_1, SECRET_2, SECRET_3]);
    let by_first = new_codec(&[SECRET_1]).seal(&session).expect("seals");
    let by_third = new_codec(&[SECRET_3]).seal(&session).expect("seals");
    print_ratio(
        "rotation_open third_secret/first_secret",
        interleaved(
            || drop(black_box(rotated.open(black_box(&by_third)).expect("opens"))),
            || drop(black_box(rotated.open(black_box(&by_first)).expect("opens"))),
            ROUNDS,
        ),
    );
}

criterion_group! {
    name = benches;
    config = config();
    targets = seal, open, seal_open, rotation
}

/// `CODEC_PROFILE=<op>/<impl>/<size> CODEC_PROFILE_ITERS=<n>`: run exactly `n` iterations of
/// one benchmark's body, print the time per iteration and exit: for `valgrind --tool=callgrind`
/// (`benches/profile.sh`) and for timing beside the Node baseline (`benches/micro.sh`).
/// `op` is `seal`, `open`, `seal_open` or `rotation_open`; `impl` is `codec`, `floor`,
/// `private_jar` (or `first_secret` / `third_secret` for `rotation_open`).
fn profile_loop(spec: &str, n: usize) {
    let parts: Vec<&str> = spec.split('/').collect();
    let [op, imp, size] = parts[..] else { panic!("CODEC_PROFILE: expected op/impl/size") };
    let session = payloads()
        .into_iter()
        .find(|(label, _)| label == size)
        .unwrap_or_else(|| panic!("CODEC_PROFILE: no payload of size {size}"))
        .1;
    let codec = new_codec(&[SECRET_1]);
    let rotated = new_codec(&[SECRET_1, SECRET_2, SECRET_3]);
    let floor = Floor::new();
    let jar = PrivateJar::new();
    let by_codec = codec.seal(&session).expect("seals");
    let by_third = new_codec(&[SECRET_3]).seal(&session).expect("seals");
    let by_floor = floor.seal(&session);
    let by_jar = jar.seal(&session);
    let s = &session;
    let run = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        (0..n).for_each(|_| f());
        let ns = start.elapsed().as_nanos() as f64 / n.max(1) as f64;
        println!("loop {spec}: {n} iterations, {ns:.0} ns per iteration");
    };
    match (op, imp) {
        ("seal", "codec") => run(&mut || drop(black_box(codec.seal(black_box(s))))),
        ("seal", "floor") => run(&mut || drop(black_box(floor.seal(black_box(s))))),
        ("seal", "private_jar") => run(&mut || drop(black_box(jar.seal(black_box(s))))),
        ("open", "codec") => run(&mut || drop(black_box(codec.open(black_box(&by_codec))))),
        ("open", "floor") => run(&mut || drop(black_box(floor.open(black_box(&by_floor))))),
        ("open", "private_jar") => run(&mut || drop(black_box(jar.open(black_box(&by_jar))))),
        ("seal_open", "codec") => {
            run(&mut || drop(black_box(codec.open(&codec.seal(black_box(s)).expect("seals")))))
        }
        ("seal_open", "floor") => {
            run(&mut || drop(black_box(floor.open(&floor.seal(black_box(s))))))
        }
        ("seal_open", "private_jar") => {
            run(&mut || drop(black_box(jar.open(&jar.seal(black_box(s))))))
        }
        ("rotation_open", "first_secret") => {
            run(&mut || drop(black_box(rotated.open(black_box(&by_codec)))))
        }
        ("rotation_open", "third_secret") => {
            run(&mut || drop(black_box(rotated.open(black_box(&by_third)))))
        }
        _ => panic!("CODEC_PROFILE: unknown op/impl {op}/{imp}"),
    }
}

fn main() {
    if let Ok(spec) = std::env::var("CODEC_PROFILE") {
        let n = std::env::var("CODEC_PROFILE_ITERS").ok().and_then(|n| n.parse().ok());
        profile_loop(&spec, n.unwrap_or(1000));
        return;
    }
    benches();
    // Only under `cargo bench` (not `cargo test --benches`, nor criterion's `--profile-time`).
    let args: Vec<String> = std::env::args().collect();
    let benching = args.iter().any(|a| a == "--bench");
    let profiling = args.iter().any(|a| a == "--profile-time");
    if benching && !profiling && std::env::var("CODEC_INTERLEAVED").as_deref() != Ok("0") {
        interleaved_ratios();
    }
    Criterion::default().configure_from_args().final_summary();
}

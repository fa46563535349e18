//! Writes a small seed corpus for both fuzz targets into `fuzz/corpus/<target>/` (ignored by
//! git): run `cargo run --manifest-path fuzz/Cargo.toml --example seed_corpus` from the
//! repository root.

use std::fs;
use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use wristband_rocket_session_fuzz::{codec, known_values};

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target);
    fs::create_dir_all(&dir).expect("create the corpus directory");
    fs::write(dir.join(name), bytes).expect("write a seed");
}

fn main() {
    // `open`: the known-good values, as text, as their decoded bytes, and without the header.
    for (i, (value, _)) in known_values(&codec(1)).iter().enumerate() {
        write("open", &format!("text-{i}"), value.as_bytes());
        let bytes = URL_SAFE_NO_PAD.decode(value).unwrap();
        write("open", &format!("bytes-{i}"), &bytes);
        write("open", &format!("body-{i}"), &bytes[5..]);
    }
    write("open", "empty", b"");

    // `chunks`: each chunk count with evenly spread cuts, and with a few edits.
    for count in 1..=8u8 {
        let mut seed = vec![count - 1];
        for k in 1..u16::from(count) {
            seed.extend_from_slice(&(k * 1400 / u16::from(count)).to_be_bytes());
        }
        write("chunks", &format!("cut-{count}"), &seed);
        seed.extend_from_slice(&[3, 1, 0, 1, 2, 0, 0, 5, 4]);
        write("chunks", &format!("edit-{count}"), &seed);
    }
    println!("seed corpus written under fuzz/corpus/");
}

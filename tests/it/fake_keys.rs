#![cfg(feature = "fake-wristband")]
//! `FakeWristband`'s signing keys are generated at run time, never shipped (DESIGN-auth §H "The
//! fake never serves real users"): no private key text anywhere under `src/`, two processes
//! publish different keys, and every rotation brings new key material (not a fixed list that
//! repeats).

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;
use wristband_rocket_session::testing::FakeWristband;

/// Set in the child processes of `two_processes_publish_different_keys`.
const CHILD: &str = "FAKE_KEYS_PRINT_MODULUS";

/// Every file under `dir`, recursively.
fn files(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, found);
        } else {
            found.push(path);
        }
    }
}

#[test]
fn no_private_key_text_under_src() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    assert!(all.len() > 20, "src/ has only {} files: wrong directory?", all.len());
    // Split so that this file does not match itself if it is ever moved under src/.
    let needle = ["PRIVATE", " KEY"].concat();
    let holding: Vec<_> = all
        .iter()
        .filter(|path| {
            let bytes = std::fs::read(path).unwrap();
            String::from_utf8_lossy(&bytes).contains(&needle)
        })
        .map(|path| path.strip_prefix(&src).unwrap().display().to_string())
        .collect();
    assert!(holding.is_empty(), "`{needle}` text in src/: {holding:?}");
}

/// The `n` (base64url modulus) of every key of the fake's JWKS, newest first, with its kid.
async fn published(fake: &FakeWristband) -> Vec<(String, String)> {
    let url = format!("{}/api/v1/oauth2/jwks", fake.base_url());
    let jwks: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    jwks["keys"]
        .as_array()
        .expect("a JWKS")
        .iter()
        .map(|key| {
            let kid = key["kid"].as_str().expect("a kid").to_string();
            let n = key["n"].as_str().expect("an RSA modulus").to_string();
            // 2048 bits = 256 bytes = 342 base64url characters without padding.
            assert!(n.len() >= 342, "key {kid}: modulus of {} characters", n.len());
            (kid, n)
        })
        .collect()
}

#[test]
fn two_processes_publish_different_keys() {
    if std::env::var_os(CHILD).is_some() {
        // A child: print this process's first key.
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let fake = FakeWristband::start().await;
            let keys = published(&fake).await;
            println!("MODULUS {} {}", keys[0].0, keys[0].1);
        });
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let modulus = || {
        let output = Command::new(&exe)
            .args(["--exact", "fake_keys::two_processes_publish_different_keys", "--nocapture"])
            .args(["--test-threads", "1"])
            .env(CHILD, "1")
            .output()
            .expect("run this test binary");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(output.status.success(), "child failed: {stdout}");
        // libtest prints the test's name on the same line, before the output.
        let line = stdout.lines().find_map(|l| l.split_once("MODULUS ")).expect(&stdout).1;
        let (kid, n) = line.split_once(' ').unwrap();
        assert_eq!(kid, "fake-wristband-key-1");
        n.to_string()
    };
    let (first, second) = (modulus(), modulus());
    assert_ne!(first, second, "two processes' fakes signed with the same fixed key");
}

#[rocket::async_test]
async fn every_rotation_brings_a_new_key() {
    let fake = FakeWristband::start().await;
    // More rotations than a fixed list of four keys has: its material would repeat.
    for _ in 0..5 {
        fake.rotate_signing_key();
    }
    let keys = published(&fake).await;
    let kids: Vec<&str> = keys.iter().map(|(kid, _)| kid.as_str()).collect();
    let expected: Vec<String> = (1..=6).rev().map(|n| format!("fake-wristband-key-{n}")).collect();
    assert_eq!(kids, expected);
    let moduli: HashSet<&str> = keys.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(moduli.len(), keys.len(), "a key's material came back under another kid");
    // Fakes of one process share each key number (generated once), and a second fake starts
    // at key 1 again.
    let other = FakeWristband::start().await;
    assert_eq!(published(&other).await, vec![keys[5].clone()]);
}

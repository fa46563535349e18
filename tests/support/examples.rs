//! The repository's examples, built by the tests that run them as real processes.
//!
//! `cargo build --example NAME --features …` writes `target/<profile>/examples/NAME` whatever
//! the features, so two tests building one example with different features would run each
//! other's binary. Here each (example, features) pair is built once per test process, one build
//! at a time, and the executable cargo reports for that build is linked under a name of its own
//! (`NAME--FEATURES`) before any other build can replace it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// The executables built so far, by example and features (`NAME--FEATURES`).
static BUILT: Mutex<BTreeMap<String, PathBuf>> = Mutex::new(BTreeMap::new());

/// `cargo build --profile test --example name --features features` (no `--features` when
/// empty), from the repository root: the path of the executable cargo built. Fails the test if
/// the build fails.
pub fn built(name: &str, features: &[&str]) -> PathBuf {
    let key = format!("{name}--{}", features.join("-"));
    // Held during the build: cargo serializes builds in one target directory anyway.
    let mut built = BUILT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(path) = built.get(&key) {
        return path.clone();
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    // The `test` profile (the same settings as `dev`, which it inherits): the library `cargo
    // test` built for this feature set is reused, where `dev` would build it again (a profile's
    // name is part of what cargo's artifacts are keyed by; 21 s per feature combination here).
    build.args(["build", "--profile", "test", "--message-format=json-render-diagnostics"]);
    build.args(["--example", name]);
    if !features.is_empty() {
        build.args(["--features", &features.join(",")]);
    }
    let output = build
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(Stdio::inherit())
        .output()
        .expect("run cargo build");
    assert!(output.status.success(), "cargo build --example {name} --features {features:?} failed");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let path = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .filter(|message| message["target"]["name"] == name)
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .unwrap_or_else(|| panic!("cargo reported no executable for the example {name}"));
    assert!(path.is_file(), "{} was not built", path.display());
    let own = path.with_file_name(&key);
    let _ = std::fs::remove_file(&own);
    if std::fs::hard_link(&path, &own).is_err() {
        std::fs::copy(&path, &own).expect("copy the example's executable");
    }
    built.insert(key, own.clone());
    own
}

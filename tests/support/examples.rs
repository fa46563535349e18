//! The repository's examples, built by the tests that run them as real processes.
//!
//! An example is built with the features it needs plus every feature this test executable was
//! built with: that is the feature set `cargo test` just built the library and the examples
//! for, so the build is a no-op (building `quickstart` without features inside an
//! `--all-features` run rebuilt the library, 25–50 s per feature combination). The `cargo test`
//! run without features still builds and runs each example with exactly what it needs.
//!
//! `cargo build --example NAME --features …` writes `target/<profile>/examples/NAME` whatever
//! the features, so two test executables building one example with different features would
//! run each other's binary. Here each (example, features) pair is built once per test process,
//! one build at a time, and the executable cargo reports for that build is linked under a name
//! of its own (`NAME--FEATURES`) before any other build can replace it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// The executables built so far, by example and features (`NAME--FEATURES`).
static BUILT: Mutex<BTreeMap<String, PathBuf>> = Mutex::new(BTreeMap::new());

/// Removes from `command`'s environment the variables `cargo test` set for this test process
/// (`CARGO_MANIFEST_DIR`, `CARGO_PKG_NAME`, …), for commands that run cargo. Build scripts
/// declare such names with `rerun-if-env-changed` (ring's does, for its own values), so a build
/// started with ours reran ring's build script and rebuilt everything above it in place (about
/// 40 s), the next `cargo test` rebuilt them all again, and a doctest compiling beside that
/// build found its dependencies half-written.
pub fn without_test_env(command: &mut Command) -> &mut Command {
    for (name, _) in std::env::vars() {
        let set_for_tests = ["CARGO_PKG_", "CARGO_CFG_", "CARGO_BIN_EXE_"]
            .iter()
            .any(|prefix| name.starts_with(prefix))
            || [
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_MANIFEST_LINKS",
                "CARGO_CRATE_NAME",
                "CARGO_BIN_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "OUT_DIR",
            ]
            .contains(&name.as_str());
        if set_for_tests {
            command.env_remove(name);
        }
    }
    command
}

/// `cargo`, without this test process's cargo variables.
fn cargo() -> Command {
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    without_test_env(&mut cargo);
    cargo
}

/// The crate features this test executable was built with.
fn own_features() -> Vec<&'static str> {
    [
        ("auth", cfg!(feature = "auth")),
        ("fake-wristband", cfg!(feature = "fake-wristband")),
        ("redis", cfg!(feature = "redis")),
    ]
    .into_iter()
    .filter_map(|(feature, on)| on.then_some(feature))
    .collect()
}

/// `cargo build --profile test --example name --features …` with `features` and this test
/// executable's own features (no `--features` when both are empty), from the repository root:
/// the path of the executable cargo built. Fails the test if the build fails.
pub fn built(name: &str, features: &[&str]) -> PathBuf {
    let mut all: Vec<&str> = own_features();
    all.extend_from_slice(features);
    all.sort_unstable();
    all.dedup();
    let features = &all[..];
    let key = format!("{name}--{}", features.join("-"));
    // Held during the build: cargo serializes builds in one target directory anyway.
    let mut built = BUILT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(path) = built.get(&key) {
        return path.clone();
    }
    let mut build = cargo();
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

//! Environment variables for one test without touching this process's environment.
//!
//! Changing the environment of a running, multi-threaded process races every thread that reads
//! it (and is `unsafe` since Rust 2024), so a test that needs variables set before
//! `rocket::build()` runs again in a child process of the same test executable, started with
//! those variables: the child runs the test's body, the parent checks that it passed.
//!
//! ```ignore
//! #[tokio::test]
//! async fn reads_the_environment() {
//!     if !child_env::in_child("reads_the_environment", &[("ROCKET_PROFILE", "release")], &[]) {
//!         return; // the child ran the body below and passed
//!     }
//!     // … the test's body, with ROCKET_PROFILE=release
//! }
//! ```

use std::process::Command;

/// Set in the child to the name of the test it runs.
const MARKER: &str = "WRISTBAND_TEST_CHILD";

/// In the parent (the test as `cargo test` started it): runs the test `name` (its path as the
/// harness lists it) again in a child process of this executable with `set` in its environment
/// and `unset` removed, fails if the child's test did not pass, and returns `false`. In that
/// child: returns `true`, and the caller goes on with the test's body.
///
/// `name` is the test function's name; in a test crate with modules (`tests/it`), the harness
/// calls it `module::name`, which its thread is named after, and that name is used.
pub fn in_child(name: &str, set: &[(&str, &str)], unset: &[&str]) -> bool {
    let suffix = format!("::{name}");
    if let Ok(marker) = std::env::var(MARKER)
        && (marker == name || marker.ends_with(&suffix))
    {
        return true;
    }
    let thread = std::thread::current();
    let full = thread
        .name()
        .filter(|full| *full == name || full.ends_with(&suffix))
        .unwrap_or(name)
        .to_owned();
    let exe = std::env::current_exe().expect("the path of this test executable");
    let mut child = Command::new(exe);
    child.args([full.as_str(), "--exact", "--nocapture", "--test-threads=1"]).env(MARKER, &full);
    for (key, value) in set {
        child.env(key, value);
    }
    for key in unset {
        child.env_remove(key);
    }
    let output = child.output().expect("the test executable starts again");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The child's output, so that `--nocapture` shows it and a failure explains itself.
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "the test {name} did not pass in its child process ({})",
        output.status
    );
    false
}

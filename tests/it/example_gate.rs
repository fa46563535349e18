#![cfg(feature = "fake-wristband")]
//! The `wristband_app` example never starts its fake Wristband (which signs anyone in) outside
//! local development (DESIGN-auth §H "The fake never serves real users"): the example binary,
//! built now with cargo and run as a real process from the repository root (its `Rocket.toml`,
//! no `wristband_auth.client_id`), under profiles other than `debug` (`RELEASE`, `production`,
//! `staging`) exits non-zero within a bounded time, says on stderr what to set, and never
//! listens on its port; under `DEBUG` (the debug profile: Rocket compares profiles ignoring
//! case) it does start and listen. The debug-build half of the rule (`cfg!(debug_assertions)`)
//! is checked on the example's decision function, as building a release binary here would take
//! minutes.

use crate::wristband_app;

use std::io::Read;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rocket::figment::Profile;

/// How long the example may take to exit (or, under `debug`, to start listening).
const BOUND: Duration = Duration::from_secs(60);

/// The `wristband_app` example (built with this test executable's features, see
/// `support/examples.rs`).
fn example() -> PathBuf {
    crate::support::examples::built("wristband_app", &["fake-wristband"])
}

/// A port that nothing listens on right now.
fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a free port");
    listener.local_addr().unwrap().port()
}

fn listening(port: u16) -> bool {
    TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, port).into(), Duration::from_millis(200))
        .is_ok()
}

/// Kills the example when the test ends, passing or not.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the example under `profile` with no Wristband configured, on `port`.
fn start(path: &PathBuf, profile: &str, port: u16) -> Running {
    let child = Command::new(path)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("ROCKET_WRISTBAND_AUTH")
        .env_remove("ROCKET_CONFIG")
        .env("ROCKET_PROFILE", profile)
        .env("ROCKET_ADDRESS", "127.0.0.1")
        .env("ROCKET_PORT", port.to_string())
        .env("ROCKET_LOG_LEVEL", "off")
        // A session secret, so that nothing but the gate can stop a launch under these
        // profiles (without one, the session fairing refuses outside `debug`).
        .env(
            "ROCKET_WRISTBAND_SESSION",
            "{secrets=[\"an-example-gate-test-secret-of-enough-characters\"]}",
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the example");
    Running(child)
}

/// Waits for the example to exit, checking all along that its port stays closed: its exit
/// status, stdout and stderr.
fn exit_without_listening(mut running: Running, port: u16, profile: &str) -> (ExitStatus, String) {
    let deadline = Instant::now() + BOUND;
    let status = loop {
        assert!(!listening(port), "under `{profile}` the example listened on its port {port}");
        if let Some(status) = running.0.try_wait().expect("wait for the example") {
            break status;
        }
        assert!(Instant::now() < deadline, "under `{profile}` the example did not exit");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!listening(port), "under `{profile}` the example listened on its port {port}");
    let mut stdout = String::new();
    let mut stderr = String::new();
    running.0.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    running.0.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    (status, format!("stdout:\n{stdout}\nstderr:\n{stderr}"))
}

#[test]
fn outside_the_debug_profile_the_example_refuses_the_fake_before_listening() {
    let path = example();
    for profile in ["RELEASE", "release", "production", "staging"] {
        let port = free_port();
        let running = start(&path, profile, port);
        let (status, output) = exit_without_listening(running, port, profile);
        println!("== ROCKET_PROFILE={profile}: {status}\n{output}");
        assert!(!status.success(), "under `{profile}` the example exited with {status}\n{output}");
        let stderr = output.split("stderr:\n").nth(1).unwrap_or_default();
        for hint in ["ROCKET_WRISTBAND_AUTH", "client_id", "client_secret", "wristband_auth"] {
            assert!(stderr.contains(hint), "under `{profile}` no `{hint}` on stderr\n{output}");
        }
        assert!(!output.contains("FAKE Wristband"), "under `{profile}`: {output}");
    }
}

#[test]
fn under_the_debug_profile_in_any_case_the_example_starts_its_fake() {
    let path = example();
    let port = free_port();
    let mut running = start(&path, "DEBUG", port);
    let deadline = Instant::now() + BOUND;
    while !listening(port) {
        let exited = running.0.try_wait().expect("wait for the example");
        assert!(exited.is_none(), "under `DEBUG` the example exited: {exited:?}");
        assert!(Instant::now() < deadline, "under `DEBUG` the example did not start listening");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Listening: then the fake has started and, once the app is serving (the announcement is
    // made at liftoff, right after the socket is bound), printed where it is (stdout is a
    // pipe, read after the process ends).
    std::thread::sleep(Duration::from_millis(500));
    running.0.kill().expect("stop the example");
    running.0.wait().unwrap();
    let mut stdout = String::new();
    running.0.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    assert!(stdout.contains("started a FAKE Wristband"), "{stdout}");
}

#[test]
fn the_fake_needs_the_debug_profile_and_a_debug_build() {
    let may = wristband_app::may_start_fake;
    assert!(may(&rocket::Config::DEBUG_PROFILE, true));
    assert!(may(&Profile::new("debug"), true));
    assert!(may(&Profile::new("Debug"), true), "Rocket's profiles ignore case");
    // A release build never starts it, whatever the profile.
    assert!(!may(&rocket::Config::DEBUG_PROFILE, false));
    assert!(!may(&Profile::new("debug"), false));
    for profile in ["release", "RELEASE", "production", "staging", "default", "debugging", ""] {
        assert!(!may(&Profile::new(profile), true), "{profile}");
        assert!(!may(&Profile::new(profile), false), "{profile}");
    }
}

/// One failure, one message (issue 27): with a misspelt `[debug.wristband_ath]`, the example
/// announces nothing (no fake, no URL to open), the only errors are the misspelling's, and it
/// exits with status 1 without printing Rocket's `FailedFairings` error or a secret warning.
#[test]
fn a_misspelt_table_gives_one_message_and_a_plain_exit() {
    let path = example();
    let dir = std::env::temp_dir().join(format!("wrs-example-typo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("Rocket.toml");
    std::fs::write(&config, "[debug.wristband_ath]\nclient_id = \"typo\"\n").unwrap();
    let output = Command::new(path)
        .current_dir(&dir)
        .env_remove("ROCKET_WRISTBAND_AUTH")
        .env_remove("ROCKET_WRISTBAND_SESSION")
        .env("ROCKET_CONFIG", &config)
        .env("ROCKET_PROFILE", "debug")
        .env("ROCKET_ADDRESS", "127.0.0.1")
        .env("ROCKET_PORT", free_port().to_string())
        .output()
        .expect("run the example");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("wristband_ath"), "the misspelling is named: {text}");
    for noise in [
        "FAKE Wristband",
        "Open http",
        "FailedFairings",
        "needs the session fairing",
        "RANDOM",
        "vanity_domain",
    ] {
        assert!(!text.contains(noise), "`{noise}` in:\n{text}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

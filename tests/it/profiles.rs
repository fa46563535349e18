//! The README's profile walk-through, run for real: the `quickstart` example binary (built here
//! with `cargo build --example quickstart`, as the README does) serves plain cookies under
//! `ROCKET_PROFILE=debug`
//! and `Secure` ones under `ROCKET_PROFILE=release` with the secret from
//! `ROCKET_WRISTBAND_SESSION`; without that secret, `release` refuses to start.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `quickstart` example, built now as the README builds it, so that it is never stale.
fn quickstart() -> PathBuf {
    crate::support::examples::built("quickstart", &[])
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port()
}

/// Kills the server when the test ends, passing or not.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(profile: &str, session_env: Option<&str>, port: u16) -> Server {
    // The repository's Rocket.toml.
    start_in(std::path::Path::new(env!("CARGO_MANIFEST_DIR")), profile, session_env, port)
}

/// The example started in `dir` (its Rocket.toml, its `.env`).
fn start_in(dir: &std::path::Path, profile: &str, session_env: Option<&str>, port: u16) -> Server {
    let mut command = Command::new(quickstart());
    command
        .current_dir(dir)
        .env("ROCKET_PROFILE", profile)
        .env("ROCKET_PORT", port.to_string())
        .env("ROCKET_ADDRESS", "127.0.0.1")
        .env_remove("ROCKET_WRISTBAND_SESSION")
        .env_remove("ROCKET_SECRET_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(value) = session_env {
        command.env("ROCKET_WRISTBAND_SESSION", value);
    }
    Server(command.spawn().expect("start the quickstart example"))
}

fn wait_until_serving(server: &mut Server, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
        if let Some(status) = server.0.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(server.0.stdout.as_mut().unwrap(), &mut err).unwrap();
            panic!("quickstart exited with {status}:\n{err}");
        }
        assert!(Instant::now() < deadline, "quickstart did not start listening");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn session_set_cookie(port: u16) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let response = reqwest::get(format!("http://127.0.0.1:{port}/")).await.unwrap();
        assert_eq!(response.status(), 200);
        let cookies: Vec<String> = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        assert_eq!(cookies.len(), 1, "{cookies:?}");
        cookies[0].clone()
    })
}

#[test]
fn same_binary_plain_cookies_in_debug_secure_ones_in_release() {
    // debug: no secret anywhere (one is generated), cookies without `Secure`.
    let port = free_port();
    let mut server = start("debug", None, port);
    wait_until_serving(&mut server, port);
    let cookie = session_set_cookie(port);
    assert!(cookie.starts_with("session="), "{cookie}");
    assert!(cookie.contains("HttpOnly") && !cookie.contains("Secure"), "{cookie}");
    drop(server);

    // release: the secret from the environment, cookies with `Secure`.
    let port = free_port();
    let env = r#"{secrets=["release-secret-from-the-environment-0123456789"]}"#;
    let mut server = start("release", Some(env), port);
    wait_until_serving(&mut server, port);
    let cookie = session_set_cookie(port);
    assert!(cookie.contains("; Secure"), "{cookie}");
}

#[test]
fn release_without_a_secret_refuses_to_start() {
    let port = free_port();
    let mut server = start("release", None, port);
    let status = server.0.wait().expect("the process ends by itself");
    assert!(!status.success());
    // Rocket's logger writes to stdout, errors included.
    let mut log = String::new();
    std::io::Read::read_to_string(server.0.stdout.as_mut().unwrap(), &mut log).unwrap();
    assert!(log.contains("wristband_session.secrets"), "{log}");
    assert!(log.contains("profile `release`"), "{log}");
}

#[test]
fn quickstart_resets_the_session_only_on_post() {
    let port = free_port();
    let mut server = start("debug", None, port);
    wait_until_serving(&mut server, port);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let url = format!("http://127.0.0.1:{port}/reset");
        // A cross-site link or image (a GET) cannot end the session.
        let response = client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 404);
        assert!(response.headers().get("set-cookie").is_none());
        let response = client.post(&url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let cookie = response.headers().get("set-cookie").unwrap().to_str().unwrap();
        assert!(cookie.starts_with("session=;") && cookie.contains("Max-Age=0"), "{cookie}");
    });
}

/// One visit with `cookie` (`name=value`), if any: the page's text and the new cookie.
fn visit(port: u16, cookie: Option<&str>) -> (String, String) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let mut request = reqwest::Client::new().get(format!("http://127.0.0.1:{port}/"));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        let response = request.send().await.unwrap();
        let set = response.headers()["set-cookie"].to_str().unwrap();
        let set = set.split(';').next().unwrap().to_string();
        (response.text().await.unwrap(), set)
    })
}

/// `.env` is for local development: the quickstart reads it in the debug profile (two launches
/// share its secret, so a cookie of the first counts on in the second) and ignores it in
/// `release` (no secret there, so the launch is refused).
#[test]
fn a_dotenv_file_configures_debug_launches_and_is_ignored_in_release() {
    let dir = std::env::temp_dir().join(format!("wrs-dotenv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(root.join("Rocket.toml"), dir.join("Rocket.toml")).unwrap();
    std::fs::write(
        dir.join(".env"),
        "ROCKET_WRISTBAND_SESSION={secrets=[\"dotenv-secret-for-local-development-0123456789\"]}\n",
    )
    .unwrap();

    let port = free_port();
    let mut server = start_in(&dir, "debug", None, port);
    wait_until_serving(&mut server, port);
    let (first, cookie) = visit(port, None);
    assert!(first.contains("1 time(s)"), "{first}");
    drop(server);
    let port = free_port();
    let mut server = start_in(&dir, "debug", None, port);
    wait_until_serving(&mut server, port);
    let (second, _) = visit(port, Some(&cookie));
    assert!(
        second.contains("2 time(s)"),
        "a restart lost the session: the secret was not from .env: {second}"
    );
    drop(server);

    let mut server = start_in(&dir, "release", None, free_port());
    let status = server.0.wait().expect("the process ends by itself");
    assert!(!status.success(), "release launched: it read the secret from .env");
    let mut log = String::new();
    std::io::Read::read_to_string(server.0.stdout.as_mut().unwrap(), &mut log).unwrap();
    assert!(log.contains("wristband_session.secrets"), "{log}");
    std::fs::remove_dir_all(&dir).unwrap();
}

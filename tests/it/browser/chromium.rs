//! Headless Chromium through chromedriver for a browser test: the tools' paths (a missing one
//! FAILS the test), chromedriver on a free port, a WebDriver session with the flags that work
//! on this machine and a fresh profile, and a clean-up that runs on success and on panic.

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use super::webdriver::{self, WebDriver};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Cargo's target directory (the parent of `target/tmp`).
pub fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("target/tmp has a parent").into()
}

/// Panics unless Debian's chromium and chromium-driver are installed: run means run.
pub fn require_tools() {
    for tool in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            Path::new(tool).exists(),
            "{tool} is missing: install Debian's chromium and chromium-driver (scripts/test.sh does)"
        );
    }
}

/// A port that was free a moment ago (the OS picks it).
fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a probe port");
    listener.local_addr().expect("probe address").port()
}

/// A running browser: the WebDriver session, chromedriver and the profile directory. Dropping
/// it ends the session (Chromium quits), kills chromedriver and removes the profile, also
/// while a failed assertion unwinds.
pub struct Browser {
    pub driver: WebDriver,
    chromedriver: Child,
    driver_port: u16,
    profile: PathBuf,
    ended: bool,
}

impl Browser {
    /// Starts chromedriver (its log at `out/chromedriver-<name>.log`) and a headless Chromium
    /// session with a fresh profile under `out`.
    pub async fn start(out: &Path, name: &str) -> Browser {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
        let profile = out.join(format!("profile-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&profile).unwrap();
        let log = out.join(format!("chromedriver-{name}.log"));
        let port = free_port();
        let mut chromedriver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let start = Instant::now();
        loop {
            let status = http.get(format!("http://127.0.0.1:{port}/status")).send().await;
            if let Ok(response) = status {
                let body: Value = response.json().await.unwrap_or_default();
                if body["value"]["ready"] == json!(true) {
                    break;
                }
            }
            if let Some(exit) = chromedriver.try_wait().unwrap() {
                panic!("chromedriver exited: {exit}; see {}", log.display());
            }
            if start.elapsed() > Duration::from_secs(10) {
                let _ = chromedriver.kill();
                panic!("chromedriver not ready; see {}", log.display());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let capabilities = json!({
            "browserName": "chrome",
            "timeouts": { "script": 10_000, "pageLoad": 15_000, "implicit": 0 },
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1000,760",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        });
        match WebDriver::new_session(port, capabilities).await {
            Ok(driver) => {
                Browser { driver, chromedriver, driver_port: port, profile, ended: false }
            }
            Err(e) => {
                let _ = chromedriver.kill();
                let _ = chromedriver.wait();
                let _ = std::fs::remove_dir_all(&profile);
                panic!("no WebDriver session: {e}; see {}", log.display());
            }
        }
    }

    /// Ends the session in order (the browser quits); the rest is done by `Drop`.
    pub async fn quit(mut self) {
        self.driver.delete().await.expect("the session ends");
        self.ended = true;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.ended {
            webdriver::delete_session_blocking(self.driver_port, &self.driver.id);
        }
        let _ = self.chromedriver.kill();
        let _ = self.chromedriver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Width and height from a PNG's IHDR chunk, after checking the signature.
pub fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.len() > 24 && png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert_eq!(&png[12..16], b"IHDR", "PNG starts with IHDR");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    (width, height)
}

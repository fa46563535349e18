//! A real `redis-server` for one test: a free port on 127.0.0.1, its own temporary directory,
//! no persistence (`--save "" --appendonly no`), killed (SIGKILL) and its directory removed
//! when dropped. `kill()` and `start_again()` simulate a crash and a restart on the same port.
//! Included with `#[path = "support/redis.rs"] mod redis_server;`.
//!
//! A missing `redis-server` fails the test with the command that installs it; it never skips.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A running (or killed) `redis-server`.
pub struct RedisServer {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
    /// More `redis-server` arguments (TLS, ACL users, `requirepass`), kept for `start_again`.
    extra: Vec<String>,
    /// The TLS port, when the server serves TLS too.
    tls_port: Option<u16>,
}

fn binary() -> PathBuf {
    for dir in std::env::var("PATH").unwrap_or_default().split(':').chain(["/usr/bin", "/usr/sbin"])
    {
        let candidate = PathBuf::from(dir).join("redis-server");
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "redis-server not found: these tests need a real Redis. Install Debian's package \
         (`apt-get install redis-server`; `bash scripts/test.sh` does it) and run them again"
    );
}

fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a free port");
    listener.local_addr().unwrap().port()
}

impl RedisServer {
    /// Starts a server on a free port and waits until it answers PING.
    pub fn start() -> RedisServer {
        RedisServer::start_with(Vec::new(), None)
    }

    /// Starts a server with more arguments (`extra`), e.g. `--requirepass` or `--user`; with
    /// `tls_port`, `extra` holds the TLS settings for it (see `support/tls.rs`). The plain port
    /// stays open on 127.0.0.1 for the readiness check.
    #[allow(dead_code)]
    pub fn start_with(extra: Vec<String>, tls_port: Option<u16>) -> RedisServer {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("wrs-redis-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the Redis directory");
        let mut server = RedisServer { port: free_port(), dir, child: None, extra, tls_port };
        server.start_again();
        server
    }

    /// A free port on 127.0.0.1 (for `start_with`'s TLS port).
    #[allow(dead_code)]
    pub fn free_port() -> u16 {
        free_port()
    }

    /// `rediss://127.0.0.1:<tls port>`; panics without TLS.
    #[allow(dead_code)]
    pub fn tls_url(&self) -> String {
        format!("rediss://127.0.0.1:{}", self.tls_port.expect("a TLS server"))
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on the same port and directory, empty.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "the server is running");
        let child = Command::new(binary())
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(&self.dir)
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.answers_ping() {
            assert!(Instant::now() < deadline, "redis-server did not answer within 10 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server (SIGKILL, like a crash) and waits until it is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn answers_ping(&self) -> bool {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
        if stream.write_all(b"PING\r\n").is_err() {
            return false;
        }
        // A server with a password answers `-NOAUTH ...`: it is up all the same.
        let mut reply = [0u8; 7];
        stream.read_exact(&mut reply).is_ok() && (&reply == b"+PONG\r\n" || &reply == b"-NOAUTH")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

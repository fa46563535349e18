//! A real Redis Sentinel deployment for one test, all on 127.0.0.1 and free ports, each
//! process in its own temporary directory: a master, one replica (`--replicaof`), and three
//! sentinels (`redis-server <conf> --sentinel`) that monitor the master under one name with a
//! quorum of 2, a 1 s `down-after-milliseconds` and a 3 s `failover-timeout`. Everything is
//! killed (SIGKILL) and the directories removed when dropped. Included with
//! `#[path = "support/sentinel.rs"] mod sentinel;`.
//!
//! `start_with` adds TLS (every node also serves TLS on its own port, with certificates from
//! a `support/tls.rs` CA, replicating and monitoring over TLS; clients are given the TLS
//! ports), a password on the data nodes and a password on the sentinels. The plain ports stay
//! open on 127.0.0.1 for this harness's own checks.
//!
//! A missing `redis-server` fails the test with the command that installs it; it never skips.

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// How long the deployment may take to be ready (the sentinels find each other through
/// hello messages sent every 2 s).
const READY_WITHIN: Duration = Duration::from_secs(30);

/// One `redis-server` process (a data node or a sentinel).
struct Node {
    port: u16,
    /// The port clients are given: the TLS port with TLS, else `port`.
    client_port: u16,
    child: Option<Child>,
}

/// What `SentinelCluster::start_with` adds to the plain deployment.
#[derive(Default)]
pub struct Setup<'a> {
    /// Serve and replicate over TLS, with certificates from this CA (no client certificates
    /// required).
    pub tls: Option<&'a super::tls::TestCa>,
    /// `requirepass` (and `masterauth`) of the data nodes; the sentinels get `auth-pass`.
    pub master_password: Option<String>,
    /// `requirepass` of the sentinels (and `sentinel-pass` between them).
    pub sentinel_password: Option<String>,
}

impl Node {
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A master, a replica and three sentinels.
pub struct SentinelCluster {
    name: String,
    tls: bool,
    master_password: Option<String>,
    sentinel_password: Option<String>,
    dir: PathBuf,
    master: Node,
    replica: Node,
    sentinels: Vec<Node>,
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

fn spawn(args: &[String]) -> Child {
    Command::new(binary())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn redis-server")
}

/// A data node on `port` in `dir`, no persistence, optionally replicating `master_port`.
fn data_node(port: u16, dir: &Path, master_port: Option<u16>, setup: &Setup<'_>) -> Node {
    std::fs::create_dir_all(dir).expect("create the node's directory");
    let mut args: Vec<String> = ["--port", &port.to_string(), "--bind", "127.0.0.1"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(["--dir".into(), dir.display().to_string()]);
    args.extend(["--save", "", "--appendonly", "no", "--daemonize", "no"].map(String::from));
    if let Some(master) = master_port {
        args.extend(["--replicaof".into(), "127.0.0.1".into(), master.to_string()]);
    }
    if let Some(password) = &setup.master_password {
        args.extend(["--requirepass".into(), password.clone()]);
        args.extend(["--masterauth".into(), password.clone()]);
    }
    let mut client_port = port;
    if let Some(ca) = setup.tls {
        client_port = free_port();
        let issued = ca.issue(&format!("node-{port}"));
        args.extend(ca.redis_args(&issued, client_port, false));
    }
    Node { port, client_port, child: Some(spawn(&args)) }
}

/// A sentinel on `port` in `dir` (its configuration file must be writable: sentinels rewrite
/// it with what they learn).
fn sentinel_node(port: u16, dir: &Path, name: &str, master_port: u16, setup: &Setup<'_>) -> Node {
    std::fs::create_dir_all(dir).expect("create the sentinel's directory");
    let conf = dir.join("sentinel.conf");
    let mut text = format!(
        "port {port}\n\
         bind 127.0.0.1\n\
         daemonize no\n\
         dir {dir}\n\
         sentinel monitor {name} 127.0.0.1 {master_port} 2\n\
         sentinel down-after-milliseconds {name} 1000\n\
         sentinel failover-timeout {name} 3000\n\
         sentinel parallel-syncs {name} 1\n",
        dir = dir.display()
    );
    if let Some(password) = &setup.master_password {
        text.push_str(&format!("sentinel auth-pass {name} {password}\n"));
    }
    if let Some(password) = &setup.sentinel_password {
        text.push_str(&format!("requirepass {password}\nsentinel sentinel-pass {password}\n"));
    }
    let mut client_port = port;
    if let Some(ca) = setup.tls {
        client_port = free_port();
        let issued = ca.issue(&format!("sentinel-{port}"));
        text.push_str(&ca.redis_conf(&issued, client_port, false));
    }
    std::fs::write(&conf, text).expect("write sentinel.conf");
    let args = vec![conf.display().to_string(), "--sentinel".to_string()];
    Node { port, client_port, child: Some(spawn(&args)) }
}

/// A synchronous connection to the plain `port`, with `password`, or `None` if nothing
/// answers.
fn connect(port: u16, password: Option<&str>) -> Option<redis::Connection> {
    let auth = password.map(|p| format!(":{p}@")).unwrap_or_default();
    let client = redis::Client::open(format!("redis://{auth}127.0.0.1:{port}")).ok()?;
    let conn = client.get_connection_with_timeout(Duration::from_millis(300)).ok()?;
    conn.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    Some(conn)
}

/// Waits until `ready` holds, polling every 50 ms; panics with `what` after [`READY_WITHIN`].
fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + READY_WITHIN;
    while !ready() {
        assert!(Instant::now() < deadline, "{what} did not happen within {READY_WITHIN:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl SentinelCluster {
    /// Starts the deployment, its master monitored as `name`, and waits until it can fail
    /// over: the replica is in sync, and every sentinel knows the replica and the two other
    /// sentinels.
    pub fn start(name: &str) -> SentinelCluster {
        SentinelCluster::start_with(name, Setup::default())
    }

    /// [`SentinelCluster::start`], with TLS and passwords as `setup` says.
    pub fn start_with(name: &str, setup: Setup<'_>) -> SentinelCluster {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("wrs-sentinel-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let master = data_node(free_port(), &dir.join("master"), None, &setup);
        let (master_port, monitored_port) = (master.port, master.client_port);
        let mut cluster = SentinelCluster {
            name: name.to_string(),
            tls: setup.tls.is_some(),
            master_password: setup.master_password.clone(),
            sentinel_password: setup.sentinel_password.clone(),
            dir: dir.clone(),
            master,
            replica: Node { port: 0, client_port: 0, child: None },
            sentinels: Vec::new(),
        };
        let password = setup.master_password.as_deref();
        wait_until("the master answering PING", || ping(master_port, password));
        let replica_dir = dir.join("replica");
        cluster.replica = data_node(free_port(), &replica_dir, Some(monitored_port), &setup);
        let replica_port = cluster.replica.port;
        wait_until("the replica's link to the master", || {
            info_field(replica_port, password, "master_link_status").as_deref() == Some("up")
        });
        for i in 0..3 {
            let dir = dir.join(format!("sentinel{i}"));
            let node = sentinel_node(free_port(), &dir, name, monitored_port, &setup);
            cluster.sentinels.push(node);
        }
        let sentinel_password = setup.sentinel_password.as_deref();
        for port in cluster.sentinel_ports() {
            wait_until("a sentinel knowing the replica and the other sentinels", || {
                let Some(master) = sentinel_master_info(port, sentinel_password, name) else {
                    return false;
                };
                let known = |key: &str| master.get(key).map(String::as_str) == Some("2");
                let replicas = master.get("num-slaves").map(String::as_str) == Some("1");
                known("num-other-sentinels")
                    && replicas
                    && master.get("flags").map(String::as_str) == Some("master")
            });
        }
        cluster
    }

    /// The name the sentinels monitor the master under.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn sentinel_ports(&self) -> Vec<u16> {
        self.sentinels.iter().map(|s| s.port).collect()
    }

    /// `redis://127.0.0.1:<port>` of each sentinel, `rediss://127.0.0.1:<TLS port>` with TLS
    /// (no credentials).
    pub fn sentinel_urls(&self) -> Vec<String> {
        let scheme = if self.tls { "rediss" } else { "redis" };
        let ports = self.sentinels.iter().map(|s| s.client_port);
        ports.map(|p| format!("{scheme}://127.0.0.1:{p}")).collect()
    }

    /// The plain URL of the master the deployment started with, with its password.
    pub fn first_master_url(&self) -> String {
        self.plain_url(self.master.port)
    }

    /// The plain URL of the replica the deployment started with (the master after a
    /// failover), with its password.
    pub fn replica_url(&self) -> String {
        self.plain_url(self.replica.port)
    }

    fn plain_url(&self, port: u16) -> String {
        let auth = self.master_password.as_ref().map(|p| format!(":{p}@")).unwrap_or_default();
        format!("redis://{auth}127.0.0.1:{port}")
    }

    /// The port clients are given for the replica the deployment started with (its TLS port
    /// with TLS), as the sentinels name it once promoted.
    pub fn replica_port(&self) -> u16 {
        self.replica.client_port
    }

    /// Kills the master (SIGKILL, like a crash) and waits until it is gone.
    pub fn kill_master(&mut self) {
        self.master.kill();
    }

    /// The master's port as the first sentinel that answers tells it
    /// (`SENTINEL GET-MASTER-ADDR-BY-NAME`), if any answers.
    pub fn master_port_by_sentinels(&self) -> Option<u16> {
        self.sentinel_ports().into_iter().find_map(|port| {
            let mut conn = connect(port, self.sentinel_password.as_deref())?;
            let addr: Option<(String, String)> = redis::cmd("SENTINEL")
                .arg("GET-MASTER-ADDR-BY-NAME")
                .arg(&self.name)
                .query(&mut conn)
                .ok()?;
            addr?.1.parse().ok()
        })
    }
}

fn ping(port: u16, password: Option<&str>) -> bool {
    connect(port, password).is_some_and(|mut c| redis::cmd("PING").query::<String>(&mut c).is_ok())
}

/// One field of `INFO replication` of the data node on `port`.
fn info_field(port: u16, password: Option<&str>, field: &str) -> Option<String> {
    let mut conn = connect(port, password)?;
    let info: String = redis::cmd("INFO").arg("replication").query(&mut conn).ok()?;
    info.lines()
        .filter_map(|line| line.trim_end().split_once(':'))
        .find(|(key, _)| *key == field)
        .map(|(_, value)| value.to_string())
}

/// `SENTINEL MASTER <name>` of the sentinel on `port`, as a map.
fn sentinel_master_info(
    port: u16,
    password: Option<&str>,
    name: &str,
) -> Option<std::collections::HashMap<String, String>> {
    let mut conn = connect(port, password)?;
    redis::cmd("SENTINEL").arg("MASTER").arg(name).query(&mut conn).ok()
}

impl Drop for SentinelCluster {
    fn drop(&mut self) {
        for node in self.sentinels.iter_mut() {
            node.kill();
        }
        self.replica.kill();
        self.master.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

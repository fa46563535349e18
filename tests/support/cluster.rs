//! A real Redis Cluster for one test, all on 127.0.0.1: six `redis-server --cluster-enabled
//! yes` processes on free ports (each with a free cluster-bus port, `--cluster-port`), each in
//! its own temporary directory, without persistence and with `cluster-node-timeout` 1000 ms,
//! joined by `redis-cli --cluster create … --cluster-replicas 1 --cluster-yes` into three
//! masters with one replica each. `kill_master_of` kills the master serving a key's slot and
//! waits until its replica has taken over. Everything is killed (SIGKILL) and the directories
//! removed when dropped. Reached as `crate::support::cluster`. `start_tls` makes the same
//! cluster speak TLS only (clients, replication and the cluster bus), with certificates from a
//! throwaway CA (`super::tls`).
//!
//! A missing `redis-server` or `redis-cli` fails the test with the command that installs it;
//! it never skips.

use std::net::{Ipv4Addr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// How long the cluster may take to form, or to replace a lost master.
const READY_WITHIN: Duration = Duration::from_secs(30);

struct Node {
    port: u16,
    child: Option<Child>,
}

impl Node {
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// How `redis-cli` reaches the nodes.
struct Access {
    /// `requirepass` and `masterauth` of every node, if any.
    password: Option<String>,
    /// The CA to trust when the nodes speak TLS only.
    tls_ca: Option<PathBuf>,
}

impl Access {
    /// `redis-cli` with the password and TLS arguments, if any.
    fn redis_cli(&self) -> Command {
        let mut command = Command::new(binary("redis-cli"));
        if let Some(password) = &self.password {
            command.args(["--no-auth-warning", "-a", password]);
        }
        if let Some(ca) = &self.tls_ca {
            command.arg("--tls").arg("--cacert").arg(ca);
        }
        command
    }

    /// `redis-cli -p <port> <args…>`'s output, `None` if it could not run or failed.
    fn cli(&self, port: u16, args: &[&str]) -> Option<String> {
        let output = self
            .redis_cli()
            .args(["-h", "127.0.0.1", "-p", &port.to_string()])
            .args(args)
            .stderr(Stdio::null())
            .output()
            .ok()?;
        output.status.success().then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

/// Three masters and three replicas.
pub struct RedisCluster {
    access: Access,
    dir: PathBuf,
    nodes: Vec<Node>,
}

fn binary(name: &str) -> PathBuf {
    for dir in std::env::var("PATH").unwrap_or_default().split(':').chain(["/usr/bin", "/usr/sbin"])
    {
        let candidate = PathBuf::from(dir).join(name);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "{name} not found: these tests need a real Redis. Install Debian's package \
         (`apt-get install redis-server redis-tools`; `bash scripts/test.sh` does it) and run \
         them again"
    );
}

/// `count` distinct free ports below Linux's ephemeral range (32768–60999), so that neither
/// another test's port-0 bind nor the nodes' own outgoing connections can take one between
/// this choice and the nodes' start: each is held while the others are chosen.
fn free_ports(count: usize) -> Vec<u16> {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
        ^ std::process::id();
    let first = 20_000 + (seed % 10_000) as u16;
    let mut held = Vec::with_capacity(count);
    for port in (first..32_000).chain(20_000..first) {
        if let Ok(listener) = TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
            held.push(listener);
            if held.len() == count {
                break;
            }
        }
    }
    assert_eq!(held.len(), count, "no {count} free ports between 20000 and 32000");
    held.iter().map(|l| l.local_addr().unwrap().port()).collect()
}

/// One line of `CLUSTER NODES`.
#[derive(Debug)]
struct NodeLine {
    port: u16,
    flags: String,
    slots: Vec<(u16, u16)>,
}

fn parse_nodes(text: &str) -> Vec<NodeLine> {
    let mut lines = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 8 {
            continue;
        }
        // `127.0.0.1:port@bus`
        let Some(port) = fields[1]
            .split('@')
            .next()
            .and_then(|a| a.rsplit(':').next())
            .and_then(|p| p.parse().ok())
        else {
            continue;
        };
        let slots = fields[8..]
            .iter()
            .filter(|s| !s.starts_with('['))
            .filter_map(|s| match s.split_once('-') {
                Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
                None => s.parse().ok().map(|n| (n, n)),
            })
            .collect();
        lines.push(NodeLine { port, flags: fields[2].to_string(), slots });
    }
    lines
}

impl RedisCluster {
    /// Starts six nodes, creates the cluster and waits until every node reports
    /// `cluster_state:ok` and every replica is in sync with its master.
    pub fn start() -> RedisCluster {
        RedisCluster::start_with(None)
    }

    /// As `start`, every node with `requirepass` and `masterauth` set to `password`.
    pub fn start_with(password: Option<&str>) -> RedisCluster {
        RedisCluster::launch(password, None)
    }

    /// As `start`, every node serving TLS only (`--port 0`, `tls-cluster yes`,
    /// `tls-replication yes`) with a certificate issued by `ca`; clients need not present one.
    pub fn start_tls(ca: &super::tls::TestCa) -> RedisCluster {
        RedisCluster::launch(None, Some(ca))
    }

    fn launch(password: Option<&str>, ca: Option<&super::tls::TestCa>) -> RedisCluster {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("wrs-cluster-{}-{n}", std::process::id()));
        let access =
            Access { password: password.map(str::to_string), tls_ca: ca.map(|c| c.cert()) };
        let mut cluster = RedisCluster { access, dir, nodes: Vec::new() };
        let auth: Vec<String> = match &cluster.access.password {
            Some(p) => vec!["--requirepass".into(), p.clone(), "--masterauth".into(), p.clone()],
            None => Vec::new(),
        };
        let ports = free_ports(12);
        for i in 0..6 {
            let (port, bus) = (ports[2 * i], ports[2 * i + 1]);
            let dir = cluster.dir.join(format!("node-{i}"));
            std::fs::create_dir_all(&dir).expect("create the node's directory");
            let listen: Vec<String> = match ca {
                None => vec!["--port".into(), port.to_string()],
                Some(ca) => {
                    let issued = ca.issue(&format!("node-{i}"));
                    let mut args = vec!["--port".into(), "0".into()];
                    args.extend(ca.redis_args(&issued, port, false));
                    args.extend(["--tls-cluster".into(), "yes".into()]);
                    args
                }
            };
            let child = Command::new(binary("redis-server"))
                .args(&listen)
                .args(["--cluster-port", &bus.to_string()])
                .args(["--bind", "127.0.0.1", "--cluster-enabled", "yes"])
                .args(["--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "1000"])
                .arg("--dir")
                .arg(&dir)
                .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
                .args(&auth)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn redis-server");
            cluster.nodes.push(Node { port, child: Some(child) });
        }
        let start = Instant::now();
        for node in &cluster.nodes {
            while cluster.access.cli(node.port, &["PING"]).is_none_or(|r| r.trim() != "PONG") {
                assert!(start.elapsed() < READY_WITHIN, "node {} never answered", node.port);
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let addresses: Vec<String> =
            cluster.nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)).collect();
        let created = cluster
            .access
            .redis_cli()
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run redis-cli --cluster create");
        assert!(created.success(), "redis-cli --cluster create failed");
        cluster.wait_until_ok();
        cluster
    }

    /// `redis://127.0.0.1:<port>` of every node (`rediss://` when it speaks TLS): the seed
    /// nodes to give the instances.
    pub fn urls(&self) -> Vec<String> {
        let scheme = if self.access.tls_ca.is_some() { "rediss" } else { "redis" };
        self.nodes.iter().map(|n| format!("{scheme}://127.0.0.1:{}", n.port)).collect()
    }

    fn live_ports(&self) -> Vec<u16> {
        self.nodes.iter().filter(|n| n.child.is_some()).map(|n| n.port).collect()
    }

    /// Waits until every live node reports `cluster_state:ok`, agrees on a master (not
    /// failed) for every slot, and every replica's link to its master is up.
    fn wait_until_ok(&self) {
        let start = Instant::now();
        loop {
            assert!(start.elapsed() < READY_WITHIN, "the cluster was not ready within 30 s");
            if self.live_ports().into_iter().all(|port| self.node_ready(port)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn node_ready(&self, port: u16) -> bool {
        let Some(info) = self.access.cli(port, &["CLUSTER", "INFO"]) else { return false };
        if !info.contains("cluster_state:ok") {
            return false;
        }
        let Some(nodes) = self.access.cli(port, &["CLUSTER", "NODES"]) else { return false };
        let lines = parse_nodes(&nodes);
        let served: u32 = lines
            .iter()
            .filter(|l| l.flags.contains("master") && !l.flags.contains("fail"))
            .flat_map(|l| l.slots.iter())
            .map(|(a, b)| u32::from(b - a) + 1)
            .sum();
        if served != 16384 {
            return false;
        }
        let Some(replication) = self.access.cli(port, &["INFO", "replication"]) else {
            return false;
        };
        !replication.contains("role:slave") || replication.contains("master_link_status:up")
    }

    /// The port of the master serving `key`'s slot, as the node on `port` sees it.
    fn master_seen_by(&self, port: u16, key: &str) -> Option<u16> {
        let slot: u16 = self.access.cli(port, &["CLUSTER", "KEYSLOT", key])?.trim().parse().ok()?;
        let nodes = self.access.cli(port, &["CLUSTER", "NODES"])?;
        parse_nodes(&nodes)
            .into_iter()
            .find(|l| {
                l.flags.contains("master")
                    && !l.flags.contains("fail")
                    && l.slots.iter().any(|(a, b)| (*a..=*b).contains(&slot))
            })
            .map(|l| l.port)
    }

    /// The port of the master serving `key`'s slot, as a live node sees it.
    pub fn master_of(&self, key: &str) -> u16 {
        self.master_seen_by(self.live_ports()[0], key).expect("a master serves the slot")
    }

    /// Kills (SIGKILL) the master serving `key`'s slot; its port.
    pub fn kill_master_of(&mut self, key: &str) -> u16 {
        let old = self.master_of(key);
        self.nodes.iter_mut().find(|n| n.port == old).expect("a node").kill();
        old
    }

    /// Once every live node reports `cluster_state:ok` and names the same node other than
    /// `old` as the master of `key`'s slot: that node's port.
    pub fn took_over(&self, key: &str, old: u16) -> Option<u16> {
        let mut new = None;
        for port in self.live_ports() {
            if !self.access.cli(port, &["CLUSTER", "INFO"])?.contains("cluster_state:ok") {
                return None;
            }
            let seen = self.master_seen_by(port, key).filter(|p| *p != old)?;
            if new.is_some_and(|n| n != seen) {
                return None;
            }
            new = Some(seen);
        }
        new
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

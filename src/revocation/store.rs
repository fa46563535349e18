//! The Redis side of revocation: where revocations live, how they are written and announced,
//! and the background task that keeps an instance's memory caught up.
//!
//! Redis layout (`P` = `key_prefix`):
//!
//! - `P:revoked-sessions`: a sorted set, member = session id, score = until when it is refused
//!   (Unix seconds);
//! - `P:revoked-user-cutoffs`: a sorted set, member = `<cutoff ms> <user id>` (the user's
//!   sessions issued before the cut-off, in ms since the epoch, are refused), score = until
//!   when it is kept (Unix seconds): `max(cutoff, when it was made) + max_age + skew`, so a
//!   cut-off in the past outlives every cookie re-sealed before it was made;
//! - `P:revocations`: the pub/sub channel; a message is `s <until> <session id>` or
//!   `u <cutoff ms> <user id>` (the user id last, so that it may hold spaces; a receiver keeps
//!   a cut-off until `max(cutoff, now) + max_age + skew`, `now` being when it got it).
//!
//! Every write drops the members that have expired and keeps the key's own TTL at the latest
//! member's expiry, so both sets shrink by themselves and vanish when idle.
//!
//! Catch-up: (1) subscribe to the channel, (2) read both sets, (3) write back what memory
//! holds and Redis lacks (a Redis restarted empty, a revocation made while it was down), then
//! (4) trust memory again. Messages that arrive during (2)–(3) wait in the subscription and are
//! applied after it; applying twice is harmless. The subscription's end (Redis restarted, the
//! connection dropped) or an unanswered PING (checked every second) marks the instance as not
//! caught up until the next catch-up succeeds; it retries every 0.1–1 s.
//!
//! With Redis Sentinel (`sentinels` + `sentinel_master`), every catch-up starts by asking the
//! sentinels where the master is (the Redis client's own Sentinel support, which also checks
//! with `ROLE` that the node it names is a master). When the answer changes — a failover — the
//! command connection is rebuilt on the new master and the subscription moves there; the
//! catch-up's write-back then restores what the new master lost (replication is asynchronous,
//! so the last writes to the old master may never have reached it). A master that dies ends the
//! subscription, and Sentinel closes the clients of a master it demotes, so either way the
//! background task notices at once and asks again (every 0.1–0.25 s) until the sentinels name
//! a new master.
//!
//! With Redis Cluster (`cluster_nodes`), the names above carry the hash tag `{P}` instead of
//! `P` (`{P}:revoked-sessions`, `{P}:revoked-user-cutoffs`, `{P}:revocations`), so that both
//! sets live in one slot and a revocation's `MULTI` (which also publishes) goes to one node.
//! Commands go through the `redis` crate's cluster client, which follows slot moves and
//! failovers. The subscription is a RESP3 cluster connection whose pushes arrive on a channel:
//! classic `PUBLISH` reaches every node of a cluster, so it does not matter which node the
//! channel is subscribed on; a node's connection that drops (a `Disconnection` push) ends the
//! subscription as a single server's would, and every catch-up rebuilds both connections from
//! the seed nodes' current view of the cluster, so that a master replaced by its replica
//! (whose copy may lack the last writes) gets the write-back.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig, PubSubSink, PubSubStream};
use redis::cluster_async::ClusterConnection;
use redis::sentinel::SentinelClient;
use rocket::futures::StreamExt;
use rocket::tokio;
use rocket::tokio::sync::watch;
use time::OffsetDateTime;

use super::connect::{connect, tls_failure, ClusterSetup, Deployment};
use super::memory::{user_entry_expiry, Memory, TABLE_WARN_ENTRIES};
use crate::session::options::{connection_address, RevocationOptions, UnavailablePolicy};
use crate::session::revocation_hook::{
    parse_session_id, Identity, RevocationCheck, Target, Verdict,
};

/// How long one Redis command or connection attempt may take.
const REDIS_TIMEOUT: Duration = Duration::from_secs(1);
/// How long asking the sentinels where the master is may take (they are asked three at a
/// time, and the master each names is checked with `ROLE`).
const SENTINEL_TIMEOUT: Duration = Duration::from_secs(2);
/// Where commands go until the sentinels have named a master: nothing can listen on port 0,
/// so a command fails at once, as with a Redis that is down.
const NO_MASTER_YET: &str = "redis://127.0.0.1:0";
/// [`NO_MASTER_YET`]'s address.
const NO_MASTER_ADDR: &str = "127.0.0.1:0";
/// How often the subscription is pinged (and memory swept).
const TICK: Duration = Duration::from_secs(1);
/// Memory is swept of expired entries this often, in ticks.
const SWEEP_TICKS: u64 = 10;

/// Key and channel names.
#[derive(Debug)]
struct Names {
    prefix: String,
    sessions: String,
    users: String,
    channel: String,
}

/// Where the Redis master is.
enum Master {
    /// At `url`, always.
    Fixed,
    /// Wherever the sentinels say (asked again at every catch-up).
    Sentinel {
        /// The Redis client's Sentinel support; its look-ups need `&mut`.
        sentinels: Box<rocket::tokio::sync::Mutex<SentinelClient>>,
        /// The monitored name (`sentinel_master`).
        name: String,
        /// The sentinels' addresses (never their URLs, which can hold passwords), for logs.
        addresses: String,
    },
    /// A Redis Cluster, reached through its seed nodes.
    Cluster(ClusterSetup),
}

/// A handle on the command connection: one server's (`url`, or the master the sentinels name)
/// or a cluster's, which routes each command to the node holding its keys. Cheap to clone.
#[derive(Clone)]
pub(crate) enum Commands {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl redis::aio::ConnectionLike for Commands {
    fn req_packed_command<'a>(
        &'a mut self,
        cmd: &'a redis::Cmd,
    ) -> redis::RedisFuture<'a, redis::Value> {
        match self {
            Commands::Single(c) => c.req_packed_command(cmd),
            Commands::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        match self {
            Commands::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Commands::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Commands::Single(c) => c.get_db(),
            Commands::Cluster(c) => c.get_db(),
        }
    }
}

/// The connection to the current master: its client (for the subscription; `None` on a
/// cluster, whose subscription is built from the seed nodes) and the command connection.
struct Link {
    client: Option<redis::Client>,
    commands: Commands,
    /// The master's address (never its URL, which can hold passwords), for logs.
    server: String,
}

/// One instance's revocation state, shared by the check, the handle and the task.
pub(crate) struct Store {
    memory: RwLock<Memory>,
    /// Counts the changes to `memory` (see [`Store::write`]): the revocation stamp.
    generation: AtomicU64,
    caught_up: AtomicBool,
    /// The catch-ups completed so far (for waiting on the first, and for tests).
    epochs: watch::Sender<u64>,
    policy: UnavailablePolicy,
    max_age: u64,
    names: Names,
    master: Master,
    /// With TLS, what the servers' certificates are checked against (for logs).
    trust: Option<String>,
    /// Why the last connection attempt failed (empty once caught up), for the launch log and
    /// so that a TLS failure is logged once, not at every retry.
    last_failure: Mutex<String>,
    /// Replaced when the sentinels name another master; read (briefly) for every command.
    link: Mutex<Link>,
    /// When the last "accepted unchecked" warning was logged (Unix seconds).
    last_warning: AtomicU64,
    /// Sessions accepted unchecked since that warning.
    accepted_unchecked: AtomicU64,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("server", &self.server())
            .field("caught_up", &self.caught_up.load(Ordering::Relaxed))
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

fn now_secs() -> u64 {
    u64::try_from(OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0)
}

/// A Redis error as text, without the server's address. An I/O error (TLS failures among
/// them) is described by its own text, which names no address or credential.
fn describe(e: &redis::RedisError) -> String {
    match e.detail() {
        Some(detail) => format!("{:?}: {detail}", e.kind()),
        None if e.kind() == redis::ErrorKind::Io => {
            use std::error::Error;
            let io = e.source().map(|s| s.to_string());
            format!("Io: {}", io.unwrap_or_else(|| "no detail".into()))
        }
        None => format!("{:?}: no detail", e.kind()),
    }
}

/// A parsed pub/sub message.
enum Message<'a> {
    Session { id: u128, until: u64 },
    User { user_id: &'a str, cutoff_ms: u64 },
}

fn parse_message(text: &str) -> Option<Message<'_>> {
    let (kind, rest) = text.split_once(' ')?;
    let (number, name) = rest.split_once(' ')?;
    let number = number.parse().ok()?;
    match kind {
        "s" => Some(Message::Session { id: parse_session_id(name)?, until: number }),
        "u" if !name.is_empty() => Some(Message::User { user_id: name, cutoff_ms: number }),
        _ => None,
    }
}

/// A member of the user cut-off set, `<cutoff ms> <user id>`: `(cutoff ms, user id)`.
fn parse_user_member(member: &str) -> Option<(u64, &str)> {
    let (cutoff, user) = member.split_once(' ')?;
    (!user.is_empty()).then_some((cutoff.parse().ok()?, user))
}

fn session_text(id: u128) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    URL_SAFE_NO_PAD.encode(id.to_be_bytes())
}

/// The command connection's settings: short timeouts, one quick retry (a failed write is held
/// in memory and written back at the next catch-up).
fn manager_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(REDIS_TIMEOUT))
        .set_response_timeout(Some(REDIS_TIMEOUT))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_millis(200))
}

impl Link {
    /// A link to `client`'s server (no network yet: the command connection is lazy).
    fn new(client: redis::Client, server: String) -> Result<Link, String> {
        let commands = ConnectionManager::new_lazy_with_config(client.clone(), manager_config())
            .map_err(|e| format!("the Redis connection could not be set up: {}", describe(&e)))?;
        Ok(Link { client: Some(client), commands: Commands::Single(commands), server })
    }
}

impl Store {
    /// Builds the store (no network yet) and starts its task on the current runtime.
    pub(crate) fn start(options: &RevocationOptions, max_age: u64) -> Result<Arc<Store>, String> {
        let connection = connect(options)?;
        let (master, link) = match connection.deployment {
            Deployment::Fixed(client) => {
                let server = connection_address(client.get_connection_info());
                (Master::Fixed, Link::new(client, server)?)
            }
            Deployment::Sentinel { client, addresses } => {
                let master = Master::Sentinel {
                    sentinels: Box::new(rocket::tokio::sync::Mutex::new(client)),
                    name: options.sentinel_master.clone().unwrap_or_default(),
                    addresses,
                };
                let placeholder = redis::Client::open(NO_MASTER_YET).map_err(|e| {
                    format!("the Redis client could not be set up: {}", describe(&e))
                })?;
                (master, Link::new(placeholder, "(no master located yet)".into())?)
            }
            Deployment::Cluster(setup) => {
                // Commands fail at once until the first catch-up has connected to the cluster.
                let placeholder = redis::Client::open(NO_MASTER_YET).map_err(|e| {
                    format!("the Redis client could not be set up: {}", describe(&e))
                })?;
                let mut link = Link::new(placeholder, "(not connected yet)".into())?;
                link.client = None;
                (Master::Cluster(setup), link)
            }
        };
        let prefix = &options.key_prefix;
        // On a cluster, one hash tag for every name, so that one revocation's keys (and the
        // channel published to in the same transaction) are in one slot.
        let base = match master {
            Master::Cluster(_) => format!("{{{prefix}}}"),
            _ => prefix.clone(),
        };
        let store = Arc::new(Store {
            memory: RwLock::new(Memory::default()),
            generation: AtomicU64::new(0),
            caught_up: AtomicBool::new(false),
            epochs: watch::channel(0).0,
            policy: options.on_unavailable,
            max_age,
            names: Names {
                prefix: prefix.clone(),
                sessions: format!("{base}:revoked-sessions"),
                users: format!("{base}:revoked-user-cutoffs"),
                channel: format!("{base}:revocations"),
            },
            master,
            trust: connection.trust,
            last_failure: Mutex::new(String::new()),
            link: Mutex::new(link),
            last_warning: AtomicU64::new(0),
            accepted_unchecked: AtomicU64::new(0),
        });
        tokio::spawn(follow(Arc::downgrade(&store)));
        Ok(store)
    }

    fn link(&self) -> std::sync::MutexGuard<'_, Link> {
        self.link.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Where Redis is, without passwords, for logs: the server, or the Sentinel master's
    /// name and where it is now.
    fn server(&self) -> String {
        let server = self.link().server.clone();
        match &self.master {
            Master::Fixed => server,
            Master::Sentinel { name, addresses, .. } => {
                format!("{server} (master `{name}` of the sentinels {addresses})")
            }
            Master::Cluster(setup) => {
                format!("the Redis Cluster of seed nodes {}", setup.addresses)
            }
        }
    }

    /// On a cluster, a new command connection, built from the seed nodes' current view of the
    /// cluster (after a failover, the promoted replica in place of the lost master).
    async fn connect_cluster(&self, setup: &ClusterSetup) -> Result<(), String> {
        let client = setup.client(REDIS_TIMEOUT, None).map_err(|e| {
            format!("the Redis Cluster client could not be set up: {}", describe(&e))
        })?;
        let commands = tokio::time::timeout(SENTINEL_TIMEOUT, client.get_async_connection())
            .await
            .map_err(|_| "connecting to the cluster timed out".to_string())?
            .map_err(|e| format!("connecting to the cluster failed: {}", describe(&e)))?;
        let mut link = self.link();
        link.commands = Commands::Cluster(commands);
        link.server = "(cluster)".into();
        Ok(())
    }

    /// With Sentinel, asks the sentinels where the master is and, if it moved (or was not
    /// known yet), rebuilds the command connection on it. Nothing to do for a fixed `url`.
    async fn locate_master(&self) -> Result<(), String> {
        let (sentinels, name) = match &self.master {
            Master::Fixed => return Ok(()),
            Master::Cluster(setup) => return self.connect_cluster(setup).await,
            Master::Sentinel { sentinels, name, .. } => (sentinels, name),
        };
        let client = {
            let mut sentinels = sentinels.lock().await;
            tokio::time::timeout(SENTINEL_TIMEOUT, sentinels.async_get_client())
                .await
                .map_err(|_| format!("asking the sentinels for master `{name}` timed out"))?
                .map_err(|e| {
                    format!("asking the sentinels for master `{name}` failed: {}", describe(&e))
                })?
        };
        let server = connection_address(client.get_connection_info());
        let mut link = self.link();
        if link.server == server {
            return Ok(());
        }
        let previous = std::mem::replace(&mut *link, Link::new(client, server.clone())?);
        drop(link);
        let was_placeholder = previous
            .client
            .as_ref()
            .is_none_or(|c| c.get_connection_info().addr().to_string() == NO_MASTER_ADDR);
        if was_placeholder {
            log::info!("revocation: the sentinels name {server} as master `{name}`");
        } else {
            log::warn!(
                "revocation: the sentinels now name {server} as master `{name}` (was {}): \
                 failover; moving the connections there",
                previous.server
            );
        }
        Ok(())
    }

    fn read(&self) -> RwLockReadGuard<'_, Memory> {
        self.memory.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The memory, to change it. Every call gives the memory a new stamp (counted while the
    /// write lock is held, so a reader holding the read lock sees a stamp that matches what it
    /// reads).
    fn write(&self) -> RwLockWriteGuard<'_, Memory> {
        let memory = self.memory.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        memory
    }

    /// The stamp of the memory as it is now, `None` while not caught up (see
    /// `RevocationCheck::stamp`). Stamps count from 0 and never reach `u64::MAX`.
    fn stamp(&self) -> Option<u64> {
        self.is_caught_up().then(|| self.generation.load(Ordering::Acquire))
    }

    pub(crate) fn is_caught_up(&self) -> bool {
        self.caught_up.load(Ordering::Acquire)
    }

    pub(crate) fn catch_ups(&self) -> u64 {
        *self.epochs.borrow()
    }

    /// Waits until at least `count` catch-ups have completed, or `timeout` has passed.
    pub(crate) async fn wait_for_catch_ups(&self, count: u64, timeout: Duration) -> bool {
        let mut epochs = self.epochs.subscribe();
        let reached = tokio::time::timeout(timeout, epochs.wait_for(|n| *n >= count)).await;
        matches!(reached, Ok(Ok(_)))
    }

    /// A handle on the command connection to the current Redis master (cheap to clone), for
    /// the other users of the same Redis (refresh coordination across instances).
    ///
    /// With Sentinel, the handle follows the master once the background task has found it
    /// moved: a handle taken before a failover keeps pointing at the old master, so take a
    /// fresh one for each use.
    pub(crate) fn commands(&self) -> Commands {
        self.link().commands.clone()
    }

    /// The prefix of every key and channel name.
    pub(crate) fn key_prefix(&self) -> &str {
        &self.names.prefix
    }

    pub(crate) fn policy(&self) -> UnavailablePolicy {
        self.policy
    }

    pub(crate) fn max_age(&self) -> u64 {
        self.max_age
    }

    pub(crate) fn counts(&self) -> (usize, usize, usize) {
        let memory = self.read();
        (memory.session_count(), memory.user_count(), memory.heap_bytes())
    }

    /// Why the last attempt to catch up failed, empty once caught up (for the launch log).
    pub(crate) fn last_failure(&self) -> String {
        self.last_failure.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Records why an attempt to catch up failed; a TLS failure (a certificate that does not
    /// verify, a client certificate refused) is logged as an error once until it changes, with
    /// the host and what the certificate was checked against.
    fn note_failure(&self, reason: &str) -> String {
        let reason = match tls_failure(reason, &self.server(), self.trust.as_deref()) {
            Some(message) => message,
            None => reason.to_string(),
        };
        let mut last = self.last_failure.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if *last != reason && reason.contains("certificate") {
            log::error!("revocation: {reason}");
        }
        last.clone_from(&reason);
        reason
    }

    fn set_caught_up(&self, caught_up: bool, reason: &str) {
        let was = self.caught_up.swap(caught_up, Ordering::AcqRel);
        if caught_up {
            self.last_failure.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clear();
            self.epochs.send_modify(|n| *n += 1);
            if !was {
                log::info!("revocation: caught up with Redis at {}", self.server());
            }
        } else if was {
            match self.policy {
                UnavailablePolicy::Refuse => log::error!(
                    "revocation: lost track of Redis at {} ({reason}); policy `refuse`: sessions \
                     that could have been revoked elsewhere get an empty session (their cookies \
                     are kept) until this instance has caught up",
                    self.server()
                ),
                UnavailablePolicy::Accept => log::error!(
                    "revocation: lost track of Redis at {} ({reason}); policy `accept`: sessions \
                     are ACCEPTED WITHOUT CHECKING revocations made elsewhere until this \
                     instance has caught up",
                    self.server()
                ),
            }
        }
    }

    /// Logs the sessions accepted unchecked, at most once a second.
    fn warn_accepted(&self, now: u64) {
        let count = self.accepted_unchecked.fetch_add(1, Ordering::Relaxed) + 1;
        let last = self.last_warning.load(Ordering::Relaxed);
        if now > last
            && self
                .last_warning
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.accepted_unchecked.fetch_sub(count, Ordering::Relaxed);
            log::warn!(
                "revocation: not caught up with Redis; accepted {count} session(s) without \
                 checking revocations made elsewhere (policy `accept`)"
            );
        }
    }

    /// Until when a user cut-off made (or learnt) now is kept.
    fn user_until(&self, cutoff_ms: u64, now: u64) -> u64 {
        user_entry_expiry(cutoff_ms, now, self.max_age)
    }

    /// Logs a warning when memory has just grown past [`TABLE_WARN_ENTRIES`] (once per
    /// crossing; see `Memory::crossed_warn_limit`).
    fn watch_size(&self, memory: &mut Memory) {
        if memory.crossed_warn_limit() {
            log::warn!(
                "revocation: this instance holds {} revocations ({} sessions, {} users; \
                 {} bytes), over {TABLE_WARN_ENTRIES}: revocations arrive faster than usual \
                 (each is held until its cookies would have expired, max_age = {} s); look for \
                 what revokes sessions in bulk",
                memory.len(),
                memory.session_count(),
                memory.user_count(),
                memory.heap_bytes(),
                self.max_age
            );
        }
    }

    /// Applies one pub/sub message to memory.
    fn apply(&self, text: &str) {
        match parse_message(text) {
            Some(Message::Session { id, until }) => {
                let mut memory = self.write();
                memory.add_session(id, until);
                self.watch_size(&mut memory);
            }
            Some(Message::User { user_id, cutoff_ms }) => {
                let until = self.user_until(cutoff_ms, now_secs());
                let mut memory = self.write();
                memory.add_user(user_id, cutoff_ms, until);
                self.watch_size(&mut memory);
            }
            None => log::warn!("revocation: ignored a malformed message on the channel"),
        }
    }

    /// Writes one revocation to Redis and announces it.
    async fn publish(&self, target: Target<'_>) -> Result<(), redis::RedisError> {
        let now = now_secs();
        let mut pipe = redis::pipe();
        pipe.atomic();
        let (key, message, until) = match target {
            Target::Session { id, expires_at } => {
                pipe.cmd("ZADD").arg(&self.names.sessions).arg("GT").arg(expires_at).arg(id);
                pipe.cmd("ZREMRANGEBYSCORE").arg(&self.names.sessions).arg("-inf").arg(now);
                (&self.names.sessions, format!("s {expires_at} {id}"), expires_at)
            }
            Target::UserBefore { user_id, before_ms } => {
                let until = self.user_until(before_ms, now);
                let member = format!("{before_ms} {user_id}");
                pipe.cmd("ZADD").arg(&self.names.users).arg("GT").arg(until).arg(member);
                pipe.cmd("ZREMRANGEBYSCORE").arg(&self.names.users).arg("-inf").arg(now);
                (&self.names.users, format!("u {before_ms} {user_id}"), until)
            }
        };
        let ttl = until.saturating_sub(now).max(1);
        // A key without a TTL (just created) takes this one; one with a TTL keeps the later.
        pipe.cmd("EXPIRE").arg(key).arg(ttl).arg("NX");
        pipe.cmd("EXPIRE").arg(key).arg(ttl).arg("GT");
        pipe.cmd("PUBLISH").arg(&self.names.channel).arg(message);
        let mut commands = self.commands();
        pipe.query_async::<()>(&mut commands).await
    }

    /// Steps (2) and (3) of the catch-up: reads both sets into memory and writes back what
    /// memory holds that Redis lacks.
    async fn load_and_heal(&self) -> Result<(), redis::RedisError> {
        let now = now_secs();
        let mut commands = self.commands();
        let sessions: Vec<(String, f64)> = redis::cmd("ZRANGE")
            .arg(&self.names.sessions)
            .arg(format!("({now}"))
            .arg("+inf")
            .arg("BYSCORE")
            .arg("WITHSCORES")
            .query_async(&mut commands)
            .await?;
        let users: Vec<(String, f64)> = redis::cmd("ZRANGE")
            .arg(&self.names.users)
            .arg(format!("({now}"))
            .arg("+inf")
            .arg("BYSCORE")
            .arg("WITHSCORES")
            .query_async(&mut commands)
            .await?;

        let mut stored_sessions = std::collections::HashMap::with_capacity(sessions.len());
        let mut stored_users = std::collections::HashMap::with_capacity(users.len());
        let (missing_sessions, missing_users) = {
            let mut memory = self.write();
            for (id, until) in &sessions {
                if let Some(bits) = parse_session_id(id) {
                    memory.add_session(bits, *until as u64);
                    stored_sessions.insert(bits, *until as u64);
                }
            }
            for (member, until) in &users {
                let Some((cutoff_ms, user)) = parse_user_member(member) else { continue };
                let until = *until as u64;
                memory.add_user(user, cutoff_ms, until);
                // What Redis holds for the user, merged the way memory merges it.
                let stored = stored_users.entry(user).or_insert((cutoff_ms, until));
                *stored = (stored.0.max(cutoff_ms), stored.1.max(until));
            }
            memory.sweep(now);
            self.watch_size(&mut memory);
            let missing_sessions: Vec<(u128, u64)> = memory
                .sessions()
                .filter(|(id, until)| stored_sessions.get(id).is_none_or(|s| s < until))
                .collect();
            let missing_users: Vec<(String, u64)> = memory
                .users()
                .filter(|(user, cutoff, until)| {
                    stored_users.get(user).is_none_or(|s| s.0 < *cutoff || s.1 < *until)
                })
                .map(|(user, cutoff, _)| (user.to_string(), cutoff))
                .collect();
            (missing_sessions, missing_users)
        };
        if !missing_sessions.is_empty() || !missing_users.is_empty() {
            log::warn!(
                "revocation: Redis lacked {} session and {} user revocation(s) this instance \
                 holds (restarted without persistence, or revoked while unreachable); writing \
                 them back",
                missing_sessions.len(),
                missing_users.len()
            );
            for chunk in missing_sessions.chunks(500) {
                for (id, until) in chunk {
                    let id = session_text(*id);
                    let target = Target::Session { id: &id, expires_at: *until };
                    self.publish(target).await?;
                }
            }
            for (user_id, before_ms) in &missing_users {
                self.publish(Target::UserBefore { user_id, before_ms: *before_ms }).await?;
            }
        }
        Ok(())
    }
}

/// The background task: catches up, follows the channel, and starts again whenever the
/// connection is lost. Ends when the store is dropped (the Rocket instance is gone).
async fn follow(store: Weak<Store>) {
    let mut delay = Duration::from_millis(100);
    loop {
        let reason = match follow_once(&store).await {
            Ok(()) => return,
            Err(reason) => reason,
        };
        let Some(strong) = store.upgrade() else { return };
        if strong.is_caught_up() {
            // It had caught up: this is a new outage, start again from the shortest delay.
            delay = Duration::from_millis(100);
        }
        // With Sentinel, asking again is cheap and a failover ends at a moment only the
        // sentinels know: ask often, so that revocations flow soon after it.
        let longest = match strong.master {
            Master::Fixed => Duration::from_secs(1),
            Master::Sentinel { .. } | Master::Cluster(_) => Duration::from_millis(250),
        };
        let reason = strong.note_failure(&reason);
        strong.set_caught_up(false, &reason);
        log::debug!("revocation: {reason}; retrying in {delay:?}");
        drop(strong);
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(longest);
    }
}

/// One connection's life: `Ok` when the store is gone, `Err` when the connection is.
async fn follow_once(weak: &Weak<Store>) -> Result<(), String> {
    let redis_error = |what: &str, e: redis::RedisError| format!("{what}: {}", describe(&e));
    let (mut sink, mut stream) = match weak.upgrade() {
        Some(store) => {
            store.locate_master().await?;
            let channel = store.names.channel.clone();
            let client = store.link().client.clone();
            match (client, &store.master) {
                (_, Master::Cluster(setup)) => subscribe_cluster(setup, &channel).await?,
                (Some(client), _) => {
                    let pubsub = tokio::time::timeout(REDIS_TIMEOUT, client.get_async_pubsub())
                        .await
                        .map_err(|_| "connecting timed out".to_string())?
                        .map_err(|e| redis_error("connecting failed", e))?;
                    let (mut sink, stream) = pubsub.split();
                    tokio::time::timeout(REDIS_TIMEOUT, sink.subscribe(&channel))
                        .await
                        .map_err(|_| "subscribing timed out".to_string())?
                        .map_err(|e| redis_error("subscribing failed", e))?;
                    (Pinger::Single(sink), Incoming::Single(stream))
                }
                (None, _) => return Err("no server to subscribe on".into()),
            }
        }
        None => return Ok(()),
    };
    {
        let Some(store) = weak.upgrade() else { return Ok(()) };
        store.load_and_heal().await.map_err(|e| redis_error("loading revocations failed", e))?;
        store.set_caught_up(true, "");
    }
    let mut tick = tokio::time::interval(TICK);
    let mut ticks = 0u64;
    loop {
        tokio::select! {
            message = stream.next() => {
                let Some(message) = message else {
                    return Err("the subscription ended (Redis restarted or the connection dropped)".into());
                };
                let Some(store) = weak.upgrade() else { return Ok(()) };
                match message {
                    Some(text) => store.apply(&text),
                    None => log::warn!("revocation: ignored a non-text message on the channel"),
                }
            }
            _ = tick.tick() => {
                let Some(store) = weak.upgrade() else { return Ok(()) };
                ticks += 1;
                if ticks.is_multiple_of(SWEEP_TICKS) {
                    store.write().sweep(now_secs());
                }
                drop(store);
                match tokio::time::timeout(REDIS_TIMEOUT, sink.ping()).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => return Err(redis_error("PING failed", e)),
                    Err(_) => return Err("PING timed out".into()),
                }
            }
        }
    }
}

/// Where a subscription's messages arrive: `Some(text)` for a message (`None` inside when it
/// is not text); `None` when the subscription has ended.
enum Incoming {
    Single(PubSubStream),
    /// The cluster connection's pushes.
    Cluster(tokio::sync::mpsc::UnboundedReceiver<redis::PushInfo>),
}

impl Incoming {
    async fn next(&mut self) -> Option<Option<String>> {
        match self {
            Incoming::Single(stream) => {
                stream.next().await.map(|message| message.get_payload::<String>().ok())
            }
            Incoming::Cluster(pushes) => loop {
                let push = pushes.recv().await?;
                match push.kind {
                    redis::PushKind::Message => {
                        // `[channel, payload]`
                        let payload = push.data.into_iter().nth(1);
                        return Some(payload.and_then(|p| redis::from_redis_value(p).ok()));
                    }
                    // A node's connection dropped: what was published meanwhile may be lost.
                    redis::PushKind::Disconnection => return None,
                    _ => {}
                }
            },
        }
    }
}

/// What pings the subscription's connection(s).
enum Pinger {
    Single(PubSubSink),
    Cluster(ClusterConnection),
}

impl Pinger {
    async fn ping(&mut self) -> Result<(), redis::RedisError> {
        match self {
            Pinger::Single(sink) => sink.ping::<redis::Value>().await.map(drop),
            Pinger::Cluster(connection) => {
                redis::cmd("PING").query_async::<redis::Value>(connection).await.map(drop)
            }
        }
    }
}

/// Subscribes to `channel` on a cluster: a RESP3 cluster connection whose pushes arrive on a
/// channel of their own.
async fn subscribe_cluster(
    setup: &ClusterSetup,
    channel: &str,
) -> Result<(Pinger, Incoming), String> {
    let redis_error = |what: &str, e: redis::RedisError| format!("{what}: {}", describe(&e));
    let (pushes, incoming) = tokio::sync::mpsc::unbounded_channel();
    let client = setup
        .client(REDIS_TIMEOUT, Some(pushes))
        .map_err(|e| redis_error("the Redis Cluster client could not be set up", e))?;
    let mut connection = tokio::time::timeout(SENTINEL_TIMEOUT, client.get_async_connection())
        .await
        .map_err(|_| "connecting to the cluster timed out".to_string())?
        .map_err(|e| redis_error("connecting to the cluster failed", e))?;
    tokio::time::timeout(REDIS_TIMEOUT, connection.subscribe(channel))
        .await
        .map_err(|_| "subscribing timed out".to_string())?
        .map_err(|e| redis_error("subscribing failed", e))?;
    Ok((Pinger::Cluster(connection), Incoming::Cluster(incoming)))
}

/// The session layer's hook, backed by the store.
pub(crate) struct RedisCheck(pub(crate) Arc<Store>);

#[rocket::async_trait]
impl RevocationCheck for RedisCheck {
    fn verdict(&self, identity: Identity<'_>, now: u64) -> (Verdict, Option<u64>) {
        let store = &self.0;
        // Nothing in a session without an id or a user can be revoked.
        if identity.session_id.is_none() && identity.user_id.is_none() {
            return (Verdict::Valid, store.stamp());
        }
        // What memory holds is enforced always, caught up or not. The stamp is read under the
        // same read lock, so it names the memory the verdict was read from.
        let (revoked, stamp) = {
            let memory = store.read();
            (memory.is_revoked(&identity, now), store.stamp())
        };
        if revoked {
            return (Verdict::Revoked, stamp);
        }
        if stamp.is_some() {
            return (Verdict::Valid, stamp);
        }
        match store.policy {
            UnavailablePolicy::Refuse => (Verdict::Withheld, None),
            UnavailablePolicy::Accept => {
                store.warn_accepted(now);
                (Verdict::Valid, None)
            }
        }
    }

    fn stamp(&self) -> Option<u64> {
        self.0.stamp()
    }

    async fn revoke(&self, target: Target<'_>) -> Result<(), String> {
        revoke(&self.0, target).await
    }
}

/// Records `target` in memory at once, then in Redis.
pub(crate) async fn revoke(store: &Store, target: Target<'_>) -> Result<(), String> {
    match target {
        Target::Session { id, expires_at } => {
            let bits = parse_session_id(id).ok_or("not a session id")?;
            let mut memory = store.write();
            memory.add_session(bits, expires_at);
            store.watch_size(&mut memory);
        }
        Target::UserBefore { user_id, before_ms } => {
            let until = store.user_until(before_ms, now_secs());
            let mut memory = store.write();
            memory.add_user(user_id, before_ms, until);
            store.watch_size(&mut memory);
        }
    }
    store.publish(target).await.map_err(|e| {
        let reason = describe(&e);
        log::warn!(
            "revocation: could not write a revocation to Redis ({reason}); it holds here and \
             is written when this instance reconnects"
        );
        reason
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_parse_and_malformed_ones_do_not() {
        let id = crate::session::revocation_hook::new_session_id();
        let text = format!("s 1700000000 {id}");
        assert!(matches!(parse_message(&text), Some(Message::Session { until: 1700000000, .. })));
        assert!(matches!(
            parse_message("u 1700000000123 user with spaces"),
            Some(Message::User { user_id: "user with spaces", cutoff_ms: 1700000000123 })
        ));
        for bad in ["", "s", "s 1", "s x abc", "u 1 ", "x 1 y", "s 1 short"] {
            assert!(parse_message(bad).is_none(), "{bad:?}");
        }
        assert_eq!(session_text(parse_session_id(&id).unwrap()), id);
        assert_eq!(
            parse_user_member("1700000000123 user with spaces"),
            Some((1700000000123, "user with spaces"))
        );
        for bad in ["", "1700000000123", "1700000000123 ", "x user", "user"] {
            assert!(parse_user_member(bad).is_none(), "{bad:?}");
        }
    }
}

//! [`SessionOptions`]: every configuration key, its default (in one place), and validation.

use std::fmt;
use std::path::PathBuf;

use figment::value::{Dict, Value};
use figment::Figment;
use serde::de::{self, DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

use crate::session::error::{ConfigError, ConfigProblem};

/// The name of the table in `Rocket.toml` (and of the `ROCKET_WRISTBAND_SESSION` variable).
pub(crate) const TABLE: &str = "wristband_session";
/// Secrets are accepted from this many characters on.
pub(crate) const MIN_SECRET_LEN: usize = 32;
/// At most this many secrets may be configured at once (the first seals, all open).
pub(crate) const MAX_SECRETS: usize = 3;
/// At most this many cookies may carry one session.
pub(crate) const MAX_COOKIE_CHUNKS: usize = 8;

/// The secrets that seal and open session cookies: the first seals, all of them open.
///
/// Deserializes from one string or an array of strings. `Debug` and `Display` never show a
/// secret, only how many there are.
///
/// ```
/// use wristband_rocket_session::Secrets;
///
/// let secrets = Secrets::from(vec!["a".repeat(32), "b".repeat(32)]);
/// assert_eq!(secrets.len(), 2);
/// assert_eq!(format!("{secrets:?}"), "Secrets([redacted; 2])");
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secrets(Vec<String>);

impl Secrets {
    /// How many secrets there are.
    ///
    /// ```
    /// use wristband_rocket_session::Secrets;
    ///
    /// let one: Secrets = serde_json::from_str(r#""a-secret-of-at-least-32-characters""#)?;
    /// let json = r#"["a-new-secret-of-at-least-32-chars", "an-old-secret-of-at-least-32-chars"]"#;
    /// let two: Secrets = serde_json::from_str(json)?;
    /// assert_eq!((one.len(), two.len()), (1, 2));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no secret is configured.
    ///
    /// ```
    /// use wristband_rocket_session::{Secrets, SessionOptions};
    ///
    /// // No secret by default: the fairing generates one in `debug` and refuses to launch elsewhere.
    /// assert!(SessionOptions::default().secrets.is_empty());
    /// assert!(!Secrets::from("a-secret-of-at-least-32-characters!!").is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn as_slice(&self) -> &[String] {
        &self.0
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets([redacted; {}])", self.0.len())
    }
}

impl fmt::Display for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{} redacted secret(s)]", self.0.len())
    }
}

impl From<Vec<String>> for Secrets {
    fn from(secrets: Vec<String>) -> Self {
        Secrets(secrets)
    }
}

impl From<String> for Secrets {
    fn from(secret: String) -> Self {
        Secrets(vec![secret])
    }
}

impl From<&str> for Secrets {
    fn from(secret: &str) -> Self {
        Secrets(vec![secret.to_string()])
    }
}

impl<'de> Deserialize<'de> for Secrets {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        match OneOrMany::deserialize(deserializer) {
            Ok(OneOrMany::One(secret)) => Ok(Secrets(vec![secret])),
            Ok(OneOrMany::Many(secrets)) => Ok(Secrets(secrets)),
            // The untagged error would not say what is expected; never echo the input.
            Err(_) => Err(de::Error::custom("expected a string or an array of strings")),
        }
    }
}

/// Serializes as `"[redacted]"` entries so that dumping options never writes a secret.
impl Serialize for Secrets {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|_| "[redacted]"))
    }
}

/// The `SameSite` attribute of the session and CSRF cookies. Deserializes from `"lax"`,
/// `"strict"` or `"none"` in any case.
///
/// ```
/// use wristband_rocket_session::{SameSiteOption, SessionOptions};
///
/// let same_site: SameSiteOption = serde_json::from_str(r#""Strict""#)?;
/// assert_eq!(same_site, SameSiteOption::Strict);
/// assert_eq!(SameSiteOption::default(), SameSiteOption::Lax);
///
/// // `None` requires `secure = true`: browsers reject `SameSite=None` without `Secure`.
/// let options = SessionOptions {
///     secrets: "a-secret-of-at-least-32-characters!!".into(),
///     same_site: SameSiteOption::None,
///     secure: false,
///     ..SessionOptions::default()
/// };
/// assert_eq!(options.validate().unwrap_err().problems()[0].key, "same_site");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SameSiteOption {
    /// `SameSite=Lax`: sent on top-level navigations from other sites. The default.
    #[default]
    Lax,
    /// `SameSite=Strict`: never sent on requests that start on another site.
    Strict,
    /// `SameSite=None`: sent on cross-site requests too; requires `secure = true`.
    None,
}

impl SameSiteOption {
    pub(crate) fn to_cookie(self) -> rocket::http::SameSite {
        match self {
            SameSiteOption::Lax => rocket::http::SameSite::Lax,
            SameSiteOption::Strict => rocket::http::SameSite::Strict,
            SameSiteOption::None => rocket::http::SameSite::None,
        }
    }
}

impl<'de> Deserialize<'de> for SameSiteOption {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.to_ascii_lowercase().as_str() {
            "lax" => Ok(SameSiteOption::Lax),
            "strict" => Ok(SameSiteOption::Strict),
            "none" => Ok(SameSiteOption::None),
            _ => Err(de::Error::custom("expected \"lax\", \"strict\" or \"none\" (any case)")),
        }
    }
}

/// The session's configuration: the `wristband_session` table of the active Rocket profile.
///
/// Every field is named exactly as its TOML key. Defaults are secure, with one exception written
/// down in the repository's `Rocket.toml`: the `debug` profile sets `secure = false` so that
/// cookies work over plain `http://localhost`.
///
/// ```toml
/// [default.wristband_session]
/// cookie_name = "session"
/// max_age = 3600
///
/// [debug.wristband_session]
/// secure = false
///
/// [release.wristband_session]
/// secure = true   # secrets come from ROCKET_WRISTBAND_SESSION='{secrets=["..."]}'
/// ```
///
/// From code, with [`WristbandSession::custom()`](crate::WristbandSession::custom):
///
/// ```
/// use wristband_rocket_session::{SameSiteOption, SessionOptions};
///
/// let options = SessionOptions {
///     secrets: "a-secret-of-at-least-32-characters!!".into(),
///     same_site: SameSiteOption::Strict,
///     ..SessionOptions::default()
/// };
/// assert!(options.validate().is_ok());
/// assert!(!format!("{options:?}").contains("a-secret"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionOptions {
    /// Secrets of at least 32 characters, one to three: the first seals, all open (rotation).
    ///
    /// _Default:_ none. Required in every profile but `debug`, where a random secret is
    /// generated at launch with a warning (sessions then do not survive a restart). In the
    /// `release` profile a value read from a file such as `Rocket.toml` aborts launch: set it
    /// with `ROCKET_WRISTBAND_SESSION='{secrets=["..."]}'`.
    pub secrets: Secrets,
    /// The session cookie's name: RFC 6265 token characters. _Default:_ `"session"`.
    pub cookie_name: String,
    /// Session lifetime in seconds, written as `Max-Age` and enforced inside the sealed cookie
    /// too, so a replayed old cookie is refused. Must be > 0. _Default:_ `3600`.
    pub max_age: i64,
    /// The cookies' `Path`; starts with `/`. _Default:_ `"/"`.
    pub path: String,
    /// The cookies' `Domain`. _Default:_ unset (a host-only cookie).
    pub domain: Option<String>,
    /// The cookies' `SameSite`. `none` requires `secure = true`. _Default:_ `"lax"`.
    pub same_site: SameSiteOption,
    /// Whether cookies carry `Secure` (HTTPS only). _Default:_ `true`.
    pub secure: bool,
    /// Whether logins get a CSRF token, sent in a readable cookie and checked against a request
    /// header by [`AuthenticatedSession`](crate::AuthenticatedSession) on state-changing
    /// requests: every method but `GET`, `HEAD`, `OPTIONS` and `TRACE` (see
    /// `csrf_check_all_methods`). _Default:_ `false`.
    pub enable_csrf_protection: bool,
    /// The CSRF cookie's name; differs from `cookie_name`. _Default:_ `"CSRF-TOKEN"`.
    pub csrf_cookie_name: String,
    /// The CSRF cookie's `Domain`. _Default:_ unset, falling back to `domain`.
    pub csrf_cookie_domain: Option<String>,
    /// The request header that must carry the CSRF token (any case). _Default:_ `"X-CSRF-TOKEN"`.
    pub csrf_header_name: String,
    /// With `enable_csrf_protection`, whether [`AuthenticatedSession`](crate::AuthenticatedSession)
    /// checks the CSRF header on every method, `GET`, `HEAD`, `OPTIONS` and `TRACE` included, as
    /// Wristband's SDKs do. A browser's page load or link click never carries the header, so
    /// pages guarded by `AuthenticatedSession` then answer 403. `false` checks unsafe methods
    /// only (CSRF protects state-changing requests; safe methods must not change state).
    /// _Default:_ `false`.
    pub csrf_check_all_methods: bool,
    /// How many cookies one session may be split over (1 to 8): above 1, a large session is
    /// split over `name`, `name.1`, `name.2`, … _Default:_ `1`.
    pub max_cookie_chunks: usize,
    /// Seconds after which [`AuthenticatedSession`](crate::AuthenticatedSession) re-issues
    /// the cookie with a fresh expiry (rolling sessions): an authenticated request re-issues it
    /// only when at least this long has passed since it was issued, so the idle timeout lies
    /// between `max_age - renew_after` and `max_age`. `0` re-issues on every authenticated
    /// request (Wristband's behaviour); at or above `max_age` authenticated requests never
    /// extend a session. Must be ≥ 0. _Default:_ `60`.
    pub renew_after: i64,
    /// Revocation across instances, backed by Redis (cargo feature `redis`): the
    /// `[wristband_session.revocation]` sub-table. _Default:_ unset: sessions are fully
    /// stateless and no Redis is used. Set without the `redis` feature, it aborts launch.
    /// See the crate docs' "Revocation" section.
    pub revocation: Option<RevocationOptions>,
}

/// What an instance does with a session it cannot check because it is not caught up with Redis
/// (just started, or its connection dropped, or Redis restarted). Revocations it already
/// holds in memory are enforced either way. Deserializes from `"refuse"` or `"accept"`.
///
/// ```
/// use wristband_rocket_session::UnavailablePolicy;
///
/// let policy: UnavailablePolicy = serde_json::from_str(r#""accept""#)?;
/// assert_eq!(policy, UnavailablePolicy::Accept);
/// assert_eq!(UnavailablePolicy::default(), UnavailablePolicy::Refuse);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnavailablePolicy {
    /// Fail closed (the default): a session that could have been revoked is treated as no
    /// session for that request, but its cookie is kept, so the user is back as soon as the
    /// instance has caught up.
    #[default]
    Refuse,
    /// Fail open: the session is accepted, and each such acceptance is logged at `warn` (at
    /// most one line a second), with an `error` line when the instance loses track.
    Accept,
}

/// The `revocation` sub-table of `wristband_session` (cargo feature `redis`).
///
/// Redis is reached one of three ways, exactly one of which is set: `url` (one server),
/// `sentinels` with `sentinel_master` (Redis Sentinel, which names the current master and
/// moves it to a replica when it fails), or `cluster_nodes` (Redis Cluster). `Debug` and
/// `Serialize` show only the address each URL names (`host:port` or the unix socket's path,
/// and the database number when not 0), as the Redis client parses it: never the URL itself,
/// whose user info and query can hold passwords.
///
/// ```
/// use wristband_rocket_session::{RevocationOptions, UnavailablePolicy};
///
/// let options = RevocationOptions {
///     url: "redis://:hunter2-password@127.0.0.1:6379".into(),
///     ..RevocationOptions::default()
/// };
/// assert_eq!(options.on_unavailable, UnavailablePolicy::Refuse);
/// assert!(!format!("{options:?}").contains("hunter2"));
///
/// // A unix socket, with the password in the query: shown as the socket's path alone.
/// let options = RevocationOptions {
///     url: "redis+unix:///run/redis/redis.sock?pass=hunter2-password".into(),
///     ..RevocationOptions::default()
/// };
/// assert!(!format!("{options:?}").contains("hunter2"));
///
/// // The same Redis behind three sentinels that monitor it as `mymaster`.
/// let options = RevocationOptions {
///     sentinels: vec![
///         "redis://10.0.0.1:26379".into(),
///         "redis://10.0.0.2:26379".into(),
///         "redis://10.0.0.3:26379".into(),
///     ],
///     sentinel_master: Some("mymaster".into()),
///     ..RevocationOptions::default()
/// };
/// assert!(options.url.is_empty());
///
/// // A Redis Cluster, reached through any of its nodes.
/// let options = RevocationOptions {
///     cluster_nodes: vec!["redis://10.0.0.1:6379".into(), "redis://10.0.0.2:6379".into()],
///     ..RevocationOptions::default()
/// };
/// assert!(options.url.is_empty() && options.sentinels.is_empty());
/// ```
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RevocationOptions {
    /// The Redis server: `redis://[[user]:password@]host[:port][/db]`,
    /// `rediss://host[:port][/db]` (TLS, the server's certificate checked against the public
    /// roots or `tls_ca_file`) or `redis+unix:///path`. Required unless `sentinels` or
    /// `cluster_nodes` is set; empty means unset. _Default:_ unset.
    pub url: String,
    /// What to do while the instance is not caught up with Redis: `"refuse"` or `"accept"`.
    /// _Default:_ `"refuse"`.
    pub on_unavailable: UnavailablePolicy,
    /// The prefix of the Redis keys and of the pub/sub channel; applications sharing one Redis
    /// need different prefixes. _Default:_ `"wristband_session"`.
    pub key_prefix: String,
    /// Redis Sentinel, instead of `url`: the sentinels to ask where the master is, each
    /// `redis://[[user]:password@]host:port` or, over TLS, `rediss://host:port` (no database
    /// number; all entries with the same scheme). With `rediss://` sentinels, the master is
    /// reached over TLS too, with the same `tls_*` files. A username and password in the first
    /// URL that has one are used for the sentinels unless `sentinel_password` is set, and for
    /// the master unless `password` is set. Needs `sentinel_master`. _Default:_ empty (unset).
    pub sentinels: Vec<String>,
    /// The name the sentinels monitor the master under (`sentinel monitor <name> ...` in their
    /// configuration). Required with `sentinels`. _Default:_ unset.
    pub sentinel_master: Option<String>,
    /// Redis Cluster, instead of `url` or `sentinels`: seed nodes of the cluster, each
    /// `redis://[[user]:password@]host:port` or, over TLS, `rediss://host:port` (no database
    /// number; all entries with the same scheme and the same credentials). Any one reachable
    /// node is enough: the client asks it for the cluster's layout, follows slot moves and
    /// failovers, and reaches every node with the same credentials (`username`/`password`
    /// over those of the URLs) and the same `tls_*` files. In cluster mode the key and channel
    /// names carry the hash tag `{key_prefix}`, so that one revocation's keys share a slot.
    /// _Default:_ empty (unset).
    pub cluster_nodes: Vec<String>,
    /// Whether token refreshes (cargo feature `auth`) are made once across every instance
    /// through this Redis, so that parallel requests on two instances never spend one rotating
    /// refresh token twice. Costs nothing on requests whose access token is fresh. _Default:_
    /// `true`.
    pub refresh_coordination: bool,
    /// The Redis ACL user to sign in as (`AUTH <username> <password>`), on the server of `url`,
    /// the master the sentinels name or every cluster node. Needs `password`. With `password`,
    /// it replaces any credentials written in `url`, `sentinels` or `cluster_nodes`. Never printed (`Debug`, `Serialize`, logs,
    /// errors). _Default:_ unset (the `default` user when `password` is set).
    pub username: Option<String>,
    /// The password for `username` (or for the `default` user, `requirepass`), on the server of
    /// `url`, the master the sentinels name or every cluster node; it replaces any credentials written in the URLs.
    /// Never printed. In the `release` profile a value read from a file such as `Rocket.toml`
    /// aborts launch: set it with
    /// `ROCKET_WRISTBAND_SESSION='{revocation={password="..."}}'`. _Default:_ unset.
    pub password: Option<String>,
    /// The ACL user to sign in to the sentinels as, separate from the master's `username`.
    /// Needs `sentinel_password`; only with `sentinels`. Never printed. _Default:_ unset.
    pub sentinel_username: Option<String>,
    /// The sentinels' password (their `requirepass`, or `sentinel_username`'s), separate from
    /// the master's `password`: a password-protected master behind open sentinels sets only
    /// `password`, protected sentinels in front of an open master only this. Only with
    /// `sentinels`; it replaces credentials written in the sentinel URLs. Never printed. In
    /// the `release` profile a value read from a file aborts launch, as for `password`.
    /// _Default:_ unset.
    pub sentinel_password: Option<String>,
    /// With `rediss://`, a PEM file of the certificates (a private CA) to trust for the Redis
    /// servers' and sentinels' certificates, instead of the public roots. A missing or
    /// unreadable file aborts launch. Certificate verification cannot be turned off.
    /// _Default:_ unset: the public (Mozilla) roots are trusted.
    pub tls_ca_file: Option<PathBuf>,
    /// With `rediss://`, a PEM file of the client certificate (chain) this instance presents,
    /// for servers run with `tls-auth-clients yes` (mutual TLS). Set with
    /// `tls_client_key_file`, or neither. _Default:_ unset (no client certificate).
    pub tls_client_cert_file: Option<PathBuf>,
    /// The PEM private key of `tls_client_cert_file`. Set with `tls_client_cert_file`, or
    /// neither. _Default:_ unset.
    pub tls_client_key_file: Option<PathBuf>,
}

impl Default for RevocationOptions {
    fn default() -> Self {
        RevocationOptions {
            url: String::new(),
            on_unavailable: UnavailablePolicy::Refuse,
            key_prefix: "wristband_session".into(),
            sentinels: Vec::new(),
            sentinel_master: None,
            cluster_nodes: Vec::new(),
            refresh_coordination: true,
            username: None,
            password: None,
            sentinel_username: None,
            sentinel_password: None,
            tls_ca_file: None,
            tls_client_cert_file: None,
            tls_client_key_file: None,
        }
    }
}

/// What `Debug` and `Serialize` show for a credential: whether it is set, never its text.
fn redacted(value: &Option<String>) -> Option<&'static str> {
    value.as_ref().map(|_| "[redacted]")
}

/// What a URL with `#insecure` (the Redis client's switch that turns certificate checks off)
/// is told.
#[cfg(feature = "redis")]
const INSECURE: &str = "ends with `#insecure`, which would turn certificate verification off; \
                        this crate always verifies: remove it (and set `tls_ca_file` for a \
                        private CA)";

/// Where a Redis URL points, for `Debug`, `Serialize`, logs and error messages: the address
/// the Redis client parses from it, never the URL's text, whose user info (`user:pass@`) and
/// query (`?pass=`) can hold passwords. Empty for an empty URL.
pub(crate) fn redis_address(url: &str) -> String {
    if url.is_empty() {
        return String::new();
    }
    #[cfg(feature = "redis")]
    {
        use redis::IntoConnectionInfo;
        match url.into_connection_info() {
            Ok(info) => connection_address(&info),
            Err(_) => "(a URL the Redis client cannot parse)".into(),
        }
    }
    #[cfg(not(feature = "redis"))]
    {
        "(not parsed: the cargo feature `redis` is off)".into()
    }
}

/// `host:port` (`[v6]:port`) or the unix socket's path, and the database number when not 0:
/// what the Redis client connects to, without credentials.
#[cfg(feature = "redis")]
pub(crate) fn connection_address(info: &redis::ConnectionInfo) -> String {
    let address = match info.addr() {
        redis::ConnectionAddr::Tcp(host, port) if host.contains(':') => format!("[{host}]:{port}"),
        other => other.to_string(),
    };
    match info.redis_settings().db() {
        0 => address,
        db => format!("{address} (db {db})"),
    }
}

/// Why the Redis client refused a URL, without the URL's text: its parse errors carry a
/// fixed description, and sometimes a detail quoted from the URL (such as the value of
/// `protocol=`), which is left out.
#[cfg(feature = "redis")]
pub(crate) fn url_error(e: &redis::RedisError) -> String {
    if matches!(e.kind(), redis::ErrorKind::InvalidClientConfig) {
        // `<fixed description> - <kind>[: <detail>]`
        let text = e.to_string();
        text.split(" - ").next().unwrap_or_default().to_string()
    } else {
        e.category().to_string()
    }
}

impl fmt::Debug for RevocationOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sentinels: Vec<String> = self.sentinels.iter().map(|u| redis_address(u)).collect();
        let cluster_nodes: Vec<String> =
            self.cluster_nodes.iter().map(|u| redis_address(u)).collect();
        f.debug_struct("RevocationOptions")
            .field("url", &redis_address(&self.url))
            .field("on_unavailable", &self.on_unavailable)
            .field("key_prefix", &self.key_prefix)
            .field("sentinels", &sentinels)
            .field("sentinel_master", &self.sentinel_master)
            .field("cluster_nodes", &cluster_nodes)
            .field("refresh_coordination", &self.refresh_coordination)
            .field("username", &redacted(&self.username))
            .field("password", &redacted(&self.password))
            .field("sentinel_username", &redacted(&self.sentinel_username))
            .field("sentinel_password", &redacted(&self.sentinel_password))
            .field("tls_ca_file", &self.tls_ca_file)
            .field("tls_client_cert_file", &self.tls_client_cert_file)
            .field("tls_client_key_file", &self.tls_client_key_file)
            .finish()
    }
}

impl Serialize for RevocationOptions {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let sentinels: Vec<String> = self.sentinels.iter().map(|u| redis_address(u)).collect();
        let cluster_nodes: Vec<String> =
            self.cluster_nodes.iter().map(|u| redis_address(u)).collect();
        let mut s = serializer.serialize_struct("RevocationOptions", 14)?;
        s.serialize_field("url", &redis_address(&self.url))?;
        s.serialize_field("on_unavailable", &self.on_unavailable)?;
        s.serialize_field("key_prefix", &self.key_prefix)?;
        s.serialize_field("sentinels", &sentinels)?;
        s.serialize_field("sentinel_master", &self.sentinel_master)?;
        s.serialize_field("cluster_nodes", &cluster_nodes)?;
        s.serialize_field("refresh_coordination", &self.refresh_coordination)?;
        s.serialize_field("username", &redacted(&self.username))?;
        s.serialize_field("password", &redacted(&self.password))?;
        s.serialize_field("sentinel_username", &redacted(&self.sentinel_username))?;
        s.serialize_field("sentinel_password", &redacted(&self.sentinel_password))?;
        s.serialize_field("tls_ca_file", &self.tls_ca_file)?;
        s.serialize_field("tls_client_cert_file", &self.tls_client_cert_file)?;
        s.serialize_field("tls_client_key_file", &self.tls_client_key_file)?;
        s.end()
    }
}

/// What is wrong with one entry of `sentinels` (or of `cluster_nodes`, `what` naming which
/// servers they are), if anything, without the entry's text. The URL itself is parsed by the
/// Redis client (without the `redis` feature the `revocation` table is refused anyway).
#[cfg(feature = "redis")]
fn sentinel_url_problem(url: &str, what: &str) -> Option<String> {
    use redis::IntoConnectionInfo;
    if !url.starts_with("redis://") && !url.starts_with("rediss://") {
        return Some("is not a `redis://host:port` or `rediss://host:port` URL".into());
    }
    match url.into_connection_info() {
        Err(e) => Some(format!("does not parse as `redis://host:port` ({})", url_error(&e))),
        Ok(info) => match info.addr() {
            redis::ConnectionAddr::Tcp(host, _) | redis::ConnectionAddr::TcpTls { host, .. }
                if host.is_empty() =>
            {
                Some("has no host".into())
            }
            redis::ConnectionAddr::TcpTls { insecure: true, .. } => Some(INSECURE.into()),
            redis::ConnectionAddr::Tcp(..) | redis::ConnectionAddr::TcpTls { .. }
                if info.redis_settings().db() != 0 =>
            {
                Some(format!("has a database number, which {what} do not have; remove it"))
            }
            redis::ConnectionAddr::Tcp(..) | redis::ConnectionAddr::TcpTls { .. } => None,
            _ => Some("is not a `redis://host:port` URL".into()),
        },
    }
}

#[cfg(not(feature = "redis"))]
fn sentinel_url_problem(_: &str, _: &str) -> Option<String> {
    None
}

/// What the Redis client refuses in `url` (whose scheme is accepted), if anything, without
/// the URL's text.
#[cfg(feature = "redis")]
fn url_parse_problem(url: &str) -> Option<String> {
    use redis::IntoConnectionInfo;
    match url.into_connection_info() {
        Err(e) => Some(format!("does not parse as a Redis URL ({})", url_error(&e))),
        Ok(info) => match info.addr() {
            redis::ConnectionAddr::Tcp(host, _) | redis::ConnectionAddr::TcpTls { host, .. }
                if host.is_empty() =>
            {
                Some("has no host".into())
            }
            redis::ConnectionAddr::TcpTls { insecure: true, .. } => Some(INSECURE.into()),
            _ => None,
        },
    }
}

#[cfg(not(feature = "redis"))]
fn url_parse_problem(_: &str) -> Option<String> {
    None
}

impl RevocationOptions {
    fn validate(&self, problem: &mut impl FnMut(&str, String)) {
        if cfg!(not(feature = "redis")) {
            problem(
                "revocation",
                "revocation needs the cargo feature `redis`: enable it \
                 (`wristband-rocket-session = { version = \"0.1\", features = [\"redis\"] }`) \
                 or remove the `revocation` table"
                    .into(),
            );
        }
        let uses_sentinels = !self.sentinels.is_empty() || self.sentinel_master.is_some();
        let uses_cluster = !self.cluster_nodes.is_empty();
        let which = if self.sentinels.is_empty() { "sentinel_master" } else { "sentinels" };
        let set: Vec<&str> = [
            (!self.url.is_empty()).then_some("url"),
            uses_sentinels.then_some(which),
            uses_cluster.then_some("cluster_nodes"),
        ]
        .into_iter()
        .flatten()
        .collect();
        if set.len() > 1 {
            let named: Vec<String> = set.iter().map(|k| format!("`revocation.{k}`")).collect();
            problem(
                &format!("revocation.{}", set[set.len() - 1]),
                format!(
                    "{} are set: set exactly one of `url` (one Redis server), `sentinels` \
                     (with `sentinel_master`, for Redis Sentinel) and `cluster_nodes` (for \
                     Redis Cluster)",
                    named.join(" and ")
                ),
            );
        } else if set.is_empty() {
            problem(
                "revocation.url",
                "is required: the Redis server, e.g. `url = \"redis://127.0.0.1:6379\"`; or, \
                 for Redis Sentinel, set `sentinels` and `sentinel_master` instead; or, for \
                 Redis Cluster, `cluster_nodes` (exactly one of `url`, `sentinels` and \
                 `cluster_nodes`)"
                    .into(),
            );
        }
        // The URL's text is never quoted: its user info and query can hold passwords.
        if !self.url.is_empty() {
            let scheme_ok = ["redis://", "rediss://", "redis+unix://", "unix://"]
                .iter()
                .any(|scheme| self.url.starts_with(scheme) && self.url.len() > scheme.len());
            let why = if !scheme_ok {
                Some(
                    "is not a Redis URL; use `redis://host:port`, `rediss://host:port` (TLS) or \
                     `redis+unix:///path`"
                        .into(),
                )
            } else {
                url_parse_problem(&self.url)
            };
            if let Some(why) = why {
                problem("revocation.url", why);
            }
        }
        if uses_sentinels {
            self.validate_sentinels(problem);
        }
        // Each entry is named by its position: its text can hold a password.
        let bad: Vec<String> = self
            .cluster_nodes
            .iter()
            .enumerate()
            .filter_map(|(i, url)| {
                sentinel_url_problem(url, "cluster nodes")
                    .map(|why| format!("entry {} {why}", i + 1))
            })
            .collect();
        if !bad.is_empty() {
            problem(
                "revocation.cluster_nodes",
                format!(
                    "each entry must be a cluster node's `redis://host:port` or \
                     `rediss://host:port` URL: {}",
                    bad.join("; ")
                ),
            );
        }
        self.validate_credentials_and_tls(uses_sentinels, problem);
        if self.key_prefix.is_empty()
            || !self.key_prefix.bytes().all(|b| b.is_ascii_graphic() && b != b'*')
        {
            problem(
                "revocation.key_prefix",
                "must be non-empty visible ASCII without `*`, e.g. \"myapp\"".into(),
            );
        }
    }

    /// The problems of `username`, `password`, `sentinel_*` credentials and the `tls_*` files
    /// (whose contents are read at launch). Never quotes a credential.
    fn validate_credentials_and_tls(
        &self,
        uses_sentinels: bool,
        problem: &mut impl FnMut(&str, String),
    ) {
        for (user, password) in
            [("username", "password"), ("sentinel_username", "sentinel_password")]
        {
            let (user_value, password_value) = if user == "username" {
                (&self.username, &self.password)
            } else {
                (&self.sentinel_username, &self.sentinel_password)
            };
            if user_value.is_some() && password_value.is_none() {
                problem(
                    &format!("revocation.{user}"),
                    format!("is set without `{password}`: an ACL user signs in with both"),
                );
            }
            for (key, value) in [(user, user_value), (password, password_value)] {
                if value.as_deref().is_some_and(str::is_empty) {
                    problem(
                        &format!("revocation.{key}"),
                        "is empty: remove the key, or give it a value".into(),
                    );
                }
            }
        }
        if !uses_sentinels {
            for (key, value) in [
                ("sentinel_username", &self.sentinel_username),
                ("sentinel_password", &self.sentinel_password),
            ] {
                if value.is_some() {
                    problem(
                        &format!("revocation.{key}"),
                        "applies to the sentinels only: set `sentinels` and `sentinel_master`, \
                         or use `username`/`password` for the server of `url`"
                            .into(),
                    );
                }
            }
        }
        let files = [
            ("tls_ca_file", &self.tls_ca_file),
            ("tls_client_cert_file", &self.tls_client_cert_file),
            ("tls_client_key_file", &self.tls_client_key_file),
        ];
        for (key, file) in files {
            if file.as_ref().is_some_and(|f| f.as_os_str().is_empty()) {
                problem(
                    &format!("revocation.{key}"),
                    "is empty: give the path of a PEM file, or remove the key".into(),
                );
            }
        }
        match (&self.tls_client_cert_file, &self.tls_client_key_file) {
            (Some(_), None) => problem(
                "revocation.tls_client_key_file",
                "is required with `tls_client_cert_file`: the client certificate's PEM private \
                 key (set both, or neither)"
                    .into(),
            ),
            (None, Some(_)) => problem(
                "revocation.tls_client_cert_file",
                "is required with `tls_client_key_file`: the PEM client certificate (set both, \
                 or neither)"
                    .into(),
            ),
            _ => {}
        }
        let tls_sentinels = self.sentinels.iter().filter(|u| u.starts_with("rediss://")).count();
        if tls_sentinels != 0 && tls_sentinels != self.sentinels.len() {
            problem(
                "revocation.sentinels",
                "mixes `redis://` and `rediss://` entries: reach every sentinel the same way \
                 (the master is reached over TLS when the sentinels are)"
                    .into(),
            );
        }
        let tls_nodes = self.cluster_nodes.iter().filter(|u| u.starts_with("rediss://")).count();
        if tls_nodes != 0 && tls_nodes != self.cluster_nodes.len() {
            problem(
                "revocation.cluster_nodes",
                "mixes `redis://` and `rediss://` entries: reach every cluster node the same way"
                    .into(),
            );
        }
        let uses_tls = self.url.starts_with("rediss://") || tls_sentinels != 0 || tls_nodes != 0;
        if !uses_tls {
            for (key, file) in files {
                if file.is_some() {
                    problem(
                        &format!("revocation.{key}"),
                        "is set but no Redis URL uses TLS: write `url` (or the `sentinels`, or \
                         the `cluster_nodes`) as `rediss://host:port`, or remove the key"
                            .into(),
                    );
                }
            }
        }
    }

    /// The problems of the Sentinel form (`sentinels`, `sentinel_master`), one per key.
    fn validate_sentinels(&self, problem: &mut impl FnMut(&str, String)) {
        if self.sentinels.is_empty() {
            problem(
                "revocation.sentinels",
                "is required with `sentinel_master`: the sentinels to ask, e.g. \
                 `sentinels = [\"redis://10.0.0.1:26379\", \"redis://10.0.0.2:26379\"]`"
                    .into(),
            );
        }
        // Each entry is named by its position: its text can hold a password.
        let bad: Vec<String> = self
            .sentinels
            .iter()
            .enumerate()
            .filter_map(|(i, url)| {
                sentinel_url_problem(url, "sentinels").map(|why| format!("entry {} {why}", i + 1))
            })
            .collect();
        if !bad.is_empty() {
            problem(
                "revocation.sentinels",
                format!(
                    "each entry must be a sentinel's `redis://host:port` or `rediss://host:port` \
                 URL: {}",
                    bad.join("; ")
                ),
            );
        }
        match self.sentinel_master.as_deref() {
            None => problem(
                "revocation.sentinel_master",
                "is required with `sentinels`: the name the sentinels monitor the master under \
                 (`sentinel monitor <name> ...`), e.g. `sentinel_master = \"mymaster\"`"
                    .into(),
            ),
            Some(name) if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) => {
                problem(
                    "revocation.sentinel_master",
                    "must be the non-empty name the sentinels monitor the master under, \
                     without spaces, e.g. \"mymaster\""
                        .into(),
                )
            }
            Some(_) => {}
        }
    }
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            secrets: Secrets::default(),
            cookie_name: "session".into(),
            max_age: 3600,
            path: "/".into(),
            domain: None,
            same_site: SameSiteOption::Lax,
            secure: true,
            enable_csrf_protection: false,
            csrf_cookie_name: "CSRF-TOKEN".into(),
            csrf_cookie_domain: None,
            csrf_header_name: "X-CSRF-TOKEN".into(),
            csrf_check_all_methods: false,
            max_cookie_chunks: 1,
            renew_after: 60,
            revocation: None,
        }
    }
}

/// The punctuation of RFC 7230 `tchar` (the RFC 6265 cookie-name `token`), besides letters
/// and digits.
const TCHAR_PUNCTUATION: &[u8] = b"!#$%&'*+-.^_`|~";

/// RFC 7230 `tchar` (for header names).
fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || TCHAR_PUNCTUATION.contains(&b))
}

/// A cookie name that survives a round trip through Rocket: RFC 6265 token characters except
/// `%`, which Rocket percent-decodes in incoming cookie names (so `sess%31` would be written
/// and then read back as `sess1`).
fn is_cookie_name(s: &str) -> bool {
    is_token(s) && !s.contains('%')
}

/// What [`is_cookie_name`] accepts, for error messages.
const COOKIE_NAME_RULE: &str =
    "use letters, digits and the characters ! # $ & ' * + - . ^ _ ` | ~ (no `%`, spaces, `;`, `=` or quotes)";

/// The problem with a cookie name's `__Host-` or `__Secure-` prefix under these options, if
/// any (browsers drop such cookies when the prefix's rules are broken).
fn prefix_problem(name: &str, options: &SessionOptions, domain: Option<&str>) -> Option<String> {
    if name.starts_with("__Host-") {
        let mut broken = Vec::new();
        if !options.secure {
            broken.push("`secure = true`");
        }
        if options.path != "/" {
            broken.push("`path = \"/\"`");
        }
        if domain.is_some() {
            broken.push("no domain");
        }
        (!broken.is_empty()).then(|| {
            format!(
                "a `__Host-` cookie requires {}; change them or drop the prefix",
                broken.join(", ")
            )
        })
    } else if name.starts_with("__Secure-") && !options.secure {
        Some("a `__Secure-` cookie requires `secure = true`; set it or drop the prefix".into())
    } else {
        None
    }
}

/// Characters allowed in an attribute value (`Path`, `Domain`): visible ASCII but `;`.
fn is_attribute_value(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_graphic() && b != b';')
}

impl SessionOptions {
    /// Checks every option and reports every problem at once.
    ///
    /// An empty `secrets` is a problem here; the fairing fills it with a random secret first
    /// when the active profile is `debug`.
    ///
    /// ```
    /// use wristband_rocket_session::SessionOptions;
    ///
    /// let err = SessionOptions::default().validate().unwrap_err();
    /// assert_eq!(err.problems()[0].key, "secrets");
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        let mut problem =
            |key: &str, message: String| problems.push(ConfigProblem::new(key, message));

        let secrets = self.secrets.as_slice();
        if secrets.is_empty() {
            problem(
                "secrets",
                "no secret is set; generate one with `cargo run --example gen_secret` and set it \
                 with ROCKET_WRISTBAND_SESSION='{secrets=[\"...\"]}'"
                    .into(),
            );
        } else if secrets.len() > MAX_SECRETS {
            problem(
                "secrets",
                format!(
                    "{} secrets are set, at most {MAX_SECRETS} are allowed; drop the oldest",
                    secrets.len()
                ),
            );
        }
        for (i, secret) in secrets.iter().enumerate() {
            let chars = secret.chars().count();
            if chars < MIN_SECRET_LEN {
                problem(
                    "secrets",
                    format!(
                        "secret #{} has {chars} characters, at least {MIN_SECRET_LEN} are \
                         required; use `cargo run --example gen_secret`",
                        i + 1
                    ),
                );
            }
            if secrets[..i].contains(secret) {
                problem(
                    "secrets",
                    format!("secret #{} repeats an earlier secret; remove it", i + 1),
                );
            }
        }

        if !is_cookie_name(&self.cookie_name) {
            problem(
                "cookie_name",
                format!("{:?} is not a valid cookie name; {COOKIE_NAME_RULE}", self.cookie_name),
            );
        } else if let Some(message) =
            prefix_problem(&self.cookie_name, self, self.domain.as_deref())
        {
            problem("cookie_name", message);
        }
        if self.max_age <= 0 {
            problem(
                "max_age",
                format!("must be greater than 0 seconds (got {}); e.g. 3600", self.max_age),
            );
        }
        if !self.path.starts_with('/') || !is_attribute_value(&self.path) {
            problem(
                "path",
                format!("{:?} must start with `/` and contain no spaces or `;`", self.path),
            );
        }
        for (key, domain) in
            [("domain", &self.domain), ("csrf_cookie_domain", &self.csrf_cookie_domain)]
        {
            if let Some(domain) = domain
                && (domain.is_empty() || !is_attribute_value(domain))
            {
                problem(
                    key,
                    format!(
                        "{domain:?} is not a valid domain; remove the key for host-only cookies"
                    ),
                );
            }
        }
        if self.same_site == SameSiteOption::None && !self.secure {
            problem(
                "same_site",
                "\"none\" requires `secure = true` (browsers reject it otherwise); use \"lax\" or \
                 set `secure = true`"
                    .into(),
            );
        }
        let csrf_domain = self.csrf_cookie_domain.as_deref().or(self.domain.as_deref());
        if !is_cookie_name(&self.csrf_cookie_name) {
            problem(
                "csrf_cookie_name",
                format!(
                    "{:?} is not a valid cookie name; {COOKIE_NAME_RULE}",
                    self.csrf_cookie_name
                ),
            );
        } else if let Some(message) = prefix_problem(&self.csrf_cookie_name, self, csrf_domain) {
            problem("csrf_cookie_name", message);
        } else if self.csrf_cookie_name == self.cookie_name
            || self
                .csrf_cookie_name
                .strip_prefix(self.cookie_name.as_str())
                .and_then(|rest| rest.strip_prefix('.'))
                .is_some_and(|n| n.parse::<usize>().is_ok())
        {
            problem(
                "csrf_cookie_name",
                format!(
                    "{:?} clashes with the session cookie `{}`; choose another name",
                    self.csrf_cookie_name, self.cookie_name
                ),
            );
        }
        if !is_token(&self.csrf_header_name) {
            problem(
                "csrf_header_name",
                format!("{:?} is not a valid HTTP header name", self.csrf_header_name),
            );
        }
        if !(1..=MAX_COOKIE_CHUNKS).contains(&self.max_cookie_chunks) {
            problem(
                "max_cookie_chunks",
                format!(
                    "must be between 1 and {MAX_COOKIE_CHUNKS} (got {})",
                    self.max_cookie_chunks
                ),
            );
        }

        if self.renew_after < 0 {
            problem(
                "renew_after",
                format!(
                    "must be 0 or more seconds (got {}); 0 re-issues the cookie on every \
                     authenticated request",
                    self.renew_after
                ),
            );
        }

        if let Some(revocation) = &self.revocation {
            revocation.validate(&mut problem);
        }

        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::invalid(None, problems))
        }
    }

    /// Reads the options from the `wristband_session` table of `figment`'s selected profile.
    ///
    /// Every key is read on its own so that all type errors and unknown keys are reported at
    /// once, beside the options read. A missing table gives the defaults.
    pub(crate) fn read_figment(figment: &Figment) -> (Self, Vec<ConfigProblem>) {
        let mut options = SessionOptions::default();
        let table = match figment.find_value(TABLE) {
            Ok(Value::Dict(_, dict)) => dict,
            Ok(_) => {
                let problem = ConfigProblem::new(
                    "",
                    "must be a table of options, e.g. `[release.wristband_session]`",
                );
                return (options, vec![problem]);
            }
            Err(e) if e.missing() => Dict::new(),
            Err(e) => {
                let problem = ConfigProblem::new("", format!("could not be read: {}", e.kind));
                return (options, vec![problem]);
            }
        };

        let mut problems = Vec::new();
        let read = |key: &'static str| -> Option<&Value> { table.get(key) };
        fn field<T: DeserializeOwned>(
            key: &'static str,
            value: Option<&Value>,
            slot: &mut T,
            problems: &mut Vec<ConfigProblem>,
        ) {
            if let Some(value) = value {
                match value.deserialize::<T>() {
                    Ok(v) => *slot = v,
                    Err(e) => problems.push(ConfigProblem::new(key, describe(&e.kind))),
                }
            }
        }
        field("secrets", read("secrets"), &mut options.secrets, &mut problems);
        field("cookie_name", read("cookie_name"), &mut options.cookie_name, &mut problems);
        field("max_age", read("max_age"), &mut options.max_age, &mut problems);
        field("path", read("path"), &mut options.path, &mut problems);
        field("domain", read("domain"), &mut options.domain, &mut problems);
        field("same_site", read("same_site"), &mut options.same_site, &mut problems);
        field("secure", read("secure"), &mut options.secure, &mut problems);
        field(
            "enable_csrf_protection",
            read("enable_csrf_protection"),
            &mut options.enable_csrf_protection,
            &mut problems,
        );
        field(
            "csrf_cookie_name",
            read("csrf_cookie_name"),
            &mut options.csrf_cookie_name,
            &mut problems,
        );
        field(
            "csrf_cookie_domain",
            read("csrf_cookie_domain"),
            &mut options.csrf_cookie_domain,
            &mut problems,
        );
        field(
            "csrf_header_name",
            read("csrf_header_name"),
            &mut options.csrf_header_name,
            &mut problems,
        );
        field(
            "csrf_check_all_methods",
            read("csrf_check_all_methods"),
            &mut options.csrf_check_all_methods,
            &mut problems,
        );
        field(
            "max_cookie_chunks",
            read("max_cookie_chunks"),
            &mut options.max_cookie_chunks,
            &mut problems,
        );
        field("renew_after", read("renew_after"), &mut options.renew_after, &mut problems);
        // An unknown key of the `revocation` sub-table is named, with the known ones (serde
        // alone says only that `revocation` has the wrong type, and stops at the first): each
        // is reported and left out, then the rest is read as usual.
        let mut revocation = read("revocation").cloned();
        if let Some(Value::Dict(tag, dict)) = &mut revocation {
            while let Err(e) = Value::Dict(*tag, dict.clone()).deserialize::<RevocationOptions>() {
                let figment::error::Kind::UnknownField(key, known) = &e.kind else { break };
                problems.push(ConfigProblem::new(
                    format!("revocation.{key}"),
                    format!("unknown option; the known options are: {}", known.join(", ")),
                ));
                if dict.remove(key).is_none() {
                    break;
                }
            }
        }
        field("revocation", revocation.as_ref(), &mut options.revocation, &mut problems);
        // `sentinels = []` reads as no sentinels at all: say so rather than fall back to `url`.
        if let Some(Value::Dict(_, revocation)) = read("revocation") {
            let sentinels = revocation.get("sentinels");
            if matches!(sentinels, Some(Value::Array(_, list)) if list.is_empty()) {
                problems.push(ConfigProblem::new(
                    "revocation.sentinels",
                    "is an empty list: name at least one sentinel (`redis://host:port`), or \
                     remove the key and use `url`",
                ));
            }
        }
        unknown_keys(TABLE, &table, KEYS, &mut problems);
        (options, problems)
    }
}

/// A figment error without the value that caused it: a secret put under the wrong key must not
/// reach the launch log. Shared by every options table of the crate.
pub(crate) fn describe(kind: &figment::error::Kind) -> String {
    use figment::error::{Actual, Kind};
    let found = |actual: &Actual| match actual {
        Actual::Str(_) | Actual::Char(_) | Actual::Other(_) => "a string".to_string(),
        Actual::Bytes(_) => "bytes".to_string(),
        Actual::Signed(_) | Actual::Unsigned(_) => "an integer".to_string(),
        Actual::Float(_) => "a number".to_string(),
        Actual::Bool(_) => "a boolean".to_string(),
        other => other.to_string(),
    };
    match kind {
        Kind::InvalidType(actual, expected) | Kind::InvalidValue(actual, expected) => {
            format!("expected {expected}, found {}", found(actual))
        }
        Kind::InvalidLength(len, expected) => format!("expected {expected}, found {len} items"),
        // Our own deserializers' messages never quote the input.
        Kind::Message(message) => message.clone(),
        Kind::UnknownVariant(_, expected) => {
            format!("expected one of {}", expected.join(", "))
        }
        _ => "has the wrong type".to_string(),
    }
}

/// The tables of this crate, whose near misses are refused by [`misspelled_tables`].
const CRATE_TABLES: [&str; 2] = [TABLE, "wristband_auth"];

/// The number of single-character insertions, deletions and substitutions between `a` and `b`
/// (Levenshtein), for ASCII-case-insensitive table names.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().map(|c| c.to_ascii_lowercase()).collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().map(|c| c.to_ascii_lowercase()).enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// A problem when the `release` profile reads the secret `table.key` from a file such as
/// `Rocket.toml`, which ends up in repositories and images: secrets come from the environment
/// there (`env` shows how). Values from code or the environment are fine.
pub(crate) fn secret_in_a_file(
    figment: &Figment,
    table: &'static str,
    key: &str,
    env: &str,
) -> Option<ConfigProblem> {
    if figment.profile() != rocket::Config::RELEASE_PROFILE {
        return None;
    }
    let metadata = figment.find_metadata(&format!("{table}.{key}"))?;
    let Some(figment::Source::File(path)) = &metadata.source else {
        return None;
    };
    Some(ConfigProblem::for_table(
        table,
        key,
        format!(
            "is read from the file {} in profile `release`; a secret never belongs in a file \
             that is committed or shipped: remove it there and set it from the environment, \
             e.g. {env}",
            path.display()
        ),
    ))
}

/// A problem for each top-level key of `figment`'s selected profile that is within two edits
/// of `table` (`wristband_session` or `wristband_auth`) without being it (`wristband_sesion`,
/// `wristbandauth`, …): such a table would otherwise be ignored and the defaults apply without
/// a word. Also catches `ROCKET_WRISTBAND_SESION`, which figment reads as a top-level key. Each
/// fairing checks its own table, so a misspelling is reported once, by the fairing it concerns.
pub(crate) fn misspelled_tables(figment: &Figment, table: &'static str) -> Vec<ConfigProblem> {
    debug_assert!(CRATE_TABLES.contains(&table));
    let Ok(top) = figment.extract::<Dict>() else {
        return Vec::new();
    };
    top.keys()
        .filter(|key| *key != table && edit_distance(key, table) <= 2)
        .map(|key| {
            ConfigProblem::for_table(
                table,
                "",
                format!(
                    "found a table or variable named `{}`, which looks like a misspelling of \
                     `{table}`; rename it to `{table}` (a misspelled table would be ignored and \
                     the defaults used)",
                    crate::session::log_text::Escaped(key)
                ),
            )
        })
        .collect()
}

/// A problem for each key of `table` that is not one of `known` (the keys of table `name`).
pub(crate) fn unknown_keys(
    name: &'static str,
    table: &Dict,
    known: &[&str],
    problems: &mut Vec<ConfigProblem>,
) {
    for key in table.keys() {
        if !known.contains(&key.as_str()) {
            problems.push(ConfigProblem::for_table(
                name,
                key.as_str(),
                format!("unknown option; the known options are: {}", known.join(", ")),
            ));
        }
    }
}

/// Every key of the `wristband_session` table.
pub(crate) const KEYS: &[&str] = &[
    "secrets",
    "cookie_name",
    "max_age",
    "path",
    "domain",
    "same_site",
    "secure",
    "enable_csrf_protection",
    "csrf_cookie_name",
    "csrf_cookie_domain",
    "csrf_header_name",
    "csrf_check_all_methods",
    "max_cookie_chunks",
    "renew_after",
    "revocation",
];

#[cfg(test)]
mod tests {
    use super::edit_distance;

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("wristband_session", "wristband_session"), 0);
        assert_eq!(edit_distance("wristband_sesion", "wristband_session"), 1);
        assert_eq!(edit_distance("Wristband_Session", "wristband_session"), 0);
        assert_eq!(edit_distance("wristbnad_auth", "wristband_auth"), 2);
        assert_eq!(edit_distance("wristband_authz", "wristband_auth"), 1);
        assert_eq!(edit_distance("wristband", "wristband_auth"), 5);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("limits", "wristband_auth"), 12);
    }
}

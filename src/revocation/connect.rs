//! Building the Redis clients from the `revocation` table: where the server is (`url`, the
//! sentinels, or the cluster's seed nodes), the credentials (`username`/`password` over those of a URL, the sentinels' own),
//! and TLS (`rediss://`: the public roots or `tls_ca_file`, and a client certificate for
//! mutual TLS). Everything that turns options into clients is here, so that another shape of
//! deployment is one more arm of [`connect`].
//!
//! Nothing here prints a URL or a credential: errors name the key and the address only.

use std::path::Path;

use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{
    ClientTlsConfig, ConnectionAddr, ConnectionInfo, IntoConnectionInfo, RedisConnectionInfo,
    TlsCertificates, TlsMode,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::session::options::{connection_address, url_error, RevocationOptions};

/// Where the master is, as built from the options (no network yet).
pub(crate) enum Deployment {
    /// One server (`url`).
    Fixed(redis::Client),
    /// Redis Sentinel: the client that asks the sentinels, and their addresses for logs.
    Sentinel { client: SentinelClient, addresses: String },
    /// Redis Cluster: what builds its clients (one per connection: the subscription's needs
    /// its own push channel).
    Cluster(ClusterSetup),
}

/// The seed nodes of a Redis Cluster, with their credentials and TLS settings.
pub(crate) struct ClusterSetup {
    /// The seed nodes, with `username`/`password` in place of the URLs' credentials.
    nodes: Vec<ConnectionInfo>,
    certificates: Option<TlsCertificates>,
    /// The seed nodes' addresses (never their URLs, which can hold passwords), for logs.
    pub(crate) addresses: String,
}

impl ClusterSetup {
    /// A cluster client; with `pushes`, one that speaks RESP3 and sends every push (pub/sub
    /// messages, and `Disconnection` when a node's connection drops) there.
    pub(crate) fn client(
        &self,
        timeout: std::time::Duration,
        pushes: Option<rocket::tokio::sync::mpsc::UnboundedSender<redis::PushInfo>>,
    ) -> Result<ClusterClient, redis::RedisError> {
        let mut builder = ClusterClientBuilder::new(self.nodes.iter().cloned())
            .connection_timeout(timeout)
            .response_timeout(timeout)
            .retries(2)
            .min_retry_wait(50)
            .max_retry_wait(200);
        if let Some(certificates) = &self.certificates {
            builder = builder.certs(certificates.clone());
        }
        if let Some(pushes) = pushes {
            builder = builder.use_protocol(redis::ProtocolVersion::RESP3).push_sender(pushes);
        }
        builder.build()
    }
}

/// The clients to use, and what the servers' certificates are checked against.
pub(crate) struct Connection {
    pub(crate) deployment: Deployment,
    /// For logs: `None` without TLS, else "the public roots" or "`tls_ca_file` (<path>)".
    pub(crate) trust: Option<String>,
}

/// Builds the clients `options` describe. A `tls_*` file that cannot be read, or holds no
/// PEM of the expected kind, is an error naming the key and the file.
pub(crate) fn connect(options: &RevocationOptions) -> Result<Connection, String> {
    // rustls needs a crypto provider; ring is the one compiled in (reqwest's `rustls-tls` uses
    // it too). Already installed (by us or by the application) is fine. rustls 0.23.48
    // deprecates it for lacking post-quantum key exchange; its replacement, aws-lc-rs, is a C
    // library build this crate does not impose: an application that wants it installs it
    // before launch, and this line then changes nothing.
    #[allow(deprecated)]
    let _ = rustls::crypto::ring::default_provider().install_default();
    if !options.cluster_nodes.is_empty() {
        return cluster(options);
    }
    if options.sentinels.is_empty() {
        let info = options.url.as_str().into_connection_info().map_err(|e| {
            format!("`revocation.url` is not a usable Redis URL ({})", url_error(&e))
        })?;
        let info = with_credentials(info, &options.username, &options.password);
        let tls = is_tls(&info).then(|| certificates(options)).transpose()?;
        let client = match &tls {
            Some(certificates) => redis::Client::build_with_tls(info, certificates.clone()),
            None => redis::Client::open(info),
        }
        .map_err(|e| format!("the Redis client could not be set up ({})", url_error(&e)))?;
        return Ok(Connection {
            deployment: Deployment::Fixed(client),
            trust: tls.map(|_| trust(options)),
        });
    }
    sentinel(options)
}

/// The Sentinel form: the sentinels' client, and the master's credentials and TLS.
fn sentinel(options: &RevocationOptions) -> Result<Connection, String> {
    let name = options.sentinel_master.clone().unwrap_or_default();
    let mut infos = Vec::with_capacity(options.sentinels.len());
    for (i, url) in options.sentinels.iter().enumerate() {
        let info = url.as_str().into_connection_info().map_err(|e| {
            let why = url_error(&e);
            format!("`revocation.sentinels`: entry {} is not a usable Redis URL ({why})", i + 1)
        })?;
        infos.push(info);
    }
    let addresses: Vec<String> = infos.iter().map(connection_address).collect();
    // Credentials written in the first sentinel URL that has a password, unless keys are set.
    let from_url = infos.iter().map(|i| i.redis_settings()).find(|r| r.password().is_some());
    let url_user = from_url.and_then(|r| r.username()).map(str::to_string);
    let url_password = from_url.and_then(|r| r.password()).map(str::to_string);
    let (sentinel_user, sentinel_password) = match &options.sentinel_password {
        Some(password) => (options.sentinel_username.clone(), Some(password.clone())),
        None => (url_user.clone(), url_password.clone()),
    };
    let (master_user, master_password) = match &options.password {
        Some(password) => (options.username.clone(), Some(password.clone())),
        None => (url_user, url_password),
    };
    let tls = infos.iter().any(is_tls).then(|| certificates(options)).transpose()?;
    let addrs = infos.into_iter().map(|info| info.addr().clone());
    let setup = |e: redis::RedisError| {
        format!("the Sentinel client could not be set up ({})", url_error(&e))
    };
    let mut builder =
        SentinelClientBuilder::new(addrs, &name, SentinelServerType::Master).map_err(setup)?;
    if let Some(user) = sentinel_user {
        builder = builder.set_client_to_sentinel_username(user);
    }
    if let Some(password) = sentinel_password {
        builder = builder.set_client_to_sentinel_password(password);
    }
    if let Some(user) = master_user {
        builder = builder.set_client_to_redis_username(user);
    }
    if let Some(password) = master_password {
        builder = builder.set_client_to_redis_password(password);
    }
    if let Some(certificates) = &tls {
        builder = builder
            .set_client_to_sentinel_tls_mode(TlsMode::Secure)
            .set_client_to_sentinel_certificates(certificates.clone())
            .set_client_to_redis_tls_mode(TlsMode::Secure)
            .set_client_to_redis_certificates(certificates.clone());
    }
    let client = builder.build().map_err(setup)?;
    Ok(Connection {
        deployment: Deployment::Sentinel { client, addresses: addresses.join(", ") },
        trust: tls.map(|_| trust(options)),
    })
}

/// The Cluster form: the seed nodes, each with the credentials and TLS settings.
fn cluster(options: &RevocationOptions) -> Result<Connection, String> {
    let mut nodes = Vec::with_capacity(options.cluster_nodes.len());
    for (i, url) in options.cluster_nodes.iter().enumerate() {
        let info = url.as_str().into_connection_info().map_err(|e| {
            let why = url_error(&e);
            format!("`revocation.cluster_nodes`: entry {} is not a usable Redis URL ({why})", i + 1)
        })?;
        nodes.push(with_credentials(info, &options.username, &options.password));
    }
    let addresses: Vec<String> = nodes.iter().map(connection_address).collect();
    let certificates = nodes.iter().any(is_tls).then(|| certificates(options)).transpose()?;
    let trust = certificates.as_ref().map(|_| trust(options));
    let setup = ClusterSetup { nodes, certificates, addresses: addresses.join(", ") };
    // Checks what the client checks before any network (same credentials on every node).
    setup
        .client(std::time::Duration::from_secs(1), None)
        .map_err(|e| format!("the Redis Cluster client could not be set up ({})", url_error(&e)))?;
    Ok(Connection { deployment: Deployment::Cluster(setup), trust })
}

fn is_tls(info: &ConnectionInfo) -> bool {
    matches!(info.addr(), ConnectionAddr::TcpTls { .. })
}

/// `info` with `username`/`password` in place of the URL's credentials when `password` is set.
fn with_credentials(
    info: ConnectionInfo,
    username: &Option<String>,
    password: &Option<String>,
) -> ConnectionInfo {
    let Some(password) = password else { return info };
    let url = info.redis_settings();
    let mut settings = RedisConnectionInfo::default().set_db(url.db()).set_protocol(url.protocol());
    if let Some(username) = username {
        settings = settings.set_username(username);
    }
    settings = settings.set_password(password);
    info.set_redis_settings(settings)
}

/// What the servers' certificates are checked against, for logs.
pub(crate) fn trust(options: &RevocationOptions) -> String {
    match &options.tls_ca_file {
        Some(file) => format!("`tls_ca_file` ({})", file.display()),
        None => "the public roots".into(),
    }
}

/// Reads `file` (the value of `revocation.<key>`).
fn read(key: &str, file: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(file).map_err(|e| {
        format!("`revocation.{key}`: the file {} could not be read ({e})", file.display())
    })
}

/// The TLS settings: the CA bundle (or none: the public roots) and the client certificate.
fn certificates(options: &RevocationOptions) -> Result<TlsCertificates, String> {
    let root_cert = match &options.tls_ca_file {
        Some(file) => {
            let pem = read("tls_ca_file", file)?;
            let count = CertificateDer::pem_slice_iter(&pem).filter(Result::is_ok).count();
            if count == 0 {
                return Err(format!(
                    "`revocation.tls_ca_file`: the file {} holds no PEM certificate",
                    file.display()
                ));
            }
            Some(pem)
        }
        None => None,
    };
    let client_tls = match (&options.tls_client_cert_file, &options.tls_client_key_file) {
        (Some(cert_file), Some(key_file)) => {
            let client_cert = read("tls_client_cert_file", cert_file)?;
            if CertificateDer::pem_slice_iter(&client_cert).filter(Result::is_ok).count() == 0 {
                return Err(format!(
                    "`revocation.tls_client_cert_file`: the file {} holds no PEM certificate",
                    cert_file.display()
                ));
            }
            let client_key = read("tls_client_key_file", key_file)?;
            // The key's text never reaches a message: only whether it parses.
            if PrivateKeyDer::from_pem_slice(&client_key).is_err() {
                return Err(format!(
                    "`revocation.tls_client_key_file`: the file {} holds no PEM private key",
                    key_file.display()
                ));
            }
            Some(ClientTlsConfig { client_cert, client_key })
        }
        _ => None,
    };
    Ok(TlsCertificates { client_tls, root_cert })
}

/// A connection failure, reworded when TLS is why: a server certificate that does not verify
/// names the host and what it was checked against; a server that wants a client certificate
/// says which keys give one. `None` when TLS is not the cause.
pub(crate) fn tls_failure(detail: &str, server: &str, trust: Option<&str>) -> Option<String> {
    let trust = trust?;
    if detail.contains("invalid peer certificate") {
        return Some(format!(
            "the certificate of the Redis server at {server} does not verify against {trust} \
             ({detail})"
        ));
    }
    let alert = ["CertificateRequired", "BadCertificate", "UnknownCA", "certificate required"];
    if alert.iter().any(|a| detail.contains(a)) {
        return Some(format!(
            "the Redis server at {server} refused this instance's client certificate or wants \
             one (set `tls_client_cert_file` and `tls_client_key_file` to a certificate its \
             `tls-ca-cert-file` trusts) ({detail})"
        ));
    }
    None
}

#![cfg(feature = "fake-wristband")]
//! `wristband_ca_file` over real TLS: the fake Wristband behind a TLS terminator (rustls, with
//! a CA and a `localhost` certificate made by `openssl` at test time in a temporary directory;
//! no key material in the repository). Without the key the JWKS fetch fails on the
//! certificate (logged as such) and bearer JWTs are refused; with it they are accepted.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use rocket::http::{Header, Status};
use rocket::local::asynchronous::Client;
use rocket::{get, routes};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;
use wristband_rocket_session::testing::FakeWristband;
use wristband_rocket_session::{WristbandAuth, WristbandJwt};

#[allow(dead_code)]
#[path = "support/logs.rs"]
mod logs;

fn openssl(dir: &Path, args: &[&str]) {
    let status = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(status.success(), "openssl {args:?}");
}

/// A CA (`ca.pem`) and a certificate for `localhost` it signed (`server.pem`, `server.key`),
/// in a fresh temporary directory.
fn certificates() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ca-file-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    openssl(
        &dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=ca-file test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ],
    );
    openssl(
        &dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    std::fs::write(dir.join("ext.cnf"), "subjectAltName=DNS:localhost\n").unwrap();
    openssl(
        &dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "ext.cnf",
            "-out",
            "server.pem",
        ],
    );
    dir
}

/// Terminates TLS on a loopback port and forwards the plain bytes to `upstream`; returns the
/// port.
async fn tls_terminator(dir: &Path, upstream: u16) -> u16 {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("server.pem"))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
    // ring, as the crate's TLS uses (deprecated in rustls 0.23.48 for lacking post-quantum key
    // exchange; see src/revocation/connect.rs).
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else { return };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(socket).await else { return };
                let Ok(mut plain) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    port
}

#[get("/api/whoami")]
fn whoami(jwt: WristbandJwt<'_>) -> String {
    jwt.user_id()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ca_file_is_added_to_the_trusted_roots() {
    logs::install();
    let dir = certificates();
    let fake = FakeWristband::start().await;
    let port = tls_terminator(&dir, fake.port()).await;
    // The fake, as known through the terminator: https://localhost:<port>.
    fake.set_public_url(Some(&format!("https://localhost:{port}")));
    let token = fake.issue_access_token("user-1", "tenant-1", 300);

    let app = |ca_file: Option<PathBuf>| {
        let mut table = serde_json::json!({
            "wristband_application_vanity_domain": format!("localhost:{port}"),
        });
        if let Some(path) = ca_file {
            table["wristband_ca_file"] = path.to_string_lossy().into_owned().into();
        }
        let figment =
            rocket::Config::figment().merge(("log_level", "off")).merge(("wristband_auth", table));
        rocket::custom(figment).attach(WristbandAuth::fairing()).mount("/", routes![whoami])
    };
    let bearer = Header::new("Authorization", format!("Bearer {token}"));

    // Without the CA file: the certificate is not trusted, the JWKS cannot be fetched.
    let client = Client::untracked(app(None)).await.unwrap();
    let response = client.get("/api/whoami").header(bearer.clone()).dispatch().await;
    assert_eq!(response.status(), Status::Unauthorized);
    let warnings = logs::logged(Some(log::Level::Warn)).join("\n");
    assert!(warnings.contains("TLS certificate is not trusted"), "{warnings}");

    // With it: the JWKS comes over TLS and the token is accepted.
    logs::install();
    let client = Client::untracked(app(Some(dir.join("ca.pem")))).await.unwrap();
    let response = client.get("/api/whoami").header(bearer).dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(response.into_string().await.as_deref(), Some("user-1"));
    let _ = std::fs::remove_dir_all(&dir);
}

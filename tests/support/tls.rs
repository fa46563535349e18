//! A throwaway certificate authority for one test, made with `openssl` at test time in its own
//! temporary directory (removed when dropped): no key material is committed. Certificates are
//! for `127.0.0.1` and `localhost`, P-256 keys, valid one day, usable by servers and clients
//! (Redis presents its server certificate as a client certificate when it replicates).
//! Included with `#[path = "support/tls.rs"] mod tls;`.
//!
//! A missing `openssl` fails the test with the command that installs it; it never skips.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A CA (its certificate and key) in a temporary directory.
pub struct TestCa {
    dir: PathBuf,
    name: String,
}

/// A certificate and its key, issued by a [`TestCa`].
#[derive(Clone, Debug)]
pub struct Issued {
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn openssl(args: &[&str], dir: &Path) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "could not run `openssl` ({e}): these tests make their certificates with it. \
                 Install it (`apt-get install openssl`) and run them again"
            )
        });
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

impl TestCa {
    /// A new CA named `name` (its subject's common name).
    pub fn new(name: &str) -> TestCa {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("wrs-tls-{}-{n}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the CA's directory");
        openssl(
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-days",
                "1",
                "-subj",
                &format!("/CN={name}"),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
            &dir,
        );
        TestCa { dir, name: name.to_string() }
    }

    /// The CA's certificate (the PEM bundle to trust).
    pub fn cert(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }

    /// The directory the files are in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A certificate for `127.0.0.1` and `localhost`, named `name`, signed by this CA.
    pub fn issue(&self, name: &str) -> Issued {
        let ext = self.dir.join(format!("{name}.ext"));
        std::fs::write(
            &ext,
            "basicConstraints=CA:FALSE\n\
             keyUsage=critical,digitalSignature,keyEncipherment\n\
             extendedKeyUsage=serverAuth,clientAuth\n\
             subjectAltName=IP:127.0.0.1,DNS:localhost\n",
        )
        .expect("write the extensions");
        let (key, csr, cert) =
            (format!("{name}.key"), format!("{name}.csr"), format!("{name}.crt"));
        openssl(
            &[
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                &key,
                "-out",
                &csr,
                "-subj",
                &format!("/CN={name}"),
            ],
            &self.dir,
        );
        openssl(
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &cert,
                "-days",
                "1",
                "-extfile",
                &format!("{name}.ext"),
            ],
            &self.dir,
        );
        Issued { cert: self.dir.join(cert), key: self.dir.join(key) }
    }

    /// The `redis-server` arguments that serve TLS on `tls_port` with `server`'s certificate,
    /// trusting this CA for client certificates (required when `auth_clients`), replicating
    /// over TLS.
    pub fn redis_args(&self, server: &Issued, tls_port: u16, auth_clients: bool) -> Vec<String> {
        let mut args = Vec::new();
        for line in self.redis_conf(server, tls_port, auth_clients).lines() {
            let mut words = line.split(' ');
            args.push(format!("--{}", words.next().unwrap()));
            args.extend(words.map(String::from));
        }
        args
    }

    /// The same settings as configuration-file lines (for sentinels).
    pub fn redis_conf(&self, server: &Issued, tls_port: u16, auth_clients: bool) -> String {
        format!(
            "tls-port {tls_port}\n\
             tls-cert-file {}\n\
             tls-key-file {}\n\
             tls-ca-cert-file {}\n\
             tls-auth-clients {}\n\
             tls-replication yes\n",
            server.cert.display(),
            server.key.display(),
            self.cert().display(),
            if auth_clients { "yes" } else { "no" }
        )
    }
}

impl Drop for TestCa {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

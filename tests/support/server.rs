//! A Rocket app served over real TCP for a test: 127.0.0.1, a port the OS picks (Rocket writes
//! the port it bound into its config before liftoff), logging off, a short shutdown. Included by
//! the TCP test files with `#[path = "support/server.rs"] mod server;`.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Mutex;
use std::time::Duration;

use rocket::fairing::AdHoc;
use rocket::tokio::sync::oneshot;
use rocket::tokio::task::JoinHandle;
use rocket::{Build, Ignite, Rocket, Shutdown};

/// A running server: its base URL, and what it takes to stop it.
pub struct Server {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    shutdown: Shutdown,
    task: JoinHandle<Result<Rocket<Ignite>, rocket::Error>>,
}

impl Server {
    /// Serves `rocket` (its own figment, plus address, port 0, no logs and a quick shutdown)
    /// and waits until it accepts connections.
    pub async fn start(rocket: Rocket<Build>) -> Server {
        let shutdown =
            rocket::config::Shutdown { ctrlc: false, grace: 1, mercy: 1, ..Default::default() };
        let figment = rocket
            .figment()
            .clone()
            .merge(("address", Ipv4Addr::LOCALHOST))
            .merge(("port", 0))
            .merge(("log_level", rocket::config::LogLevel::Off))
            .merge(("shutdown", shutdown));
        let (tx, rx) = oneshot::channel::<u16>();
        let tx = Mutex::new(Some(tx));
        let rocket = rocket.configure(figment).attach(AdHoc::on_liftoff("report port", move |r| {
            Box::pin(async move {
                if let Some(tx) = tx.lock().unwrap().take() {
                    let _ = tx.send(r.config().port);
                }
            })
        }));
        let ignited = rocket.ignite().await.expect("rocket ignites");
        let shutdown = ignited.shutdown();
        let task = rocket::tokio::spawn(ignited.launch());
        let port = rocket::tokio::time::timeout(Duration::from_secs(10), rx)
            .await
            .expect("liftoff within 10 s")
            .expect("liftoff reports the port");
        assert_ne!(port, 0, "Rocket reports the port it bound");

        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let mut tries = 0;
        while rocket::tokio::net::TcpStream::connect(addr).await.is_err() {
            tries += 1;
            assert!(tries < 100, "server never accepted a connection");
            rocket::tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Server { base: format!("http://{addr}"), shutdown, task }
    }

    /// A handle that stops the server, for clean-up code that must run even on failure.
    #[allow(dead_code)] // not every test file needs it
    pub fn shutdown_handle(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// The URL of `path` on this server.
    #[allow(dead_code)] // not every test file needs it
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops the server through its `Shutdown` handle and checks that it ended: cleanly, or
    /// with Rocket's `Shutdown` error, which only says that a client kept a connection open
    /// past the (1 s) grace period, as a pooled keep-alive connection may.
    pub async fn stop(self) {
        self.shutdown.notify();
        let ended = rocket::tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("server stops within 10 s");
        match ended.expect("server task did not panic") {
            Ok(_) => {}
            Err(e) if matches!(e.kind(), rocket::error::ErrorKind::Shutdown(..)) => {}
            Err(e) => panic!("server ended with an error: {e}"),
        }
    }
}

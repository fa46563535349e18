//! Serving the fake: a Rocket of its own on 127.0.0.1, a port the OS picks, logging off, a
//! short shutdown, no `Rocket.toml` or `ROCKET_*` variable read.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rocket::config::{Config, LogLevel};
use rocket::fairing::AdHoc;
use rocket::figment::Figment;
use rocket::tokio::sync::oneshot;
use rocket::tokio::task::JoinHandle;
use rocket::{Ignite, Rocket, Shutdown};

use super::routes;
use super::state::Shared;

/// The running server task.
pub(super) type Task = JoinHandle<Result<Rocket<Ignite>, rocket::Error>>;

/// A running fake: its port, its shutdown handle and its task.
pub(super) struct Running {
    pub(super) port: u16,
    pub(super) shutdown: Shutdown,
    pub(super) task: Task,
}

/// Launches the fake on `127.0.0.1:port` (0: a port the OS picks) and waits until it accepts
/// connections.
///
/// # Panics
///
/// If Rocket cannot ignite or bind, or the server does not accept a connection within 10 s:
/// this is test tooling, and a test cannot go on without it.
pub(super) async fn launch(shared: Arc<Shared>, port: u16) -> Running {
    let shutdown =
        rocket::config::Shutdown { ctrlc: false, grace: 1, mercy: 1, ..Default::default() };
    // The debug profile's defaults whatever the build, so no secret key is asked for.
    let figment = Figment::from(Config::debug_default())
        .merge(("address", Ipv4Addr::LOCALHOST))
        .merge(("port", port))
        .merge(("log_level", LogLevel::Off))
        .merge(("cli_colors", false))
        .merge(("ident", "FakeWristband"))
        .merge(("shutdown", shutdown));
    let (tx, rx) = oneshot::channel::<u16>();
    let tx = Mutex::new(Some(tx));
    let on_port = Arc::clone(&shared);
    let rocket = rocket::custom(figment).manage(shared).mount("/", routes::all()).attach(
        AdHoc::on_liftoff("FakeWristband port", move |rocket| {
            let port = rocket.config().port;
            on_port.set_port(port);
            let tx = tx.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
            Box::pin(async move {
                if let Some(tx) = tx {
                    let _ = tx.send(port);
                }
            })
        }),
    );
    let ignited = match rocket.ignite().await {
        Ok(ignited) => ignited,
        Err(e) => panic!("the fake Wristband does not ignite: {e}"),
    };
    let shutdown = ignited.shutdown();
    let mut task = rocket::tokio::spawn(ignited.launch());
    let lift_off = async {
        rocket::tokio::select! {
            port = rx => port.ok(),
            ended = &mut task => match ended {
                Ok(Err(e)) => panic!("the fake Wristband cannot listen on 127.0.0.1:{port}: {e}"),
                _ => None,
            },
        }
    };
    let port = rocket::tokio::time::timeout(Duration::from_secs(10), lift_off)
        .await
        .expect("the fake Wristband lifts off within 10 s")
        .expect("the fake Wristband reports its port");

    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut tries = 0;
    while rocket::tokio::net::TcpStream::connect(addr).await.is_err() {
        tries += 1;
        assert!(tries < 500, "the fake Wristband never accepted a connection");
        rocket::tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Running { port, shutdown, task }
}

#![cfg(feature = "fake-wristband")]
//! The HTTP client to Wristband honours the standard proxy variables: with `HTTP_PROXY` set,
//! the JWKS fetch goes to the proxy; a host on `NO_PROXY` is reached directly. Environment
//! variables are process-wide (and reqwest reads them once per process), so the test runs in a
//! child process started with them (`support/child_env.rs`).

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wristband_rocket_session::testing::FakeWristband;
use wristband_rocket_session::{
    AuthOptions, WristbandJwtError, WristbandJwtValidator, WristbandScheme,
};

use crate::support::child_env;

/// A proxy on `port` that records each request line it receives and answers 502.
async fn recording_proxy(port: u16) -> Arc<Mutex<Vec<String>>> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let record = record.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&head);
                record.lock().unwrap().push(text.lines().next().unwrap_or_default().to_string());
                let answer =
                    "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    seen
}

fn validator(vanity_domain: String) -> WristbandJwtValidator {
    WristbandJwtValidator::from_options(&AuthOptions {
        wristband_scheme: WristbandScheme::Http,
        ..AuthOptions::bearer_only(vanity_domain)
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_proxy_and_no_proxy_are_honoured() {
    // The proxy's port is chosen here, before the child process that has the variables starts
    // the proxy on it.
    let proxy_port =
        std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let proxy = format!("http://127.0.0.1:{proxy_port}");
    let variables = [
        ("HTTP_PROXY", proxy.as_str()),
        ("http_proxy", proxy.as_str()),
        ("NO_PROXY", "127.0.0.1"),
        ("no_proxy", "127.0.0.1"),
    ];
    if !child_env::in_child("http_proxy_and_no_proxy_are_honoured", &variables, &[]) {
        return;
    }
    // The port the parent chose, from the variable (this process would pick another).
    let proxy_port: u16 =
        std::env::var("HTTP_PROXY").unwrap().rsplit(':').next().unwrap().parse().unwrap();
    let seen = recording_proxy(proxy_port).await;
    let fake = FakeWristband::start().await;

    // `localhost:<port>`: through the proxy (which answers 502, so no key).
    let token = fake.issue_access_token("user-1", "tenant-1", 300);
    let proxied = validator(format!("localhost:{}", fake.port()));
    assert_eq!(proxied.validate(&token).await.unwrap_err(), WristbandJwtError::UnknownKey);
    let lines = seen.lock().unwrap().clone();
    let expected = format!("GET http://localhost:{}/api/v1/oauth2/jwks HTTP/1.1", fake.port());
    assert!(lines.contains(&expected), "{lines:?}");

    // `127.0.0.1:<port>` is on NO_PROXY: straight to the fake.
    let before = seen.lock().unwrap().len();
    fake.set_public_url(Some(&format!("http://127.0.0.1:{}", fake.port())));
    let token = fake.issue_access_token("user-2", "tenant-2", 300);
    let direct = validator(format!("127.0.0.1:{}", fake.port()));
    assert_eq!(direct.validate(&token).await.map(|jwt| jwt.user_id()), Ok("user-2".into()));
    assert_eq!(seen.lock().unwrap().len(), before, "the proxy saw nothing more");
}

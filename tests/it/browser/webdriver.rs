//! A minimal W3C WebDriver client over reqwest's JSON API: just the commands the browser test
//! uses (new session, navigate, find, click, execute, refresh, screenshot, delete).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};

/// The key of an element reference in W3C WebDriver responses.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// One WebDriver session on a local chromedriver.
pub struct WebDriver {
    http: reqwest::Client,
    /// `http://127.0.0.1:{port}/session/{id}`.
    base: String,
    pub id: String,
}

/// Sends one command; a WebDriver error (or a transport error) becomes `Err` with its message.
async fn send(
    http: &reqwest::Client,
    method: Method,
    url: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let mut request = http.request(method.clone(), url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.map_err(|e| format!("{method} {url}: {e}"))?;
    let status = response.status();
    let body: Value = response.json().await.map_err(|e| format!("{method} {url}: {e}"))?;
    let value = body.get("value").cloned().unwrap_or(Value::Null);
    if status.is_success() {
        Ok(value)
    } else {
        Err(format!("{method} {url}: {status}: {} {}", value["error"], value["message"]))
    }
}

impl WebDriver {
    /// Creates a session on the chromedriver listening on `port`.
    pub async fn new_session(port: u16, capabilities: Value) -> Result<WebDriver, String> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| e.to_string())?;
        let url = format!("http://127.0.0.1:{port}/session");
        let body = json!({ "capabilities": { "alwaysMatch": capabilities } });
        let value = send(&http, Method::POST, &url, Some(body)).await?;
        let id = value["sessionId"].as_str().ok_or("no sessionId in the answer")?.to_string();
        Ok(WebDriver { http, base: format!("{url}/{id}"), id })
    }

    /// Any command of this session, relative to `/session/{id}`.
    pub async fn command(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        send(&self.http, method, &format!("{}{path}", self.base), body).await
    }

    /// Navigates to `url` and waits for the page to load.
    pub async fn goto(&self, url: &str) {
        self.command(Method::POST, "/url", Some(json!({ "url": url }))).await.unwrap();
    }

    /// The top-level browsing context's URL.
    pub async fn current_url(&self) -> String {
        let value = self.command(Method::GET, "/url", None).await.unwrap();
        value.as_str().expect("the URL is a string").to_string()
    }

    /// Reloads the page and waits for it to load.
    pub async fn refresh(&self) {
        self.command(Method::POST, "/refresh", Some(json!({}))).await.unwrap();
    }

    /// Clicks the element that the CSS `selector` finds.
    pub async fn click(&self, selector: &str) {
        let body = json!({ "using": "css selector", "value": selector });
        let element = self.command(Method::POST, "/element", Some(body)).await.unwrap();
        let id = element[ELEMENT_KEY].as_str().expect("an element reference");
        self.command(Method::POST, &format!("/element/{id}/click"), Some(json!({}))).await.unwrap();
    }

    /// Runs `script` (a function body; a returned promise is awaited) in the page.
    pub async fn execute(&self, script: &str) -> Result<Value, String> {
        let body = json!({ "script": script, "args": [] });
        self.command(Method::POST, "/execute/sync", Some(body)).await
    }

    /// Runs `script` until it returns something other than `null`/`false`, every 50 ms for up
    /// to `timeout`; panics with `what` and the last answer when it never does.
    pub async fn wait_for(&self, what: &str, script: &str, timeout: Duration) -> Value {
        let start = Instant::now();
        loop {
            let last = self.execute(script).await;
            match &last {
                Ok(Value::Null | Value::Bool(false)) | Err(_) => {}
                Ok(value) => return value.clone(),
            }
            assert!(
                start.elapsed() < timeout,
                "timed out after {timeout:?} waiting for {what}; last answer: {last:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> Vec<u8> {
        let value = self.command(Method::GET, "/screenshot", None).await.unwrap();
        STANDARD.decode(value.as_str().expect("base64 text")).expect("valid base64")
    }

    /// Ends the session (the browser quits).
    pub async fn delete(&self) -> Result<(), String> {
        self.command(Method::DELETE, "", None).await.map(|_| ())
    }
}

/// `DELETE /session/{id}` with a blocking socket, for `Drop` (which cannot await).
pub fn delete_session_blocking(port: u16, id: &str) {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
        return;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let request = format!(
        "DELETE /session/{id} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n\
         Connection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_ok() {
        let _ = stream.read_to_end(&mut Vec::new());
    }
}

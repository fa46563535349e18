//! Redis over TLS and with ACL users, against real servers the tests start on free loopback
//! ports (tests/support/redis.rs, tests/support/sentinel.rs) with certificates made at test
//! time by a throwaway CA (tests/support/tls.rs), and app instances over real TCP configured
//! from TOML: `rediss://` with a private CA (`tls_ca_file`), mutual TLS
//! (`tls_client_cert_file`, `tls_client_key_file`), a certificate from another CA refused,
//! unreadable files refused at launch, `username`/`password` over a URL's credentials (also from
//! `ROCKET_WRISTBAND_SESSION`), the sentinels' own credentials, and a Sentinel failover over TLS.
#![cfg(feature = "redis")]

#[macro_use]
extern crate rocket;

#[path = "support/child_env.rs"]
mod child_env;
#[path = "support/logs.rs"]
mod logs;
#[allow(dead_code)]
#[path = "support/redis.rs"]
mod redis_server;
#[allow(dead_code)]
#[path = "support/sentinel.rs"]
mod sentinel;
#[path = "support/server.rs"]
mod server;
#[path = "support/tls.rs"]
mod tls;

use std::time::{Duration, Instant};

use redis_server::RedisServer;
use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::StatusCode;
use rocket::figment::providers::{Env, Format, Toml};
use rocket::figment::Figment;
use rocket::http::Status;
use rocket::serde::json::Json;
use sentinel::{SentinelCluster, Setup};
use serde_json::{json, Value};
use server::Server;
use tls::TestCa;
use wristband_rocket_session::testing::callback_data;
use wristband_rocket_session::{AuthenticatedSession, Revocations, Session, WristbandSession};

const SECRET: &str = "redis-tls-test-secret-0123456789-abcdefghij";
const PASSWORD: &str = "acl-PASSWORD-9d1c7e2b";
const SENTINEL_PASSWORD: &str = "sentinel-PASSWORD-4f0a8b3c";

#[post("/login/<user>")]
fn login(session: Session<'_>, user: &str) {
    session.from_callback(&callback_data(user, "t1"), None).unwrap();
}

#[get("/me")]
fn me(session: AuthenticatedSession<'_>) -> String {
    session.user_id()
}

#[post("/revoke")]
async fn revoke(session: Session<'_>) -> Status {
    match session.revoke().await {
        Ok(()) => Status::Ok,
        Err(_) => Status::ServiceUnavailable,
    }
}

#[get("/stats")]
fn stats(revocations: Revocations) -> Json<Value> {
    let stats = revocations.stats();
    Json(json!({ "caught_up": stats.caught_up, "catch_ups": stats.catch_ups }))
}

/// The figment of an instance: `toml` (a `[debug.wristband_session.revocation]`-style table
/// under `profile`) and this test's secret.
fn figment(toml: &str, profile: &str) -> Figment {
    Figment::from(rocket::Config::default())
        .merge(Toml::string(toml).nested())
        .merge(("wristband_session.secrets", SECRET))
        .merge(("wristband_session.secure", false))
        .select(profile)
}

fn app(figment: Figment) -> rocket::Rocket<rocket::Build> {
    rocket::custom(figment)
        .attach(WristbandSession::fairing())
        .mount("/", routes![login, me, revoke, stats])
}

async fn instance(toml: &str) -> Server {
    Server::start(app(figment(toml, "debug"))).await
}

/// The `[default.wristband_session.revocation]` table with `keys` (TOML lines).
fn revocation_toml(keys: &[String]) -> String {
    format!("[default.wristband_session.revocation]\n{}\n", keys.join("\n"))
}

fn key(name: &str, value: impl std::fmt::Debug) -> String {
    format!("{name} = {value:?}")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap()
}

async fn sign_in(server: &Server, user: &str) -> String {
    let resp = client().post(server.url(&format!("/login/{user}"))).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("session=") && !v.starts_with("session=;"))
        .map(|v| v.split(';').next().unwrap().to_string())
        .expect("a login writes the session cookie")
}

/// Whether `server` refuses `cookie` as revoked (401 and the cookie removed).
async fn is_revoked(server: &Server, cookie: &str) -> bool {
    let resp = client().get(server.url("/me")).header(COOKIE, cookie).send().await.unwrap();
    resp.status() == StatusCode::UNAUTHORIZED
        && resp.headers().get_all(SET_COOKIE).iter().any(|v| {
            let v = v.to_str().unwrap();
            v.starts_with("session=;") || (v.starts_with("session=") && v.contains("Max-Age=0"))
        })
}

async fn accepted(server: &Server, cookie: &str) -> bool {
    let resp = client().get(server.url("/me")).header(COOKIE, cookie).send().await.unwrap();
    resp.status() == StatusCode::OK
}

async fn revoked_within(server: &Server, cookie: &str, limit: Duration) -> bool {
    let start = Instant::now();
    while !is_revoked(server, cookie).await {
        if start.elapsed() >= limit {
            return false;
        }
        rocket::tokio::time::sleep(Duration::from_millis(10)).await;
    }
    true
}

async fn caught_up(server: &Server) -> bool {
    let stats: Value =
        client().get(server.url("/stats")).send().await.unwrap().json().await.unwrap();
    stats["caught_up"] == json!(true)
}

async fn until_caught_up(server: &Server, limit: Duration) {
    let start = Instant::now();
    while !caught_up(server).await {
        assert!(start.elapsed() < limit, "not caught up after {limit:?}: {}", logs::all_logged());
        rocket::tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Two instances configured with `toml` catch up, and a session revoked on one is refused
/// on the other within a second.
async fn revocation_propagates(toml: &str) {
    let a = instance(toml).await;
    let b = instance(toml).await;
    for server in [&a, &b] {
        until_caught_up(server, Duration::from_secs(10)).await;
    }
    let cookie = sign_in(&a, "u1").await;
    assert!(accepted(&b, &cookie).await);
    assert_eq!(
        client().post(a.url("/revoke")).header(COOKIE, &cookie).send().await.unwrap().status(),
        StatusCode::OK
    );
    assert!(revoked_within(&b, &cookie, Duration::from_secs(1)).await, "B refuses it");
    a.stop().await;
    b.stop().await;
}

/// A TLS-only-for-clients server (its plain port for the harness) with `ca`'s certificate.
fn tls_server(ca: &TestCa, auth_clients: bool, extra: &[&str]) -> RedisServer {
    let tls_port = RedisServer::free_port();
    let issued = ca.issue(&format!("server-{tls_port}"));
    let mut args = ca.redis_args(&issued, tls_port, auth_clients);
    args.extend(extra.iter().map(|s| s.to_string()));
    RedisServer::start_with(args, Some(tls_port))
}

#[rocket::async_test]
async fn revocation_propagates_over_tls_with_a_private_ca() {
    logs::install();
    let ca = TestCa::new("private-ca");
    let redis = tls_server(&ca, false, &[]);
    let toml = revocation_toml(&[key("url", redis.tls_url()), key("tls_ca_file", ca.cert())]);
    revocation_propagates(&toml).await;
}

#[rocket::async_test]
async fn mutual_tls_works_with_a_client_certificate_and_fails_clearly_without() {
    logs::install();
    let ca = TestCa::new("mtls-ca");
    let redis = tls_server(&ca, true, &[]);
    let client_cert = ca.issue("client");
    let toml = revocation_toml(&[
        key("url", redis.tls_url()),
        key("tls_ca_file", ca.cert()),
        key("tls_client_cert_file", &client_cert.cert),
        key("tls_client_key_file", &client_cert.key),
    ]);
    revocation_propagates(&toml).await;

    // Without the client certificate: never caught up, and the launch log says why.
    logs::install();
    let toml = revocation_toml(&[key("url", redis.tls_url()), key("tls_ca_file", ca.cert())]);
    let server = instance(&toml).await;
    assert!(!caught_up(&server).await);
    let errors = logs::logged(Some(log::Level::Error)).join("\n");
    eprintln!("without a client certificate: {errors}");
    assert!(errors.contains("client certificate"), "{errors}");
    assert!(errors.contains("tls_client_cert_file"), "{errors}");
    server.stop().await;
}

#[rocket::async_test]
async fn a_server_certificate_from_another_ca_is_refused_naming_the_host() {
    logs::install();
    let ca = TestCa::new("trusted-ca");
    let other = TestCa::new("other-ca");
    let redis = tls_server(&other, false, &[]);
    let host = redis.tls_url().replace("rediss://", "");
    let toml = revocation_toml(&[key("url", redis.tls_url()), key("tls_ca_file", ca.cert())]);
    let server = instance(&toml).await;
    assert!(!caught_up(&server).await, "a certificate from another CA is never trusted");
    let errors = logs::logged(Some(log::Level::Error)).join("\n");
    eprintln!("another CA: {errors}");
    assert!(errors.contains("certificate") && errors.contains(&host), "{errors}");
    assert!(errors.contains("tls_ca_file") && errors.contains(&ca.cert().display().to_string()));
    server.stop().await;

    // Without `tls_ca_file`, the public roots: the private CA's certificate does not verify.
    logs::install();
    let toml = revocation_toml(&[key("url", redis.tls_url())]);
    let server = instance(&toml).await;
    assert!(!caught_up(&server).await);
    let errors = logs::logged(Some(log::Level::Error)).join("\n");
    assert!(errors.contains("certificate") && errors.contains(&host), "{errors}");
    assert!(errors.contains("the public roots"), "{errors}");
    server.stop().await;
}

#[rocket::async_test]
async fn missing_or_unreadable_tls_files_abort_launch_naming_the_key() {
    let ca = TestCa::new("files-ca");
    let issued = ca.issue("client");
    let missing = ca.dir().join("no-such-file.pem");
    let not_pem = ca.dir().join("not-pem.txt");
    std::fs::write(&not_pem, "not a certificate\n").unwrap();
    let url = key("url", "rediss://127.0.0.1:1");
    let cases = [
        ("tls_ca_file", vec![key("tls_ca_file", &missing)], missing.clone()),
        ("tls_ca_file", vec![key("tls_ca_file", &not_pem)], not_pem.clone()),
        (
            "tls_client_cert_file",
            vec![key("tls_client_cert_file", &missing), key("tls_client_key_file", &issued.key)],
            missing.clone(),
        ),
        (
            "tls_client_key_file",
            vec![key("tls_client_cert_file", &issued.cert), key("tls_client_key_file", &not_pem)],
            not_pem.clone(),
        ),
        (
            "tls_client_key_file",
            vec![key("tls_client_cert_file", &issued.cert)],
            std::path::PathBuf::new(),
        ),
    ];
    for (named, keys, file) in cases {
        logs::install();
        let mut lines = vec![url.clone()];
        lines.extend(keys);
        let toml = revocation_toml(&lines);
        let result = app(figment(&toml, "debug")).ignite().await;
        let err = result.err().unwrap_or_else(|| panic!("{toml}: launch aborted"));
        let _ = err.kind();
        let errors = logs::logged(Some(log::Level::Error)).join("\n");
        assert!(errors.contains(&format!("revocation.{named}")), "{toml}: {errors}");
        assert!(errors.contains(&file.display().to_string()), "{toml}: {errors}");
    }
}

#[rocket::async_test]
async fn acl_user_keys_override_the_url_s_credentials() {
    logs::install();
    let user = format!("alice on >{PASSWORD} ~* &* +@all");
    let mut extra: Vec<&str> = vec!["--user"];
    extra.extend(user.split(' '));
    extra.extend(["--user", "default", "off"]);
    let redis = RedisServer::start_with(extra.iter().map(|s| s.to_string()).collect(), None);
    let wrong_url = redis.url().replace("redis://", "redis://mallory:wrong-password@");
    let toml = revocation_toml(&[
        key("url", &wrong_url),
        key("username", "alice"),
        key("password", PASSWORD),
    ]);
    revocation_propagates(&toml).await;
    // Without the keys, the URL's wrong credentials are refused.
    let toml = revocation_toml(&[key("url", &wrong_url)]);
    let server = instance(&toml).await;
    assert!(!caught_up(&server).await);
    server.stop().await;
    let log = logs::all_logged();
    for secret in [PASSWORD, "wrong-password"] {
        assert!(!log.contains(secret), "a credential in the log:\n{log}");
    }
}

#[rocket::async_test]
async fn the_password_comes_from_rocket_wristband_session_and_not_from_a_release_file() {
    // From the environment, as the crate's other secrets: merged into the file's table. The
    // test runs in a child process started with the variable.
    let variable = format!("{{revocation={{password=\"{PASSWORD}\"}}}}");
    if !child_env::in_child(
        "the_password_comes_from_rocket_wristband_session_and_not_from_a_release_file",
        &[("ROCKET_WRISTBAND_SESSION", &variable)],
        &[],
    ) {
        return;
    }
    logs::install();
    let redis = RedisServer::start_with(vec!["--requirepass".into(), PASSWORD.into()], None);
    let toml = revocation_toml(&[key("url", redis.url())]);
    let figment = figment(&toml, "debug").merge(Env::prefixed("ROCKET_").global());
    let server = Server::start(app(figment)).await;
    until_caught_up(&server, Duration::from_secs(5)).await;
    server.stop().await;

    // In `release`, a password read from a file aborts launch, naming the key.
    for name in ["password", "sentinel_password"] {
        logs::install();
        let dir = std::env::temp_dir().join(format!("wrs-release-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("Rocket.toml");
        let mut keys = vec![key(name, PASSWORD)];
        if name == "password" {
            keys.push(key("url", redis.url()));
        } else {
            keys.push(key("sentinels", ["redis://127.0.0.1:1"]));
            keys.push(key("sentinel_master", "mymaster"));
        }
        std::fs::write(&file, revocation_toml(&keys)).unwrap();
        let figment = Figment::from(rocket::Config::default())
            .merge(Toml::file(&file).nested())
            .merge(("wristband_session.secrets", SECRET))
            .select("release");
        let result = app(figment).ignite().await;
        let _ = std::fs::remove_dir_all(&dir);
        let err = result.err().unwrap_or_else(|| panic!("{name} from a file aborts launch"));
        let _ = err.kind();
        let errors = logs::logged(Some(log::Level::Error)).join("\n");
        assert!(errors.contains(&format!("revocation.{name}")), "{errors}");
        assert!(!errors.contains(PASSWORD), "{errors}");
    }
}

#[rocket::async_test]
async fn sentinel_credentials_are_separate_from_the_master_s() {
    logs::install();
    // A password-protected master behind open sentinels: `password` only.
    let setup = Setup { master_password: Some(PASSWORD.into()), ..Setup::default() };
    let cluster = SentinelCluster::start_with("protected-master", setup);
    let toml = revocation_toml(&[
        key("sentinels", cluster.sentinel_urls()),
        key("sentinel_master", cluster.name()),
        key("password", PASSWORD),
    ]);
    revocation_propagates(&toml).await;
    drop(cluster);

    // Protected sentinels in front of an open master: `sentinel_password` only.
    let setup = Setup { sentinel_password: Some(SENTINEL_PASSWORD.into()), ..Setup::default() };
    let cluster = SentinelCluster::start_with("protected-sentinels", setup);
    let toml = revocation_toml(&[
        key("sentinels", cluster.sentinel_urls()),
        key("sentinel_master", cluster.name()),
        key("sentinel_username", "default"),
        key("sentinel_password", SENTINEL_PASSWORD),
    ]);
    revocation_propagates(&toml).await;
    let log = logs::all_logged();
    for secret in [PASSWORD, SENTINEL_PASSWORD] {
        assert!(!log.contains(secret), "a credential in the log:\n{log}");
    }
}

#[rocket::async_test]
async fn revocations_flow_again_after_a_sentinel_failover_over_tls() {
    logs::install();
    let ca = TestCa::new("sentinel-ca");
    let setup = Setup { tls: Some(&ca), ..Setup::default() };
    let mut cluster = SentinelCluster::start_with("tlsmaster", setup);
    let toml = revocation_toml(&[
        key("sentinels", cluster.sentinel_urls()),
        key("sentinel_master", cluster.name()),
        key("tls_ca_file", ca.cert()),
    ]);
    let a = instance(&toml).await;
    let b = instance(&toml).await;
    for server in [&a, &b] {
        until_caught_up(server, Duration::from_secs(10)).await;
    }
    let first = sign_in(&a, "u1").await;
    client().post(a.url("/revoke")).header(COOKIE, &first).send().await.unwrap();
    assert!(revoked_within(&b, &first, Duration::from_secs(1)).await, "before the failover");

    let old_port = cluster.master_port_by_sentinels().expect("the sentinels name a master");
    cluster.kill_master();
    let killed = Instant::now();
    loop {
        assert!(killed.elapsed() < Duration::from_secs(30), "no revocation propagated");
        let cookie = sign_in(&a, "during").await;
        client().post(a.url("/revoke")).header(COOKIE, &cookie).send().await.unwrap();
        if revoked_within(&b, &cookie, Duration::from_millis(150)).await {
            break;
        }
    }
    eprintln!(
        "over TLS, revocations flowed again {:?} after the master was killed",
        killed.elapsed()
    );
    let new_port = cluster.master_port_by_sentinels();
    assert_eq!(new_port, Some(cluster.replica_port()), "the replica (its TLS port) was promoted");
    assert_ne!(new_port, Some(old_port));
    for server in [&a, &b] {
        until_caught_up(server, Duration::from_secs(10)).await;
    }
    let after = sign_in(&b, "u2").await;
    client().post(b.url("/revoke")).header(COOKIE, &after).send().await.unwrap();
    assert!(revoked_within(&a, &after, Duration::from_secs(1)).await, "after the failover");
    a.stop().await;
    b.stop().await;
}

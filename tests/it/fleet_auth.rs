#![cfg(feature = "fake-wristband")]
//! The sign-in secrets across a fleet (cargo feature `auth`): two instances of one app, each
//! its own Rocket on its own port of 127.0.0.1, configured from `wristband_session` and
//! `wristband_auth` TOML tables, against one `FakeWristband`. A browser is a `reqwest` client
//! with a cookie store; cookies ignore ports, so a cookie one instance sets is sent to the
//! other, as behind a load balancer (see `tests/it/fleet.rs`). The callback URL registered with
//! the fake stands for the load balancer: the test sends each callback to the instance it
//! chooses.
//!
//! - `login_state_secret` is one string: a login started on an instance with the old one and
//!   called back on an instance with the new one is answered `invalid_login_state` (the app
//!   sends the user to log in again); the second login completes; sessions are not affected.
//! - Derived (no `login_state_secret`): it follows the session's **first** secret, so steps 1
//!   and 2 of a session rotation keep logins in flight working, and step 3 does not while the
//!   instances differ.
//! - `client_secret`: an instance whose secret the fake does not accept fails each callback
//!   with a 500 and writes no session (the user's session is untouched); a user whose access
//!   token needs a refresh on it gets 401 there, but stays signed in (Wristband's 401
//!   `invalid_client` is about the instance, not the user's refresh token), and the next
//!   request on a healthy instance refreshes.
//!
//! Run with `--nocapture` to see the counts.

use crate::support::server;

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::cookie::Jar;
use reqwest::header::SET_COOKIE;
use reqwest::{StatusCode, Url};
use rocket::figment::providers::{Format, Toml};
use rocket::figment::Figment;
use rocket::serde::json::Json;
use serde_json::{json, Value};
use server::Server;
use wristband_rocket_session::testing::{Endpoint, FakeWristband};
use wristband_rocket_session::{
    AuthenticatedSession, CallbackResult, Session, Wristband, WristbandAuth, WristbandError,
    WristbandSession,
};

const OLD: &str = "fleet-old-secret-0123456789-abcdefghijklmn";
const NEW: &str = "fleet-new-secret-0123456789-opqrstuvwxyzAB";
const LOGIN_STATE_OLD: &str = "fleet-login-state-old-0123456789-abcdefgh";
const LOGIN_STATE_NEW: &str = "fleet-login-state-new-0123456789-ijklmnop";
/// A client secret the fake Wristband does not accept (one not yet, or no longer, valid).
const UNKNOWN_CLIENT_SECRET: &str = "a-client-secret-wristband-does-not-accept";

/// The callback as JSON: `{"completed": <user id>}` (and the session written) or
/// `{"reason": <RedirectReason>}`; Wristband's errors as `WristbandError` answers.
#[get("/t/callback")]
async fn json_callback(
    wristband: Wristband<'_>,
    session: Session<'_>,
) -> Result<Json<Value>, WristbandError> {
    Ok(Json(match wristband.callback().await? {
        CallbackResult::Completed(data) => {
            session.from_callback(&data, None)?;
            json!({ "completed": data.userinfo.user_id })
        }
        CallbackResult::RedirectRequired { reason, .. } => json!({ "reason": reason }),
    }))
}

#[get("/me")]
fn me(session: AuthenticatedSession<'_>) -> String {
    session.user_id()
}

/// One instance's configuration, as an operator would write it.
struct Instance<'a> {
    secrets: &'a [&'a str],
    login_state_secret: Option<&'a str>,
    client_secret: &'a str,
}

fn toml(fake: &FakeWristband, instance: &Instance<'_>) -> String {
    let secrets: Vec<String> = instance.secrets.iter().map(|s| format!("{s:?}")).collect();
    let mut toml = format!(
        "[default.wristband_session]\n\
         secrets = [{}]\n\
         secure = false\n\
         \n\
         [default.wristband_auth]\n\
         client_id = {:?}\n\
         client_secret = {:?}\n\
         wristband_application_vanity_domain = {:?}\n\
         wristband_scheme = \"http\"\n\
         dangerously_disable_secure_cookies = true\n",
        secrets.join(", "),
        fake.client_id(),
        instance.client_secret,
        fake.vanity_domain(),
    );
    if let Some(secret) = instance.login_state_secret {
        toml.push_str(&format!("login_state_secret = {secret:?}\n"));
    }
    toml
}

async fn start(fake: &FakeWristband, instance: Instance<'_>) -> Server {
    let figment = Figment::from(rocket::Config::default())
        .merge(Toml::string(&toml(fake, &instance)).nested());
    let rocket = rocket::custom(figment)
        .attach(WristbandSession::fairing())
        .attach(WristbandAuth::fairing())
        .mount("/auth", WristbandAuth::routes())
        .mount("/", routes![json_callback, me]);
    Server::start(rocket).await
}

/// The load balancer's host: every instance sees it in `Host`, as behind a real one, so a
/// login is not first sent to `login_url`'s host.
const LB_HOST: &str = "127.0.0.1:9";

/// The fake Wristband, with the fleet's (load balancer's) URLs registered.
async fn fake() -> FakeWristband {
    let fake = FakeWristband::start().await;
    fake.set_app_urls("http://127.0.0.1:9/auth/login", "http://127.0.0.1:9/t/callback");
    fake
}

/// A browser: one cookie store for every instance (127.0.0.1) and the fake's tenant host.
struct Browser {
    client: reqwest::Client,
}

impl Browser {
    fn new(fake: &FakeWristband) -> Browser {
        let jar = Arc::new(Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar)
            .redirect(reqwest::redirect::Policy::none())
            .resolve("acme.localhost", SocketAddr::from(([127, 0, 0, 1], fake.port())))
            .build()
            .unwrap();
        Browser { client }
    }

    /// Starts a login on `base` and signs in at the fake: the callback's query string, as
    /// Wristband sends the browser back.
    async fn login(&self, base: &str) -> String {
        let resp = self
            .client
            .get(format!("{base}/auth/login?tenant_name=acme"))
            .header("host", LB_HOST)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::FOUND, "login on {base}");
        let authorize = resp.headers()["location"].to_str().unwrap().to_string();
        let resp = self.client.get(&authorize).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::FOUND, "the fake approves");
        let back = Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
        back.query().unwrap().to_string()
    }

    /// The callback on `base`: status, JSON body, and whether a session cookie was written.
    async fn callback(&self, base: &str, query: &str) -> (StatusCode, Value, bool) {
        let resp = self
            .client
            .get(format!("{base}/t/callback?{query}"))
            .header("host", LB_HOST)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let wrote_session = resp
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .any(|h| h.to_str().unwrap().starts_with("session="));
        (status, resp.json().await.unwrap(), wrote_session)
    }

    /// A whole sign-in: login on `login_on`, callback on `callback_on`, which must complete.
    async fn sign_in(&self, login_on: &str, callback_on: &str) {
        let query = self.login(login_on).await;
        assert_eq!(self.callback(callback_on, &query).await, completed());
    }

    /// `/me` on `base`: 200 with the user, or 401.
    async fn me(&self, base: &str) -> StatusCode {
        let resp =
            self.client.get(format!("{base}/me")).header("host", LB_HOST).send().await.unwrap();
        let status = resp.status();
        if status == StatusCode::OK {
            assert_eq!(resp.text().await.unwrap(), "fake-user-1");
        }
        status
    }
}

fn completed() -> (StatusCode, Value, bool) {
    (StatusCode::OK, json!({ "completed": "fake-user-1" }), true)
}

fn invalid_login_state() -> (StatusCode, Value, bool) {
    (StatusCode::OK, json!({ "reason": "invalid_login_state" }), false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_started_on_one_instance_completes_on_the_other() {
    let fake = fake().await;
    let config = || Instance {
        secrets: &[OLD],
        login_state_secret: Some(LOGIN_STATE_OLD),
        client_secret: fake.client_secret(),
    };
    let (a, b) = (start(&fake, config()).await, start(&fake, config()).await);
    let browser = Browser::new(&fake);
    browser.sign_in(&a.base, &b.base).await;
    assert_eq!(
        (browser.me(&a.base).await, browser.me(&b.base).await),
        (StatusCode::OK, StatusCode::OK)
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_login_state_secret_restarts_logins_in_flight_once() {
    let fake = fake().await;
    let with = |login_state| Instance {
        secrets: &[OLD],
        login_state_secret: Some(login_state),
        client_secret: fake.client_secret(),
    };
    // Before: both on the old login-state secret; ada signs in.
    let a = start(&fake, with(LOGIN_STATE_OLD)).await;
    let ada = Browser::new(&fake);
    ada.sign_in(&a.base, &a.base).await;

    // B comes up with the new one while A still has the old. Bob's login started on A…
    let b = start(&fake, with(LOGIN_STATE_NEW)).await;
    let bob = Browser::new(&fake);
    let query = bob.login(&a.base).await;
    // …and its callback reaches B: refused, nothing written; the app sends him to log in again.
    assert_eq!(bob.callback(&b.base, &query).await, invalid_login_state());
    assert_eq!(bob.me(&b.base).await, StatusCode::UNAUTHORIZED);
    let restarted = 1;
    // His second login completes (started and called back on B).
    bob.sign_in(&b.base, &b.base).await;
    // Signed-in users never notice: sessions are not sealed with the login-state secret.
    for base in [&a.base, &b.base] {
        assert_eq!(ada.me(base).await, StatusCode::OK);
        assert_eq!(bob.me(base).await, StatusCode::OK);
    }

    // A restarted with the new secret: logins cross instances again.
    a.stop().await;
    let a = start(&fake, with(LOGIN_STATE_NEW)).await;
    let cyd = Browser::new(&fake);
    cyd.sign_in(&b.base, &a.base).await;
    assert_eq!(ada.me(&a.base).await, StatusCode::OK);
    println!(
        "login_state_secret rotation: {restarted} login in flight restarted once, then completed; \
         0 of 2 signed-in users signed out; a login crossing instances after the switch completed"
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_derived_login_state_secret_changes_at_step_three_of_a_session_rotation() {
    let fake = fake().await;
    let with = |secrets| Instance {
        secrets,
        login_state_secret: None,
        client_secret: fake.client_secret(),
    };
    let ada = Browser::new(&fake);

    // Steps 1 and 2 (A on [old], B on [old, new]): same first secret, logins cross.
    let a1 = start(&fake, with(&[OLD])).await;
    let b2 = start(&fake, with(&[OLD, NEW])).await;
    ada.sign_in(&a1.base, &b2.base).await;
    let ben = Browser::new(&fake);
    let query = ben.login(&b2.base).await;
    let crossed_step_2 = ben.callback(&a1.base, &query).await;
    assert_eq!(crossed_step_2, completed());

    // Step 3 on A only (A on [new, old], B on [old, new]): another first secret, so another
    // derived login-state secret; a login crossing them is refused, either way.
    let a3 = start(&fake, with(&[NEW, OLD])).await;
    let bob = Browser::new(&fake);
    let query = bob.login(&b2.base).await;
    assert_eq!(bob.callback(&a3.base, &query).await, invalid_login_state());
    let query = bob.login(&a3.base).await;
    assert_eq!(bob.callback(&b2.base, &query).await, invalid_login_state());
    // A login that stays on one instance completes; the signed-in user is never signed out.
    bob.sign_in(&a3.base, &a3.base).await;
    for base in [&a3.base, &b2.base] {
        assert_eq!(ada.me(base).await, StatusCode::OK);
        assert_eq!(bob.me(base).await, StatusCode::OK);
    }

    // Step 3 everywhere: logins cross again.
    let b3 = start(&fake, with(&[NEW, OLD])).await;
    Browser::new(&fake).sign_in(&a3.base, &b3.base).await;
    println!(
        "derived login_state_secret: a login crossing steps 1 and 2 completed; crossing steps 2 \
         and 3 refused both ways (2 of 2); after step 3 everywhere it completed; 0 signed-in \
         users signed out"
    );
    for server in [a1, b2, a3, b3] {
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_with_a_client_secret_wristband_does_not_accept() {
    let fake = fake().await;
    let with = |client_secret| Instance {
        secrets: &[OLD],
        login_state_secret: Some(LOGIN_STATE_OLD),
        client_secret,
    };
    let a = start(&fake, with(fake.client_secret())).await;
    let b = start(&fake, with(UNKNOWN_CLIENT_SECRET)).await;

    // Ada is signed in (on A). A new login of hers called back on B: 500, nothing written.
    let ada = Browser::new(&fake);
    ada.sign_in(&a.base, &a.base).await;
    let tokens_before = fake.calls(Endpoint::Token);
    let query = ada.login(&a.base).await;
    let (status, body, wrote_session) = ada.callback(&b.base, &query).await;
    assert_eq!(
        (status, body, wrote_session),
        (StatusCode::INTERNAL_SERVER_ERROR, json!({ "error": "unexpected_error" }), false)
    );
    assert_eq!(fake.calls(Endpoint::Token), tokens_before + 1, "a 401 is not retried");
    // Her session is untouched, on both instances (its access token needs no refresh).
    assert_eq!((ada.me(&a.base).await, ada.me(&b.base).await), (StatusCode::OK, StatusCode::OK));
    // Her next login, called back on A, completes.
    ada.sign_in(&a.base, &a.base).await;

    // Bob's access token needs a refresh on every request (it expires inside the 60 s buffer).
    fake.set_expires_in(30);
    let bob = Browser::new(&fake);
    bob.sign_in(&a.base, &a.base).await;
    assert_eq!(bob.me(&a.base).await, StatusCode::OK, "A refreshes with the accepted secret");
    // On B, Wristband refuses the client (401 `invalid_client`): 401 there, session kept.
    assert_eq!(bob.me(&b.base).await, StatusCode::UNAUTHORIZED);
    assert_eq!(bob.me(&a.base).await, StatusCode::OK, "still signed in; A refreshes");
    println!(
        "client_secret not accepted on B: 1 callback failed with 500 and wrote no session (the \
         user stayed signed in); 1 user whose token needed a refresh on B got 401 there and \
         stayed signed in"
    );
    a.stop().await;
    b.stop().await;
}

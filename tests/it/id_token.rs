#![cfg(feature = "auth")]
//! The ID-token check at the callback (`DESIGN-auth.md` §H; OIDC Core §3.1.3.7), against the
//! independent Wristband stand-in of `tests/support/standin.rs`: an ID token replayed from an
//! earlier login (wrong `nonce`), or with a wrong `aud`, an `azp` that is not this client (or
//! none with several audiences), a wrong `iss`, an `exp` past the leeway, an `iat` in the future
//! or more than 10 minutes old (each beyond the leeway), a signature that does not cover it, `alg: none`, `typ: at+JWT`, an unknown `kid`, or
//! missing while `openid` was asked for, completes no session: the standard `/auth/callback`
//! route redirects to the app's login URL for the tenant, writes no session cookie, never
//! answers 5xx, and `GET /auth/session` stays 401; the code was exchanged but userinfo never
//! called; and the callback's reason is `invalid_id_token`. The controls complete.

use crate::support::standin;

use reqwest::StatusCode;
use serde_json::{json, Map, Value};
use standin::app::{self, location, writes_session, Browser};
use standin::server::Server;
use standin::{IdTokenPlan, Signing, StandIn, CLIENT_ID, USER_ID};
use wristband_rocket_session::AuthOptions;

fn claims(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// One test's stand-in and app, and the cases that went wrong so far: every case of a test
/// runs and is reported, so that a check that is missing shows each case it lets through.
struct Cases {
    standin: StandIn,
    server: Server,
    failures: Vec<String>,
}

impl Cases {
    /// A stand-in and an app (options changed by `configure`).
    async fn start(configure: impl FnOnce(&mut AuthOptions)) -> Cases {
        let standin = StandIn::start().await;
        let server = app::start(&standin, configure).await;
        Cases { standin, server, failures: Vec::new() }
    }

    fn expect(&mut self, case: &str, ok: bool, what: impl std::fmt::Display) {
        if !ok {
            self.failures.push(format!("{case}: {what}"));
        }
    }

    /// A login whose token answer carries the ID token `plan` makes (made once the
    /// stand-in is up). Through `/auth/callback` it completes no session: a redirect (never a
    /// 5xx) to the app's login URL for the tenant, no session cookie, the code exchanged but
    /// userinfo not called, `/auth/session` 401. Through `/t/callback` (a second login) its
    /// reason is `invalid_id_token`.
    async fn refused(&mut self, case: &str, plan: impl Fn(&StandIn) -> IdTokenPlan) {
        self.refused_after(case, plan, 0).await
    }

    /// [`refused`](Self::refused), with userinfo called `userinfo_calls` times first (the ID
    /// token's `sub` is compared with userinfo's).
    async fn refused_after(
        &mut self,
        case: &str,
        plan: impl Fn(&StandIn) -> IdTokenPlan,
        userinfo_calls: usize,
    ) {
        let browser = Browser::new(&self.standin, &self.server);
        self.standin.next_id_token(plan(&self.standin));
        let query = browser.login().await;
        let (tokens, userinfos) = (self.standin.calls("token"), self.standin.calls("userinfo"));
        let resp = browser.get(&format!("/auth/callback?{query}")).await;
        let status = resp.status();
        self.expect(case, status == StatusCode::FOUND, format!("callback answered {status}"));
        let to = location(&resp);
        let login = self.server.url("/auth/login?tenant_name=acme");
        self.expect(case, to == login, format!("callback redirected to {to:?}, not {login:?}"));
        self.expect(case, !writes_session(&resp), "callback wrote a session cookie");
        let exchanged = self.standin.calls("token") == tokens + 1;
        self.expect(case, exchanged, "the code was not exchanged");
        let userinfo = self.standin.calls("userinfo") - userinfos;
        let called = format!("userinfo called {userinfo} time(s), not {userinfo_calls}");
        self.expect(case, userinfo == userinfo_calls, called);
        let session = browser.session().await;
        self.expect(case, session.is_err(), format!("signed in: /auth/session {session:?}"));

        self.standin.next_id_token(plan(&self.standin));
        let query = browser.login().await;
        let resp = browser.get(&format!("/t/callback?{query}")).await;
        let body: Value = resp.json().await.unwrap_or_default();
        let reason = &body["reason"];
        self.expect(case, reason == "invalid_id_token", format!("/t/callback answered {body}"));
    }

    /// A login that completes: through `/auth/callback` (session written, `/auth/session`
    /// 200), then through `/t/callback` (another browser).
    async fn completes(&mut self, case: &str, plan: impl Fn(&StandIn) -> IdTokenPlan) {
        let browser = Browser::new(&self.standin, &self.server);
        self.standin.next_id_token(plan(&self.standin));
        let query = browser.login().await;
        let resp = browser.get(&format!("/auth/callback?{query}")).await;
        let (status, to) = (resp.status(), location(&resp));
        self.expect(case, status == StatusCode::FOUND && to == "/", format!("{status} to {to}"));
        self.expect(case, writes_session(&resp), "no session cookie");
        let session = browser.session().await;
        let user = session.as_ref().ok().map(|s| s["userId"].clone());
        self.expect(case, user == Some(json!(USER_ID)), format!("/auth/session {session:?}"));

        let other = Browser::new(&self.standin, &self.server);
        self.standin.next_id_token(plan(&self.standin));
        let query = other.login().await;
        let resp = other.get(&format!("/t/callback?{query}")).await;
        let body: Value = resp.json().await.unwrap_or_default();
        self.expect(case, body == json!({ "completed": USER_ID }), format!("/t/callback {body}"));
    }

    /// Stops both servers; panics listing every case that went wrong.
    async fn finish(self) {
        self.server.stop().await;
        self.standin.stop().await;
        assert!(self.failures.is_empty(), "\n{}", self.failures.join("\n"));
    }
}

/// An otherwise correct ID token with `over` put over its claims.
fn over(claims_over: Value) -> IdTokenPlan {
    IdTokenPlan { claims: claims(claims_over), ..IdTokenPlan::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_token_replayed_from_an_earlier_login_is_refused() {
    let mut cases = Cases::start(|_| {}).await;
    // An earlier login (another browser) completes with its ID token...
    cases.completes("the earlier login", |_| IdTokenPlan::default()).await;
    let earlier = cases.standin.id_tokens()[0].clone();
    // ...which is played into a later one: signature, issuer, audience and expiry all correct,
    // the nonce the earlier login's.
    let replay = |_: &StandIn| IdTokenPlan { verbatim: Some(earlier.clone()), ..over(json!({})) };
    cases.refused("replayed ID token", replay).await;
    cases.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_token_with_another_nonce_or_none_is_refused() {
    let mut cases = Cases::start(|_| {}).await;
    cases.refused("another nonce", |_| over(json!({ "nonce": "not-this-login-s-nonce" }))).await;
    cases.refused("no nonce", |_| over(json!({ "nonce": null }))).await;
    cases.refused("empty nonce", |_| over(json!({ "nonce": "" }))).await;
    cases.refused("nonce of another type", |_| over(json!({ "nonce": 42 }))).await;
    cases.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_token_for_another_audience_is_refused() {
    let mut cases = Cases::start(|_| {}).await;
    cases.refused("aud another client", |_| over(json!({ "aud": "another-client" }))).await;
    cases.refused("aud [another client]", |_| over(json!({ "aud": ["another-client"] }))).await;
    cases.refused("no aud", |_| over(json!({ "aud": null }))).await;
    cases.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_token_from_another_issuer_is_refused() {
    let mut cases = Cases::start(|_| {}).await;
    // The same server under another name and under another scheme; another host; none.
    let by_ip = |s: &StandIn| over(json!({ "iss": format!("http://127.0.0.1:{}", s.port()) }));
    cases.refused("iss by IP", by_ip).await;
    let https = |s: &StandIn| over(json!({ "iss": format!("https://localhost:{}", s.port()) }));
    cases.refused("iss https", https).await;
    cases.refused("iss another host", |_| over(json!({ "iss": "http://evil.example" }))).await;
    cases.refused("no iss", |_| over(json!({ "iss": null }))).await;
    cases.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_token_expired_beyond_the_leeway_is_refused() {
    let mut cases = Cases::start(|_| {}).await;
    // Expired 600 s ago: far beyond the 60 s leeway, whatever the second.
    let expired = |_: &StandIn| {
        let t = now() - 3600;
        over(json!({ "iat": t, "auth_time": t, "exp": t + 3000 }))
    };
    cases.refused("expired", expired).await;
    cases.refused("no exp", |_| over(json!({ "exp": null }))).await;
    cases.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_token_whose_signature_does_not_cover_it_is_refused() {
    let mut cases = Cases::start(|_| {}).await;
    // Signed with the stand-in's key (the kid in its JWKS), then the payload changed: another
    // user, everything else as the login expects.
    let tampered = |_: &StandIn| IdTokenPlan {
        signing: Signing::Tampered(claims(json!({ "sub": "someone-else" }))),
        ..IdTokenPlan::default()
    };
    cases.refused("payload changed after signing", tampered).await;
    // Signed with another RSA key, naming the stand-in's kid.
    let other_key = |_: &StandIn| IdTokenPlan {
        signing: Signing::Key(include_str!("../keys/test-only-rsa-1024.pem")),
        ..IdTokenPlan::default()
    };
    cases.refused("signed with another key", other_key).await;
    // Not signed at all.
    let unsigned = |_: &StandIn| IdTokenPlan { signing: Signing::Unsigned, ..over(json!({})) };
    cases.refused("alg none", unsigned).await;
    cases.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_access_token_typed_id_token_is_refused() {
    let mut cases = Cases::start(|_| {}).await;
    // Every claim an ID token needs, correctly signed, but typed as an access token.
    for typ in ["at+JWT", "application/at+jwt"] {
        let typed = |_: &StandIn| IdTokenPlan { typ: Some(typ.into()), ..over(json!({})) };
        cases.refused(&format!("typ {typ}"), typed).await;
    }
    cases.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_token_naming_an_unknown_key_is_refused() {
    let mut cases = Cases::start(|_| {}).await;
    let unknown = |_: &StandIn| IdTokenPlan { kid: Some("no-such-key".into()), ..over(json!({})) };
    cases.refused("unknown kid", unknown).await;
    let nameless = |_: &StandIn| IdTokenPlan { kid: Some(String::new()), ..over(json!({})) };
    cases.refused("empty kid", nameless).await;
    cases.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_id_token_is_refused_when_openid_was_asked_for() {
    let mut cases = Cases::start(|_| {}).await;
    cases.refused("no id_token", |_| IdTokenPlan { omit: true, ..IdTokenPlan::default() }).await;
    assert!(cases.standin.id_tokens().is_empty(), "the stand-in sent none");
    cases.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_id_token_completes() {
    let mut cases = Cases::start(|_| {}).await;
    cases.completes("correct", |_| IdTokenPlan::default()).await;
    cases.completes("aud as an array", |_| over(json!({ "aud": [CLIENT_ID] }))).await;
    // Expired 30 s ago: within the 60 s leeway.
    let within_leeway = |_: &StandIn| {
        let t = now() - 600;
        over(json!({ "iat": t, "auth_time": t, "exp": t + 570 }))
    };
    cases.completes("expired within the leeway", within_leeway).await;
    assert_eq!(cases.standin.id_tokens().len(), 6, "two logins a case, each with an ID token");
    cases.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_openid_a_missing_id_token_completes() {
    let mut cases = Cases::start(|options| {
        options.scopes = vec!["offline_access".into(), "email".into()];
    })
    .await;
    // The stand-in, as Wristband, issues an ID token only for `openid`.
    cases.completes("no openid, no id_token", |_| IdTokenPlan::default()).await;
    assert!(cases.standin.id_tokens().is_empty(), "no ID token was sent");
    assert_eq!(cases.standin.authorizations()[0].params["scope"], "offline_access email");
    cases.finish().await;
}

/// OIDC Core §5.3.2: the `sub` of the userinfo answer must be the ID token's: an ID token
/// about another user completes no login (userinfo is asked, then the two are compared).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_token_about_another_user_than_userinfo_s_is_refused() {
    let mut cases = Cases::start(|_| {}).await;
    let other = |_: &StandIn| over(json!({ "sub": "someone-else" }));
    cases.refused_after("sub differs from userinfo's", other, 1).await;
    cases.finish().await;
}

/// OIDC Core §3.1.3.7 (4, 5): an ID token for several audiences must name this client as its
/// authorized party (`azp`), and an `azp` present at all must be this client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_token_for_several_audiences_without_this_client_as_azp_is_refused() {
    let mut cases = Cases::start(|_| {}).await;
    let several = json!([CLIENT_ID, "another-client"]);
    cases.refused("several audiences, no azp", |_| over(json!({ "aud": several.clone() }))).await;
    let azp_other = |_: &StandIn| over(json!({ "aud": several.clone(), "azp": "another-client" }));
    cases.refused("several audiences, azp another client", azp_other).await;
    cases.refused("azp another client", |_| over(json!({ "azp": "another-client" }))).await;
    cases.refused("azp of another type", |_| over(json!({ "azp": 42 }))).await;
    // The controls: this client as `azp`, with one audience or several.
    let azp_this = |_: &StandIn| over(json!({ "aud": several.clone(), "azp": CLIENT_ID }));
    cases.completes("several audiences, azp this client", azp_this).await;
    cases.completes("one audience, azp this client", |_| over(json!({ "azp": CLIENT_ID }))).await;
    cases.finish().await;
}

/// An ID token issued in the future (beyond the 60 s leeway), or more than 10 minutes (plus
/// the leeway) before the callback, is refused, whatever its `exp`: Wristband issues it at the
/// token call that the callback itself makes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_token_issued_in_the_future_or_long_ago_is_refused() {
    let mut cases = Cases::start(|_| {}).await;
    let issued = |ago: i64| {
        move |_: &StandIn| {
            let t = now() - ago;
            over(json!({ "iat": t, "auth_time": t, "exp": now() + 3600 }))
        }
    };
    cases.refused("iat 5 minutes ahead", issued(-300)).await;
    cases.refused("iat 2 minutes ahead", issued(-120)).await;
    cases.refused("iat 12 minutes ago", issued(720)).await;
    cases.refused("iat a day ago", issued(86_400)).await;
    cases.refused("iat of another type", |_| over(json!({ "iat": "yesterday" }))).await;
    // The controls: within the bounds.
    cases.completes("iat 30 s ahead (within the leeway)", issued(-30)).await;
    cases.completes("iat 9 minutes ago", issued(540)).await;
    cases.completes("no iat", |_| over(json!({ "iat": null }))).await;
    cases.finish().await;
}

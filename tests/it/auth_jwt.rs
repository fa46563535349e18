//! `WristbandJwt` and `AuthenticatedUser` (DESIGN-auth §E) against `FakeWristband`: RS256
//! only, issuer, expiry with leeway, JWKS cached and re-fetched (single flight, at most 10 a
//! minute) on an unknown key id, small keys refused, only the `Authorization` header read, no
//! cookie written; the strategies of `auth_strategies` in order, the last one deciding.
#![cfg(feature = "fake-wristband")]

use crate::support::server;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header as JwtHeader};
use proptest::prelude::*;
use rocket::http::{Header, Status};
use rocket::local::asynchronous::Client;
use rocket::serde::json::Json;
use rocket::State;
use serde_json::{json, Value};
use wristband_rocket_session::testing::{callback_data, Endpoint, FakeWristband, LocalRequestExt};
use wristband_rocket_session::{
    AuthOptions, AuthStrategy, AuthenticatedUser, SessionOptions, WristbandAuth, WristbandJwt,
    WristbandScheme, WristbandSession,
};

const SECRET: &str = "jwt-test-session-secret-0123456789abcdefghij";

#[get("/api/jwt")]
fn jwt_route(jwt: WristbandJwt<'_>) -> Json<Value> {
    Json(json!({ "user": jwt.user_id(), "tenant": jwt.tenant_id(), "len": jwt.token().len(),
                 "app": jwt.claims().get("app_id") }))
}

#[get("/api/user")]
fn user_route(user: AuthenticatedUser<'_>) -> String {
    describe_user(&user)
}

/// The same on a state-changing method, where the CSRF header is checked.
#[post("/api/user")]
fn user_post_route(user: AuthenticatedUser<'_>) -> String {
    describe_user(&user)
}

fn describe_user(user: &AuthenticatedUser<'_>) -> String {
    let how = match user {
        AuthenticatedUser::Session(_) => "session",
        AuthenticatedUser::Jwt(_) => "jwt",
        _ => "other",
    };
    format!("{}@{} via {how}", user.user_id(), user.tenant_id())
}

fn app(auth: AuthOptions, csrf: bool) -> rocket::Rocket<rocket::Build> {
    let session = SessionOptions {
        secrets: SECRET.into(),
        enable_csrf_protection: csrf,
        ..SessionOptions::default()
    };
    rocket::custom(rocket::Config::figment().merge(("log_level", "off")))
        .attach(WristbandSession::custom(session))
        .attach(WristbandAuth::custom(auth))
        .register("/", wristband_rocket_session::catchers())
        .mount("/", routes![jwt_route, user_route, user_post_route])
}

async fn client(auth: AuthOptions) -> Client {
    Client::untracked(app(auth, false)).await.expect("launches")
}

async fn status_with(client: &Client, authorization: &str) -> Status {
    client
        .get("/api/jwt")
        .header(Header::new("Authorization", authorization.to_string()))
        .dispatch()
        .await
        .status()
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

fn parts(token: &str) -> Vec<String> {
    token.split('.').map(str::to_string).collect()
}

fn payload(token: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts(token)[1]).unwrap()).unwrap()
}

fn header(token: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts(token)[0]).unwrap()).unwrap()
}

#[rocket::async_test]
async fn a_valid_bearer_token_authenticates_and_its_claims_are_read() {
    let fake = FakeWristband::start().await;
    let client = client(fake.auth_options()).await;
    let token = fake.issue_access_token("user-1", "tenant-1", 1800);
    let response = client
        .get("/api/jwt")
        .header(Header::new("Authorization", format!("Bearer {token}")))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Ok);
    assert!(response.headers().get("Set-Cookie").next().is_none(), "no cookie written");
    let body: Value = response.into_json().await.unwrap();
    assert_eq!(body["user"], "user-1");
    assert_eq!(body["tenant"], "tenant-1");
    assert_eq!(body["len"], token.len());
    assert_eq!(body["app"], fake.application_id());
    // The scheme in any case, one space before the token (spaces around the value are not
    // part of it); more spaces or a tab between scheme and token: refused (`bearer_token`).
    for form in [format!("bearer {token}"), format!("BEARER {token}  "), format!(" Bearer {token}")]
    {
        assert_eq!(status_with(&client, &form).await, Status::Ok, "{form:?}");
    }
    for form in [format!("BEARER   {token}"), format!("Bearer\t{token}")] {
        assert_eq!(status_with(&client, &form).await, Status::Unauthorized, "{form:?}");
    }
}

#[rocket::async_test]
async fn missing_or_malformed_authorization_is_401() {
    let fake = FakeWristband::start().await;
    let client = client(fake.auth_options()).await;
    assert_eq!(client.get("/api/jwt").dispatch().await.status(), Status::Unauthorized);
    let token = fake.issue_access_token("u", "t", 1800);
    // Remembered from its second verification on: the malformed forms below are refused all
    // the same.
    for _ in 0..2 {
        assert_eq!(status_with(&client, &format!("Bearer {token}")).await, Status::Ok);
    }
    for bad in [
        format!("Basic {token}"),
        format!("Bearer {token}\u{a0}extra"),
        format!("Bearer extra {token}"),
        token.clone(),
        "Bearer".to_string(),
        "Bearer ".to_string(),
        format!("Bearer {token} extra"),
        format!("Bearer {token}x"),
        "Bearer a.b.c".to_string(),
        "Bearer ...".to_string(),
    ] {
        assert_eq!(status_with(&client, &bad).await, Status::Unauthorized, "{bad:?}");
    }
    // Two Authorization headers: refused.
    let response = client
        .get("/api/jwt")
        .header(Header::new("Authorization", format!("Bearer {token}")))
        .header(Header::new("Authorization", format!("Bearer {token}")))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Unauthorized);
    // The header's name in any case is the same header: alone it is read, beside another
    // one it is the second of two.
    let lower = client
        .get("/api/jwt")
        .header(Header::new("authorization", format!("Bearer {token}")))
        .dispatch()
        .await;
    assert_eq!(lower.status(), Status::Ok);
    let two_cases = client
        .get("/api/jwt")
        .header(Header::new("AUTHORIZATION", format!("Bearer {token}")))
        .header(Header::new("authorization", "Bearer other"))
        .dispatch()
        .await;
    assert_eq!(two_cases.status(), Status::Unauthorized);
}

#[rocket::async_test]
async fn a_token_in_a_cookie_is_not_read() {
    let fake = FakeWristband::start().await;
    let client = client(fake.auth_options()).await;
    let token = fake.issue_access_token("u", "t", 1800);
    for name in ["Authorization", "access_token", "token", "jwt"] {
        let response = client.get("/api/jwt").cookie((name, token.clone())).dispatch().await;
        assert_eq!(response.status(), Status::Unauthorized, "cookie {name}");
    }
}

#[rocket::async_test]
async fn alg_none_and_hs256_are_refused() {
    let fake = FakeWristband::start().await;
    let client = client(fake.auth_options()).await;
    let good = fake.issue_access_token("u", "t", 1800);
    let kid = header(&good)["kid"].clone();
    let claims = payload(&good);

    // alg: none, with and without a signature part.
    // (An access token's `typ`, so that only the algorithm is wrong.)
    let none =
        format!("{}.{}", b64(&json!({ "alg": "none", "typ": "at+JWT", "kid": kid })), b64(&claims));
    for token in [format!("{none}."), format!("{none}.{}", parts(&good)[2])] {
        assert_eq!(status_with(&client, &format!("Bearer {token}")).await, Status::Unauthorized);
    }
    // HS256 signed with the RSA public key (as JWKS text and as the modulus) as the secret.
    let jwks: Value = reqwest::get(format!("{}/api/v1/oauth2/jwks", fake.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = &jwks["keys"][0];
    for secret in [key.to_string(), key["n"].as_str().unwrap().to_string()] {
        let mut header = JwtHeader::new(Algorithm::HS256);
        header.kid = kid.as_str().map(String::from);
        header.typ = Some("at+JWT".into());
        let token = encode(&header, &claims, &EncodingKey::from_secret(secret.as_bytes()).unwrap())
            .unwrap();
        assert_eq!(status_with(&client, &format!("Bearer {token}")).await, Status::Unauthorized);
    }
    // Control: the untouched token passes.
    assert_eq!(status_with(&client, &format!("Bearer {good}")).await, Status::Ok);
}

#[rocket::async_test]
async fn tampered_payload_or_signature_is_refused() {
    let fake = FakeWristband::start().await;
    let client = client(fake.auth_options()).await;
    let good = fake.issue_access_token("u", "t", 1800);
    let p = parts(&good);
    let mut claims = payload(&good);
    claims["sub"] = json!("admin");
    let forged_payload = format!("{}.{}.{}", p[0], b64(&claims), p[2]);
    let mut signature = URL_SAFE_NO_PAD.decode(&p[2]).unwrap();
    signature[10] ^= 1;
    let forged_signature = format!("{}.{}.{}", p[0], p[1], URL_SAFE_NO_PAD.encode(signature));
    for token in [forged_payload, forged_signature] {
        assert_eq!(status_with(&client, &format!("Bearer {token}")).await, Status::Unauthorized);
    }
}

#[rocket::async_test]
async fn expiry_is_checked_with_at_most_sixty_seconds_of_leeway() {
    let fake = FakeWristband::start().await;
    let client = client(fake.auth_options()).await;
    let expired = fake.issue_access_token("u", "t", -90);
    assert_eq!(status_with(&client, &format!("Bearer {expired}")).await, Status::Unauthorized);
    let just = fake.issue_access_token("u", "t", -20);
    assert_eq!(status_with(&client, &format!("Bearer {just}")).await, Status::Ok);
}

#[rocket::async_test]
async fn a_remembered_token_still_expires() {
    let fake = FakeWristband::start().await;
    let client = client(fake.auth_options()).await;
    // Expired 58 s ago: inside the 60 s leeway for one to two more seconds (whole seconds:
    // with -59 the window could shrink to nothing when the test started at a second's end).
    let token = fake.issue_access_token("u", "t", -58);
    for _ in 0..3 {
        assert_eq!(status_with(&client, &format!("Bearer {token}")).await, Status::Ok);
    }
    rocket::tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    assert_eq!(status_with(&client, &format!("Bearer {token}")).await, Status::Unauthorized);
}

#[rocket::async_test]
async fn remembered_tokens_are_forgotten_when_their_key_leaves_the_jwks() {
    let fake = FakeWristband::start().await;
    let client = client(fake.auth_options()).await;
    let old = fake.issue_access_token("u", "t", 1800);
    // Twice: remembered from its second verification on.
    for _ in 0..2 {
        assert_eq!(status_with(&client, &format!("Bearer {old}")).await, Status::Ok);
    }
    // Wristband withdraws the old key; a token with the new key makes this app fetch again.
    fake.rotate_signing_key();
    fake.retire_old_signing_keys();
    let new = fake.issue_access_token("u", "t", 1800);
    assert_eq!(status_with(&client, &format!("Bearer {new}")).await, Status::Ok);
    assert_eq!(fake.calls(Endpoint::Jwks), 2);
    // The old token verified before, but its key is gone: refused now.
    assert_eq!(status_with(&client, &format!("Bearer {old}")).await, Status::Unauthorized);
}

#[rocket::async_test]
async fn a_token_from_another_issuer_is_refused() {
    let fake = FakeWristband::start().await;
    // The same server under another name: the JWKS is fetched from it, but the issuer this app
    // expects is `http://127.0.0.1:<port>`, not the `http://localhost:<port>` in the token.
    let options = AuthOptions {
        wristband_application_vanity_domain: format!("127.0.0.1:{}", fake.port()),
        ..fake.auth_options()
    };
    let client = client(options).await;
    let token = fake.issue_access_token("u", "t", 1800);
    assert_eq!(status_with(&client, &format!("Bearer {token}")).await, Status::Unauthorized);
    assert_eq!(fake.calls(Endpoint::Jwks), 1, "the signature was checked, then the issuer");
}

#[rocket::async_test]
async fn the_jwks_is_fetched_once_and_again_after_key_rotation() {
    let fake = FakeWristband::start().await;
    let client = client(fake.auth_options()).await;
    for _ in 0..10 {
        let token = fake.issue_access_token("u", "t", 1800);
        assert_eq!(status_with(&client, &format!("Bearer {token}")).await, Status::Ok);
    }
    assert_eq!(fake.calls(Endpoint::Jwks), 1, "cached");
    fake.rotate_signing_key();
    let rotated = fake.issue_access_token("u", "t", 1800);
    // 20 concurrent requests with the new key id: one fetch between them.
    let requests: Vec<_> = (0..20)
        .map(|_| {
            client
                .get("/api/jwt")
                .header(Header::new("Authorization", format!("Bearer {rotated}")))
                .dispatch()
        })
        .collect();
    for response in rocket::futures::future::join_all(requests).await {
        assert_eq!(response.status(), Status::Ok);
    }
    assert_eq!(fake.calls(Endpoint::Jwks), 2, "one re-fetch for the new key id, shared");
}

/// The JWKS fetch budget (`jwks.rs`): 3 fetches, one more back every 8 s.
const FETCH_BURST: u64 = 3;
const FETCH_REFILL_SECS: u64 = 8;

#[rocket::async_test]
async fn unknown_key_ids_cause_at_most_ten_fetches_a_minute() {
    let fake = FakeWristband::start().await;
    let client = client(fake.auth_options()).await;
    let good = fake.issue_access_token("u", "t", 1800);
    let p = parts(&good);
    let mut head = header(&good);
    let started = std::time::Instant::now();
    for i in 0..100 {
        head["kid"] = json!(format!("unknown-{i}"));
        let token = format!("{}.{}.{}", b64(&head), p[1], p[2]);
        assert_eq!(status_with(&client, &format!("Bearer {token}")).await, Status::Unauthorized);
    }
    let elapsed = started.elapsed().as_secs();
    let fetches = fake.calls(Endpoint::Jwks) as u64;
    assert!((1..=10).contains(&fetches), "{fetches} JWKS fetches");
    // The budget: the burst, then one per refill interval that passed.
    let budget = FETCH_BURST + elapsed / FETCH_REFILL_SECS;
    assert!(fetches <= budget, "{fetches} JWKS fetches in {elapsed} s, budget {budget}");
    // The known key still works (from the cache, no fetch needed).
    assert_eq!(status_with(&client, &format!("Bearer {good}")).await, Status::Ok);
}

/// A tiny JWKS server holding one key of `pem`, and a token signed with it.
#[get("/api/v1/oauth2/jwks")]
fn small_jwks(jwks: &State<Value>) -> Json<Value> {
    Json(jwks.inner().clone())
}

async fn single_key_status(pem: &str) -> Status {
    let key = EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
    let mut jwk =
        serde_json::to_value(Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap()).unwrap();
    jwk["kid"] = json!("only");
    let jwks = json!({ "keys": [jwk] });
    let server = server::Server::start(
        rocket::custom(rocket::Config::figment().merge(("log_level", "off")))
            .manage(jwks)
            .mount("/", routes![small_jwks]),
    )
    .await;
    let vanity = server.base.trim_start_matches("http://").to_string();
    let options = AuthOptions {
        client_id: "c".into(),
        client_secret: "s".into(),
        wristband_application_vanity_domain: vanity,
        wristband_scheme: WristbandScheme::Http,
        auto_configure_enabled: false,
        login_url: Some("http://localhost/login".into()),
        redirect_uri: Some("http://localhost/callback".into()),
        ..AuthOptions::default()
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims =
        json!({ "iss": server.base, "sub": "u", "tnt_id": "t", "exp": now + 600, "iat": now });
    let mut header = JwtHeader::new(Algorithm::RS256);
    header.kid = Some("only".into());
    header.typ = Some("at+JWT".into());
    let token = encode(&header, &claims, &key).unwrap();
    let client = client(options).await;
    let status = status_with(&client, &format!("Bearer {token}")).await;
    server.stop().await;
    status
}

#[rocket::async_test]
async fn a_jwks_key_under_2048_bits_is_refused() {
    assert_eq!(
        single_key_status(include_str!("../keys/test-only-rsa-1024.pem")).await,
        Status::Unauthorized
    );
    // Control: the same setup with a 2048-bit key passes.
    assert_eq!(single_key_status(include_str!("../keys/test-only-rsa-2048.pem")).await, Status::Ok);
}

// ----- AuthenticatedUser ------------------------------------------------------------------------

fn with_strategies(fake: &FakeWristband, strategies: &[AuthStrategy]) -> AuthOptions {
    AuthOptions { auth_strategies: strategies.to_vec(), ..fake.auth_options() }
}

async fn user_status(
    client: &Client,
    session: bool,
    csrf_header: bool,
    bearer: Option<&str>,
) -> (Status, String) {
    // A POST: with CSRF protection on, the header is checked on state-changing methods only.
    let mut request = client.post("/api/user");
    if session && csrf_header {
        // `logged_in_as` also sends the matching CSRF header when CSRF is on.
        request = request.logged_in_as(&callback_data("su", "st"));
    } else if session {
        // A signed-in session with a CSRF token, sent with a wrong header.
        let data = json!({
            "isAuthenticated": true, "userId": "su", "tenantId": "st", "csrfToken": "ab".repeat(32)
        });
        let options = SessionOptions { secrets: SECRET.into(), ..SessionOptions::default() };
        let codec = wristband_rocket_session::SessionCodec::new(&options).unwrap();
        let value = codec.seal(data.as_object().unwrap()).unwrap();
        request = request.cookie(("session", value)).header(Header::new("X-CSRF-TOKEN", "wrong"));
    }
    if let Some(token) = bearer {
        request = request.header(Header::new("Authorization", format!("Bearer {token}")));
    }
    let response = request.dispatch().await;
    (response.status(), response.into_string().await.unwrap_or_default())
}

#[rocket::async_test]
async fn authenticated_user_tries_the_strategies_in_order() {
    use AuthStrategy::{Jwt, Session};
    let fake = FakeWristband::start().await;
    let token = fake.issue_access_token("ju", "jt", 1800);

    // Default: session only; a bearer token alone is not enough.
    let session_only = client(fake.auth_options()).await;
    assert_eq!(user_status(&session_only, false, true, Some(&token)).await.0, Status::Unauthorized);
    assert_eq!(user_status(&session_only, true, true, None).await.1, "su@st via session");

    let both = client(with_strategies(&fake, &[Session, Jwt])).await;
    assert_eq!(user_status(&both, true, true, Some(&token)).await.1, "su@st via session");
    assert_eq!(user_status(&both, false, true, Some(&token)).await.1, "ju@jt via jwt");
    assert_eq!(user_status(&both, false, true, None).await.0, Status::Unauthorized);

    let jwt_first = client(with_strategies(&fake, &[Jwt, Session])).await;
    assert_eq!(user_status(&jwt_first, true, true, Some(&token)).await.1, "ju@jt via jwt");
    assert_eq!(user_status(&jwt_first, true, true, None).await.1, "su@st via session");

    let jwt_only = client(with_strategies(&fake, &[Jwt])).await;
    assert_eq!(user_status(&jwt_only, true, true, None).await.0, Status::Unauthorized);
}

#[rocket::async_test]
async fn the_last_strategy_tried_decides_and_csrf_is_for_sessions_only() {
    use AuthStrategy::{Jwt, Session};
    let fake = FakeWristband::start().await;
    let token = fake.issue_access_token("ju", "jt", 1800);
    let csrf_client = |strategies: &[AuthStrategy]| {
        Client::untracked(app(with_strategies(&fake, strategies), true))
    };

    // Session then JWT: a wrong CSRF header (403 for the session) and no bearer token → the
    // JWT strategy decides: 401.
    let both = csrf_client(&[Session, Jwt]).await.unwrap();
    assert_eq!(user_status(&both, true, false, None).await.0, Status::Unauthorized);
    // JWT then session: the session decides: 403.
    let jwt_first = csrf_client(&[Jwt, Session]).await.unwrap();
    assert_eq!(user_status(&jwt_first, true, false, None).await.0, Status::Forbidden);
    // A bearer token needs no CSRF header.
    assert_eq!(user_status(&both, false, false, Some(&token)).await.1, "ju@jt via jwt");
    // A GET (a safe method) is not CSRF-checked: the same session with the wrong header passes.
    let data = json!({
        "isAuthenticated": true, "userId": "su", "tenantId": "st", "csrfToken": "ab".repeat(32)
    });
    let options = SessionOptions { secrets: SECRET.into(), ..SessionOptions::default() };
    let codec = wristband_rocket_session::SessionCodec::new(&options).unwrap();
    let value = codec.seal(data.as_object().unwrap()).unwrap();
    let response = jwt_first
        .get("/api/user")
        .cookie(("session", value))
        .header(Header::new("X-CSRF-TOKEN", "wrong"))
        .dispatch()
        .await;
    assert_eq!(response.into_string().await.as_deref(), Some("su@st via session"));
}

#[rocket::async_test]
async fn guards_need_wristband_auth_attached() {
    let rocket = rocket::custom(rocket::Config::figment().merge(("log_level", "off")))
        .attach(WristbandSession::custom(SessionOptions {
            secrets: SECRET.into(),
            ..Default::default()
        }))
        .mount("/", routes![jwt_route, user_route]);
    match Client::untracked(rocket).await {
        Ok(_) => panic!("launched without WristbandAuth"),
        Err(e) => match e.kind() {
            rocket::error::ErrorKind::SentinelAborts(sentries) => assert_eq!(sentries.len(), 2),
            other => panic!("unexpected error {other:?}"),
        },
    }
}

// ----- property: no header value makes the guard panic or answer 5xx ----------------------------

fn jwt_like() -> impl Strategy<Value = String> {
    let segment = "[A-Za-z0-9_=+/-]{0,40}";
    prop_oneof![
        "[ -~]{0,200}",
        (segment, segment, segment).prop_map(|(a, b, c)| format!("Bearer {a}.{b}.{c}")),
        ("[ -~]{0,60}", "[ -~]{0,60}").prop_map(|(h, p)| format!(
            "Bearer {}.{}.sig",
            URL_SAFE_NO_PAD.encode(h),
            URL_SAFE_NO_PAD.encode(p)
        )),
        proptest::collection::vec(any::<u8>(), 0..80)
            .prop_map(|bytes| format!("bearer {}", URL_SAFE_NO_PAD.encode(bytes))),
    ]
}

#[test]
fn no_authorization_header_value_makes_the_guard_fail_badly() {
    let runtime = rocket::tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let (fake, client) = runtime.block_on(async {
        let fake = FakeWristband::start().await;
        let client = client(fake.auth_options()).await;
        (fake, client)
    });
    let config = ProptestConfig { cases: 300, ..ProptestConfig::default() };
    proptest!(config, |(value in jwt_like())| {
        let status = runtime.block_on(status_with(&client, &value));
        prop_assert_eq!(status, Status::Unauthorized, "{:?}", value);
    });
    drop(client);
    drop(fake);
}

//! DESIGN-auth §H for bearer JWTs: "Bearer JWTs are access tokens only" (header `typ` must be
//! `at+JWT`, case-insensitively, or `application/at+jwt`; an ID token is refused; the optional
//! `jwt_allowed_client_ids` restricts the `client_id` claim) and "JWKS refetch cannot be
//! starved" (a flood of forged key ids does not keep a real key rotation out for more than 10 s);
//! DESIGN-auth §I, "A withdrawn key's tokens are forgotten at the next JWKS fetch", whatever
//! `jwks_cache_max_size`.
#![cfg(feature = "fake-wristband")]

use crate::support::server;

use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header as JwtHeader};
use rocket::http::{Header, Status};
use rocket::local::asynchronous::Client;
use rocket::serde::json::Json;
use rocket::State;
use serde_json::{json, Value};
use wristband_rocket_session::testing::{Endpoint, FakeWristband};
use wristband_rocket_session::{
    AuthOptions, AuthStrategy, AuthenticatedUser, SessionOptions, WristbandAuth, WristbandJwt,
    WristbandScheme, WristbandSession,
};

const SECRET: &str = "jwt-security-test-session-secret-0123456789abcdef";

#[get("/api/jwt")]
fn jwt_route(jwt: WristbandJwt<'_>) -> String {
    format!("{}@{}", jwt.user_id(), jwt.tenant_id())
}

#[get("/api/user")]
fn user_route(user: AuthenticatedUser<'_>) -> String {
    let how = match &user {
        AuthenticatedUser::Session(_) => "session",
        AuthenticatedUser::Jwt(_) => "jwt",
        _ => "other",
    };
    format!("{}@{} via {how}", user.user_id(), user.tenant_id())
}

async fn client(auth: AuthOptions) -> Client {
    let session = SessionOptions { secrets: SECRET.into(), ..SessionOptions::default() };
    let rocket = rocket::custom(rocket::Config::figment().merge(("log_level", "off")))
        .attach(WristbandSession::custom(session))
        .attach(WristbandAuth::custom(auth))
        .register("/", wristband_rocket_session::catchers())
        .mount("/", routes![jwt_route, user_route]);
    Client::untracked(rocket).await.expect("launches")
}

async fn bearer_status_at(client: &Client, path: &str, token: &str) -> Status {
    client
        .get(path.to_string())
        .header(Header::new("Authorization", format!("Bearer {token}")))
        .dispatch()
        .await
        .status()
}

async fn bearer_status(client: &Client, token: &str) -> Status {
    bearer_status_at(client, "/api/jwt", token).await
}

fn header_of(token: &str) -> Value {
    let head = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(head).unwrap()).unwrap()
}

/// The token endpoint's answer to a refresh grant: access, ID and refresh tokens, as a
/// callback or a token refresh gets them.
async fn tokens_from_the_token_endpoint(fake: &FakeWristband) -> Value {
    let refresh_token = fake.issue_refresh_token("user-1", "tenant-1");
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/oauth2/token", fake.base_url()))
        .basic_auth(fake.client_id(), Some(fake.client_secret()))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token.as_str())])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "token endpoint: {}", response.status());
    response.json().await.unwrap()
}

// ----- a JWKS server whose private key the test holds -------------------------------------------

#[get("/api/v1/oauth2/jwks")]
fn small_jwks(jwks: &State<Value>) -> Json<Value> {
    Json(jwks.inner().clone())
}

/// A tiny Wristband stand-in serving one 2048-bit key (kid `only`) whose private half signs the
/// test's own tokens.
struct KeyServer {
    server: server::Server,
    key: EncodingKey,
}

impl KeyServer {
    async fn start() -> KeyServer {
        let pem = include_str!("../keys/test-only-rsa-2048.pem");
        let key = EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
        let mut jwk =
            serde_json::to_value(Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap()).unwrap();
        jwk["kid"] = json!("only");
        let server = server::Server::start(
            rocket::custom(rocket::Config::figment().merge(("log_level", "off")))
                .manage(json!({ "keys": [jwk] }))
                .mount("/", routes![small_jwks]),
        )
        .await;
        KeyServer { server, key }
    }

    fn options(&self) -> AuthOptions {
        AuthOptions {
            client_id: "c".into(),
            client_secret: "s".into(),
            wristband_application_vanity_domain: self
                .server
                .base
                .trim_start_matches("http://")
                .to_string(),
            wristband_scheme: WristbandScheme::Http,
            auto_configure_enabled: false,
            login_url: Some("http://localhost/login".into()),
            redirect_uri: Some("http://localhost/callback".into()),
            ..AuthOptions::default()
        }
    }

    /// A token signed by the served key, header `typ` = `typ` (absent for `None`), with
    /// `extra` claims added to valid `iss`, `sub`, `tnt_id`, `exp`, `iat`.
    fn sign(&self, typ: Option<&str>, extra: Value) -> String {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut claims = json!({
            "iss": self.server.base, "sub": "u", "tnt_id": "t", "exp": now + 600, "iat": now
        });
        for (name, value) in extra.as_object().unwrap() {
            claims[name] = value.clone();
        }
        let mut header = JwtHeader::new(Algorithm::RS256);
        header.kid = Some("only".into());
        header.typ = typ.map(String::from);
        encode(&header, &claims, &self.key).unwrap()
    }
}

// ----- Bearer JWTs are access tokens only -------------------------------------------------------

#[rocket::async_test]
async fn an_id_token_from_the_token_endpoint_is_refused_as_a_bearer_token() {
    let fake = FakeWristband::start().await;
    let client = client(fake.auth_options()).await;
    let tokens = tokens_from_the_token_endpoint(&fake).await;
    let id_token = tokens["id_token"].as_str().expect("an ID token");
    let access_token = tokens["access_token"].as_str().expect("an access token");
    assert_eq!(header_of(id_token)["typ"], "JWT");
    assert_eq!(header_of(access_token)["typ"], "at+JWT");

    // Same issuer, same key, `sub` and `tnt_id`: only its type tells it apart. Refused, and
    // refused again (nothing about it was remembered as verified).
    for attempt in 1..=2 {
        assert_eq!(bearer_status(&client, id_token).await, Status::Unauthorized, "#{attempt}");
    }
    // Control: the access token of the same answer passes, three times (remembered at the
    // second, the third from the cache).
    for attempt in 1..=3 {
        assert_eq!(bearer_status(&client, access_token).await, Status::Ok, "#{attempt}");
    }
    // The ID token is still refused after an access token of the same key was remembered.
    assert_eq!(bearer_status(&client, id_token).await, Status::Unauthorized);
}

#[rocket::async_test]
async fn a_token_signed_by_a_published_key_needs_the_access_token_type() {
    let keys = KeyServer::start().await;
    let client = client(keys.options()).await;
    for typ in ["at+JWT", "AT+JWT", "at+jwt", "application/at+jwt", "Application/AT+JWT"] {
        let token = keys.sign(Some(typ), json!({}));
        assert_eq!(bearer_status(&client, &token).await, Status::Ok, "typ {typ:?}");
    }
    for typ in [
        Some("JWT"),
        Some("jwt"),
        None,
        Some(""),
        Some("at+JWT "),
        Some("at+JWTs"),
        Some("application/jwt"),
        Some("application/at+jwt; charset=utf-8"),
        Some("at-JWT"),
        Some("logout+jwt"),
    ] {
        let token = keys.sign(typ, json!({}));
        for attempt in 1..=2 {
            assert_eq!(
                bearer_status(&client, &token).await,
                Status::Unauthorized,
                "typ {typ:?} #{attempt}"
            );
        }
    }
    keys.server.stop().await;
}

#[rocket::async_test]
async fn authenticated_user_with_the_jwt_strategy_takes_access_tokens_only() {
    let fake = FakeWristband::start().await;
    let options = AuthOptions { auth_strategies: vec![AuthStrategy::Jwt], ..fake.auth_options() };
    let client = client(options).await;
    let tokens = tokens_from_the_token_endpoint(&fake).await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let access_token = tokens["access_token"].as_str().unwrap();
    assert_eq!(bearer_status_at(&client, "/api/user", id_token).await, Status::Unauthorized);
    let response = client
        .get("/api/user")
        .header(Header::new("Authorization", format!("Bearer {access_token}")))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(response.into_string().await.unwrap(), "user-1@tenant-1 via jwt");
}

// ----- jwt_allowed_client_ids -------------------------------------------------------------------

#[rocket::async_test]
async fn jwt_allowed_client_ids_restricts_the_client_id_claim() {
    let fake = FakeWristband::start().await;
    let token = fake.issue_access_token("user-1", "tenant-1", 1800);
    let with = |ids: Option<Vec<&str>>| AuthOptions {
        jwt_allowed_client_ids: ids.map(|ids| ids.into_iter().map(String::from).collect()),
        ..fake.auth_options()
    };

    let others = client(with(Some(vec!["another-client"]))).await;
    for attempt in 1..=2 {
        assert_eq!(bearer_status(&others, &token).await, Status::Unauthorized, "#{attempt}");
    }
    for ids in [None, Some(vec![fake.client_id()]), Some(vec!["another-client", fake.client_id()])]
    {
        let allowed = client(with(ids.clone())).await;
        for attempt in 1..=2 {
            assert_eq!(bearer_status(&allowed, &token).await, Status::Ok, "{ids:?} #{attempt}");
        }
    }
    // The same token is still refused by the app that does not allow its client, after other
    // apps accepted it.
    assert_eq!(bearer_status(&others, &token).await, Status::Unauthorized);
}

#[rocket::async_test]
async fn with_jwt_allowed_client_ids_a_token_needs_a_listed_client_id_claim() {
    let keys = KeyServer::start().await;
    let no_client = keys.sign(Some("at+JWT"), json!({}));
    let numeric = keys.sign(Some("at+JWT"), json!({ "client_id": 7 }));
    let listed = keys.sign(Some("at+JWT"), json!({ "client_id": "mobile" }));
    let other = keys.sign(Some("at+JWT"), json!({ "client_id": "Mobile" }));

    let restricted = client(AuthOptions {
        jwt_allowed_client_ids: Some(vec!["mobile".into(), "7".into()]),
        ..keys.options()
    })
    .await;
    assert_eq!(bearer_status(&restricted, &listed).await, Status::Ok);
    for (name, token) in [("none", &no_client), ("numeric", &numeric), ("case", &other)] {
        assert_eq!(bearer_status(&restricted, token).await, Status::Unauthorized, "{name}");
    }
    // Without the key, any client (or none) is accepted.
    let open = client(keys.options()).await;
    for token in [&no_client, &numeric, &listed, &other] {
        assert_eq!(bearer_status(&open, token).await, Status::Ok);
    }
    keys.server.stop().await;
}

// ----- JWKS refetch cannot be starved -----------------------------------------------------------

/// `good` with its header's `kid` replaced: a forged key id.
fn with_kid(good: &str, kid: &str) -> String {
    let mut head = header_of(good);
    head["kid"] = json!(kid);
    let rest = good.split_once('.').unwrap().1;
    format!("{}.{rest}", URL_SAFE_NO_PAD.encode(serde_json::to_vec(&head).unwrap()))
}

/// Sends `n` tokens with forged key ids (numbered from `*forged`), each refused.
async fn flood(client: &Client, good: &str, forged: &mut usize, n: usize) {
    for _ in 0..n {
        *forged += 1;
        let token = with_kid(good, &format!("forged-{forged}"));
        assert_eq!(bearer_status(client, &token).await, Status::Unauthorized);
    }
}

#[rocket::async_test]
async fn a_rotated_key_is_accepted_within_ten_seconds_despite_a_flood_of_unknown_key_ids() {
    let fake = FakeWristband::start().await;
    let client = client(fake.auth_options()).await;
    let good = fake.issue_access_token("u", "t", 1800);
    assert_eq!(bearer_status(&client, &good).await, Status::Ok);

    // An attacker spends the refetch budget with forged key ids: once it is spent, a further
    // forged key id fetches nothing.
    let mut forged = 0;
    flood(&client, &good, &mut forged, 30).await;
    let spent = fake.calls(Endpoint::Jwks);
    assert!(spent < 30, "the forged key ids are rate-limited: {spent} fetches for 30");
    flood(&client, &good, &mut forged, 1).await;
    assert_eq!(fake.calls(Endpoint::Jwks), spent, "the budget is spent");

    // Wristband rotates its key; an API client presents a token signed with the new one, again
    // and again, while the attacker keeps going.
    fake.rotate_signing_key();
    let rotated = fake.issue_access_token("u", "t", 1800);
    let rotated_at = Instant::now();
    let deadline = rotated_at + Duration::from_secs(10);
    let mut refused = 0;
    loop {
        flood(&client, &good, &mut forged, 3).await;
        if bearer_status(&client, &rotated).await == Status::Ok {
            break;
        }
        refused += 1;
        assert!(
            Instant::now() < deadline,
            "the rotated key was still refused {:?} after the rotation ({refused} tries, {} JWKS \
             fetches for {forged} forged key ids)",
            rotated_at.elapsed(),
            fake.calls(Endpoint::Jwks)
        );
        rocket::tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let fetches = fake.calls(Endpoint::Jwks);
    println!(
        "rotated key accepted after {:?} ({refused} refusals before); {fetches} JWKS fetches for \
         {forged} forged key ids",
        rotated_at.elapsed()
    );
    // Still bounded: far fewer fetches than forged key ids.
    assert!(fetches < forged / 4, "{fetches} fetches for {forged} forged key ids");
    // Both keys verify now.
    assert_eq!(bearer_status(&client, &good).await, Status::Ok);
    assert_eq!(bearer_status(&client, &rotated).await, Status::Ok);
}

// ----- A withdrawn key's tokens are forgotten at the next JWKS fetch ----------------------------

#[rocket::async_test]
async fn a_remembered_token_is_forgotten_when_its_evicted_key_is_withdrawn() {
    let fake = FakeWristband::start().await;
    let client = client(AuthOptions { jwks_cache_max_size: 1, ..fake.auth_options() }).await;
    let key_1 = fake.current_kid();
    let old = fake.issue_access_token("u", "t", 1800);
    // Verified twice (remembered from the second on), then answered from memory.
    for attempt in 1..=3 {
        assert_eq!(bearer_status(&client, &old).await, Status::Ok, "key-1 token #{attempt}");
    }
    assert_eq!(fake.calls(Endpoint::Jwks), 1);

    // Wristband publishes key 2; a token of key 2 makes this app fetch the JWKS (both keys
    // listed), and the size-1 cache keeps key 2 only: key 1 falls out of it.
    fake.rotate_signing_key();
    assert_ne!(fake.current_kid(), key_1);
    let new = fake.issue_access_token("u", "t", 1800);
    for attempt in 1..=2 {
        assert_eq!(bearer_status(&client, &new).await, Status::Ok, "key-2 token #{attempt}");
    }
    assert_eq!(fake.calls(Endpoint::Jwks), 2);
    // Key 1 is still published: its remembered token still passes.
    assert_eq!(bearer_status(&client, &old).await, Status::Ok, "key 1 still published");

    // Wristband withdraws key 1; a token naming an unknown key id makes this app fetch again.
    fake.retire_old_signing_keys();
    let unknown = with_kid(&new, "not-published");
    assert_eq!(bearer_status(&client, &unknown).await, Status::Unauthorized);
    assert_eq!(fake.calls(Endpoint::Jwks), 3, "a JWKS fetch without key 1");

    // That fetch listed no key 1: the token it verified is no longer taken on trust.
    let status = bearer_status(&client, &old).await;
    assert_eq!(
        status,
        Status::Unauthorized,
        "the remembered key-1 token after key 1 was withdrawn and the JWKS fetched: got {}",
        status.code
    );
    // The key-2 token is unaffected.
    assert_eq!(bearer_status(&client, &new).await, Status::Ok);
}

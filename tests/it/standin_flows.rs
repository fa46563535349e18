#![cfg(feature = "auth")]
//! The crate's Wristband flows against an independent stand-in for Wristband
//! (`tests/support/standin.rs`, written from the protocol, sharing nothing with the crate's
//! `testing::FakeWristband`), over real TCP with a cookie-keeping `reqwest` browser: login →
//! authorize → callback → session → logout, the refresh inside `AuthenticatedSession`, and
//! bearer tokens for `WristbandJwt`. Needs only the `auth` feature.

use crate::support::standin;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{decode_header, Algorithm};
use reqwest::StatusCode;
use rocket::http::RawStr;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use standin::app::{self, location, writes_session, Browser};
use standin::{StandIn, APP_ID, CLIENT_ID, CLIENT_SECRET, KID, TENANT_ID, USER_ID};

/// The claims of a JWT, read without checking anything (to look at what the stand-in sent).
fn payload(token: &str) -> Map<String, Value> {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_callback_session_and_logout_round_trip_against_the_stand_in() {
    let standin = StandIn::start().await;
    let server = app::start(&standin, |_| {}).await;
    let browser = Browser::new(&standin, &server);
    assert_eq!(browser.session().await, Err(StatusCode::UNAUTHORIZED), "not signed in yet");

    let query = browser.login().await;
    let authorizations = standin.authorizations();
    assert_eq!(authorizations.len(), 1);
    let sent = &authorizations[0];
    assert_eq!(sent.tenant, "acme");
    assert_eq!(sent.params["client_id"], CLIENT_ID);
    assert_eq!(sent.params["response_type"], "code");
    assert_eq!(sent.params["scope"], "openid offline_access email");
    assert_eq!(sent.params["code_challenge_method"], "S256");
    assert_eq!(sent.params["redirect_uri"], server.url("/auth/callback"));
    assert_eq!(sent.params["nonce"].len(), 43, "32 random bytes, base64url");
    assert_ne!(sent.params["nonce"], sent.params["state"]);

    let resp = browser.get(&format!("/auth/callback?{query}")).await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(location(&resp), "/");
    assert!(writes_session(&resp), "the callback writes the session");
    assert_eq!((standin.calls("token"), standin.calls("userinfo")), (1, 1));
    let id_token = &standin.id_tokens()[0];
    assert_eq!(payload(id_token)["nonce"], sent.params["nonce"].as_str());

    let session = browser.session().await.expect("signed in");
    assert_eq!(session["userId"], USER_ID);
    assert_eq!(session["tenantId"], TENANT_ID);
    let live = standin.live_refresh_tokens();
    assert_eq!(live.len(), 1);
    let tokens: Value = browser.get("/t/tokens").await.json().await.unwrap();
    assert_eq!(tokens["refreshToken"], live[0].as_str(), "the session keeps the refresh token");

    let resp = browser.get("/auth/logout").await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    let logout = location(&resp);
    let expected =
        format!("http://acme.localhost:{}/api/v1/logout?client_id={CLIENT_ID}", standin.port());
    assert!(logout.starts_with(&expected), "{logout}");
    assert_eq!(standin.revoked(), live, "logout revoked the session's refresh token");
    assert!(standin.live_refresh_tokens().is_empty());
    assert_eq!(browser.session().await, Err(StatusCode::UNAUTHORIZED), "signed out");
    println!(
        "round trip: authorize 1, token 1, userinfo 1, revoke {}, jwks {}",
        standin.calls("revoke"),
        standin.calls("jwks")
    );
    server.stop().await;
    standin.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_access_token_is_refreshed_and_the_rotated_refresh_token_stored() {
    let standin = StandIn::start().await;
    let server = app::start(&standin, |_| {}).await;
    let browser = Browser::new(&standin, &server);
    // 30 s tokens with the default 60 s buffer: the session is expired when written.
    standin.set_expires_in(30);
    let query = browser.login().await;
    let resp = browser.get(&format!("/auth/callback?{query}")).await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert!(writes_session(&resp));
    let first = standin.live_refresh_tokens();
    assert_eq!(first.len(), 1);
    assert!(standin.refresh_grants().is_empty());

    standin.set_expires_in(3600);
    let session = browser.session().await.expect("the guard refreshes and lets the user in");
    assert_eq!(session["userId"], USER_ID);
    assert_eq!(standin.refresh_grants(), first, "one refresh, with the session's token");
    let rotated = standin.live_refresh_tokens();
    assert_eq!(rotated.len(), 1);
    assert_ne!(rotated, first, "the stand-in rotated it");

    let tokens: Value = browser.get("/t/tokens").await.json().await.unwrap();
    assert_eq!(tokens["refreshToken"], rotated[0].as_str(), "the rotated token is stored");
    let now_ms = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let expires_at = tokens["expiresAt"].as_i64().unwrap();
    assert!(expires_at > now_ms + 3_000_000, "now + 3600 s − 60 s: {expires_at}");
    let access = tokens["accessToken"].as_str().unwrap();
    assert_eq!(
        payload(access)["exp"].as_i64().unwrap() - payload(access)["iat"].as_i64().unwrap(),
        3600
    );

    // Fresh now: no second refresh; logout revokes the rotated token.
    assert!(browser.session().await.is_ok());
    assert_eq!(standin.refresh_grants().len(), 1);
    let resp = browser.get("/auth/logout").await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(standin.revoked(), rotated);
    server.stop().await;
    standin.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_s_access_token_is_a_bearer_token_and_its_id_token_is_not() {
    let standin = StandIn::start().await;
    let server = app::start(&standin, |_| {}).await;
    let browser = Browser::new(&standin, &server);
    let query = browser.login().await;
    assert_eq!(browser.get(&format!("/auth/callback?{query}")).await.status(), StatusCode::FOUND);
    let tokens: Value = browser.get("/auth/token").await.json().await.unwrap();
    let access = tokens["accessToken"].as_str().unwrap();

    let api = Browser::new(&standin, &server); // no cookies
    let resp = api.bearer("/api/me", access).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let claims: Value = resp.json().await.unwrap();
    assert_eq!((&claims["sub"], &claims["tnt_id"]), (&json!(USER_ID), &json!(TENANT_ID)));

    // The ID token the callback accepted is signed by the same key, names the same issuer and
    // user, and has not expired; but it is not an access token.
    let id_token = standin.id_tokens()[0].clone();
    assert_eq!(api.bearer("/api/me", &id_token).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(api.get("/api/me").await.status(), StatusCode::UNAUTHORIZED, "no token");
    server.stop().await;
    standin.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_shaped_like_wristband_s_documented_one_is_accepted_and_an_id_token_is_not() {
    let standin = StandIn::start().await;
    let server = app::start(&standin, |_| {}).await;
    let api = Browser::new(&standin, &server);

    let token = standin.access_token(&Map::new());
    let header = decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.typ.as_deref(), Some("at+JWT"));
    assert_eq!(header.kid.as_deref(), Some(KID));
    let claims = payload(&token);
    let mut names: Vec<&str> = claims.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "amr",
            "app_id",
            "auth_time",
            "client_id",
            "exp",
            "iat",
            "idp_name",
            "iss",
            "jti",
            "scope",
            "sub",
            "sub_kind",
            "tnt_id",
            "van_dom"
        ]
    );
    assert_eq!(claims["iss"], standin.issuer());
    assert_eq!(claims["app_id"], APP_ID);
    assert_eq!(claims["scope"], "openid offline_access email");

    let resp = api.bearer("/api/me", &token).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let seen: Map<String, Value> = resp.json().await.unwrap();
    assert_eq!(seen, claims, "WristbandJwt hands over every claim");

    let id_token = standin.id_token("any-nonce");
    let id_header = decode_header(&id_token).unwrap();
    assert_eq!((id_header.alg, id_header.kid.as_deref()), (Algorithm::RS256, Some(KID)));
    assert_eq!(payload(&id_token)["aud"], CLIENT_ID);
    assert_eq!(api.bearer("/api/me", &id_token).await.status(), StatusCode::UNAUTHORIZED);

    // Controls of the same shape: another issuer, an expired one.
    let other = json!({ "iss": format!("http://127.0.0.1:{}", standin.port()) });
    let wrong_iss = standin.access_token(other.as_object().unwrap());
    assert_eq!(api.bearer("/api/me", &wrong_iss).await.status(), StatusCode::UNAUTHORIZED);
    let old = time::OffsetDateTime::now_utc().unix_timestamp() - 3600;
    let expired =
        standin.access_token(json!({ "iat": old, "exp": old + 600 }).as_object().unwrap());
    assert_eq!(api.bearer("/api/me", &expired).await.status(), StatusCode::UNAUTHORIZED);
    server.stop().await;
    standin.stop().await;
}

/// The stand-in is as strict as the protocol: a test against it cannot pass because it
/// accepts anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stand_in_refuses_bad_client_credentials_pkce_and_spent_codes() {
    let standin = StandIn::start().await;
    let redirect_uri = "http://127.0.0.1:9/auth/callback";
    standin.register_app("http://127.0.0.1:9/auth/login", redirect_uri);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .resolve("acme.localhost", std::net::SocketAddr::from(([127, 0, 0, 1], standin.port())))
        .build()
        .unwrap();
    let verifier = "a-pkce-code-verifier-of-at-least-43-characters-long";
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let authorize = |challenge: &str| {
        reqwest::Url::parse_with_params(
            &format!("http://acme.localhost:{}/api/v1/oauth2/authorize", standin.port()),
            [
                ("client_id", CLIENT_ID),
                ("redirect_uri", redirect_uri),
                ("response_type", "code"),
                ("state", "s1"),
                ("scope", "openid offline_access"),
                ("code_challenge", challenge),
                ("code_challenge_method", "S256"),
                ("nonce", "n1"),
            ],
        )
        .unwrap()
    };
    let code = |resp: reqwest::Response| {
        let back = reqwest::Url::parse(&location(&resp)).unwrap();

        back.query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned()
    };
    // The Basic credentials as RFC 6749 §2.3.1 has them: each form-encoded first.
    let encoded = RawStr::new(CLIENT_SECRET).percent_encode().to_string();
    let token = |secret: &str, form: Vec<(&str, String)>| {
        let url = format!("http://127.0.0.1:{}/api/v1/oauth2/token", standin.port());
        http.post(url).basic_auth(CLIENT_ID, Some(secret.to_string())).form(&form).send()
    };
    let exchange = |code: &str, verifier: &str| {
        vec![
            ("grant_type", "authorization_code".to_string()),
            ("code", code.to_string()),
            ("redirect_uri", redirect_uri.to_string()),
            ("code_verifier", verifier.to_string()),
        ]
    };

    let c1 = code(http.get(authorize(&challenge)).send().await.unwrap());
    let resp = token("wrong-secret", exchange(&c1, verifier)).await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = token(CLIENT_SECRET, exchange(&c1, verifier)).await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "the secret not form-encoded");
    let c2 = code(http.get(authorize(&challenge)).send().await.unwrap());
    let resp = token(&encoded, exchange(&c2, "another-verifier-of-43-characters-or-more-x")).await;
    let body: Value = resp.unwrap().json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant", "PKCE is checked");
    let c3 = code(http.get(authorize(&challenge)).send().await.unwrap());
    let resp = token(&encoded, exchange(&c3, verifier)).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(payload(answer["id_token"].as_str().unwrap())["nonce"], "n1");
    let resp = token(&encoded, exchange(&c3, verifier)).await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "a code works once");
    let refresh = answer["refresh_token"].as_str().unwrap().to_string();
    let grant = |t: &str| vec![("grant_type", "refresh_token".into()), ("refresh_token", t.into())];
    let resp = token(&encoded, grant(&refresh)).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = token(&encoded, grant(&refresh)).await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "a refresh token works once (rotation)");
    let bad_redirect = http.get(authorize(&challenge).as_str().replace("%3A9%2F", "%3A8%2F"));
    assert_eq!(bad_redirect.send().await.unwrap().status(), StatusCode::BAD_REQUEST);
    standin.stop().await;
}

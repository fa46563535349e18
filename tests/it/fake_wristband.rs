#![cfg(feature = "fake-wristband")]
//! `testing::FakeWristband`, driven over TCP by a real HTTP client (reqwest) the way an app and
//! a browser would: SDK configuration, authorize → token → userinfo → refresh → revoke, JWKS and
//! key rotation, logout, scripted failures, delays and counters.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::header::LOCATION;
use reqwest::redirect::Policy;
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use wristband_rocket_session::testing::{Endpoint, FakeUser, FakeWristband, Reply};

const APP_LOGIN: &str = "http://127.0.0.1:9/auth/login";
const APP_CALLBACK: &str = "http://127.0.0.1:9/auth/callback";
const VERIFIER: &str = "a-pkce-verifier-of-at-least-43-characters-0123456789";

/// A client that follows no redirect and reaches `<tenant>.localhost` on the fake's port
/// (the system resolver here may not resolve `*.localhost`).
fn client() -> Client {
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    Client::builder()
        .redirect(Policy::none())
        .resolve("acme.localhost", loopback)
        .resolve("globex.localhost", loopback)
        .build()
        .unwrap()
}

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The app's authorize query for `redirect_uri` with the challenge of [`VERIFIER`].
fn authorize_query(fake: &FakeWristband, redirect_uri: &str) -> Vec<(String, String)> {
    [
        ("client_id", fake.client_id()),
        ("redirect_uri", redirect_uri),
        ("response_type", "code"),
        ("state", "the-state"),
        ("scope", "openid offline_access email"),
        ("code_challenge", &challenge(VERIFIER)),
        ("code_challenge_method", "S256"),
        ("nonce", "the-nonce"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

async fn get_authorize(client: &Client, host_url: &str, query: &[(String, String)]) -> Response {
    client.get(format!("{host_url}/api/v1/oauth2/authorize")).query(query).send().await.unwrap()
}

/// The `Location` of a redirect, parsed.
fn location(response: &Response) -> reqwest::Url {
    let value = response.headers().get(LOCATION).expect("a Location header");
    reqwest::Url::parse(value.to_str().unwrap()).unwrap()
}

fn param(url: &reqwest::Url, name: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// Runs authorize on the `acme` tenant host and returns the code.
async fn code_for(fake: &FakeWristband, client: &Client) -> String {
    let response =
        get_authorize(client, &fake.tenant_url("acme"), &authorize_query(fake, APP_CALLBACK)).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    param(&location(&response), "code").expect("a code")
}

/// POSTs a form to the token endpoint; `None` credentials: no Authorization header.
async fn post_token(
    fake: &FakeWristband,
    client: &Client,
    credentials: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut request = client.post(format!("{}/api/v1/oauth2/token", fake.local_url())).form(form);
    if let Some((id, secret)) = credentials {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn creds(fake: &FakeWristband) -> Option<(&str, &str)> {
    Some((fake.client_id(), fake.client_secret()))
}

async fn userinfo(fake: &FakeWristband, client: &Client, token: &str) -> (StatusCode, Value) {
    let response = client
        .get(format!("{}/api/v1/oauth2/userinfo", fake.local_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn jwks(fake: &FakeWristband, client: &Client) -> JwkSet {
    let url = format!("{}/api/v1/oauth2/jwks", fake.local_url());
    client.get(url).send().await.unwrap().json().await.unwrap()
}

/// Verifies `token` against the fake's JWKS (kid lookup, RS256, issuer = the fake's
/// `base_url`, exp, nbf if present).
fn verify(fake: &FakeWristband, set: &JwkSet, token: &str) -> Result<Value, String> {
    verify_with(set, token, &fake.base_url(), None)
}

/// Verifies `token` against `set`: RS256, the kid's key, `issuer`, exp, nbf if present, and
/// `audience` when given.
fn verify_with(
    set: &JwkSet,
    token: &str,
    issuer: &str,
    audience: Option<&str>,
) -> Result<Value, String> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?;
    let kid = header.kid.ok_or("no kid")?;
    let jwk = set.find(&kid).ok_or_else(|| format!("kid {kid} not in the JWKS"))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[issuer]);
    validation.validate_nbf = true;
    match audience {
        Some(audience) => validation.set_audience(&[audience]),
        None => validation.validate_aud = false,
    }
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|e| e.to_string())
}

/// The claim names of a JWT payload, sorted.
fn claim_names(claims: &Value) -> Vec<&str> {
    let mut names: Vec<&str> = claims.as_object().unwrap().keys().map(String::as_str).collect();
    names.sort_unstable();
    names
}

/// The access token claims of Wristband's tokens, sorted.
const ACCESS_CLAIMS: [&str; 14] = [
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
    "van_dom",
];

/// The fake's ID token claims (with a nonce and an email), sorted.
const ID_CLAIMS: [&str; 12] = [
    "amr",
    "app_id",
    "aud",
    "auth_time",
    "email",
    "exp",
    "iat",
    "idp_name",
    "iss",
    "nonce",
    "sub",
    "tnt_id",
];

/// Redeems `code` (from an authorize request with [`VERIFIER`] and [`APP_CALLBACK`]).
async fn redeem(fake: &FakeWristband, client: &Client, code: &str) -> Value {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", APP_CALLBACK),
        ("code_verifier", VERIFIER),
    ];
    let (status, tokens) = post_token(fake, client, creds(fake), &form).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens
}

#[rocket::async_test]
async fn sdk_configuration_defaults_app_urls_and_other_clients() {
    let fake = FakeWristband::start().await;
    let client = client();
    let url = |id: &str| format!("{}/api/v1/clients/{id}/sdk-configuration", fake.base_url());

    let body: Value = client.get(url(fake.client_id())).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        body,
        json!({
            "customApplicationLoginPageUrl": null,
            "isApplicationCustomDomainActive": true,
            "loginUrl": "http://localhost:8000/auth/login",
            "loginUrlTenantDomainSuffix": null,
            "redirectUri": "http://localhost:8000/auth/callback",
        })
    );

    fake.set_app_urls(APP_LOGIN, APP_CALLBACK);
    let body: Value = client.get(url(fake.client_id())).send().await.unwrap().json().await.unwrap();
    assert_eq!(body["loginUrl"], APP_LOGIN);
    assert_eq!(body["redirectUri"], APP_CALLBACK);

    fake.set_sdk_configuration(json!({ "loginUrl": null }));
    let body: Value = client.get(url(fake.client_id())).send().await.unwrap().json().await.unwrap();
    assert_eq!(body, json!({ "loginUrl": null }));

    let other = client.get(url("someone-else")).send().await.unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
    assert_eq!(fake.calls(Endpoint::SdkConfiguration), 4);
}

#[rocket::async_test]
async fn auth_options_point_at_the_fake() {
    let fake = FakeWristband::start().await;
    let options = fake.auth_options();
    assert_eq!(options.client_id, "fake-client-id");
    assert_eq!(options.client_secret, "fake-client-secret-0123456789abcdef");
    assert_eq!(options.wristband_application_vanity_domain, format!("localhost:{}", fake.port()));
    assert_eq!(options.wristband_scheme, wristband_rocket_session::WristbandScheme::Http);
    assert!(options.dangerously_disable_secure_cookies);
    assert!(options.auto_configure_enabled);
    assert_eq!(options.login_url, None);
}

#[rocket::async_test]
async fn code_flow_userinfo_refresh_rotation_and_revocation() {
    let fake = FakeWristband::start().await;
    fake.set_app_urls(APP_LOGIN, APP_CALLBACK);
    let client = client();

    // Authorize on the tenant host: straight back to the app with a code.
    let query = authorize_query(&fake, APP_CALLBACK);
    let response = get_authorize(&client, &fake.tenant_url("acme"), &query).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let back = location(&response);
    assert!(back.as_str().starts_with(&format!("{APP_CALLBACK}?")), "{back}");
    assert_eq!(param(&back, "state").as_deref(), Some("the-state"));
    assert_eq!(param(&back, "tenant_name").as_deref(), Some("acme"));
    assert_eq!(param(&back, "tenant_custom_domain"), None);
    let code = param(&back, "code").unwrap();
    assert_eq!(fake.last_authorize_request().unwrap(), query);

    let good = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", APP_CALLBACK),
        ("code_verifier", VERIFIER),
    ];
    // Client authentication: none, or a wrong secret.
    let (status, body) = post_token(&fake, &client, None, &good).await;
    assert_eq!((status, &body["error"]), (StatusCode::UNAUTHORIZED, &json!("invalid_client")));
    let (status, _) = post_token(&fake, &client, Some((fake.client_id(), "nope")), &good).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // PKCE and redirect URI.
    let mut wrong_verifier = good;
    wrong_verifier[3].1 = "another-verifier-of-at-least-43-characters-000000000";
    let (status, body) = post_token(&fake, &client, creds(&fake), &wrong_verifier).await;
    assert_eq!((status, &body["error"]), (StatusCode::BAD_REQUEST, &json!("invalid_grant")));
    let mut wrong_redirect = good;
    wrong_redirect[2].1 = "http://127.0.0.1:9/elsewhere";
    let (status, body) = post_token(&fake, &client, creds(&fake), &wrong_redirect).await;
    assert_eq!((status, &body["error"]), (StatusCode::BAD_REQUEST, &json!("invalid_grant")));

    // Everything right.
    let (status, tokens) = post_token(&fake, &client, creds(&fake), &good).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["expires_in"], 1800);
    assert_eq!(tokens["token_type"], "bearer");
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    let id_token = tokens["id_token"].as_str().unwrap();
    let set = jwks(&fake, &client).await;
    let claims = verify(&fake, &set, access).unwrap();
    assert_eq!(
        (claims["sub"].as_str(), claims["tnt_id"].as_str()),
        (Some("fake-user-1"), Some("fake-tenant-1"))
    );
    let id_claims = verify(&fake, &set, id_token).unwrap();
    assert_eq!(id_claims["nonce"], "the-nonce");
    assert_eq!(id_claims["aud"], fake.client_id());

    // A code works once.
    let (status, body) = post_token(&fake, &client, creds(&fake), &good).await;
    assert_eq!((status, &body["error"]), (StatusCode::BAD_REQUEST, &json!("invalid_grant")));

    // Userinfo, with Wristband's claim names.
    let (status, info) = userinfo(&fake, &client, access).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(info["sub"], "fake-user-1");
    assert_eq!(info["tnt_id"], "fake-tenant-1");
    assert_eq!(info["app_id"], "fake-app-id");
    assert_eq!(info["idp_name"], "wristband");
    assert_eq!(info["email"], "fake.user@example.com");
    assert_eq!(info["email_verified"], true);
    let (status, _) = userinfo(&fake, &client, "not-a-token-it-issued").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Refresh rotates: new tokens, and the old refresh token is refused.
    let grant = [("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())];
    let (status, refreshed) = post_token(&fake, &client, creds(&fake), &grant).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let new_refresh = refreshed["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(new_refresh, refresh);
    assert_ne!(refreshed["access_token"], tokens["access_token"]);
    let (status, body) = post_token(&fake, &client, creds(&fake), &grant).await;
    assert_eq!((status, &body["error"]), (StatusCode::BAD_REQUEST, &json!("invalid_grant")));
    assert_eq!(fake.refresh_tokens_spent(), 1);
    let (status, _) = post_token(&fake, &client, None, &grant).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Revoke the new one: recorded, and it no longer refreshes.
    let revoke = format!("{}/api/v1/oauth2/revoke", fake.base_url());
    let response = client
        .post(&revoke)
        .basic_auth(fake.client_id(), Some(fake.client_secret()))
        .form(&[("token", new_refresh.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "");
    assert_eq!(fake.revoked_tokens(), vec![new_refresh.clone()]);
    let grant = [("grant_type", "refresh_token"), ("refresh_token", new_refresh.as_str())];
    let (status, body) = post_token(&fake, &client, creds(&fake), &grant).await;
    assert_eq!((status, &body["error"]), (StatusCode::BAD_REQUEST, &json!("invalid_grant")));
    assert_eq!(fake.calls(Endpoint::Token), 10);
    assert_eq!(fake.calls(Endpoint::Revoke), 1);
}

#[rocket::async_test]
async fn revoke_requires_client_authentication() {
    let fake = FakeWristband::start().await;
    let client = client();
    let refresh = fake.issue_refresh_token("u1", "t1");
    let response = client
        .post(format!("{}/api/v1/oauth2/revoke", fake.base_url()))
        .basic_auth(fake.client_id(), Some("wrong-secret"))
        .form(&[("token", refresh.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(fake.revoked_tokens().is_empty());
    // Not revoked: it still refreshes, once.
    let grant = [("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())];
    let (status, body) = post_token(&fake, &client, creds(&fake), &grant).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = post_token(&fake, &client, creds(&fake), &grant).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[rocket::async_test]
async fn authorize_refuses_bad_requests_without_redirecting() {
    let fake = FakeWristband::start().await;
    fake.set_app_urls(APP_LOGIN, APP_CALLBACK);
    let client = client();
    let cases: [(&str, &str); 6] = [
        ("client_id", "someone-else"),
        ("redirect_uri", "http://evil.example/callback"),
        ("response_type", "token"),
        ("code_challenge_method", "plain"),
        ("code_challenge", "too-short"),
        ("redirect_uri", ""),
    ];
    for (name, value) in cases {
        let mut query = authorize_query(&fake, APP_CALLBACK);
        query.iter_mut().find(|(k, _)| k == name).unwrap().1 = value.to_string();
        let response = get_authorize(&client, &fake.tenant_url("acme"), &query).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{name}={value}");
        assert!(response.headers().get(LOCATION).is_none(), "{name}={value}");
    }
    // A repeated parameter.
    let mut query = authorize_query(&fake, APP_CALLBACK);
    query.push(("state".into(), "again".into()));
    let response = get_authorize(&client, &fake.tenant_url("acme"), &query).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(fake.calls(Endpoint::Authorize), 7);
}

#[rocket::async_test]
async fn authorize_fills_the_tenant_placeholder_and_reports_custom_domains() {
    let fake = FakeWristband::start().await;
    let template = "http://{tenant_name}.localhost:9/auth/callback";
    fake.set_app_urls("http://{tenant_name}.localhost:9/auth/login", template);
    let client = client();

    // The raw template, as Wristband's SDKs send it.
    let response =
        get_authorize(&client, &fake.tenant_url("globex"), &authorize_query(&fake, template)).await;
    let back = location(&response);
    assert_eq!(back.host_str(), Some("globex.localhost"));
    assert_eq!(param(&back, "tenant_name").as_deref(), Some("globex"));
    // Already filled in is accepted too; another tenant's URL is not registered for this one.
    let filled = "http://globex.localhost:9/auth/callback";
    let response =
        get_authorize(&client, &fake.tenant_url("globex"), &authorize_query(&fake, filled)).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let other = "http://acme.localhost:9/auth/callback";
    let response =
        get_authorize(&client, &fake.tenant_url("globex"), &authorize_query(&fake, other)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // Any other host is a tenant custom domain.
    let custom = format!("http://127.0.0.1:{}", fake.port());
    let response = get_authorize(&client, &custom, &authorize_query(&fake, template)).await;
    let back = location(&response);
    assert_eq!(param(&back, "tenant_name").as_deref(), Some("acme"));
    assert_eq!(param(&back, "tenant_custom_domain"), Some(format!("127.0.0.1:{}", fake.port())));

    // The user's tenant name wins over the host.
    fake.set_user(FakeUser { tenant_name: Some("initech".into()), ..FakeUser::default() });
    let response =
        get_authorize(&client, &fake.tenant_url("globex"), &authorize_query(&fake, template)).await;
    let back = location(&response);
    assert_eq!(back.host_str(), Some("initech.localhost"));
    assert_eq!(param(&back, "tenant_name").as_deref(), Some("initech"));
}

#[rocket::async_test]
async fn authorize_can_answer_login_required() {
    let fake = FakeWristband::start().await;
    fake.set_app_urls(APP_LOGIN, APP_CALLBACK);
    fake.set_authorize_error(Some("login_required"));
    let client = client();
    let query = authorize_query(&fake, APP_CALLBACK);
    let response = get_authorize(&client, &fake.tenant_url("acme"), &query).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let back = location(&response);
    assert_eq!(param(&back, "error").as_deref(), Some("login_required"));
    assert!(param(&back, "error_description").is_some());
    assert_eq!(param(&back, "state").as_deref(), Some("the-state"));
    assert_eq!(param(&back, "tenant_name").as_deref(), Some("acme"));
    assert_eq!(param(&back, "code"), None);

    fake.set_authorize_error(None);
    let response = get_authorize(&client, &fake.tenant_url("acme"), &query).await;
    assert!(param(&location(&response), "code").is_some());
}

#[rocket::async_test]
async fn the_sign_in_page_posts_back_and_then_redirects() {
    let fake = FakeWristband::start().await;
    fake.set_app_urls(APP_LOGIN, APP_CALLBACK);
    fake.set_auto_approve(false);
    let client = client();
    let response =
        get_authorize(&client, &fake.tenant_url("acme"), &authorize_query(&fake, APP_CALLBACK))
            .await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(page.contains("<form method=\"post\" action=\"/api/v1/oauth2/authorize\">"), "{page}");
    assert!(page.contains(">Sign in</button>"), "{page}");
    assert!(page.contains("fake.user@example.com"), "{page}");
    assert!(!page.contains("http://") && !page.contains("https://"), "no external assets: {page}");
    let marker = "name=\"request_id\" value=\"";
    let start = page.find(marker).unwrap() + marker.len();
    let request_id = &page[start..start + page[start..].find('"').unwrap()];

    let sign_in = format!("{}/api/v1/oauth2/authorize", fake.tenant_url("acme"));
    let response = client.post(&sign_in).form(&[("request_id", request_id)]).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let back = location(&response);
    assert!(back.as_str().starts_with(APP_CALLBACK));
    let code = param(&back, "code").unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", APP_CALLBACK),
        ("code_verifier", VERIFIER),
    ];
    assert_eq!(post_token(&fake, &client, creds(&fake), &form).await.0, StatusCode::OK);

    // The button works once.
    let response = client.post(&sign_in).form(&[("request_id", request_id)]).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(fake.calls(Endpoint::Authorize), 3);
}

#[rocket::async_test]
async fn scripted_failures_then_normal_behaviour_and_counters() {
    let fake = FakeWristband::start().await;
    fake.set_app_urls(APP_LOGIN, APP_CALLBACK);
    let client = client();
    let refresh = fake.issue_refresh_token("u1", "t1");
    fake.script(
        Endpoint::Token,
        [
            Reply::Status(503),
            Reply::Json(500, json!({ "error": "server_error" })),
            Reply::InvalidGrant(Some("scripted".into())),
            Reply::InvalidGrant(None),
        ],
    );
    let grant = [("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())];
    let (status, body) = post_token(&fake, &client, creds(&fake), &grant).await;
    assert_eq!((status, body), (StatusCode::SERVICE_UNAVAILABLE, Value::Null));
    let (status, body) = post_token(&fake, &client, creds(&fake), &grant).await;
    assert_eq!(
        (status, body),
        (StatusCode::INTERNAL_SERVER_ERROR, json!({"error": "server_error"}))
    );
    let (status, body) = post_token(&fake, &client, creds(&fake), &grant).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_grant", "error_description": "scripted"})
        )
    );
    let (status, body) = post_token(&fake, &client, creds(&fake), &grant).await;
    assert_eq!((status, body), (StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"})));
    // The scripted calls did not spend the token: the normal answer succeeds.
    let (status, body) = post_token(&fake, &client, creds(&fake), &grant).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(fake.calls(Endpoint::Token), 5);

    // Scripts apply to every endpoint, and counters are per endpoint.
    fake.script(Endpoint::SdkConfiguration, [Reply::Status(500), Reply::Status(404)]);
    let url = format!("{}/api/v1/clients/{}/sdk-configuration", fake.base_url(), fake.client_id());
    let statuses = [
        client.get(&url).send().await.unwrap().status(),
        client.get(&url).send().await.unwrap().status(),
        client.get(&url).send().await.unwrap().status(),
    ];
    assert_eq!(
        statuses,
        [StatusCode::INTERNAL_SERVER_ERROR, StatusCode::NOT_FOUND, StatusCode::OK]
    );
    assert_eq!(fake.calls(Endpoint::SdkConfiguration), 3);
    fake.script(Endpoint::Authorize, [Reply::Status(502)]);
    let response =
        get_authorize(&client, &fake.tenant_url("acme"), &authorize_query(&fake, APP_CALLBACK))
            .await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(fake.calls(Endpoint::Authorize), 1);
    assert_eq!(fake.calls(Endpoint::Userinfo), 0);
    assert_eq!(fake.calls(Endpoint::Logout), 0);
}

#[rocket::async_test]
async fn delays_slow_down_answers() {
    let fake = FakeWristband::start().await;
    let client = client();
    let jwks_url = format!("{}/api/v1/oauth2/jwks", fake.base_url());

    fake.set_delay(Endpoint::Jwks, Duration::from_millis(300));
    let started = Instant::now();
    assert_eq!(client.get(&jwks_url).send().await.unwrap().status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(300), "{:?}", started.elapsed());
    fake.set_delay(Endpoint::Jwks, Duration::ZERO);
    let started = Instant::now();
    client.get(&jwks_url).send().await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(300), "{:?}", started.elapsed());

    // A scripted delay, then the normal answer (here: 401, no token).
    fake.script(Endpoint::Userinfo, [Reply::Delay(Duration::from_millis(250))]);
    let started = Instant::now();
    let (status, _) = userinfo(&fake, &client, "unknown").await;
    assert!(started.elapsed() >= Duration::from_millis(250), "{:?}", started.elapsed());
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A client with a shorter timeout gives up.
    fake.set_delay(Endpoint::Jwks, Duration::from_millis(500));
    let impatient = Client::builder().timeout(Duration::from_millis(100)).build().unwrap();
    assert!(impatient.get(&jwks_url).send().await.unwrap_err().is_timeout());
    assert_eq!(fake.calls(Endpoint::Jwks), 3);
}

#[rocket::async_test]
async fn jwks_and_key_rotation() {
    let fake = FakeWristband::start().await;
    let client = client();
    let set = jwks(&fake, &client).await;
    assert_eq!(set.keys.len(), 1);
    let raw: Value = client
        .get(format!("{}/api/v1/oauth2/jwks", fake.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = &raw["keys"][0];
    assert_eq!(
        (&key["kty"], &key["use"], &key["alg"]),
        (&json!("RSA"), &json!("sig"), &json!("RS256"))
    );
    assert_eq!(key["kid"], fake.current_kid());
    assert_eq!(key["e"], "AQAB");
    assert!(key["n"].as_str().unwrap().len() >= 342, "a 2048-bit modulus");

    let old_kid = fake.current_kid();
    let old_token = fake.issue_access_token("user-1", "tenant-1", 300);
    let claims = verify(&fake, &set, &old_token).unwrap();
    assert_eq!(
        (claims["sub"].as_str(), claims["tnt_id"].as_str()),
        (Some("user-1"), Some("tenant-1"))
    );
    assert_eq!(claims["iss"], fake.base_url());
    assert_eq!(claims["app_id"], "fake-app-id");
    let exp = claims["exp"].as_i64().unwrap();
    assert!((exp - claims["iat"].as_i64().unwrap() - 300).abs() <= 1);
    assert_eq!(claims.get("nbf"), None, "Wristband's access tokens have no nbf");
    assert_eq!(claims["auth_time"], claims["iat"]);

    fake.rotate_signing_key();
    let new_kid = fake.current_kid();
    assert_ne!(new_kid, old_kid);
    let new_token = fake.issue_access_token("user-1", "tenant-1", 300);
    assert_eq!(
        jsonwebtoken::decode_header(&new_token).unwrap().kid.as_deref(),
        Some(new_kid.as_str())
    );
    // The old JWKS does not know the new kid; the new one serves both keys, new first.
    assert!(verify(&fake, &set, &new_token).is_err());
    let set = jwks(&fake, &client).await;
    let kids: Vec<_> = set.keys.iter().filter_map(|k| k.common.key_id.clone()).collect();
    assert_eq!(kids, vec![new_kid.clone(), old_kid.clone()]);
    verify(&fake, &set, &new_token).unwrap();
    verify(&fake, &set, &old_token).unwrap();
    // The keys really differ: the new token does not verify with the old key.
    let old_jwk = set.find(&old_kid).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_aud = false;
    assert!(jsonwebtoken::decode::<Value>(
        &new_token,
        &DecodingKey::from_jwk(old_jwk).unwrap(),
        &validation
    )
    .is_err());
    let (AlgorithmParameters::RSA(a), AlgorithmParameters::RSA(b)) =
        (&set.keys[0].algorithm, &set.keys[1].algorithm)
    else {
        panic!("RSA keys");
    };
    assert_ne!(a.n, b.n);

    fake.retire_old_signing_keys();
    let set = jwks(&fake, &client).await;
    assert_eq!(set.keys.len(), 1);
    assert!(verify(&fake, &set, &old_token).is_err());
}

#[rocket::async_test]
async fn userinfo_accepts_only_live_tokens_it_issued() {
    let fake = FakeWristband::start().await;
    let client = client();
    fake.set_user(FakeUser {
        name: Some("Ada Lovelace".into()),
        extra_claims: [("locale".to_string(), json!("en-GB"))].into_iter().collect(),
        ..FakeUser::default()
    });
    let live = fake.issue_access_token("user-9", "tenant-9", 60);
    let (status, info) = userinfo(&fake, &client, &live).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((info["sub"].as_str(), info["tnt_id"].as_str()), (Some("user-9"), Some("tenant-9")));
    assert_eq!(info["name"], "Ada Lovelace");
    assert_eq!(info["locale"], "en-GB");

    let expired = fake.issue_access_token("user-9", "tenant-9", -10);
    assert_eq!(userinfo(&fake, &client, &expired).await.0, StatusCode::UNAUTHORIZED);
    // Signed by the fake's key but never issued by it: refused.
    let mut forged = live.clone();
    forged.push('x');
    assert_eq!(userinfo(&fake, &client, &forged).await.0, StatusCode::UNAUTHORIZED);
    let no_header =
        client.get(format!("{}/api/v1/oauth2/userinfo", fake.base_url())).send().await.unwrap();
    assert_eq!(no_header.status(), StatusCode::UNAUTHORIZED);
}

#[rocket::async_test]
async fn token_endpoint_refuses_malformed_requests() {
    let fake = FakeWristband::start().await;
    let client = client();
    let url = format!("{}/api/v1/oauth2/token", fake.base_url());
    let authed = |body: reqwest::RequestBuilder| {
        body.basic_auth(fake.client_id(), Some(fake.client_secret()))
    };

    let json_body = authed(client.post(&url).json(&json!({"grant_type": "refresh_token"})));
    let response = json_body.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "invalid_request");

    let (status, body) =
        post_token(&fake, &client, creds(&fake), &[("grant_type", "password")]).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::BAD_REQUEST, &json!("unsupported_grant_type"))
    );
    let repeated =
        [("grant_type", "refresh_token"), ("refresh_token", "a"), ("refresh_token", "b")];
    let (status, body) = post_token(&fake, &client, creds(&fake), &repeated).await;
    assert_eq!((status, &body["error"]), (StatusCode::BAD_REQUEST, &json!("invalid_request")));
    let (status, body) = post_token(&fake, &client, creds(&fake), &[]).await;
    assert_eq!((status, &body["error"]), (StatusCode::BAD_REQUEST, &json!("invalid_request")));

    let huge = "x".repeat(200 * 1024);
    let response = authed(client.post(&url).form(&[("grant_type", huge.as_str())])).send().await;
    if let Ok(response) = response {
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
    let garbage = authed(client.post(&url))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(vec![0xff, 0xfe, b'=', b'%', b'z', b'&', b'&', b'='])
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), StatusCode::BAD_REQUEST);
    let bad_auth = client.post(&url).header("Authorization", "Basic ###").send().await.unwrap();
    assert_eq!(bad_auth.status(), StatusCode::UNAUTHORIZED);
    // Still serving.
    assert_eq!(jwks(&fake, &client).await.keys.len(), 1);
}

#[rocket::async_test]
async fn logout_redirects_with_state() {
    let fake = FakeWristband::start().await;
    fake.set_app_urls(APP_LOGIN, APP_CALLBACK);
    let client = client();
    let logout = |host: String, query: Vec<(&'static str, &'static str)>| {
        let client = client.clone();
        async move { client.get(format!("{host}/api/v1/logout")).query(&query).send().await.unwrap() }
    };
    let id = "fake-client-id";

    let response = logout(
        fake.tenant_url("acme"),
        vec![("client_id", id), ("redirect_url", "http://127.0.0.1:9/bye?x=1"), ("state", "s 1")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(location(&response).as_str(), "http://127.0.0.1:9/bye?x=1&state=s+1");

    // No redirect_url: back to the app's login for the tenant (every case: tests/it/fake_logout.rs).
    let response =
        logout(fake.tenant_url("globex"), vec![("client_id", id), ("state", "s2")]).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(location(&response).as_str(), format!("{APP_LOGIN}?tenant_name=globex&state=s2"));

    // A redirect_url that is not an http(s) URL, or another client: refused.
    let response =
        logout(fake.base_url(), vec![("client_id", id), ("redirect_url", "javascript:x")]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get(LOCATION).is_none());
    let response = logout(fake.base_url(), vec![("client_id", "other")]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(fake.calls(Endpoint::Logout), 4);
}

#[rocket::async_test]
async fn shutdown_and_drop_stop_the_server() {
    let fake = FakeWristband::start().await;
    let url = format!("{}/api/v1/oauth2/jwks", fake.base_url());
    let fresh = || Client::builder().pool_max_idle_per_host(0).build().unwrap();
    assert!(fresh().get(&url).send().await.is_ok());
    fake.shutdown().await;
    assert!(fresh().get(&url).send().await.is_err());

    let fake = FakeWristband::start().await;
    let url = format!("{}/api/v1/oauth2/jwks", fake.base_url());
    drop(fake);
    let mut stopped = false;
    for _ in 0..100 {
        if fresh().get(&url).send().await.is_err() {
            stopped = true;
            break;
        }
        rocket::tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(stopped, "the server still answers after the drop");
}

#[rocket::async_test]
async fn a_code_is_redeemed_once_even_by_concurrent_requests() {
    let fake = FakeWristband::start().await;
    fake.set_app_urls(APP_LOGIN, APP_CALLBACK);
    let client = client();
    let code = code_for(&fake, &client).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", APP_CALLBACK),
        ("code_verifier", VERIFIER),
    ];
    let url = format!("{}/api/v1/oauth2/token", fake.base_url());
    let mut attempts = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let request =
            client.post(&url).basic_auth(fake.client_id(), Some(fake.client_secret())).form(&form);
        attempts.spawn(async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        });
    }
    let results = attempts.join_all().await;
    let ok = results.iter().filter(|(status, _)| *status == StatusCode::OK).count();
    assert_eq!(ok, 1, "{results:?}");
    assert!(results
        .iter()
        .all(|(status, body)| *status == StatusCode::OK || body["error"] == "invalid_grant"));
}

/// Access tokens carry exactly Wristband's claims (header `typ: at+JWT`), ID tokens are OIDC
/// ID tokens for this client (`aud`, the authorize request's `nonce`); a refresh keeps the
/// sign-in time and the scopes, and its ID token has no nonce.
#[rocket::async_test]
async fn tokens_carry_wristbands_claims() {
    let fake = FakeWristband::start().await;
    fake.set_app_urls(APP_LOGIN, APP_CALLBACK);
    let client = client();
    let code = code_for(&fake, &client).await;
    let tokens = redeem(&fake, &client, &code).await;
    assert_eq!(tokens["scope"], "openid offline_access email");
    let set = jwks(&fake, &client).await;

    // The access token.
    let access = tokens["access_token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(access).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+JWT"));
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.kid, Some(fake.current_kid()));
    let claims = verify(&fake, &set, access).unwrap();
    println!("access token claims: {claims}");
    assert_eq!(claim_names(&claims), ACCESS_CLAIMS);
    assert_eq!(claims["iss"], fake.base_url());
    assert_eq!(claims["sub"], "fake-user-1");
    assert_eq!(claims["sub_kind"], "user");
    assert_eq!(claims["client_id"], fake.client_id());
    assert_eq!(claims["tnt_id"], "fake-tenant-1");
    assert_eq!(claims["app_id"], fake.application_id());
    assert_eq!(claims["van_dom"], fake.vanity_domain());
    assert_eq!(claims["idp_name"], "wristband");
    assert_eq!(claims["scope"], "openid offline_access email");
    let [iat, exp, auth_time] = ["iat", "exp", "auth_time"].map(|c| claims[c].as_i64().unwrap());
    assert_eq!(exp - iat, 1800);
    assert!(auth_time > 0 && auth_time <= iat, "auth_time {auth_time}, iat {iat}");
    assert!(claims["jti"].as_str().is_some_and(|jti| !jti.is_empty()));
    assert_eq!(claims["amr"], json!(["pwd"]));

    // The ID token.
    let id_token = tokens["id_token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    assert_eq!(header.alg, Algorithm::RS256);
    let id = verify_with(&set, id_token, &fake.base_url(), Some(fake.client_id())).unwrap();
    println!("ID token claims: {id}");
    assert_eq!(claim_names(&id), ID_CLAIMS);
    assert_eq!(id["aud"], fake.client_id());
    assert_eq!(id["nonce"], "the-nonce");
    assert_eq!(id["sub"], claims["sub"]);
    assert_eq!(id["auth_time"], auth_time);
    assert_eq!(id["amr"], json!(["pwd"]));
    assert!(verify_with(&set, id_token, &fake.base_url(), Some("another-client")).is_err());

    // A refresh: a new jti, the same sign-in time and scopes; an ID token without a nonce.
    let grant = [
        ("grant_type", "refresh_token"),
        ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
    ];
    let (status, refreshed) = post_token(&fake, &client, creds(&fake), &grant).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let again = verify(&fake, &set, refreshed["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(claim_names(&again), ACCESS_CLAIMS);
    assert_ne!(again["jti"], claims["jti"]);
    assert_eq!(again["auth_time"], auth_time);
    assert_eq!(again["scope"], "openid offline_access email");
    let id_token = refreshed["id_token"].as_str().unwrap();
    let id = verify_with(&set, id_token, &fake.base_url(), Some(fake.client_id())).unwrap();
    assert_eq!(id.get("nonce"), None);

    // The scopes are those asked for.
    let mut query = authorize_query(&fake, APP_CALLBACK);
    query.iter_mut().find(|(k, _)| k == "scope").unwrap().1 = "openid roles".into();
    let response = get_authorize(&client, &fake.tenant_url("acme"), &query).await;
    let code = param(&location(&response), "code").unwrap();
    let tokens = redeem(&fake, &client, &code).await;
    assert_eq!(tokens["scope"], "openid roles");
    let claims = verify(&fake, &set, tokens["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(claims["scope"], "openid roles");

    // Tokens made by hand have the same shape.
    let by_hand = verify(&fake, &set, &fake.issue_access_token("u-1", "t-1", 60)).unwrap();
    assert_eq!(claim_names(&by_hand), ACCESS_CLAIMS);
    assert_eq!((&by_hand["sub"], &by_hand["tnt_id"]), (&json!("u-1"), &json!("t-1")));
}

/// With a public URL (a TLS proxy in front), every token names it as `iss` (and its host as
/// `van_dom`), the fake's URLs and the app options follow it, and its host is understood in
/// `Host` headers; `None` goes back to `http://localhost:<port>`.
#[rocket::async_test]
async fn a_public_url_is_the_issuer_of_every_token() {
    const PUBLIC: &str = "https://auth.example.test";
    let fake = FakeWristband::start().await;
    fake.set_app_urls(APP_LOGIN, APP_CALLBACK);
    let local = format!("http://localhost:{}", fake.port());
    assert_eq!((fake.base_url(), fake.local_url()), (local.clone(), local.clone()));
    let before = fake.issue_access_token("u-1", "t-1", 300);

    fake.set_public_url(Some(PUBLIC));
    assert_eq!(fake.base_url(), PUBLIC);
    assert_eq!(fake.local_url(), local);
    assert_eq!(fake.vanity_domain(), "auth.example.test");
    assert_eq!(fake.tenant_url("acme"), "https://acme.auth.example.test");
    let options = fake.auth_options();
    assert_eq!(options.wristband_application_vanity_domain, "auth.example.test");
    assert_eq!(options.wristband_scheme, wristband_rocket_session::WristbandScheme::Https);

    // What a proxy that keeps the Host header sends on: the public names, on the fake's port.
    let addr = SocketAddr::from(([127, 0, 0, 1], 0));
    let proxied = Client::builder()
        .redirect(Policy::none())
        .resolve("auth.example.test", addr)
        .resolve("globex.auth.example.test", addr)
        .build()
        .unwrap();
    let on = |host: &str| format!("http://{host}:{}", fake.port());
    let query = authorize_query(&fake, APP_CALLBACK);
    let response = get_authorize(&proxied, &on("globex.auth.example.test"), &query).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let back = location(&response);
    assert_eq!(param(&back, "tenant_name").as_deref(), Some("globex"));
    assert_eq!(param(&back, "tenant_custom_domain"), None);
    let tokens = redeem(&fake, &client(), &param(&back, "code").unwrap()).await;
    let jwks_url = format!("{}/api/v1/oauth2/jwks", on("auth.example.test"));
    let set: JwkSet = proxied.get(jwks_url).send().await.unwrap().json().await.unwrap();

    let access = tokens["access_token"].as_str().unwrap();
    let claims = verify_with(&set, access, PUBLIC, None).unwrap();
    assert_eq!(claims["iss"], PUBLIC);
    assert_eq!(claims["van_dom"], "auth.example.test");
    assert!(verify_with(&set, access, &local, None).is_err(), "not the local issuer any more");
    let id_token = tokens["id_token"].as_str().unwrap();
    let id = verify_with(&set, id_token, PUBLIC, Some(fake.client_id())).unwrap();
    assert_eq!(id["iss"], PUBLIC);
    let by_hand = fake.issue_access_token("u-1", "t-1", 300);
    assert_eq!(verify_with(&set, &by_hand, PUBLIC, None).unwrap()["van_dom"], "auth.example.test");
    // A token issued before keeps its issuer.
    assert_eq!(verify_with(&set, &before, &local, None).unwrap()["iss"], local);

    // A URL that is more than an origin is refused, loudly, and changes nothing.
    for bad in ["https://auth.example.test/base", "auth.example.test", "ftp://x.test"] {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            fake.set_public_url(Some(bad));
        }));
        assert!(outcome.is_err(), "{bad} accepted");
    }
    assert_eq!(fake.base_url(), PUBLIC);

    fake.set_public_url(None);
    assert_eq!(fake.base_url(), local);
    assert_eq!(fake.vanity_domain(), format!("localhost:{}", fake.port()));
    let after = fake.issue_access_token("u-1", "t-1", 300);
    assert_eq!(verify_with(&set, &after, &local, None).unwrap()["van_dom"], fake.vanity_domain());
}

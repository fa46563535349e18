//! The Wristband layer through `rocket::local`: `CallbackData`/`UserInfo` JSON, logging in with
//! `Session::from_callback`, the `AuthenticatedSession` guard (401, forward, CSRF 403, success),
//! rolling expiry, the CSRF cookie, `destroy()`, the session and token endpoints' responses, and
//! the guard's sentinel.

use rocket::config::LogLevel;
use rocket::http::{ContentType, Cookie, Header, SameSite, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use rocket::response::Redirect;
use rocket::serde::json::Json;
use rocket::{Build, Rocket};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use wristband_rocket_session::{
    catchers, AuthenticatedSession, CallbackData, SameSiteOption, Session, SessionCodec,
    SessionError, SessionResponse, TokenResponse, UserInfo, WristbandSession,
};
use wristband_rocket_session::{SessionOptions, UserInfoRole};

const SECRET: &str = "auth-test-secret-0123456789-abcdefghijklmnop";

/// The session keys Wristband's fields own.
const WRISTBAND_KEYS: [&str; 10] = [
    "isAuthenticated",
    "accessToken",
    "expiresAt",
    "refreshToken",
    "userId",
    "tenantId",
    "tenantName",
    "identityProviderName",
    "tenantCustomDomain",
    "csrfToken",
];

// ----- routes -------------------------------------------------------------------------------

/// Logs in with the posted callback data.
#[post("/login", data = "<data>")]
fn login(session: Session<'_>, data: Json<CallbackData>) -> Result<Status, SessionError> {
    session.from_callback(&data, None)?;
    Ok(Status::NoContent)
}

#[derive(Deserialize)]
struct LoginWith {
    data: CallbackData,
    custom: Map<String, Value>,
}

/// Logs in with custom fields; answers what `from_callback` returned and the keys afterwards.
#[post("/login-custom", data = "<body>")]
fn login_custom(session: Session<'_>, body: Json<LoginWith>) -> Json<Value> {
    let result = match session.from_callback(&body.data, Some(body.custom.clone())) {
        Ok(()) => "ok".to_string(),
        Err(SessionError::ReservedKey { key }) => format!("ReservedKey:{key}"),
        Err(SessionError::TooLarge { size, limit }) => {
            assert!(size > limit, "TooLarge reports {size} over {limit}");
            "TooLarge".to_string()
        }
        Err(e) => format!("other:{e}"),
    };
    Json(json!({ "result": result, "keys": session.keys() }))
}

/// Writes data from before any login.
#[post("/seed")]
fn seed(session: Session<'_>) {
    session.insert("stale", "from before").unwrap();
    session.insert("userId", "old-user").unwrap();
    session.insert("cart", json!([1, 2, 3])).unwrap();
}

/// Sets only `isAuthenticated`: an incomplete session.
#[post("/auth-only")]
fn auth_only(session: Session<'_>) {
    session.insert("isAuthenticated", true).unwrap();
}

/// The whole session as JSON, read through `Session::get`.
#[get("/dump")]
fn dump(session: Session<'_>) -> Json<Value> {
    let mut map = Map::new();
    for key in session.keys() {
        map.insert(key.clone(), session.get::<Value>(&key).unwrap().unwrap());
    }
    Json(Value::Object(map))
}

/// The typed accessors.
#[get("/typed")]
fn typed(session: Session<'_>) -> Json<Value> {
    Json(json!({
        "isAuthenticated": session.is_authenticated(),
        "accessToken": session.access_token(),
        "expiresAt": session.expires_at(),
        "refreshToken": session.refresh_token(),
        "userId": session.user_id(),
        "tenantId": session.tenant_id(),
        "tenantName": session.tenant_name(),
        "identityProviderName": session.identity_provider_name(),
        "tenantCustomDomain": session.tenant_custom_domain(),
        "csrfToken": session.csrf_token(),
    }))
}

#[get("/guarded")]
fn guarded_get(session: AuthenticatedSession<'_>) -> String {
    format!("GET {} {}", session.user_id(), session.tenant_id())
}

#[post("/guarded")]
fn guarded_post(session: AuthenticatedSession<'_>) -> String {
    format!("POST {} {}", session.user_id(), session.tenant_id())
}

#[get("/fallback")]
fn fallback_get(session: AuthenticatedSession<'_>) -> String {
    session.user_id()
}

#[get("/fallback", rank = 2)]
fn fallback_get_login() -> Redirect {
    Redirect::to("/login")
}

#[post("/fallback")]
fn fallback_post(session: AuthenticatedSession<'_>) -> String {
    session.user_id()
}

#[post("/fallback", rank = 2)]
fn fallback_post_login() -> Redirect {
    Redirect::to("/login")
}

#[post("/destroy")]
fn destroy(session: Session<'_>) -> Status {
    session.destroy();
    Status::NoContent
}

#[get("/api/session")]
fn api_session(session: AuthenticatedSession<'_>) -> Result<SessionResponse, SessionError> {
    session.session_response(None)
}

#[get("/api/session-meta")]
fn api_session_meta(session: AuthenticatedSession<'_>) -> Result<SessionResponse, SessionError> {
    session.session_response(Some(json!({ "tenantName": session.tenant_name(), "n": 7 })))
}

#[get("/api/token")]
fn api_token(session: AuthenticatedSession<'_>) -> Result<TokenResponse, SessionError> {
    session.token_response()
}

#[get("/partial/session")]
fn partial_session(session: Session<'_>) -> Result<SessionResponse, SessionError> {
    session.session_response(None)
}

#[get("/partial/token")]
fn partial_token(session: Session<'_>) -> Result<TokenResponse, SessionError> {
    session.token_response()
}

/// Which errors the two responses give on this session.
#[get("/partial/errors")]
fn partial_errors(session: Session<'_>) -> String {
    fn describe<T>(result: Result<T, SessionError>) -> String {
        match result {
            Ok(_) => "ok".into(),
            Err(SessionError::MissingField { key }) => format!("MissingField:{key}"),
            Err(e) => format!("other:{e}"),
        }
    }
    format!("{} {}", describe(session.session_response(None)), describe(session.token_response()))
}

// ----- helpers ------------------------------------------------------------------------------

fn options(csrf: bool) -> SessionOptions {
    SessionOptions {
        secrets: SECRET.into(),
        max_age: 1234,
        enable_csrf_protection: csrf,
        ..SessionOptions::default()
    }
}

fn app(options: SessionOptions) -> Rocket<Build> {
    rocket::custom(rocket::Config::figment().merge(("log_level", LogLevel::Off)))
        .attach(WristbandSession::custom(options))
        .register("/", catchers())
        .mount(
            "/",
            routes![
                login,
                login_custom,
                seed,
                auth_only,
                dump,
                typed,
                guarded_get,
                guarded_post,
                fallback_get,
                fallback_get_login,
                fallback_post,
                fallback_post_login,
                destroy,
                api_session,
                api_session_meta,
                api_token,
                partial_session,
                partial_token,
                partial_errors,
            ],
        )
}

async fn client(options: SessionOptions) -> Client {
    Client::tracked(app(options)).await.expect("valid rocket")
}

/// Callback JSON with every field Wristband can send.
fn full_callback() -> Value {
    json!({
        "accessToken": "access-token-AAAA",
        "expiresAt": 1_767_225_600_000_i64,
        "expiresIn": 1740,
        "idToken": "id-token-IIII",
        "refreshToken": "refresh-token-RRRR",
        "tenantName": "acme",
        "tenantCustomDomain": "login.acme.example",
        "customState": { "next": "/reports", "tab": 2 },
        "returnUrl": "https://app.example/reports",
        "userinfo": {
            "userId": "user-1",
            "tenantId": "tenant-1",
            "applicationId": "app-1",
            "identityProviderName": "wristband",
            "fullName": "Ada Lovelace",
            "givenName": "Ada",
            "familyName": "Lovelace",
            "middleName": "King",
            "nickname": "ada",
            "displayName": "Ada L.",
            "pictureUrl": "https://img.example/ada.png",
            "gender": "female",
            "birthdate": "1815-12-10",
            "timeZone": "Europe/London",
            "locale": "en-GB",
            "updatedAt": 1_700_000_000_i64,
            "email": "ada@example.com",
            "emailVerified": true,
            "phoneNumber": "+44 20 0000 0000",
            "phoneNumberVerified": false,
            "roles": [
                { "id": "r1", "name": "app:demo:admin", "displayName": "Admin" },
                { "id": "r2", "name": "app:demo:viewer", "displayName": "Viewer" }
            ],
            "customClaims": { "plan": "gold", "seats": 5 }
        }
    })
}

/// Callback JSON with only the fields that are always present.
fn minimal_callback(user: &str, tenant: &str) -> Value {
    json!({
        "accessToken": format!("access-{user}"),
        "expiresAt": 1_767_225_600_000_i64,
        "expiresIn": 1740,
        "idToken": format!("id-{user}"),
        "tenantName": format!("name-of-{tenant}"),
        "userinfo": {
            "userId": user,
            "tenantId": tenant,
            "applicationId": "app-1",
            "identityProviderName": "wristband"
        }
    })
}

async fn post_login<'c>(client: &'c Client, data: &Value) -> LocalResponse<'c> {
    client.post("/login").header(ContentType::JSON).body(data.to_string()).dispatch().await
}

async fn login_custom_call(client: &Client, data: &Value, custom: Value) -> Value {
    let resp = client
        .post("/login-custom")
        .header(ContentType::JSON)
        .body(json!({ "data": data, "custom": custom }).to_string())
        .dispatch()
        .await;
    assert_eq!(resp.status(), Status::Ok);
    resp.into_json::<Value>().await.expect("JSON body")
}

async fn get_json(client: &Client, path: &str) -> Value {
    let resp = client.get(path.to_string()).dispatch().await;
    assert_eq!(resp.status(), Status::Ok, "GET {path}");
    resp.into_json::<Value>().await.expect("JSON body")
}

/// The `Set-Cookie` headers of a response, parsed.
fn set_cookies(resp: &LocalResponse<'_>) -> Vec<Cookie<'static>> {
    resp.headers()
        .get("Set-Cookie")
        .map(|h| Cookie::parse(h.to_string()).expect("valid Set-Cookie"))
        .collect()
}

/// The one `Set-Cookie` of `resp` named `name`, if any.
fn set_cookie(resp: &LocalResponse<'_>, name: &str) -> Option<Cookie<'static>> {
    let mut found: Vec<_> = set_cookies(resp).into_iter().filter(|c| c.name() == name).collect();
    assert!(found.len() <= 1, "at most one `{name}` cookie: {found:?}");
    found.pop()
}

fn max_age_secs(cookie: &Cookie<'_>) -> Option<i64> {
    cookie.max_age().map(|d| d.whole_seconds())
}

fn is_token_hex(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Logs in (CSRF on) and returns the CSRF token the response set.
async fn login_csrf(client: &Client, data: &Value) -> String {
    let resp = post_login(client, data).await;
    assert_eq!(resp.status(), Status::NoContent);
    set_cookie(&resp, "CSRF-TOKEN").expect("login sets the CSRF cookie").value().to_string()
}

async fn assert_json_error(resp: LocalResponse<'_>, status: Status, body: &str) {
    assert_eq!(resp.status(), status);
    assert_eq!(resp.content_type(), Some(ContentType::JSON));
    assert_eq!(resp.into_string().await.as_deref(), Some(body));
}

// ----- CallbackData / UserInfo JSON ---------------------------------------------------------

#[test]
fn callback_data_reads_every_field_and_writes_the_same_json() {
    let original = full_callback();
    let data: CallbackData = serde_json::from_value(original.clone()).unwrap();
    assert_eq!(data.access_token, "access-token-AAAA");
    assert_eq!(data.expires_at, 1_767_225_600_000);
    assert_eq!(data.expires_in, 1740);
    assert_eq!(data.id_token, "id-token-IIII");
    assert_eq!(data.refresh_token.as_deref(), Some("refresh-token-RRRR"));
    assert_eq!(data.tenant_name, "acme");
    assert_eq!(data.tenant_custom_domain.as_deref(), Some("login.acme.example"));
    assert_eq!(data.custom_state, Some(json!({ "next": "/reports", "tab": 2 })));
    assert_eq!(data.return_url.as_deref(), Some("https://app.example/reports"));

    let user: &UserInfo = &data.userinfo;
    assert_eq!(user.user_id, "user-1");
    assert_eq!(user.tenant_id, "tenant-1");
    assert_eq!(user.application_id, "app-1");
    assert_eq!(user.identity_provider_name, "wristband");
    assert_eq!(user.full_name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(user.given_name.as_deref(), Some("Ada"));
    assert_eq!(user.family_name.as_deref(), Some("Lovelace"));
    assert_eq!(user.middle_name.as_deref(), Some("King"));
    assert_eq!(user.nickname.as_deref(), Some("ada"));
    assert_eq!(user.display_name.as_deref(), Some("Ada L."));
    assert_eq!(user.picture_url.as_deref(), Some("https://img.example/ada.png"));
    assert_eq!(user.gender.as_deref(), Some("female"));
    assert_eq!(user.birthdate.as_deref(), Some("1815-12-10"));
    assert_eq!(user.time_zone.as_deref(), Some("Europe/London"));
    assert_eq!(user.locale.as_deref(), Some("en-GB"));
    assert_eq!(user.updated_at, Some(1_700_000_000));
    assert_eq!(user.email.as_deref(), Some("ada@example.com"));
    assert_eq!(user.email_verified, Some(true));
    assert_eq!(user.phone_number.as_deref(), Some("+44 20 0000 0000"));
    assert_eq!(user.phone_number_verified, Some(false));
    let roles = user.roles.as_ref().expect("roles");
    assert_eq!(
        roles[0],
        UserInfoRole {
            id: "r1".into(),
            name: "app:demo:admin".into(),
            display_name: "Admin".into(),
        }
    );
    assert_eq!(roles.len(), 2);
    let claims = user.custom_claims.as_ref().expect("custom claims");
    assert_eq!(claims.get("plan"), Some(&json!("gold")));
    assert_eq!(claims.get("seats"), Some(&json!(5)));

    // Written back, it is the same JSON, key for key.
    assert_eq!(serde_json::to_value(&data).unwrap(), original);
    // UserInfo on its own too.
    let user_json = original["userinfo"].clone();
    let user: UserInfo = serde_json::from_value(user_json.clone()).unwrap();
    assert_eq!(serde_json::to_value(&user).unwrap(), user_json);
}

#[test]
fn callback_data_without_optional_fields_keeps_them_absent() {
    let original = minimal_callback("user-2", "tenant-2");
    let data: CallbackData = serde_json::from_value(original.clone()).unwrap();
    assert_eq!(data.refresh_token, None);
    assert_eq!(data.tenant_custom_domain, None);
    assert_eq!(data.custom_state, None);
    assert_eq!(data.return_url, None);
    let user = &data.userinfo;
    assert_eq!(user.user_id, "user-2");
    assert_eq!(user.tenant_id, "tenant-2");
    assert!(user.full_name.is_none() && user.email.is_none() && user.roles.is_none());
    assert!(user.custom_claims.is_none() && user.updated_at.is_none());

    let written = serde_json::to_value(&data).unwrap();
    assert_eq!(written, original);
    for absent in ["refreshToken", "tenantCustomDomain", "customState", "returnUrl"] {
        assert!(written.get(absent).is_none(), "{absent} stays absent");
    }
    let user_keys: Vec<&String> = written["userinfo"].as_object().unwrap().keys().collect();
    assert_eq!(user_keys.len(), 4, "only the four always-present fields: {user_keys:?}");

    // A required field missing is an error, not a default.
    let mut broken = original.clone();
    broken.as_object_mut().unwrap().remove("accessToken");
    assert!(serde_json::from_value::<CallbackData>(broken).is_err());
}

#[test]
fn debug_output_never_shows_tokens() {
    let data: CallbackData = serde_json::from_value(full_callback()).unwrap();
    let debug = format!("{data:?}");
    assert!(debug.contains("acme"), "Debug still shows other fields: {debug}");
    for token in ["access-token-AAAA", "id-token-IIII", "refresh-token-RRRR"] {
        assert!(!debug.contains(token), "{token} leaked: {debug}");
    }
    let pretty = format!("{data:#?}");
    assert!(!pretty.contains("access-token-AAAA") && !pretty.contains("refresh-token-RRRR"));

    let token = TokenResponse { access_token: "secret-access-token-ZZZZ".into(), expires_at: 42 };
    let debug = format!("{token:?}");
    assert!(debug.contains("42"), "{debug}");
    assert!(!debug.contains("secret-access-token-ZZZZ"), "{debug}");
}

// ----- from_callback ------------------------------------------------------------------------

#[tokio::test]
async fn from_callback_stores_wristband_fields_under_camel_case_keys() {
    let client = client(options(false)).await;
    assert_eq!(post_login(&client, &full_callback()).await.status(), Status::NoContent);

    let stored = get_json(&client, "/dump").await;
    assert_eq!(
        stored,
        json!({
            "isAuthenticated": true,
            "accessToken": "access-token-AAAA",
            "expiresAt": 1_767_225_600_000_i64,
            "userId": "user-1",
            "tenantId": "tenant-1",
            "tenantName": "acme",
            "identityProviderName": "wristband",
            "refreshToken": "refresh-token-RRRR",
            "tenantCustomDomain": "login.acme.example",
        })
    );
    let typed = get_json(&client, "/typed").await;
    assert_eq!(
        typed,
        json!({
            "isAuthenticated": true,
            "accessToken": "access-token-AAAA",
            "expiresAt": 1_767_225_600_000_i64,
            "refreshToken": "refresh-token-RRRR",
            "userId": "user-1",
            "tenantId": "tenant-1",
            "tenantName": "acme",
            "identityProviderName": "wristband",
            "tenantCustomDomain": "login.acme.example",
            "csrfToken": null,
        })
    );
}

#[tokio::test]
async fn from_callback_leaves_out_absent_refresh_token_and_custom_domain() {
    let client = client(options(false)).await;
    post_login(&client, &minimal_callback("user-2", "tenant-2")).await;

    let stored = get_json(&client, "/dump").await;
    let keys: Vec<&String> = stored.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "accessToken",
            "expiresAt",
            "identityProviderName",
            "isAuthenticated",
            "tenantId",
            "tenantName",
            "userId"
        ]
    );
    let typed = get_json(&client, "/typed").await;
    assert_eq!(typed["refreshToken"], Value::Null);
    assert_eq!(typed["tenantCustomDomain"], Value::Null);
    assert_eq!(typed["userId"], "user-2");
    assert_eq!(typed["tenantName"], "name-of-tenant-2");
}

#[tokio::test]
async fn from_callback_merges_custom_fields_and_drops_stale_keys() {
    let client = client(options(true)).await;
    // Data from before the login.
    client.post("/seed").dispatch().await;
    assert_eq!(get_json(&client, "/dump").await["stale"], "from before");

    let answer = login_custom_call(
        &client,
        &full_callback(),
        json!({ "theme": "dark", "visits": 3, "prefs": { "lang": "fr" } }),
    )
    .await;
    assert_eq!(answer["result"], "ok");

    let stored = get_json(&client, "/dump").await;
    assert_eq!(stored["theme"], "dark");
    assert_eq!(stored["visits"], 3);
    assert_eq!(stored["prefs"], json!({ "lang": "fr" }));
    assert_eq!(stored["userId"], "user-1");
    assert!(stored.get("stale").is_none(), "stale key survived: {stored}");
    assert!(stored.get("cart").is_none(), "stale key survived: {stored}");
    assert!(is_token_hex(stored["csrfToken"].as_str().unwrap()));
    let keys = stored.as_object().unwrap().len();
    assert_eq!(keys, 9 + 1 + 3, "Wristband fields, CSRF token, custom fields");
}

#[tokio::test]
async fn from_callback_refuses_every_reserved_custom_key_and_changes_nothing() {
    let client = client(options(true)).await;
    // Logged in as user-a with a custom mark.
    let answer =
        login_custom_call(&client, &minimal_callback("user-a", "tenant-a"), json!({ "mark": "a" }))
            .await;
    assert_eq!(answer["result"], "ok");
    let before = get_json(&client, "/dump").await;

    for key in WRISTBAND_KEYS {
        // A login as user-b whose custom fields use a Wristband key.
        let resp = client
            .post("/login-custom")
            .header(ContentType::JSON)
            .body(
                json!({
                    "data": minimal_callback("user-b", "tenant-b"),
                    "custom": { "ok": 1, key: "hijack" },
                })
                .to_string(),
            )
            .dispatch()
            .await;
        assert!(set_cookies(&resp).is_empty(), "refused login writes no cookie");
        let answer: Value = resp.into_json().await.unwrap();
        assert_eq!(answer["result"], format!("ReservedKey:{key}"));
        // Within that request the session still is user-a's.
        let keys: Vec<String> = serde_json::from_value(answer["keys"].clone()).unwrap();
        let mut expected: Vec<String> = before.as_object().unwrap().keys().cloned().collect();
        expected.sort();
        assert_eq!(keys, expected, "after refusing `{key}`");
        assert_eq!(get_json(&client, "/dump").await, before, "after `{key}`");
    }
}

#[tokio::test]
async fn from_callback_refuses_too_large_custom_data_and_changes_nothing() {
    let client = client(options(false)).await;
    post_login(&client, &minimal_callback("user-a", "tenant-a")).await;
    let before = get_json(&client, "/dump").await;

    let resp = client
        .post("/login-custom")
        .header(ContentType::JSON)
        .body(
            json!({
                "data": minimal_callback("user-b", "tenant-b"),
                "custom": { "blob": "x".repeat(5000) },
            })
            .to_string(),
        )
        .dispatch()
        .await;
    assert!(set_cookies(&resp).is_empty(), "refused login writes no cookie");
    let answer: Value = resp.into_json().await.unwrap();
    assert_eq!(answer["result"], "TooLarge");
    assert_eq!(get_json(&client, "/dump").await, before);

    // The same with a blob that fits goes through.
    let answer = login_custom_call(
        &client,
        &minimal_callback("user-b", "tenant-b"),
        json!({ "blob": "x".repeat(1000) }),
    )
    .await;
    assert_eq!(answer["result"], "ok");
    assert_eq!(get_json(&client, "/dump").await["userId"], "user-b");
}

// ----- AuthenticatedSession outcomes --------------------------------------------------------

#[tokio::test]
async fn no_session_is_401_json_for_get_and_post() {
    for csrf in [false, true] {
        let client = client(options(csrf)).await;
        let resp = client.get("/guarded").dispatch().await;
        assert!(set_cookies(&resp).is_empty());
        assert_json_error(resp, Status::Unauthorized, r#"{"error":"Unauthorized"}"#).await;
        let resp = client.post("/guarded").dispatch().await;
        assert!(set_cookies(&resp).is_empty());
        assert_json_error(resp, Status::Unauthorized, r#"{"error":"Unauthorized"}"#).await;
    }
}

#[tokio::test]
async fn incomplete_session_is_not_authenticated() {
    let client = client(options(false)).await;
    // `isAuthenticated` alone (no userId/tenantId) is no login.
    client.post("/auth-only").dispatch().await;
    let resp = client.get("/guarded").dispatch().await;
    assert_eq!(resp.status(), Status::Unauthorized);
    assert!(set_cookie(&resp, "session").is_none());
}

#[tokio::test]
async fn unauthenticated_requests_are_forwarded_to_a_lower_ranked_route() {
    let client = client(options(true)).await;
    let resp = client.get("/fallback").dispatch().await;
    assert_eq!(resp.status(), Status::SeeOther);
    assert_eq!(resp.headers().get_one("Location"), Some("/login"));
    let resp = client.post("/fallback").dispatch().await;
    assert_eq!(resp.status(), Status::SeeOther);
    assert_eq!(resp.headers().get_one("Location"), Some("/login"));

    // Once logged in the first route answers.
    let token = login_csrf(&client, &minimal_callback("user-f", "tenant-f")).await;
    let resp = client.get("/fallback").header(Header::new("X-CSRF-TOKEN", token)).dispatch().await;
    assert_eq!(resp.status(), Status::Ok);
    assert_eq!(resp.into_string().await.as_deref(), Some("user-f"));
}

#[tokio::test]
async fn authenticated_without_csrf_protection_passes_get_and_post() {
    let client = client(options(false)).await;
    post_login(&client, &full_callback()).await;
    let resp = client.get("/guarded").dispatch().await;
    assert_eq!(resp.status(), Status::Ok);
    assert_eq!(resp.into_string().await.as_deref(), Some("GET user-1 tenant-1"));
    let resp = client.post("/guarded").dispatch().await;
    assert_eq!(resp.status(), Status::Ok);
    assert_eq!(resp.into_string().await.as_deref(), Some("POST user-1 tenant-1"));
}

/// Tokens that are not `token` but close to it.
fn near_misses(token: &str) -> Vec<String> {
    // One character different, at the start, middle and end.
    let mut wrong_tokens = Vec::new();
    for at in [0, 31, 63] {
        let mut bytes = token.as_bytes().to_vec();
        bytes[at] = if bytes[at] == b'a' { b'b' } else { b'a' };
        wrong_tokens.push(String::from_utf8(bytes).unwrap());
    }
    // Other lengths.
    wrong_tokens.push(token[..63].to_string());
    wrong_tokens.push(format!("{token}0"));
    wrong_tokens.push(String::new());
    wrong_tokens.push(token.to_uppercase());
    wrong_tokens
}

#[tokio::test]
async fn csrf_header_must_match_the_session_token_exactly() {
    let client = client(options(true)).await;
    let token = login_csrf(&client, &full_callback()).await;
    assert!(is_token_hex(&token), "{token}");

    let wrong_tokens = near_misses(&token);

    // A GET is not checked (a safe method: CSRF protects state-changing requests), unless
    // `csrf_check_all_methods` is set: then it is checked exactly as a POST.
    let all_methods =
        Client::tracked(app(SessionOptions { csrf_check_all_methods: true, ..options(true) }))
            .await
            .unwrap();
    let all_methods_token = login_csrf(&all_methods, &full_callback()).await;
    for wrong in wrong_tokens.iter().map(Some).chain([None]) {
        let mut req = client.get("/guarded");
        if let Some(wrong) = wrong {
            req = req.header(Header::new("X-CSRF-TOKEN", wrong.clone()));
        }
        let resp = req.dispatch().await;
        assert_eq!(resp.status(), Status::Ok, "GET with {wrong:?}, the default");
        assert_eq!(resp.into_string().await.unwrap(), "GET user-1 tenant-1");
    }

    for (get, client, token) in [(true, &all_methods, &all_methods_token), (false, &client, &token)]
    {
        let method = if get { "GET" } else { "POST" };
        // No header.
        let resp = if get {
            client.get("/guarded").dispatch().await
        } else {
            client.post("/guarded").dispatch().await
        };
        assert!(set_cookies(&resp).is_empty(), "{method} without header");
        assert_json_error(resp, Status::Forbidden, r#"{"error":"Forbidden"}"#).await;

        for wrong in &near_misses(token) {
            let req = if get { client.get("/guarded") } else { client.post("/guarded") };
            let resp = req.header(Header::new("X-CSRF-TOKEN", wrong.clone())).dispatch().await;
            assert_eq!(resp.status(), Status::Forbidden, "{method} with `{wrong}`");
            assert!(set_cookies(&resp).is_empty(), "{method} with `{wrong}`");
        }

        // The right token, under any casing of the header name.
        for name in ["X-CSRF-TOKEN", "x-csrf-token", "X-Csrf-Token"] {
            let req = if get { client.get("/guarded") } else { client.post("/guarded") };
            let resp = req.header(Header::new(name, token.clone())).dispatch().await;
            assert_eq!(resp.status(), Status::Ok, "{method} with header `{name}`");
            assert_eq!(resp.into_string().await.unwrap(), format!("{method} user-1 tenant-1"));
        }
    }
}

#[tokio::test]
async fn session_without_csrf_token_is_signed_out_when_csrf_is_on() {
    let client = client(options(true)).await;
    // Sealed directly: the response phase would add a token to a session written by a route.
    let codec = SessionCodec::new(&options(true)).unwrap();
    let without: Map<String, Value> = json!({
        "isAuthenticated": true, "userId": "user-c", "tenantId": "tenant-c"
    })
    .as_object()
    .unwrap()
    .clone();
    let without = codec.seal(&without).unwrap();
    let candidate = "0123456789abcdef".repeat(4);
    for header in [None, Some(""), Some(candidate.as_str())] {
        let mut req = client.get("/guarded").cookie(("session", without.clone()));
        if let Some(value) = header {
            req = req.header(Header::new("X-CSRF-TOKEN", value.to_string()));
        }
        let resp = req.dispatch().await;
        assert!(set_cookies(&resp).is_empty(), "header {header:?}");
        // No header could ever match: not a permanent 403 but "sign in again" (401).
        assert_json_error(resp, Status::Unauthorized, r#"{"error":"Unauthorized"}"#).await;
    }

    // Control: the same session with that token in it is accepted.
    let with: Map<String, Value> = json!({
        "isAuthenticated": true, "userId": "user-c", "tenantId": "tenant-c",
        "csrfToken": candidate
    })
    .as_object()
    .unwrap()
    .clone();
    let resp = client
        .get("/guarded")
        .cookie(("session", codec.seal(&with).unwrap()))
        .header(Header::new("X-CSRF-TOKEN", candidate.clone()))
        .dispatch()
        .await;
    assert_eq!(resp.status(), Status::Ok);
    assert_eq!(resp.into_string().await.unwrap(), "GET user-c tenant-c");
}

#[tokio::test]
async fn custom_csrf_header_name_is_the_one_checked() {
    let client =
        client(SessionOptions { csrf_header_name: "X-My-Csrf".into(), ..options(true) }).await;
    let token = login_csrf(&client, &full_callback()).await;

    let resp =
        client.post("/guarded").header(Header::new("X-CSRF-TOKEN", token.clone())).dispatch().await;
    assert_eq!(resp.status(), Status::Forbidden, "the default header is not read");
    for name in ["X-My-Csrf", "x-my-csrf", "X-MY-CSRF"] {
        let resp =
            client.post("/guarded").header(Header::new(name, token.clone())).dispatch().await;
        assert_eq!(resp.status(), Status::Ok, "header `{name}`");
    }
}

// ----- rolling expiry -----------------------------------------------------------------------

#[tokio::test]
async fn with_renew_after_zero_each_guarded_success_reissues_the_session_and_csrf_token() {
    let client = client(SessionOptions { renew_after: 0, ..options(true) }).await;
    let resp = post_login(&client, &full_callback()).await;
    let mut previous = set_cookie(&resp, "session").expect("login writes the session");
    let token = set_cookie(&resp, "CSRF-TOKEN").unwrap().value().to_string();
    assert_eq!(max_age_secs(&previous), Some(1234));

    for round in 0..4 {
        let req = if round % 2 == 0 { client.get("/guarded") } else { client.post("/guarded") };
        let resp = req.header(Header::new("X-CSRF-TOKEN", token.clone())).dispatch().await;
        assert_eq!(resp.status(), Status::Ok, "round {round}");
        let session = set_cookie(&resp, "session").expect("session re-issued");
        assert_eq!(max_age_secs(&session), Some(1234), "round {round}");
        assert_ne!(session.value(), previous.value(), "fresh nonce, round {round}");
        let csrf = set_cookie(&resp, "CSRF-TOKEN").expect("CSRF cookie re-issued");
        assert_eq!(csrf.value(), token, "token stable, round {round}");
        assert_eq!(max_age_secs(&csrf), Some(1234));
        previous = session;
    }
    // The re-issued cookie still holds the login.
    let stored = get_json(&client, "/dump").await;
    assert_eq!(stored["userId"], "user-1");
    assert_eq!(stored["csrfToken"], token.as_str());
}

#[tokio::test]
async fn refused_requests_write_no_session_cookie() {
    let client = client(options(true)).await;
    let token = login_csrf(&client, &full_callback()).await;
    let kept = client.cookies().get("session").unwrap().value().to_string();

    // 403: wrong header on a state-changing request.
    let resp = client.post("/guarded").header(Header::new("X-CSRF-TOKEN", "nope")).dispatch().await;
    assert_eq!(resp.status(), Status::Forbidden);
    assert!(resp.headers().get("Set-Cookie").next().is_none());
    assert_eq!(client.cookies().get("session").unwrap().value(), kept);

    // 401: a client without a session.
    let other = Client::tracked(app(options(true))).await.unwrap();
    let resp = other.post("/guarded").dispatch().await;
    assert_eq!(resp.status(), Status::Unauthorized);
    assert!(resp.headers().get("Set-Cookie").next().is_none());

    // The first client's session is intact.
    let resp = client.get("/guarded").header(Header::new("X-CSRF-TOKEN", token)).dispatch().await;
    assert_eq!(resp.status(), Status::Ok);
}

// ----- the CSRF cookie ----------------------------------------------------------------------

#[tokio::test]
async fn csrf_cookie_has_the_session_cookie_attributes_but_is_readable() {
    let cases = [
        // Domain falls back to `domain`.
        (
            SessionOptions {
                cookie_name: "sid".into(),
                csrf_cookie_name: "XSRF".into(),
                path: "/app".into(),
                domain: Some("example.com".into()),
                same_site: SameSiteOption::Strict,
                secure: true,
                max_age: 900,
                ..options(true)
            },
            Some("example.com"),
        ),
        // Its own domain.
        (
            SessionOptions {
                cookie_name: "sid".into(),
                csrf_cookie_name: "XSRF".into(),
                domain: Some("example.com".into()),
                csrf_cookie_domain: Some("app.example.com".into()),
                same_site: SameSiteOption::Lax,
                secure: false,
                max_age: 60,
                ..options(true)
            },
            Some("app.example.com"),
        ),
        // Host-only.
        (SessionOptions { same_site: SameSiteOption::None, ..options(true) }, None),
    ];
    for (options, csrf_domain) in cases {
        let client = client(options.clone()).await;
        let resp = post_login(&client, &full_callback()).await;
        assert_eq!(resp.status(), Status::NoContent);
        if options.csrf_cookie_name != "CSRF-TOKEN" {
            assert!(set_cookie(&resp, "CSRF-TOKEN").is_none(), "only the configured name");
        }
        let session = set_cookie(&resp, &options.cookie_name).expect("session cookie");
        let csrf = set_cookie(&resp, &options.csrf_cookie_name).expect("CSRF cookie");

        assert_eq!(session.http_only(), Some(true));
        assert_ne!(csrf.http_only(), Some(true), "CSRF cookie must be readable by scripts");
        assert_eq!(max_age_secs(&csrf), Some(options.max_age));
        assert_eq!(max_age_secs(&session), Some(options.max_age));
        assert_eq!(csrf.path(), Some(options.path.as_str()));
        assert_eq!(session.path(), Some(options.path.as_str()));
        let same_site = match options.same_site {
            SameSiteOption::Lax => SameSite::Lax,
            SameSiteOption::Strict => SameSite::Strict,
            SameSiteOption::None => SameSite::None,
        };
        assert_eq!(csrf.same_site(), Some(same_site));
        assert_eq!(session.same_site(), Some(same_site));
        assert_eq!(csrf.secure().unwrap_or(false), options.secure);
        assert_eq!(session.secure().unwrap_or(false), options.secure);
        assert_eq!(session.domain(), options.domain.as_deref());
        assert_eq!(csrf.domain(), csrf_domain);

        // 64 lowercase hex digits: 256 bits.
        assert!(is_token_hex(csrf.value()), "{}", csrf.value());
        assert_eq!(
            get_json(&client, "/typed").await["csrfToken"],
            csrf.value(),
            "the cookie carries the session's token"
        );
    }
}

#[tokio::test]
async fn a_new_login_rotates_the_csrf_token() {
    let client = client(options(true)).await;
    let first = login_csrf(&client, &full_callback()).await;
    let second = login_csrf(&client, &full_callback()).await;
    assert!(is_token_hex(&first) && is_token_hex(&second));
    assert_ne!(first, second, "re-login must rotate the token");
    assert_eq!(client.cookies().get("CSRF-TOKEN").unwrap().value(), second);

    let resp = client.post("/guarded").header(Header::new("X-CSRF-TOKEN", first)).dispatch().await;
    assert_eq!(resp.status(), Status::Forbidden, "the old token is dead");
    let resp = client.post("/guarded").header(Header::new("X-CSRF-TOKEN", second)).dispatch().await;
    assert_eq!(resp.status(), Status::Ok);
}

#[tokio::test]
async fn destroy_removes_both_cookies_with_their_path_and_domain() {
    let options = SessionOptions {
        path: "/".into(),
        domain: Some("example.com".into()),
        csrf_cookie_domain: Some("app.example.com".into()),
        ..options(true)
    };
    let client = client(options).await;
    let token = login_csrf(&client, &full_callback()).await;
    assert!(client.cookies().get("session").is_some());
    assert!(client.cookies().get("CSRF-TOKEN").is_some());

    let resp = client.post("/destroy").dispatch().await;
    assert_eq!(resp.status(), Status::NoContent);
    let session = set_cookie(&resp, "session").expect("session removal cookie");
    let csrf = set_cookie(&resp, "CSRF-TOKEN").expect("CSRF removal cookie");
    for (cookie, domain) in [(&session, "example.com"), (&csrf, "app.example.com")] {
        assert_eq!(cookie.value(), "", "{cookie}");
        assert_eq!(max_age_secs(cookie), Some(0), "{cookie}");
        assert_eq!(cookie.path(), Some("/"), "{cookie}");
        assert_eq!(cookie.domain(), Some(domain), "{cookie}");
    }
    drop(resp);

    // The client dropped both; the login is over.
    assert!(client.cookies().get("session").is_none());
    assert!(client.cookies().get("CSRF-TOKEN").is_none());
    let resp = client.get("/guarded").header(Header::new("X-CSRF-TOKEN", token)).dispatch().await;
    assert_eq!(resp.status(), Status::Unauthorized);
}

// ----- session and token endpoints ----------------------------------------------------------

fn assert_no_store(resp: &LocalResponse<'_>) {
    assert_eq!(resp.headers().get_one("Cache-Control"), Some("no-store"));
    assert_eq!(resp.headers().get_one("Pragma"), Some("no-cache"));
    assert_eq!(resp.content_type(), Some(ContentType::JSON));
}

#[tokio::test]
async fn session_and_token_responses_are_no_store_json() {
    let client = client(options(false)).await;
    post_login(&client, &full_callback()).await;

    let resp = client.get("/api/session").dispatch().await;
    assert_eq!(resp.status(), Status::Ok);
    assert_no_store(&resp);
    let body: Value = resp.into_json().await.unwrap();
    assert_eq!(body, json!({ "userId": "user-1", "tenantId": "tenant-1", "metadata": {} }));

    let resp = client.get("/api/session-meta").dispatch().await;
    assert_eq!(resp.status(), Status::Ok);
    assert_no_store(&resp);
    let body: Value = resp.into_json().await.unwrap();
    assert_eq!(
        body,
        json!({
            "userId": "user-1",
            "tenantId": "tenant-1",
            "metadata": { "tenantName": "acme", "n": 7 }
        })
    );

    let resp = client.get("/api/token").dispatch().await;
    assert_eq!(resp.status(), Status::Ok);
    assert_no_store(&resp);
    let body: Value = resp.into_json().await.unwrap();
    assert_eq!(
        body,
        json!({ "accessToken": "access-token-AAAA", "expiresAt": 1_767_225_600_000_i64 })
    );
}

#[tokio::test]
async fn responses_on_an_incomplete_session_are_401_not_panics() {
    let client = client(options(false)).await;
    client.post("/auth-only").dispatch().await;
    assert_eq!(get_json(&client, "/dump").await, json!({ "isAuthenticated": true }));

    let resp = client.get("/partial/errors").dispatch().await;
    assert_eq!(
        resp.into_string().await.as_deref(),
        Some("MissingField:userId MissingField:accessToken")
    );
    for path in ["/partial/session", "/partial/token"] {
        let resp = client.get(path).dispatch().await;
        assert_eq!(resp.headers().get_one("Cache-Control"), None, "{path}");
        assert_json_error(resp, Status::Unauthorized, r#"{"error":"Unauthorized"}"#).await;
    }

    // A session with the ids but no token: the session response works, the token one does not.
    let codec = SessionCodec::new(&options(false)).unwrap();
    let ids: Map<String, Value> =
        json!({ "userId": "u", "tenantId": "t" }).as_object().unwrap().clone();
    let resp = client
        .get("/partial/errors")
        .cookie(("session", codec.seal(&ids).unwrap()))
        .dispatch()
        .await;
    assert_eq!(resp.into_string().await.as_deref(), Some("ok MissingField:accessToken"));
}

// ----- sentinel -----------------------------------------------------------------------------

#[tokio::test]
async fn authenticated_session_without_the_fairing_aborts_launch() {
    let figment = rocket::Config::figment().merge(("log_level", LogLevel::Off));
    let error = rocket::custom(figment.clone())
        .mount("/", routes![guarded_get])
        .ignite()
        .await
        .expect_err("launch must abort");
    match error.kind() {
        rocket::error::ErrorKind::SentinelAborts(sentries) => {
            assert!(
                sentries.iter().any(|s| s.type_name.contains("AuthenticatedSession")),
                "{:?}",
                sentries.iter().map(|s| s.type_name).collect::<Vec<_>>()
            );
        }
        other => panic!("expected SentinelAborts, got {other:?}"),
    }

    // With the fairing it ignites.
    rocket::custom(figment)
        .attach(WristbandSession::custom(options(true)))
        .mount("/", routes![guarded_get])
        .ignite()
        .await
        .expect("ignites with the fairing");
}

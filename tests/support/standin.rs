//! A minimal Wristband, written for the tests from the protocol (the endpoints, parameters,
//! client authentication and token shapes of `reference/wristband-auth-flows.md` §1.3, §8 and
//! `DESIGN-auth.md` §F, §H), sharing no code with the crate's `testing::FakeWristband`, so that
//! a mistake made in both the crate and its own fake cannot hide. Included by the tests with
//! `#[path = "support/standin.rs"] mod standin;`.
//!
//! It is a Rocket app on 127.0.0.1 (a port the OS picks), reached by the app as
//! `http://localhost:<port>` (`wristband_scheme = "http"`), with tenant hosts
//! `<tenant>.localhost:<port>` (its SDK configuration says the application custom domain is
//! active). It signs with the test-only key `tests/keys/test-only-rsa-2048.pem` and serves:
//!
//! | endpoint | what it checks |
//! | --- | --- |
//! | `GET /api/v1/clients/<id>/sdk-configuration` | the client id |
//! | `GET /api/v1/oauth2/authorize` | client id, `response_type=code`, the registered `redirect_uri`, S256; records state, nonce and challenge; signs the user in at once and redirects with `code`, `state`, `tenant_name` |
//! | `POST /api/v1/oauth2/token` | HTTP Basic client authentication; `authorization_code`: a code used once, its redirect URI, the PKCE verifier; `refresh_token`: a live refresh token, rotated; else `invalid_grant` |
//! | `GET /api/v1/oauth2/userinfo` | a Bearer access token it issued |
//! | `POST /api/v1/oauth2/revoke` | HTTP Basic; the refresh token stops working |
//! | `GET /api/v1/oauth2/jwks` | (its public key) |
//!
//! What the next ID token looks like is up to the test ([`StandIn::next_id_token`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Url;
use rocket::form::{Form, FromForm};
use rocket::http::uri::Host;
use rocket::http::{RawStr, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::Redirect;
use rocket::serde::json::Json;
use rocket::{get, post, routes, State};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

pub use super::server;

use server::Server;

/// The stand-in's signing key (test-only, see `tests/keys/README.md`).
const KEY_PEM: &str = include_str!("../keys/test-only-rsa-2048.pem");
/// The id of that key in the JWKS and in the tokens' `kid`.
pub const KID: &str = "standin-rsa-2048";
/// The one OAuth client the stand-in knows.
pub const CLIENT_ID: &str = "standin-client";
/// Its secret.
pub const CLIENT_SECRET: &str = "standin client+secret/with:reserved%chars&=";
/// The user every login signs in, as userinfo names them.
pub const USER_ID: &str = "standin-user-1";
/// That user's tenant id (`tnt_id`).
pub const TENANT_ID: &str = "standin-tenant-1";
/// The application id (`app_id`).
pub const APP_ID: &str = "standin-app-1";

/// How the next ID token of an `authorization_code` answer is made; the default is a correct
/// one. It applies to one token answer, then the stand-in goes back to correct ID tokens.
#[derive(Clone, Debug, Default)]
pub struct IdTokenPlan {
    /// Claims put over the usual ones (`iss`, `sub`, `aud`, `exp`, `iat`, `auth_time`,
    /// `nonce`, …); `Value::Null` removes a claim.
    pub claims: Map<String, Value>,
    /// The header's `typ` instead of `JWT`.
    pub typ: Option<String>,
    /// The header's `kid` instead of the stand-in's key's.
    pub kid: Option<String>,
    /// How it is signed.
    pub signing: Signing,
    /// No `id_token` in the answer at all.
    pub omit: bool,
    /// This token, as it is, instead of a new one (e.g. one issued to an earlier login).
    pub verbatim: Option<String>,
}

/// How an ID token is signed.
#[derive(Clone, Debug, Default)]
pub enum Signing {
    /// With the stand-in's key (the one in its JWKS).
    #[default]
    StandIn,
    /// With this other RSA private key (PEM); the header still names the plan's `kid` (by
    /// default the stand-in's).
    Key(&'static str),
    /// With the stand-in's key; then the payload is replaced by the same claims with these
    /// put over them, so the signature no longer covers what the token says.
    Tampered(Map<String, Value>),
    /// `alg: none` and an empty signature.
    Unsigned,
}

/// An authorize request as the stand-in received it.
#[derive(Clone, Debug)]
pub struct Authorization {
    /// The tenant, from the host the browser came to (`<tenant>.localhost`).
    pub tenant: String,
    /// The query parameters.
    pub params: HashMap<String, String>,
}

/// What a code, a refresh token or an access token was issued for.
#[derive(Clone, Debug)]
struct Grant {
    redirect_uri: String,
    code_challenge: String,
    nonce: Option<String>,
    scope: String,
}

struct Books {
    port: u16,
    login_url: String,
    redirect_uri: String,
    expires_in: i64,
    next_id_token: Option<IdTokenPlan>,
    codes: HashMap<String, Grant>,
    refresh_tokens: HashMap<String, Grant>,
    access_tokens: HashMap<String, Grant>,
    authorizations: Vec<Authorization>,
    id_tokens: Vec<String>,
    refresh_grants: Vec<String>,
    revoked: Vec<String>,
    calls: HashMap<&'static str, usize>,
}

struct Inner {
    key: EncodingKey,
    jwk: Value,
    books: Mutex<Books>,
}

impl Inner {
    fn books(&self) -> MutexGuard<'_, Books> {
        self.books.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running stand-in.
pub struct StandIn {
    inner: Arc<Inner>,
    server: Server,
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

fn random() -> String {
    format!("{:032x}", rand::random::<u128>())
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `claims` with `over` put over them (`null` removes).
fn merged(mut claims: Map<String, Value>, over: &Map<String, Value>) -> Map<String, Value> {
    for (name, value) in over {
        if value.is_null() {
            claims.remove(name);
        } else {
            claims.insert(name.clone(), value.clone());
        }
    }
    claims
}

fn sign(header: &Header, claims: &Map<String, Value>, key: &EncodingKey) -> String {
    jsonwebtoken::encode(header, claims, key).expect("the stand-in signs")
}

impl StandIn {
    /// Starts a stand-in on 127.0.0.1. Register the app's URLs with [`StandIn::register_app`]
    /// before the app's first login.
    pub async fn start() -> StandIn {
        let key = EncodingKey::from_rsa_pem(KEY_PEM.as_bytes()).expect("the test key parses");
        let mut jwk = Jwk::from_encoding_key(&key, Algorithm::RS256).expect("a JWK of the key");
        jwk.common.key_id = Some(KID.into());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        let books = Books {
            port: 0,
            login_url: String::new(),
            redirect_uri: String::new(),
            expires_in: 1800,
            next_id_token: None,
            codes: HashMap::new(),
            refresh_tokens: HashMap::new(),
            access_tokens: HashMap::new(),
            authorizations: Vec::new(),
            id_tokens: Vec::new(),
            refresh_grants: Vec::new(),
            revoked: Vec::new(),
            calls: HashMap::new(),
        };
        let inner = Arc::new(Inner {
            key,
            jwk: serde_json::to_value(jwk).unwrap(),
            books: Mutex::new(books),
        });
        let rocket = rocket::custom(rocket::Config::figment().merge(("log_level", "off")))
            .manage(inner.clone())
            .mount("/", routes![sdk_configuration, authorize, token, userinfo, revoke, jwks]);
        let server = Server::start(rocket).await;
        let port = server.base.rsplit(':').next().unwrap().parse().unwrap();
        inner.books().port = port;
        StandIn { inner, server }
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.inner.books().port
    }

    /// `localhost:<port>`: the app's `wristband_application_vanity_domain`.
    pub fn vanity_domain(&self) -> String {
        format!("localhost:{}", self.port())
    }

    /// `http://localhost:<port>`: the `iss` of its tokens.
    pub fn issuer(&self) -> String {
        format!("http://{}", self.vanity_domain())
    }

    /// The app's login URL and redirect URI, as the SDK configuration gives them and as
    /// authorize and token require the redirect URI.
    pub fn register_app(&self, login_url: &str, redirect_uri: &str) {
        let mut books = self.inner.books();
        books.login_url = login_url.into();
        books.redirect_uri = redirect_uri.into();
    }

    /// The `expires_in` of the tokens it issues from now on (1800 by default).
    pub fn set_expires_in(&self, seconds: i64) {
        self.inner.books().expires_in = seconds;
    }

    /// How the ID token of the next `authorization_code` answer is made.
    pub fn next_id_token(&self, plan: IdTokenPlan) {
        self.inner.books().next_id_token = Some(plan);
    }

    /// Every authorize request received, oldest first.
    pub fn authorizations(&self) -> Vec<Authorization> {
        self.inner.books().authorizations.clone()
    }

    /// Every ID token sent in a token answer, oldest first.
    pub fn id_tokens(&self) -> Vec<String> {
        self.inner.books().id_tokens.clone()
    }

    /// Every refresh token presented in a `refresh_token` grant, accepted or not.
    pub fn refresh_grants(&self) -> Vec<String> {
        self.inner.books().refresh_grants.clone()
    }

    /// The refresh tokens that still work.
    pub fn live_refresh_tokens(&self) -> Vec<String> {
        self.inner.books().refresh_tokens.keys().cloned().collect()
    }

    /// Every token sent to revoke (with good client credentials), oldest first.
    pub fn revoked(&self) -> Vec<String> {
        self.inner.books().revoked.clone()
    }

    /// How many requests `endpoint` (`sdk-configuration`, `authorize`, `token`, `userinfo`,
    /// `revoke`, `jwks`) received.
    pub fn calls(&self, endpoint: &str) -> usize {
        self.inner.books().calls.get(endpoint).copied().unwrap_or(0)
    }

    /// A new access token for the stand-in's user, as a login would get it (and valid at
    /// userinfo), with `over` put over its claims.
    pub fn access_token(&self, over: &Map<String, Value>) -> String {
        let grant = Grant {
            redirect_uri: String::new(),
            code_challenge: String::new(),
            nonce: None,
            scope: "openid offline_access email".into(),
        };
        let mut books = self.inner.books();
        self.inner.access_token(&mut books, &grant, over)
    }

    /// A correct ID token for the stand-in's user with this `nonce` (as a login with that
    /// nonce would get it).
    pub fn id_token(&self, nonce: &str) -> String {
        let grant = Grant {
            redirect_uri: String::new(),
            code_challenge: String::new(),
            nonce: Some(nonce.into()),
            scope: "openid offline_access email".into(),
        };
        let books = self.inner.books();
        self.inner.id_token(&books, &grant, IdTokenPlan::default()).unwrap()
    }

    /// Stops it.
    pub async fn stop(self) {
        self.server.stop().await;
    }
}

impl Inner {
    /// An access token shaped like Wristband's (header `kid`, `typ: at+JWT`, RS256; the
    /// claims of `DESIGN-auth.md` §H), remembered for userinfo.
    fn access_token(&self, books: &mut Books, grant: &Grant, over: &Map<String, Value>) -> String {
        let (iat, issuer) = (now(), format!("http://localhost:{}", books.port));
        let claims = json!({
            "iss": issuer,
            "sub": USER_ID,
            "sub_kind": "user",
            "client_id": CLIENT_ID,
            "tnt_id": TENANT_ID,
            "app_id": APP_ID,
            "van_dom": format!("localhost:{}", books.port),
            "idp_name": "wristband",
            "amr": ["pwd"],
            "scope": grant.scope,
            "auth_time": iat,
            "jti": random(),
            "iat": iat,
            "exp": iat + books.expires_in,
        });
        let claims = merged(claims.as_object().unwrap().clone(), over);
        let mut header = Header::new(Algorithm::RS256);
        header.typ = Some("at+JWT".into());
        header.kid = Some(KID.into());
        let token = sign(&header, &claims, &self.key);
        books.access_tokens.insert(token.clone(), grant.clone());
        token
    }

    /// The ID token for `grant` made as `plan` says (`None`: none at all).
    fn id_token(&self, books: &Books, grant: &Grant, plan: IdTokenPlan) -> Option<String> {
        if plan.omit {
            return None;
        }
        if let Some(token) = plan.verbatim {
            return Some(token);
        }
        let iat = now();
        let mut claims = json!({
            "iss": format!("http://localhost:{}", books.port),
            "sub": USER_ID,
            "aud": CLIENT_ID,
            "tnt_id": TENANT_ID,
            "app_id": APP_ID,
            "idp_name": "wristband",
            "email": "ada@example.com",
            "email_verified": true,
            "auth_time": iat,
            "iat": iat,
            "exp": iat + books.expires_in,
        });
        if let Some(nonce) = &grant.nonce {
            claims["nonce"] = nonce.clone().into();
        }
        let claims = merged(claims.as_object().unwrap().clone(), &plan.claims);
        let mut header = Header::new(Algorithm::RS256);
        header.typ = Some(plan.typ.unwrap_or_else(|| "JWT".into()));
        header.kid = Some(plan.kid.unwrap_or_else(|| KID.into()));
        Some(match plan.signing {
            Signing::StandIn => sign(&header, &claims, &self.key),
            Signing::Key(pem) => {
                let other = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("the other key");
                sign(&header, &claims, &other)
            }
            Signing::Tampered(over) => {
                let signed = sign(&header, &claims, &self.key);
                let parts: Vec<&str> = signed.split('.').collect();
                let payload = serde_json::to_vec(&merged(claims, &over)).unwrap();
                format!("{}.{}.{}", parts[0], b64(&payload), parts[2])
            }
            Signing::Unsigned => {
                let header = json!({ "alg": "none", "typ": header.typ, "kid": header.kid });
                let header = b64(&serde_json::to_vec(&header).unwrap());
                format!("{header}.{}.", b64(&serde_json::to_vec(&claims).unwrap()))
            }
        })
    }

    /// A token answer for `grant`: an access token, a refresh token with `offline_access`,
    /// and (`with_id_token` and `openid`) an ID token as the test planned it.
    fn token_answer(&self, books: &mut Books, grant: &Grant, with_id_token: bool) -> Value {
        let scopes: Vec<&str> = grant.scope.split(' ').collect();
        let access_token = self.access_token(books, grant, &Map::new());
        let mut answer = json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": books.expires_in,
            "scope": grant.scope,
        });
        if scopes.contains(&"offline_access") {
            let refresh_token = random();
            books.refresh_tokens.insert(refresh_token.clone(), grant.clone());
            answer["refresh_token"] = refresh_token.into();
        }
        if with_id_token && scopes.contains(&"openid") {
            let plan = books.next_id_token.take().unwrap_or_default();
            if let Some(id_token) = self.id_token(books, grant, plan) {
                books.id_tokens.push(id_token.clone());
                answer["id_token"] = id_token.into();
            }
        }
        answer
    }
}

fn count<'a>(inner: &'a Inner, endpoint: &'static str) -> MutexGuard<'a, Books> {
    let mut books = inner.books();
    *books.calls.entry(endpoint).or_default() += 1;
    books
}

fn oauth_error(status: Status, error: &str, description: &str) -> (Status, Json<Value>) {
    (status, Json(json!({ "error": error, "error_description": description })))
}

/// HTTP Basic client credentials: `base64(urlencode(id) ":" urlencode(secret))` (RFC 6749
/// §2.3.1).
struct Basic(String, String);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Basic {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let parsed = req.headers().get_one("Authorization").and_then(|value| {
            let (scheme, encoded) = value.split_once(' ')?;
            if !scheme.eq_ignore_ascii_case("basic") {
                return None;
            }
            let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
            let (id, secret) = decoded.split_once(':')?;
            let id = RawStr::new(id).url_decode().ok()?.into_owned();
            let secret = RawStr::new(secret).url_decode().ok()?.into_owned();
            Some(Basic(id, secret))
        });
        match parsed {
            Some(basic) => Outcome::Success(basic),
            None => Outcome::Forward(Status::Unauthorized),
        }
    }
}

impl Basic {
    fn is_the_client(credentials: &Option<Basic>) -> bool {
        matches!(credentials, Some(Basic(id, secret)) if id == CLIENT_ID && secret == CLIENT_SECRET)
    }
}

/// `Authorization: Bearer <token>`.
struct Bearer(String);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Bearer {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let token = req.headers().get_one("Authorization").and_then(|value| {
            let (scheme, token) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string())
        });
        match token {
            Some(token) => Outcome::Success(Bearer(token)),
            None => Outcome::Forward(Status::Unauthorized),
        }
    }
}

#[get("/api/v1/clients/<client_id>/sdk-configuration")]
fn sdk_configuration(client_id: &str, inner: &State<Arc<Inner>>) -> (Status, Json<Value>) {
    let books = count(inner, "sdk-configuration");
    if client_id != CLIENT_ID {
        return oauth_error(Status::NotFound, "not_found", "no such client");
    }
    (
        Status::Ok,
        Json(json!({
            "customApplicationLoginPageUrl": null,
            "isApplicationCustomDomainActive": true,
            "loginUrl": books.login_url,
            "loginUrlTenantDomainSuffix": null,
            "redirectUri": books.redirect_uri,
        })),
    )
}

#[get("/api/v1/oauth2/authorize?<params..>")]
fn authorize(
    params: HashMap<String, String>,
    host: &Host<'_>,
    inner: &State<Arc<Inner>>,
) -> Result<Redirect, (Status, String)> {
    let mut books = count(inner, "authorize");
    let param = |name: &str| params.get(name).cloned().unwrap_or_default();
    let tenant = host.domain().as_str().split_once('.').map(|(t, _)| t.to_string());
    let refuse = |why: &str| Err((Status::BadRequest, why.to_string()));
    let Some(tenant) = tenant else {
        return refuse("not a tenant host");
    };
    if param("client_id") != CLIENT_ID {
        return refuse("unknown client_id");
    }
    if param("redirect_uri") != books.redirect_uri {
        return refuse("redirect_uri is not the registered one");
    }
    if param("response_type") != "code" {
        return refuse("response_type must be code");
    }
    if param("code_challenge_method") != "S256" || param("code_challenge").is_empty() {
        return refuse("PKCE S256 is required");
    }
    if param("state").is_empty() {
        return refuse("state is required");
    }
    books.authorizations.push(Authorization { tenant: tenant.clone(), params: params.clone() });
    let code = random();
    let grant = Grant {
        redirect_uri: param("redirect_uri"),
        code_challenge: param("code_challenge"),
        nonce: params.get("nonce").cloned(),
        scope: param("scope"),
    };
    books.codes.insert(code.clone(), grant);
    let back = Url::parse_with_params(
        &param("redirect_uri"),
        [("code", code), ("state", param("state")), ("tenant_name", tenant)],
    )
    .map_err(|_| (Status::BadRequest, "redirect_uri is not a URL".to_string()))?;
    Ok(Redirect::found(back.to_string()))
}

#[derive(FromForm)]
struct TokenForm {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
}

#[post("/api/v1/oauth2/token", data = "<form>")]
fn token(
    client: Option<Basic>,
    form: Form<TokenForm>,
    inner: &State<Arc<Inner>>,
) -> (Status, Json<Value>) {
    let mut books = count(inner, "token");
    if !Basic::is_the_client(&client) {
        return oauth_error(Status::Unauthorized, "invalid_client", "client authentication failed");
    }
    let invalid_grant = |why| oauth_error(Status::BadRequest, "invalid_grant", why);
    match form.grant_type.as_deref() {
        Some("authorization_code") => {
            // A code works once, whatever happens next.
            let Some(grant) = form.code.as_deref().and_then(|code| books.codes.remove(code)) else {
                return invalid_grant("unknown or used code");
            };
            if form.redirect_uri.as_deref() != Some(grant.redirect_uri.as_str()) {
                return invalid_grant("redirect_uri differs from the authorize request's");
            }
            let verifier = form.code_verifier.as_deref().unwrap_or_default();
            if verifier.is_empty()
                || b64(&Sha256::digest(verifier.as_bytes())) != grant.code_challenge
            {
                return invalid_grant("the code_verifier does not match the code_challenge");
            }
            (Status::Ok, Json(inner.token_answer(&mut books, &grant, true)))
        }
        Some("refresh_token") => {
            let presented = form.refresh_token.clone().unwrap_or_default();
            books.refresh_grants.push(presented.clone());
            // Rotation: the presented token is spent.
            let Some(grant) = books.refresh_tokens.remove(&presented) else {
                return invalid_grant("unknown, spent or revoked refresh token");
            };
            (Status::Ok, Json(inner.token_answer(&mut books, &grant, false)))
        }
        _ => oauth_error(Status::BadRequest, "unsupported_grant_type", "unsupported grant_type"),
    }
}

#[get("/api/v1/oauth2/userinfo")]
fn userinfo(bearer: Option<Bearer>, inner: &State<Arc<Inner>>) -> (Status, Json<Value>) {
    let books = count(inner, "userinfo");
    if !bearer.is_some_and(|Bearer(token)| books.access_tokens.contains_key(&token)) {
        return oauth_error(Status::Unauthorized, "invalid_token", "unknown access token");
    }
    (
        Status::Ok,
        Json(json!({
            "sub": USER_ID,
            "tnt_id": TENANT_ID,
            "app_id": APP_ID,
            "idp_name": "wristband",
            "email": "ada@example.com",
            "email_verified": true,
            "name": "Ada Lovelace",
        })),
    )
}

#[derive(FromForm)]
struct RevokeForm {
    token: Option<String>,
}

#[post("/api/v1/oauth2/revoke", data = "<form>")]
fn revoke(
    client: Option<Basic>,
    form: Form<RevokeForm>,
    inner: &State<Arc<Inner>>,
) -> (Status, Json<Value>) {
    let mut books = count(inner, "revoke");
    if !Basic::is_the_client(&client) {
        return oauth_error(Status::Unauthorized, "invalid_client", "client authentication failed");
    }
    let token = form.token.clone().unwrap_or_default();
    books.refresh_tokens.remove(&token);
    books.revoked.push(token);
    (Status::Ok, Json(json!({})))
}

#[get("/api/v1/oauth2/jwks")]
fn jwks(inner: &State<Arc<Inner>>) -> Json<Value> {
    drop(count(inner, "jwks"));
    Json(json!({ "keys": [inner.jwk.clone()] }))
}

/// The app under test, as the tests of the stand-in build it (this part uses the crate):
/// `WristbandSession` + `WristbandAuth` configured for the stand-in, `WristbandAuth::routes()`
/// under `/auth`, and three routes for the tests to look inside: `/t/callback` (the callback's
/// outcome as JSON), `/t/tokens` (the session's tokens) and `/api/me` (`WristbandJwt`).
pub mod app {
    use std::net::SocketAddr;
    use std::sync::Arc;

    use reqwest::cookie::Jar;
    use reqwest::header::{LOCATION, SET_COOKIE};
    use reqwest::{Response, StatusCode, Url};
    use rocket::serde::json::Json;
    use rocket::{get, routes};
    use serde_json::{json, Value};
    use wristband_rocket_session::{
        AuthOptions, AuthenticatedSession, CallbackResult, Session, SessionOptions, Wristband,
        WristbandAuth, WristbandError, WristbandJwt, WristbandScheme, WristbandSession,
    };

    use super::server::Server;
    use super::{StandIn, CLIENT_ID, CLIENT_SECRET};

    const SESSION_SECRET: &str = "standin-tests-session-secret-0123456789abcdef";

    /// The callback's outcome: `{"completed": <user id>}` (the session written) or
    /// `{"reason": …, "redirect_url": …}`.
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
            CallbackResult::RedirectRequired { redirect_url, reason } => {
                json!({ "reason": reason, "redirect_url": redirect_url })
            }
        }))
    }

    /// The signed-in session's tokens (after any refresh the guard made).
    #[get("/t/tokens")]
    fn tokens(session: AuthenticatedSession<'_>) -> Json<Value> {
        Json(json!({
            "accessToken": session.access_token(),
            "refreshToken": session.refresh_token(),
            "expiresAt": session.expires_at(),
        }))
    }

    /// A bearer-token API: the verified claims.
    #[get("/api/me")]
    fn me(jwt: WristbandJwt<'_>) -> Json<Value> {
        Json(Value::Object(jwt.claims().clone()))
    }

    /// The app's `wristband_auth` options for `standin` (auto-configuration on).
    pub fn options(standin: &StandIn) -> AuthOptions {
        AuthOptions {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            wristband_application_vanity_domain: standin.vanity_domain(),
            wristband_scheme: WristbandScheme::Http,
            dangerously_disable_secure_cookies: true,
            ..AuthOptions::default()
        }
    }

    /// Serves the app (options from [`options`], then `configure`) over TCP and registers its
    /// login URL and `/auth/callback` with the stand-in.
    pub async fn start(standin: &StandIn, configure: impl FnOnce(&mut AuthOptions)) -> Server {
        let mut auth = options(standin);
        configure(&mut auth);
        let session = SessionOptions {
            secrets: SESSION_SECRET.into(),
            secure: false,
            ..SessionOptions::default()
        };
        let rocket = rocket::custom(rocket::Config::figment().merge(("log_level", "off")))
            .attach(WristbandSession::custom(session))
            .attach(WristbandAuth::custom(auth))
            .mount("/auth", WristbandAuth::routes())
            .mount("/", routes![json_callback, tokens, me]);
        let server = Server::start(rocket).await;
        standin.register_app(&server.url("/auth/login"), &server.url("/auth/callback"));
        server
    }

    /// A browser: a cookie store, no redirects followed, `acme.localhost` resolved to the
    /// stand-in.
    pub struct Browser {
        client: reqwest::Client,
        app: String,
    }

    impl Browser {
        /// A new browser (empty cookie store) for `app`.
        pub fn new(standin: &StandIn, app: &Server) -> Browser {
            let client = reqwest::Client::builder()
                .cookie_provider(Arc::new(Jar::default()))
                .redirect(reqwest::redirect::Policy::none())
                .resolve("acme.localhost", SocketAddr::from(([127, 0, 0, 1], standin.port())))
                .build()
                .unwrap();
            Browser { client, app: app.base.clone() }
        }

        /// GET `path` on the app.
        pub async fn get(&self, path: &str) -> Response {
            self.client.get(format!("{}{path}", self.app)).send().await.unwrap()
        }

        /// GET `path` on the app with `Authorization: Bearer <token>` (no cookie matters).
        pub async fn bearer(&self, path: &str, token: &str) -> Response {
            let url = format!("{}{path}", self.app);
            self.client.get(url).bearer_auth(token).send().await.unwrap()
        }

        /// `/auth/login?tenant_name=acme`, then the stand-in's authorize: the query string
        /// Wristband sends the browser back to the callback with.
        pub async fn login(&self) -> String {
            let resp = self.get("/auth/login?tenant_name=acme").await;
            assert_eq!(resp.status(), StatusCode::FOUND, "login redirects to authorize");
            let authorize = location(&resp);
            assert!(authorize.starts_with("http://acme.localhost:"), "{authorize}");
            let resp = self.client.get(&authorize).send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::FOUND, "the stand-in signs the user in");
            let back = Url::parse(&location(&resp)).unwrap();
            assert_eq!(back.path(), "/auth/callback");
            back.query().unwrap().to_string()
        }

        /// The user's session as `GET /auth/session` answers: 200 with the JSON, or the status.
        pub async fn session(&self) -> Result<Value, StatusCode> {
            let resp = self.get("/auth/session").await;
            match resp.status() {
                StatusCode::OK => Ok(resp.json().await.unwrap()),
                status => Err(status),
            }
        }
    }

    /// A redirect's `Location`.
    pub fn location(resp: &Response) -> String {
        resp.headers()[LOCATION].to_str().unwrap().to_string()
    }

    /// Whether `resp` wrote a (non-empty) session cookie.
    pub fn writes_session(resp: &Response) -> bool {
        resp.headers().get_all(SET_COOKIE).iter().any(|h| {
            let h = h.to_str().unwrap();
            h.starts_with("session=") && !h.starts_with("session=;")
        })
    }
}

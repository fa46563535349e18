//! The HTTP client shared by every call to Wristband, and its retry policy.
//!
//! INTERFACE CONTRACT (the flows code calls only this):
//!
//! - `HttpClient::exchange_code(code, code_verifier, redirect_uri).await
//!     -> Result<TokenSet, WristbandError>`: authorization_code grant, HTTP Basic client
//!   auth, form body, via `oauth2`. 5xx and network errors retried (3 tries, 100 ms apart),
//!   never a 4xx. `invalid_grant` → `Err(WristbandError::InvalidGrant { .. })`.
//! - `HttpClient::refresh(refresh_token).await -> Result<TokenSet, WristbandError>`: the
//!   refresh_token grant, retried only when the request certainly never reached Wristband
//!   (it could not connect), within [`REFRESH_DEADLINE`] in all: Wristband rotates refresh
//!   tokens, so a call it may have processed is never repeated with the same token.
//!   `HttpClient::refresh_classified(refresh_token)` gives the same call with a
//!   [`TokenFailure`] that says whether Wristband *refused* the grant (any 4xx) and whether
//!   the request may have reached it. What a refusal means for the session is decided in one
//!   place: the `refresh` module ("Which refusals end a session").
//! - `HttpClient::userinfo(access_token).await -> Result<serde_json::Map<String, Value>,
//!   WristbandError>`: `GET /api/v1/oauth2/userinfo` with a Bearer token.
//! - `HttpClient::revoke(refresh_token).await -> Result<(), WristbandError>`: RFC 7009.
//! - `HttpClient::sdk_configuration().await -> Result<serde_json::Value, WristbandError>`, and
//!   `sdk_configuration_classified()` with a [`GetFailure`] that says what failed (status or
//!   network error), for the diagnosis of auto-configuration.
//! - `HttpClient::get_json(url).await` for the JWKS (later issue).
//!
//! Retry policy (Wristband's SDK has its own; `oauth2` has none):
//!
//! | call | tries (100 ms apart) | retried on | never retried |
//! | --- | --- | --- | --- |
//! | token (authorization code) | 3 | 5xx, network errors, timeouts | any 4xx; a 200 whose body is not a usable token answer (the grant may be spent) |
//! | token (refresh), within [`REFRESH_DEADLINE`] | 3 | could not connect (the request was never sent) | everything else: any answer, a timeout, a broken connection (Wristband may have rotated the token) |
//! | userinfo, sdk-configuration, `get_json` | 3 | 5xx, 408, 429, network errors, timeouts | other 4xx (404 = wrong `client_id` or vanity domain: retrying cannot help) |
//! | revoke | 1 | — | everything (a failed revocation is logged by the caller, never fatal) |
//!
//! No error message carries a token, a secret or a response body: only the endpoint's name,
//! the HTTP status and, for token errors, the OAuth2 error code (and `error_description` in
//! `InvalidGrant`, for logs).

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::time::Duration;

use oauth2::basic::{
    BasicErrorResponse, BasicErrorResponseType, BasicRevocationErrorResponse,
    BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, EndpointNotSet, EndpointSet,
    ExtraTokenFields, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError,
    StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::WristbandError;
use super::options::AuthOptions;

/// How many times a retried call is tried in all.
pub(crate) const MAX_TRIES: u32 = 3;
/// The pause between two tries.
pub(crate) const RETRY_DELAY: Duration = Duration::from_millis(100);
/// How long connecting to Wristband may take.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a whole request to Wristband may take.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a refresh may take in all, tries included: shorter than the fleet lock's hold
/// (the `refresh` module's `LOCK_HOLD`), so a lock always outlives its holder's call.
pub(crate) const REFRESH_DEADLINE: Duration = REQUEST_TIMEOUT;

/// Tokens from a token endpoint answer.
#[derive(Clone)]
pub(crate) struct TokenSet {
    /// The access token.
    pub(crate) access_token: String,
    /// The ID token (absent on some refresh answers).
    pub(crate) id_token: Option<String>,
    /// The refresh token, when one was issued.
    pub(crate) refresh_token: Option<String>,
    /// Lifetime of the access token in seconds.
    pub(crate) expires_in: i64,
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet").field("expires_in", &self.expires_in).finish_non_exhaustive()
    }
}

/// A failed token call, with whether Wristband refused the grant.
#[derive(Debug)]
pub(crate) struct TokenFailure {
    /// `true`: Wristband answered 4xx (`invalid_grant` or another refusal), so retrying
    /// cannot help. `false`: network error, timeout, 5xx after every try, or an unreadable
    /// success answer. (What either means for a session: the `refresh` module.)
    pub(crate) refused: bool,
    /// `true` only when no try of the call ever reached Wristband (every try failed to
    /// connect): the grant is certainly not spent.
    pub(crate) unsent: bool,
    /// The error (`InvalidGrant` for `invalid_grant`, `Unexpected` otherwise).
    pub(crate) error: WristbandError,
}

impl From<TokenFailure> for WristbandError {
    fn from(failure: TokenFailure) -> Self {
        failure.error
    }
}

/// `id_token` beside the standard token fields.
#[derive(Clone, Default, Deserialize, Serialize)]
struct IdTokenField {
    #[serde(default)]
    id_token: Option<String>,
}

impl std::fmt::Debug for IdTokenField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdTokenField([redacted])")
    }
}

impl ExtraTokenFields for IdTokenField {}

type TokenAnswer = StandardTokenResponse<IdTokenField, BasicTokenType>;

type OAuthClient = oauth2::Client<
    BasicErrorResponse,
    TokenAnswer,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// Why one HTTP exchange handed to `oauth2` did not give it a response to parse.
#[derive(Debug)]
enum CallError {
    /// Connecting failed: the request was never sent.
    Unsent(&'static str),
    /// Sending or reading failed (or timed out): Wristband may have processed the request.
    Network(&'static str),
    /// Wristband answered with a status that is neither 200 nor 4xx (5xx, 3xx, …).
    Status(StatusCode),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Unsent(what) | CallError::Network(what) => f.write_str(what),
            CallError::Status(status) => write!(f, "HTTP {}", status.as_u16()),
        }
    }
}

impl std::error::Error for CallError {}

/// What went wrong with a request, without the URL's query, the body or any header.
pub(crate) fn network_error(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timed out"
    } else if is_certificate_error(e) {
        "the server's TLS certificate is not trusted (a private CA goes in `wristband_ca_file`)"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_decode() || e.is_body() {
        "could not read the answer"
    } else {
        "the request failed"
    }
}

/// Whether `e` (or an error it wraps: rustls's, through hyper's) is about the server's
/// certificate.
fn is_certificate_error(e: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(error) = source {
        if error.to_string().contains("certificate") {
            return true;
        }
        source = error.source();
    }
    false
}

/// Whether a token endpoint's body says `invalid_grant` (Wristband's SDK treats that as a
/// refusal whatever the status).
fn says_invalid_grant(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(Value::as_str).map(|e| e == "invalid_grant"))
        .unwrap_or(false)
}

/// The shared client (see the module docs).
pub(crate) struct HttpClient {
    http: reqwest::Client,
    oauth: OAuthClient,
    client_id: String,
    client_secret: String,
    base: String,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient").field("base", &self.base).finish_non_exhaustive()
    }
}

impl HttpClient {
    /// The client for validated `options`. Fails only if the TLS backend cannot be set up
    /// or the endpoint URLs cannot be formed (neither happens with validated options).
    pub(crate) fn new(options: &AuthOptions) -> Result<Self, String> {
        let mut builder = reqwest::Client::builder();
        if let Some(path) = &options.wristband_ca_file {
            // Added to the public roots, not instead of them.
            for certificate in super::options::read_ca_file(path)? {
                builder = builder.add_root_certificate(certificate);
            }
        }
        // No `.no_proxy()`: the standard proxy variables (`HTTPS_PROXY`, `HTTP_PROXY`,
        // `ALL_PROXY`, `NO_PROXY`) apply, as reqwest reads them by default.
        let http = builder
            .use_rustls_tls()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("wristband-rocket-session/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| "the HTTP client could not be built (TLS backend)".to_string())?;
        let base = format!(
            "{}://{}",
            options.wristband_scheme.as_str(),
            options.wristband_application_vanity_domain
        );
        let url_error = |_| "the Wristband endpoint URLs could not be formed".to_string();
        let oauth = oauth2::Client::new(ClientId::new(options.client_id.clone()))
            .set_client_secret(ClientSecret::new(options.client_secret.clone()))
            .set_auth_type(AuthType::BasicAuth)
            .set_auth_uri(
                AuthUrl::new(format!("{base}/api/v1/oauth2/authorize")).map_err(url_error)?,
            )
            .set_token_uri(
                TokenUrl::new(format!("{base}/api/v1/oauth2/token")).map_err(url_error)?,
            );
        Ok(HttpClient {
            http,
            oauth,
            client_id: options.client_id.clone(),
            client_secret: options.client_secret.clone(),
            base,
        })
    }

    /// The one `reqwest::Client` (redirects off, timeouts set), for other plain calls.
    #[allow(dead_code)]
    pub(crate) fn reqwest(&self) -> &reqwest::Client {
        &self.http
    }

    /// `"{scheme}://{vanity}"`.
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// `{base}/api/v1/oauth2/revoke`.
    pub(crate) fn revoke_url(&self) -> String {
        format!("{}/api/v1/oauth2/revoke", self.base)
    }

    /// `{base}/api/v1/oauth2/userinfo`.
    pub(crate) fn userinfo_url(&self) -> String {
        format!("{}/api/v1/oauth2/userinfo", self.base)
    }

    /// `{base}/api/v1/oauth2/jwks`.
    #[allow(dead_code)]
    pub(crate) fn jwks_url(&self) -> String {
        format!("{}/api/v1/oauth2/jwks", self.base)
    }

    /// `{base}/api/v1/clients/{client_id}/sdk-configuration` (the id path-segment encoded).
    pub(crate) fn sdk_configuration_url(&self) -> String {
        let id: String = oauth2::url::form_urlencoded::byte_serialize(self.client_id.as_bytes())
            .collect::<String>()
            .replace('+', "%20");
        format!("{}/api/v1/clients/{id}/sdk-configuration", self.base)
    }

    /// The authorization_code grant (see the module docs).
    pub(crate) async fn exchange_code(
        &self,
        code: &str,
        code_verifier: &str,
        redirect_uri: &str,
    ) -> Result<TokenSet, WristbandError> {
        self.exchange_code_classified(code, code_verifier, redirect_uri).await.map_err(Into::into)
    }

    /// [`exchange_code`](Self::exchange_code), telling a refusal (4xx) from a failure.
    pub(crate) async fn exchange_code_classified(
        &self,
        code: &str,
        code_verifier: &str,
        redirect_uri: &str,
    ) -> Result<TokenSet, TokenFailure> {
        let redirect = RedirectUrl::new(redirect_uri.to_string()).map_err(|_| TokenFailure {
            refused: false,
            unsent: true,
            error: WristbandError::Unexpected {
                reason: "the redirect_uri is not an absolute URL".into(),
            },
        })?;
        let grant = Grant::Code { code, verifier: code_verifier, redirect };
        self.token_call("authorization code exchange", &grant, true).await
    }

    /// The refresh_token grant (see the module docs).
    #[allow(dead_code)] // for the token refresh in `AuthenticatedSession`
    pub(crate) async fn refresh(&self, refresh_token: &str) -> Result<TokenSet, WristbandError> {
        self.refresh_classified(refresh_token).await.map_err(Into::into)
    }

    /// [`refresh`](Self::refresh), telling a refusal (4xx) from a failure
    /// (Wristband unreachable or 5xx: keep it).
    #[allow(dead_code)] // for the token refresh in `AuthenticatedSession`
    pub(crate) async fn refresh_classified(
        &self,
        refresh_token: &str,
    ) -> Result<TokenSet, TokenFailure> {
        let grant = Grant::Refresh(RefreshToken::new(refresh_token.to_string()));
        let call = self.token_call("token refresh", &grant, false);
        match rocket::tokio::time::timeout(REFRESH_DEADLINE, call).await {
            Ok(outcome) => outcome,
            Err(_) => Err(TokenFailure {
                refused: false,
                unsent: false,
                error: WristbandError::Unexpected {
                    reason: format!(
                        "the token refresh timed out (no answer within {} s)",
                        REFRESH_DEADLINE.as_secs()
                    ),
                },
            }),
        }
    }

    /// One token call through `oauth2`, tried up to [`MAX_TRIES`] times: on 5xx, network
    /// errors and timeouts when `retry_sent`, otherwise only when it could not connect.
    async fn token_call(
        &self,
        what: &str,
        grant: &Grant<'_>,
        retry_sent: bool,
    ) -> Result<TokenSet, TokenFailure> {
        let mut tries = 0;
        // Whether any try may have reached Wristband.
        let mut sent = false;
        loop {
            tries += 1;
            let status = Arc::new(AtomicU16::new(0));
            let seen = status.clone();
            let http = self.http.clone();
            let call = move |req: oauth2::HttpRequest| {
                let http = http.clone();
                let seen = seen.clone();
                async move {
                    let req = reqwest::Request::try_from(req)
                        .map_err(|_| CallError::Network("the request could not be built"))?;
                    let res = http.execute(req).await.map_err(|e| {
                        if e.is_connect() {
                            CallError::Unsent(network_error(&e))
                        } else {
                            CallError::Network(network_error(&e))
                        }
                    })?;
                    let code = res.status();
                    seen.store(code.as_u16(), Ordering::Relaxed);
                    let mut builder = oauth2::http::Response::builder().status(code.as_u16());
                    for (name, value) in res.headers() {
                        builder = builder.header(name.as_str(), value.as_bytes());
                    }
                    let body = res
                        .bytes()
                        .await
                        .map_err(|e| CallError::Network(network_error(&e)))?
                        .to_vec();
                    if code != StatusCode::OK
                        && !code.is_client_error()
                        && !says_invalid_grant(&body)
                    {
                        return Err(CallError::Status(code));
                    }
                    builder
                        .body(body)
                        .map_err(|_| CallError::Network("the answer could not be read"))
                }
            };
            let outcome = match grant {
                Grant::Code { code, verifier, redirect } => {
                    self.oauth
                        .exchange_code(AuthorizationCode::new(code.to_string()))
                        .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_string()))
                        .set_redirect_uri(std::borrow::Cow::Borrowed(redirect))
                        .request_async(&call)
                        .await
                }
                Grant::Refresh(token) => {
                    self.oauth.exchange_refresh_token(token).request_async(&call).await
                }
            };
            let status = StatusCode::from_u16(status.load(Ordering::Relaxed)).ok();
            let unexpected = |reason: String| WristbandError::Unexpected { reason };
            let unsent = matches!(outcome, Err(RequestTokenError::Request(CallError::Unsent(_))));
            sent |= !unsent;
            let failure = match outcome {
                Ok(answer) => return token_set(answer, what),
                Err(RequestTokenError::ServerResponse(e)) => {
                    if *e.error() == BasicErrorResponseType::InvalidGrant {
                        return Err(TokenFailure {
                            refused: true,
                            unsent: false,
                            error: WristbandError::InvalidGrant {
                                description: e.error_description().cloned(),
                            },
                        });
                    }
                    let code = match e.error() {
                        BasicErrorResponseType::Extension(_) => "a non-standard error code",
                        other => other.as_ref(),
                    };
                    let status = status.map_or(0, |s| s.as_u16());
                    TokenFailure {
                        refused: true,
                        unsent: false,
                        error: unexpected(format!(
                            "Wristband refused the {what} with HTTP {status} ({code})"
                        )),
                    }
                }
                Err(RequestTokenError::Request(CallError::Status(s))) => TokenFailure {
                    refused: false,
                    unsent: false,
                    error: unexpected(format!(
                        "Wristband answered the {what} with HTTP {}",
                        s.as_u16()
                    )),
                },
                Err(RequestTokenError::Request(
                    CallError::Network(why) | CallError::Unsent(why),
                )) => TokenFailure {
                    refused: false,
                    unsent: false,
                    error: unexpected(format!("the {what} failed: {why}")),
                },
                // A body `oauth2` could not use: 4xx without an OAuth2 error, or a 200 that is
                // not a token answer (missing access_token, bad expires_in, not JSON).
                Err(RequestTokenError::Parse(..)) | Err(RequestTokenError::Other(_)) => {
                    match status {
                        Some(s) if s.is_client_error() => TokenFailure {
                            refused: true,
                            unsent: false,
                            error: unexpected(format!(
                                "Wristband refused the {what} with HTTP {}",
                                s.as_u16()
                            )),
                        },
                        _ => TokenFailure {
                            refused: false,
                            unsent: false,
                            error: unexpected(format!(
                                "the {what} answer is not a usable token answer"
                            )),
                        },
                    }
                }
            };
            let retry = match &failure.error {
                WristbandError::Unexpected { .. } if !failure.refused => {
                    unsent || (retry_sent && status.is_none_or(|s| s.is_server_error()))
                }
                _ => false,
            };
            let failure = TokenFailure { unsent: !sent, ..failure };
            if !retry || tries >= MAX_TRIES {
                if tries > 1 {
                    return Err(TokenFailure {
                        refused: failure.refused,
                        unsent: failure.unsent,
                        error: match failure.error {
                            WristbandError::Unexpected { reason } => WristbandError::Unexpected {
                                reason: format!("{reason} (after {tries} tries)"),
                            },
                            other => other,
                        },
                    });
                }
                return Err(failure);
            }
            rocket::tokio::time::sleep(RETRY_DELAY).await;
        }
    }

    /// The user's claims: `GET /api/v1/oauth2/userinfo` with a Bearer token.
    pub(crate) async fn userinfo(
        &self,
        access_token: &str,
    ) -> Result<Map<String, Value>, WristbandError> {
        let url = self.userinfo_url();
        let value =
            self.get_with_retries(|| self.http.get(&url).bearer_auth(access_token)).await.map_err(
                |failure| WristbandError::Unexpected { reason: failure.describe("userinfo") },
            )?;
        match value {
            Value::Object(map) => Ok(map),
            _ => Err(WristbandError::Unexpected {
                reason: "the userinfo answer is not a JSON object".into(),
            }),
        }
    }

    /// Revokes a refresh token (RFC 7009), one try. Sent with plain `reqwest` (form body, HTTP
    /// Basic encoded as `oauth2` does it): `oauth2` refuses a non-https revocation URL, and a
    /// local Wristband in tests is plain http.
    pub(crate) async fn revoke(&self, refresh_token: &str) -> Result<(), WristbandError> {
        let encode = |s: &str| -> String {
            oauth2::url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
        };
        let response = self
            .http
            .post(self.revoke_url())
            .basic_auth(encode(&self.client_id), Some(encode(&self.client_secret)))
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&[("token", refresh_token), ("token_type_hint", "refresh_token")])
            .send()
            .await
            .map_err(|e| WristbandError::Unexpected {
                reason: format!("token revocation failed: {}", network_error(&e)),
            })?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(WristbandError::Unexpected {
                reason: format!(
                    "Wristband answered the token revocation with HTTP {}",
                    status.as_u16()
                ),
            })
        }
    }

    /// The SDK configuration, unchecked: `GET /api/v1/clients/{client_id}/sdk-configuration`,
    /// no authentication. Errors are `WristbandError::Configuration`.
    #[allow(dead_code)] // the flows use `sdk_configuration_classified` (through `AuthState`)
    pub(crate) async fn sdk_configuration(&self) -> Result<Value, WristbandError> {
        self.sdk_configuration_classified().await.map_err(|failure| WristbandError::Configuration {
            reason: failure.describe("sdk-configuration request"),
        })
    }

    /// [`sdk_configuration`](Self::sdk_configuration), saying what failed (the status, or a
    /// network error), so that the caller can tell a misconfiguration from an outage.
    pub(crate) async fn sdk_configuration_classified(&self) -> Result<Value, GetFailure> {
        let url = self.sdk_configuration_url();
        self.get_with_retries(|| self.http.get(&url)).await
    }

    /// Any JSON document (the JWKS), with the GET retry policy. Errors are `Unexpected`.
    #[allow(dead_code)]
    pub(crate) async fn get_json(&self, url: &str) -> Result<Value, WristbandError> {
        self.get_with_retries(|| self.http.get(url)).await.map_err(|failure| {
            WristbandError::Unexpected { reason: failure.describe("JSON request") }
        })
    }

    /// A GET answered with JSON, tried up to [`MAX_TRIES`] times on 5xx, 408, 429 and network
    /// errors.
    async fn get_with_retries<F>(&self, request: F) -> Result<Value, GetFailure>
    where
        F: Fn() -> reqwest::RequestBuilder,
    {
        let mut tries = 0;
        loop {
            tries += 1;
            let kind =
                match request().header(reqwest::header::ACCEPT, "application/json").send().await {
                    Err(e) => GetFailureKind::Network(network_error(&e)),
                    Ok(response) => {
                        let status = response.status();
                        if status.is_success() {
                            let body = response.bytes().await;
                            let kind = match body {
                                Ok(body) => match serde_json::from_slice(&body) {
                                    Ok(value) => return Ok(value),
                                    Err(_) => GetFailureKind::NotJson,
                                },
                                Err(e) => GetFailureKind::Network(network_error(&e)),
                            };
                            return Err(GetFailure { kind, tries });
                        }
                        GetFailureKind::Status(status.as_u16())
                    }
                };
            let failure = GetFailure { kind, tries };
            if !failure.retried() || tries >= MAX_TRIES {
                return Err(failure);
            }
            rocket::tokio::time::sleep(RETRY_DELAY).await;
        }
    }
}

/// Why a GET of the retry policy failed (after `tries` tries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GetFailure {
    pub(crate) kind: GetFailureKind,
    pub(crate) tries: u32,
}

/// What went wrong with a GET.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GetFailureKind {
    /// No answer: could not connect, timed out, the answer could not be read.
    Network(&'static str),
    /// An answer with this non-2xx status.
    Status(u16),
    /// A 2xx answer whose body is not JSON.
    NotJson,
}

impl GetFailure {
    /// Whether the policy retries this failure: network errors, 5xx, 408 and 429.
    pub(crate) fn retried(&self) -> bool {
        match self.kind {
            GetFailureKind::Network(_) => true,
            GetFailureKind::Status(code) => code >= 500 || code == 408 || code == 429,
            GetFailureKind::NotJson => false,
        }
    }

    /// A reason for logs: `the {what} failed: could not connect (after 3 tries)`, `Wristband
    /// answered the {what} with HTTP 404`, `the {what} answer is not JSON`.
    pub(crate) fn describe(&self, what: &str) -> String {
        let reason = match self.kind {
            GetFailureKind::Network(why) => format!("the {what} failed: {why}"),
            GetFailureKind::Status(code) => {
                format!("Wristband answered the {what} with HTTP {code}")
            }
            GetFailureKind::NotJson => format!("the {what} answer is not JSON"),
        };
        if self.tries > 1 {
            format!("{reason} (after {} tries)", self.tries)
        } else {
            reason
        }
    }
}

/// A token answer checked: an access token and a lifetime.
fn token_set(answer: TokenAnswer, what: &str) -> Result<TokenSet, TokenFailure> {
    let bad = |reason: String| TokenFailure {
        refused: false,
        unsent: false,
        error: WristbandError::Unexpected { reason },
    };
    let access_token = answer.access_token().secret().clone();
    if access_token.is_empty() {
        return Err(bad(format!("the {what} answer has an empty access_token")));
    }
    let expires_in = answer
        .expires_in()
        .and_then(|d| i64::try_from(d.as_secs()).ok())
        .ok_or_else(|| bad(format!("the {what} answer has no usable expires_in")))?;
    Ok(TokenSet {
        access_token,
        id_token: answer.extra_fields().id_token.clone().filter(|t| !t.is_empty()),
        refresh_token: answer.refresh_token().map(|t| t.secret().clone()),
        expires_in,
    })
}

/// The grant of a token call.
enum Grant<'g> {
    Code { code: &'g str, verifier: &'g str, redirect: RedirectUrl },
    Refresh(RefreshToken),
}

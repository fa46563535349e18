//! The [`WristbandJwt`] guard: `Authorization: Bearer <access token>`, checked against
//! Wristband's JWKS; and [`WristbandJwtValidator`], the same check for a token that did not
//! come in an `Authorization` header (a websocket's first message, a queue consumer).

use std::borrow::Cow;
use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{decode, decode_header, Algorithm, Validation};
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::{Ignite, Rocket, Sentinel};
use serde_json::{Map, Value};

use super::client::HttpClient;
use super::config::AuthState;
use super::jwks::{JwksCache, VerifiedToken};
use super::options::{AuthOptions, TABLE};
use crate::session::error::{ConfigError, ConfigProblem};
use crate::session::guard::unix_now;

/// Seconds of clock skew allowed on `exp` and `nbf`.
pub(crate) const LEEWAY_SECS: u64 = 60;

/// An API request authenticated by a Wristband access token: a request guard.
///
/// It reads only the `Authorization: Bearer <JWT>` header (the scheme in any case), never a
/// cookie, and writes none. The token must be:
///
/// - an **access token**: header `typ` equal to `at+JWT` (RFC 9068), compared without regard
///   to case, or `application/at+jwt`. An ID token (`typ: JWT`) or a token without `typ` is
///   refused, though Wristband signed it with the same key and it names the same user: bearer
///   JWTs are access tokens only;
/// - RS256 (`alg: none`, HS256 and every other algorithm are refused, so a public key cannot
///   be used as an HMAC secret), signed by a key of Wristband's JWKS
///   (`{scheme}://{vanity}/api/v1/oauth2/jwks`; RSA keys under 2048 bits are refused);
/// - issued by `{scheme}://{vanity}`, with `exp` and `nbf` checked with 60 s of leeway, and
///   carrying `sub` and `tnt_id`;
/// - when the `jwt_allowed_client_ids` key of `wristband_auth` is set, carrying a `client_id`
///   claim that is one of its entries (compared exactly); unset (the default), any client of
///   the application is accepted.
///
/// Anything else forwards with `Status::Unauthorized` (with no other route, the 401 catcher
/// answers).
///
/// The JWKS is fetched on first use, cached, and fetched again when a token names a key id the
/// cache does not know (single flight: concurrent requests share one fetch). Those fetches are
/// rate limited by a budget of 3 fetches that gains one back every 8 s (never holding more than
/// 3): at most 3 + 60 / 8, i.e. **10 fetches in any 60 seconds** however many forged key ids
/// arrive, and never more than **8 s** without a fetch being allowed. Each fetch reads the
/// whole JWKS, whoever caused it, so after Wristband rotates its signing key, tokens signed
/// with the new key are accepted within 8 s plus one fetch even while forged key ids keep the
/// budget spent (§H, "JWKS refetch cannot be starved").
///
/// A token that verified twice is remembered (the whole token compared, 4 MiB at most), so an
/// API client's next requests with it skip the RSA signature check, by far the largest cost;
/// its first verification only notes it, so that tokens sent once (a client that fetches a
/// token per call) cost the cache nothing. `exp`, `nbf` and `jwt_allowed_client_ids` are
/// checked again on every request, and only access tokens (by their own header) are ever
/// remembered. A remembered token is forgotten at the **next JWKS fetch** that does not list
/// its key, whether or not `jwks_cache_max_size` kept that key (a fetch that fails forgets
/// nothing). Fetches are made only when a token names a key id the cache does not hold or,
/// with `jwks_cache_ttl`, a held key older than that, within the budget above: until one is
/// made, a remembered token whose key Wristband has withdrawn keeps passing. A token is not
/// remembered when a fetch made while it was being verified changed the listed keys.
///
/// It needs [`WristbandAuth`](crate::WristbandAuth) attached: a route using it without aborts
/// launch (`Sentinel`).
///
/// ```rust
/// # #[cfg(feature = "fake-wristband")]
/// # mod example {
/// # use rocket::{get, routes};
/// use rocket::http::{Header, Status};
/// use rocket::local::asynchronous::Client;
/// // The test server `FakeWristband` needs the cargo feature `fake-wristband`.
/// use wristband_rocket_session::testing::FakeWristband;
/// use wristband_rocket_session::{WristbandAuth, WristbandJwt, WristbandSession};
///
/// #[get("/api/whoami")]
/// fn whoami(jwt: WristbandJwt<'_>) -> String {
///     format!("{} of {}", jwt.user_id(), jwt.tenant_id())
/// }
///
/// # pub fn run() {
/// # rocket::async_test(async {
/// let fake = FakeWristband::start().await;
/// let rocket = rocket::build()
///     .attach(WristbandSession::fairing())
///     .attach(WristbandAuth::custom(fake.auth_options()))
///     .mount("/", routes![whoami]);
/// let client = Client::untracked(rocket).await.unwrap();
///
/// let token = fake.issue_access_token("user-1", "tenant-1", 1800);
/// let response = client
///     .get("/api/whoami")
///     .header(Header::new("Authorization", format!("Bearer {token}")))
///     .dispatch()
///     .await;
/// assert_eq!(response.into_string().await.as_deref(), Some("user-1 of tenant-1"));
/// assert_eq!(client.get("/api/whoami").dispatch().await.status(), Status::Unauthorized);
/// # });
/// # }
/// # }
/// # fn main() {
/// #     #[cfg(feature = "fake-wristband")]
/// #     example::run();
/// # }
/// ```
pub struct WristbandJwt<'r> {
    token: &'r str,
    claims: Arc<Map<String, Value>>,
}

impl fmt::Debug for WristbandJwt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WristbandJwt")
            .field("user_id", &self.user_id())
            .field("tenant_id", &self.tenant_id())
            .finish_non_exhaustive()
    }
}

fn claim(claims: &Map<String, Value>, name: &str) -> String {
    claims.get(name).and_then(Value::as_str).unwrap_or_default().to_string()
}

impl<'r> WristbandJwt<'r> {
    /// The user's id (the `sub` claim).
    ///
    /// ```rust
    /// # use rocket::get;
    /// use wristband_rocket_session::WristbandJwt;
    ///
    /// #[get("/api/me")]
    /// fn me(jwt: WristbandJwt<'_>) -> String {
    ///     jwt.user_id()
    /// }
    /// ```
    pub fn user_id(&self) -> String {
        claim(&self.claims, "sub")
    }

    /// The tenant's id (the `tnt_id` claim).
    ///
    /// ```rust
    /// # use rocket::get;
    /// use wristband_rocket_session::WristbandJwt;
    ///
    /// #[get("/api/tenant")]
    /// fn tenant(jwt: WristbandJwt<'_>) -> String {
    ///     jwt.tenant_id()
    /// }
    /// ```
    pub fn tenant_id(&self) -> String {
        claim(&self.claims, "tnt_id")
    }

    /// The raw JWT, e.g. to call another API on the user's behalf.
    ///
    /// ```rust
    /// # use rocket::get;
    /// use wristband_rocket_session::WristbandJwt;
    ///
    /// #[get("/api/forward")]
    /// fn forward(jwt: WristbandJwt<'_>) -> String {
    ///     format!("would call downstream with {} bytes of token", jwt.token().len())
    /// }
    /// ```
    pub fn token(&self) -> &'r str {
        self.token
    }

    /// Every claim of the token.
    ///
    /// ```rust
    /// # use rocket::get;
    /// use wristband_rocket_session::WristbandJwt;
    ///
    /// #[get("/api/app")]
    /// fn app(jwt: WristbandJwt<'_>) -> String {
    ///     jwt.claims().get("app_id").and_then(|v| v.as_str()).unwrap_or("?").to_string()
    /// }
    /// ```
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// The guard's check, for [`AuthenticatedUser`](crate::AuthenticatedUser) too: the
    /// request's bearer token through [`WristbandJwtValidator::validate`].
    pub(crate) async fn check(req: &'r Request<'_>) -> Option<Self> {
        let state = req.rocket().state::<AuthState>()?;
        let token = bearer(req)?;
        match state.validator.validate(token).await {
            Ok(jwt) => Some(jwt),
            Err(why) => {
                log::debug!("bearer token refused: {why}");
                None
            }
        }
    }
}

/// Why [`WristbandJwtValidator::validate`] refused a token. Never carries the token or a
/// claim's value.
///
/// ```
/// use wristband_rocket_session::WristbandJwtError;
///
/// assert_eq!(WristbandJwtError::Expired.to_string(), "the token has expired");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WristbandJwtError {
    /// Not a JWT: no three base64url parts, or a header that does not parse.
    Malformed,
    /// The header's `typ` is not `at+JWT` (or `application/at+jwt`): an ID token, or another
    /// kind of token.
    NotAnAccessToken,
    /// Not signed with RS256 (`alg: none`, HS256, …).
    WrongAlgorithm,
    /// The header names no key id, or one that Wristband's JWKS does not hold (or the JWKS
    /// could not be fetched, or its fetch budget is spent).
    UnknownKey,
    /// `exp` is past, beyond the 60 s leeway.
    Expired,
    /// The signature, the issuer, `nbf` or a required claim (`exp`, `iss`, `sub`, `tnt_id`)
    /// is wrong or missing.
    Invalid,
    /// `jwt_allowed_client_ids` is set and the `client_id` claim is not on it.
    ClientNotAllowed,
}

impl fmt::Display for WristbandJwtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WristbandJwtError::Malformed => "the token is not a JWT",
            WristbandJwtError::NotAnAccessToken => "the token is not an access token (typ at+JWT)",
            WristbandJwtError::WrongAlgorithm => "the token is not signed with RS256",
            WristbandJwtError::UnknownKey => "the token's key is not in Wristband's JWKS",
            WristbandJwtError::Expired => "the token has expired",
            WristbandJwtError::Invalid => {
                "the token's signature, issuer, not-before time or required claims are wrong"
            }
            WristbandJwtError::ClientNotAllowed => {
                "the token's client_id is not on jwt_allowed_client_ids"
            }
        })
    }
}

impl std::error::Error for WristbandJwtError {}

/// Checks Wristband access tokens outside a request guard: for a websocket that receives its
/// token in a message, a background consumer, a gRPC service next to Rocket. It applies
/// exactly the checks of [`WristbandJwt`] (access-token `typ`, RS256 against Wristband's
/// JWKS, issuer, `exp`/`nbf` with 60 s of leeway, `sub` and `tnt_id`,
/// `jwt_allowed_client_ids`) with the same JWKS cache, fetch budget and remembered
/// verifications: it is the code the guard runs. Wristband's `createWristbandJwtValidator`.
///
/// Get it from the managed [`WristbandAuth`](crate::WristbandAuth) with
/// [`WristbandAuth::jwt_validator()`](crate::WristbandAuth::jwt_validator) (after ignite, e.g.
/// `rocket.state::<WristbandAuth>()` or `&State<WristbandAuth>` in a handler). It is cheap to
/// clone and `'static`, so it can move into a spawned task.
///
/// ```rust
/// # #[cfg(feature = "fake-wristband")]
/// # mod example {
/// use rocket::local::asynchronous::Client;
/// // The test server `FakeWristband` needs the cargo feature `fake-wristband`.
/// use wristband_rocket_session::testing::FakeWristband;
/// use wristband_rocket_session::{WristbandAuth, WristbandJwtError, WristbandSession};
///
/// # pub fn run() {
/// # rocket::async_test(async {
/// let fake = FakeWristband::start().await;
/// let rocket = rocket::build()
///     .attach(WristbandSession::fairing())
///     .attach(WristbandAuth::custom(fake.auth_options()));
/// let client = Client::untracked(rocket).await.unwrap();
/// let validator = client
///     .rocket()
///     .state::<WristbandAuth>()
///     .and_then(WristbandAuth::jwt_validator)
///     .expect("WristbandAuth is attached");
///
/// // E.g. in a task that reads a token from a websocket's first message.
/// let token = fake.issue_access_token("user-1", "tenant-1", 1800);
/// let checked = rocket::tokio::spawn({
///     let validator = validator.clone();
///     async move { validator.validate(&token).await.map(|jwt| jwt.user_id()) }
/// });
/// assert_eq!(checked.await.unwrap(), Ok("user-1".to_string()));
/// assert_eq!(validator.validate("not.a.jwt").await.unwrap_err(), WristbandJwtError::Malformed);
/// # });
/// # }
/// # }
/// # fn main() {
/// #     #[cfg(feature = "fake-wristband")]
/// #     example::run();
/// # }
/// ```
#[derive(Clone)]
pub struct WristbandJwtValidator {
    inner: Arc<ValidatorInner>,
}

struct ValidatorInner {
    jwks: Arc<JwksCache>,
    http: Arc<HttpClient>,
    /// `{scheme}://{vanity}`.
    issuer: String,
    allowed_client_ids: Option<Vec<String>>,
    /// What `decode` checks besides the signature (built once: it is the same for every token).
    validation: Validation,
}

impl fmt::Debug for WristbandJwtValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WristbandJwtValidator")
            .field("issuer", &self.inner.issuer)
            .field("allowed_client_ids", &self.inner.allowed_client_ids)
            .finish_non_exhaustive()
    }
}

/// The keys of `wristband_auth` a [`WristbandJwtValidator`] uses.
const VALIDATOR_KEYS: &[&str] = &[
    "wristband_application_vanity_domain",
    "wristband_scheme",
    "jwt_allowed_client_ids",
    "jwks_cache_max_size",
    "jwks_cache_ttl",
    "wristband_ca_file",
];

impl WristbandJwtValidator {
    /// A validator for the Wristband application at `vanity_domain` (a host, optionally
    /// `:port`, as the `wristband_application_vanity_domain` key), with every other option at
    /// its default: no Rocket needed, only a Tokio runtime to call
    /// [`validate`](Self::validate) on (the JWKS is fetched with `reqwest`). Its own JWKS
    /// cache; build it once and clone it.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming `wristband_application_vanity_domain` when it is not a host.
    ///
    /// A service without Rocket (here a plain Tokio program), checking tokens of a
    /// [`FakeWristband`](crate::testing::FakeWristband) (which needs the cargo feature
    /// `fake-wristband`):
    ///
    /// ```rust
    /// # #[cfg(feature = "fake-wristband")]
    /// # mod example {
    /// use wristband_rocket_session::testing::FakeWristband;
    /// use wristband_rocket_session::{bearer_token, AuthOptions, WristbandJwtValidator};
    ///
    /// # pub fn run() {
    /// let runtime = tokio::runtime::Runtime::new().unwrap();
    /// runtime.block_on(async {
    ///     let fake = FakeWristband::start().await;
    ///     // Against a real Wristband: `WristbandJwtValidator::new("myapp-myco.us.wristband.dev")`.
    ///     // The fake speaks plain http on loopback, which takes an option:
    ///     let validator = WristbandJwtValidator::from_options(&AuthOptions {
    ///         wristband_scheme: fake.auth_options().wristband_scheme,
    ///         ..AuthOptions::bearer_only(fake.vanity_domain())
    ///     })
    ///     .unwrap();
    ///
    ///     // An `Authorization` header value, as any HTTP server hands it over.
    ///     let header = format!("Bearer {}", fake.issue_access_token("user-1", "tenant-1", 300));
    ///     let token = bearer_token(&header).expect("a bearer token");
    ///     let jwt = validator.validate(token).await.unwrap();
    ///     assert_eq!((jwt.user_id(), jwt.tenant_id()), ("user-1".into(), "tenant-1".into()));
    /// });
    /// # }
    /// # }
    /// # fn main() {
    /// #     #[cfg(feature = "fake-wristband")]
    /// #     example::run();
    /// # }
    /// ```
    ///
    /// ```
    /// use wristband_rocket_session::WristbandJwtValidator;
    ///
    /// assert!(WristbandJwtValidator::new("myapp-myco.us.wristband.dev").is_ok());
    /// let err = WristbandJwtValidator::new("https://myapp-myco.us.wristband.dev/").unwrap_err();
    /// assert_eq!(err.problems()[0].key, "wristband_application_vanity_domain");
    /// ```
    pub fn new(vanity_domain: impl Into<String>) -> Result<Self, ConfigError> {
        Self::from_options(&AuthOptions::bearer_only(vanity_domain))
    }

    /// A validator from `options`, of which it uses `wristband_application_vanity_domain`,
    /// `wristband_scheme`, `jwt_allowed_client_ids`, `jwks_cache_max_size`, `jwks_cache_ttl`
    /// and `wristband_ca_file` (the rest, such as `client_id`, is ignored and not checked). No Rocket
    /// needed: see [`new`](Self::new). Its own JWKS cache, not shared with a `WristbandAuth`
    /// (use [`WristbandAuth::jwt_validator`](crate::WristbandAuth::jwt_validator) for that).
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] listing every problem of those keys.
    ///
    /// ```
    /// use wristband_rocket_session::{AuthOptions, WristbandJwtValidator};
    ///
    /// let options = AuthOptions {
    ///     jwt_allowed_client_ids: Some(vec!["my-api-client-id".into()]),
    ///     jwks_cache_max_size: 5,
    ///     jwks_cache_ttl: Some(3600),
    ///     ..AuthOptions::bearer_only("myapp-myco.us.wristband.dev")
    /// };
    /// assert!(WristbandJwtValidator::from_options(&options).is_ok());
    ///
    /// let bad = AuthOptions { jwks_cache_max_size: 0, ..options };
    /// let err = WristbandJwtValidator::from_options(&bad).unwrap_err();
    /// assert_eq!(err.problems()[0].key, "jwks_cache_max_size");
    /// ```
    pub fn from_options(options: &AuthOptions) -> Result<Self, ConfigError> {
        let problems: Vec<ConfigProblem> = options
            .problems()
            .into_iter()
            .filter(|p| VALIDATOR_KEYS.contains(&p.key.as_str()))
            .collect();
        if !problems.is_empty() {
            return Err(ConfigError::invalid(None, problems));
        }
        let fail = |reason: String| {
            ConfigError::invalid(None, vec![ConfigProblem::for_table(TABLE, "", reason)])
        };
        let http = Arc::new(HttpClient::new(options).map_err(fail)?);
        let jwks = Arc::new(JwksCache::new(
            options.jwks_cache_max_size,
            options.jwks_cache_ttl.map(Duration::from_secs),
        ));
        Ok(Self::with_parts(jwks, http, options.jwt_allowed_client_ids.clone()))
    }

    /// The validator over the app's JWKS cache and HTTP client.
    pub(crate) fn with_parts(
        jwks: Arc<JwksCache>,
        http: Arc<HttpClient>,
        allowed_client_ids: Option<Vec<String>>,
    ) -> Self {
        let issuer = http.base().to_string();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.validate_aud = false;
        validation.set_issuer(&[issuer.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        WristbandJwtValidator {
            inner: Arc::new(ValidatorInner { jwks, http, issuer, allowed_client_ids, validation }),
        }
    }

    /// Checks `token` (the JWT itself, without `Bearer `) as [`WristbandJwt`] does, and gives
    /// the same accessors (`user_id()`, `tenant_id()`, `token()`, `claims()`).
    ///
    /// ```rust
    /// use wristband_rocket_session::{WristbandJwtError, WristbandJwtValidator};
    ///
    /// /// The user id of a websocket's first message, `"token <JWT>"`.
    /// async fn user_of(validator: &WristbandJwtValidator, message: &str) -> Option<String> {
    ///     let token = message.strip_prefix("token ")?;
    ///     match validator.validate(token).await {
    ///         Ok(jwt) => Some(jwt.user_id()),
    ///         Err(WristbandJwtError::Expired) => None, // the client refreshes and reconnects
    ///         Err(_) => None,
    ///     }
    /// }
    /// ```
    pub async fn validate<'t>(
        &self,
        token: &'t str,
    ) -> Result<WristbandJwt<'t>, WristbandJwtError> {
        if let Some(remembered) = self.remembered(token) {
            return remembered;
        }
        // The first sight of a token is boxed apart: a request whose token was remembered
        // (most of them) then awaits a future of a few words, not one as large as the JWKS
        // fetch (over 1 KB, beyond the allocator's small-block caches).
        Box::pin(self.verify(token)).await
    }

    /// What a remembered (already verified) `token` gives, or `None` when it is not
    /// remembered or no longer valid. Only access tokens are ever remembered
    /// (`JwksCache::remember` reads the token's own `typ`), so a hit passed the type check;
    /// the client list is checked again anyway.
    fn remembered<'t>(
        &self,
        token: &'t str,
    ) -> Option<Result<WristbandJwt<'t>, WristbandJwtError>> {
        let inner = &*self.inner;
        let hit = inner.jwks.verified(token, now_secs(), LEEWAY_SECS as i64)?;
        Some(if client_allowed(&hit.claims, inner.allowed_client_ids.as_deref()) {
            Ok(WristbandJwt { token, claims: hit.claims.clone() })
        } else {
            Err(WristbandJwtError::ClientNotAllowed)
        })
    }

    /// The full check of a token that is not remembered; if it passes, the token is noted, or
    /// remembered if it passed before (see `JwksCache::remember`).
    async fn verify<'t>(&self, token: &'t str) -> Result<WristbandJwt<'t>, WristbandJwtError> {
        let inner = &*self.inner;
        let allowed_clients = inner.allowed_client_ids.as_deref();
        // One word only (see `bearer`): checked before anything is decoded or remembered.
        if not_one_word(token) {
            return Err(WristbandJwtError::Malformed);
        }
        let header = decode_header(token).map_err(|_| WristbandJwtError::Malformed)?;
        if !is_access_token_type(header.typ.as_deref()) {
            return Err(WristbandJwtError::NotAnAccessToken);
        }
        if header.alg != Algorithm::RS256 {
            return Err(WristbandJwtError::WrongAlgorithm);
        }
        let kid = header.kid.as_deref().ok_or(WristbandJwtError::UnknownKey)?;
        let key =
            inner.jwks.fetched_key(&inner.http, kid).await.ok_or(WristbandJwtError::UnknownKey)?;
        let claims = match decode::<Map<String, Value>>(token, &key.key, &inner.validation) {
            Ok(data) => data.claims,
            Err(e) if *e.kind() == jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                return Err(WristbandJwtError::Expired)
            }
            Err(_) => return Err(WristbandJwtError::Invalid),
        };
        let present =
            |name: &str| claims.get(name).and_then(Value::as_str).is_some_and(|v| !v.is_empty());
        if !(present("sub") && present("tnt_id")) {
            return Err(WristbandJwtError::Invalid);
        }
        if !client_allowed(&claims, allowed_clients) {
            return Err(WristbandJwtError::ClientNotAllowed);
        }
        let claims = Arc::new(claims);
        let seconds = |v: &Value| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64));
        let exp = claims.get("exp").and_then(seconds).ok_or(WristbandJwtError::Invalid)?;
        let nbf = claims.get("nbf").and_then(seconds);
        let verified = VerifiedToken {
            claims: claims.clone(),
            exp,
            nbf,
            key_fetched: key.fetched,
            kid: kid.into(),
            generation: key.generation,
        };
        inner.jwks.remember(token, verified);
        Ok(WristbandJwt { token, claims })
    }
}

/// Whether a JWT header's `typ` names an OAuth 2.0 access token (RFC 9068 §2.1): `at+jwt`, or
/// its full media type `application/at+jwt`, both compared without regard to ASCII case.
/// Nothing else: no `typ`, `JWT` (ID tokens), or any parameter or extra character.
pub(crate) fn is_access_token_type(typ: Option<&str>) -> bool {
    typ.is_some_and(|typ| {
        typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt")
    })
}

/// Unix seconds, now.
fn now_secs() -> i64 {
    i64::try_from(unix_now().as_secs()).unwrap_or(i64::MAX)
}

/// Whether the `client_id` claim is on `allowed` (always, when there is no list).
fn client_allowed(claims: &Map<String, Value>, allowed: Option<&[String]>) -> bool {
    allowed.is_none_or(|allowed| {
        claims
            .get("client_id")
            .and_then(Value::as_str)
            .is_some_and(|id| allowed.iter().any(|ok| ok == id))
    })
}

/// Whether `token` is not one word: it holds whitespace (Unicode `White_Space`) or an ASCII
/// control character (none belongs in a JWT, whose decoding would refuse it anyway). The bytes
/// are compared without an early exit, which the compiler turns into wide comparisons; only a
/// token with non-ASCII text is decoded into characters.
fn not_one_word(token: &str) -> bool {
    let control_or_space = token.bytes().fold(false, |found, b| found | (b <= b' '));
    control_or_space || (!token.is_ascii() && token.contains(char::is_whitespace))
}

/// The token of the request's one `Authorization: Bearer <token>` header ([`bearer_token`]).
fn bearer<'r>(req: &'r Request<'_>) -> Option<&'r str> {
    bearer_token(single_header(req, "Authorization")?)
}

/// The token of an `Authorization` header value, by the rules of [`WristbandJwt`] (which calls
/// this function): the scheme `Bearer` in any case, exactly one space, then one token of
/// visible ASCII characters (`!` to `~`: no space, tab, control or non-ASCII character).
/// Spaces and tabs around the whole value are ignored, as HTTP strips them from every header
/// value. `None` for anything else: another scheme, no token, two spaces or a tab after the
/// scheme, a second word.
///
/// The guard also refuses a request with more than one `Authorization` header: pass the value
/// of the request's **only** one. The token is not checked otherwise; give it to
/// [`WristbandJwtValidator::validate`] for that.
///
/// ```
/// use wristband_rocket_session::bearer_token;
///
/// assert_eq!(bearer_token("Bearer eyJ.eyJ.sig"), Some("eyJ.eyJ.sig"));
/// assert_eq!(bearer_token("bearer eyJ.eyJ.sig"), Some("eyJ.eyJ.sig"));
/// assert_eq!(bearer_token(" BEARER eyJ.eyJ.sig\t"), Some("eyJ.eyJ.sig"));
///
/// for refused in [
///     "Basic dXNlcjpwdw==",
///     "Bearer",
///     "Bearer ",
///     "Bearer  eyJ.eyJ.sig",   // two spaces
///     "Bearer\teyJ.eyJ.sig",   // a tab
///     "Bearer eyJ.eyJ.sig x", // a second word
///     "Bearer eyJ.eyJ.sïg",   // not ASCII
///     "eyJ.eyJ.sig",
/// ] {
///     assert_eq!(bearer_token(refused), None, "{refused:?}");
/// }
/// ```
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let value = authorization.trim_matches(|c| c == ' ' || c == '\t');
    let (scheme, token) = value.split_once(' ')?;
    let visible = !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic());
    (scheme.eq_ignore_ascii_case("bearer") && visible).then_some(token)
}

/// The value of the request's header `name` (compared without regard to ASCII case): `None`
/// when the request has none or more than one. The headers are walked rather than looked up:
/// Rocket's look-up hashes the name byte by byte with SipHash, which costs more than comparing
/// the lengths of the few headers a request carries (hyper accepts at most 100).
fn single_header<'r>(req: &'r Request<'_>, name: &str) -> Option<&'r str> {
    let mut found = None;
    for header in req.headers().iter() {
        if header.name.len() != name.len() || !header.name.as_str().eq_ignore_ascii_case(name) {
            continue;
        }
        if found.is_some() {
            return None;
        }
        found = Some(match header.value {
            Cow::Borrowed(value) => value,
            // Never for a request's own headers (borrowed from the map); looked up instead.
            Cow::Owned(_) => {
                let mut values = req.headers().get(name);
                let value = values.next()?;
                return values.next().is_none().then_some(value);
            }
        });
    }
    found
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for WristbandJwt<'r> {
    type Error = Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        match WristbandJwt::check(req).await {
            Some(jwt) => Outcome::Success(jwt),
            None => Outcome::Forward(Status::Unauthorized),
        }
    }
}

impl Sentinel for WristbandJwt<'_> {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        super::user::auth_missing(rocket, "WristbandJwt")
    }
}

#[cfg(test)]
mod tests {
    use super::not_one_word;

    #[test]
    fn one_word_means_no_white_space_and_no_ascii_control() {
        for byte in 0u8..=127 {
            let text = format!("ab{}cd", char::from(byte));
            let c = char::from(byte);
            let expected = c.is_whitespace() || (c.is_ascii_control() && byte != 0x7f);
            assert_eq!(not_one_word(&text), expected, "byte {byte}");
        }
        for text in ["a\u{a0}b", "a\u{2003}b", "\u{3000}", "a\u{85}b"] {
            assert!(not_one_word(text), "{text:?}");
        }
        for text in ["é.jwt", "ünïcödé", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln"] {
            assert!(!not_one_word(text), "{text:?}");
        }
    }
}

//! The HTTP client shared by every call to Wristband, and its retry policy.
//!
//! INTERFACE CONTRACT (the flows code calls only this):
//!
//! - `HttpClient::exchange_code(code, code_verifier, redirect_uri).await
//!     -> Result<TokenSet, WristbandError>`: authorization_code grant, HTTP Basic client
//!   auth, form body, via `oauth2`. 5xx and network errors retried (3 tries, 100 ms apart),
//!   never a 4xx. `invalid_grant` → `Err(WristbandError::InvalidGrant { .. })`.
//! - `HttpClient::refresh(refresh_token).await -> Result<TokenSet, WristbandError>`: same
//!   policy, refresh_token grant.
//! - `HttpClient::userinfo(access_token).await -> Result<serde_json::Map<String, Value>,
//!   WristbandError>`: `GET /api/v1/oauth2/userinfo` with a Bearer token.
//! - `HttpClient::revoke(refresh_token).await -> Result<(), WristbandError>`: RFC 7009.
//! - `HttpClient::sdk_configuration().await -> Result<serde_json::Value, WristbandError>`.
//! - `HttpClient::get_json(url).await` for the JWKS (later issue).

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

/// The shared client (see the module docs).
pub(crate) struct HttpClient {}

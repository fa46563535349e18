//! The fake's state, shared by the test's handle and the server's handlers: settings, the
//! per-endpoint scripts, and every code and token issued.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use serde_json::{json, Value};

use super::keys::{KeyRing, SigningKey};
use super::script::{Endpoint, EndpointState};
use super::user::FakeUser;

/// The tenant name used when neither the user nor the host names one.
pub(super) const DEFAULT_TENANT: &str = "acme";
/// The default `loginUrl` of the SDK configuration.
pub(super) const DEFAULT_LOGIN_URL: &str = "http://localhost:8000/auth/login";
/// The default `redirectUri` of the SDK configuration.
pub(super) const DEFAULT_REDIRECT_URI: &str = "http://localhost:8000/auth/callback";
/// The default `expires_in` of issued access tokens, in seconds.
pub(super) const DEFAULT_EXPIRES_IN: i64 = 1800;

/// An authorization request the fake accepted: what a code (or the sign-in page) remembers.
#[derive(Debug, Clone)]
pub(super) struct Grant {
    /// `redirect_uri` exactly as the app sent it.
    pub(super) redirect_uri: String,
    /// Where the browser goes back to: `redirect_uri` with the tenant placeholder filled.
    pub(super) target: oauth2::url::Url,
    pub(super) code_challenge: String,
    pub(super) state: Option<String>,
    pub(super) nonce: Option<String>,
    pub(super) scope: Option<String>,
    pub(super) tenant_name: String,
    pub(super) tenant_custom_domain: Option<String>,
    pub(super) user: FakeUser,
}

/// Who a token was issued to.
#[derive(Debug, Clone)]
pub(super) struct Holder {
    pub(super) user: FakeUser,
    pub(super) scope: Option<String>,
}

/// An issued access token.
#[derive(Debug)]
pub(super) struct AccessToken {
    pub(super) user: FakeUser,
    /// Unix seconds.
    pub(super) expires_at: i64,
}

/// An issued refresh token.
#[derive(Debug)]
pub(super) struct RefreshToken {
    pub(super) holder: Holder,
    pub(super) spent: bool,
}

/// Everything that changes, behind one lock (never held across an `.await`).
pub(super) struct Inner {
    pub(super) sdk_configuration: Value,
    pub(super) user: FakeUser,
    pub(super) auto_approve: bool,
    /// `(error, error_description)` sent back instead of a code.
    pub(super) authorize_error: Option<(String, String)>,
    pub(super) expires_in: i64,
    pub(super) endpoints: [EndpointState; 7],
    pub(super) keys: KeyRing,
    /// Codes not redeemed yet.
    pub(super) codes: HashMap<String, Grant>,
    /// Authorization requests waiting on the sign-in page's button, by request id.
    pub(super) pending: HashMap<String, Grant>,
    pub(super) access_tokens: HashMap<String, AccessToken>,
    pub(super) refresh_tokens: HashMap<String, RefreshToken>,
    /// Every token sent to the revocation endpoint, in order.
    pub(super) revoked: Vec<String>,
    pub(super) refresh_tokens_spent: usize,
    /// The decoded query of the last `GET` authorize request.
    pub(super) last_authorize_request: Option<Vec<(String, String)>>,
}

/// The fake's state.
pub(super) struct Shared {
    pub(super) client_id: String,
    pub(super) client_secret: String,
    pub(super) application_id: String,
    /// Set once the server is bound.
    port: OnceLock<u16>,
    inner: Mutex<Inner>,
}

/// 32 random bytes, base64url without padding (codes, tokens, ids).
pub(super) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Seconds since the Unix epoch.
pub(super) fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The default SDK configuration body.
pub(super) fn default_sdk_configuration() -> Value {
    json!({
        "customApplicationLoginPageUrl": null,
        "isApplicationCustomDomainActive": true,
        "loginUrl": DEFAULT_LOGIN_URL,
        "loginUrlTenantDomainSuffix": null,
        "redirectUri": DEFAULT_REDIRECT_URI,
    })
}

impl Shared {
    pub(super) fn new(client_id: &str, client_secret: &str, application_id: &str) -> Shared {
        Shared {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            application_id: application_id.into(),
            port: OnceLock::new(),
            inner: Mutex::new(Inner {
                sdk_configuration: default_sdk_configuration(),
                user: FakeUser::default(),
                auto_approve: true,
                authorize_error: None,
                expires_in: DEFAULT_EXPIRES_IN,
                endpoints: Default::default(),
                keys: KeyRing::new(),
                codes: HashMap::new(),
                pending: HashMap::new(),
                access_tokens: HashMap::new(),
                refresh_tokens: HashMap::new(),
                revoked: Vec::new(),
                refresh_tokens_spent: 0,
                last_authorize_request: None,
            }),
        }
    }

    /// The state, even after a panic elsewhere poisoned the lock.
    pub(super) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records the bound port (first call wins).
    pub(super) fn set_port(&self, port: u16) {
        let _ = self.port.set(port);
    }

    /// The bound port (0 before the server is bound).
    pub(super) fn port(&self) -> u16 {
        self.port.get().copied().unwrap_or(0)
    }

    /// `http://localhost:<port>`: the issuer.
    pub(super) fn issuer(&self) -> String {
        format!("http://localhost:{}", self.port())
    }

    /// Counts a call to `endpoint`; returns its delay and its next scripted reply.
    pub(super) fn begin(
        &self,
        endpoint: Endpoint,
    ) -> (Option<std::time::Duration>, Option<super::Reply>) {
        let mut inner = self.lock();
        let state = &mut inner.endpoints[endpoint.index()];
        state.calls += 1;
        (state.delay, state.script.pop_front())
    }

    /// Signs an access token for `user` (lifetime `expires_in` s) and records it.
    pub(super) fn issue_access_token(
        &self,
        user: &FakeUser,
        expires_in: i64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let key = self.lock().keys.current();
        let now = now();
        let expires_at = now.saturating_add(expires_in);
        let claims = json!({
            "iss": self.issuer(),
            "sub": user.user_id,
            "tnt_id": user.tenant_id,
            "app_id": self.application_id,
            "client_id": self.client_id,
            "exp": expires_at,
            "iat": now,
            "nbf": now,
            "jti": random_token(),
        });
        let token = key.sign("at+JWT", &claims)?;
        self.lock()
            .access_tokens
            .insert(token.clone(), AccessToken { user: user.clone(), expires_at });
        Ok(token)
    }

    /// Records a new refresh token for `holder`.
    pub(super) fn issue_refresh_token(&self, holder: Holder) -> String {
        let token = random_token();
        self.lock().refresh_tokens.insert(token.clone(), RefreshToken { holder, spent: false });
        token
    }

    /// A token endpoint answer: access, ID and refresh tokens for `holder`.
    pub(super) fn token_response(
        &self,
        holder: Holder,
        nonce: Option<&str>,
    ) -> Result<Value, jsonwebtoken::errors::Error> {
        let (expires_in, key) = {
            let inner = self.lock();
            (inner.expires_in, inner.keys.current())
        };
        let access_token = self.issue_access_token(&holder.user, expires_in)?;
        let id_token = self.id_token(&key, &holder.user, nonce)?;
        let scope = holder.scope.clone();
        let refresh_token = self.issue_refresh_token(holder);
        let mut body = json!({
            "access_token": access_token,
            "id_token": id_token,
            "refresh_token": refresh_token,
            "expires_in": expires_in,
            "token_type": "bearer",
        });
        if let Some(scope) = scope {
            body["scope"] = scope.into();
        }
        Ok(body)
    }

    fn id_token(
        &self,
        key: &SigningKey,
        user: &FakeUser,
        nonce: Option<&str>,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = now();
        let mut claims = json!({
            "iss": self.issuer(),
            "sub": user.user_id,
            "aud": self.client_id,
            "tnt_id": user.tenant_id,
            "app_id": self.application_id,
            "idp_name": "wristband",
            "exp": now + 3600,
            "iat": now,
            "auth_time": now,
        });
        if let Some(nonce) = nonce {
            claims["nonce"] = nonce.into();
        }
        if let Some(email) = &user.email {
            claims["email"] = email.clone().into();
        }
        key.sign("JWT", &claims)
    }
}

/// The shared state as Rocket manages it.
pub(super) type SharedState = Arc<Shared>;

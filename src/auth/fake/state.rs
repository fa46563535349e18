//! The fake's state, shared by the test's handle and the server's handlers: settings, the
//! per-endpoint scripts, and every code and token issued.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use serde_json::{json, Value};

use super::keys::{KeyRing, SigningKey};
use super::origin::PublicOrigin;
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
/// The scopes granted when the request named none (the scopes Wristband's SDKs ask for by
/// default).
pub(super) const DEFAULT_SCOPE: &str = "openid offline_access email";
/// The identity provider named in tokens and userinfo (`idp_name`).
pub(super) const IDP_NAME: &str = "wristband";
/// How the user authenticated (`amr`, RFC 8176), in access and ID tokens: a password, as in
/// Wristband's tokens for a user who signed in with one.
pub(super) const AMR: [&str; 1] = ["pwd"];
/// The lifetime of ID tokens, in seconds.
const ID_TOKEN_LIFETIME: i64 = 3600;

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
    /// When the user signed in (Unix seconds): set when the request is approved.
    pub(super) auth_time: i64,
}

/// Who a token was issued to.
#[derive(Debug, Clone)]
pub(super) struct Holder {
    pub(super) user: FakeUser,
    /// The scopes of the authorization request (`None`: [`DEFAULT_SCOPE`]).
    pub(super) scope: Option<String>,
    /// When the user signed in (Unix seconds); kept across refreshes.
    pub(super) auth_time: i64,
}

impl Holder {
    /// The granted scopes, space-separated.
    pub(super) fn granted_scope(&self) -> &str {
        self.scope.as_deref().unwrap_or(DEFAULT_SCOPE)
    }
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
    /// The users the sign-in page offers after `user` (set with `add_user` / `set_users`).
    pub(super) other_users: Vec<FakeUser>,
    pub(super) auto_approve: bool,
    /// `(error, error_description)` sent back instead of a code.
    pub(super) authorize_error: Option<(String, String)>,
    pub(super) expires_in: i64,
    pub(super) endpoints: [EndpointState; 8],
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
    /// The public origin the test set (`None`: `http://localhost:<port>`).
    pub(super) public: Option<PublicOrigin>,
    /// The logout redirect URLs the test allowed (`None`: any URL on the origin of the app's
    /// login URL).
    pub(super) logout_urls: Option<Vec<String>>,
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
                other_users: Vec::new(),
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
                public: None,
                logout_urls: None,
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

    /// The scheme and `host[:port]` the fake is known by: the public origin, else `http` and
    /// `localhost:<port>`.
    pub(super) fn origin(&self) -> (String, String) {
        match &self.lock().public {
            Some(public) => (public.scheme.clone(), public.authority.clone()),
            None => ("http".into(), self.local_authority()),
        }
    }

    /// `localhost:<port>`: where it listens.
    pub(super) fn local_authority(&self) -> String {
        format!("localhost:{}", self.port())
    }

    /// The public URL's host, if the test set one.
    pub(super) fn public_domain(&self) -> Option<String> {
        self.lock().public.as_ref().map(|public| public.domain.clone())
    }

    /// `{scheme}://{host[:port]}` of [`origin`](Self::origin): the issuer, and the base of
    /// every URL naming the fake.
    pub(super) fn issuer(&self) -> String {
        let (scheme, authority) = self.origin();
        format!("{scheme}://{authority}")
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

    /// Signs an access token for `holder` (lifetime `expires_in` s) and records it. Its claims
    /// are those of Wristband's access tokens (header `typ: at+JWT`): `iss`, `sub`,
    /// `sub_kind`, `client_id`, `tnt_id`, `app_id`, `van_dom`, `idp_name`, `scope`,
    /// `auth_time`, `amr`, `jti`, `exp`, `iat` (no `nbf`, as Wristband's).
    pub(super) fn issue_access_token(
        &self,
        holder: &Holder,
        expires_in: i64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let key = self.lock().keys.current();
        let (scheme, vanity_domain) = self.origin();
        let now = now();
        let expires_at = now.saturating_add(expires_in);
        let user = &holder.user;
        let claims = json!({
            "iss": format!("{scheme}://{vanity_domain}"),
            "sub": user.user_id,
            "sub_kind": "user",
            "client_id": self.client_id,
            "tnt_id": user.tenant_id,
            "app_id": self.application_id,
            "van_dom": vanity_domain,
            "idp_name": IDP_NAME,
            "scope": holder.granted_scope(),
            "auth_time": holder.auth_time,
            "amr": AMR,
            "jti": random_token(),
            "exp": expires_at,
            "iat": now,
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
        let access_token = self.issue_access_token(&holder, expires_in)?;
        let id_token = self.id_token(&key, &holder, nonce)?;
        let scope = holder.granted_scope().to_string();
        let refresh_token = self.issue_refresh_token(holder);
        Ok(json!({
            "access_token": access_token,
            "id_token": id_token,
            "refresh_token": refresh_token,
            "expires_in": expires_in,
            "token_type": "bearer",
            "scope": scope,
        }))
    }

    /// An ID token (header `typ: JWT`): `iss`, `sub`, `aud` (the client id), `exp`, `iat`,
    /// `auth_time`, `amr`, `nonce` (when the authorize request sent one), `tnt_id`, `app_id`,
    /// `idp_name`, and `email` when the user has one.
    fn id_token(
        &self,
        key: &SigningKey,
        holder: &Holder,
        nonce: Option<&str>,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = now();
        let user = &holder.user;
        let mut claims = json!({
            "iss": self.issuer(),
            "sub": user.user_id,
            "aud": self.client_id,
            "tnt_id": user.tenant_id,
            "app_id": self.application_id,
            "idp_name": IDP_NAME,
            "exp": now.saturating_add(ID_TOKEN_LIFETIME),
            "iat": now,
            "auth_time": holder.auth_time,
            "amr": AMR,
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

//! Wristband's login data ([`CallbackData`], [`UserInfo`]), logging a user in
//! ([`Session::from_callback()`]) and the session and token endpoints' responses.

use std::fmt;
use std::io::Cursor;

use rocket::http::{ContentType, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::session::csrf;
use crate::session::error::SessionError;
use crate::session::guard::{keys, Session};
use crate::session::state::json_len;

/// The session keys Wristband's fields own; custom fields may not use them.
pub(crate) const RESERVED_KEYS: &[&str] = &[
    keys::IS_AUTHENTICATED,
    keys::ACCESS_TOKEN,
    keys::EXPIRES_AT,
    keys::REFRESH_TOKEN,
    keys::USER_ID,
    keys::TENANT_ID,
    keys::TENANT_NAME,
    keys::IDENTITY_PROVIDER_NAME,
    keys::TENANT_CUSTOM_DOMAIN,
    keys::CSRF_TOKEN,
    keys::SESSION_ID,
    keys::SESSION_ISSUED_AT,
];

/// A role of the user, as Wristband's userinfo mapping gives it.
///
/// ```
/// use serde_json::json;
/// use wristband_rocket_session::UserInfo;
///
/// let user: UserInfo = serde_json::from_value(json!({
///     "userId": "u1", "tenantId": "t1", "applicationId": "a1",
///     "identityProviderName": "wristband",
///     "roles": [{ "id": "r1", "name": "app:my-app:admin", "displayName": "Admin" }]
/// }))?;
/// let roles = user.roles.unwrap_or_default();
/// assert!(roles.iter().any(|role| role.name.ends_with(":admin")));
/// assert_eq!(roles[0].display_name, "Admin");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfoRole {
    /// The role's id.
    pub id: String,
    /// The role's name, e.g. `app:app-name:admin`.
    pub name: String,
    /// The role's display name.
    pub display_name: String,
}

/// The user a Wristband login callback describes (Wristband's `userinfo`). The first four
/// fields are always present; the others only when the token's scopes grant them.
///
/// ```
/// use wristband_rocket_session::UserInfo;
///
/// let user: UserInfo = serde_json::from_str(r#"{
///     "userId": "u1", "tenantId": "t1", "applicationId": "a1",
///     "identityProviderName": "wristband", "email": "ada@example.com"
/// }"#)?;
/// assert_eq!(user.email.as_deref(), Some("ada@example.com"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    /// The user's id (`sub`).
    pub user_id: String,
    /// The tenant's id (`tnt_id`).
    pub tenant_id: String,
    /// The application's id (`app_id`).
    pub application_id: String,
    /// The identity provider the user logged in with (`idp_name`).
    pub identity_provider_name: String,
    /// Full name (`name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    /// Given name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// Family name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// Middle name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// Nickname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// Display name (`preferred_username`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Picture URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture_url: Option<String>,
    /// Gender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    /// Birthdate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birthdate: Option<String>,
    /// Time zone (`zoneinfo`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Locale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// When the profile was last updated, in seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
    /// Email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether the email address is verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// Phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// Whether the phone number is verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number_verified: Option<bool>,
    /// The user's roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<UserInfoRole>>,
    /// Custom claims configured in Wristband.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_claims: Option<Map<String, Value>>,
}

/// What a completed Wristband login callback yields, in the JSON shape of Wristband's SDKs.
///
/// `Debug` redacts the tokens.
///
/// ```
/// use wristband_rocket_session::CallbackData;
///
/// let data: CallbackData = serde_json::from_str(r#"{
///     "accessToken": "at", "expiresAt": 1767225600000, "expiresIn": 1740, "idToken": "it",
///     "tenantName": "acme",
///     "userinfo": { "userId": "u1", "tenantId": "t1", "applicationId": "a1",
///                   "identityProviderName": "wristband" }
/// }"#)?;
/// assert_eq!(data.userinfo.user_id, "u1");
/// assert!(data.refresh_token.is_none());
/// assert!(!format!("{data:?}").contains("\"at\""));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallbackData {
    /// The access token.
    pub access_token: String,
    /// When the access token expires, in milliseconds since the Unix epoch.
    pub expires_at: i64,
    /// The access token's lifetime in seconds (after Wristband's expiry buffer).
    pub expires_in: i64,
    /// The ID token.
    pub id_token: String,
    /// The refresh token, present when the login asked for `offline_access`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The tenant's name.
    pub tenant_name: String,
    /// The tenant's custom domain, when the login used one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_custom_domain: Option<String>,
    /// State the application passed to the login, returned as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_state: Option<Value>,
    /// Where to send the user after the login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
    /// The user.
    pub userinfo: UserInfo,
}

impl fmt::Debug for CallbackData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackData")
            .field("access_token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .field("expires_in", &self.expires_in)
            .field("id_token", &"[redacted]")
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "[redacted]"))
            .field("tenant_name", &self.tenant_name)
            .field("tenant_custom_domain", &self.tenant_custom_domain)
            .field("custom_state", &self.custom_state)
            .field("return_url", &self.return_url)
            .field("userinfo", &self.userinfo)
            .finish()
    }
}

/// The body of Wristband's session endpoint: `{"userId", "tenantId", "metadata"}`. A responder
/// that sends it as JSON with `Cache-Control: no-store` and `Pragma: no-cache`.
///
/// ```
/// # use rocket::{get, routes};
/// # use rocket::local::blocking::Client;
/// # use wristband_rocket_session::testing::{callback_data, LocalRequestExt};
/// # use wristband_rocket_session::WristbandSession;
/// use serde_json::{json, Value};
/// use wristband_rocket_session::{AuthenticatedSession, SessionError, SessionResponse};
///
/// #[get("/api/session")]
/// fn session(session: AuthenticatedSession<'_>) -> Result<SessionResponse, SessionError> {
///     session.session_response(None)
/// }
///
/// # let rocket = rocket::build().attach(WristbandSession::fairing());
/// # let client = Client::untracked(rocket.mount("/", routes![session])).unwrap();
/// let response = client.get("/api/session").logged_in_as(&callback_data("u1", "t1")).dispatch();
/// assert_eq!(response.headers().get_one("Cache-Control"), Some("no-store"));
/// let body: Value = response.into_json().unwrap();
/// assert_eq!(body, json!({ "userId": "u1", "tenantId": "t1", "metadata": {} }));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionResponse {
    /// The user's id.
    pub user_id: String,
    /// The tenant's id.
    pub tenant_id: String,
    /// What the application chose to expose (`{}` by default).
    pub metadata: Value,
}

/// The body of Wristband's token endpoint: `{"accessToken", "expiresAt"}`. A responder that
/// sends it as JSON with `Cache-Control: no-store` and `Pragma: no-cache`. `Debug` redacts the
/// token.
///
/// ```
/// use serde_json::json;
/// use wristband_rocket_session::TokenResponse;
///
/// let token = TokenResponse { access_token: "eyJ…".into(), expires_at: 1_767_225_600_000 };
/// let body = serde_json::to_value(&token)?;
/// assert_eq!(body, json!({ "accessToken": "eyJ…", "expiresAt": 1_767_225_600_000_i64 }));
/// assert!(!format!("{token:?}").contains("eyJ"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// When it expires, in milliseconds since the Unix epoch.
    pub expires_at: i64,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Sends `body` as JSON that no cache may keep.
fn no_store_json<'r, T: Serialize>(body: &T) -> response::Result<'r> {
    let text = serde_json::to_string(body).map_err(|_| Status::InternalServerError)?;
    Response::build()
        .header(ContentType::JSON)
        .raw_header("Cache-Control", "no-store")
        .raw_header("Pragma", "no-cache")
        .sized_body(text.len(), Cursor::new(text))
        .ok()
}

impl<'r> Responder<'r, 'static> for SessionResponse {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        no_store_json(&self)
    }
}

impl<'r> Responder<'r, 'static> for TokenResponse {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        no_store_json(&self)
    }
}

/// A handler may return `Result<_, SessionError>`: a missing session field answers 401 (the
/// user is not logged in), a failed CSRF check 403, anything else 500. The body comes from the
/// catcher for that status; the error itself is logged, never sent.
impl<'r> Responder<'r, 'static> for SessionError {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let status = match self {
            SessionError::MissingField { .. } => Status::Unauthorized,
            SessionError::CsrfFailed => Status::Forbidden,
            _ => Status::InternalServerError,
        };
        log::warn!("session error answered {status}: {self}");
        Err(status)
    }
}

/// The session a login creates: Wristband's fields, a fresh CSRF token when `csrf` is on, then
/// the custom fields (which may not use Wristband's keys).
pub(crate) fn login_map(
    data: &CallbackData,
    custom: Option<Map<String, Value>>,
    csrf: bool,
) -> Result<Map<String, Value>, SessionError> {
    let custom = custom.unwrap_or_default();
    if let Some(key) = custom.keys().find(|k| RESERVED_KEYS.contains(&k.as_str())) {
        return Err(SessionError::ReservedKey { key: key.clone() });
    }
    let mut session = Map::new();
    let mut set = |key: &str, value: Value| session.insert(key.to_string(), value);
    set(keys::IS_AUTHENTICATED, Value::Bool(true));
    set(keys::ACCESS_TOKEN, data.access_token.clone().into());
    set(keys::EXPIRES_AT, data.expires_at.into());
    set(keys::USER_ID, data.userinfo.user_id.clone().into());
    set(keys::TENANT_ID, data.userinfo.tenant_id.clone().into());
    set(keys::TENANT_NAME, data.tenant_name.clone().into());
    set(keys::IDENTITY_PROVIDER_NAME, data.userinfo.identity_provider_name.clone().into());
    if let Some(token) = &data.refresh_token {
        set(keys::REFRESH_TOKEN, token.clone().into());
    }
    if let Some(domain) = &data.tenant_custom_domain {
        set(keys::TENANT_CUSTOM_DOMAIN, domain.clone().into());
    }
    if csrf {
        set(keys::CSRF_TOKEN, csrf::new_token().into());
    }
    session.extend(custom);
    Ok(session)
}

impl Session<'_> {
    /// Logs a user in from Wristband's callback data: replaces the whole session (nothing from
    /// before the login survives), stores Wristband's fields under their camelCase keys
    /// (`refreshToken` and `tenantCustomDomain` only when present), then `custom` fields, and,
    /// with `enable_csrf_protection`, a fresh random CSRF token.
    ///
    /// # Errors
    ///
    /// [`SessionError::ReservedKey`] if a custom field uses one of Wristband's keys, and
    /// [`SessionError::TooLarge`] if the session would not fit; the session is then unchanged.
    ///
    /// ```
    /// # use rocket::post;
    /// use rocket::serde::json::Json;
    /// use wristband_rocket_session::{CallbackData, Session, SessionError};
    ///
    /// #[post("/login", data = "<data>")]
    /// fn login(session: Session<'_>, data: Json<CallbackData>) -> Result<(), SessionError> {
    ///     let mut custom = serde_json::Map::new();
    ///     custom.insert("theme".into(), "dark".into());
    ///     session.from_callback(&data, Some(custom))
    /// }
    /// ```
    pub fn from_callback(
        &self,
        data: &CallbackData,
        custom: Option<Map<String, Value>>,
    ) -> Result<(), SessionError> {
        let session = login_map(data, custom, self.config().options.enable_csrf_protection)?;
        let json_len = json_len(&session);
        self.check_fits(json_len, &session)?;
        self.replace(session, Some(json_len));
        Ok(())
    }

    /// The session endpoint's response: `{"userId", "tenantId", "metadata"}`, `metadata`
    /// defaulting to `{}`.
    ///
    /// # Errors
    ///
    /// [`SessionError::MissingField`] when the session has no `userId` or `tenantId` (as a
    /// responder: 401).
    ///
    /// ```
    /// # use rocket::get;
    /// use wristband_rocket_session::{AuthenticatedSession, SessionError, SessionResponse};
    ///
    /// #[get("/api/session")]
    /// fn session(session: AuthenticatedSession<'_>) -> Result<SessionResponse, SessionError> {
    ///     session.session_response(Some(serde_json::json!({ "tenant": session.tenant_name() })))
    /// }
    /// ```
    pub fn session_response(
        &self,
        metadata: Option<Value>,
    ) -> Result<SessionResponse, SessionError> {
        Ok(SessionResponse {
            user_id: self.user_id().ok_or(SessionError::MissingField { key: keys::USER_ID })?,
            tenant_id: self
                .tenant_id()
                .ok_or(SessionError::MissingField { key: keys::TENANT_ID })?,
            metadata: metadata.unwrap_or_else(|| Value::Object(Map::new())),
        })
    }

    /// The token endpoint's response: `{"accessToken", "expiresAt"}`.
    ///
    /// # Errors
    ///
    /// [`SessionError::MissingField`] when the session has no `accessToken` or `expiresAt` (as
    /// a responder: 401).
    ///
    /// ```
    /// # use rocket::get;
    /// use wristband_rocket_session::{AuthenticatedSession, SessionError, TokenResponse};
    ///
    /// #[get("/api/token")]
    /// fn token(session: AuthenticatedSession<'_>) -> Result<TokenResponse, SessionError> {
    ///     session.token_response()
    /// }
    /// ```
    pub fn token_response(&self) -> Result<TokenResponse, SessionError> {
        Ok(TokenResponse {
            access_token: self
                .access_token()
                .ok_or(SessionError::MissingField { key: keys::ACCESS_TOKEN })?,
            expires_at: self
                .expires_at()
                .ok_or(SessionError::MissingField { key: keys::EXPIRES_AT })?,
        })
    }
}

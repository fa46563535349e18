//! [`Wristband::callback()`] and [`CallbackResult`]; the userinfo claim mapping.

use oauth2::url::Url;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::error::{RedirectReason, WristbandError};
use super::guard::Wristband;
use super::id_token;
use super::login_state;
use super::tenant::{request_tenant, Query};
use crate::session::log_text::Escaped;
use crate::session::login_data::{CallbackData, UserInfo, UserInfoRole};

/// What a login callback comes to: a logged-in user, or a new login to start.
///
/// ```
/// use wristband_rocket_session::{CallbackResult, RedirectReason};
///
/// fn describe(result: &CallbackResult) -> String {
///     match result {
///         CallbackResult::Completed(data) => format!("welcome {}", data.userinfo.user_id),
///         CallbackResult::RedirectRequired { reason, .. } => format!("again: {reason:?}"),
///     }
/// }
///
/// let result = CallbackResult::RedirectRequired {
///     redirect_url: "https://app.example.com/auth/login?tenant_name=acme".into(),
///     reason: RedirectReason::MissingLoginState,
/// };
/// assert_eq!(describe(&result), "again: MissingLoginState");
/// ```
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // built once per login
pub enum CallbackResult {
    /// The login succeeded: store it with [`Session::from_callback()`](crate::Session::from_callback)
    /// and redirect (to [`CallbackData::return_url`] when set).
    Completed(CallbackData),
    /// The login cannot complete; send the user to `redirect_url` (the tenant's login URL of
    /// the app) to start again.
    RedirectRequired {
        /// The app's login URL for the tenant.
        redirect_url: String,
        /// Why.
        reason: RedirectReason,
    },
}

/// Replaces the first `{tenant_name}` or `{tenant_domain}` placeholder of `url` by `tenant`.
fn replace_placeholder(url: &str, tenant: &str) -> String {
    let at = ["{tenant_name}", "{tenant_domain}"]
        .iter()
        .filter_map(|p| url.find(p).map(|i| (i, p.len())))
        .min();
    match at {
        Some((i, len)) => format!("{}{tenant}{}", &url[..i], &url[i + len..]),
        None => url.to_string(),
    }
}

/// The app's login URL for the tenant, to start a login again: the placeholder replaced in
/// subdomain mode, `?tenant_name=` otherwise; `tenant_custom_domain=` added when the callback
/// had one. Values URL-encoded.
pub(crate) fn tenant_login_url(
    login_url: &str,
    tenant: &str,
    custom_domain: Option<&str>,
    subdomains: bool,
) -> Result<String, WristbandError> {
    let base = if subdomains { replace_placeholder(login_url, tenant) } else { login_url.into() };
    let mut url = Url::parse(&base).map_err(|e| WristbandError::Configuration {
        reason: format!("login_url does not parse: {e}"),
    })?;
    if !subdomains {
        url.query_pairs_mut().append_pair("tenant_name", tenant);
    }
    if let Some(domain) = custom_domain {
        url.query_pairs_mut().append_pair("tenant_custom_domain", domain);
    }
    Ok(url.into())
}

fn unexpected(reason: impl Into<String>) -> WristbandError {
    WristbandError::Unexpected { reason: reason.into() }
}

/// Maps Wristband's userinfo claims to [`UserInfo`]. `sub`, `tnt_id`, `app_id` and
/// `idp_name` must be non-empty strings; other claims of the wrong type count as absent.
pub(crate) fn map_userinfo(claims: &Map<String, Value>) -> Result<UserInfo, WristbandError> {
    let text = |key: &str| claims.get(key).and_then(Value::as_str).map(str::to_string);
    let required = |key: &str| {
        text(key)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| unexpected(format!("invalid userinfo response: missing {key} claim")))
    };
    let flag = |key: &str| claims.get(key).and_then(Value::as_bool);
    let roles = claims.get("roles").and_then(Value::as_array).map(|roles| {
        roles
            .iter()
            .filter_map(Value::as_object)
            .map(|role| {
                let field = |key: &str| role.get(key).and_then(Value::as_str).map(str::to_string);
                UserInfoRole {
                    id: field("id").unwrap_or_default(),
                    name: field("name").unwrap_or_default(),
                    display_name: field("display_name")
                        .or_else(|| field("displayName"))
                        .unwrap_or_default(),
                }
            })
            .collect()
    });
    Ok(UserInfo {
        user_id: required("sub")?,
        tenant_id: required("tnt_id")?,
        application_id: required("app_id")?,
        identity_provider_name: required("idp_name")?,
        full_name: text("name"),
        given_name: text("given_name"),
        family_name: text("family_name"),
        middle_name: text("middle_name"),
        nickname: text("nickname"),
        display_name: text("preferred_username"),
        picture_url: text("picture"),
        gender: text("gender"),
        birthdate: text("birthdate"),
        time_zone: text("zoneinfo"),
        locale: text("locale"),
        updated_at: claims
            .get("updated_at")
            .and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))),
        email: text("email"),
        email_verified: flag("email_verified"),
        phone_number: text("phone_number"),
        phone_number_verified: flag("phone_number_verified"),
        roles,
        custom_claims: claims.get("custom_claims").and_then(Value::as_object).cloned(),
    })
}

/// `(expires_in − buffer, now + that in ms)`.
pub(crate) fn expiry(expires_in: i64, buffer: i64, now: OffsetDateTime) -> (i64, i64) {
    let expires_in = expires_in.saturating_sub(buffer);
    let now_ms = (now.unix_timestamp_nanos() / 1_000_000) as i64;
    (expires_in, now_ms.saturating_add(expires_in.saturating_mul(1000)))
}

impl Wristband<'_> {
    /// Completes a login when Wristband sends the user back (Wristband's `callback()`).
    ///
    /// Reads the `code`, `state`, `tenant_name` (or the older `tenant_domain`),
    /// `tenant_custom_domain`, `error` and `error_description` query parameters (the tenant
    /// from the `Host` subdomain when `parse_tenant_from_root_domain` is set), finds the
    /// login-state cookie of `state` and always clears it, then exchanges the code (with the
    /// PKCE verifier and redirect URI the login stored) and fetches the user's claims.
    ///
    /// - [`CallbackResult::Completed`]: tokens, `expires_in` = Wristband's `expires_in` −
    ///   `token_expiration_buffer`, `expires_at` = now + that (ms), the user, the tenant, and
    ///   the login's return URL and custom state.
    /// - [`CallbackResult::RedirectRequired`] to the app's login URL for the tenant, with
    ///   [`RedirectReason::MissingLoginState`] (no cookie), `InvalidLoginState` (tampered,
    ///   expired, or another state), `LoginRequired` (`error=login_required`) or
    ///   `InvalidGrant` (Wristband refused the code).
    ///
    /// # Errors
    ///
    /// 400 ([`WristbandError::BadRequest`]): a repeated parameter, no `state`, no tenant, no
    /// `code`; ([`WristbandError::Authorization`]) an `error` other than `login_required`.
    /// 500: the code exchange or userinfo failed otherwise, or the configuration is
    /// unavailable.
    ///
    /// ```rust,no_run
    /// # use rocket::get;
    /// use wristband_rocket_session::{
    ///     CallbackResult, Session, Wristband, WristbandError, WristbandRedirect,
    /// };
    ///
    /// #[get("/auth/callback")]
    /// async fn callback(
    ///     wristband: Wristband<'_>,
    ///     session: Session<'_>,
    /// ) -> Result<WristbandRedirect, WristbandError> {
    ///     match wristband.callback().await? {
    ///         CallbackResult::Completed(data) => {
    ///             session.from_callback(&data, None)?;
    ///             Ok(WristbandRedirect::to(data.return_url.clone().unwrap_or_else(|| "/".into())))
    ///         }
    ///         CallbackResult::RedirectRequired { redirect_url, .. } => {
    ///             Ok(WristbandRedirect::to(redirect_url))
    ///         }
    ///     }
    /// }
    /// ```
    pub async fn callback(&self) -> Result<CallbackResult, WristbandError> {
        let query = Query::of(self.uri);
        // Every parameter is checked for repeats before anything else.
        let state = query.single("state")?;
        let code = query.single("code")?;
        let error = query.single("error")?;
        let error_description = query.single("error_description")?;
        let endpoints = self.state.endpoints().await?;
        let root = endpoints.parse_tenant_from_root_domain.as_deref().filter(|r| !r.is_empty());
        let allowed = &self.state.options().allowed_tenant_custom_domains;
        let tenant = request_tenant(&query, self.host.as_deref(), root, allowed)?;
        let Some(state) = state else {
            return Err(WristbandError::bad_request(
                "invalid_query_parameter",
                "the callback has no [state] query parameter",
            ));
        };
        let Some(tenant_name) = tenant.name else {
            return Err(match root {
                Some(_) => WristbandError::bad_request(
                    "missing_tenant_subdomain",
                    "callback request URL is missing a tenant subdomain",
                ),
                None => WristbandError::bad_request(
                    "missing_tenant_name",
                    "callback request is missing the [tenant_name] query parameter",
                ),
            });
        };
        let custom_domain = tenant.custom_domain;
        let redirect_url = tenant_login_url(
            &endpoints.login_url,
            &tenant_name,
            custom_domain.as_deref(),
            root.is_some(),
        )?;
        let redirect = |reason| {
            Ok(CallbackResult::RedirectRequired { redirect_url: redirect_url.clone(), reason })
        };

        // Every cookie of this state is cleared, whatever happens next.
        let secure = self.secure_cookies();
        let found: Vec<(String, String)> = login_state::matching(self.cookies, state)
            .into_iter()
            .map(|c| (c.name().to_string(), c.value().to_string()))
            .collect();
        for (name, _) in &found {
            login_state::queue(self.session.as_ref(), &login_state::removal(name, secure));
        }
        let Some((name, value)) = found.first() else {
            log::debug!(
                "callback on host \"{}\" has no login-state cookie for its state: the login \
                 started on another host (cookies are kept per host: compare `login_url` and \
                 `redirect_uri`), more than an hour ago, or in another browser",
                Escaped(self.host.as_deref().unwrap_or("(none)"))
            );
            return redirect(RedirectReason::MissingLoginState);
        };
        let Some(login) = login_state::open(self.state.login_state_secret(), name, value, state)
        else {
            log::debug!("login-state cookie refused: tampered, expired or of another state");
            return redirect(RedirectReason::InvalidLoginState);
        };

        if let Some(error) = error {
            if error.eq_ignore_ascii_case("login_required") {
                return redirect(RedirectReason::LoginRequired);
            }
            return Err(WristbandError::Authorization {
                error: error.to_string(),
                description: error_description.map(str::to_string),
            });
        }
        let Some(code) = code else {
            return Err(WristbandError::bad_request(
                "invalid_query_parameter",
                "the callback has no [code] query parameter",
            ));
        };

        let http = self.state.http();
        let tokens = match http.exchange_code(code, &login.code_verifier, &login.redirect_uri).await
        {
            Ok(tokens) => tokens,
            Err(WristbandError::InvalidGrant { .. }) => {
                log::debug!("Wristband refused the authorization code (invalid_grant)");
                return redirect(RedirectReason::InvalidGrant);
            }
            Err(e) => return Err(e),
        };
        let nonce = login.nonce.as_deref().unwrap_or_default();
        let id_sub = match id_token::check(self.state, tokens.id_token.as_deref(), nonce).await {
            Ok(sub) => sub,
            Err(why) => {
                log::debug!("callback refused: {why}");
                return redirect(RedirectReason::InvalidIdToken);
            }
        };
        let claims = http.userinfo(&tokens.access_token).await?;
        let userinfo = map_userinfo(&claims)?;
        if id_sub.is_some_and(|sub| sub != userinfo.user_id) {
            log::debug!("callback refused: the id_token's sub is not userinfo's");
            return redirect(RedirectReason::InvalidIdToken);
        }
        let buffer = self.state.options().token_expiration_buffer;
        let (expires_in, expires_at) = expiry(tokens.expires_in, buffer, OffsetDateTime::now_utc());

        Ok(CallbackResult::Completed(CallbackData {
            access_token: tokens.access_token,
            expires_at,
            expires_in,
            id_token: tokens.id_token.unwrap_or_default(),
            refresh_token: tokens.refresh_token.filter(|t| !t.is_empty()),
            tenant_name,
            tenant_custom_domain: custom_domain,
            custom_state: login.custom_state.map(Value::Object),
            return_url: login.return_url,
            userinfo,
        }))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn tenant_login_urls() {
        let url = tenant_login_url("https://app.com/auth/login", "devs4you", None, false).unwrap();
        assert_eq!(url, "https://app.com/auth/login?tenant_name=devs4you");
        let url =
            tenant_login_url("https://app.com/auth/login", "acme", Some("auth.acme.com"), false)
                .unwrap();
        assert_eq!(
            url,
            "https://app.com/auth/login?tenant_name=acme&tenant_custom_domain=auth.acme.com"
        );
        let url = tenant_login_url("https://{tenant_name}.app.com/auth/login", "acme", None, true)
            .unwrap();
        assert_eq!(url, "https://acme.app.com/auth/login");
        let url =
            tenant_login_url("https://{tenant_domain}.app.com/login", "a", Some("x.com"), true)
                .unwrap();
        assert_eq!(url, "https://a.app.com/login?tenant_custom_domain=x.com");
    }

    #[test]
    fn placeholders_first_only() {
        assert_eq!(replace_placeholder("{tenant_name}/{tenant_name}", "a"), "a/{tenant_name}");
        assert_eq!(replace_placeholder("x{tenant_domain}{tenant_name}", "a"), "xa{tenant_name}");
        assert_eq!(replace_placeholder("none", "a"), "none");
    }

    #[test]
    fn userinfo_mapping() {
        let claims = json!({
            "sub": "u1", "tnt_id": "t1", "app_id": "a1", "idp_name": "wristband",
            "name": "Ada Lovelace", "given_name": "Ada", "family_name": "Lovelace",
            "middle_name": "King", "nickname": "ada", "preferred_username": "ada.l",
            "picture": "https://p/1.png", "gender": "f", "birthdate": "1815-12-10",
            "zoneinfo": "Europe/London", "locale": "en-GB", "updated_at": 1_700_000_000,
            "email": "ada@example.com", "email_verified": true,
            "phone_number": "+44", "phone_number_verified": false,
            "roles": [
                { "id": "r1", "name": "app:x:admin", "display_name": "Admin" },
                { "id": "r2", "name": "app:x:viewer", "displayName": "Viewer" }
            ],
            "custom_claims": { "plan": "pro" }
        });
        let user = map_userinfo(claims.as_object().unwrap()).unwrap();
        let expected: UserInfo = serde_json::from_value(json!({
            "userId": "u1", "tenantId": "t1", "applicationId": "a1",
            "identityProviderName": "wristband", "fullName": "Ada Lovelace", "givenName": "Ada",
            "familyName": "Lovelace", "middleName": "King", "nickname": "ada",
            "displayName": "ada.l", "pictureUrl": "https://p/1.png", "gender": "f",
            "birthdate": "1815-12-10", "timeZone": "Europe/London", "locale": "en-GB",
            "updatedAt": 1_700_000_000, "email": "ada@example.com", "emailVerified": true,
            "phoneNumber": "+44", "phoneNumberVerified": false,
            "roles": [
                { "id": "r1", "name": "app:x:admin", "displayName": "Admin" },
                { "id": "r2", "name": "app:x:viewer", "displayName": "Viewer" }
            ],
            "customClaims": { "plan": "pro" }
        }))
        .unwrap();
        assert_eq!(user, expected);

        let minimal =
            json!({ "sub": "u", "tnt_id": "t", "app_id": "a", "idp_name": "i", "email": null });
        let user = map_userinfo(minimal.as_object().unwrap()).unwrap();
        assert_eq!(user.email, None);
        assert_eq!(user.roles, None);
        for missing in ["sub", "tnt_id", "app_id", "idp_name"] {
            let mut claims = minimal.as_object().unwrap().clone();
            claims.insert(missing.into(), json!(""));
            let err = map_userinfo(&claims).unwrap_err();
            assert!(err.to_string().contains(missing));
            claims.remove(missing);
            assert!(map_userinfo(&claims).is_err());
        }
    }

    #[test]
    fn expiry_with_buffer() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        assert_eq!(expiry(1800, 60, now), (1740, 1_700_000_000_000 + 1_740_000));
        assert_eq!(expiry(1800, 0, now), (1800, 1_700_000_000_000 + 1_800_000));
        assert_eq!(expiry(30, 60, now), (-30, 1_700_000_000_000 - 30_000));
    }
}

//! [`Wristband::logout()`] and [`LogoutConfig`].

use oauth2::url::Url;

use super::error::WristbandError;
use super::guard::{Wristband, WristbandRedirect};
use super::login::app_login_url;
use super::tenant::{allowed_custom_domain, is_host, is_label, request_tenant, tenant_host, Query};
use crate::session::error::SessionError;
use crate::session::guard::keys;

/// The longest logout `state`, in characters (Wristband's limit).
pub(crate) const MAX_STATE_LEN: usize = 512;

/// What the application asks of one logout. Every field is optional; `Default` reads the
/// tenant and refresh token from the session.
///
/// ```
/// use wristband_rocket_session::LogoutConfig;
///
/// let config = LogoutConfig {
///     redirect_url: Some("https://app.example.com/goodbye".into()),
///     state: Some("from-settings".into()),
///     ..LogoutConfig::default()
/// };
/// assert!(config.tenant_name.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogoutConfig {
    /// Where Wristband sends the user after its logout page (`redirect_url`). When no tenant
    /// is known, the logout redirects straight here.
    pub redirect_url: Option<String>,
    /// The refresh token to revoke. _Default:_ the session's `refreshToken`.
    pub refresh_token: Option<String>,
    /// Passed to Wristband's logout page and back to `redirect_url`; at most 512 characters.
    pub state: Option<String>,
    /// The tenant custom domain whose logout page to use. _Default:_ the session's
    /// `tenantCustomDomain`.
    pub tenant_custom_domain: Option<String>,
    /// The tenant whose logout page to use. _Default:_ the session's `tenantName`.
    pub tenant_name: Option<String>,
}

/// A host for the logout page, and where it came from (for errors).
enum Source {
    Config,
    Session,
    Query,
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

impl Wristband<'_> {
    /// Logs the user out (Wristband's `logout()`): revokes the refresh token, destroys the
    /// session (its cookies and the CSRF cookie are removed in the response), and redirects
    /// to the tenant's Wristband logout page,
    /// `{tenant host}/api/v1/logout?client_id=…[&redirect_url=…][&state=…]` (every value
    /// URL-encoded).
    ///
    /// - **Tenant host**, first found wins (a custom domain counts only when it is on
    ///   `allowed_tenant_custom_domains`, whatever its source): `config.tenant_custom_domain`,
    ///   `config.tenant_name`, the session's `tenantCustomDomain`, the session's `tenantName`,
    ///   the `tenant_custom_domain` query parameter, the tenant subdomain of `Host` (when
    ///   `parse_tenant_from_root_domain` is set) or else the `tenant_name` query parameter.
    /// - **No tenant**: the redirect goes to `config.redirect_url` as given, or else to the
    ///   application-level login page with `?client_id=`; `state` is dropped.
    /// - The refresh token (`config.refresh_token`, else the session's) is revoked; a failure
    ///   is logged and does not stop the logout. A session the request could not load (while
    ///   revocation is not caught up under `refuse`, or revoked) is read from its sealed
    ///   cookie for this.
    /// - With revocation on (cargo feature `redis`, a `revocation` table), a signed-in
    ///   session (`isAuthenticated`) is revoked with
    ///   [`Session::revoke()`](crate::Session::revoke): a copy of its cookie is refused on
    ///   every instance. An anonymous session is only destroyed. A failure to reach Redis is
    ///   logged and does not stop the logout (the revocation holds on this instance and
    ///   reaches Redis on reconnect).
    ///
    /// # Errors
    ///
    /// 400: a repeated or malformed `tenant_name` or `tenant_custom_domain` query parameter.
    /// 500 ([`WristbandError::InvalidArgument`]): `config.state` over 512 characters or a
    /// malformed `config` tenant (checked before anything is revoked or destroyed); the SDK
    /// configuration is unavailable. A failed logout leaves the session as it was.
    ///
    /// ```rust,no_run
    /// # use rocket::get;
    /// use wristband_rocket_session::{LogoutConfig, Wristband, WristbandError, WristbandRedirect};
    ///
    /// #[get("/auth/logout")]
    /// async fn logout(wristband: Wristband<'_>) -> Result<WristbandRedirect, WristbandError> {
    ///     let config = LogoutConfig {
    ///         redirect_url: Some("https://app.example.com/goodbye".into()),
    ///         ..LogoutConfig::default()
    ///     };
    ///     wristband.logout(config).await
    /// }
    /// ```
    pub async fn logout(&self, config: LogoutConfig) -> Result<WristbandRedirect, WristbandError> {
        let options = self.state.options();
        let state = non_empty(config.state);
        if let Some(state) = &state {
            let len = state.chars().count();
            if len > MAX_STATE_LEN {
                return Err(WristbandError::InvalidArgument {
                    code: "invalid_logout_state",
                    reason: format!("LogoutConfig: state has {len} characters, at most 512"),
                });
            }
        }
        let query = Query::of(self.uri);
        let endpoints = self.state.endpoints().await?;
        let root = endpoints.parse_tenant_from_root_domain.as_deref().filter(|r| !r.is_empty());
        let allowed = &options.allowed_tenant_custom_domains;
        let from_request = request_tenant(&query, self.host.as_deref(), root, allowed)?;

        let session = self.session.as_ref();
        // What the session holds: as this request loaded it, or, when it could not load a
        // signed-in one (withheld while Redis is unreachable under `refuse`, revoked, or
        // expired but sealed with a known secret), as sealed in its cookie. So the refresh
        // token is revoked at Wristband, the tenant's logout page is used, and the session is
        // revoked, whatever kept it from loading.
        let loaded_signed_in = session.is_some_and(|s| s.is_authenticated());
        let sealed = match session {
            Some(s) if !loaded_signed_in => s.sealed_session(),
            _ => None,
        };
        let held = |key: &str| -> Option<String> {
            match (session, &sealed) {
                (Some(s), None) => s.get::<String>(key).ok().flatten(),
                (_, Some(data)) => data.get(key)?.as_str().map(str::to_string),
                (None, None) => None,
            }
        };
        let session_domain = held(keys::TENANT_CUSTOM_DOMAIN);
        let session_tenant = held(keys::TENANT_NAME);
        let session_refresh = held(keys::REFRESH_TOKEN);
        let signed_in = loaded_signed_in
            || sealed.as_ref().is_some_and(|data| {
                data.get(keys::IS_AUTHENTICATED) == Some(&serde_json::Value::Bool(true))
            });
        let config_domain = non_empty(config.tenant_custom_domain);
        if config_domain.as_deref().is_some_and(|d| !is_host(d)) {
            return Err(WristbandError::InvalidArgument {
                code: "invalid_logout_tenant",
                reason: "LogoutConfig: the tenant name or custom domain is malformed".into(),
            });
        }
        let candidates = [
            (
                allowed_custom_domain(config_domain, allowed, "LogoutConfig::tenant_custom_domain"),
                true,
                Source::Config,
            ),
            (non_empty(config.tenant_name), false, Source::Config),
            (allowed_custom_domain(session_domain, allowed, "the session"), true, Source::Session),
            (non_empty(session_tenant), false, Source::Session),
            (from_request.custom_domain, true, Source::Query),
            (from_request.name, false, Source::Query),
        ];
        let vanity = &options.wristband_application_vanity_domain;
        let mut host = None;
        for (value, is_domain, source) in candidates {
            let Some(value) = value else { continue };
            let valid = if is_domain { is_host(&value) } else { is_label(&value) };
            match (valid, source) {
                (true, _) => {
                    host = Some(if is_domain {
                        value
                    } else {
                        tenant_host(&value, vanity, endpoints.is_application_custom_domain_active)
                    });
                    break;
                }
                (false, Source::Config) => {
                    return Err(WristbandError::InvalidArgument {
                        code: "invalid_logout_tenant",
                        reason: "LogoutConfig: the tenant name or custom domain is malformed"
                            .into(),
                    })
                }
                // Query values were checked by `request_tenant`; a malformed session value
                // (written by the app) must not stop the user from logging out.
                (false, _) => log::warn!("session holds a malformed tenant; ignored for logout"),
            }
        }

        let refresh_token = non_empty(config.refresh_token).or_else(|| non_empty(session_refresh));
        if let Some(token) = refresh_token
            && let Err(e) = self.state.http().revoke(&token).await
        {
            log::warn!("revoking the refresh token at logout failed (ignored): {e}");
        }
        if let Some(session) = session {
            // With revocation on (cargo feature `redis` and a `revocation` table), every copy
            // of a signed-in session's cookie is refused on every instance, not only this
            // browser's. An anonymous session is only destroyed: revoking it would let any
            // client grow every instance's revocation table.
            if signed_in {
                match session.revoke().await {
                    Ok(()) | Err(SessionError::RevocationNotConfigured) => {}
                    Err(e) => log::warn!("revoking the session at logout failed (ignored): {e}"),
                }
            }
            session.destroy();
        }

        let Some(host) = host else {
            let url = match non_empty(config.redirect_url) {
                Some(url) => url,
                None => {
                    app_login_url(&endpoints, &self.state.wristband_base(), &options.client_id)?
                }
            };
            return Ok(WristbandRedirect::to(url));
        };
        let base = format!("{}://{host}/api/v1/logout", self.scheme());
        let mut url = Url::parse(&base).map_err(|e| WristbandError::Unexpected {
            reason: format!("the logout URL does not parse: {e}"),
        })?;
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("client_id", &options.client_id);
            if let Some(redirect_url) = non_empty(config.redirect_url) {
                query.append_pair("redirect_url", &redirect_url);
            }
            if let Some(state) = &state {
                query.append_pair("state", state);
            }
        }
        Ok(WristbandRedirect::to(String::from(url)))
    }
}

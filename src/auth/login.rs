//! [`Wristband::login()`]: tenant resolution, login state, PKCE and the authorize URL.

use std::sync::atomic::{AtomicBool, Ordering};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use oauth2::url::Url;
use oauth2::{PkceCodeChallenge, PkceCodeVerifier};
use rand::RngCore;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::config::Endpoints;
use super::error::WristbandError;
use super::guard::{Wristband, WristbandRedirect};
use super::login_state::{self, LoginState, SealError};
use super::options::has_tenant_placeholder;
use super::tenant::{allowed_custom_domain, is_host, is_label, request_tenant, tenant_host, Query};
use crate::session::log_text::Escaped;

/// The longest `return_url` a login accepts, in characters.
pub(crate) const MAX_RETURN_URL_LEN: usize = 1024;

/// What the application asks of one login. Every field is optional; `Default` is Wristband's
/// plain login.
///
/// ```
/// use serde_json::json;
/// use wristband_rocket_session::LoginConfig;
///
/// let config = LoginConfig {
///     custom_state: json!({ "plan": "pro" }).as_object().cloned(),
///     default_tenant_name: Some("acme".into()),
///     return_url: Some("/billing".into()),
///     ..LoginConfig::default()
/// };
/// assert!(config.default_tenant_custom_domain.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoginConfig {
    /// Data to get back, unchanged, in [`CallbackData::custom_state`](crate::CallbackData)
    /// (kept only when it is a non-empty object). It travels sealed in the login-state cookie,
    /// so keep it small: the cookie must stay under 4 kB.
    pub custom_state: Option<Map<String, Value>>,
    /// The tenant custom domain to log into when the request names no tenant.
    pub default_tenant_custom_domain: Option<String>,
    /// The tenant to log into when the request names no tenant (and no
    /// `default_tenant_custom_domain` is given).
    pub default_tenant_name: Option<String>,
    /// Where the user goes after the login ([`CallbackData::return_url`](crate::CallbackData)).
    /// `Some` wins over the request's `return_url` query parameter; `Some("")` drops it. Only
    /// a relative path or a URL on an allowed host is accepted (see
    /// [`Wristband::login()`]).
    pub return_url: Option<String>,
}

/// 32 random bytes from the OS, base64url without padding (43 characters).
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `{custom_application_login_page_url or {base}/login}?client_id=…`: the application-level
/// login (tenant discovery) page.
pub(crate) fn app_login_url(
    endpoints: &Endpoints,
    wristband_base: &str,
    client_id: &str,
) -> Result<String, WristbandError> {
    let page = match endpoints.custom_application_login_page_url.as_deref() {
        Some(page) if !page.is_empty() => page.to_string(),
        _ => format!("{wristband_base}/login"),
    };
    let mut url = Url::parse(&page).map_err(|e| WristbandError::Configuration {
        reason: format!("the application login page URL does not parse: {e}"),
    })?;
    url.query_pairs_mut().append_pair("client_id", client_id);
    Ok(url.into())
}

/// The host of `url` when it parses and has one (lowercase).
fn host_of(url: &str) -> Option<String> {
    Url::parse(url).ok()?.host_str().map(str::to_ascii_lowercase)
}

/// Checks a `return_url`: a relative path (one leading `/`, not `//` nor `/\`), or an absolute
/// http(s) URL without credentials whose host is the request's host, the host of `login_url`
/// or `redirect_uri`, or `<tenant>.<parse_tenant_from_root_domain>`. Visible ASCII only, at
/// most [`MAX_RETURN_URL_LEN`] characters. Returns the URL to store (absolute URLs
/// normalized, as the browser would read them).
pub(crate) fn check_return_url(
    url: &str,
    request_host: Option<&str>,
    endpoints: &Endpoints,
) -> Result<String, WristbandError> {
    let refuse = |why: &str| {
        Err(WristbandError::bad_request("invalid_return_url", format!("return_url refused: {why}")))
    };
    if url.len() > MAX_RETURN_URL_LEN {
        return refuse("too long");
    }
    if !url.bytes().all(|b| b.is_ascii_graphic()) {
        return refuse("not visible ASCII");
    }
    if let Some(rest) = url.strip_prefix('/') {
        if rest.starts_with('/') || rest.starts_with('\\') {
            return refuse("a scheme-relative URL");
        }
        return Ok(url.to_string());
    }
    let Ok(parsed) = Url::parse(url) else {
        return refuse("neither a relative path nor an absolute URL");
    };
    if !matches!(parsed.scheme(), "http" | "https") {
        return refuse("not http(s)");
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return refuse("carries credentials");
    }
    let Some(host) = parsed.host_str().map(str::to_ascii_lowercase) else {
        return refuse("no host");
    };
    let request_host = request_host.map(|h| h.split(':').next().unwrap_or_default());
    let allowed = request_host.is_some_and(|h| h.eq_ignore_ascii_case(&host))
        || host_of(&endpoints.login_url).as_deref() == Some(&host)
        || host_of(&endpoints.redirect_uri).as_deref() == Some(&host)
        || endpoints.parse_tenant_from_root_domain.as_deref().is_some_and(|root| {
            host.split_once('.')
                .is_some_and(|(label, rest)| is_label(label) && rest.eq_ignore_ascii_case(root))
        });
    if !allowed {
        return refuse("host not allowed");
    }
    Ok(parsed.into())
}

/// The authorize URL on `host` with the parameters of Wristband's SDKs, in their order.
pub(crate) struct Authorize<'a> {
    pub(crate) scheme: &'a str,
    pub(crate) host: &'a str,
    pub(crate) client_id: &'a str,
    pub(crate) redirect_uri: &'a str,
    pub(crate) state: &'a str,
    pub(crate) scopes: &'a [String],
    pub(crate) code_challenge: &'a str,
    pub(crate) nonce: &'a str,
    pub(crate) login_hint: Option<&'a str>,
}

impl Authorize<'_> {
    pub(crate) fn url(&self) -> Result<String, WristbandError> {
        let base = format!("{}://{}/api/v1/oauth2/authorize", self.scheme, self.host);
        let mut url = Url::parse(&base).map_err(|e| WristbandError::Unexpected {
            reason: format!("the authorize URL does not parse: {e}"),
        })?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("client_id", self.client_id)
                .append_pair("redirect_uri", self.redirect_uri)
                .append_pair("response_type", "code")
                .append_pair("state", self.state)
                .append_pair("scope", &self.scopes.join(" "))
                .append_pair("code_challenge", self.code_challenge)
                .append_pair("code_challenge_method", "S256")
                .append_pair("nonce", self.nonce);
            if let Some(hint) = self.login_hint {
                query.append_pair("login_hint", hint);
            }
        }
        Ok(url.into())
    }
}

/// `host[:port]` (a `Host` header; IPv6 in brackets, `[::1]:8000`) as the host and its port,
/// if it has a valid one.
fn split_host_port(authority: &str) -> (&str, Option<u16>) {
    let split = match authority.strip_prefix('[') {
        Some(rest) => rest.find(']').map(|end| authority.split_at(end + 2)),
        None => authority.rfind(':').map(|at| authority.split_at(at)),
    };
    match split {
        Some((host, port)) => (host, port.strip_prefix(':').and_then(|p| p.parse().ok())),
        None => (authority, None),
    }
}

/// A value from the application's `LoginConfig` that cannot be used (500).
fn bad_config(code: &'static str, what: &str) -> WristbandError {
    WristbandError::InvalidArgument { code, reason: format!("LoginConfig: {what}") }
}

impl Wristband<'_> {
    /// When this request arrived on another host than `login_url`'s (`127.0.0.1:8000` against
    /// `localhost:8000`), the same path and query on `login_url`'s scheme and host: the
    /// login-state cookie must be set on the host the callback (`redirect_uri`, registered
    /// beside `login_url`) will be served from, or the callback finds none. `None` when the
    /// hosts agree, when the request has no `Host`, or when `login_url` has a tenant
    /// placeholder (tenant subdomains: the host varies by design).
    fn on_login_url_host(&self, login_url: &str) -> Option<String> {
        if has_tenant_placeholder(login_url) {
            return None;
        }
        let request_host = self.host.as_deref()?;
        let login_url = Url::parse(login_url).ok()?;
        let host = login_url.host_str()?;
        let port = login_url.port_or_known_default();
        let (request_name, request_port) = split_host_port(request_host);
        let request_port = request_port.or(port);
        if request_name.eq_ignore_ascii_case(host) && request_port == port {
            return None;
        }
        let authority = match login_url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        // Said once per process at info level (a deployment that meets it meets it on every
        // login), then at debug level.
        static LOGGED: AtomicBool = AtomicBool::new(false);
        if LOGGED.swap(true, Ordering::Relaxed) {
            log::debug!(
                "login: the request came to host \"{}\"; moved to `login_url`'s host {authority}",
                Escaped(request_host)
            );
        } else {
            log::info!(
                "login: the request came to host \"{}\"; moving it to `login_url`'s host \
                 {authority}, where the callback will read the login-state cookie (set \
                 `login_url` to the host users open, or forward the original `Host` header \
                 through a proxy; said once)",
                Escaped(request_host)
            );
        }
        Some(format!("{}://{authority}{}", login_url.scheme(), self.uri))
    }

    /// Starts a login: answers the redirect to Wristband's authorize page for the request's
    /// tenant (Wristband's `login()`).
    ///
    /// - **Host first**: a request on another host than `login_url`'s (e.g. `127.0.0.1:8000`
    ///   while `login_url` is on `localhost:8000`) is first redirected to the same path and
    ///   query on `login_url`'s host, so that the login-state cookie lands where the callback
    ///   reads it (Wristband's SDK sets it wherever the login ran, and the sign-in then
    ///   silently starts over). Not with a `{tenant_name}` placeholder in `login_url`. Behind
    ///   a proxy, forward the original `Host` header. The first such move in a process is
    ///   logged at info level, naming both hosts and `login_url`; later ones at debug level.
    ///
    /// - **Tenant**, first found wins: the `tenant_custom_domain` query parameter; the tenant
    ///   subdomain of `Host` when `parse_tenant_from_root_domain` is set (the `tenant_name`
    ///   query parameter is then ignored), else the `tenant_name` query parameter;
    ///   `config.default_tenant_custom_domain`; `config.default_tenant_name`. The authorize
    ///   page is on the custom domain, or on `{tenant}-{vanity domain}`
    ///   (`{tenant}.{vanity domain}` with the application's custom domain active). A custom
    ///   domain, from the query or from `config`, counts only when it is on
    ///   `allowed_tenant_custom_domains`; otherwise it is ignored as if absent (Wristband's SDK
    ///   sends the browser, with the PKCE challenge and state, to any host it is given).
    /// - **No tenant**: the redirect goes to the application-level login page,
    ///   `custom_application_login_page_url` or `{vanity domain}/login`, with `?client_id=`;
    ///   no cookie is set, and the return URL is not carried.
    /// - Otherwise a login-state cookie `login#<state>#<epoch ms>` (1 hour, at most 3 at a
    ///   time) remembers the state, PKCE verifier, redirect URI, return URL and custom state
    ///   for [`callback()`](Wristband::callback). `state`, the PKCE verifier and the `nonce`
    ///   are 32 random bytes each; the challenge is S256. A single `login_hint` query
    ///   parameter is passed on.
    /// - **Return URL**: `config.return_url` when `Some` (an empty string means none), else the
    ///   `return_url` query parameter. Accepted only as a relative path (`/…`, not `//…` nor
    ///   `/\…`) or an http(s) URL on the request's host, the host of `login_url` or
    ///   `redirect_uri`, or a tenant subdomain of `parse_tenant_from_root_domain`; visible
    ///   ASCII, at most 1024 characters. Anything else is a 400 (Wristband's SDK stores any
    ///   value, an open redirect).
    ///
    /// # Errors
    ///
    /// 400 ([`WristbandError::BadRequest`]): a repeated `tenant_name`,
    /// `tenant_custom_domain`, `return_url` or `login_hint` query parameter, a malformed tenant
    /// name or custom domain, a refused return URL. 500: the SDK configuration is unavailable
    /// ([`WristbandError::Configuration`]), or `config` holds a malformed default tenant or a
    /// `custom_state` too large for the cookie ([`WristbandError::InvalidArgument`]).
    ///
    /// ```rust,no_run
    /// # use rocket::get;
    /// use wristband_rocket_session::{LoginConfig, Wristband, WristbandError, WristbandRedirect};
    ///
    /// #[get("/auth/login")]
    /// async fn login(wristband: Wristband<'_>) -> Result<WristbandRedirect, WristbandError> {
    ///     let config = LoginConfig {
    ///         default_tenant_name: Some("acme".into()),
    ///         ..LoginConfig::default()
    ///     };
    ///     wristband.login(config).await
    /// }
    /// ```
    pub async fn login(&self, config: LoginConfig) -> Result<WristbandRedirect, WristbandError> {
        let options = self.state.options();
        let endpoints = self.state.endpoints().await?;
        if let Some(url) = self.on_login_url_host(&endpoints.login_url) {
            return Ok(WristbandRedirect::to(url));
        }
        let query = Query::of(self.uri);
        let root = endpoints.parse_tenant_from_root_domain.as_deref().filter(|r| !r.is_empty());
        let allowed = &options.allowed_tenant_custom_domains;
        let tenant = request_tenant(&query, self.host.as_deref(), root, allowed)?;
        let query_return_url = query.single("return_url")?;
        let login_hint = query.single("login_hint")?;

        let vanity = &options.wristband_application_vanity_domain;
        let custom_active = endpoints.is_application_custom_domain_active;
        let default_domain =
            config.default_tenant_custom_domain.as_deref().filter(|d| !d.is_empty());
        let default_name = config.default_tenant_name.as_deref().filter(|d| !d.is_empty());
        if default_domain.is_some_and(|d| !is_host(d)) {
            return Err(bad_config(
                "invalid_default_tenant",
                "default_tenant_custom_domain is not a host",
            ));
        }
        if default_name.is_some_and(|n| !is_label(n)) {
            return Err(bad_config(
                "invalid_default_tenant",
                "default_tenant_name is not a tenant name",
            ));
        }
        let default_domain = allowed_custom_domain(
            default_domain.map(str::to_string),
            allowed,
            "LoginConfig::default_tenant_custom_domain",
        );
        let host = if let Some(domain) = tenant.custom_domain {
            domain
        } else if let Some(name) = &tenant.name {
            tenant_host(name, vanity, custom_active)
        } else if let Some(domain) = default_domain {
            domain
        } else if let Some(name) = default_name {
            tenant_host(name, vanity, custom_active)
        } else {
            let url = app_login_url(&endpoints, &self.state.wristband_base(), &options.client_id)?;
            return Ok(WristbandRedirect::to(url));
        };

        let return_url = match config.return_url.as_deref() {
            Some(url) => Some(url),
            None => query_return_url,
        };
        let return_url = match return_url.filter(|u| !u.is_empty()) {
            Some(url) => Some(check_return_url(url, self.host.as_deref(), &endpoints)?),
            None => None,
        };
        let custom_state = config.custom_state.filter(|m| !m.is_empty());
        let has_custom_state = custom_state.is_some();

        let state = random_token();
        let verifier = PkceCodeVerifier::new(random_token());
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&verifier);
        let nonce = random_token();
        let login = LoginState {
            state: state.clone(),
            code_verifier: verifier.secret().clone(),
            redirect_uri: endpoints.redirect_uri.clone(),
            nonce: Some(nonce.clone()),
            return_url,
            custom_state,
        };
        let now_ms = (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
        let name = login_state::cookie_name(&state, now_ms);
        let secure = self.secure_cookies();
        let cookie =
            match login_state::cookie(self.state.login_state_secret(), name, &login, secure) {
                Ok(cookie) => cookie,
                Err(SealError::TooLarge(size)) if has_custom_state => {
                    return Err(bad_config(
                        "login_state_too_large",
                        &format!(
                            "custom_state makes the login-state cookie {size} bytes (max 4096)"
                        ),
                    ))
                }
                Err(SealError::TooLarge(size)) => {
                    return Err(WristbandError::bad_request(
                        "invalid_return_url",
                        format!("return_url makes the login-state cookie {size} bytes (max 4096)"),
                    ))
                }
                Err(SealError::Codec) => {
                    return Err(WristbandError::Configuration {
                        reason: "the login-state secret cannot seal a cookie".into(),
                    })
                }
            };

        let url = Authorize {
            scheme: self.scheme(),
            host: &host,
            client_id: &options.client_id,
            redirect_uri: &endpoints.redirect_uri,
            state: &state,
            scopes: &options.scopes,
            code_challenge: challenge.as_str(),
            nonce: &nonce,
            login_hint,
        }
        .url()?;

        let stale: Vec<String> = login_state::stale(self.cookies.iter().map(|c| c.name()))
            .into_iter()
            .map(str::to_string)
            .collect();
        for name in stale {
            login_state::queue(self.session.as_ref(), &login_state::removal(&name, secure));
        }
        login_state::queue(self.session.as_ref(), &cookie);
        Ok(WristbandRedirect::to(url))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn host_headers_split_into_host_and_port() {
        use super::split_host_port;
        assert_eq!(split_host_port("localhost:8000"), ("localhost", Some(8000)));
        assert_eq!(split_host_port("localhost"), ("localhost", None));
        assert_eq!(split_host_port("[::1]:8000"), ("[::1]", Some(8000)));
        assert_eq!(split_host_port("[::1]"), ("[::1]", None));
        assert_eq!(split_host_port("a.example:x"), ("a.example", None));
        assert_eq!(split_host_port("[::1"), ("[::1", None));
    }

    use super::*;

    fn endpoints() -> Endpoints {
        Endpoints {
            login_url: "https://app.example.com/auth/login".into(),
            redirect_uri: "https://callback.example.com/auth/callback".into(),
            parse_tenant_from_root_domain: Some("tenants.example.com".into()),
            is_application_custom_domain_active: false,
            custom_application_login_page_url: None,
        }
    }

    #[test]
    fn return_urls() {
        let e = endpoints();
        let ok = |u: &str| check_return_url(u, Some("me.example.com:8000"), &e);
        assert_eq!(ok("/settings?tab=1#x").unwrap(), "/settings?tab=1#x");
        assert_eq!(ok("https://me.example.com/a").unwrap(), "https://me.example.com/a");
        assert_eq!(ok("http://ME.example.com:9/a").unwrap(), "http://me.example.com:9/a");
        assert!(ok("https://app.example.com/x").is_ok());
        assert!(ok("https://callback.example.com/x").is_ok());
        assert!(ok("https://acme.tenants.example.com/x").is_ok());
        for bad in [
            "//evil.com",
            "/\\evil.com",
            "https://evil.com",
            "https://evil.com/me.example.com",
            "https://me.example.com@evil.com/",
            "https://user@me.example.com/",
            "javascript:alert(1)",
            "/\t/evil.com",
            "/ /x",
            "evil.com",
            "https://a.b.tenants.example.com/",
            "https://tenants.example.com.evil.com/",
        ] {
            let err = ok(bad).unwrap_err();
            assert_eq!(err.code(), "invalid_return_url", "{bad:?}");
        }
        assert!(ok(&format!("/{}", "a".repeat(MAX_RETURN_URL_LEN))).is_err());
        assert!(ok(&format!("/{}", "a".repeat(MAX_RETURN_URL_LEN - 1))).is_ok());
    }

    #[test]
    fn authorize_url_order_and_encoding() {
        let scopes = vec!["openid".to_string(), "offline_access".into(), "email".into()];
        let url = Authorize {
            scheme: "https",
            host: "acme-app.wristband.dev",
            client_id: "client id",
            redirect_uri: "https://{tenant_name}.app.com/cb?x=1&y",
            state: "st",
            scopes: &scopes,
            code_challenge: "ch",
            nonce: "n",
            login_hint: Some("ada+1@example.com"),
        }
        .url()
        .unwrap();
        assert_eq!(
            url,
            "https://acme-app.wristband.dev/api/v1/oauth2/authorize?client_id=client+id\
             &redirect_uri=https%3A%2F%2F%7Btenant_name%7D.app.com%2Fcb%3Fx%3D1%26y\
             &response_type=code&state=st&scope=openid+offline_access+email&code_challenge=ch\
             &code_challenge_method=S256&nonce=n&login_hint=ada%2B1%40example.com"
        );
    }

    #[test]
    fn app_login_urls() {
        let mut e = endpoints();
        let url = app_login_url(&e, "https://app.wristband.dev", "id&x=1").unwrap();
        assert_eq!(url, "https://app.wristband.dev/login?client_id=id%26x%3D1");
        e.custom_application_login_page_url = Some("https://google.com".into());
        assert_eq!(app_login_url(&e, "x", "c").unwrap(), "https://google.com/?client_id=c");
        e.custom_application_login_page_url = Some("https://a.com/p?k=v".into());
        assert_eq!(app_login_url(&e, "x", "c").unwrap(), "https://a.com/p?k=v&client_id=c");
    }

    #[test]
    fn random_tokens() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    }
}

//! Which tenant a browser visits, decided from the `Host` it used, and the app's URLs for a
//! tenant (the `{tenant_name}` placeholder).
//!
//! The *vanity domains* are `localhost` and, when the test set one, the public URL's host.
//!
//! - `<tenant>.<vanity>[:port]` (custom domain active) or `<tenant>-<vanity>[:port]`: tenant
//!   `<tenant>` (one label).
//! - `<vanity>[:port]` (the application's vanity domain) or no `Host`: the application itself;
//!   where a tenant is needed, the default tenant.
//! - any other host (for example `127.0.0.1:<port>`): a *tenant custom domain*; the tenant is the
//!   default one and the redirect back to the app carries `tenant_custom_domain=<host[:port]>`.
//!
//! The user's [`tenant_name`](super::FakeUser::tenant_name), when set, wins over the host;
//! otherwise the default tenant is [`DEFAULT_TENANT`].

use oauth2::url::Url;

use super::request::Call;
use super::state::DEFAULT_TENANT;
use super::user::FakeUser;

/// The tenant of one visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Visit {
    pub(super) tenant_name: String,
    pub(super) tenant_custom_domain: Option<String>,
}

/// What the `Host` of a request names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum HostKind {
    /// The application's vanity domain (or no `Host`).
    Vanity,
    /// A tenant's host, `<tenant>.<vanity>` or `<tenant>-<vanity>`.
    Tenant(String),
    /// Any other host: a tenant custom domain, `host[:port]`.
    Custom(Option<String>),
}

/// The tenant label of a `<t>.<vanity>` / `<t>-<vanity>` domain.
fn tenant_label<'a>(domain: &'a str, vanity: &str) -> Option<&'a str> {
    let rest = domain.strip_suffix(vanity)?;
    let label = rest.strip_suffix('.').or_else(|| rest.strip_suffix('-'))?;
    (!label.is_empty() && !label.contains('.')).then_some(label)
}

/// What `call`'s host names; `public` is the public URL's host, if the test set one.
pub(super) fn host_kind(call: &Call, public: Option<&str>) -> HostKind {
    let domain = call.domain.as_deref().unwrap_or("localhost");
    let vanities = std::iter::once("localhost").chain(public);
    let mut kind = HostKind::Custom(call.authority());
    for vanity in vanities {
        if domain == vanity {
            return HostKind::Vanity;
        }
        if let Some(label) = tenant_label(domain, vanity) {
            kind = HostKind::Tenant(label.to_string());
        }
    }
    kind
}

/// The tenant `call` visits, for `user`; `public` is the public URL's host, if any.
pub(super) fn visit(call: &Call, user: &FakeUser, public: Option<&str>) -> Visit {
    let (from_host, tenant_custom_domain) = match host_kind(call, public) {
        HostKind::Vanity => (None, None),
        HostKind::Tenant(label) => (Some(label), None),
        HostKind::Custom(authority) => (None, authority),
    };
    let tenant_name =
        user.tenant_name.clone().or(from_host).unwrap_or_else(|| DEFAULT_TENANT.to_string());
    Visit { tenant_name, tenant_custom_domain }
}

/// `url` with every `{tenant_name}` / `{tenant_domain}` placeholder replaced by `tenant`.
pub(super) fn fill_placeholder(url: &str, tenant: &str) -> String {
    url.replace("{tenant_name}", tenant).replace("{tenant_domain}", tenant)
}

/// The app's login URL for `visit`: `login_url` with its placeholder filled, or, without a
/// placeholder, with `tenant_name` appended; `tenant_custom_domain` appended for a custom
/// domain. `None` unless the result is an http(s) URL.
pub(super) fn app_login_url(login_url: &str, visit: &Visit) -> Option<Url> {
    let filled = fill_placeholder(login_url, &visit.tenant_name);
    let mut url = Url::parse(&filled).ok().filter(|u| matches!(u.scheme(), "http" | "https"))?;
    {
        let mut pairs = url.query_pairs_mut();
        if filled == login_url {
            pairs.append_pair("tenant_name", &visit.tenant_name);
        }
        if let Some(domain) = &visit.tenant_custom_domain {
            pairs.append_pair("tenant_custom_domain", domain);
        }
    }
    // `query_pairs_mut` leaves an empty `?` when nothing was appended.
    if url.query() == Some("") {
        url.set_query(None);
    }
    Some(url)
}

/// A tenant name typed into the discovery page, normalised (trimmed, ASCII-lowercased), if it
/// is one: 1 to 63 ASCII letters, digits and hyphens, starting and ending with a letter or a
/// digit (it may become a host label).
pub(super) fn tenant_name(typed: &str) -> Option<String> {
    let name = typed.trim().to_ascii_lowercase();
    let ok = (1..=63).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    ok.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::super::request::Params;
    use super::*;

    fn call(domain: Option<&str>, port: Option<u16>) -> Call {
        Call {
            domain: domain.map(str::to_string),
            port,
            authorization: None,
            query: Params::default(),
            is_form: false,
        }
    }

    #[test]
    fn the_host_decides_the_tenant() {
        let user = FakeUser::default();
        let visit = |call: &Call, user: &FakeUser| visit(call, user, None);
        let v = visit(&call(Some("globex.localhost"), Some(9)), &user);
        assert_eq!(v, Visit { tenant_name: "globex".into(), tenant_custom_domain: None });
        let v = visit(&call(Some("globex-localhost"), None), &user);
        assert_eq!(v.tenant_name, "globex");
        let v = visit(&call(Some("localhost"), Some(9)), &user);
        assert_eq!(v, Visit { tenant_name: "acme".into(), tenant_custom_domain: None });
        let v = visit(&call(None, None), &user);
        assert_eq!(v.tenant_name, "acme");
        let v = visit(&call(Some("127.0.0.1"), Some(9)), &user);
        assert_eq!(v.tenant_custom_domain.as_deref(), Some("127.0.0.1:9"));
        let v = visit(&call(Some("a.b.localhost"), None), &user);
        assert_eq!(v.tenant_custom_domain.as_deref(), Some("a.b.localhost"));
    }

    #[test]
    fn the_users_tenant_name_wins() {
        let user = FakeUser { tenant_name: Some("initech".into()), ..FakeUser::default() };
        assert_eq!(
            visit(&call(Some("globex.localhost"), None), &user, None).tenant_name,
            "initech"
        );
    }

    #[test]
    fn both_placeholders_are_filled() {
        assert_eq!(
            fill_placeholder("http://{tenant_name}.x/{tenant_domain}", "acme"),
            "http://acme.x/acme"
        );
    }

    #[test]
    fn a_public_host_is_a_vanity_domain_too() {
        let public = Some("auth.example.test");
        let kind = |domain: &str| host_kind(&call(Some(domain), Some(443)), public);
        assert_eq!(kind("auth.example.test"), HostKind::Vanity);
        assert_eq!(kind("localhost"), HostKind::Vanity);
        assert_eq!(kind("acme.auth.example.test"), HostKind::Tenant("acme".into()));
        assert_eq!(kind("globex-auth.example.test"), HostKind::Tenant("globex".into()));
        assert_eq!(kind("acme.localhost"), HostKind::Tenant("acme".into()));
        assert_eq!(
            kind("a.b.auth.example.test"),
            HostKind::Custom(Some("a.b.auth.example.test:443".into()))
        );
        assert_eq!(
            kind("xauth.example.test"),
            HostKind::Custom(Some("xauth.example.test:443".into()))
        );
        // Without a public URL its host is just another custom domain.
        assert_eq!(
            host_kind(&call(Some("acme.auth.example.test"), None), None),
            HostKind::Custom(Some("acme.auth.example.test".into()))
        );
    }

    #[test]
    fn app_login_urls_for_a_visit() {
        let visit = |tenant: &str, custom: Option<&str>| Visit {
            tenant_name: tenant.into(),
            tenant_custom_domain: custom.map(str::to_string),
        };
        let url = |login: &str, v: &Visit| app_login_url(login, v).map(String::from);
        assert_eq!(
            url("http://app.test/auth/login", &visit("acme", None)).as_deref(),
            Some("http://app.test/auth/login?tenant_name=acme")
        );
        assert_eq!(
            url("http://app.test/auth/login?x=1", &visit("acme", None)).as_deref(),
            Some("http://app.test/auth/login?x=1&tenant_name=acme")
        );
        assert_eq!(
            url("http://{tenant_name}.app.test/auth/login", &visit("acme", None)).as_deref(),
            Some("http://acme.app.test/auth/login")
        );
        assert_eq!(
            url("http://app.test/login", &visit("acme", Some("127.0.0.1:9"))).as_deref(),
            Some("http://app.test/login?tenant_name=acme&tenant_custom_domain=127.0.0.1%3A9")
        );
        assert_eq!(url("ftp://app.test/login", &visit("acme", None)), None);
        assert_eq!(url("not a url", &visit("acme", None)), None);
    }

    #[test]
    fn tenant_names_are_host_labels() {
        assert_eq!(tenant_name(" Acme-2 ").as_deref(), Some("acme-2"));
        assert_eq!(tenant_name("a").as_deref(), Some("a"));
        for bad in
            ["", " ", "-acme", "acme-", "ac me", "acme.com", "a/b", "<b>", "é", &"a".repeat(64)]
        {
            assert_eq!(tenant_name(bad), None, "{bad}");
        }
    }
}

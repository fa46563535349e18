//! Reading what the client sent: query parameters (a repeated one is a 400), the tenant from
//! the `Host` subdomain or a query parameter, host-name checks, and the tenant hosts built from
//! them.

use rocket::http::uri::Origin;

use super::error::WristbandError;
use crate::session::log_text::Escaped;

/// The query parameters of one request, decoded (`+` and `%xx`; invalid UTF-8 replaced).
pub(crate) struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// The query of `uri` (empty when it has none).
    pub(crate) fn of(uri: &Origin<'_>) -> Query {
        let pairs = uri
            .query()
            .map(|q| q.segments().map(|(k, v)| (k.to_string(), v.to_string())).collect())
            .unwrap_or_default();
        Query { pairs }
    }

    /// The one value of `name`: `None` when absent or empty, a 400 when repeated.
    pub(crate) fn single(&self, name: &str) -> Result<Option<&str>, WristbandError> {
        let mut values = self.pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(WristbandError::bad_request(
                "duplicate_query_parameter",
                format!("more than one [{name}] query parameter was encountered"),
            ));
        }
        Ok(first.filter(|v| !v.is_empty()))
    }
}

/// Whether `s` is one DNS label (a tenant name): 1 to 63 ASCII letters, digits and `-`, not
/// starting or ending with `-`.
pub(crate) fn is_label(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Whether `s` is a host name with an optional `:port` (a tenant custom domain): dot-separated
/// labels, at most 253 characters before the port, and a port of 1 to 5 digits.
pub(crate) fn is_host(s: &str) -> bool {
    let (host, port) = match s.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (s, None),
    };
    let port_ok =
        port.is_none_or(|p| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    port_ok && (1..=253).contains(&host.len()) && host.split('.').all(is_label)
}

/// Whether the tenant custom domain `domain` is on the `allowed_tenant_custom_domains` list:
/// equal to an exact entry, or under a `*.suffix` entry by at least one more label. Hosts are
/// compared without regard to ASCII case; a port must match exactly.
pub(crate) fn is_allowed_custom_domain(domain: &str, allowed: &[String]) -> bool {
    if !is_host(domain) {
        return false;
    }
    allowed.iter().any(|pattern| match pattern.strip_prefix("*.") {
        Some(suffix) => {
            domain.len().checked_sub(suffix.len() + 1).filter(|&cut| cut > 0).is_some_and(|cut| {
                domain.as_bytes()[cut] == b'.' && domain[cut + 1..].eq_ignore_ascii_case(suffix)
            })
        }
        None => domain.eq_ignore_ascii_case(pattern),
    })
}

/// The tenant named by the `Host` subdomain: `acme` for `acme.example.com` (any port) when
/// `root` is `example.com`. Only one label is recognised, and the root itself names none.
pub(crate) fn subdomain_tenant(host: Option<&str>, root: &str) -> Option<String> {
    let host = host?;
    let host = host.split(':').next().unwrap_or_default();
    let (label, rest) = host.split_once('.')?;
    (rest.eq_ignore_ascii_case(root) && is_label(label)).then(|| label.to_ascii_lowercase())
}

/// Where a tenant's Wristband pages live: `{tenant}.{vanity}` with the application's custom
/// domain active, `{tenant}-{vanity}` otherwise.
pub(crate) fn tenant_host(tenant: &str, vanity: &str, custom_domain_active: bool) -> String {
    let separator = if custom_domain_active { '.' } else { '-' };
    format!("{tenant}{separator}{vanity}")
}

/// The tenant of a request, as login, callback and logout read it from the client.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct RequestTenant {
    /// The `tenant_custom_domain` query parameter.
    pub(crate) custom_domain: Option<String>,
    /// The tenant name: from the `Host` subdomain in subdomain mode, else from the
    /// `tenant_name` query parameter (or the deprecated `tenant_domain`).
    pub(crate) name: Option<String>,
}

/// `domain` when it is on the `allowed_tenant_custom_domains` list; otherwise `None`, as if
/// absent, with a debug line naming `source` (where the value came from) and the value,
/// escaped.
pub(crate) fn allowed_custom_domain(
    domain: Option<String>,
    allowed: &[String],
    source: &str,
) -> Option<String> {
    let domain = domain.filter(|d| !d.is_empty())?;
    if is_allowed_custom_domain(&domain, allowed) {
        return Some(domain);
    }
    log::debug!(
        "tenant custom domain \"{}\" from {source} ignored: not on `allowed_tenant_custom_domains`",
        Escaped(&domain)
    );
    None
}

/// Reads the tenant of a request. `root`: `parse_tenant_from_root_domain` (subdomain mode).
/// `tenant_domain`, Wristband's name before SDK v6, is accepted as an alias of `tenant_name`
/// (by login, callback and logout alike, so links of apps migrated from SDK 3.x keep working).
/// `allowed`: the `allowed_tenant_custom_domains` list; a well-formed custom domain that is
/// not on it is ignored as if absent. A repeated or malformed parameter is a 400.
pub(crate) fn request_tenant(
    query: &Query,
    host: Option<&str>,
    root: Option<&str>,
    allowed: &[String],
) -> Result<RequestTenant, WristbandError> {
    let custom_domain = query.single("tenant_custom_domain")?;
    if let Some(domain) = custom_domain
        && !is_host(domain)
    {
        return Err(WristbandError::bad_request(
            "invalid_tenant_custom_domain",
            "the [tenant_custom_domain] query parameter is not a host name",
        ));
    }
    let custom_domain = allowed_custom_domain(
        custom_domain.map(str::to_string),
        allowed,
        "the tenant_custom_domain query parameter",
    );
    let name = match root {
        Some(root) => {
            // Checked for repeats even though subdomain mode does not use it.
            query.single("tenant_name")?;
            subdomain_tenant(host, root)
        }
        None => {
            let name = query.single("tenant_name")?;
            let legacy = query.single("tenant_domain")?;
            let name = name.or(legacy);
            if let Some(name) = name
                && !is_label(name)
            {
                return Err(WristbandError::bad_request(
                    "invalid_tenant_name",
                    "the [tenant_name] query parameter is not a tenant name",
                ));
            }
            name.map(str::to_string)
        }
    };
    Ok(RequestTenant { custom_domain, name })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(q: &str) -> Query {
        let uri = Origin::parse_owned(format!("/x?{q}")).unwrap();
        Query::of(&uri)
    }

    #[test]
    fn single_values_and_repeats() {
        let q = query("a=1&b=&c=x%20y+z&a2=1&d=1&d=2");
        assert_eq!(q.single("a").unwrap(), Some("1"));
        assert_eq!(q.single("b").unwrap(), None);
        assert_eq!(q.single("c").unwrap(), Some("x y z"));
        assert_eq!(q.single("missing").unwrap(), None);
        let e = q.single("d").unwrap_err();
        assert_eq!(e.code(), "duplicate_query_parameter");
        // An empty repeat is still a repeat.
        assert!(query("d=1&d=").single("d").is_err());
        // Invalid UTF-8 is replaced, never a panic.
        assert_eq!(query("a=%FF").single("a").unwrap(), Some("\u{FFFD}"));
    }

    #[test]
    fn labels_and_hosts() {
        assert!(is_label("devs4you"));
        assert!(is_label("a-b"));
        for bad in ["", "-a", "a-", "a.b", "a/b", "a b", "ä", &"a".repeat(64)] {
            assert!(!is_label(bad), "{bad:?}");
        }
        assert!(is_host("auth.example.com"));
        assert!(is_host("localhost:8000"));
        for bad in ["", "a..b", ".a", "a.", "evil.com/x", "a:b", "a:123456", "a@b", "[::1]"] {
            assert!(!is_host(bad), "{bad:?}");
        }
    }

    #[test]
    fn custom_domain_allowlist() {
        let allowed = vec!["login.acme.com".to_string(), "*.customers.example:8443".to_string()];
        assert!(is_allowed_custom_domain("login.acme.com", &allowed));
        assert!(is_allowed_custom_domain("LOGIN.Acme.com", &allowed));
        assert!(!is_allowed_custom_domain("login.acme.com:443", &allowed));
        assert!(!is_allowed_custom_domain("evil.example", &allowed));
        assert!(!is_allowed_custom_domain("xlogin.acme.com", &allowed));
        assert!(!is_allowed_custom_domain("a.login.acme.com", &allowed));
        assert!(is_allowed_custom_domain("a.customers.example:8443", &allowed));
        assert!(is_allowed_custom_domain("a.b.customers.example:8443", &allowed));
        assert!(!is_allowed_custom_domain("customers.example:8443", &allowed));
        assert!(!is_allowed_custom_domain("a.customers.example", &allowed));
        assert!(!is_allowed_custom_domain("evilcustomers.example:8443", &allowed));
        assert!(!is_allowed_custom_domain(".customers.example:8443", &allowed));
        assert!(!is_allowed_custom_domain("login.acme.com", &[]));
    }

    #[test]
    fn subdomains() {
        let root = "business.invotastic.com";
        assert_eq!(
            subdomain_tenant(Some("devs4you.business.invotastic.com"), root).as_deref(),
            Some("devs4you")
        );
        assert_eq!(
            subdomain_tenant(Some("Devs4You.Business.invotastic.com:6001"), root).as_deref(),
            Some("devs4you")
        );
        assert_eq!(subdomain_tenant(Some("business.invotastic.com"), root), None);
        assert_eq!(subdomain_tenant(Some("a.b.business.invotastic.com"), root), None);
        assert_eq!(subdomain_tenant(Some("devs4you.other.com"), root), None);
        assert_eq!(subdomain_tenant(None, root), None);
        assert_eq!(
            subdomain_tenant(Some("tenant.localhost:6001"), "localhost").as_deref(),
            Some("tenant")
        );
    }

    #[test]
    fn tenant_resolution() {
        let q = query("tenant_name=acme&tenant_custom_domain=auth.acme.com");
        let allowed = ["auth.acme.com".to_string()];
        let t = request_tenant(&q, Some("other.root.com"), None, &allowed).unwrap();
        assert_eq!(t.custom_domain.as_deref(), Some("auth.acme.com"));
        // Not on the list: ignored as if absent.
        let t = request_tenant(&q, Some("other.root.com"), None, &[]).unwrap();
        assert_eq!(t.custom_domain, None);
        assert_eq!(t.name.as_deref(), Some("acme"));
        assert_eq!(t.name.as_deref(), Some("acme"));
        // Subdomain mode ignores the query parameter.
        let t = request_tenant(&q, Some("sub.root.com"), Some("root.com"), &[]).unwrap();
        assert_eq!(t.name.as_deref(), Some("sub"));
        let t = request_tenant(&q, Some("root.com"), Some("root.com"), &[]).unwrap();
        assert_eq!(t.name, None);
        // The legacy callback parameter.
        let q = query("tenant_domain=old");
        assert_eq!(request_tenant(&q, None, None, &[]).unwrap().name.as_deref(), Some("old"));
        // Malformed values are 400s.
        let e = request_tenant(&query("tenant_name=evil.com/"), None, None, &[]).unwrap_err();
        assert_eq!(e.code(), "invalid_tenant_name");
        let e =
            request_tenant(&query("tenant_custom_domain=evil.com/x"), None, None, &[]).unwrap_err();
        assert_eq!(e.code(), "invalid_tenant_custom_domain");
        let e = request_tenant(&query("tenant_name=a&tenant_name=b"), None, Some("r.com"), &[])
            .unwrap_err();
        assert_eq!(e.code(), "duplicate_query_parameter");
    }

    #[test]
    fn tenant_hosts() {
        assert_eq!(tenant_host("acme", "app.wristband.dev", false), "acme-app.wristband.dev");
        assert_eq!(tenant_host("acme", "auth.example.com", true), "acme.auth.example.com");
    }
}

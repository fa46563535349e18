//! Which tenant a browser visits, decided from the `Host` it used, and the `{tenant_name}`
//! placeholder of the app's URLs.
//!
//! - `<tenant>.localhost[:port]` (custom domain active) or `<tenant>-localhost[:port]`: tenant
//!   `<tenant>` (one label).
//! - `localhost[:port]` (the application's vanity domain) or no `Host`: the default tenant.
//! - any other host (for example `127.0.0.1:<port>`): a *tenant custom domain*; the tenant is the
//!   default one and the redirect back to the app carries `tenant_custom_domain=<host[:port]>`.
//!
//! The user's [`tenant_name`](super::FakeUser::tenant_name), when set, wins over the host;
//! otherwise the default tenant is [`DEFAULT_TENANT`].

use super::request::Call;
use super::state::DEFAULT_TENANT;
use super::user::FakeUser;

/// The tenant of one visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Visit {
    pub(super) tenant_name: String,
    pub(super) tenant_custom_domain: Option<String>,
}

/// The tenant label of a `<t>.localhost` / `<t>-localhost` domain.
fn tenant_label(domain: &str) -> Option<&str> {
    let label = domain.strip_suffix(".localhost").or_else(|| domain.strip_suffix("-localhost"))?;
    (!label.is_empty() && !label.contains('.')).then_some(label)
}

/// The tenant `call` visits, for `user`.
pub(super) fn visit(call: &Call, user: &FakeUser) -> Visit {
    let domain = call.domain.as_deref().unwrap_or("localhost");
    let from_host = tenant_label(domain);
    let tenant_custom_domain = match (from_host, domain) {
        (Some(_), _) | (None, "localhost") => None,
        (None, _) => call.authority(),
    };
    let tenant_name = user
        .tenant_name
        .clone()
        .or_else(|| from_host.map(str::to_string))
        .unwrap_or_else(|| DEFAULT_TENANT.to_string());
    Visit { tenant_name, tenant_custom_domain }
}

/// `url` with every `{tenant_name}` / `{tenant_domain}` placeholder replaced by `tenant`.
pub(super) fn fill_placeholder(url: &str, tenant: &str) -> String {
    url.replace("{tenant_name}", tenant).replace("{tenant_domain}", tenant)
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
        assert_eq!(visit(&call(Some("globex.localhost"), None), &user).tenant_name, "initech");
    }

    #[test]
    fn both_placeholders_are_filled() {
        assert_eq!(
            fill_placeholder("http://{tenant_name}.x/{tenant_domain}", "acme"),
            "http://acme.x/acme"
        );
    }
}

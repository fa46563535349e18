//! The pages a browser meets outside the OAuth2 requests: the application-level
//! tenant-discovery page (`GET /login`) and the signed-out page that logout shows when it knows
//! no login URL of the app. Every value put into a page is HTML-escaped.

use oauth2::url::Url;
use rocket::State;

use super::answer::{escape, Answer};
use super::request::Call;
use super::routes::preamble;
use super::script::Endpoint;
use super::state::{Shared, SharedState};
use super::tenant::{app_login_url, host_kind, tenant_name, visit, HostKind, Visit};

/// The SDK configuration's `loginUrl`, if it is a string.
fn configured_login_url(shared: &Shared) -> Option<String> {
    let inner = shared.lock();
    inner.sdk_configuration.get("loginUrl").and_then(|v| v.as_str()).map(str::to_string)
}

/// The app's login URL for `visit`, if the SDK configuration has a usable one.
pub(super) fn app_login_for(shared: &Shared, visit: &Visit) -> Option<Url> {
    configured_login_url(shared).and_then(|login_url| app_login_url(&login_url, visit))
}

/// `{base}/login?client_id=…`: the application-level login page, on the fake's public origin.
fn application_login_page(shared: &Shared) -> Option<Url> {
    let mut url = Url::parse(&format!("{}/login", shared.issuer())).ok()?;
    url.query_pairs_mut().append_pair("client_id", &shared.client_id);
    Some(url)
}

/// What the discovery page carries through to the app's login: `return_url` and `state`, when
/// the request to `/login` had them.
#[derive(Default)]
struct Carried {
    return_url: Option<String>,
    state: Option<String>,
}

impl Carried {
    fn of(query: &super::request::Params) -> Carried {
        Carried {
            return_url: query.non_empty("return_url").map(str::to_string),
            state: query.non_empty("state").map(str::to_string),
        }
    }

    fn pairs(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [("return_url", &self.return_url), ("state", &self.state)]
            .into_iter()
            .filter_map(|(name, value)| value.as_deref().map(|value| (name, value)))
    }
}

/// 302 to the app's login URL for `visit` (with the carried `return_url` and `state`); an
/// error page when the SDK configuration has no usable `loginUrl`.
fn to_the_app(shared: &Shared, visit: &Visit, carried: &Carried) -> Answer {
    match app_login_for(shared, visit) {
        Some(mut url) => {
            let mut pairs = carried.pairs().peekable();
            if pairs.peek().is_some() {
                url.query_pairs_mut().extend_pairs(pairs);
            }
            Answer::redirect(302, url.as_str())
        }
        None => Answer::error_page(
            500,
            "server_error",
            "the SDK configuration has no usable loginUrl to send the browser to",
        ),
    }
}

/// Why a typed tenant name was refused.
enum Refused<'a> {
    /// The field was left empty (or only spaces).
    Empty,
    /// Not 1–63 letters, digits and hyphens.
    NotAName(&'a str),
}

/// The discovery form, asking for a tenant name; `refused` says why what was typed before is
/// not one (shown back, escaped: 400). `return_url` and `state` ride along as hidden fields.
fn discovery_page(client_id: &str, carried: &Carried, refused: Option<Refused<'_>>) -> Answer {
    let (status, error, value) = match &refused {
        None => (200, String::new(), ""),
        Some(Refused::Empty) => (
            400,
            "<p id=\"error\" role=\"alert\">Enter your tenant\u{2019}s name: the field was \
             empty.</p>\n"
                .to_string(),
            "",
        ),
        Some(Refused::NotAName(typed)) => (
            400,
            format!(
                "<p id=\"error\" role=\"alert\">\u{201c}{}\u{201d} is not a tenant name: use 1 \
                 to 63 letters, digits and hyphens.</p>\n",
                escape(typed)
            ),
            *typed,
        ),
    };
    let hidden: String = carried
        .pairs()
        .map(|(name, value)| {
            format!("<input type=\"hidden\" name=\"{name}\" value=\"{}\">\n", escape(value))
        })
        .collect();
    let body = format!(
        "<p>Which tenant do you want to sign in to?</p>\n{error}\
         <form id=\"tenant-discovery\" method=\"get\" action=\"/login\">\n\
         <input type=\"hidden\" name=\"client_id\" value=\"{client_id}\">\n{hidden}\
         <p><label for=\"tenant_name\">Tenant name</label>\n\
         <input type=\"text\" id=\"tenant_name\" name=\"tenant_name\" value=\"{value}\" required \
         autofocus autocapitalize=\"none\" spellcheck=\"false\" placeholder=\"acme\"></p>\n\
         <button type=\"submit\" id=\"continue\">Continue</button>\n\
         </form>",
        client_id = escape(client_id),
        value = escape(value),
    );
    Answer::html(status, "Sign in", &body)
}

/// `GET /login?client_id=…[&tenant_name=…][&return_url=…][&state=…]`.
///
/// On the vanity host: without `tenant_name`, the discovery page (a form asking for one, which
/// submits back here, carrying `return_url` and `state`); with a valid one, 302 to the app's
/// login URL for it (placeholder filled, else `tenant_name` appended; then `return_url` and
/// `state` when given); with an empty or invalid one, the form again (400) saying what is
/// wrong. On a tenant's host (or a custom domain) the tenant is known: 302 to the app's login
/// URL for it. A missing, unknown or repeated parameter gets a 400 page.
#[rocket::get("/login")]
pub(super) async fn login(call: Call, shared: &State<SharedState>) -> Answer {
    if let Some(answer) = preamble(shared, Endpoint::Login).await {
        return answer;
    }
    let query = &call.query;
    if let Some(name) = query.repeated() {
        let description = format!("parameter {name} is repeated");
        return Answer::error_page(400, "invalid_request", &description);
    }
    match query.non_empty("client_id") {
        None => return Answer::error_page(400, "invalid_request", "client_id is missing"),
        Some(id) if id != shared.client_id => {
            return Answer::error_page(400, "invalid_client", "unknown client_id")
        }
        Some(_) => {}
    }
    let carried = Carried::of(query);
    let public = shared.public_domain();
    match host_kind(&call, public.as_deref()) {
        HostKind::Vanity => match query.get("tenant_name") {
            None => discovery_page(&shared.client_id, &carried, None),
            Some(typed) if typed.trim().is_empty() => {
                discovery_page(&shared.client_id, &carried, Some(Refused::Empty))
            }
            Some(typed) => match tenant_name(typed) {
                Some(name) => to_the_app(
                    shared,
                    &Visit { tenant_name: name, tenant_custom_domain: None },
                    &carried,
                ),
                None => discovery_page(&shared.client_id, &carried, Some(Refused::NotAName(typed))),
            },
        },
        HostKind::Tenant(_) | HostKind::Custom(_) => {
            let user = shared.lock().user.clone();
            to_the_app(shared, &visit(&call, &user, public.as_deref()), &carried)
        }
    }
}

/// The page logout shows without a `redirect_url` when the SDK configuration has no usable
/// `loginUrl` (so there is no app to send the browser back to): "You are signed out", and a
/// link (`id="sign-in-again"`) to the application-level login page.
pub(super) fn signed_out(shared: &Shared) -> Answer {
    let link = match application_login_page(shared) {
        Some(url) => format!(
            "\n<p><a id=\"sign-in-again\" href=\"{}\">Sign in again</a></p>",
            escape(url.as_str())
        ),
        None => String::new(),
    };
    let body = format!("<p id=\"signed-out\">You are signed out.</p>{link}");
    Answer::html(200, "Signed out", &body)
}

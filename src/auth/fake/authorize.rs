//! `GET /api/v1/oauth2/authorize` and the sign-in page's `POST` back to it.
//!
//! The request is checked (client id, registered `redirect_uri`, `response_type=code`, an S256
//! PKCE challenge, no repeated parameter); a bad one gets a 400 HTML page and no redirect (the
//! redirect URI cannot be trusted). A good one is remembered under a fresh code and the browser
//! is sent back to the app, at once (auto-approve) or after the sign-in page's button.

use oauth2::url::Url;
use rocket::data::Data;
use rocket::State;

use super::answer::{escape, Answer};
use super::request::{read_form, Call};
use super::routes::preamble;
use super::script::Endpoint;
use super::state::{now, random_token, Grant, SharedState};
use super::tenant::{fill_placeholder, visit};
use super::user::FakeUser;

/// The sign-in page's form field naming the waiting request.
const REQUEST_ID: &str = "request_id";

/// Whether `challenge` is a valid PKCE code challenge (RFC 7636 §4.2: 43–128 unreserved
/// characters).
fn valid_challenge(challenge: &str) -> bool {
    (43..=128).contains(&challenge.len())
        && challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// Why an authorization request is refused: an OAuth2 error code and a sentence.
type Refusal = (&'static str, String);

/// Checks an authorization request; the grant it asks for, or why not.
fn check(call: &Call, shared: &SharedState) -> Result<Grant, Refusal> {
    let query = &call.query;
    let refuse = |error: &'static str, description: &str| (error, description.to_string());
    if let Some(name) = query.repeated() {
        return Err(refuse("invalid_request", &format!("parameter {name} is repeated")));
    }
    if query.get("client_id") != Some(shared.client_id.as_str()) {
        return Err(refuse("invalid_client", "unknown client_id"));
    }
    let (user, registered) = {
        let inner = shared.lock();
        let registered = inner.sdk_configuration.get("redirectUri").and_then(|v| v.as_str());
        (inner.user.clone(), registered.map(str::to_string))
    };
    let tenant = visit(call, &user, shared.public_domain().as_deref());
    let Some(redirect_uri) = query.non_empty("redirect_uri") else {
        return Err(refuse("invalid_request", "redirect_uri is missing"));
    };
    if let Some(registered) = registered {
        let filled = fill_placeholder(&registered, &tenant.tenant_name);
        if redirect_uri != registered && redirect_uri != filled {
            return Err(refuse("invalid_request", "redirect_uri is not registered"));
        }
    }
    let target = match Url::parse(&fill_placeholder(redirect_uri, &tenant.tenant_name)) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => url,
        _ => return Err(refuse("invalid_request", "redirect_uri is not an http(s) URL")),
    };
    if query.get("response_type") != Some("code") {
        return Err(refuse("unsupported_response_type", "response_type must be code"));
    }
    if query.get("code_challenge_method") != Some("S256") {
        return Err(refuse("invalid_request", "code_challenge_method must be S256"));
    }
    let challenge = query.get("code_challenge").unwrap_or_default();
    if !valid_challenge(challenge) {
        return Err(refuse("invalid_request", "code_challenge is missing or malformed"));
    }
    Ok(Grant {
        redirect_uri: redirect_uri.to_string(),
        target,
        code_challenge: challenge.to_string(),
        state: query.get("state").map(str::to_string),
        nonce: query.non_empty("nonce").map(str::to_string),
        scope: query.non_empty("scope").map(str::to_string),
        tenant_name: tenant.tenant_name,
        tenant_custom_domain: tenant.tenant_custom_domain,
        user,
        auth_time: now(),
    })
}

/// The redirect back to the app: `extra` pairs, then `state`, `tenant_name` and (for a custom
/// domain) `tenant_custom_domain`.
fn back_to_app(status: u16, grant: &Grant, extra: &[(&str, &str)]) -> Answer {
    let mut url = grant.target.clone();
    {
        let mut pairs = url.query_pairs_mut();
        for (name, value) in extra {
            pairs.append_pair(name, value);
        }
        if let Some(state) = &grant.state {
            pairs.append_pair("state", state);
        }
        pairs.append_pair("tenant_name", &grant.tenant_name);
        if let Some(domain) = &grant.tenant_custom_domain {
            pairs.append_pair("tenant_custom_domain", domain);
        }
    }
    Answer::redirect(status, url.as_str())
}

/// Issues a code for `grant` (the user signs in now) and sends the browser back with it.
fn approve(shared: &SharedState, mut grant: Grant, status: u16) -> Answer {
    grant.auth_time = now();
    let code = random_token();
    let answer = back_to_app(status, &grant, &[("code", &code)]);
    shared.lock().codes.insert(code, grant);
    answer
}

/// `grant` for another of the fake's users: their tenant (their `tenant_name`, else the
/// host's) and the redirect target for it.
fn grant_for(call: &Call, shared: &SharedState, grant: &Grant, user: FakeUser) -> Grant {
    let tenant = visit(call, &user, shared.public_domain().as_deref());
    let target = Url::parse(&fill_placeholder(&grant.redirect_uri, &tenant.tenant_name))
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https"))
        .unwrap_or_else(|| grant.target.clone());
    Grant {
        target,
        tenant_name: tenant.tenant_name,
        tenant_custom_domain: tenant.tenant_custom_domain,
        user,
        ..grant.clone()
    }
}

/// One user as the sign-in page shows them: who (email, else id), and their id and roles.
fn describe(user: &FakeUser) -> (String, String) {
    let who = user.email.clone().unwrap_or_else(|| user.user_id.clone());
    let roles = user.role_names();
    let roles = if roles.is_empty() { "no roles".to_string() } else { roles.join(", ") };
    (who, format!("{} \u{b7} {}", user.user_id, roles))
}

/// The sign-in page: the application, the tenant, the user (or a picker of the fake's users,
/// each with their tenant and roles), and a button that approves the request as that user.
/// Each user's grant waits under its own request id, the value of that user's choice.
fn sign_in_page(call: &Call, shared: &SharedState, grant: Grant) -> Answer {
    let others = shared.lock().other_users.clone();
    let first = grant.user.clone();
    let grants: Vec<Grant> = std::iter::once(grant.clone())
        .chain(others.into_iter().map(|user| grant_for(call, shared, &grant, user)))
        .collect();
    let ids: Vec<String> = grants.iter().map(|_| random_token()).collect();
    let application = format!(
        "<p class=\"app\">Application <span id=\"application\">{}</span></p>\n",
        escape(&shared.application_id)
    );
    let body = if grants.len() == 1 {
        let (who, detail) = describe(&first);
        format!(
            "{application}<p>Tenant: <strong id=\"tenant\">{tenant}</strong></p>\n\
             <form method=\"post\" action=\"/api/v1/oauth2/authorize\">\n\
             <p>User: <strong id=\"user\">{who}</strong></p>\n\
             <p class=\"detail\">{detail}</p>\n\
             <input type=\"hidden\" name=\"{REQUEST_ID}\" value=\"{id}\">\n\
             <button type=\"submit\" id=\"sign-in\">Sign in</button>\n\
             </form>",
            tenant = escape(&grant.tenant_name),
            who = escape(&who),
            detail = escape(&detail),
            id = ids[0],
        )
    } else {
        let choices: String = grants
            .iter()
            .zip(&ids)
            .enumerate()
            .map(|(n, (grant, id))| {
                let (who, detail) = describe(&grant.user);
                format!(
                    "<label class=\"choice\" for=\"user-{n}\"><input type=\"radio\" \
                     id=\"user-{n}\" name=\"{REQUEST_ID}\" value=\"{id}\"{checked}>\
                     <span><span class=\"who\">{who}</span>\
                     <span class=\"detail\">{detail} \u{b7} tenant \
                     <span class=\"tenant-of\">{tenant}</span></span></span></label>\n",
                    checked = if n == 0 { " checked" } else { "" },
                    who = escape(&who),
                    detail = escape(&detail),
                    tenant = escape(&grant.tenant_name),
                )
            })
            .collect();
        format!(
            "{application}<p>Tenant: <strong id=\"tenant\">{tenant}</strong></p>\n\
             <form method=\"post\" action=\"/api/v1/oauth2/authorize\">\n\
             <fieldset id=\"users\"><legend>Sign in as</legend>\n{choices}</fieldset>\n\
             <button type=\"submit\" id=\"sign-in\">Sign in</button>\n\
             </form>",
            tenant = escape(&grant.tenant_name),
        )
    };
    let title = format!("Sign in to {}", grant.tenant_name);
    {
        let mut inner = shared.lock();
        for (id, grant) in ids.into_iter().zip(grants) {
            inner.pending.insert(id, grant);
        }
    }
    Answer::html(200, &title, &body)
}

/// `GET /api/v1/oauth2/authorize`.
#[rocket::get("/api/v1/oauth2/authorize")]
pub(super) async fn authorize(call: Call, shared: &State<SharedState>) -> Answer {
    if let Some(answer) = preamble(shared, Endpoint::Authorize).await {
        return answer;
    }
    shared.lock().last_authorize_request = Some(call.query.0.clone());
    let grant = match check(&call, shared) {
        Ok(grant) => grant,
        Err((error, description)) => return Answer::error_page(400, error, &description),
    };
    let (auto_approve, error) = {
        let inner = shared.lock();
        (inner.auto_approve, inner.authorize_error.clone())
    };
    match error {
        Some((error, description)) => {
            back_to_app(302, &grant, &[("error", &error), ("error_description", &description)])
        }
        None if auto_approve => approve(shared, grant, 302),
        None => sign_in_page(&call, shared, grant),
    }
}

/// `POST /api/v1/oauth2/authorize`: the sign-in page's button.
#[rocket::post("/api/v1/oauth2/authorize", data = "<data>")]
pub(super) async fn sign_in(shared: &State<SharedState>, data: Data<'_>) -> Answer {
    if let Some(answer) = preamble(shared, Endpoint::Authorize).await {
        return answer;
    }
    let form = read_form(data).await.unwrap_or_default();
    let grant = form.get(REQUEST_ID).and_then(|id| shared.lock().pending.remove(id));
    match grant {
        Some(grant) => approve(shared, grant, 303),
        None => Answer::error_page(400, "invalid_request", "unknown or used sign-in request"),
    }
}

#[cfg(test)]
mod tests {
    use super::valid_challenge;

    #[test]
    fn challenges_follow_rfc_7636() {
        assert!(valid_challenge(&"a".repeat(43)));
        assert!(valid_challenge(&"A-._~9".repeat(20)));
        assert!(!valid_challenge(&"a".repeat(42)));
        assert!(!valid_challenge(&"a".repeat(129)));
        assert!(!valid_challenge(&format!("{}+", "a".repeat(43))));
    }
}

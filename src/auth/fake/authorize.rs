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

/// The sign-in page: the tenant, the user, and a button that approves the request.
fn sign_in_page(shared: &SharedState, grant: Grant) -> Answer {
    let request_id = random_token();
    let who = grant.user.email.clone().unwrap_or_else(|| grant.user.user_id.clone());
    let body = format!(
        "<p>Tenant: <strong id=\"tenant\">{tenant}</strong></p>\n\
         <p>User: <strong id=\"user\">{who}</strong></p>\n\
         <form method=\"post\" action=\"/api/v1/oauth2/authorize\">\n\
         <input type=\"hidden\" name=\"{REQUEST_ID}\" value=\"{request_id}\">\n\
         <button type=\"submit\" id=\"sign-in\">Sign in</button>\n\
         </form>",
        tenant = escape(&grant.tenant_name),
        who = escape(&who),
    );
    shared.lock().pending.insert(request_id, grant);
    Answer::html(200, "Fake Wristband: sign in", &body)
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
        None => sign_in_page(shared, grant),
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

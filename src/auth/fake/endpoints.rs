//! The endpoints that are not part of the code flow itself: SDK configuration, userinfo,
//! revocation, JWKS and logout.

use oauth2::url::Url;
use rocket::data::Data;
use rocket::State;
use serde_json::json;

use super::answer::Answer;
use super::pages;
use super::request::Call;
use super::routes::{client_form, preamble};
use super::script::Endpoint;
use super::state::{now, Shared, SharedState};
use super::tenant::{fill_placeholder, visit, Visit};

/// `GET /api/v1/clients/{client_id}/sdk-configuration`: 404 for another client.
#[rocket::get("/api/v1/clients/<client_id>/sdk-configuration")]
pub(super) async fn sdk_configuration(client_id: &str, shared: &State<SharedState>) -> Answer {
    if let Some(answer) = preamble(shared, Endpoint::SdkConfiguration).await {
        return answer;
    }
    if client_id != shared.client_id {
        return Answer::json(404, &json!({ "error": "not_found" }));
    }
    let body = shared.lock().sdk_configuration.clone();
    Answer::json(200, &body)
}

/// `GET /api/v1/oauth2/userinfo`: the claims of the user of a live access token it issued.
#[rocket::get("/api/v1/oauth2/userinfo")]
pub(super) async fn userinfo(call: Call, shared: &State<SharedState>) -> Answer {
    if let Some(answer) = preamble(shared, Endpoint::Userinfo).await {
        return answer;
    }
    let Some(token) = call.bearer() else {
        return Answer::invalid_token();
    };
    let inner = shared.lock();
    if inner.revoked.iter().any(|t| t == token) {
        return Answer::invalid_token();
    }
    match inner.access_tokens.get(token) {
        Some(issued) if issued.expires_at > now() => {
            Answer::json(200, &issued.user.userinfo(&shared.application_id))
        }
        _ => Answer::invalid_token(),
    }
}

/// `POST /api/v1/oauth2/revoke` (RFC 7009): HTTP Basic, form `token`; 200 with an empty body,
/// also for a token it does not know.
#[rocket::post("/api/v1/oauth2/revoke", data = "<data>")]
pub(super) async fn revoke(call: Call, shared: &State<SharedState>, data: Data<'_>) -> Answer {
    let (form, late) = match client_form(&call, shared, Endpoint::Revoke, data).await {
        Ok(form) => form,
        Err(answer) => return answer,
    };
    let answer = match form.non_empty("token") {
        Some(token) => {
            shared.lock().revoked.push(token.to_string());
            Answer::empty(200)
        }
        None => Answer::invalid_request("token is missing"),
    };
    late.wait().await;
    answer
}

/// `GET /api/v1/oauth2/jwks`: the published signing keys, newest first.
#[rocket::get("/api/v1/oauth2/jwks")]
pub(super) async fn jwks(shared: &State<SharedState>) -> Answer {
    if let Some(answer) = preamble(shared, Endpoint::Jwks).await {
        return answer;
    }
    let set = shared.lock().keys.jwks();
    match serde_json::to_value(set) {
        Ok(body) => Answer::json(200, &body),
        Err(_) => Answer::server_error(),
    }
}

/// `GET /api/v1/logout?client_id[&redirect_url][&state]`, ending as Wristband's does:
/// without `redirect_url`, 302 to the app's login URL for the host's tenant (`tenant_name`, and
/// `state` when given), or the signed-out page when the SDK configuration has no usable
/// `loginUrl`; with `redirect_url`, 302 there (`state` appended when given) if it is a logout
/// URL of the client ([`logout_url_allowed`]), else a 400 page.
#[rocket::get("/api/v1/logout")]
pub(super) async fn logout(call: Call, shared: &State<SharedState>) -> Answer {
    if let Some(answer) = preamble(shared, Endpoint::Logout).await {
        return answer;
    }
    let query = &call.query;
    if let Some(name) = query.repeated() {
        return Answer::error_page(
            400,
            "invalid_request",
            &format!("parameter {name} is repeated"),
        );
    }
    if query.get("client_id") != Some(shared.client_id.as_str()) {
        return Answer::error_page(400, "invalid_client", "unknown client_id");
    }
    let user = shared.lock().user.clone();
    let public = shared.public_domain();
    let visit = visit(&call, &user, public.as_deref());
    let state = query.non_empty("state");
    let mut url = match query.non_empty("redirect_url") {
        None => match pages::app_login_for(shared, &visit) {
            Some(url) => url,
            None => return pages::signed_out(shared),
        },
        Some(redirect_url) => {
            let url = match Url::parse(redirect_url) {
                Ok(url) if matches!(url.scheme(), "http" | "https") => url,
                _ => {
                    return Answer::error_page(400, "invalid_request", "redirect_url is not a URL")
                }
            };
            if !logout_url_allowed(shared, &visit, &url) {
                return Answer::error_page(
                    400,
                    "invalid_request",
                    "redirect_url is not a logout URL of this client",
                );
            }
            url
        }
    };
    if let Some(state) = state {
        url.query_pairs_mut().append_pair("state", state);
    }
    Answer::redirect(302, url.as_str())
}

/// Whether logout may send the browser to `url`, for a visit of `visit`'s tenant: with logout
/// URLs set by the test, when `url` equals one of them (compared as parsed URLs, the
/// `{tenant_name}` placeholder filled); otherwise when `url` is on the origin (scheme, host,
/// port) of the app's login URL for the tenant.
fn logout_url_allowed(shared: &Shared, visit: &Visit, url: &Url) -> bool {
    let configured = shared.lock().logout_urls.clone();
    match configured {
        Some(allowed) => allowed
            .iter()
            .filter_map(|allowed| Url::parse(&fill_placeholder(allowed, &visit.tenant_name)).ok())
            .any(|allowed| allowed == *url),
        None => {
            pages::app_login_for(shared, visit).is_some_and(|login| login.origin() == url.origin())
        }
    }
}

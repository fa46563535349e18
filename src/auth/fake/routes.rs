//! The fake's routes, and what every handler does first: count the call, wait its delay, and
//! give the next scripted reply if there is one.

use rocket::data::Data;
use rocket::Route;

use super::answer::Answer;
use super::request::{read_form, Call, Params};
use super::script::{Endpoint, Reply};
use super::state::{Shared, SharedState};
use super::{authorize, endpoints, pages, token};

/// Counts a call to `endpoint`, waits its delay, and answers with its next scripted reply
/// (`None`: handle the request normally).
pub(super) async fn preamble(shared: &Shared, endpoint: Endpoint) -> Option<Answer> {
    match begin(shared, endpoint).await {
        Ok(late) => {
            late.wait().await;
            None
        }
        Err(answer) => Some(answer),
    }
}

/// A wait to make after handling a call and before answering it ([`Reply::LateAnswer`]).
#[must_use]
pub(super) struct Late(Option<std::time::Duration>);

impl Late {
    pub(super) async fn wait(self) {
        if let Some(delay) = self.0 {
            rocket::tokio::time::sleep(delay).await;
        }
    }
}

/// The [`preamble`], with a [`Reply::LateAnswer`]'s wait handed back instead of made.
async fn begin(shared: &Shared, endpoint: Endpoint) -> Result<Late, Answer> {
    let (delay, reply) = shared.begin(endpoint);
    if let Some(delay) = delay {
        rocket::tokio::time::sleep(delay).await;
    }
    let Some(reply) = reply else {
        return Ok(Late(None));
    };
    match reply {
        Reply::Delay(delay) => rocket::tokio::time::sleep(delay).await,
        Reply::LateAnswer(delay) => return Ok(Late(Some(delay))),
        _ => {}
    }
    Answer::scripted(&reply).map_or(Ok(Late(None)), Err)
}

/// What the client-authenticated form endpoints (token, revoke) do first: the [`preamble`],
/// then HTTP Basic client authentication and the form body. `Err`: the answer to send. The
/// [`Late`] wait is made by the endpoint once it has handled the call.
pub(super) async fn client_form(
    call: &Call,
    shared: &SharedState,
    endpoint: Endpoint,
    data: Data<'_>,
) -> Result<(Params, Late), Answer> {
    let late = begin(shared, endpoint).await?;
    if !call.has_client_credentials(&shared.client_id, &shared.client_secret) {
        return Err(Answer::invalid_client());
    }
    if !call.is_form {
        return Err(Answer::invalid_request("the body must be application/x-www-form-urlencoded"));
    }
    let form =
        read_form(data).await.ok_or_else(|| Answer::invalid_request("the body is too large"))?;
    Ok((form, late))
}

/// Every route of the fake, all mounted at `/`.
pub(super) fn all() -> Vec<Route> {
    rocket::routes![
        endpoints::sdk_configuration,
        authorize::authorize,
        authorize::sign_in,
        token::token,
        endpoints::userinfo,
        endpoints::revoke,
        endpoints::jwks,
        endpoints::logout,
        pages::login,
    ]
}

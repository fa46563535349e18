//! The fake's routes, and what every handler does first: count the call, wait its delay, and
//! give the next scripted reply if there is one.

use rocket::Route;

use super::answer::Answer;
use super::script::{Endpoint, Reply};
use super::state::Shared;
use super::{authorize, endpoints, token};

/// Counts a call to `endpoint`, waits its delay, and answers with its next scripted reply
/// (`None`: handle the request normally).
pub(super) async fn preamble(shared: &Shared, endpoint: Endpoint) -> Option<Answer> {
    let (delay, reply) = shared.begin(endpoint);
    if let Some(delay) = delay {
        rocket::tokio::time::sleep(delay).await;
    }
    let reply = reply?;
    if let Reply::Delay(delay) = reply {
        rocket::tokio::time::sleep(delay).await;
    }
    Answer::scripted(&reply)
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
    ]
}

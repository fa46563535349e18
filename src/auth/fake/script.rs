//! [`Endpoint`] and [`Reply`]: what a test can script per endpoint, and the per-endpoint
//! bookkeeping (call counter, delay, queued replies).

use std::collections::VecDeque;
use std::time::Duration;

/// One of the fake Wristband's endpoints, for [`script`], [`set_delay`] and [`calls`].
///
/// ```
/// use wristband_rocket_session::testing::{Endpoint, FakeWristband};
///
/// # rocket::async_test(async {
/// let fake = FakeWristband::start().await;
/// assert_eq!(fake.calls(Endpoint::Token), 0);
/// # });
/// ```
///
/// [`script`]: super::FakeWristband::script
/// [`set_delay`]: super::FakeWristband::set_delay
/// [`calls`]: super::FakeWristband::calls
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// `GET /api/v1/clients/{client_id}/sdk-configuration`.
    SdkConfiguration,
    /// `GET` (and, for the sign-in page's form, `POST`) `/api/v1/oauth2/authorize`.
    Authorize,
    /// `POST /api/v1/oauth2/token` (both grants).
    Token,
    /// `GET /api/v1/oauth2/userinfo`.
    Userinfo,
    /// `POST /api/v1/oauth2/revoke`.
    Revoke,
    /// `GET /api/v1/oauth2/jwks`.
    Jwks,
    /// `GET /api/v1/logout`.
    Logout,
    /// `GET /login`: the application-level tenant-discovery page (and its form's submission),
    /// and a tenant host's login.
    Login,
}

impl Endpoint {
    /// This endpoint's index (declaration order).
    pub(super) fn index(self) -> usize {
        match self {
            Endpoint::SdkConfiguration => 0,
            Endpoint::Authorize => 1,
            Endpoint::Token => 2,
            Endpoint::Userinfo => 3,
            Endpoint::Revoke => 4,
            Endpoint::Jwks => 5,
            Endpoint::Logout => 6,
            Endpoint::Login => 7,
        }
    }
}

/// A scripted answer, queued with [`FakeWristband::script`]: each call to the endpoint takes
/// the next one before any normal handling (no check, no state change); once the queue is
/// empty the endpoint behaves normally again.
///
/// ```
/// use std::time::Duration;
/// use wristband_rocket_session::testing::{Endpoint, FakeWristband, Reply};
///
/// # rocket::async_test(async {
/// let fake = FakeWristband::start().await;
/// // The refresh fails twice with a 5xx, then a slow call succeeds.
/// fake.script(
///     Endpoint::Token,
///     [Reply::Status(503), Reply::Json(500, serde_json::json!({"error": "server_error"})),
///      Reply::Delay(Duration::from_millis(50))],
/// );
/// # });
/// ```
///
/// [`FakeWristband::script`]: super::FakeWristband::script
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Reply {
    /// This status with an empty body. A code outside 100–999 is sent as 500.
    Status(u16),
    /// This status with this JSON body.
    Json(u16, serde_json::Value),
    /// 400 `{"error": "invalid_grant"}`, with `"error_description"` when given.
    InvalidGrant(Option<String>),
    /// Waits this long, then answers normally.
    Delay(Duration),
    /// Handles the call normally at once (a refresh token is spent, a token revoked), then
    /// waits this long before sending the answer: what a client that gave up meanwhile missed
    /// has happened all the same. Only the token and revoke endpoints change anything; on the
    /// others it is the same as [`Reply::Delay`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use wristband_rocket_session::testing::{Endpoint, FakeWristband, Reply};
    ///
    /// # rocket::async_test(async {
    /// let fake = FakeWristband::start().await;
    /// // The next token call takes effect, but its answer comes 12 s later.
    /// fake.script(Endpoint::Token, [Reply::LateAnswer(Duration::from_secs(12))]);
    /// # });
    /// ```
    LateAnswer(Duration),
}

/// One endpoint's bookkeeping.
#[derive(Debug, Default)]
pub(super) struct EndpointState {
    /// Requests so far, scripted and failed ones included.
    pub(super) calls: usize,
    /// A wait before every call.
    pub(super) delay: Option<Duration>,
    /// Replies still to give, first first.
    pub(super) script: VecDeque<Reply>,
}

#[cfg(test)]
mod tests {
    use super::Endpoint;

    #[test]
    fn indexes_follow_declaration_order() {
        let all = [
            Endpoint::SdkConfiguration,
            Endpoint::Authorize,
            Endpoint::Token,
            Endpoint::Userinfo,
            Endpoint::Revoke,
            Endpoint::Jwks,
            Endpoint::Logout,
            Endpoint::Login,
        ];
        for (i, endpoint) in all.iter().enumerate() {
            assert_eq!(endpoint.index(), i, "{endpoint:?}");
        }
    }
}

//! Revocation of cookie sessions across instances, backed by Redis (cargo feature `redis`).
//! The crate docs' "Revocation" section says what it promises; `store` holds the Redis layout
//! and the catch-up protocol, `memory` what each instance checks requests against.

mod connect;
mod memory;
mod refresh_store;
mod store;

use std::sync::Arc;
use std::time::Duration;

use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::{Ignite, Rocket, Sentinel};
use time::OffsetDateTime;

use crate::session::error::SessionError;
use crate::session::options::{RevocationOptions, UnavailablePolicy};
use crate::session::revocation_hook::{parse_session_id, RevocationHook, Target};

pub(crate) use refresh_store::shared_refresh;
pub(crate) use store::Store;

/// How long the fairing waits at ignite for the first catch-up before launching anyway (not
/// caught up: the failure policy applies until the task catches up).
const FIRST_CATCH_UP: Duration = Duration::from_secs(3);

/// Starts revocation for one Rocket instance: the store, its background task, and the hook
/// for the session layer. Waits up to 3 s for the first catch-up.
pub(crate) async fn start(
    options: &RevocationOptions,
    max_age: u64,
) -> Result<(RevocationHook, Revocations), String> {
    let store = Store::start(options, max_age)?;
    if !store.wait_for_catch_ups(1, FIRST_CATCH_UP).await {
        log::error!(
            "revocation: Redis could not be reached within {FIRST_CATCH_UP:?} at launch; \
             launching anyway, not caught up (policy `{:?}` applies until it is); last \
             error: {}",
            store.policy(),
            store.last_failure()
        );
    }
    let hook = RevocationHook(Box::new(store::RedisCheck(store.clone())));
    Ok((hook, Revocations { store }))
}

/// Revokes sessions on every instance: a managed handle (`rocket.state::<Revocations>()`) and
/// a request guard, for admin routes and background jobs. Present when the `wristband_session`
/// table has a `revocation` sub-table (cargo feature `redis`).
///
/// Each revocation holds on this instance at once (in memory) and on the others as soon as
/// Redis' pub/sub tells them (well under a second). See the crate docs' "Revocation" section.
///
/// ```rust,no_run
/// # use rocket::post;
/// use rocket::http::Status;
/// use time::OffsetDateTime;
/// use wristband_rocket_session::{AuthenticatedSession, Revocations};
///
/// /// "Log out everywhere": every session of the signed-in user issued until now.
/// #[post("/sessions/logout-everywhere")]
/// async fn logout_everywhere(
///     session: AuthenticatedSession<'_>,
///     revocations: &rocket::State<Revocations>,
/// ) -> Status {
///     let user_id = session.user_id();
///     match revocations.revoke_user_before(&user_id, OffsetDateTime::now_utc()).await {
///         Ok(()) => Status::NoContent,
///         Err(_) => Status::ServiceUnavailable,
///     }
/// }
/// ```
#[derive(Clone)]
pub struct Revocations {
    store: Arc<Store>,
}

impl std::fmt::Debug for Revocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Revocations").field("store", &self.store).finish()
    }
}

/// What one instance holds, from [`Revocations::stats()`].
///
/// The table's size is `entries` (`sessions` + `users`); an instance logs a warning each time
/// it grows past 1,000,000 entries, which only an unusual rate of revocations (something
/// revoking sessions in bulk) can cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RevocationStats {
    /// Entries held in memory: revoked sessions plus user cut-offs (the table's size).
    pub entries: usize,
    /// Revoked sessions held in memory (each until its cookies would have expired).
    pub sessions: usize,
    /// User cut-offs held in memory (each until every cookie it refuses would have expired).
    pub users: usize,
    /// Heap bytes the in-memory tables take (their bucket arrays and user ids).
    pub memory_bytes: usize,
    /// Whether the instance is caught up with Redis (if not, the failure policy applies).
    pub caught_up: bool,
    /// How many catch-ups with Redis have completed since launch (1 after a normal start; one
    /// more after each reconnect).
    pub catch_ups: u64,
}

fn now_ms(at: OffsetDateTime) -> u64 {
    u64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

impl Revocations {
    /// Revokes one session by its id (see [`Session::session_id()`]) on every instance, until
    /// its cookies would have expired anyway (`max_age` from now).
    ///
    /// [`Session::session_id()`]: crate::Session::session_id
    ///
    /// # Errors
    ///
    /// [`SessionError::InvalidSessionId`] if `session_id` is not one this crate issues;
    /// [`SessionError::RevocationFailed`] if Redis could not be written: the revocation holds
    /// on this instance and reaches the others when it reconnects.
    ///
    /// ```rust,no_run
    /// # use rocket::post;
    /// use rocket::http::Status;
    /// use wristband_rocket_session::Revocations;
    ///
    /// #[post("/admin/sessions/<id>/revoke")]
    /// async fn revoke(id: &str, revocations: Revocations) -> Status {
    ///     match revocations.revoke_session(id).await {
    ///         Ok(()) => Status::NoContent,
    ///         Err(_) => Status::BadGateway,
    ///     }
    /// }
    /// ```
    pub async fn revoke_session(&self, session_id: &str) -> Result<(), SessionError> {
        if parse_session_id(session_id).is_none() {
            return Err(SessionError::InvalidSessionId);
        }
        let now = u64::try_from(OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0);
        let expires_at = now + self.store.max_age() + crate::session::codec::MAX_FUTURE_SKEW_SECS;
        store::revoke(&self.store, Target::Session { id: session_id, expires_at })
            .await
            .map_err(|reason| SessionError::RevocationFailed { reason })
    }

    /// Revokes, on every instance, every session of `user_id` issued before `before` ("log
    /// out everywhere", a password change). Sessions issued at or after `before` (a login
    /// after it) are not affected. `before` may lie in the past: a session issued before it
    /// and renewed since (rolling renewal keeps the issue time) is refused too. Held until
    /// every cookie such a session could have been sealed into has expired: `max_age` (plus
    /// 60 s of clock skew) after `before` or after now, whichever is later.
    ///
    /// # Errors
    ///
    /// [`SessionError::RevocationFailed`] if Redis could not be written: the revocation holds
    /// on this instance and reaches the others when it reconnects.
    ///
    /// ```rust,no_run
    /// # async fn example(rocket: &rocket::Rocket<rocket::Orbit>) {
    /// use time::OffsetDateTime;
    /// use wristband_rocket_session::Revocations;
    ///
    /// // From a background job, e.g. after a password change:
    /// let revocations = rocket.state::<Revocations>().expect("revocation is configured");
    /// revocations.revoke_user_before("user-1", OffsetDateTime::now_utc()).await.unwrap();
    /// # }
    /// ```
    pub async fn revoke_user_before(
        &self,
        user_id: &str,
        before: OffsetDateTime,
    ) -> Result<(), SessionError> {
        let target = Target::UserBefore { user_id, before_ms: now_ms(before) };
        store::revoke(&self.store, target)
            .await
            .map_err(|reason| SessionError::RevocationFailed { reason })
    }

    /// What this instance holds (the table's size) and whether it is caught up with Redis.
    ///
    /// ```rust,no_run
    /// # fn example(revocations: &wristband_rocket_session::Revocations) {
    /// let stats = revocations.stats();
    /// println!("{} revocations ({} sessions) in {} bytes", stats.entries, stats.sessions, stats.memory_bytes);
    /// # }
    /// ```
    pub fn stats(&self) -> RevocationStats {
        let (sessions, users, memory_bytes) = self.store.counts();
        RevocationStats {
            entries: sessions + users,
            sessions,
            users,
            memory_bytes,
            caught_up: self.store.is_caught_up(),
            catch_ups: self.store.catch_ups(),
        }
    }

    /// The failure policy in force (`on_unavailable`).
    ///
    /// ```rust,no_run
    /// # fn example(revocations: &wristband_rocket_session::Revocations) {
    /// use wristband_rocket_session::UnavailablePolicy;
    /// assert_eq!(revocations.policy(), UnavailablePolicy::Refuse);
    /// # }
    /// ```
    pub fn policy(&self) -> UnavailablePolicy {
        self.store.policy()
    }

    /// Waits until this instance has completed at least `count` catch-ups with Redis (see
    /// [`RevocationStats::catch_ups`]), or `timeout` has passed; `true` if it has.
    ///
    /// ```rust,no_run
    /// # async fn example(revocations: &wristband_rocket_session::Revocations) {
    /// let caught_up = revocations.wait_for_catch_ups(1, std::time::Duration::from_secs(5)).await;
    /// # }
    /// ```
    pub async fn wait_for_catch_ups(&self, count: u64, timeout: Duration) -> bool {
        self.store.wait_for_catch_ups(count, timeout).await
    }
}

/// The message for a route that takes [`Revocations`] while revocation is off.
fn not_configured() {
    log::error!(
        "`Revocations` is used by a route, but revocation is off: add a `revocation` table \
         with a Redis `url` to `wristband_session` (cargo feature `redis`)."
    );
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Revocations {
    type Error = SessionError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        match req.rocket().state::<Revocations>() {
            Some(revocations) => Outcome::Success(revocations.clone()),
            None => {
                not_configured();
                Outcome::Error((Status::InternalServerError, SessionError::RevocationNotConfigured))
            }
        }
    }
}

/// A route that takes [`Revocations`] aborts launch when revocation is off.
impl Sentinel for Revocations {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        let missing = rocket.state::<Revocations>().is_none();
        if missing {
            not_configured();
        }
        missing
    }
}

//! Signing in with Wristband, end to end: the routes of Wristband's NestJS demo in Rocket.
//!
//! ```sh
//! cargo run --example wristband_app --features fake-wristband    # then open http://localhost:8000/
//! ```
//!
//! - With no Wristband application configured (no `client_id` in the active profile's
//!   `wristband_auth` table), it starts a **fake** Wristband beside itself
//!   ([`FakeWristband`], a local test server that signs anyone in as a made-up user) and says so
//!   on stdout. Nothing to sign up for; never a production set-up: the fake starts only under
//!   Rocket's debug profile (`ROCKET_PROFILE` unset or `debug`, in any case) in a debug build.
//!   Any other profile (`release`, `RELEASE`, `production`, `staging`, …) or a `--release`
//!   build without a configured Wristband prints what to set and exits with status 1, before
//!   listening.
//! - With `ROCKET_WRISTBAND_AUTH='{client_id="...", client_secret="...",
//!   wristband_application_vanity_domain="..."}'` (or the same keys in `Rocket.toml`) it signs
//!   in with that real Wristband application instead.
//! - Built with `--features auth` instead of `fake-wristband`, it has no fake at all (the
//!   build to deploy): it needs a configured Wristband, and exits with status 1 without one.
//!
//! | route | what it does |
//! | --- | --- |
//! | `GET /` | home page: a sign-in link, or who is signed in |
//! | `GET /auth/login` | to Wristband's sign-in page (`?tenant_name=`, `?return_url=` accepted) |
//! | `GET /auth/callback` | Wristband sends the browser back here: the session is created |
//! | `POST /auth/logout` | the pages' "Sign out" button: a form carrying the session's CSRF token (403 without it); then as `GET` |
//! | `GET /auth/logout` | revokes the refresh token, ends the session, on to Wristband's logout (as Wristband's SDKs; see below) |
//! | `GET /protected` | a page for signed-in users; signed out, a redirect to the login |
//! | `GET /api/session`, `GET /api/token` | Wristband's session and token endpoints (reads: no CSRF check) |
//! | `POST /api/notes` | a state-changing call, made by the protected page's JavaScript (CSRF header) |
//! | `POST /admin/revoke-user/<user_id>` | with `--features fake-wristband,redis` and a `revocation` table: signs the user out on every instance (header `X-Admin-Token: $ADMIN_TOKEN`) |
//! | `POST /admin/revoke-session/<session_id>` | the same for one session |
//! | `GET /admin/revocations` | what this instance holds, and whether it is caught up with Redis |
//!
//! Revocation (cargo feature `redis`): with a `revocation` table, e.g.
//! `ROCKET_WRISTBAND_SESSION='{revocation={url="redis://127.0.0.1:6380"}}'`, `/auth/logout`
//! also revokes the session, and the admin routes above work when `ADMIN_TOKEN` is set (a demo
//! guard: a real app checks an admin's own session or a service credential).
//!
//! CSRF protection is on: the session cookie is `HttpOnly`, and a readable `CSRF-TOKEN` cookie
//! must come back in the `X-CSRF-TOKEN` header of every state-changing call (every method but
//! `GET`, `HEAD`, `OPTIONS` and `TRACE`; the page's JavaScript sends it on every `/api` call
//! anyway). The pages sign out with a
//! form post that carries the same token in a hidden field. `GET /auth/logout` stays for links
//! and scripts (Wristband's SDKs sign out with a `GET`), but any other site can trigger it: a
//! link or a redirect to it is a top-level navigation, which carries the `SameSite=Lax`
//! session cookie, so another site can sign a user out. A real app can drop it and keep the
//! `POST`. `tests/browser_wristband.rs` drives this app in headless Chromium; the README walks
//! through it with curl.

use std::convert::Infallible;

use rocket::figment::Figment;
use rocket::form::{Form, FromForm};
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::content::RawHtml;
use rocket::response::Redirect;
use rocket::serde::json::Json;
use rocket::{get, post, routes, Build, Rocket, State};
use serde_json::{json, Map, Value};
use subtle::ConstantTimeEq;
#[cfg(feature = "fake-wristband")]
use wristband_rocket_session::testing::FakeWristband;
use wristband_rocket_session::{
    catchers, AuthenticatedSession, AuthenticatedUser, CallbackResult, LoginConfig, LogoutConfig,
    Session, SessionError, SessionResponse, TokenResponse, Wristband, WristbandAuth,
    WristbandError, WristbandRedirect, WristbandSession,
};

/// What differs between a real Wristband and the fake one.
struct Demo {
    /// The tenant to sign into when the request names none. The fake's demo uses its tenant
    /// `acme` (the fake also has a tenant-discovery page); with a real Wristband, `None` sends
    /// the user to the application's own login page, where they pick their tenant.
    default_tenant: Option<String>,
    /// The fake's address, shown on the home page (`None`: a real Wristband).
    fake_url: Option<String>,
}

/// A signed-in user, for pages. A browser's page load carries no CSRF header; with CSRF
/// protection on, `AuthenticatedSession` does not ask for it on a `GET`, but does on every
/// method with `csrf_check_all_methods = true`: this guard never asks, so the pages work
/// either way. Not signed in: the request goes on to the next route (rank 2).
struct SignedIn<'r>(Session<'r>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for SignedIn<'r> {
    type Error = Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Infallible> {
        match req.guard::<Session<'r>>().await {
            Outcome::Success(session) if session.is_authenticated() => {
                Outcome::Success(SignedIn(session))
            }
            _ => Outcome::Forward(Status::Unauthorized),
        }
    }
}

/// Rocket checks the guards a route names, not those a guard calls: forwarding `Session`'s
/// check keeps "`WristbandSession` not attached" a launch error for routes using `SignedIn`.
impl rocket::Sentinel for SignedIn<'_> {
    fn abort(rocket: &Rocket<rocket::Ignite>) -> bool {
        <Session<'_> as rocket::Sentinel>::abort(rocket)
    }
}

/// The home page: a sign-in link, or who is signed in.
#[get("/")]
fn home(session: Session<'_>, demo: &State<Demo>) -> RawHtml<String> {
    let body = if session.is_authenticated() {
        format!(
            "<p id=\"status\">Signed in as <strong>{}</strong> of tenant <strong>{}</strong>.</p>\n\
             <p><a href=\"/protected\">Protected page</a> · {}</p>",
            escape(&display_name(&session)),
            escape(&session.tenant_name().unwrap_or_default()),
            logout_form(&session),
        )
    } else {
        "<p id=\"status\">You are signed out.</p>\n\
         <p><a id=\"sign-in\" href=\"/auth/login\">Sign in with Wristband</a></p>"
            .to_string()
    };
    let note = match &demo.fake_url {
        Some(url) => format!(
            "<p><em>Signing in with a FAKE Wristband at {}: no real account is used.</em></p>",
            escape(url)
        ),
        None => String::new(),
    };
    RawHtml(page("Wristband demo", &format!("{body}\n{note}")))
}

/// Starts a login at Wristband. `?tenant_name=acme` picks the tenant and `?return_url=/path`
/// where to land afterwards (checked by the crate: a relative path or an allowed host).
#[get("/auth/login")]
async fn login(
    wristband: Wristband<'_>,
    demo: &State<Demo>,
) -> Result<WristbandRedirect, WristbandError> {
    let config =
        LoginConfig { default_tenant_name: demo.default_tenant.clone(), ..LoginConfig::default() };
    wristband.login(config).await
}

/// Wristband sends the browser back here: the code is exchanged for tokens, the user read,
/// and the session created (with a fresh CSRF token). Then to the return URL, or `/protected`.
#[get("/auth/callback")]
async fn callback(
    wristband: Wristband<'_>,
    session: Session<'_>,
) -> Result<WristbandRedirect, WristbandError> {
    match wristband.callback().await? {
        CallbackResult::Completed(data) => {
            // The app's own fields next to Wristband's: the email to show, a note counter.
            let mut custom = Map::new();
            if let Some(email) = &data.userinfo.email {
                custom.insert("email".into(), json!(email));
            }
            custom.insert("notes".into(), json!(0));
            session.from_callback(&data, Some(custom))?;
            Ok(WristbandRedirect::to(
                data.return_url.clone().unwrap_or_else(|| "/protected".into()),
            ))
        }
        // A stale or missing login state, or Wristband asking for a new login: start over.
        CallbackResult::RedirectRequired { redirect_url, .. } => {
            Ok(WristbandRedirect::to(redirect_url))
        }
    }
}

/// Signs out: the refresh token is revoked, the session and CSRF cookies are removed, and the
/// browser goes to Wristband's logout URL, which ends Wristband's session and sends the browser
/// back to the app's login for the tenant (and so to the sign-in page).
///
/// A `GET`, as in Wristband's SDKs, so any other site can trigger it (a link, or a redirect:
/// top-level navigations carry the `SameSite=Lax` session cookie) and sign the user out. The
/// pages use the `POST` below, which checks the CSRF token; an app that needs no sign-out
/// links can remove this route.
#[get("/auth/logout")]
async fn logout(wristband: Wristband<'_>) -> Result<WristbandRedirect, WristbandError> {
    wristband.logout(LogoutConfig::default()).await
}

/// The fields of the pages' sign-out form.
#[derive(FromForm)]
struct LogoutForm<'r> {
    /// The session's CSRF token, written into the form by the page.
    csrf_token: &'r str,
}

/// Signs out from the pages' "Sign out" button: a form post whose `csrf_token` field must equal
/// the session's CSRF token (compared in constant time), as the `X-CSRF-TOKEN` header must for
/// `/api` calls. Another site cannot read the token, and its form posts carry no session cookie
/// (`SameSite=Lax`). A missing or wrong token (or no session) is a 403 `{"error":"csrf_failed"}`
/// and signs nobody out; otherwise the same as `GET /auth/logout`.
#[post("/auth/logout", data = "<form>")]
async fn logout_post(
    wristband: Wristband<'_>,
    session: Session<'_>,
    form: Option<Form<LogoutForm<'_>>>,
) -> Result<WristbandRedirect, WristbandError> {
    let expected = session.csrf_token().unwrap_or_default();
    let given = form.as_ref().map_or("", |form| form.csrf_token);
    let matches = !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()));
    if !matches {
        return Err(SessionError::CsrfFailed.into());
    }
    wristband.logout(LogoutConfig::default()).await
}

/// The "Sign out" button: a form posting the session's CSRF token to `POST /auth/logout`.
fn logout_form(session: &Session<'_>) -> String {
    format!(
        "<form method=\"post\" action=\"/auth/logout\" style=\"display: inline\">\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{}\">\
         <button id=\"logout\" type=\"submit\">Sign out</button></form>",
        escape(&session.csrf_token().unwrap_or_default())
    )
}

/// The protected page, for a signed-in user.
#[get("/protected")]
fn protected(user: SignedIn<'_>) -> RawHtml<String> {
    let session = &user.0;
    let body = PROTECTED
        .replace("{user}", &escape(&display_name(session)))
        .replace("{user_id}", &escape(&session.user_id().unwrap_or_default()))
        .replace("{tenant}", &escape(&session.tenant_name().unwrap_or_default()))
        .replace("{logout}", &logout_form(session));
    RawHtml(page("Protected", &body))
}

/// The protected page when signed out: sign in first, then come back.
#[get("/protected", rank = 2)]
fn protected_signed_out() -> Redirect {
    Redirect::to("/auth/login?return_url=/protected")
}

/// Wristband's session endpoint: who is signed in, with the app's metadata. Browsers call it
/// with the session cookie (a `GET`, so the CSRF header is not required); API clients with
/// `Authorization: Bearer <access token>` (`auth_strategies = ["jwt", "session"]`: the session
/// is tried last, so where the CSRF header is checked, a browser without it gets its 403, not
/// a 401).
#[get("/api/session")]
fn api_session(user: AuthenticatedUser<'_>) -> Result<SessionResponse, SessionError> {
    match &user {
        AuthenticatedUser::Session(session) => {
            let metadata = json!({
                "email": session.get::<String>("email")?,
                "tenantName": session.tenant_name(),
                "notes": session.get::<u64>("notes")?,
            });
            session.session_response(Some(metadata))
        }
        user => Ok(SessionResponse {
            user_id: user.user_id(),
            tenant_id: user.tenant_id(),
            metadata: json!({ "authenticatedWith": "jwt" }),
        }),
    }
}

/// Wristband's token endpoint: the access token, for calling Wristband's APIs from the page.
#[get("/api/token")]
fn api_token(session: AuthenticatedSession<'_>) -> Result<TokenResponse, SessionError> {
    session.token_response()
}

/// A state-changing call: counts notes in the session. Without the CSRF header: 403.
#[post("/api/notes")]
fn api_notes(session: AuthenticatedSession<'_>) -> Result<Json<Value>, SessionError> {
    let notes = session.get::<u64>("notes")?.unwrap_or(0) + 1;
    session.insert("notes", notes)?;
    Ok(Json(json!({ "notes": notes })))
}

/// The email when Wristband gave one, else the user id.
fn display_name(session: &Session<'_>) -> String {
    match session.get::<String>("email") {
        Ok(Some(email)) => email,
        _ => session.user_id().unwrap_or_default(),
    }
}

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Whether `main` may start the fake Wristband when no real one is configured: only under
/// Rocket's debug profile (`Config::DEBUG_PROFILE`, compared as Rocket compares profiles:
/// `Profile` equality ignores case, so `DEBUG` is the debug profile and `RELEASE` is not) and
/// in a debug build (`debug_build`: `cfg!(debug_assertions)`). Anything else may face real
/// users, and the fake signs anyone in.
#[cfg(feature = "fake-wristband")]
pub fn may_start_fake(profile: &rocket::figment::Profile, debug_build: bool) -> bool {
    debug_build && *profile == rocket::Config::DEBUG_PROFILE
}

/// Whether the active profile names a real Wristband application (`wristband_auth.client_id`
/// in `Rocket.toml` or `ROCKET_WRISTBAND_AUTH`).
pub fn real_wristband_configured(figment: &Figment) -> bool {
    figment.find_value("wristband_auth.client_id").is_ok()
}

/// Registers the app at `origin` (such as `http://localhost:8000`) with the fake, as one
/// registers the login URL and redirect URI of an application in Wristband's dashboard, and
/// turns the fake's sign-in page on (off, it would approve without showing anything).
#[cfg(feature = "fake-wristband")]
pub fn register_with_fake(fake: &FakeWristband, origin: &str) {
    fake.set_app_urls(&format!("{origin}/auth/login"), &format!("{origin}/auth/callback"));
    fake.set_auto_approve(false);
}

/// The app, also used by `tests/browser_wristband.rs`: with `Some(fake)` it signs in with
/// that fake Wristband, with `None` with the application of the `wristband_auth` table.
#[cfg(feature = "fake-wristband")]
pub fn app(fake: Option<&FakeWristband>) -> Rocket<Build> {
    use wristband_rocket_session::{AuthOptions, AuthStrategy};
    match fake {
        Some(fake) => with_auth(
            WristbandAuth::custom(AuthOptions {
                auth_strategies: vec![AuthStrategy::Jwt, AuthStrategy::Session],
                ..fake.auth_options()
            }),
            Demo { default_tenant: Some("acme".into()), fake_url: Some(fake.base_url()) },
        ),
        None => real_app(),
    }
}

/// The app signing in with the application of the `wristband_auth` table.
pub fn real_app() -> Rocket<Build> {
    with_auth(WristbandAuth::fairing(), Demo { default_tenant: None, fake_url: None })
}

/// The app, signing in through `auth`.
fn with_auth(auth: impl rocket::fairing::Fairing, demo: Demo) -> Rocket<Build> {
    // The repo's Rocket.toml gives the profile's session options; this app adds CSRF.
    // `/api/session` also serves API clients with a bearer token.
    let figment = rocket::Config::figment()
        .merge(("wristband_session.enable_csrf_protection", true))
        .merge(("wristband_auth.auth_strategies", ["jwt", "session"]));
    let rocket = rocket::custom(figment).attach(WristbandSession::fairing());
    let rocket = rocket.attach(auth).manage(demo);
    #[cfg(feature = "redis")]
    let rocket = rocket.mount("/admin", admin::routes());
    rocket.register("/", catchers()).mount(
        "/",
        routes![
            home,
            login,
            callback,
            logout,
            logout_post,
            protected,
            protected_signed_out,
            api_session,
            api_token,
            api_notes
        ],
    )
}

/// Revocation admin routes (cargo feature `redis`).
#[cfg(feature = "redis")]
mod admin {
    use rocket::http::Status;
    use rocket::request::{FromRequest, Outcome, Request};
    use rocket::serde::json::Json;
    use rocket::{get, post, routes, Route};
    use serde_json::{json, Value};
    use time::OffsetDateTime;
    use wristband_rocket_session::Revocations;

    /// An admin request: `X-Admin-Token` equals the `ADMIN_TOKEN` environment variable (a
    /// demo guard), and revocation is configured. Otherwise 404 (no token set, or no
    /// `revocation` table) or 403 (a wrong token).
    pub struct Admin(Revocations);

    #[rocket::async_trait]
    impl<'r> FromRequest<'r> for Admin {
        type Error = ();

        async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
            let expected = std::env::var("ADMIN_TOKEN").ok().filter(|t| t.len() >= 16);
            let Some(revocations) = req.rocket().state::<Revocations>() else {
                return Outcome::Forward(Status::NotFound);
            };
            let Some(expected) = expected else { return Outcome::Forward(Status::NotFound) };
            let given = req.headers().get_one("X-Admin-Token").unwrap_or_default();
            // A demo check; compare in constant time in a real app.
            if given == expected {
                Outcome::Success(Admin(revocations.clone()))
            } else {
                Outcome::Error((Status::Forbidden, ()))
            }
        }
    }

    /// Signs `user_id` out on every instance: every session issued until now is refused.
    #[post("/revoke-user/<user_id>")]
    async fn revoke_user(admin: Admin, user_id: &str) -> Result<Json<Value>, Status> {
        let now = OffsetDateTime::now_utc();
        match admin.0.revoke_user_before(user_id, now).await {
            Ok(()) => Ok(Json(json!({ "revoked": "user", "userId": user_id }))),
            Err(_) => Err(Status::ServiceUnavailable),
        }
    }

    /// Revokes one session by its id (`Session::session_id`).
    #[post("/revoke-session/<session_id>")]
    async fn revoke_session(admin: Admin, session_id: &str) -> Result<Json<Value>, Status> {
        match admin.0.revoke_session(session_id).await {
            Ok(()) => Ok(Json(json!({ "revoked": "session" }))),
            Err(wristband_rocket_session::SessionError::InvalidSessionId) => {
                Err(Status::BadRequest)
            }
            Err(_) => Err(Status::ServiceUnavailable),
        }
    }

    /// What this instance holds.
    #[get("/revocations")]
    fn revocations(admin: Admin) -> Json<Value> {
        let stats = admin.0.stats();
        Json(json!({
            "sessions": stats.sessions, "users": stats.users,
            "memoryBytes": stats.memory_bytes, "caughtUp": stats.caught_up,
        }))
    }

    pub fn routes() -> Vec<Route> {
        routes![revoke_user, revoke_session, revocations]
    }
}

#[rocket::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let figment = rocket::Config::figment();
    let profile = figment.profile().to_string();
    if real_wristband_configured(&figment) {
        let announce =
            format!("Signing in with the Wristband application of `wristband_auth` ({profile}).");
        return launch_or_exit(real_app(), announce).await;
    }
    unconfigured(&figment, &profile).await
}

/// Without a configured Wristband, in a build without the fake (`--features auth`): says what
/// to set and exits with status 1, before anything listens.
#[cfg(not(feature = "fake-wristband"))]
async fn unconfigured(_: &Figment, profile: &str) -> Result<(), Box<dyn std::error::Error>> {
    eprintln!(
        "No Wristband application is configured (no `wristband_auth.client_id` in profile \
             `{profile}`), and this build has no fake Wristband (cargo feature \
             `fake-wristband`).\n\
             Set the keys `client_id`, `client_secret` and `wristband_application_vanity_domain` \
             of the `wristband_auth` table, in the environment:\n  \
             ROCKET_WRISTBAND_AUTH='{{client_id=\"...\", client_secret=\"...\", \
             wristband_application_vanity_domain=\"...\"}}'\n\
             or in the profile's `[{profile}.wristband_auth]` table of Rocket.toml (the client \
             secret through the environment). See the README."
    );
    std::process::exit(1);
}

/// Without a configured Wristband: starts the fake Wristband and the app signing in with it
/// when `may_start_fake` allows; otherwise says what to set and exits with status 1, before
/// anything listens.
#[cfg(feature = "fake-wristband")]
async fn unconfigured(figment: &Figment, profile: &str) -> Result<(), Box<dyn std::error::Error>> {
    if !may_start_fake(figment.profile(), cfg!(debug_assertions)) {
        // Before anything listens: the fake signs anyone in, so it never serves outside local
        // development.
        let build = if cfg!(debug_assertions) { "debug" } else { "release" };
        eprintln!(
            "No Wristband application is configured (no `wristband_auth.client_id` in profile \
             `{profile}`), and the fake Wristband, which signs anyone in, starts only under the \
             `debug` profile in a debug build (this is a {build} build).\n\
             Set the keys `client_id`, `client_secret` and `wristband_application_vanity_domain` \
             of the `wristband_auth` table, in the environment:\n  \
             ROCKET_WRISTBAND_AUTH='{{client_id=\"...\", client_secret=\"...\", \
             wristband_application_vanity_domain=\"...\"}}'\n\
             or in the profile's `[{profile}.wristband_auth]` table of Rocket.toml (the client \
             secret through the environment). See the README."
        );
        std::process::exit(1);
    }
    // The fake lives in this frame, so it serves for as long as the app does.
    let fake = FakeWristband::start().await;
    let port: u16 = figment.extract_inner("port").unwrap_or(8000);
    let origin = format!("http://localhost:{port}");
    register_with_fake(&fake, &origin);
    let announce = format!(
        "No Wristband application configured (no `wristband_auth.client_id` in profile \
         `{profile}`), so this demo started a FAKE Wristband:\n  \
         {fake_url} (tenant `acme` at {tenant_url})\n\
         It signs anyone in as a made-up user: a local stand-in, never for real users.\n\
         Open {origin}/ in a browser (use `localhost`: the login is registered for it).",
        fake_url = fake.base_url(),
        tenant_url = fake.tenant_url("acme"),
    );
    launch_or_exit(app(Some(&fake)), announce).await
}

/// Launches `rocket`, printing `announce` once it is serving (so nothing is announced for a
/// configuration that fails); a failed launch exits with status 1 and no message of its own
/// (the crate's fairings have logged what is wrong).
async fn launch_or_exit(
    rocket: Rocket<Build>,
    announce: String,
) -> Result<(), Box<dyn std::error::Error>> {
    let announce = rocket::fairing::AdHoc::on_liftoff("Announce", move |_| {
        Box::pin(async move { println!("{announce}") })
    });
    if let Err(e) = rocket.attach(announce).launch().await {
        // Looking at the error marks it handled (Rocket panics on dropping one that is not).
        let _ = e.kind();
        std::process::exit(1);
    }
    Ok(())
}

/// A page around `body`.
fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title>\n\
         <style>body {{ font-family: sans-serif; margin: 2em; }} \
         pre {{ background: #f4f4f4; padding: .5em; }}</style></head>\n\
         <body>\n<h1>{title}</h1>\n{body}\n</body></html>\n"
    )
}

/// The protected page's body; `{user}`, `{user_id}` and `{tenant}` are filled in (escaped),
/// `{logout}` with the sign-out form.
const PROTECTED: &str = r#"<p id="welcome">Signed in as <strong>{user}</strong></p>
<ul>
  <li>User id: <code id="user-id">{user_id}</code></li>
  <li>Tenant: <code id="tenant">{tenant}</code></li>
</ul>
<p><button id="add-note">Add a note (POST /api/notes)</button> <span id="result"></span></p>
<p>GET /api/session:</p>
<pre id="session">…</pre>
<p><a href="/">Home</a> · {logout}</p>
<script>
// The CSRF token is in a readable cookie; every /api call sends it back in a header.
function csrfToken() {
  const cookie = document.cookie.split('; ').find(c => c.startsWith('CSRF-TOKEN='));
  return cookie ? cookie.substring('CSRF-TOKEN='.length) : '';
}
function api(method, path) {
  return fetch(path, { method, headers: { 'X-CSRF-TOKEN': csrfToken() } });
}
async function showSession() {
  const res = await api('GET', '/api/session');
  document.getElementById('session').textContent =
    res.ok ? JSON.stringify(await res.json(), null, 2) : `HTTP ${res.status}`;
}
document.getElementById('add-note').onclick = async () => {
  const res = await api('POST', '/api/notes');
  document.getElementById('result').textContent =
    res.ok ? `Saved: ${(await res.json()).notes} note(s)` : `Refused: HTTP ${res.status}`;
  await showSession();
};
showSession();
</script>"#;

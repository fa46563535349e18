//! A Wristband-style app with a fake login, so it runs without a Wristband tenant.
//!
//! CSRF protection is on: after logging in, the browser holds an HttpOnly `session` cookie and a
//! readable `CSRF-TOKEN` cookie whose value must come back in the `X-CSRF-TOKEN` header on every
//! state-changing `/api` call (every method but `GET`, `HEAD`, `OPTIONS` and `TRACE`). Run it with `cargo run --example auth_flow` and open <http://127.0.0.1:8000/>;
//! the README walks through it with curl.

use rocket::http::Status;
use rocket::response::content::RawHtml;
use rocket::response::Redirect;
use rocket::serde::json::Json;
use rocket::{get, launch, post, routes, uri, Build, Responder, Rocket};
use serde_json::{json, Value};
use wristband_rocket_session::{
    catchers, AuthenticatedSession, CallbackData, Session, SessionError, SessionResponse,
    TokenResponse, WristbandSession,
};

/// The home page, or a redirect to the login page.
#[derive(Responder)]
enum Page {
    Home(RawHtml<String>),
    Login(Box<Redirect>),
}

/// The protected page: only for logged-in users (no CSRF header needed to view a page).
#[get("/")]
fn home(session: Session<'_>) -> Page {
    if !session.is_authenticated() {
        return Page::Login(Box::new(Redirect::to(uri!(login_page))));
    }
    let user = session.user_id().unwrap_or_default();
    let tenant = session.tenant_name().unwrap_or_default();
    let page = HOME_PAGE.replace("{user}", &escape(&user)).replace("{tenant}", &escape(&tenant));
    Page::Home(RawHtml(page))
}

/// Escapes text for HTML: the fake login accepts any user id.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The login page: a button that posts fake callback data.
#[get("/login")]
fn login_page() -> RawHtml<&'static str> {
    RawHtml(LOGIN_PAGE)
}

/// Stands in for Wristband's callback: logs in with the callback data posted as JSON.
#[post("/login", data = "<data>")]
fn login(session: Session<'_>, data: Json<CallbackData>) -> Result<Status, SessionError> {
    let mut custom = serde_json::Map::new();
    custom.insert("notes".into(), json!(0));
    session.from_callback(&data, Some(custom))?;
    Ok(Status::NoContent)
}

/// Wristband's session endpoint.
#[get("/api/session")]
fn api_session(session: AuthenticatedSession<'_>) -> Result<SessionResponse, SessionError> {
    let metadata =
        json!({ "tenantName": session.tenant_name(), "notes": session.get::<u64>("notes")? });
    session.session_response(Some(metadata))
}

/// Wristband's token endpoint.
#[get("/api/token")]
fn api_token(session: AuthenticatedSession<'_>) -> Result<TokenResponse, SessionError> {
    session.token_response()
}

/// A state-changing call: counts notes in the session.
#[post("/api/notes")]
fn api_notes(session: AuthenticatedSession<'_>) -> Result<Json<Value>, SessionError> {
    let notes = session.get::<u64>("notes")?.unwrap_or(0) + 1;
    session.insert("notes", notes)?;
    Ok(Json(json!({ "notes": notes })))
}

/// Logs out: both cookies are removed.
#[post("/api/logout")]
fn api_logout(session: AuthenticatedSession<'_>) -> Status {
    session.destroy();
    Status::NoContent
}

#[launch]
fn rocket() -> _ {
    app()
}

/// The app, also used by the browser test (`tests/browser.rs` includes this file).
pub fn app() -> Rocket<Build> {
    // The repo's Rocket.toml gives the profile's options; this app also wants CSRF protection.
    let figment =
        rocket::Config::figment().merge(("wristband_session.enable_csrf_protection", true));
    rocket::custom(figment)
        .attach(WristbandSession::fairing())
        .register("/", catchers())
        .mount("/", routes![home, login_page, login, api_session, api_token, api_notes, api_logout])
}

const LOGIN_PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Log in</title></head>
<body>
<h1>Log in</h1>
<button id="login">Log in as the demo user</button>
<script>
document.getElementById('login').onclick = async () => {
  const callbackData = {
    accessToken: 'demo-access-token', expiresAt: Date.now() + 1740 * 1000, expiresIn: 1740,
    idToken: 'demo-id-token', refreshToken: 'demo-refresh-token', tenantName: 'acme',
    userinfo: { userId: 'user-1', tenantId: 'tenant-1', applicationId: 'app-1',
                identityProviderName: 'wristband', email: 'ada@example.com' }
  };
  const res = await fetch('/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
                                      body: JSON.stringify(callbackData) });
  if (res.ok) { window.location.href = '/'; }
};
</script>
</body></html>
"#;

const HOME_PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Protected</title></head>
<body>
<h1 id="welcome">Welcome, {user} of {tenant}</h1>
<p>Notes: <span id="notes">?</span></p>
<button id="add">Add a note</button>
<button id="logout">Log out</button>
<script>
function csrfToken() {
  const m = document.cookie.split('; ').find(c => c.startsWith('CSRF-TOKEN='));
  return m ? m.substring('CSRF-TOKEN='.length) : '';
}
async function api(method, path) {
  return fetch(path, { method, headers: { 'X-CSRF-TOKEN': csrfToken() } });
}
async function refresh() {
  const res = await api('GET', '/api/session');
  if (res.ok) { document.getElementById('notes').textContent = (await res.json()).metadata.notes; }
}
document.getElementById('add').onclick = async () => {
  const res = await api('POST', '/api/notes');
  if (res.ok) { document.getElementById('notes').textContent = (await res.json()).notes; }
};
document.getElementById('logout').onclick = async () => {
  await api('POST', '/api/logout');
  window.location.href = '/';
};
refresh();
</script>
</body></html>
"#;

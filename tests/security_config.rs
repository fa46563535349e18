//! Security review, findings 6 and 7: configuration that failed silently.
//!
//! - A table whose name is a near miss of `wristband_session` or `wristband_auth` (within two
//!   edits) aborts launch naming both names; before, it was ignored and the defaults applied.
//! - Outside the debug profile, `secure = false` (and, with `auth`,
//!   `dangerously_disable_secure_cookies = true`) launches with a warning naming the key and
//!   the profile; before, it launched quietly.
//! - With `auth`, a `client_secret` read from a file (such as `Rocket.toml`) in the `release`
//!   profile aborts launch; before, the docs said so and nothing checked it. The session's
//!   `secrets` are treated alike (before, they launched silently from a file in `release`).
//!
//! A capturing logger (`tests/support/logs.rs`) is installed before any Rocket is built; each
//! test reads the lines its own thread logged.

use log::Level;
use rocket::figment::providers::{Format, Toml};
use rocket::figment::Figment;
use rocket::local::asynchronous::Client;
use wristband_rocket_session::WristbandSession;

#[allow(dead_code)] // not every test file reads every kind of line
#[path = "support/logs.rs"]
mod logs;

fn capture_logs() {
    logs::install();
}

/// This test's captured lines at `level` that contain every one of `needles`.
fn lines(level: Level, needles: &[&str]) -> Vec<String> {
    let lines = logs::logged(Some(level));
    lines.into_iter().filter(|text| needles.iter().all(|n| text.contains(n))).collect()
}

/// Rocket's figment with `toml` (profiles nested) and `profile` selected.
fn figment(toml: &str, profile: &str) -> Figment {
    rocket::Config::figment()
        .merge(Toml::string(toml).nested())
        .merge(("log_level", "debug"))
        .select(profile)
}

const SECRET: &str = "security-config-test-secret-0123456789abcdef";

/// Whether `rocket` launches (a refused launch's error is inspected, so it does not panic).
async fn launches(rocket: rocket::Rocket<rocket::Build>) -> bool {
    match Client::untracked(rocket).await {
        Ok(_) => true,
        Err(e) => {
            assert!(matches!(e.kind(), rocket::error::ErrorKind::FailedFairings(_)), "{e}");
            false
        }
    }
}

#[rocket::async_test]
async fn a_misspelled_session_table_aborts_launch_naming_both() {
    capture_logs();
    for (i, typo) in
        ["wristband_sesion", "Wristband_Sessions", "wristbandsession"].iter().enumerate()
    {
        let profile = format!("typo-session-{i}");
        let toml = format!("[{profile}.{typo}]\nsecrets = \"{SECRET}\"\nsecure = false\n");
        // The real table is valid, so the typo alone is what refuses the launch.
        let figment = figment(&toml, &profile)
            .merge(("wristband_session.secrets", SECRET))
            .merge(("wristband_session.secure", true));
        let rocket = rocket::custom(figment).attach(WristbandSession::fairing());
        assert!(!launches(rocket).await, "`{typo}` must not launch");
        let found = lines(Level::Error, &[typo, "wristband_session", "misspelling"]);
        assert!(!found.is_empty(), "no error names `{typo}` and `wristband_session`");
    }
}

#[rocket::async_test]
async fn a_misspelled_table_in_another_profile_or_a_distant_name_is_fine() {
    capture_logs();
    let toml = format!(
        "[other.wristband_sesion]\nsecure = false\n[far-names.wristband]\nx = 1\n\
         [far-names.wristband_session]\nsecrets = \"{SECRET}\"\n"
    );
    let rocket = rocket::custom(figment(&toml, "far-names")).attach(WristbandSession::fairing());
    assert!(launches(rocket).await);
}

#[rocket::async_test]
async fn insecure_cookies_outside_debug_launch_with_a_warning() {
    capture_logs();
    let toml = format!(
        "[plain-staging.wristband_session]\nsecrets = \"{SECRET}\"\nsecure = false\n\
         [debug.wristband_session]\nsecrets = \"{SECRET}\"\nsecure = false\n\
         [tls-staging.wristband_session]\nsecrets = \"{SECRET}\"\n"
    );
    for profile in ["plain-staging", "tls-staging", "debug"] {
        let rocket = rocket::custom(figment(&toml, profile)).attach(WristbandSession::fairing());
        assert!(launches(rocket).await, "{profile} launches");
    }
    let warned = lines(Level::Warn, &["secure = false", "plain-staging"]);
    assert_eq!(warned.len(), 1, "one warning for the insecure profile: {warned:?}");
    assert!(lines(Level::Warn, &["secure = false", "tls-staging"]).is_empty());
    assert!(lines(Level::Warn, &["secure = false", "`debug`: session"]).is_empty());
}

#[cfg(feature = "auth")]
mod auth {
    use super::*;
    use wristband_rocket_session::WristbandAuth;

    /// A valid `wristband_auth` table for `profile`, without `client_secret`.
    fn auth_table(profile: &str) -> String {
        format!(
            "[{profile}.wristband_session]\nsecrets = \"{SECRET}\"\n\
             [{profile}.wristband_auth]\nclient_id = \"cid\"\n\
             wristband_application_vanity_domain = \"app.example.com\"\n\
             auto_configure_enabled = false\n\
             login_url = \"https://app.example.com/auth/login\"\n\
             redirect_uri = \"https://app.example.com/auth/callback\"\n"
        )
    }

    fn app(figment: Figment) -> rocket::Rocket<rocket::Build> {
        rocket::custom(figment).attach(WristbandSession::fairing()).attach(WristbandAuth::fairing())
    }

    #[rocket::async_test]
    async fn a_misspelled_auth_table_aborts_launch_naming_both() {
        capture_logs();
        let profile = "typo-auth";
        let toml =
            format!("{}[{profile}.wristband_aut]\nclient_secret = \"x\"\n", auth_table(profile));
        let figment = figment(&toml, profile).merge(("wristband_auth.client_secret", "s3cret"));
        assert!(!launches(app(figment)).await);
        assert!(!lines(Level::Error, &["wristband_aut`", "`wristband_auth`"]).is_empty());
    }

    #[rocket::async_test]
    async fn disabled_secure_login_cookies_outside_debug_warn() {
        capture_logs();
        let profile = "auth-plain-staging";
        let toml = format!("{}dangerously_disable_secure_cookies = true\n", auth_table(profile));
        let figment = figment(&toml, profile).merge(("wristband_auth.client_secret", "s3cret"));
        assert!(launches(app(figment)).await);
        let warned = lines(Level::Warn, &["dangerously_disable_secure_cookies", profile]);
        assert_eq!(warned.len(), 1, "{warned:?}");
    }

    /// Writes `text` to a fresh file and returns its path.
    fn file(name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("wrs-security-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[rocket::async_test]
    async fn a_client_secret_in_a_file_is_refused_for_release() {
        capture_logs();
        let text = format!(
            "{}client_secret = \"from-the-file\"\n{}client_secret = \"from-the-file\"\n",
            auth_table("release"),
            auth_table("debug")
        );
        let path = file("Rocket.toml", &text);
        let from_file = |profile: &str| {
            rocket::Config::figment()
                .merge(Toml::file(&path).nested())
                .merge(("log_level", "debug"))
                .select(profile)
        };

        // release, secret from the file: refused, naming the key and the file, never the value.
        assert!(!launches(app(from_file("release"))).await);
        let refused = lines(Level::Error, &["client_secret", "Rocket.toml", "environment"]);
        assert!(!refused.is_empty(), "no error names client_secret and the file");
        assert!(refused.iter().all(|l| !l.contains("from-the-file")), "{refused:?}");

        // release, secret from the environment (here: merged in code, as the env provider
        // does): launches. debug, secret from the file: launches.
        // (The session's secrets too: a file secret is refused in `release` for them alike.)
        let env = from_file("release")
            .merge(("wristband_auth.client_secret", "from-the-env"))
            .merge(("wristband_session.secrets", SECRET));
        assert!(launches(app(env)).await, "a secret from elsewhere wins over the file's");
        assert!(launches(app(from_file("debug"))).await, "debug may keep it in the file");
    }
}

/// Session `secrets` read from a file in `release` abort launch, naming the key and the file
/// (never the value), as `client_secret` does; from the environment, or in `debug`, they are
/// fine.
#[rocket::async_test]
async fn session_secrets_in_a_file_are_refused_for_release() {
    capture_logs();
    let secret = "session-secret-in-the-file-0123456789abcdef";
    let dir = std::env::temp_dir().join(format!("wrs-session-file-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("Rocket.toml");
    std::fs::write(
        &path,
        format!(
            "[release.wristband_session]\nsecrets = \"{secret}\"\n\
             [debug.wristband_session]\nsecrets = \"{secret}\"\n"
        ),
    )
    .unwrap();
    let from_file = |profile: &str| {
        rocket::Config::figment()
            .merge(Toml::file(&path).nested())
            .merge(("log_level", "debug"))
            .select(profile)
    };
    let app = |figment: Figment| rocket::custom(figment).attach(WristbandSession::fairing());
    assert!(!launches(app(from_file("release"))).await, "release launched with a file secret");
    let refused = lines(Level::Error, &["secrets", "Rocket.toml", "ROCKET_WRISTBAND_SESSION"]);
    assert!(!refused.is_empty(), "no error names secrets and the file");
    assert!(refused.iter().all(|l| !l.contains(secret)), "{refused:?}");
    let env = from_file("release")
        .merge(("wristband_session.secrets", "session-secret-from-the-env-0123456789"));
    assert!(launches(app(env)).await, "a secret from elsewhere wins over the file's");
    assert!(launches(app(from_file("debug"))).await, "debug may keep it in the file");
}

/// One failure, one message (issue 27): a misspelled `wristband_auth` table is the only error
/// of a launch in the debug profile; the missing keys it causes, a "needs the session fairing"
/// from the other fairing and the random-secret warning (said only once launch succeeds) do
/// not precede or follow it. A misspelled session table likewise gets no error from the `auth`
/// fairing.
#[cfg(feature = "auth")]
#[rocket::async_test]
async fn a_misspelled_table_is_the_only_message_of_a_failed_launch() {
    use wristband_rocket_session::WristbandAuth;
    capture_logs();
    let app = |figment: Figment| {
        rocket::custom(figment).attach(WristbandSession::fairing()).attach(WristbandAuth::fairing())
    };
    // The auth table misspelled; no session secret (the debug profile makes one up).
    let toml = "[debug.wristband_ath]\nclient_id = \"cid\"\n";
    assert!(!launches(app(figment(toml, "debug"))).await);
    let errors = lines(Level::Error, &[]);
    assert!(errors.iter().any(|l| l.contains("wristband_ath") && l.contains("misspelling")));
    for noise in ["needs the session fairing", "vanity_domain", "client_secret"] {
        assert!(errors.iter().all(|l| !l.contains(noise)), "`{noise}` in {errors:#?}");
    }
    assert!(lines(Level::Warn, &["RANDOM"]).is_empty(), "a warning before the error");

    // The session table misspelled, a valid auth table: the session fairing alone speaks.
    let toml = "[debug.wristband_sesion]\nsecure = false\n\
                [debug.wristband_auth]\nclient_id = \"cid\"\nclient_secret = \"s\"\n\
                wristband_application_vanity_domain = \"app.example.com\"\n\
                auto_configure_enabled = false\n\
                login_url = \"https://app.example.com/auth/login\"\n\
                redirect_uri = \"https://app.example.com/auth/callback\"\n";
    assert!(!launches(app(figment(toml, "debug"))).await);
    let errors = lines(Level::Error, &[]);
    assert!(errors.iter().any(|l| l.contains("wristband_sesion")), "{errors:#?}");
    assert!(errors.iter().all(|l| !l.contains("WristbandAuth")), "{errors:#?}");

    // A good launch in the debug profile without a secret: the warning, once, at liftoff.
    let toml = "[debug.wristband_session]\nsecure = false\n";
    let good = rocket::custom(figment(toml, "debug")).attach(WristbandSession::fairing());
    assert!(launches(good).await);
    assert_eq!(lines(Level::Warn, &["RANDOM"]).len(), 1);
}

/// Security review, finding 5 (log forging): `error_description` (and every other
/// client-chosen value) reached the log raw, newlines included, so a callback URL could write
/// a forged log line. Now control characters are escaped: one record, on one line.
#[cfg(feature = "fake-wristband")]
mod log_forging {
    use super::*;
    use rocket::http::Status;
    use wristband_rocket_session::testing::FakeWristband;
    use wristband_rocket_session::{SessionOptions, WristbandAuth};

    #[rocket::async_test]
    async fn a_callback_error_description_cannot_forge_a_log_line() {
        capture_logs();
        let fake = FakeWristband::start().await;
        let session =
            SessionOptions { secrets: SECRET.into(), secure: false, ..SessionOptions::default() };
        let rocket = rocket::custom(rocket::Config::figment().merge(("log_level", "debug")))
            .attach(WristbandSession::custom(session))
            .attach(WristbandAuth::custom(fake.auth_options()))
            .mount("/auth", WristbandAuth::routes());
        let client = Client::untracked(rocket).await.unwrap();
        let login = client.get("/auth/login?tenant_name=acme").dispatch().await;
        let cookie =
            login.cookies().iter().find(|c| c.name().starts_with("login#")).unwrap().clone();
        let state = cookie.name().split('#').nth(1).unwrap().to_string();
        let marker = "FORGED-7d1c";
        let uri = format!(
            "/auth/callback?state={state}&tenant_name=acme&error=access_denied\
             &error_description=denied%0A%5BERROR%5D+{marker}+admin+logged+in%0D%1B%5B2J"
        );
        let response = client.get(uri).cookie(cookie).dispatch().await;
        assert_eq!(response.status(), Status::BadRequest);
        let records = lines(Level::Warn, &[marker]);
        assert_eq!(records.len(), 1, "{records:?}");
        let record = &records[0];
        assert!(
            !record.chars().any(char::is_control),
            "a control character was logged: {record:?}"
        );
        assert!(
            record.contains("denied\\n[ERROR] FORGED-7d1c admin logged in\\r\\u{1b}[2J"),
            "{record}"
        );
    }
}

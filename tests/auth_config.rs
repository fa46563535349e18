#![cfg(feature = "auth")]
//! The `wristband_auth` configuration through real Rocket instances: every key's rule and
//! default, all problems reported at once in the log (key, profile, fix; never a value), the
//! session fairing required (either attach order), `http` only for a loopback Wristband,
//! unknown keys, secret-free `Debug`, and every TOML snippet of the auth docs launching.

use figment::providers::{Format, Serialized, Toml};
use figment::{Figment, Provider};
use rocket::error::ErrorKind;
use rocket::fairing::Fairing;
use rocket::local::asynchronous::Client;
use rocket::{Build, Rocket};
use serde_json::{json, Value};
use wristband_rocket_session::{AuthOptions, WristbandAuth, WristbandScheme, WristbandSession};

const CLIENT_SECRET: &str = "auth-config-client-secret-0001-abcdefgh";
const LOGIN_STATE_SECRET: &str = "auth-config-login-state-secret-0002-ijkl";
const SESSION_SECRET: &str = "auth-config-session-secret-0003-mnopqrst";
const FAIRING: &str = "Wristband Auth";

#[allow(dead_code)] // not every test file reads every kind of line
#[path = "support/logs.rs"]
mod logs;
use logs::{install as install_logger, logged};

fn errors() -> Vec<String> {
    logged(Some(log::Level::Error))
}

fn assert_no_secret_logged() {
    for line in logged(None) {
        for secret in [CLIENT_SECRET, LOGIN_STATE_SECRET, SESSION_SECRET] {
            assert!(!line.contains(secret), "a secret was logged: {line}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Rocket helpers
// ---------------------------------------------------------------------------------------------

/// A valid `wristband_auth` table.
fn table() -> Value {
    json!({
        "client_id": "auth-config-client",
        "client_secret": CLIENT_SECRET,
        "wristband_application_vanity_domain": "myapp-myco.us.wristband.dev",
    })
}

/// `table` with `key` set to `value` (`Value::Null` removes it).
fn with(key: &str, value: Value) -> Value {
    let mut table = table();
    if value.is_null() {
        table.as_object_mut().unwrap().remove(key);
    } else {
        table[key] = value;
    }
    table
}

/// The repository's `Rocket.toml` in `profile`, a session secret, and `table` as the
/// `wristband_auth` table.
fn figment(profile: &str, table: Value) -> Figment {
    rocket::Config::figment()
        .merge(("wristband_session.secrets", SESSION_SECRET))
        .merge(Serialized::global("wristband_auth", table))
        .select(profile)
}

fn app(profile: &str, table: Value) -> Rocket<Build> {
    install_logger();
    rocket::custom(figment(profile, table))
        .attach(WristbandSession::fairing())
        .attach(WristbandAuth::fairing())
}

async fn launches(rocket: Rocket<Build>) -> Result<Client, Vec<String>> {
    match Client::tracked(rocket).await {
        Ok(client) => Ok(client),
        Err(e) => match e.kind() {
            ErrorKind::FailedFairings(infos) => {
                Err(infos.iter().map(|i| i.name.to_string()).collect())
            }
            other => panic!("expected FailedFairings, got {other:?}"),
        },
    }
}

async fn assert_launches(rocket: Rocket<Build>) -> Client {
    match launches(rocket).await {
        Ok(client) => client,
        Err(failed) => panic!("launch failed: {failed:?}: {:#?}", errors()),
    }
}

/// Launch fails because of the auth fairing alone; the log names `wristband_auth.<key>` for
/// every key and the profile, and no secret.
async fn assert_rejected(rocket: Rocket<Build>, profile: &str, keys: &[&str]) {
    match launches(rocket).await {
        Ok(_) => panic!("launched although {keys:?} is invalid"),
        Err(failed) => assert_eq!(failed, [FAIRING], "{:#?}", errors()),
    }
    let errors = errors();
    for key in keys {
        let needle = format!("`wristband_auth.{key}`");
        assert!(errors.iter().any(|l| l.contains(&needle)), "no error names {needle}: {errors:#?}");
    }
    assert!(
        errors.iter().any(|l| l.contains(&format!("profile `{profile}`"))),
        "no error names the profile {profile}: {errors:#?}"
    );
    assert_no_secret_logged();
}

async fn assert_table_rejected(table: Value, key: &str) {
    assert_rejected(app("debug", table), "debug", &[key]).await;
}

// ---------------------------------------------------------------------------------------------
// Each key's rule, through the figment
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_valid_table_launches_in_debug_and_release() {
    for profile in ["debug", "release"] {
        assert_launches(app(profile, table())).await;
        assert_no_secret_logged();
    }
}

#[tokio::test]
async fn missing_table_fails_naming_the_required_keys() {
    install_logger();
    let figment = rocket::Config::figment()
        .select("release")
        .merge(("wristband_session.secrets", SESSION_SECRET));
    let rocket = rocket::custom(figment)
        .attach(WristbandSession::fairing())
        .attach(WristbandAuth::fairing());
    // Without `client_id` and `client_secret` it would be a bearer-only service: only the
    // vanity domain is required, and its message names the other two.
    assert_rejected(rocket, "release", &["wristband_application_vanity_domain"]).await;
    let errors = errors().join("\n");
    assert!(errors.contains("with `client_id` and `client_secret` too"), "{errors}");
}

#[tokio::test]
async fn client_id_must_not_be_blank() {
    assert_table_rejected(with("client_id", json!("   ")), "client_id").await;
    assert_table_rejected(with("client_id", Value::Null), "client_id").await;
}

#[tokio::test]
async fn client_secret_must_not_be_blank() {
    assert_table_rejected(with("client_secret", json!("")), "client_secret").await;
    assert_table_rejected(with("client_secret", Value::Null), "client_secret").await;
}

#[tokio::test]
async fn vanity_domain_is_a_host_and_optional_port() {
    let key = "wristband_application_vanity_domain";
    for bad in [
        "",
        "https://myapp-myco.us.wristband.dev",
        "myapp-myco.us.wristband.dev/",
        "myapp-myco.us.wristband.dev/api",
        "myapp-myco.us.wristband.dev:",
        "myapp-myco.us.wristband.dev:http",
        "my app.wristband.dev",
        "user@myapp.wristband.dev",
    ] {
        assert_table_rejected(with(key, json!(bad)), key).await;
    }
    for good in ["auth.example.com", "auth.example.com:8443", "localhost:6001", "[::1]:6001"] {
        assert_launches(app("debug", with(key, json!(good)))).await;
    }
}

#[tokio::test]
async fn login_state_secret_needs_32_characters() {
    let key = "login_state_secret";
    assert_table_rejected(with(key, json!("x".repeat(31))), key).await;
    assert_launches(app("debug", with(key, json!("x".repeat(32))))).await;
    assert_launches(app("debug", with(key, json!(LOGIN_STATE_SECRET)))).await;
    assert_no_secret_logged();
}

#[tokio::test]
async fn without_auto_configuration_login_url_and_redirect_uri_are_required() {
    let off = with("auto_configure_enabled", json!(false));
    assert_rejected(app("debug", off.clone()), "debug", &["login_url", "redirect_uri"]).await;
    let mut good = off.clone();
    good["login_url"] = json!("https://app.example.com/auth/login");
    good["redirect_uri"] = json!("https://app.example.com/auth/callback");
    assert_launches(app("debug", good.clone())).await;
    let mut blank = good.clone();
    blank["login_url"] = json!(" ");
    assert_table_rejected(blank, "login_url").await;
}

#[tokio::test]
async fn placeholders_follow_parse_tenant_from_root_domain_with_auto_configuration_off() {
    let mut subdomains = with("auto_configure_enabled", json!(false));
    subdomains["parse_tenant_from_root_domain"] = json!("app.example.com");
    subdomains["login_url"] = json!("https://{tenant_name}.app.example.com/auth/login");
    subdomains["redirect_uri"] = json!("https://{tenant_domain}.app.example.com/auth/callback");
    assert_launches(app("debug", subdomains.clone())).await;

    // Subdomains but a URL without a placeholder.
    let mut missing = subdomains.clone();
    missing["redirect_uri"] = json!("https://app.example.com/auth/callback");
    assert_table_rejected(missing, "redirect_uri").await;

    // A placeholder without subdomains.
    let mut stray = subdomains.clone();
    stray.as_object_mut().unwrap().remove("parse_tenant_from_root_domain");
    assert_rejected(app("debug", stray), "debug", &["login_url", "redirect_uri"]).await;
}

#[tokio::test]
async fn placeholders_are_checked_on_hand_given_urls_with_auto_configuration_on() {
    // Only one URL given by hand: only it is checked (the other comes from Wristband).
    let mut one = with("parse_tenant_from_root_domain", json!("app.example.com"));
    one["login_url"] = json!("https://{tenant_name}.app.example.com/auth/login");
    assert_launches(app("debug", one.clone())).await;
    one["login_url"] = json!("https://app.example.com/auth/login");
    assert_table_rejected(one, "login_url").await;
    let stray = with("redirect_uri", json!("https://{tenant_name}.app.example.com/cb"));
    assert_table_rejected(stray, "redirect_uri").await;
    // Neither given: nothing to check at launch.
    assert_launches(app("debug", with("parse_tenant_from_root_domain", json!("example.com"))))
        .await;
}

#[tokio::test]
async fn parse_tenant_from_root_domain_has_no_port() {
    let key = "parse_tenant_from_root_domain";
    assert_table_rejected(with(key, json!("app.example.com:443")), key).await;
    assert_table_rejected(with(key, json!("")), key).await;
}

#[tokio::test]
async fn scopes_must_not_be_empty() {
    assert_table_rejected(with("scopes", json!([])), "scopes").await;
    assert_table_rejected(with("scopes", json!(["openid", ""])), "scopes").await;
    assert_table_rejected(with("scopes", json!("openid email")), "scopes").await;
    assert_launches(app("debug", with("scopes", json!(["openid"])))).await;
}

#[tokio::test]
async fn token_expiration_buffer_is_not_negative() {
    let key = "token_expiration_buffer";
    assert_table_rejected(with(key, json!(-1)), key).await;
    assert_table_rejected(with(key, json!("60")), key).await;
    assert_launches(app("debug", with(key, json!(0)))).await;
}

#[tokio::test]
async fn http_scheme_only_for_a_loopback_wristband() {
    let key = "wristband_scheme";
    for far in ["auth.example.com", "localhost.example.com", "10.0.0.1:80", "[::2]:80"] {
        let mut table = with(key, json!("http"));
        table["wristband_application_vanity_domain"] = json!(far);
        assert_table_rejected(table, key).await;
    }
    for near in [
        "localhost",
        "localhost:6001",
        "tenant.localhost:6001",
        "127.0.0.1:6001",
        "127.1.2.3",
        "[::1]:6001",
    ] {
        let mut table = with(key, json!("HTTP"));
        table["wristband_application_vanity_domain"] = json!(near);
        assert_launches(app("debug", table)).await;
    }
    assert_table_rejected(with(key, json!("ftp")), key).await;
    assert_launches(app("release", with(key, json!("https")))).await;
}

#[tokio::test]
async fn auth_strategies_are_a_non_empty_list_without_repeats() {
    let key = "auth_strategies";
    assert_table_rejected(with(key, json!([])), key).await;
    assert_table_rejected(with(key, json!(["session", "SESSION"])), key).await;
    assert_table_rejected(with(key, json!(["cookie"])), key).await;
    for good in [json!(["session"]), json!(["jwt", "session"]), json!(["JWT"])] {
        assert_launches(app("debug", with(key, good))).await;
    }
}

#[tokio::test]
async fn boolean_and_optional_keys_are_typed() {
    for key in [
        "dangerously_disable_secure_cookies",
        "auto_configure_enabled",
        "is_application_custom_domain_active",
    ] {
        assert_table_rejected(with(key, json!("yes")), key).await;
        assert_launches(app("debug", with(key, json!(true)))).await;
    }
    let key = "custom_application_login_page_url";
    assert_table_rejected(with(key, json!(42)), key).await;
    assert_launches(app("debug", with(key, json!("https://app.example.com/login")))).await;
}

#[tokio::test]
async fn unknown_key_fails_listing_the_known_keys() {
    assert_table_rejected(with("client_secrte", json!(CLIENT_SECRET)), "client_secrte").await;
    let errors = errors();
    assert!(
        errors.iter().any(|l| l.contains("known options") && l.contains("client_secret")),
        "{errors:#?}"
    );
}

#[tokio::test]
async fn table_of_wrong_type_fails() {
    install_logger();
    let rocket = rocket::custom(
        rocket::Config::figment().merge(("wristband_auth", "client_id=x")).select("debug"),
    )
    .attach(WristbandSession::fairing())
    .attach(WristbandAuth::fairing());
    assert!(launches(rocket).await.is_err());
    assert!(errors().iter().any(|l| l.contains("`wristband_auth`")), "{:#?}", errors());
}

// ---------------------------------------------------------------------------------------------
// All problems at once, never a value
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_problem_is_reported_at_once_with_the_profile() {
    let table = json!({
        "client_id": "",
        "client_secret": CLIENT_SECRET,
        "wristband_application_vanity_domain": "https://auth.example.com/",
        "login_state_secret": "short",
        "scopes": [],
        "token_expiration_buffer": -5,
        "wristband_scheme": "http",
        "auth_strategies": [],
        "parse_tenant_from_root_domain": "example.com:443",
        "surprise": true,
    });
    let keys = [
        "client_id",
        "wristband_application_vanity_domain",
        "login_state_secret",
        "parse_tenant_from_root_domain",
        "scopes",
        "token_expiration_buffer",
        "wristband_scheme",
        "auth_strategies",
        "surprise",
    ];
    assert_rejected(app("release", table), "release", &keys).await;
    let errors = errors();
    assert!(errors.iter().any(|l| l.contains("(9 problems)")), "{errors:#?}");
}

#[tokio::test]
async fn a_secret_under_the_wrong_key_is_never_logged() {
    // A secret pasted where a number, a boolean, a list or a strategy is expected.
    for key in ["token_expiration_buffer", "auto_configure_enabled", "scopes", "wristband_scheme"] {
        assert_table_rejected(with(key, json!(CLIENT_SECRET)), key).await;
    }
    assert_table_rejected(with("auth_strategies", json!([CLIENT_SECRET])), "auth_strategies").await;
    // …and short secrets are not echoed either.
    assert_table_rejected(
        with("login_state_secret", json!(&LOGIN_STATE_SECRET[..20])),
        "login_state_secret",
    )
    .await;
    for line in logged(None) {
        assert!(!line.contains(&LOGIN_STATE_SECRET[..20]), "{line}");
    }
}

#[test]
fn debug_and_serialize_never_show_a_secret() {
    let options = AuthOptions {
        client_id: "auth-config-client".into(),
        client_secret: CLIENT_SECRET.into(),
        login_state_secret: Some(LOGIN_STATE_SECRET.into()),
        wristband_application_vanity_domain: "myapp-myco.us.wristband.dev".into(),
        ..AuthOptions::default()
    };
    let texts = [
        format!("{options:?}"),
        format!("{options:#?}"),
        serde_json::to_string(&options).unwrap(),
        options.validate().map(|_| String::new()).unwrap_or_default(),
    ];
    for text in texts {
        assert!(!text.contains(CLIENT_SECRET) && !text.contains(LOGIN_STATE_SECRET), "{text}");
    }
    assert!(format!("{options:?}").contains("auth-config-client"));
    let err =
        AuthOptions { token_expiration_buffer: -1, ..options.clone() }.validate().unwrap_err();
    assert!(!err.to_string().contains(CLIENT_SECRET));
    for problem in err.problems() {
        assert!(!problem.message.contains(CLIENT_SECRET));
    }
}

// ---------------------------------------------------------------------------------------------
// Defaults and deserialization
// ---------------------------------------------------------------------------------------------

#[test]
fn defaults_are_the_documented_ones() {
    let options: AuthOptions = serde_json::from_value(table()).unwrap();
    assert_eq!(options.login_state_secret, None);
    assert_eq!(options.login_url, None);
    assert_eq!(options.redirect_uri, None);
    assert_eq!(options.parse_tenant_from_root_domain, None);
    assert_eq!(options.is_application_custom_domain_active, None);
    assert_eq!(options.custom_application_login_page_url, None);
    assert!(!options.dangerously_disable_secure_cookies);
    assert_eq!(options.scopes, ["openid", "offline_access", "email"]);
    assert_eq!(options.token_expiration_buffer, 60);
    assert!(options.auto_configure_enabled);
    assert_eq!(options.wristband_scheme, WristbandScheme::Https);
    assert_eq!(serde_json::to_value(&options.auth_strategies).unwrap(), json!(["session"]));
    assert_eq!(
        options,
        AuthOptions {
            client_id: options.client_id.clone(),
            client_secret: CLIENT_SECRET.into(),
            wristband_application_vanity_domain: options
                .wristband_application_vanity_domain
                .clone(),
            ..AuthOptions::default()
        }
    );
    assert!(options.validate().is_ok());
}

#[test]
fn deserialize_accepts_the_toml_forms_and_refuses_unknown_keys() {
    let toml = r#"
        client_id = "id"
        client_secret = "secret"
        wristband_application_vanity_domain = "localhost:6001"
        wristband_scheme = "http"
        auth_strategies = ["JWT", "session"]
        scopes = ["openid"]
        token_expiration_buffer = 0
        is_application_custom_domain_active = false
    "#;
    let options: AuthOptions = Figment::from(Toml::string(toml)).extract().unwrap();
    assert_eq!(options.wristband_scheme, WristbandScheme::Http);
    assert_eq!(serde_json::to_value(&options.auth_strategies).unwrap(), json!(["jwt", "session"]));
    assert_eq!(options.is_application_custom_domain_active, Some(false));
    assert!(options.validate().is_ok());
    let typo = format!("{toml}\nclient_secrte = \"x\"\n");
    assert!(Figment::from(Toml::string(&typo)).extract::<AuthOptions>().is_err());
}

// ---------------------------------------------------------------------------------------------
// The session fairing is required; either attach order works
// ---------------------------------------------------------------------------------------------

fn options() -> AuthOptions {
    serde_json::from_value(table()).unwrap()
}

#[tokio::test]
async fn missing_session_fairing_aborts_launch() {
    for rocket in [
        rocket::custom(figment("debug", table())).attach(WristbandAuth::fairing()),
        rocket::custom(figment("debug", table())).attach(WristbandAuth::custom(options())),
    ] {
        install_logger();
        assert_eq!(launches(rocket).await.err().unwrap(), [FAIRING]);
        let errors = errors();
        assert!(
            errors
                .iter()
                .any(|l| l.contains("WristbandSession::fairing()") && l.contains("`debug`")),
            "{errors:#?}"
        );
    }
}

#[tokio::test]
async fn either_attach_order_works() {
    let session_first: Box<dyn Fn() -> Rocket<Build>> = Box::new(|| {
        rocket::custom(figment("release", table()))
            .attach(WristbandSession::fairing())
            .attach(WristbandAuth::custom(options()))
    });
    let auth_first: Box<dyn Fn() -> Rocket<Build>> = Box::new(|| {
        rocket::custom(figment("release", table()))
            .attach(WristbandAuth::custom(options()))
            .attach(WristbandSession::fairing())
    });
    for build in [session_first, auth_first] {
        install_logger();
        assert_launches(build()).await;
        assert!(errors().is_empty(), "{:#?}", errors());
    }
}

#[tokio::test]
async fn an_invalid_session_configuration_is_not_blamed_on_auth_alone() {
    install_logger();
    let figment = figment("release", table()).merge(("wristband_session.max_age", 0));
    let rocket = rocket::custom(figment)
        .attach(WristbandAuth::fairing())
        .attach(WristbandSession::fairing());
    let failed = launches(rocket).await.err().unwrap();
    assert!(failed.contains(&"Wristband Session".to_string()), "{failed:?}");
}

#[tokio::test]
async fn custom_options_are_validated_too() {
    install_logger();
    let bad = AuthOptions { scopes: vec![], ..options() };
    let rocket = rocket::custom(figment("debug", table()))
        .attach(WristbandSession::fairing())
        .attach(WristbandAuth::custom(bad));
    assert_rejected(rocket, "debug", &["scopes"]).await;
}

#[test]
fn the_fairing_is_named_wristband_auth() {
    assert_eq!(WristbandAuth::fairing().info().name, FAIRING);
}

#[tokio::test]
async fn launch_does_not_contact_wristband() {
    // Auto-configuration on, and a vanity domain where nothing listens: launch still succeeds
    // at once (the first login fetches the SDK configuration).
    let table = json!({
        "client_id": "c",
        "client_secret": CLIENT_SECRET,
        "wristband_application_vanity_domain": "127.0.0.1:9",
        "wristband_scheme": "http",
    });
    let started = std::time::Instant::now();
    assert_launches(app("debug", table)).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}

// ---------------------------------------------------------------------------------------------
// Every TOML snippet of the auth docs launches, and every key is exercised
// ---------------------------------------------------------------------------------------------

const SOURCES: &[(&str, &str)] = &[
    ("src/auth/fairing.rs", include_str!("../src/auth/fairing.rs")),
    ("src/auth/options.rs", include_str!("../src/auth/options.rs")),
    ("Rocket.toml", include_str!("../Rocket.toml")),
    ("docs/wristband-setup.md", include_str!("../docs/wristband-setup.md")),
];

/// The ```toml blocks of a doc-comment text (a `.toml` file is one block).
fn toml_blocks(source: &str, text: &str) -> Vec<String> {
    if source.ends_with(".toml") {
        return vec![text.to_string()];
    }
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line.trim_start();
        let line = ["//! ", "/// ", "//!", "///"]
            .iter()
            .find_map(|prefix| line.strip_prefix(prefix))
            .unwrap_or(line);
        match (&mut current, line.trim()) {
            (None, "```toml") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

/// A PEM file of one self-signed CA certificate, made once per run with `openssl`.
fn ca_file() -> String {
    static PATH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("auth-config-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert, key) = (dir.join("ca.pem"), dir.join("ca.key"));
        let status = std::process::Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj"])
            .arg("/CN=auth-config test CA")
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stderr(std::process::Stdio::null())
            .status()
            .expect("openssl runs");
        assert!(status.success());
        cert.to_string_lossy().into_owned()
    })
    .clone()
}

#[tokio::test]
async fn every_documented_toml_snippet_launches_in_debug_and_release() {
    let mut keys = Vec::new();
    for (source, text) in SOURCES {
        let blocks: Vec<String> = toml_blocks(source, text)
            .into_iter()
            .filter(|b| b.contains("wristband_auth"))
            .collect();
        assert!(!blocks.is_empty(), "{source} documents a wristband_auth table");
        for block in blocks {
            let data = Figment::from(Toml::string(&block).nested()).data().expect("TOML parses");
            for dict in data.values() {
                if let Some(table) = dict.get("wristband_auth").and_then(|t| t.as_dict()) {
                    keys.extend(table.keys().cloned());
                }
            }
            // The documented CA file, as a real PEM file.
            let block = block.replace("/etc/ssl/certs/corporate-proxy-ca.pem", &ca_file());
            for profile in ["debug", "release"] {
                install_logger();
                // What the snippet leaves to the environment, as the environment would.
                let figment = Figment::from(rocket::Config::default())
                    .merge(Toml::string(&block).nested())
                    .join(Serialized::default("wristband_auth.client_id", "from-the-environment"))
                    .join(Serialized::default("wristband_auth.client_secret", CLIENT_SECRET))
                    .join(Serialized::default(
                        "wristband_auth.wristband_application_vanity_domain",
                        "auth.example.com",
                    ))
                    .merge(("wristband_session.secrets", SESSION_SECRET))
                    .select(profile);
                let rocket = rocket::custom(figment)
                    .attach(WristbandSession::fairing())
                    .attach(WristbandAuth::fairing());
                if let Err(failed) = launches(rocket).await {
                    panic!("{source}, profile {profile}: {failed:?} {:#?}\n{block}", errors());
                }
            }
        }
    }
    keys.sort();
    keys.dedup();
    let mut all: Vec<String> = serde_json::to_value(AuthOptions::default())
        .unwrap()
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    all.sort();
    assert_eq!(keys, all, "the docs' TOML examples use every key of wristband_auth");
}

#[test]
fn the_option_table_lists_exactly_the_keys() {
    let fairing = include_str!("../src/auth/fairing.rs");
    let mut documented: Vec<String> = fairing
        .lines()
        .skip_while(|l| !l.contains("| key | type | default | rule |"))
        .skip(2)
        .take_while(|l| l.starts_with("/// | `"))
        .filter_map(|l| l.strip_prefix("/// | `")?.split('`').next().map(str::to_string))
        .collect();
    let mut all: Vec<String> = serde_json::to_value(AuthOptions::default())
        .unwrap()
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    documented.sort();
    all.sort();
    assert_eq!(documented, all);
}

#[tokio::test]
async fn a_misspelt_documented_key_would_be_caught() {
    install_logger();
    let figment = Figment::from(rocket::Config::default())
        .merge(Toml::string("[debug.wristband_auth]\nclient_idd = \"x\"\n").nested())
        .merge(Serialized::global("wristband_auth", table()))
        .merge(("wristband_session.secrets", SESSION_SECRET))
        .select("debug");
    let rocket = rocket::custom(figment)
        .attach(WristbandSession::fairing())
        .attach(WristbandAuth::fairing());
    assert!(launches(rocket).await.is_err());
}

#[tokio::test]
async fn wristband_ca_file_must_be_a_readable_pem_file() {
    let dir = std::env::temp_dir().join(format!("auth-config-bad-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let not_pem = dir.join("not.pem");
    std::fs::write(&not_pem, "not a certificate").unwrap();
    let missing = dir.join("missing.pem");
    for path in [not_pem.to_string_lossy(), missing.to_string_lossy(), "  ".into()] {
        assert_table_rejected(with("wristband_ca_file", json!(path)), "wristband_ca_file").await;
    }
    let ok = with("wristband_ca_file", json!(ca_file()));
    assert!(launches(app("debug", ok)).await.is_ok());
}

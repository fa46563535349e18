#![cfg(feature = "fake-wristband")]
//! `docs/wristband-setup.md` (and the README's short version, "Using a real Wristband
//! application"), checked against the crate, so that no key, command or log line on the page
//! can be wrong or go stale:
//!
//! - every ```` ```toml ```` block has a `wristband_auth` table, keeps secrets out, and launches
//!   through `WristbandSession` + `WristbandAuth` in the `debug` and `release` profiles (with
//!   what the page leaves to the environment given as the environment would);
//! - every backticked key name is a key of `wristband_auth` or `wristband_session`;
//! - every command (```` ```sh ````/```` ```console ```` blocks, and inline `cargo ...` and
//!   `ROCKET_...=` spans) is one this test knows how to check, else it fails: `cargo` commands
//!   name examples and features that exist (and the features the example requires),
//!   `./target/*/examples/<name>` paths were built by the block, environment variables are
//!   ones Rocket or the example reads, and each `ROCKET_WRISTBAND_AUTH` /
//!   `ROCKET_WRISTBAND_SESSION` value is a valid table: a command's whole environment launches
//!   the app in the command's profile;
//! - the `curl` commands run, with the machine's `curl`, against `testing::FakeWristband`
//!   playing the reader's Wristband application (its URL and client id put in for the
//!   placeholders), and print what the page shows;
//! - the example runs as the page says against that application (`wristband_scheme = "http"`
//!   added: the fake serves plain http on loopback), prints the line the page quotes, moves a
//!   login from `127.0.0.1` to the registered `localhost`, and logs the page's line when the
//!   client id is wrong (at the first login, or at launch with `preload_config = true`) and
//!   "Wristband could not be reached" when the vanity domain is.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use figment::providers::{Format, Serialized, Toml};
use figment::value::Value;
use figment::{Figment, Provider};
use reqwest::redirect::Policy;
use rocket::local::asynchronous::Client;
use serde_json::Value as Json;
use wristband_rocket_session::testing::FakeWristband;
use wristband_rocket_session::{AuthOptions, SessionOptions, WristbandAuth, WristbandSession};

const PAGE: &str = include_str!("../../docs/wristband-setup.md");
const README: &str = include_str!("../../README.md");
const CARGO_TOML: &str = include_str!("../../Cargo.toml");
const ROCKET_TOML: &str = include_str!("../../Rocket.toml");

/// What the placeholders of the page stand for in the launch checks.
const PLACEHOLDERS: &[(&str, &str)] = &[
    ("<client id>", "my-client-id"),
    ("<client secret>", "a-client-secret-from-the-dashboard"),
    ("<vanity domain>", "myapp-myco.us.wristband.dev"),
    ("<the secret gen_secret printed>", "0n3jHdQk3N6J0cV1m0Vv2rO8cQm2nQ9XfK1s7b4PqUo"),
];

/// Environment variables a command on the page may set: Rocket's, and the tables it reads.
const ENVIRONMENT: &[&str] = &[
    "ROCKET_PROFILE",
    "ROCKET_PORT",
    "ROCKET_LOG_LEVEL",
    "ROCKET_WRISTBAND_AUTH",
    "ROCKET_WRISTBAND_SESSION",
];

// ---------------------------------------------------------------------------------------------
// Reading the Markdown
// ---------------------------------------------------------------------------------------------

/// A fenced code block: its language and its text.
struct Block {
    lang: String,
    text: String,
}

/// The fenced blocks of `markdown`, and the text outside them.
fn blocks(markdown: &str) -> (Vec<Block>, String) {
    let (mut blocks, mut prose) = (Vec::new(), String::new());
    let mut current: Option<Block> = None;
    for line in markdown.lines() {
        let fence = line.trim_start().strip_prefix("```");
        match (&mut current, fence) {
            (None, Some(lang)) => {
                current = Some(Block { lang: lang.trim().into(), text: "".into() })
            }
            (Some(_), Some("")) => blocks.extend(current.take()),
            (Some(block), _) => {
                block.text.push_str(line);
                block.text.push('\n');
            }
            (None, None) => {
                prose.push_str(line);
                prose.push('\n');
            }
        }
    }
    assert!(current.is_none(), "an unclosed code block");
    (blocks, prose)
}

/// The inline code spans of `prose` (`` `x` `` or ``` `` x `` ```).
fn code_spans(prose: &str) -> Vec<String> {
    let mut spans = Vec::new();
    let mut rest = prose;
    while let Some(start) = rest.find('`') {
        let ticks = rest[start..].chars().take_while(|&c| c == '`').count();
        let fence = "`".repeat(ticks);
        let after = &rest[start + ticks..];
        let Some(end) = after.find(&fence) else { break };
        let span = &after[..end];
        spans.push(if ticks > 1 { span.trim() } else { span }.to_string());
        rest = &after[end + ticks..];
    }
    spans
}

/// The README's section on a real Wristband application.
fn readme_section() -> &'static str {
    let start = README.find("### Using a real Wristband application").expect("the section");
    let rest = &README[start..];
    let end = rest[4..].find("\n##").map_or(rest.len(), |e| e + 4);
    &rest[..end]
}

/// One shell command (continuation lines joined) and the output shown under it.
struct Shell {
    command: String,
    shown: Vec<String>,
    /// The nearest ```toml block above it in the same text: a `cargo run` of the reader's own
    /// app reads it as its `Rocket.toml`.
    toml_above: Option<String>,
    /// The other commands of its block, before it.
    before: Vec<String>,
}

fn quotes_open(text: &str) -> bool {
    text.matches('\'').count() % 2 == 1
}

/// The commands of `markdown`: `sh` blocks (every line), `console` blocks (`$ ` lines, with
/// the output under them), and inline spans that start with `cargo ` or assign `ROCKET_...=`.
fn shell_commands(markdown: &str) -> Vec<Shell> {
    let (blocks, prose) = blocks(markdown);
    let mut commands = Vec::new();
    let mut toml_above = None;
    for block in blocks {
        let console = match block.lang.as_str() {
            "toml" => {
                toml_above = Some(block.text.clone());
                continue;
            }
            "sh" | "bash" | "shell" => false,
            "console" => true,
            _ => continue,
        };
        let mut found: Vec<Shell> = Vec::new();
        let mut continuing = false;
        for line in block.text.lines() {
            if continuing {
                let last = found.last_mut().expect("a command");
                last.command.push('\n');
                last.command.push_str(line);
                continuing = quotes_open(&last.command) || line.ends_with('\\');
                continue;
            }
            let command = if console { line.strip_prefix("$ ") } else { Some(line) };
            match command {
                Some(c) if c.trim().is_empty() || c.trim_start().starts_with('#') => {}
                Some(c) => {
                    let before = found.iter().map(|s| s.command.clone()).collect();
                    found.push(Shell {
                        command: c.to_string(),
                        shown: Vec::new(),
                        toml_above: toml_above.clone(),
                        before,
                    });
                    continuing = quotes_open(c) || c.ends_with('\\');
                }
                None => found.last_mut().expect("output after a command").shown.push(line.into()),
            }
        }
        commands.extend(found);
    }
    for span in code_spans(&prose) {
        let assignment = span.starts_with("ROCKET_") && span.contains('=');
        if span.starts_with("cargo ") || assignment {
            commands.push(Shell { command: span, shown: vec![], toml_above: None, before: vec![] });
        }
    }
    commands
}

/// The words of a shell command, as `bash` would split them: quotes removed, `\`-newline
/// joined, a `#` word ending it. Anything this test could not check the way bash runs it
/// (expansions, pipes, redirections, `;`, `&`) fails the test: keep the page's commands
/// plain, or teach this test. A `<placeholder>` is one word.
fn shell_words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = command.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    w.push(c);
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' if matches!(chars.peek(), Some('"' | '\\' | '$' | '`')) => {
                            w.push(chars.next().unwrap())
                        }
                        '$' | '`' => panic!("an expansion in double quotes: {command}"),
                        c => w.push(c),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') | None => {}
                Some(c) => word.get_or_insert_with(String::new).push(c),
            },
            // A placeholder of the page, `<client id>`: one word, to be replaced by the reader.
            '<' => {
                let w = word.get_or_insert_with(String::new);
                w.push('<');
                for c in chars.by_ref() {
                    w.push(c);
                    if c == '>' {
                        break;
                    }
                }
            }
            '#' if word.is_none() => break,
            c if c.is_whitespace() => words.extend(word.take()),
            '$' | '`' | '|' | ';' | '&' | '>' | '(' | ')' => {
                panic!("`{c}` is not checked by tests/it/setup_doc.rs: {command}")
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

/// `text` with the page's placeholders replaced (a placeholder this test does not know fails).
fn filled(text: &str) -> String {
    let mut text = text.to_string();
    for (placeholder, value) in PLACEHOLDERS {
        text = text.replace(placeholder, value);
    }
    if let Some(at) = text.find('<') {
        let rest = &text[at..];
        assert!(!rest.contains('>'), "an unknown placeholder: {rest}");
    }
    text
}

// ---------------------------------------------------------------------------------------------
// Keys and launches
// ---------------------------------------------------------------------------------------------

fn keys_of(value: Json) -> Vec<String> {
    value.as_object().expect("an object").keys().cloned().collect()
}

fn auth_keys() -> Vec<String> {
    keys_of(serde_json::to_value(AuthOptions::default()).unwrap())
}

fn session_keys() -> Vec<String> {
    keys_of(serde_json::to_value(SessionOptions::default()).unwrap())
}

/// Whether `figment` launches with both fairings (the reason when not).
async fn launches(figment: Figment) -> Result<(), String> {
    let rocket = rocket::custom(figment)
        .attach(WristbandSession::fairing())
        .attach(WristbandAuth::fairing());
    match Client::untracked(rocket).await {
        Ok(_) => Ok(()),
        // Rocket's launch error must be looked at, or dropping it panics.
        Err(e) => Err(format!("{:?}", e.kind())),
    }
}

/// `toml` (a `Rocket.toml`) in `profile`, with `environment` merged over it as Rocket merges
/// `ROCKET_<TABLE>` variables (into every profile).
fn figment(toml: &str, environment: &[(&str, Value)], profile: &str) -> Figment {
    let mut figment = Figment::from(rocket::Config::default()).merge(Toml::string(toml).nested());
    for (table, value) in environment {
        figment = figment.merge(Serialized::global(table, value.clone()));
    }
    figment.select(profile)
}

/// The table that a `ROCKET_WRISTBAND_*` value (as written in the shell) gives.
fn environment_table(variable: &str, value: &str) -> Value {
    let value: Value = filled(value).parse().unwrap();
    let Some(dict) = value.as_dict() else { panic!("{variable} is not a table: {value:?}") };
    let keys = if variable == "ROCKET_WRISTBAND_AUTH" { auth_keys() } else { session_keys() };
    for key in dict.keys() {
        assert!(keys.contains(key), "{variable} sets `{key}`, which is no key of its table");
    }
    value
}

/// The ```toml blocks of `markdown`.
fn toml_blocks(markdown: &str) -> Vec<String> {
    blocks(markdown).0.into_iter().filter(|b| b.lang == "toml").map(|b| filled(&b.text)).collect()
}

#[tokio::test]
async fn every_toml_block_has_no_secret_and_launches_in_debug_and_release() {
    let page_blocks = toml_blocks(PAGE);
    assert!(page_blocks.len() >= 3, "the page's TOML blocks: {}", page_blocks.len());
    let mut keys = Vec::new();
    for block in page_blocks.iter().chain(&toml_blocks(readme_section())) {
        let data = Figment::from(Toml::string(block).nested()).data().expect("the TOML parses");
        let mut has_auth_table = false;
        for (profile, dict) in &data {
            if let Some(table) = dict.get("wristband_auth").and_then(|t| t.as_dict()) {
                has_auth_table = true;
                keys.extend(table.keys().cloned());
            }
            for table in ["wristband_auth", "wristband_session"] {
                let Some(table) = dict.get(table).and_then(|t| t.as_dict()) else { continue };
                for secret in ["client_secret", "secrets", "login_state_secret"] {
                    assert!(
                        !table.contains_key(secret),
                        "`{secret}` in profile {profile}: the page keeps secrets out of files\n{block}"
                    );
                }
            }
        }
        assert!(has_auth_table, "a TOML block without a wristband_auth table:\n{block}");
        // What the page leaves to the environment, as the environment gives it (a block
        // that sets them itself wins: `join`).
        let environment = rocket::figment::util::map! {
            "client_id" => "from-the-environment",
            "client_secret" => "the-client-secret-from-the-environment",
            "wristband_application_vanity_domain" => "myapp-myco.us.wristband.dev",
        };
        for profile in ["debug", "release"] {
            let figment = Figment::from(rocket::Config::default())
                .merge(Toml::string(block).nested())
                .join(Serialized::global("wristband_auth", &environment))
                .merge(Serialized::global(
                    "wristband_session.secrets",
                    ["a-session-secret-from-the-environment-0123456789"],
                ))
                .select(profile);
            if let Err(why) = launches(figment).await {
                panic!("profile {profile}: {why}\n{block}");
            }
        }
    }
    for key in ["client_id", "wristband_application_vanity_domain", "login_url", "scopes"] {
        assert!(keys.iter().any(|k| k == key), "no TOML block sets `{key}`: {keys:?}");
    }
}

#[tokio::test]
async fn a_block_without_what_the_environment_gives_does_not_launch() {
    // The control of the test above: the page's `Rocket.toml` for an app of one's own needs
    // the client secret from the environment, and `release` the session secret too.
    let block = toml_blocks(PAGE)
        .into_iter()
        .find(|b| b.contains("[release.wristband_session]"))
        .expect("the page's Rocket.toml");
    assert!(launches(figment(&block, &[], "release")).await.is_err());
    let secret: Value = "{client_secret=\"s\"}".parse().unwrap();
    let with_secret = [("wristband_auth", secret)];
    assert!(launches(figment(&block, &with_secret, "release")).await.is_err(), "no session secret");
    assert!(launches(figment(&block, &with_secret, "debug")).await.is_ok());
}

#[test]
fn every_backticked_key_is_a_key() {
    let (auth, session) = (auth_keys(), session_keys());
    // Backticked snake_case words on the page that are not configuration keys.
    let other = [
        "wristband_auth",
        "wristband_session",
        "wristband_app",
        "gen_secret",
        "offline_access",
        "tenant_name",
        "tenant_domain",
        "tenant_custom_domain",
        "expires_in",
        "fake_wristband",
    ];
    let mut checked = 0;
    for text in [PAGE, readme_section()] {
        for span in code_spans(&blocks(text).1) {
            let name = span.split(" = ").next().unwrap_or_default().trim();
            let table_key = |prefix: &str| name.strip_prefix(prefix).map(str::to_string);
            if let Some(key) = table_key("wristband_auth.") {
                assert!(auth.contains(&key), "`{span}`: no key `{key}` in wristband_auth");
            } else if let Some(key) = table_key("wristband_session.") {
                assert!(session.contains(&key), "`{span}`: no key `{key}` in wristband_session");
            } else if name.contains('_')
                && name.chars().all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
            {
                let known = auth.iter().chain(&session).any(|k| k == name) || other.contains(&name);
                assert!(known, "`{span}`: not a key of wristband_auth or wristband_session");
            } else {
                continue;
            }
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} key names checked");
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

/// `(name, required features)` of each example in Cargo.toml (`[[example]]` tables), plus
/// every file in examples/ (no required features unless listed).
fn examples() -> Vec<(String, Vec<String>)> {
    let cargo = Figment::from(Toml::string(CARGO_TOML));
    let listed: Vec<Json> = cargo.extract_inner("example").unwrap_or_default();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut examples = Vec::new();
    for entry in std::fs::read_dir(dir).expect("examples/") {
        let path = entry.unwrap().path();
        let Some(name) = path.file_stem().and_then(|n| n.to_str()) else { continue };
        let required = listed
            .iter()
            .find(|e| e["name"] == name)
            .and_then(|e| e["required-features"].as_array().cloned())
            .unwrap_or_default();
        let required = required.iter().filter_map(|f| f.as_str().map(String::from)).collect();
        examples.push((name.to_string(), required));
    }
    examples
}

fn features() -> Vec<String> {
    let cargo = Figment::from(Toml::string(CARGO_TOML));
    let features: Json = cargo.extract_inner("features").expect("[features]");
    keys_of(features)
}

/// What a command is, once checked.
#[derive(Debug, PartialEq)]
enum Checked {
    /// Runs an example (from `cargo run --example` or its built binary).
    Example(String),
    /// Runs the reader's own app (`cargo run`).
    OwnApp,
    /// Builds an example, or the docs: nothing runs.
    Build,
    /// A `curl` command: run by `the_curl_commands_print_what_the_page_shows`.
    Curl,
    /// Only sets variables.
    Assignment,
}

/// Checks `cargo` arguments: the subcommand, the example and its required features.
fn check_cargo(args: &[String], command: &str) -> Checked {
    let (examples, features) = (examples(), features());
    let subcommand = args.first().map(String::as_str).unwrap_or_default();
    assert!(["run", "build", "doc"].contains(&subcommand), "cargo {subcommand}?\n{command}");
    let (mut example, mut given) = (None, Vec::new());
    let mut args = args[1..].iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--example" => example = args.next().cloned(),
            "--features" => {
                let list = args.next().expect("features after --features");
                given.extend(list.split(',').map(String::from));
            }
            "--release" | "-q" | "--quiet" | "--open" => {}
            other => panic!("`{other}` is not checked by tests/it/setup_doc.rs:\n{command}"),
        }
    }
    for feature in &given {
        assert!(features.contains(feature), "no feature `{feature}` in Cargo.toml:\n{command}");
    }
    let Some(example) = example else {
        return if subcommand == "run" { Checked::OwnApp } else { Checked::Build };
    };
    let Some((_, required)) = examples.iter().find(|(name, _)| *name == example) else {
        panic!("no example `{example}`:\n{command}");
    };
    for feature in required {
        // `fake-wristband` implies `auth`; nothing else is implied.
        let implied = feature == "auth" && given.iter().any(|f| f == "fake-wristband");
        assert!(
            given.contains(feature) || implied,
            "`{example}` needs --features {feature}:\n{command}"
        );
    }
    if subcommand == "run" {
        Checked::Example(example)
    } else {
        Checked::Build
    }
}

/// Checks one command: its variables, its program and arguments; launches the app with the
/// command's environment when it runs one.
async fn check_command(shell: &Shell) -> Checked {
    let words = shell_words(&shell.command);
    let mut environment: Vec<(&str, Value)> = Vec::new();
    let mut profile = "debug".to_string();
    let mut rest = words.as_slice();
    while let Some((name, value)) = rest.first().and_then(|w| w.split_once('=')) {
        if !name.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
            break;
        }
        assert!(ENVIRONMENT.contains(&name), "`{name}` is not read by the app: {}", shell.command);
        match name {
            "ROCKET_PROFILE" => profile = value.to_string(),
            "ROCKET_WRISTBAND_AUTH" => {
                environment.push(("wristband_auth", environment_table(name, value)))
            }
            "ROCKET_WRISTBAND_SESSION" => {
                environment.push(("wristband_session", environment_table(name, value)))
            }
            _ => {}
        }
        rest = &rest[1..];
    }
    let Some((program, args)) = rest.split_first() else { return Checked::Assignment };
    let checked = match program.as_str() {
        "cargo" => check_cargo(args, &shell.command),
        "curl" => Checked::Curl,
        path if path.starts_with("./target/") => {
            let name = path.rsplit('/').next().unwrap_or_default().to_string();
            let built = shell.before.iter().any(|before| {
                let words = shell_words(before);
                words.starts_with(&["cargo".into(), "build".into()])
                    && words.windows(2).any(|w| w[0] == "--example" && w[1] == name)
                    && (path.contains("/release/") == words.contains(&"--release".to_string()))
            });
            assert!(built, "nothing in the block builds {path}:\n{}", shell.command);
            Checked::Example(name)
        }
        other => panic!("`{other}` is not checked by tests/it/setup_doc.rs:\n{}", shell.command),
    };
    // What runs gets the command's environment over the `Rocket.toml` it reads.
    let toml = match &checked {
        // The example that signs in reads this repository's Rocket.toml (gen_secret reads
        // nothing).
        Checked::Example(name) if name == "wristband_app" => Some(ROCKET_TOML.to_string()),
        Checked::OwnApp => Some(filled(shell.toml_above.as_deref().expect("a Rocket.toml above"))),
        _ => None,
    };
    if let Some(toml) = toml
        && let Err(why) = launches(figment(&toml, &environment, &profile)).await
    {
        panic!("does not launch in profile {profile}: {why}\n{}", shell.command);
    }
    checked
}

#[tokio::test]
async fn every_command_names_what_exists_and_its_environment_launches() {
    let mut seen = Vec::new();
    for text in [PAGE, readme_section()] {
        for shell in shell_commands(text) {
            seen.push(check_command(&shell).await);
        }
    }
    println!("checked: {seen:?}");
    let examples = seen.iter().filter(|c| **c == Checked::Example("wristband_app".into())).count();
    assert!(examples >= 4, "runs of the example checked: {examples}\n{seen:?}");
    for kind in [Checked::OwnApp, Checked::Build, Checked::Curl, Checked::Assignment] {
        assert!(seen.contains(&kind), "no command of kind {kind:?}: {seen:?}");
    }
}

/// A release build shown by the page or the README is the build to deploy: it leaves the
/// feature `fake-wristband` out, so the fake (which signs anyone in) is not compiled in, and
/// the example it builds needs no more than `auth`.
#[test]
fn release_builds_shown_leave_the_fake_wristband_out() {
    let mut release_builds = 0;
    for text in [PAGE, readme_section()] {
        for shell in shell_commands(text) {
            let words = shell_words(&shell.command);
            if !(words.starts_with(&["cargo".into(), "build".into()])
                && words.contains(&"--release".to_string()))
            {
                continue;
            }
            release_builds += 1;
            let features: Vec<&str> = words
                .windows(2)
                .filter(|w| w[0] == "--features")
                .flat_map(|w| w[1].split(','))
                .collect();
            assert!(!features.contains(&"fake-wristband"), "{}", shell.command);
            if let Some(w) = words.windows(2).find(|w| w[0] == "--example") {
                let required = examples().into_iter().find(|(name, _)| *name == w[1]).unwrap().1;
                assert!(
                    required.iter().all(|f| features.contains(&f.as_str())),
                    "`{}` requires {required:?}: {}",
                    w[1],
                    shell.command
                );
            }
        }
    }
    assert!(release_builds >= 2, "release builds shown: {release_builds}");
}

#[test]
fn the_command_checks_can_fail() {
    let shell = |command: &str| Shell {
        command: command.into(),
        shown: vec![],
        toml_above: None,
        before: vec![],
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for wrong in [
        "cargo run --example wristband_ap --features fake-wristband",
        "cargo run --example wristband_app --features fake-wristbnd",
        "cargo run --example wristband_app",
        "ROCKET_WRISTBAND_AUHT='{client_id=\"x\"}' cargo run",
        "ROCKET_WRISTBAND_AUTH='{client_idd=\"x\"}' cargo run",
        "ROCKET_PROFILE=release ROCKET_WRISTBAND_AUTH='{client_id=\"<client id>\", \
         client_secret=\"<client secret>\", wristband_application_vanity_domain=\"<vanity \
         domain>\"}' cargo run --example wristband_app --features fake-wristband",
        "./target/release/examples/wristband_app",
        "rm -rf target",
        "curl $URL",
    ] {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            runtime.block_on(check_command(&shell(wrong)))
        }));
        assert!(outcome.is_err(), "accepted: {wrong}");
    }
}

// ---------------------------------------------------------------------------------------------
// Running the page's commands against a fake Wristband
// ---------------------------------------------------------------------------------------------

/// `words` with the page's Wristband placeholders pointed at `fake`.
fn at_fake(words: &[String], fake: &FakeWristband, client_id: &str) -> Vec<String> {
    words
        .iter()
        .map(|w| {
            w.replace("https://<vanity domain>", &fake.local_url())
                .replace("<vanity domain>", &fake.vanity_domain())
                .replace("<client id>", client_id)
                .replace("<client secret>", fake.client_secret())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_curl_commands_print_what_the_page_shows() {
    let fake = FakeWristband::start().await;
    // The fields the fake answers with, as Wristband does (reference §1.3).
    let fields = keys_of(fake.sdk_configuration());
    let mut ran = 0;
    for shell in shell_commands(PAGE).into_iter().filter(|s| s.command.starts_with("curl ")) {
        assert!(!shell.shown.is_empty(), "the page shows what `{}` prints", shell.command);
        let shown = shell.shown.join("\n");
        let shown_json = serde_json::from_str::<Json>(&shown).ok().filter(Json::is_object);
        if let Some(json) = &shown_json {
            // The page's answer has Wristband's fields; the fake plays that application.
            let mut shown_fields = keys_of(json.clone());
            shown_fields.sort();
            let mut expected = fields.clone();
            expected.sort();
            assert_eq!(shown_fields, expected, "the fields of the SDK configuration");
            fake.set_sdk_configuration(json.clone());
        }
        let words = at_fake(&shell_words(&shell.command), &fake, fake.client_id());
        let output = tokio::process::Command::new("curl")
            .args(&words[1..])
            .output()
            .await
            .expect("curl runs");
        let printed = String::from_utf8_lossy(&output.stdout).trim().to_string();
        match &shown_json {
            Some(json) => assert_eq!(
                serde_json::from_str::<Json>(&printed).ok().as_ref(),
                Some(json),
                "{}\nprinted: {printed}",
                shell.command
            ),
            None => assert_eq!(printed, shown, "{}", shell.command),
        }
        ran += 1;
    }
    assert!(ran >= 2, "curl commands run: {ran}");
}

fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a free port");
    listener.local_addr().unwrap().port()
}

fn listening(port: u16) -> bool {
    TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, port).into(), Duration::from_millis(200))
        .is_ok()
}

/// The `wristband_app` example, built now (as the page's command builds it).
fn wristband_app() -> PathBuf {
    crate::support::examples::built("wristband_app", &["fake-wristband"])
}

/// The example, running with `ROCKET_WRISTBAND_AUTH` = `auth`; killed when dropped.
struct Example {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Example {
    async fn start(binary: &Path, auth: &str) -> Example {
        let mut example = Example::spawn(binary, auth);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !listening(example.port) {
            let exited = example.child.try_wait().unwrap();
            assert!(exited.is_none(), "the example exited: {exited:?}\n{}", example.log());
            assert!(Instant::now() < deadline, "the example did not listen\n{}", example.log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        example
    }

    /// Runs the example until it exits, which it must do before listening: its log.
    async fn exits_before_listening(binary: &Path, auth: &str) -> String {
        let mut example = Example::spawn(binary, auth);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            assert!(!listening(example.port), "the example listens\n{}", example.log());
            if let Some(status) = example.child.try_wait().unwrap() {
                assert!(!status.success(), "{status}\n{}", example.log());
                return example.log();
            }
            assert!(Instant::now() < deadline, "the example did not exit\n{}", example.log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn spawn(binary: &Path, auth: &str) -> Example {
        let port = free_port();
        let log = std::env::temp_dir().join(format!("setup-doc-{}-{port}.log", std::process::id()));
        let file = std::fs::File::create(&log).expect("the example's log");
        let child = Command::new(binary)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("ROCKET_WRISTBAND_SESSION")
            .env_remove("ROCKET_CONFIG")
            .env("ROCKET_PROFILE", "debug")
            .env("ROCKET_ADDRESS", "127.0.0.1")
            .env("ROCKET_PORT", port.to_string())
            .env("ROCKET_CLI_COLORS", "false")
            .env("ROCKET_WRISTBAND_AUTH", auth)
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("start the example");
        Example { child, port, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `GET` without following redirects: the status and the `Location` header.
    async fn get(&self, host: &str, path: &str) -> (u16, String) {
        let http = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
        let url = format!("http://{host}:{}{path}", self.port);
        let response = http.get(url).send().await.expect("the example answers");
        let location = response.headers().get("location").map(|l| l.to_str().unwrap().to_string());
        (response.status().as_u16(), location.unwrap_or_default())
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// The page's `ROCKET_WRISTBAND_AUTH` value for running the example in `debug`.
fn page_example_environment() -> String {
    let shell = shell_commands(PAGE)
        .into_iter()
        .find(|s| {
            s.command.contains("--example wristband_app")
                && s.command.starts_with("ROCKET_WRISTBAND_AUTH=")
        })
        .expect("the page runs the example with ROCKET_WRISTBAND_AUTH");
    let words = shell_words(&shell.command);
    words[0].strip_prefix("ROCKET_WRISTBAND_AUTH=").unwrap().to_string()
}

/// `value` (a `{...}` table as the shell passes it) pointed at `fake`, with `client_id`, and
/// `wristband_scheme = "http"` (the fake is plain http on loopback).
fn example_environment(value: &str, fake: &FakeWristband, client_id: &str) -> String {
    let value = at_fake(&[value.to_string()], fake, client_id).remove(0);
    let value = value.strip_suffix('}').expect("a table");
    format!("{value}, wristband_scheme=\"http\"}}")
}

/// The ``...`` span after `after` on the page.
fn quoted_after(after: &str) -> String {
    let at = PAGE.find(after).unwrap_or_else(|| panic!("`{after}` on the page"));
    code_spans(&PAGE[at..]).into_iter().next().expect("a quoted line")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_runs_against_a_configured_application_as_the_page_says() {
    let binary = wristband_app();
    let fake = FakeWristband::start().await;
    let value = page_example_environment();

    // The application as registered: login URL and redirect URI on `localhost`.
    let mut example =
        Example::start(&binary, &example_environment(&value, &fake, fake.client_id())).await;
    let port = example.port;
    fake.set_app_urls(
        &format!("http://localhost:{port}/auth/login"),
        &format!("http://localhost:{port}/auth/callback"),
    );
    let printed = quoted_after("It prints");
    assert!(printed.starts_with("Signing in with the Wristband application"), "{printed}");
    assert!(
        example.log().lines().any(|l| l.trim() == printed),
        "not printed: {printed}\n{}",
        example.log()
    );

    // A login names its tenant: to the tenant's authorize page at that application.
    let (status, location) = example.get("localhost", "/auth/login?tenant_name=acme").await;
    assert_eq!(status, 302, "{}", example.log());
    let authorize = format!("{}/api/v1/oauth2/authorize?", fake.tenant_url("acme"));
    assert!(location.starts_with(&authorize), "{location}");
    let redirect_uri = format!("redirect_uri=http%3A%2F%2Flocalhost%3A{port}%2Fauth%2Fcallback");
    assert!(location.contains(&redirect_uri), "{location}");
    // A login on 127.0.0.1 first moves to the registered host.
    let (status, location) = example.get("127.0.0.1", "/auth/login?tenant_name=acme").await;
    assert_eq!(
        (status, location.as_str()),
        (302, &*format!("http://localhost:{port}/auth/login?tenant_name=acme"))
    );
    // Without a tenant: Wristband's application-level login page (tenant discovery).
    let (status, location) = example.get("localhost", "/auth/login").await;
    assert_eq!(status, 302);
    assert!(location.starts_with(&format!("{}/login?client_id=", fake.local_url())), "{location}");
    drop(example);

    // A wrong client id: the first login answers 500 and the log says what the page says.
    example = Example::start(&binary, &example_environment(&value, &fake, "not-a-client-id")).await;
    let (status, _) = example.get("localhost", "/auth/login?tenant_name=acme").await;
    assert_eq!(status, 500);
    let quoted = blocks(PAGE)
        .0
        .into_iter()
        .find(|b| b.lang == "text" && b.text.contains("SDK auto-configuration failed"))
        .expect("the page quotes the log line");
    let expected = at_fake(&[quoted.text.trim().to_string()], &fake, "not-a-client-id").remove(0);
    let log = example.log();
    assert!(log.lines().any(|l| l.contains(&expected)), "not logged: {expected}\n{log}");
    drop(example);

    // The same with `preload_config = true`: launch aborts, with the same diagnosis.
    assert!(PAGE.contains("`preload_config = true`"));
    let wrong = example_environment(&value, &fake, "not-a-client-id");
    let preloading = format!("{}, preload_config=true}}", wrong.strip_suffix('}').unwrap());
    let log = Example::exits_before_listening(&binary, &preloading).await;
    let diagnosis = &expected[expected.find("GET ").expect("the URL fetched")..];
    assert!(log.lines().any(|l| l.contains(diagnosis)), "not logged: {diagnosis}\n{log}");

    // A vanity domain that cannot be reached (a closed port on loopback).
    let closed = format!("localhost:{}", free_port());
    let unreachable = example_environment(&value, &fake, fake.client_id())
        .replace(&fake.vanity_domain(), &closed);
    example = Example::start(&binary, &unreachable).await;
    let (status, _) = example.get("localhost", "/auth/login?tenant_name=acme").await;
    assert_eq!(status, 500);
    assert!(PAGE.contains("\"Wristband could not be reached\""));
    let log = example.log();
    assert!(log.contains("Wristband could not be reached"), "{log}");
}

//! Every TOML snippet in the docs (crate docs, `SessionOptions` docs, README, the repository's
//! Rocket.toml) loads through the fairing, so no documented key can be misspelt or stale; and
//! the crate docs' option table lists exactly the keys `SessionOptions` has.

use rocket::figment::providers::{Format, Toml};
use rocket::figment::{Figment, Provider};
use rocket::local::asynchronous::Client;
use wristband_rocket_session::{SessionOptions, WristbandSession};

const SOURCES: &[(&str, &str)] = &[
    ("src/lib.rs", include_str!("../../src/lib.rs")),
    ("src/session/options.rs", include_str!("../../src/session/options.rs")),
    ("README.md", include_str!("../../README.md")),
];

/// The ```toml blocks of a Markdown or doc-comment text, with `//!`/`///` prefixes removed.
fn toml_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line.trim_start();
        let line = ["//! ", "/// ", "//!", "///"]
            .iter()
            .find_map(|prefix| line.strip_prefix(prefix))
            .unwrap_or(line)
            .trim_start();
        match (&mut current, line) {
            (None, "```toml") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), line) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

/// The keys each profile's `wristband_session` table sets in `toml`.
fn session_keys(toml: &str) -> Vec<String> {
    let data = Figment::from(Toml::string(toml).nested()).data().expect("documented TOML parses");
    let mut keys = Vec::new();
    for dict in data.values() {
        if let Some(table) = dict.get("wristband_session").and_then(|t| t.as_dict()) {
            keys.extend(table.keys().cloned());
        }
    }
    keys
}

async fn launches(toml: &str, profile: &str) -> bool {
    let figment = Figment::from(rocket::Config::default())
        .merge(Toml::string(toml).nested())
        .merge(("wristband_session.secrets", "a-documented-secret-of-32-characters!!"))
        .select(profile);
    let rocket = rocket::custom(figment).attach(WristbandSession::fairing());
    match Client::untracked(rocket).await {
        Ok(_) => true,
        // Rocket's launch error must be looked at, or dropping it panics.
        Err(e) => {
            let _ = e.kind();
            false
        }
    }
}

#[rocket::async_test]
async fn every_documented_toml_snippet_loads_in_every_profile() {
    let mut checked_keys = Vec::new();
    for (source, text) in SOURCES {
        let blocks: Vec<String> =
            toml_blocks(text).into_iter().filter(|b| b.contains("wristband_session")).collect();
        assert!(!blocks.is_empty(), "{source} documents a wristband_session table");
        for block in blocks {
            for profile in ["debug", "release"] {
                assert!(launches(&block, profile).await, "{source}, profile {profile}:\n{block}");
            }
            checked_keys.extend(session_keys(&block));
        }
    }
    let rocket_toml = include_str!("../../Rocket.toml");
    for profile in ["debug", "release"] {
        assert!(launches(rocket_toml, profile).await, "Rocket.toml, profile {profile}");
    }
    checked_keys.extend(session_keys(rocket_toml));
    assert!(checked_keys.iter().any(|k| k == "secure"), "{checked_keys:?}");
}

#[rocket::async_test]
async fn a_misspelt_key_would_be_caught() {
    // The check above can fail: a snippet with a typo does not launch.
    assert!(!launches("[default.wristband_session]\nmax_agee = 10\n", "debug").await);
}

#[test]
fn crate_docs_table_lists_exactly_the_options() {
    let lib = include_str!("../../src/lib.rs");
    let documented: Vec<String> = lib
        .lines()
        .skip_while(|l| !l.contains("| key | type | default |"))
        .skip(2)
        .take_while(|l| l.starts_with("//! |"))
        .filter_map(|l| l.strip_prefix("//! | `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect();
    let options = serde_json::to_value(SessionOptions::default()).unwrap();
    let mut fields: Vec<String> = options.as_object().unwrap().keys().cloned().collect();
    let mut table = documented;
    table.sort();
    fields.sort();
    assert_eq!(table, fields, "the crate docs' configuration table and SessionOptions differ");
}

//! Every integration test that can share a process, as modules of one test crate: one
//! executable per feature combination instead of one per file, so a test run compiles and
//! links once. A test that needs environment variables of its own reruns itself in a child
//! process of this executable (`support/child_env.rs`). Tests that need the whole process stay
//! in `tests/*.rs`: those that install a capturing logger before any Rocket is built, or count
//! something once per process.

#[macro_use]
extern crate rocket;

#[allow(dead_code)] // each feature combination uses some of the helpers
#[path = "../support/mod.rs"]
mod support;

/// The examples the tests drive in process (each `main` is not called here).
#[allow(dead_code)]
#[path = "../../examples/auth_flow.rs"]
mod auth_flow;
#[cfg(feature = "auth")]
#[allow(dead_code)]
#[path = "../../examples/wristband_app.rs"]
mod wristband_app;

#[cfg(feature = "fake-wristband")]
#[allow(dead_code)]
#[path = "browser/chromium.rs"]
mod chromium;
/// The real-browser tests' WebDriver client and Chromium launcher.
#[allow(dead_code)] // each browser test uses part of them
#[path = "browser/webdriver.rs"]
mod webdriver;

mod auth;
mod auth_callback;
mod auth_config_env;
mod auth_jwt;
mod auth_jwt_security;
mod auth_login;
mod auth_logout;
mod auth_refresh;
mod auth_tcp;
mod bad_cookies;
mod bench_summary;
mod browser;
mod browser_wristband;
mod cluster;
mod config_env;
mod cookie_format;
mod csrf_methods;
mod doc_toml;
mod example_gate;
mod example_logout;
mod example_wristband_app;
mod fake_devtool;
mod fake_keys;
mod fake_logout;
mod fake_pages;
mod fake_wristband;
mod fleet;
mod fleet_auth;
mod fleet_refresh;
mod hardening;
mod id_token;
mod lifecycle;
mod load;
mod login_host;
mod logout_sealed;
mod open_cache;
mod package_links;
mod profiles;
mod properties;
mod proxy_env;
mod readme;
mod revocation;
mod revocation_logout;
mod revocation_off;
mod revocation_security;
mod security_doc;
mod security_tenant_domains;
mod sentinel;
mod sentinel_refresh;
mod setup_doc;
mod standin_flows;
mod tamper;
mod tcp;
mod testing_helpers;
mod untouched;

//! Helpers shared by the integration tests in `tests/it/` (as `crate::support::…`); the test
//! files that run in processes of their own include the ones they need with `#[path]`.

#[cfg(feature = "fake-wristband")]
pub mod auth_app;
pub mod child_env;
#[cfg(feature = "redis")]
pub mod cluster;
pub mod examples;
pub mod logs;
pub mod redis;
#[cfg(feature = "redis")]
pub mod sentinel;
pub mod server;
#[cfg(feature = "auth")]
pub mod standin;
#[cfg(feature = "redis")]
pub mod tls;

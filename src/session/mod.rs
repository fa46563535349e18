//! The session layer: the sealed cookie (`codec`, `cookies`), its options and their validation
//! (`options`, `error`), the fairing that reads and writes it (`fairing`), the request guards
//! (`guard` for [`Session`](crate::Session), `authenticated` for
//! [`AuthenticatedSession`](crate::AuthenticatedSession)), CSRF, the open cache (and the
//! fields it looks up once: `known`), and the data a Wristband login leaves in a session
//! (`login_data`).
//!
//! It needs no optional feature. The `auth` layer (`crate::auth`, Wristband sign-in) and the
//! `redis` layer (`crate::revocation`) build on it; it never imports them: it reaches them
//! through managed state and the two hooks it defines (`refresh_hook` for token refresh,
//! `revocation_hook` for revocation checks).

pub(crate) mod authenticated;
pub(crate) mod codec;
pub(crate) mod cookies;
pub(crate) mod csrf;
pub(crate) mod error;
pub(crate) mod fairing;
pub(crate) mod guard;
pub(crate) mod heap_size;
pub(crate) mod known;
pub(crate) mod log_text;
pub(crate) mod login_data;
pub(crate) mod open_cache;
pub(crate) mod options;
pub(crate) mod refresh_hook;
pub(crate) mod revocation_hook;
pub(crate) mod state;

//! The smallest useful app: counts visits in the session.
//!
//! ```sh
//! cargo run --example quickstart          # serves http://127.0.0.1:8000 (debug profile)
//! curl -c jar -b jar http://127.0.0.1:8000/        # visit 1
//! curl -c jar -b jar http://127.0.0.1:8000/        # visit 2
//! curl -c jar -b jar -X POST http://127.0.0.1:8000/reset   # session destroyed
//! ```
//!
//! In the debug profile a `.env` file in the working directory (see `.env.example`) is read
//! first, so a local secret survives restarts without living in `Rocket.toml`; any other
//! profile ignores it and takes its secret from the real environment.

#[macro_use]
extern crate rocket;

use wristband_rocket_session::{Session, WristbandSession};

/// Counts this browser's visits.
#[get("/")]
fn index(session: Session<'_>) -> String {
    let visits: u64 = session.get("visits").ok().flatten().unwrap_or(0) + 1;
    match session.insert("visits", visits) {
        Ok(()) => format!("You have visited this page {visits} time(s).\n"),
        Err(e) => format!("Could not update the session: {e}\n"),
    }
}

/// Ends the session: the response removes the cookie. A POST, so that no cross-site link or
/// image can end a user's session.
#[post("/reset")]
fn reset(session: Session<'_>) -> &'static str {
    session.destroy();
    "Session destroyed.\n"
}

#[launch]
fn rocket() -> _ {
    // Local development only: `.env` never configures a production (release) launch.
    if rocket::Config::figment().profile() == rocket::Config::DEBUG_PROFILE {
        // No `.env` is fine: the variables may come from the environment, or be absent.
        let _ = dotenvy::dotenv();
    }
    rocket::build().attach(WristbandSession::fairing()).mount("/", routes![index, reset])
}

//! One capturing `log::Log` per test binary, installed before any Rocket is built (Rocket's own
//! logger then stays out), with every record tagged by the thread that logged it: each
//! `#[tokio::test]` / `#[rocket::async_test]` runs its Rocket on its own thread, so a test reads
//! its own lines among those of the tests running beside it. Included with
//! `#[path = "support/logs.rs"] mod logs;`.

use std::sync::{Mutex, Once};
use std::thread::{self, ThreadId};

use log::{Level, LevelFilter, Log, Metadata, Record};

struct Capture(Mutex<Vec<(ThreadId, Level, String)>>);

impl Log for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &Record<'_>) {
        let line = (thread::current().id(), record.level(), record.args().to_string());
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(line);
    }

    fn flush(&self) {}
}

static CAPTURE: Capture = Capture(Mutex::new(Vec::new()));

/// Installs the capturing logger (once per binary, debug level) and forgets this thread's
/// earlier lines.
pub fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        log::set_logger(&CAPTURE).expect("the capturing logger is installed before any Rocket");
        log::set_max_level(LevelFilter::Debug);
    });
    let me = thread::current().id();
    CAPTURE.0.lock().unwrap_or_else(|e| e.into_inner()).retain(|l| l.0 != me);
}

/// This thread's lines at `level` (every level with `None`), oldest first.
pub fn logged(level: Option<Level>) -> Vec<String> {
    let me = thread::current().id();
    let lines = CAPTURE.0.lock().unwrap_or_else(|e| e.into_inner());
    lines
        .iter()
        .filter(|l| l.0 == me && level.is_none_or(|level| l.1 == level))
        .map(|l| l.2.clone())
        .collect()
}

/// This thread's lines, every level, one per line with the level first.
pub fn all_logged() -> String {
    let me = thread::current().id();
    let lines = CAPTURE.0.lock().unwrap_or_else(|e| e.into_inner());
    lines.iter().filter(|l| l.0 == me).map(|l| format!("{} {}\n", l.1, l.2)).collect()
}

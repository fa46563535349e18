//! The README's shell walk-throughs, run exactly as written with the machine's own `bash` and
//! `curl`, against the example each one names; the output the README shows is compared.
//!
//! A walk-through is a ```` ```console ```` block preceded by a marker line
//! `<!-- walkthrough: <example> -->` (or `<!-- walkthrough: <example> (auth) -->` for an
//! example that needs the `auth` feature and its fake Wristband (`fake-wristband`); those run
//! when the tests are built with it). Each
//! `$ ` line is a command (continued on the following lines while its single quotes are open
//! or it ends in `\`); the lines up to the next command are its output. The whole block runs in
//! one shell in an empty directory, so variables and the cookie `jar` carry over.
//!
//! Comparison: a command without shown output must print nothing. Otherwise, for `curl -i` and
//! for pipelines the shown lines must appear in this order among the printed ones; for any
//! other command the printed lines must be exactly the shown ones. In a shown line, `...`
//! stands for any text (a cookie value, a date).

use std::net::{Ipv4Addr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One `$ ` command and the output shown under it.
#[derive(Debug)]
struct Step {
    command: String,
    shown: Vec<String>,
}

/// One marked console block.
#[derive(Debug)]
struct Walkthrough {
    example: String,
    needs_auth: bool,
    steps: Vec<Step>,
}

fn quotes_open(text: &str) -> bool {
    text.matches('\'').count() % 2 == 1
}

fn parse(readme: &str) -> Vec<Walkthrough> {
    let mut walkthroughs = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        let Some(marker) = line.trim().strip_prefix("<!-- walkthrough:") else { continue };
        let marker = marker.trim_end_matches("-->").trim();
        let (example, needs_auth) = match marker.strip_suffix("(auth)") {
            Some(name) => (name.trim().to_string(), true),
            None => (marker.to_string(), false),
        };
        assert_eq!(lines.next().map(str::trim), Some("```console"), "marker before {example}");
        let mut steps: Vec<Step> = Vec::new();
        let mut continuing = false;
        for line in lines.by_ref() {
            if line.trim() == "```" {
                break;
            }
            if continuing {
                let step = steps.last_mut().expect("a command");
                step.command.push('\n');
                step.command.push_str(line);
                continuing = quotes_open(&step.command) || line.ends_with('\\');
            } else if let Some(command) = line.strip_prefix("$ ") {
                steps.push(Step { command: command.to_string(), shown: Vec::new() });
                continuing = quotes_open(command) || command.ends_with('\\');
            } else {
                steps.last_mut().expect("output after a command").shown.push(line.to_string());
            }
        }
        walkthroughs.push(Walkthrough { example, needs_auth, steps });
    }
    walkthroughs
}

/// Whether `actual` matches `shown`, where `...` in `shown` stands for any text.
fn line_matches(shown: &str, actual: &str) -> bool {
    let pieces: Vec<&str> = shown.split("...").collect();
    if pieces.len() == 1 {
        return shown == actual;
    }
    let (first, last) = (pieces[0], pieces[pieces.len() - 1]);
    if !actual.starts_with(first) || !actual[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &actual[first.len()..actual.len() - last.len()];
    for piece in &pieces[1..pieces.len() - 1] {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    true
}

fn check_step(step: &Step, printed: &str) {
    let printed: Vec<&str> =
        printed.lines().map(|l| l.trim_end_matches('\r')).filter(|l| !l.is_empty()).collect();
    let context =
        || format!("$ {}\nshown:\n{:#?}\nprinted:\n{:#?}", step.command, step.shown, printed);
    let loose =
        step.command.contains(" -i") || step.command.contains(" -si") || step.command.contains('|');
    if step.shown.is_empty() {
        assert!(printed.is_empty(), "prints nothing in the README\n{}", context());
    } else if loose {
        let mut printed_lines = printed.iter();
        for shown in &step.shown {
            assert!(
                printed_lines.any(|actual| line_matches(shown, actual)),
                "`{shown}` not printed (in order)\n{}",
                context()
            );
        }
    } else {
        assert_eq!(printed.len(), step.shown.len(), "{}", context());
        for (shown, actual) in step.shown.iter().zip(&printed) {
            assert!(line_matches(shown, actual), "`{shown}` vs `{actual}`\n{}", context());
        }
    }
}

/// `target/<profile>/examples/<name>`, built now (with `fake-wristband` when it needs it).
fn example(name: &str, needs_auth: bool) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build.args(["build", "--quiet", "--example", name]);
    if needs_auth {
        build.args(["--features", "fake-wristband"]);
    }
    let status = build.current_dir(env!("CARGO_MANIFEST_DIR")).status().expect("run cargo build");
    assert!(status.success(), "cargo build --example {name} failed");
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>");
    dir.join("examples").join(name)
}

/// Kills the example when the walk-through ends, passing or not.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(path: &PathBuf) -> Server {
    assert!(
        TcpStream::connect((Ipv4Addr::LOCALHOST, 8000)).is_err(),
        "port 8000 is taken: the README's walk-throughs need it free"
    );
    let mut server = Server(
        Command::new(path)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("ROCKET_PROFILE", "debug")
            .env("ROCKET_LOG_LEVEL", "off")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the example"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect((Ipv4Addr::LOCALHOST, 8000)).is_err() {
        assert!(server.0.try_wait().unwrap().is_none(), "{} exited", path.display());
        assert!(Instant::now() < deadline, "{} did not start listening", path.display());
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

/// Runs the block's commands in one shell; the stdout of each, in order.
fn run(walkthrough: &Walkthrough) -> Vec<String> {
    const MARK: &str = "@@walkthrough-step@@";
    let mut script = String::from("set +e\n");
    for step in &walkthrough.steps {
        script.push_str(&format!("echo {MARK}\n{}\n", step.command));
    }
    let dir = std::env::temp_dir().join(format!(
        "readme-walkthrough-{}-{}",
        walkthrough.example,
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let output = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(&dir)
        .stderr(Stdio::null())
        .output()
        .expect("bash runs");
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut parts: Vec<String> = stdout.split(&format!("{MARK}\n")).map(str::to_string).collect();
    assert_eq!(parts.remove(0), "", "nothing before the first step");
    assert_eq!(parts.len(), walkthrough.steps.len(), "one output per step: {stdout}");
    parts
}

#[test]
fn readme_walkthroughs_print_what_the_readme_shows() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let walkthroughs = parse(&readme);
    let names: Vec<&str> = walkthroughs.iter().map(|w| w.example.as_str()).collect();
    for expected in ["quickstart", "auth_flow", "wristband_app"] {
        assert!(names.contains(&expected), "no walk-through of {expected}: {names:?}");
    }
    for walkthrough in &walkthroughs {
        if walkthrough.needs_auth && !cfg!(feature = "fake-wristband") {
            // Run by the `--all-features` pass of the test command.
            continue;
        }
        let _server = serve(&example(&walkthrough.example, walkthrough.needs_auth));
        for (step, printed) in walkthrough.steps.iter().zip(run(walkthrough)) {
            check_step(step, &printed);
        }
    }
}

#[test]
fn the_matcher_is_strict_where_it_should_be() {
    assert!(line_matches("set-cookie: session=...; HttpOnly", "set-cookie: session=AbC; HttpOnly"));
    assert!(!line_matches("set-cookie: session=...; HttpOnly", "set-cookie: other=AbC; HttpOnly"));
    assert!(!line_matches("{\"error\":\"Unauthorized\"}", "{\"error\":\"Forbidden\"}"));
    assert!(line_matches("a...b...c", "a-x-b-y-c"));
    assert!(!line_matches("a...b...c", "a-x-c-y-b"));
    let step = Step { command: "curl x".into(), shown: vec!["one".into()] };
    check_step(&step, "one\n");
    assert!(std::panic::catch_unwind(|| check_step(&step, "one\ntwo\n")).is_err());
    let parsed =
        parse("<!-- walkthrough: demo -->\n```console\n$ echo 'a\nb'\na\nb\n$ true\n```\n");
    assert_eq!(parsed.len(), 1);
    assert_eq!(parsed[0].steps.len(), 2);
    assert_eq!(parsed[0].steps[0].command, "echo 'a\nb'");
    assert_eq!(parsed[0].steps[0].shown, ["a", "b"]);
}

//! The README's shell walk-throughs, run exactly as written with the machine's own `bash` and
//! `curl`, against the example each one names; the output the README shows is compared.
//!
//! A walk-through is a ```` ```console ```` block preceded by a marker line
//! `<!-- walkthrough: <example> -->`, or `<!-- walkthrough: <example> (<flags>) -->` with
//! comma-separated flags: `auth` for an example that needs its fake Wristband (cargo feature
//! `fake-wristband`), `redis` for one that needs the cargo feature `redis`; a walk-through runs
//! when the tests are built with the features its flags name (the `--all-features` pass). Each
//! `$ ` line is a command (continued on the following lines while its single quotes are open
//! or it ends in `\`); the lines up to the next command are its output. The whole block runs in
//! one shell in an empty directory, so variables and the cookie `jar` carry over.
//!
//! The test starts the example itself (the debug profile, port 8000), unless the walk-through
//! has a set-up: a ```` ```sh ```` block right before it, preceded by
//! `<!-- walkthrough-setup: ports <port> <port> ... -->`. Then that block runs as written, with
//! `bash` in the repository's directory (where a reader types it), and starts what the
//! walk-through talks to (for revocation: `redis-server` and two instances of the example);
//! the test waits until every listed port answers, runs the walk-through, and then kills
//! everything the set-up started (its process group). The listed ports must be free before.
//!
//! Comparison: a command without shown output must print nothing. Otherwise, for `curl -i` and
//! for pipelines the shown lines must appear in this order among the printed ones; for any
//! other command the printed lines must be exactly the shown ones. In a shown line, `...`
//! stands for any text (a cookie value, a date, a port).

use std::net::{Ipv4Addr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One `$ ` command and the output shown under it.
#[derive(Debug)]
struct Step {
    command: String,
    shown: Vec<String>,
}

/// The ```` ```sh ```` block that starts what a walk-through talks to, and the ports it opens.
#[derive(Debug)]
struct Setup {
    ports: Vec<u16>,
    script: String,
}

/// One marked console block.
#[derive(Debug)]
struct Walkthrough {
    example: String,
    /// The cargo features the example is built with (from the marker's flags).
    features: Vec<&'static str>,
    setup: Option<Setup>,
    steps: Vec<Step>,
}

impl Walkthrough {
    /// Whether this test binary was built with every feature the walk-through needs.
    fn runs_here(&self) -> bool {
        self.features.iter().all(|feature| match *feature {
            "fake-wristband" => cfg!(feature = "fake-wristband"),
            "redis" => cfg!(feature = "redis"),
            other => panic!("unknown feature {other}"),
        })
    }
}

fn quotes_open(text: &str) -> bool {
    text.matches('\'').count() % 2 == 1
}

/// `wristband_app (auth, redis)`: the example's name and the cargo features its flags name.
fn parse_marker(marker: &str) -> (String, Vec<&'static str>) {
    let Some((name, flags)) = marker.split_once('(') else {
        return (marker.trim().to_string(), Vec::new());
    };
    let flags = flags.strip_suffix(')').unwrap_or_else(|| panic!("unclosed flags: {marker}"));
    let features = flags
        .split(',')
        .map(|flag| match flag.trim() {
            "auth" => "fake-wristband",
            "redis" => "redis",
            other => panic!("unknown walk-through flag `{other}` in `{marker}`"),
        })
        .collect();
    (name.trim().to_string(), features)
}

fn parse(readme: &str) -> Vec<Walkthrough> {
    let mut walkthroughs = Vec::new();
    let mut setup: Option<Setup> = None;
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        let line = line.trim();
        if let Some(ports) = line.strip_prefix("<!-- walkthrough-setup:") {
            assert!(setup.is_none(), "two set-ups before one walk-through");
            let ports = ports.trim_end_matches("-->").trim();
            let ports = ports.strip_prefix("ports").expect("`ports <port> ...` after the marker");
            let ports: Vec<u16> =
                ports.split_whitespace().map(|p| p.parse().expect("a port number")).collect();
            assert!(!ports.is_empty(), "a set-up lists the ports it opens");
            assert_eq!(lines.next().map(str::trim), Some("```sh"), "set-up marker before ```sh");
            let mut script = String::new();
            for line in lines.by_ref() {
                if line.trim() == "```" {
                    break;
                }
                script.push_str(line);
                script.push('\n');
            }
            setup = Some(Setup { ports, script });
            // The walk-through it belongs to comes next, with nothing but prose in between.
            continue;
        }
        let Some(marker) = line.strip_prefix("<!-- walkthrough:") else {
            assert!(
                setup.is_none() || !line.starts_with("```"),
                "a code block between a set-up and its walk-through: {line}"
            );
            continue;
        };
        let (example, features) = parse_marker(marker.trim_end_matches("-->").trim());
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
        walkthroughs.push(Walkthrough { example, features, setup: setup.take(), steps });
    }
    assert!(setup.is_none(), "a set-up without a walk-through after it");
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

/// The example `name`, built now with `features`.
fn example(name: &str, features: &[&str]) -> PathBuf {
    crate::support::examples::built(name, features)
}

fn listening(port: u16) -> bool {
    TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok()
}

/// Kills the example when the walk-through ends, passing or not.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(path: &Path) -> Server {
    assert!(!listening(8000), "port 8000 is taken: the README's walk-throughs need it free");
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
    while !listening(8000) {
        assert!(server.0.try_wait().unwrap().is_none(), "{} exited", path.display());
        assert!(Instant::now() < deadline, "{} did not start listening", path.display());
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

/// What a walk-through's set-up started: its whole process group, killed (SIGKILL) when the
/// walk-through ends, passing or not; then its ports are free again.
struct SetupProcesses {
    bash: Child,
    ports: Vec<u16>,
    log: PathBuf,
}

impl SetupProcesses {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for SetupProcesses {
    fn drop(&mut self) {
        // The group is the one `bash` leads (`process_group(0)`): the background jobs it
        // started stay in it after it exits, whatever they are.
        let group = format!("-{}", self.bash.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
        let _ = self.bash.wait();
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.ports.iter().any(|&port| listening(port)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = std::fs::remove_file(&self.log);
    }
}

/// Runs the set-up block as written, with `bash` in the repository's directory (the debug
/// profile, as for a reader who sets none), and waits until every port it lists answers.
fn start_setup(example: &str, setup: &Setup) -> SetupProcesses {
    for &port in &setup.ports {
        assert!(!listening(port), "port {port} is taken: the {example} walk-through needs it free");
    }
    let log = std::env::temp_dir()
        .join(format!("readme-walkthrough-setup-{example}-{}.log", std::process::id()));
    let output = std::fs::File::create(&log).expect("create the set-up log");
    // Its `cargo run` must not see this process's cargo variables (support/examples.rs).
    let bash = crate::support::examples::without_test_env(&mut Command::new("bash"))
        .arg("-c")
        .arg(&setup.script)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("ROCKET_PROFILE", "debug")
        .stdin(Stdio::null())
        .stdout(output.try_clone().expect("the log, twice"))
        .stderr(output)
        .process_group(0)
        .spawn()
        .expect("bash runs the set-up");
    let processes = SetupProcesses { bash, ports: setup.ports.clone(), log };
    // Generous: the set-up may compile (`cargo run`) and wait for another build's lock.
    let deadline = Instant::now() + Duration::from_secs(600);
    for &port in &setup.ports {
        while !listening(port) {
            assert!(
                Instant::now() < deadline,
                "the {example} set-up did not open port {port} within 10 minutes; its output:\n{}",
                processes.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    processes
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
    // A bound on the whole block, so that a wait loop in it cannot hang the test.
    let output = crate::support::examples::without_test_env(&mut Command::new("timeout"))
        .args(["300", "bash", "-c", &script])
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
    let names: Vec<String> = walkthroughs
        .iter()
        .map(|w| format!("{} {:?} setup: {}", w.example, w.features, w.setup.is_some()))
        .collect();
    for expected in [
        "quickstart [] setup: false",
        "auth_flow [] setup: false",
        "wristband_app [\"fake-wristband\"] setup: false",
        "wristband_app [\"fake-wristband\", \"redis\"] setup: true",
    ] {
        assert!(names.iter().any(|n| n == expected), "no walk-through {expected}: {names:#?}");
    }
    // Every walk-through runs, and the test fails at the end with each one that failed.
    let mut failed = Vec::new();
    for (n, walkthrough) in walkthroughs.iter().enumerate() {
        if !walkthrough.runs_here() {
            // Run by the `--all-features` pass of the test command.
            continue;
        }
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            check_walkthrough(walkthrough)
        }));
        if outcome.is_err() {
            failed.push(format!("#{} ({} {:?})", n + 1, walkthrough.example, walkthrough.features));
        }
    }
    assert!(failed.is_empty(), "walk-throughs that failed (see above): {failed:?}");
}

/// Starts what `walkthrough` talks to, runs it, and checks each step's output.
fn check_walkthrough(walkthrough: &Walkthrough) {
    let path = example(&walkthrough.example, &walkthrough.features);
    let (_server, setup) = match &walkthrough.setup {
        None => (Some(serve(&path)), None),
        Some(setup) => (None, Some(start_setup(&walkthrough.example, setup))),
    };
    let outputs = run(walkthrough);
    for (step, printed) in walkthrough.steps.iter().zip(outputs) {
        if let Err(panic) = std::panic::catch_unwind(|| check_step(step, &printed)) {
            if let Some(setup) = &setup {
                // What the instances logged says more than the step alone.
                eprintln!("== the set-up's output:\n{}", setup.log());
            }
            std::panic::resume_unwind(panic);
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
    assert!(parsed[0].features.is_empty() && parsed[0].setup.is_none());
}

#[test]
fn a_setup_block_belongs_to_the_walkthrough_after_it() {
    let parsed = parse(
        "<!-- walkthrough-setup: ports 6380 8000 -->\n```sh\nredis-server &\nexport A=1\n```\n\
         Then:\n<!-- walkthrough: demo (auth, redis) -->\n```console\n$ true\n```\n\
         <!-- walkthrough: other -->\n```console\n$ true\n```\n",
    );
    assert_eq!(parsed.len(), 2);
    let setup = parsed[0].setup.as_ref().expect("the first walk-through has the set-up");
    assert_eq!(setup.ports, [6380, 8000]);
    assert_eq!(setup.script, "redis-server &\nexport A=1\n");
    assert_eq!(parsed[0].features, ["fake-wristband", "redis"]);
    assert!(parsed[1].setup.is_none(), "a set-up is for one walk-through only");
    // Misplaced or misspelt markers are errors, not silently skipped walk-throughs.
    for broken in [
        "<!-- walkthrough: demo (auht) -->\n```console\n$ true\n```\n",
        "<!-- walkthrough-setup: ports 1 -->\n```sh\ntrue\n```\n",
        "<!-- walkthrough-setup: ports 1 -->\n```sh\ntrue\n```\n```sh\nx\n```\n\
         <!-- walkthrough: demo -->\n```console\n$ true\n```\n",
    ] {
        assert!(std::panic::catch_unwind(|| parse(broken)).is_err(), "accepted:\n{broken}");
    }
}

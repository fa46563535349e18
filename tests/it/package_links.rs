//! Every relative link in a file of the published package resolves to a file of the package, so
//! the README and the docs pages work on crates.io and docs.rs as they do in the repository
//! (issue 27: three README links pointed at files the package leaves out).

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

/// The files `cargo package` would publish, as paths relative to the package root.
fn packaged() -> BTreeSet<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["package", "--list", "--allow-dirty", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo package --list");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().lines().map(PathBuf::from).collect()
}

/// The targets of the Markdown links `[text](target)` in `text`.
fn link_targets(text: &str) -> Vec<&str> {
    text.match_indices("](")
        .filter_map(|(at, _)| {
            let rest = &text[at + 2..];
            let end = rest.find([')', ' '])?;
            Some(&rest[..end])
        })
        .collect()
}

/// A link that stays inside the package: relative, no scheme, no intra-doc path (`crate::x`,
/// `Self::y`), not only an anchor.
fn is_relative_file_link(target: &str) -> bool {
    !target.is_empty()
        && !target.starts_with('#')
        && !target.contains("://")
        && !target.starts_with("mailto:")
        && !target.contains("::")
        && (target.contains('/') || target.contains('.'))
}

/// `base/target` with `.` and `..` folded away; `None` if it climbs out of the package.
fn resolve(base: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split('#').next().unwrap_or(target);
    let mut out = PathBuf::new();
    for component in base.join(path).components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            other => out.push(other),
        }
    }
    Some(out)
}

#[test]
fn every_relative_link_in_the_package_resolves_inside_it() {
    let files = packaged();
    assert!(files.contains(Path::new("README.md")), "{files:?}");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in &files {
        let markdown = file.extension().is_some_and(|e| e == "md");
        let rust = file.extension().is_some_and(|e| e == "rs");
        if !markdown && !rust {
            continue;
        }
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        let base = file.parent().unwrap_or(Path::new(""));
        for line in text.lines() {
            // In Rust sources, only documentation comments render as Markdown.
            let trimmed = line.trim_start();
            if rust && !(trimmed.starts_with("///") || trimmed.starts_with("//!")) {
                continue;
            }
            for target in link_targets(line).into_iter().filter(|t| is_relative_file_link(t)) {
                checked += 1;
                match resolve(base, target) {
                    Some(path) if files.contains(&path) => {}
                    _ => broken.push(format!("{}: {target}", file.display())),
                }
            }
        }
    }
    assert!(checked >= 10, "the README and docs link to each other: {checked} links checked");
    assert!(broken.is_empty(), "links to files outside the package: {broken:#?}");
}

#[test]
fn the_link_rules_are_the_ones_described() {
    assert_eq!(link_targets("see [a](docs/a.md) and [b](#b)"), ["docs/a.md", "#b"]);
    assert!(is_relative_file_link("docs/a.md#x"));
    assert!(!is_relative_file_link("https://docs.rs/x"));
    assert!(!is_relative_file_link("crate::Session"));
    assert!(!is_relative_file_link("#anchor"));
    assert_eq!(resolve(Path::new("docs"), "../README.md"), Some(PathBuf::from("README.md")));
    assert_eq!(resolve(Path::new(""), "../x.md"), None);
}

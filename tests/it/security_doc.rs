//! `docs/security.md` names, for each finding of the security review, the tests that prove its
//! fix: every test it names exists (as `fn <name>` in `tests/` or `src/`), so the page cannot
//! point at a test that was renamed or removed.

use std::path::Path;

fn sources(dir: &Path, found: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
}

#[test]
fn every_test_the_security_page_names_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let page = std::fs::read_to_string(root.join("docs/security.md")).unwrap();
    let mut code = String::new();
    sources(&root.join("tests"), &mut code);
    sources(&root.join("src"), &mut code);
    // Test names: in the last column of the findings table, backticked snake_case words with
    // at least three underscores (file names like `tests/x.rs` do not match).
    let names: Vec<&str> = page
        .lines()
        .filter(|line| line.starts_with("| ") && line.contains("tests/"))
        .filter_map(|line| line.trim_end_matches('|').rsplit('|').next())
        .flat_map(|cell| cell.split('`').skip(1).step_by(2))
        .filter(|w| {
            w.matches('_').count() >= 3 && w.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        })
        .collect();
    assert!(names.len() >= 20, "the page names its tests: {names:?}");
    let missing: Vec<&&str> =
        names.iter().filter(|name| !code.contains(&format!("fn {name}("))).collect();
    assert!(missing.is_empty(), "docs/security.md names tests that do not exist: {missing:?}");
}

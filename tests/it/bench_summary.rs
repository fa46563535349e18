//! The summary at the top of `docs/benchmarks.md` (its table and `docs/images/benchmarks.svg`)
//! is what `scripts/bench_chart.py` draws from `docs/bench-results.tsv` (issue 27, item 10): a
//! hand edit of the table, the chart or a number in the results file fails here.

use std::path::Path;
use std::process::Command;

fn read(path: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The rows of the results file: the comment lines (`#`) and the column line left out.
fn results() -> Vec<Vec<String>> {
    let text = read("docs/bench-results.tsv");
    let mut lines = text.lines().filter(|line| !line.starts_with('#') && !line.trim().is_empty());
    let columns = lines.next().expect("a column line");
    assert!(columns.starts_with("id\twhat\tagainst\tratio\tgoal\tverdict\t"), "{columns}");
    lines.map(|line| line.split('\t').map(str::to_owned).collect()).collect()
}

/// The lines between the summary markers of `docs/benchmarks.md`.
fn summary_table() -> Vec<String> {
    let doc = read("docs/benchmarks.md");
    let start = doc.find("<!-- summary:start -->\n").expect("the start marker");
    let end = doc.find("<!-- summary:end -->").expect("the end marker");
    doc[start..end].lines().skip(1).map(str::to_owned).collect()
}

#[test]
fn the_committed_chart_and_table_are_what_the_script_draws() {
    let output = Command::new("python3")
        .args(["scripts/bench_chart.py", "--check"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run python3 scripts/bench_chart.py --check");
    assert!(
        output.status.success(),
        "python3 scripts/bench_chart.py --check failed (redraw with python3 \
         scripts/bench_chart.py):\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn every_result_is_a_row_of_the_summary_table_and_a_bar_of_the_chart() {
    let rows = results();
    assert!(rows.len() >= 10, "{} rows in docs/bench-results.tsv", rows.len());
    let table = summary_table();
    // The header, the separator and one line per result, nothing else.
    assert_eq!(table.len(), rows.len() + 2, "{table:#?}");
    let svg = read("docs/images/benchmarks.svg");
    for (row, line) in rows.iter().zip(&table[2..]) {
        let [_, what, against, ratio, goal, verdict, _, _, _, section] = &row[..] else {
            panic!("10 columns: {row:?}");
        };
        let goal = goal.replace(">=", "≥").replace("<=", "≤");
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
        assert_eq!(cells[0], format!("[{what}](#{section})"), "{line}");
        assert_eq!(cells[1], against, "{line}");
        assert_eq!(cells[2], format!("{ratio}×"), "{line}");
        assert_eq!(cells[3], if goal == "-" { "–" } else { goal.as_str() }, "{line}");
        assert!(cells[4].contains(verdict.as_str()), "{line}");
        assert!(svg.contains(&format!(">{ratio}×</text>")), "no bar labelled {ratio}× in the SVG");
    }
    let doc = read("docs/benchmarks.md");
    assert!(doc.contains("](images/benchmarks.svg)"), "the page shows the chart");
}

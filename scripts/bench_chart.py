#!/usr/bin/env python3
"""The one-screen summary of docs/benchmarks.md, drawn from docs/bench-results.tsv.

    python3 scripts/bench_chart.py            # (re)draw docs/images/benchmarks.svg and the
                                              # summary table at the top of docs/benchmarks.md
    python3 scripts/bench_chart.py --check    # exit 1 if either differs from what it would draw
    python3 scripts/bench_chart.py record --results FILE ID WHAT AGAINST RATIO GOAL MEASURE \\
        BASIS COMMAND SECTION                 # write one row into FILE (the bench scripts do,
                                              # through `record_result` in benches/lib.sh)

The results file has one row per goal (see its header for the columns and which command
produces each row). The table goes between `<!-- summary:start -->` and `<!-- summary:end -->`
in docs/benchmarks.md; the chart is a horizontal bar per row, the goal marked on it. Output is
deterministic: the same results file gives the same bytes. Python 3 standard library only.
"""

import argparse
import math
import os
import re
import sys
import unicodedata

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "docs", "bench-results.tsv")
DOC = os.path.join(ROOT, "docs", "benchmarks.md")
SVG = os.path.join(ROOT, "docs", "images", "benchmarks.svg")

COLUMNS = ["id", "what", "against", "ratio", "goal", "verdict", "measure", "basis", "command",
           "section"]
START = "<!-- summary:start -->"
END = "<!-- summary:end -->"
# Longest labels that still fit the chart's label column.
MAX_LEN = {"what": 40, "against": 34, "measure": 20}
# Rows whose ratio or goal exceeds this are drawn on the log-scale panel (the Node peers).
LOG_PANEL_ABOVE = 2.0
# The linear panel's range.
LINEAR_MIN, LINEAR_MAX = 0.80, 1.20

NEW_FILE_HEADER = """\
# Results of the benches, one row per goal of docs/benchmarks.md (see scripts/bench_chart.py).
# A bench script run with RESULTS_TSV=<this file> replaces the rows of the ids it measures.
"""


class Invalid(Exception):
    """A results file or document that cannot be drawn from."""


def verdict_of(ratio, goal):
    """`met`, `missed` or `no goal`, from the ratio (a string) and the goal (`>= x`, `<= x`, `-`)."""
    if goal == "-":
        return "no goal"
    op, bound = goal.split()
    value, bound = float(ratio), float(bound)
    return "met" if (value >= bound if op == ">=" else value <= bound) else "missed"


def parse_rows(text, path="results"):
    """The rows of a results file (comment lines start with `#`; the first other line names the
    columns), each a dict; raises Invalid on anything malformed."""
    rows, header = [], None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if header is None:
            if fields != COLUMNS:
                raise Invalid(f"{path}:{number}: the column line must be {COLUMNS}, not {fields}")
            header = fields
            continue
        if len(fields) != len(COLUMNS):
            raise Invalid(f"{path}:{number}: {len(fields)} fields, want {len(COLUMNS)}")
        rows.append(dict(zip(COLUMNS, fields), line=number))
    if header is None:
        raise Invalid(f"{path}: no column line")
    return rows


def validate(rows, anchors, path="results"):
    """Checks every row: unique ids, numbers, goals, verdicts, label lengths, sections."""
    seen = set()
    for row in rows:
        where = f"{path}:{row['line']} ({row['id']})"
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", row["id"]):
            raise Invalid(f"{where}: an id is lowercase letters, digits and hyphens")
        if row["id"] in seen:
            raise Invalid(f"{where}: the id appears twice")
        seen.add(row["id"])
        if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", row["ratio"]) or float(row["ratio"]) <= 0:
            raise Invalid(f"{where}: ratio {row['ratio']!r} is not a positive decimal number")
        if row["goal"] != "-" and not re.fullmatch(r"(>=|<=) [0-9]+(\.[0-9]+)?", row["goal"]):
            raise Invalid(f"{where}: goal {row['goal']!r} is not `>= x`, `<= x` or `-`")
        want = verdict_of(row["ratio"], row["goal"])
        if row["verdict"] != want:
            raise Invalid(f"{where}: verdict {row['verdict']!r}, but {row['ratio']} against "
                          f"{row['goal']} is {want!r}")
        for column, limit in MAX_LEN.items():
            if len(row[column]) > limit:
                raise Invalid(f"{where}: {column} is longer than {limit} characters")
        for column in COLUMNS:
            if not row[column].strip() or "|" in row[column]:
                raise Invalid(f"{where}: {column} is empty or holds a `|`")
        if anchors is not None and row["section"] not in anchors:
            raise Invalid(f"{where}: no heading of docs/benchmarks.md has the anchor "
                          f"#{row['section']}")


def anchors_of(markdown):
    """The anchors GitHub gives the headings of `markdown` (lowercased, punctuation dropped,
    spaces to hyphens, `-1`, `-2`… for repeats); fenced code is skipped."""
    anchors, counts, fenced = set(), {}, False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if fenced:
            continue
        match = re.match(r"#{1,6} (.*)", line)
        if not match:
            continue
        slug = "".join(c for c in match.group(1).strip().lower()
                       if c in "-_ " or unicodedata.category(c)[0] in "LN")
        slug = slug.replace(" ", "-")
        n = counts.get(slug, 0)
        counts[slug] = n + 1
        anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


def goal_text(goal):
    """`>= 0.97` as `≥ 0.97`."""
    return goal.replace(">=", "≥").replace("<=", "≤") if goal != "-" else "–"


VERDICT_TEXT = {"met": "✓ met", "missed": "✗ **missed**", "no goal": "no goal"}


def table(rows):
    """The summary table, Markdown, one line per row."""
    lines = ["| measured | against | ratio | goal | verdict | measure |",
             "| --- | --- | ---: | --- | --- | --- |"]
    for row in rows:
        lines.append(f"| [{row['what']}](#{row['section']}) | {row['against']} | "
                     f"{row['ratio']}× | {goal_text(row['goal'])} | "
                     f"{VERDICT_TEXT[row['verdict']]} | {row['measure']} |")
    return "\n".join(lines) + "\n"


def with_table(doc, rows):
    """`doc` with the table between the markers replaced."""
    if doc.count(START) != 1 or doc.count(END) != 1 or doc.index(START) > doc.index(END):
        raise Invalid(f"docs/benchmarks.md needs one `{START}` line and one `{END}` line after it")
    head, rest = doc.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table(rows)}{END}{tail}"


# ----------------------------------------------------------------------------------------------
# The chart.

WIDTH = 980
LABEL_X = 20  # the label column's left edge
BAR_X0, BAR_X1 = 400, 760  # the bar area
VALUE_X = 772  # the ratio and verdict column
ROW_H = 38
FONT = "DejaVu Sans, Verdana, Arial, Helvetica, sans-serif"
COLOUR = {"met": "#2b6cb0", "missed": "#c05621", "no goal": "#718096"}
ZONE = "#dcefdc"  # where the goal is met


def esc(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def num(x):
    """A coordinate with at most one decimal, the same text on every platform."""
    text = f"{x:.1f}"
    return text[:-2] if text.endswith(".0") else text


class Scale:
    """Maps a ratio to an x coordinate of the bar area."""

    def __init__(self, log, low, high, ticks):
        self.log, self.low, self.high, self.ticks = log, low, high, ticks

    def x(self, value):
        value = min(max(value, self.low), self.high)
        if self.log:
            share = (math.log10(value) - math.log10(self.low)) / (
                math.log10(self.high) - math.log10(self.low))
        else:
            share = (value - self.low) / (self.high - self.low)
        return BAR_X0 + share * (BAR_X1 - BAR_X0)

    def tick_label(self, value):
        return f"{value:g}×" if self.log else f"{value:.2f}"


LINEAR = Scale(False, LINEAR_MIN, LINEAR_MAX, [0.80 + 0.05 * i for i in range(9)])
LOG = Scale(True, 1, 1000, [1, 3, 10, 30, 100, 300, 1000])


def marker(kind, cx, cy, colour):
    """The bar's end marker: a filled circle (met), a hollow square (missed), a hollow circle
    (no goal), so the verdict reads without colour too."""
    if kind == "met":
        return f'<circle cx="{num(cx)}" cy="{num(cy)}" r="5" fill="{colour}"/>'
    if kind == "missed":
        return (f'<rect x="{num(cx - 5)}" y="{num(cy - 5)}" width="10" height="10" fill="#fff" '
                f'stroke="{colour}" stroke-width="2"/>')
    return f'<circle cx="{num(cx)}" cy="{num(cy)}" r="4.5" fill="#fff" stroke="{colour}" stroke-width="2"/>'


def panel(out, y, title, note, rows, scale):
    """Draws one panel from `y` down; returns the y below it."""
    out.append(f'<text x="{LABEL_X}" y="{num(y + 16)}" class="h">{esc(title)}</text>')
    out.append(f'<text x="{LABEL_X}" y="{num(y + 33)}" class="n">{esc(note)}</text>')
    top = y + 44
    axis_y = top + 12
    for value in scale.ticks:
        out.append(f'<text x="{num(scale.x(value))}" y="{num(axis_y)}" class="t">'
                   f'{esc(scale.tick_label(value))}</text>')
    body = axis_y + 6
    bottom = body + ROW_H * len(rows)
    for i, row in enumerate(rows):
        if i % 2 == 0:
            out.append(f'<rect x="{LABEL_X - 8}" y="{num(body + i * ROW_H)}" '
                       f'width="{WIDTH - 2 * (LABEL_X - 8)}" height="{ROW_H}" fill="#f7f8fa"/>')
    # The goal zones under the grid.
    for i, row in enumerate(rows):
        if row["goal"] == "-":
            continue
        op, bound = row["goal"].split()
        gx = scale.x(float(bound))
        x0, x1 = (gx, BAR_X1) if op == ">=" else (BAR_X0, gx)
        out.append(f'<rect x="{num(x0)}" y="{num(body + i * ROW_H + 7)}" width="{num(x1 - x0)}" '
                   f'height="{ROW_H - 14}" fill="{ZONE}"/>')
    for value in scale.ticks:
        x = num(scale.x(value))
        parity = value == 1
        out.append(f'<line x1="{x}" y1="{num(body)}" x2="{x}" y2="{num(bottom)}" '
                   f'stroke="{"#4a5568" if parity else "#d5dae1"}" '
                   f'stroke-width="{"1.5" if parity else "1"}"/>')
    for i, row in enumerate(rows):
        ry = body + i * ROW_H
        cy = ry + ROW_H / 2
        ratio = float(row["ratio"])
        kind = row["verdict"]
        colour = COLOUR[kind]
        out.append(f'<text x="{LABEL_X}" y="{num(ry + 16)}" class="w">{esc(row["what"])}</text>')
        out.append(f'<text x="{LABEL_X}" y="{num(ry + 31)}" class="a">'
                   f'{esc("vs " + row["against"] + " · " + row["measure"])}</text>')
        x_one, x_value = scale.x(1), scale.x(ratio)
        left, right = min(x_one, x_value), max(x_one, x_value)
        width = max(right - left, 1.5)
        fill = {"met": colour, "missed": "url(#hatch)", "no goal": "#cbd2dc"}[kind]
        out.append(f'<rect x="{num(left)}" y="{num(cy - 6)}" width="{num(width)}" height="12" '
                   f'fill="{fill}" stroke="{colour}" stroke-width="1"/>')
        out.append(marker(kind, x_value, cy, colour))
        if ratio < scale.low or ratio > scale.high:
            arrow_x = x_value + (10 if ratio > scale.high else -10)
            out.append(f'<text x="{num(arrow_x)}" y="{num(cy + 4)}" class="t">'
                       f'{"»" if ratio > scale.high else "«"}</text>')
        if row["goal"] != "-":
            gx = num(scale.x(float(row["goal"].split()[1])))
            out.append(f'<line x1="{gx}" y1="{num(ry + 5)}" x2="{gx}" y2="{num(ry + ROW_H - 5)}" '
                       f'stroke="#1a202c" stroke-width="2"/>')
            out.append(f'<path d="M{num(float(gx) - 4)} {num(ry + 3)}h8l-4 5z" fill="#1a202c"/>')
        verdict = {"met": "✓ met", "missed": "✗ missed", "no goal": "no goal"}[kind]
        goal = f", goal {goal_text(row['goal'])}" if row["goal"] != "-" else ""
        out.append(f'<text x="{VALUE_X}" y="{num(ry + 16)}" class="v">{esc(row["ratio"])}×</text>')
        out.append(f'<text x="{VALUE_X}" y="{num(ry + 31)}" class="s" fill="{colour}">'
                   f'{esc(verdict + goal)}</text>')
    return bottom


def chart(rows):
    """The SVG text of the chart."""
    linear = [r for r in rows if not is_log(r)]
    log = [r for r in rows if is_log(r)]
    out = []
    y = 20
    body = []
    body.append(f'<text x="{LABEL_X}" y="{y + 12}" class="title">'
                'wristband-rocket-session: measured ratios against baselines and peers</text>')
    body.append(f'<text x="{LABEL_X}" y="{y + 32}" class="n">Bar: the ratio, from 1 (parity). '
                'Black tick: the goal; green band: where the goal is met (≥: right of it, '
                '≤: left of it).</text>')
    lx = LABEL_X
    ly = y + 48
    body.append(f'<circle cx="{lx + 5}" cy="{ly}" r="5" fill="{COLOUR["met"]}"/>')
    body.append(f'<text x="{lx + 16}" y="{ly + 4}" class="n">met: solid bar, dot</text>')
    body.append(marker("missed", lx + 175, ly, COLOUR["missed"]))
    body.append(f'<text x="{lx + 186}" y="{ly + 4}" class="n">missed: hatched bar, square</text>')
    body.append(marker("no goal", lx + 390, ly, COLOUR["no goal"]))
    body.append(f'<text x="{lx + 401}" y="{ly + 4}" class="n">no goal: grey bar, ring</text>')
    y = ly + 16
    if linear:
        y = panel(body, y, "Against the same work without the crate, or a Rust baseline",
                  "Linear scale, 0.80 to 1.20. Time, instructions and memory goals read ≤ "
                  "(lower is better); throughput goals read ≥.", linear, LINEAR) + 10
    if log:
        y = panel(body, y, "Against Node.js (iron-session 8): how many times as fast",
                  "Logarithmic scale, 1× to 1000×.", log, LOG) + 10
    body.append(f'<text x="{LABEL_X}" y="{num(y + 14)}" class="n">Drawn by '
                'scripts/bench_chart.py from docs/bench-results.tsv; methods, runs and profiles '
                'in docs/benchmarks.md.</text>')
    height = y + 26
    out.append('<?xml version="1.0" encoding="UTF-8"?>')
    out.append(f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{num(height)}" '
               f'viewBox="0 0 {WIDTH} {num(height)}" role="img" '
               'aria-label="Bar chart of the measured ratios against each baseline and peer, '
               'with each goal marked">')
    out.append("<title>Benchmark ratios of wristband-rocket-session against each baseline and "
               "peer, with their goals</title>")
    out.append("<defs>")
    out.append('<pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
               'patternTransform="rotate(45)"><rect width="6" height="6" fill="#fbe3d0"/>'
               f'<line x1="0" y1="0" x2="0" y2="6" stroke="{COLOUR["missed"]}" stroke-width="2.5"/>'
               "</pattern>")
    out.append("<style>"
               f"text{{font-family:{FONT};fill:#1a202c}}"
               ".title{font-size:17px;font-weight:bold}"
               ".h{font-size:14px;font-weight:bold}"
               ".n{font-size:11.5px;fill:#4a5568}"
               ".t{font-size:11px;fill:#4a5568;text-anchor:middle}"
               ".w{font-size:13px}"
               ".a{font-size:11px;fill:#4a5568}"
               ".v{font-size:13px;font-weight:bold}"
               ".s{font-size:11.5px}"
               "</style>")
    out.append("</defs>")
    out.append(f'<rect width="{WIDTH}" height="{num(height)}" fill="#fff"/>')
    out.extend(body)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def is_log(row):
    goal = float(row["goal"].split()[1]) if row["goal"] != "-" else 0
    return float(row["ratio"]) > LOG_PANEL_ABOVE or goal > LOG_PANEL_ABOVE


# ----------------------------------------------------------------------------------------------

def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def record(path, fields):
    """Writes one row into the results file at `path` (made if missing): replaces the row with
    the same id in place, or appends it. The verdict is worked out from the ratio and goal."""
    values = dict(zip([c for c in COLUMNS if c != "verdict"], fields))
    ratio = values["ratio"]
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", ratio):
        raise Invalid(f"ratio {ratio!r} is not a decimal number")
    values["verdict"] = verdict_of(ratio, values["goal"])
    line = "\t".join(values[c].replace("\t", " ").replace("\n", " ") for c in COLUMNS)
    text = read(path) if os.path.exists(path) else NEW_FILE_HEADER + "\t".join(COLUMNS) + "\n"
    lines = text.splitlines()
    parse_rows(text, path)
    for i, old in enumerate(lines):
        if not old.startswith("#") and old.split("\t", 1)[0] == values["id"]:
            lines[i] = line
            break
    else:
        lines.append(line)
    write(path, "\n".join(lines) + "\n")
    validate(parse_rows(read(path), path), None, path)
    print(f"recorded in {path}: {values['id']} {ratio} ({values['verdict']})")


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="draw nothing; exit 1 if the SVG or the table differ from the results")
    parser.add_argument("--results", default=RESULTS, help="the results file (TSV)")
    parser.add_argument("--doc", default=DOC, help="the Markdown page with the summary markers")
    parser.add_argument("--svg", default=SVG, help="the chart to write")
    sub = parser.add_subparsers(dest="command")
    rec = sub.add_parser("record", help="write one row into a results file")
    rec.add_argument("--results", dest="record_results", required=True)
    rec.add_argument("fields", nargs=len(COLUMNS) - 1,
                     metavar="|".join(c for c in COLUMNS if c != "verdict"))
    args = parser.parse_args(argv)
    try:
        if args.command == "record":
            record(args.record_results, args.fields)
            return 0
        doc = read(args.doc)
        rows = parse_rows(read(args.results), os.path.relpath(args.results, ROOT))
        validate(rows, anchors_of(doc), os.path.relpath(args.results, ROOT))
        new_doc, new_svg = with_table(doc, rows), chart(rows)
    except Invalid as e:
        print(f"bench_chart: {e}", file=sys.stderr)
        return 1
    old_svg = read(args.svg) if os.path.exists(args.svg) else None
    stale = [path for path, old, new in [(args.doc, doc, new_doc), (args.svg, old_svg, new_svg)]
             if old != new]
    if args.check:
        for path in stale:
            print(f"bench_chart: {os.path.relpath(path, ROOT)} differs from what "
                  f"{os.path.relpath(args.results, ROOT)} draws; run python3 scripts/bench_chart.py",
                  file=sys.stderr)
        return 1 if stale else 0
    write(args.doc, new_doc)
    write(args.svg, new_svg)
    for path in stale:
        print(f"wrote {os.path.relpath(path, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env bash
# Micro benchmarks: `cargo bench --bench codec` (criterion + interleaved ratios), then
# iron-session's seal + unseal in Node on the same payload in rounds alternating with the codec's
# seal + open loop (CODEC_PROFILE in benches/codec.rs), then a table of medians and ratios.
# See docs/benchmarks.md.
#
#   bash benches/micro.sh
#   NODE_ITERATIONS=2000 NODE_ROUNDS=5 RUST_ITERATIONS=100000 bash benches/micro.sh
#   RESULTS_TSV=docs/bench-results.tsv bash benches/micro.sh
#
# With RESULTS_TSV, the goals' ratios are also written to that file (ids codec-floor-1k,
# codec-floor-3k, codec-privatejar-1k, iron-session; see benches/lib.sh).

NODE_ITERATIONS=${NODE_ITERATIONS:-2000}
NODE_ROUNDS=${NODE_ROUNDS:-5}
RUST_ITERATIONS=${RUST_ITERATIONS:-100000}
TARGET=${CARGO_TARGET_DIR:-target}
source "$(dirname "$0")/lib.sh"

echo "== building (release)"
build_bench_server
node_baseline "$BENCH_SERVER"

echo "== cargo bench --bench codec (loadavg $(loadavg))"
cargo bench --bench codec 2>&1 | tee "$WORK/criterion.log"
BIN=$(codec_bench_bin)

# Node and Rust in alternating rounds: iron-session seal+unseal, then the codec's and the floor's
# seal+open loops.
echo "== iron-session seal+unseal vs codec seal+open, $NODE_ROUNDS alternating rounds"
for round in $(seq "$NODE_ROUNDS"); do
    node_ns=$(PAYLOAD_FILE="$WORK/payload.json" node benches/node/seal.js "$NODE_ITERATIONS" 1 |
        tee -a "$WORK/node.log" | sed -n 's/^iron_seal_unseal_ns_median //p')
    rust_ns=$(CODEC_PROFILE=seal_open/codec/1.1KB CODEC_PROFILE_ITERS=$RUST_ITERATIONS "$BIN" |
        sed -n 's/.* iterations, \([0-9.]*\) ns per iteration$/\1/p')
    floor_ns=$(CODEC_PROFILE=seal_open/floor/1.1KB CODEC_PROFILE_ITERS=$RUST_ITERATIONS "$BIN" |
        sed -n 's/.* iterations, \([0-9.]*\) ns per iteration$/\1/p')
    printf '%s\t%s\t%s\t%s\n' "$round" "$node_ns" "$rust_ns" "$floor_ns" | tee -a "$WORK/pairs.tsv"
done

echo "== results (loadavg $(loadavg))"
{
    echo "$RECORD_PY"
    cat <<'EOF'
import json
import os
import re
import statistics
import sys

root, criterion_log, pairs_file = sys.argv[1:]

def median_ns(*parts):
    with open(os.path.join(root, *parts, "new", "estimates.json")) as f:
        return json.load(f)["median"]["point_estimate"]

# The sizes this run measured (target/criterion may also hold older ones).
sizes = sorted({m.group(1) for m in
                (re.match(r"seal/codec/(\S+)", l) for l in open(criterion_log)) if m})
print("Criterion medians (µs) and ratios of medians (codec / baseline; < 1 = codec faster):")
print()
print("| operation | JSON | codec | floor | private_jar | codec/floor | private_jar/codec |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
for op in ["seal", "open", "seal_open"]:
    for size in sizes:
        c, f, j = (median_ns(op, impl, size) for impl in ["codec", "floor", "private_jar"])
        print(f"| {op} | {size} | {c/1e3:.2f} | {f/1e3:.2f} | {j/1e3:.2f} "
              f"| {c/f:.3f} | {j/c:.3f} |")
first = median_ns("rotation_open", "first_secret")
third = median_ns("rotation_open", "third_secret")
print(f"| open, 3 secrets | first / third secret | {first/1e3:.2f} | {third/1e3:.2f} | "
      f"| third/first {third/first:.3f} | |")

print()
print("Interleaved ratios (median of 201 alternating rounds):")
print()
for line in open(criterion_log):
    if line.startswith("ratio "):
        print("   ", line.rstrip())

pairs = [tuple(float(x) for x in line.split()[1:]) for line in open(pairs_file)]
ratios = sorted(n / r for n, r, _ in pairs)
print()
print(f"iron-session seal+unseal vs codec seal+open ({sizes[0]}), alternating rounds:")
for i, (n, r, f) in enumerate(pairs, 1):
    print(f"    round {i}: iron-session {n/1e3:.1f} µs, codec {r/1e3:.2f} µs, floor {f/1e3:.2f} µs,"
          f" iron/codec {n/r:.0f}x, iron/floor {n/f:.0f}x")
ratio = statistics.median(ratios)
print(f"iron-session / codec: median {ratio:.0f}x (range {ratios[0]:.0f}x-{ratios[-1]:.0f}x; "
      f"goal >= 200x: {'met' if ratio >= 200 else 'missed'})")
print(f"iron-session / floor: median {statistics.median(n / f for n, _, f in pairs):.0f}x")

# The goals' rows (docs/bench-results.tsv): the interleaved medians and the Node ratio.
interleaved = {}
for line in open(criterion_log):
    m = re.match(r"ratio (\S+ \S+)\s+median ([0-9.]+)", line)
    if m:
        interleaved[m.group(1)] = m.group(2)
section = "interleaved-ratios-time-of-codec--time-of-baseline-below-1-means-the-codec-is-faster"
for id_, what, against, pair, goal, where in [
    ("codec-floor-1k", "Codec seal+open, 1.1 KB session", "floor: serde_json+AES-GCM+base64",
     "seal_open/1.1KB codec/floor", "<= 1.10", section),
    ("codec-floor-3k", "Codec seal+open, 2.7 KB session", "floor: serde_json+AES-GCM+base64",
     "seal_open/2.7KB codec/floor", "<= 1.10", section),
    ("codec-privatejar-1k", "Codec seal+open, 1.1 KB session", "Rocket PrivateJar + JSON",
     "seal_open/1.1KB codec/private_jar", "-", "codec-against-privatejar--json-13"),
]:
    if pair in interleaved:
        record(id_, what, against, interleaved[pair], goal, "time, interleaved",
               "one run (median of 201 interleaved rounds)", where)
record("iron-session", "Codec seal+open, 1.1 KB session", "iron-session 8 seal+unseal (Node)",
       f"{ratio:.0f}", ">= 200", "time, alternating",
       f"one run (median of {len(pairs)} alternating rounds)",
       "iron-session-node-against-the-codec-alternating-rounds")
EOF
} | python3 - "$TARGET/criterion" "$WORK/criterion.log" "$WORK/pairs.tsv"

#!/usr/bin/env bash
# End-to-end throughput: Rocket without the fairing, with it (untouched, read, read+write), Rocket's
# private cookies, and Express + iron-session, all measured with wrk in interleaved rounds.
#
#   bash benches/e2e.sh                 # defaults: 3 rounds of wrk -t2 -c32 -d5s per target
#   ROUNDS=5 DURATION=5s bash benches/e2e.sh
#
# Servers listen on 127.0.0.1 only and are killed on exit. Prints requests/s per round, the
# median per target, and the ratios docs/benchmarks.md states goals for. See docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
PLAIN_PORT=${PLAIN_PORT:-18001}
SESSION_PORT=${SESSION_PORT:-18002}
NODE_PORT=${NODE_PORT:-18003}
WORK=$(mktemp -d)
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

if ! command -v wrk >/dev/null; then
    echo "== installing wrk"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi

echo "== building (release)"
cargo build --release --manifest-path benches/server/Cargo.toml --target-dir "${CARGO_TARGET_DIR:-target}"
SERVER=${CARGO_TARGET_DIR:-target}/release/bench_server
"$SERVER" payload >"$WORK/payload.json"

echo "== npm install (benches/node)"
(cd benches/node && npm install --no-audit --no-fund --silent)

echo "== starting servers"
"$SERVER" plain "$PLAIN_PORT" &
PIDS+=($!)
"$SERVER" session "$SESSION_PORT" &
PIDS+=($!)
PAYLOAD_FILE="$WORK/payload.json" node benches/node/server.js "$NODE_PORT" &
PIDS+=($!)

wait_for() {
    for _ in $(seq 100); do
        curl -fs -o /dev/null "http://127.0.0.1:$1/hello" && return 0
        sleep 0.1
    done
    echo "server on port $1 did not start" >&2
    exit 1
}
wait_for "$PLAIN_PORT"
wait_for "$SESSION_PORT"
wait_for "$NODE_PORT"

# The `name=value` of the cookie a seed route sets.
cookie_from() {
    local url=$1 name=$2 value
    value=$(curl -fsS -D - -o /dev/null "$url" | tr -d '\r' |
        sed -n "s/^[Ss]et-[Cc]ookie: \($name=[^;]*\).*/\1/p" | head -n1)
    [ -n "$value" ] || { echo "no $name cookie from $url" >&2; exit 1; }
    echo "$value"
}
SESSION_COOKIE=$(cookie_from "http://127.0.0.1:$SESSION_PORT/seed" session)
PRIVATE_COOKIE=$(cookie_from "http://127.0.0.1:$PLAIN_PORT/private/seed" private_session)
NODE_COOKIE=$(cookie_from "http://127.0.0.1:$NODE_PORT/seed" session)
echo "cookie header bytes: session ${#SESSION_COOKIE}, private ${#PRIVATE_COOKIE}, iron-session ${#NODE_COOKIE}"

# Each target: name, URL, cookie header ("" for none). One request each first: it must succeed,
# and the write routes must answer with a Set-Cookie, the others without.
TARGETS=(
    "hello_plain|http://127.0.0.1:$PLAIN_PORT/hello|"
    "hello_untouched|http://127.0.0.1:$SESSION_PORT/hello|"
    "hello_plain_cookie|http://127.0.0.1:$PLAIN_PORT/hello|$SESSION_COOKIE"
    "hello_untouched_cookie|http://127.0.0.1:$SESSION_PORT/hello|$SESSION_COOKIE"
    "read|http://127.0.0.1:$SESSION_PORT/read|$SESSION_COOKIE"
    "write|http://127.0.0.1:$SESSION_PORT/write|$SESSION_COOKIE"
    "private|http://127.0.0.1:$PLAIN_PORT/private|$PRIVATE_COOKIE"
    "node_hello|http://127.0.0.1:$NODE_PORT/hello|"
    "node_write|http://127.0.0.1:$NODE_PORT/write|$NODE_COOKIE"
)
for target in "${TARGETS[@]}"; do
    IFS='|' read -r name url cookie <<<"$target"
    headers=$(curl -fsS -D - -o /dev/null ${cookie:+-H "Cookie: $cookie"} "$url" | tr -d '\r')
    sets=$(grep -ci '^set-cookie:' <<<"$headers" || true)
    case $name in
        write | private | node_write) want=1 ;;
        *) want=0 ;;
    esac
    if [ "$sets" != "$want" ]; then
        echo "$name: expected $want Set-Cookie header(s), got $sets" >&2
        exit 1
    fi
done

echo "== wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $ROUNDS interleaved rounds (loadavg $(cut -d' ' -f1-3 /proc/loadavg))"
RESULTS="$WORK/results.tsv"
for round in $(seq "$ROUNDS"); do
    # Rotate the order each round so no target always runs right after the same neighbour.
    n=${#TARGETS[@]}
    for i in $(seq 0 $((n - 1))); do
        IFS='|' read -r name url cookie <<<"${TARGETS[$(((i + round - 1) % n))]}"
        out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" \
            ${cookie:+-H "Cookie: $cookie"} "$url")
        if grep -q 'Non-2xx\|Socket errors' <<<"$out"; then
            echo "$name: errors during the run:" >&2
            echo "$out" >&2
            exit 1
        fi
        rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
        printf '%s\t%s\t%s\n' "$round" "$name" "$rps" | tee -a "$RESULTS"
    done
done

echo "== results (loadavg $(cut -d' ' -f1-3 /proc/loadavg))"
python3 - "$RESULTS" <<'EOF'
import statistics
import sys
from collections import defaultdict

runs = defaultdict(dict)
for line in open(sys.argv[1]):
    rnd, name, rps = line.split()
    runs[name][int(rnd)] = float(rps)

order = ["hello_plain", "hello_untouched", "hello_plain_cookie", "hello_untouched_cookie",
         "read", "write", "private", "node_hello", "node_write"]
print("| target | requests/s per round | median |")
print("| --- | --- | ---: |")
med = {}
for name in order:
    rounds = [runs[name][r] for r in sorted(runs[name])]
    med[name] = statistics.median(rounds)
    print(f"| {name} | {', '.join(f'{x:.0f}' for x in rounds)} | {med[name]:.0f} |")

goals = [
    ("write / private (Rocket private cookie read+write)", "write", "private", ">=", 1.15),
    ("read / hello_plain_cookie (same Cookie header)", "read", "hello_plain_cookie", ">=", 0.90),
    ("hello_untouched / hello_plain", "hello_untouched", "hello_plain", ">=", 0.98),
    ("hello_untouched_cookie / hello_plain_cookie", "hello_untouched_cookie",
     "hello_plain_cookie", ">=", 0.98),
    ("write / node_write (Express + iron-session)", "write", "node_write", ">=", 25.0),
]
print()
print("| ratio | of medians | per round: median (min-max) | goal | met |")
print("| --- | ---: | --- | --- | --- |")
for label, a, b, op, goal in goals:
    ratio = med[a] / med[b]
    per_round = [runs[a][r] / runs[b][r] for r in sorted(runs[a]) if r in runs[b]]
    met = "met" if ratio >= goal else "missed"
    print(f"| {label} | {ratio:.3f} | {statistics.median(per_round):.3f} "
          f"({min(per_round):.3f}-{max(per_round):.3f}) "
          f"| {op} {goal} | {met} |")
EOF

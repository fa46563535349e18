#!/usr/bin/env bash
# End-to-end throughput: Rocket without the fairing, with it (untouched, read, read+write), Rocket's
# private cookies, and Express + iron-session, all measured with wrk in interleaved rounds.
#
#   bash benches/e2e.sh                 # defaults: 3 rounds of wrk -t2 -c32 -d5s per target
#   ROUNDS=5 DURATION=5s bash benches/e2e.sh
#   RESULTS_TSV=docs/bench-results.tsv ROUNDS=5 DURATION=5s bash benches/e2e.sh
#
# With RESULTS_TSV, the four goals' ratios of medians are also written to that file (ids
# e2e-write-private, e2e-read-hello, e2e-untouched, e2e-node; see benches/lib.sh).
# Servers listen on 127.0.0.1 only and are killed on exit. Prints requests/s per round, the
# median per target, and the ratios docs/benchmarks.md states goals for. See docs/benchmarks.md.
# The shared parts (wrk runs, server start, cookies, the medians table) are in benches/lib.sh.

ROUNDS=${ROUNDS:-3}
PLAIN_PORT=${PLAIN_PORT:-18001}
SESSION_PORT=${SESSION_PORT:-18002}
NODE_PORT=${NODE_PORT:-18003}
source "$(dirname "$0")/lib.sh"
RESULT_COMMAND="ROUNDS=$ROUNDS DURATION=$DURATION bash benches/e2e.sh"

need wrk

echo "== building (release)"
build_bench_server
echo "== npm install (benches/node)"
node_baseline "$BENCH_SERVER"

echo "== starting servers"
start "$BENCH_SERVER" plain "$PLAIN_PORT"
start "$BENCH_SERVER" session "$SESSION_PORT"
start env PAYLOAD_FILE="$WORK/payload.json" node benches/node/server.js "$NODE_PORT"
wait_for "$PLAIN_PORT"
wait_for "$SESSION_PORT"
wait_for "$NODE_PORT"

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
    probe "$url" "${cookie:+Cookie: $cookie}"
    case $name in
        write | private | node_write) want=1 ;;
        *) want=0 ;;
    esac
    if [ "$SETS" != "$want" ]; then
        echo "$name: expected $want Set-Cookie header(s), got $SETS" >&2
        exit 1
    fi
done

echo "== wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $ROUNDS interleaved rounds (loadavg $(loadavg))"
for round in $(seq "$ROUNDS"); do
    # Rotate the order each round so no target always runs right after the same neighbour.
    n=${#TARGETS[@]}
    for i in $(seq 0 $((n - 1))); do
        IFS='|' read -r name url cookie <<<"${TARGETS[$(((i + round - 1) % n))]}"
        wrk_run "$round" "$name" "$url" "${cookie:+Cookie: $cookie}"
    done
done

echo "== results (loadavg $(loadavg))"
report hello_plain hello_untouched hello_plain_cookie hello_untouched_cookie \
    read write private node_hello node_write <<'PY'
goals = [
    ("write / private (Rocket private cookie read+write)", "write", "private", ">=", 1.15),
    ("read / hello_plain_cookie (same Cookie header)", "read", "hello_plain_cookie", ">=", 0.90),
    ("hello_untouched / hello_plain", "hello_untouched", "hello_plain", ">=", 0.98),
    ("hello_untouched_cookie / hello_plain_cookie", "hello_untouched_cookie",
     "hello_plain_cookie", ">=", 0.98),
    ("write / node_write (Express + iron-session)", "write", "node_write", ">=", 25.0),
]
# The rows of docs/bench-results.tsv: id, what, against, numerator, denominator, goal, digits.
rows = [
    ("e2e-write-private", "/write: read and re-seal the session",
     "Rocket private cookies, same work", "write", "private", ">= 1.15", 3),
    ("e2e-read-hello", "/read: read the session only", "Rocket /hello, same Cookie header",
     "read", "hello_plain_cookie", ">= 0.90", 3),
    ("e2e-untouched", "/hello, session fairing attached", "Rocket /hello, no fairing",
     "hello_untouched", "hello_plain", ">= 0.98", 3),
    ("e2e-node", "/write: read and re-seal the session", "Express + iron-session (Node)",
     "write", "node_write", ">= 25", 1),
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
for id_, what, against, a, b, goal, digits in rows:
    record(id_, what, against, f"{med[a] / med[b]:.{digits}f}", goal, "req/s, wrk",
           f"one run of {len(runs[a])} rounds (ratio of medians)",
           "open-cache-the-read-only-route-at-090")
PY

#!/usr/bin/env bash
# `AuthenticatedSession` on a read-only route (`/me` of the bench server), BEFORE and AFTER
# `renew_after`: before it, the guard re-sealed the session and sent a `Set-Cookie` on every
# authenticated request; after it, only once `renew_after` seconds (60 by default) have passed
# since the cookie was issued. wrk loads both servers in alternating rounds with the same cookie.
#
#   bash benches/renew.sh                                   # builds both (BEFORE from 92e1616)
#   BEFORE_BIN=/tmp/b/bench_server AFTER_BIN=/tmp/a/bench_server ROUNDS=5 bash benches/renew.sh
#
# AFTER is the current tree's bench server (built into ${CARGO_TARGET_DIR:-target} unless
# AFTER_BIN is given). BEFORE, unless BEFORE_BIN is given, is built from BEFORE_REV (92e1616, the
# commit before `renew_after`) in a temporary git worktree, with the current bench server's
# src/main.rs copied in (its `/me` route compiles against either API); the worktree is removed on
# exit. Both servers seal with the bench server's fixed secret and cookie name, so one cookie opens
# on both: each round seeds a fresh one from AFTER's `/seed` (a cookie older than `renew_after`
# would make AFTER renew on every request too), checks it with curl, then runs wrk on BEFORE and
# AFTER (the first of the pair alternates each round). Servers listen on 127.0.0.1 only and are
# killed on exit. See docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
BEFORE_PORT=${BEFORE_PORT:-18011}
AFTER_PORT=${AFTER_PORT:-18012}
BEFORE_REV=${BEFORE_REV:-92e1616}
WORK=$(mktemp -d)
PIDS=()
WORKTREE=""

cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    if [ -n "$WORKTREE" ]; then
        git worktree remove --force "$WORKTREE" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

if ! command -v wrk >/dev/null; then
    echo "== installing wrk"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi

if [ -z "${AFTER_BIN:-}" ]; then
    echo "== building AFTER (current tree, release)"
    cargo build --release --manifest-path benches/server/Cargo.toml \
        --target-dir "${CARGO_TARGET_DIR:-target}"
    AFTER_BIN=${CARGO_TARGET_DIR:-target}/release/bench_server
fi
if [ -z "${BEFORE_BIN:-}" ]; then
    echo "== building BEFORE ($BEFORE_REV + this bench server's src/main.rs, release)"
    WORKTREE="$WORK/before"
    git worktree add --detach "$WORKTREE" "$BEFORE_REV" >/dev/null
    cp benches/server/src/main.rs "$WORKTREE/benches/server/src/main.rs"
    BEFORE_TARGET=${BEFORE_TARGET_DIR:-$PWD/target/renew-before}
    cargo build --release --locked --manifest-path "$WORKTREE/benches/server/Cargo.toml" \
        --target-dir "$BEFORE_TARGET"
    BEFORE_BIN=$BEFORE_TARGET/release/bench_server
fi

echo "== starting servers (BEFORE $BEFORE_BIN on $BEFORE_PORT, AFTER $AFTER_BIN on $AFTER_PORT)"
"$BEFORE_BIN" session "$BEFORE_PORT" &
PIDS+=($!)
"$AFTER_BIN" session "$AFTER_PORT" &
PIDS+=($!)

wait_for() {
    for _ in $(seq 100); do
        curl -fs -o /dev/null "http://127.0.0.1:$1/hello" && return 0
        sleep 0.1
    done
    echo "server on port $1 did not start" >&2
    exit 1
}
wait_for "$BEFORE_PORT"
wait_for "$AFTER_PORT"

# A fresh `session=value` cookie from AFTER's /seed.
seed() {
    local value
    value=$(curl -fsS -D - -o /dev/null "http://127.0.0.1:$AFTER_PORT/seed" | tr -d '\r' |
        sed -n 's/^[Ss]et-[Cc]ookie: \(session=[^;]*\).*/\1/p' | head -n1)
    [ -n "$value" ] || { echo "no session cookie from /seed" >&2; exit 1; }
    echo "$value"
}

# `/me` with the cookie must answer 200 with the seeded user id, and a Set-Cookie exactly when
# `want` is 1. Prints the status line and the number of Set-Cookie headers.
check() {
    local name=$1 port=$2 cookie=$3 want=$4 headers body sets
    headers=$(curl -fsS -D - -o "$WORK/body" -H "Cookie: $cookie" "http://127.0.0.1:$port/me" |
        tr -d '\r')
    body=$(cat "$WORK/body")
    sets=$(grep -ci '^set-cookie:' <<<"$headers" || true)
    if [ "$sets" != "$want" ] || [ -z "$body" ]; then
        echo "$name /me: expected $want Set-Cookie header(s) and a user id, got $sets and '$body'" >&2
        exit 1
    fi
    echo "$name /me: $(head -n1 <<<"$headers"), body '$body', Set-Cookie headers: $sets"
}

COOKIE=$(seed)
echo "cookie header bytes: ${#COOKIE}"
check BEFORE "$BEFORE_PORT" "$COOKIE" 1
check AFTER "$AFTER_PORT" "$COOKIE" 0
echo "BEFORE's Set-Cookie: $(curl -fsS -D - -o /dev/null -H "Cookie: $COOKIE" \
    "http://127.0.0.1:$BEFORE_PORT/me" | tr -d '\r' | grep -i '^set-cookie:' |
    sed 's/=\([^;]\{16\}\)[^;]*/=\1…/')"

run() {
    local round=$1 name=$2 port=$3 cookie=$4 out rps
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -H "Cookie: $cookie" \
        "http://127.0.0.1:$port/me")
    if grep -q 'Non-2xx\|Socket errors' <<<"$out"; then
        echo "$name: errors during the run:" >&2
        echo "$out" >&2
        exit 1
    fi
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    printf '%s\t%s\t%s\n' "$round" "$name" "$rps" | tee -a "$RESULTS"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== wrk -t$THREADS -c$CONNECTIONS -d$DURATION on /me, $ROUNDS alternating rounds (loadavg $LOAD_START)"
RESULTS="$WORK/results.tsv"
for round in $(seq "$ROUNDS"); do
    # A fresh cookie each round, so AFTER never sees one older than `renew_after` (a round
    # takes about two DURATIONs); both servers get the same one.
    COOKIE=$(seed)
    check BEFORE "$BEFORE_PORT" "$COOKIE" 1 >/dev/null
    check AFTER "$AFTER_PORT" "$COOKIE" 0 >/dev/null
    if [ $((round % 2)) -eq 1 ]; then
        run "$round" before "$BEFORE_PORT" "$COOKIE"
        run "$round" after "$AFTER_PORT" "$COOKIE"
    else
        run "$round" after "$AFTER_PORT" "$COOKIE"
        run "$round" before "$BEFORE_PORT" "$COOKIE"
    fi
    # Still fresh at the end of the round: AFTER wrote no cookie during it.
    check AFTER "$AFTER_PORT" "$COOKIE" 0 >/dev/null
done

echo "== results (loadavg $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end)"
python3 - "$RESULTS" <<'EOF'
import statistics
import sys
from collections import defaultdict

runs = defaultdict(dict)
for line in open(sys.argv[1]):
    rnd, name, rps = line.split()
    runs[name][int(rnd)] = float(rps)

print("| target | requests/s per round | median |")
print("| --- | --- | ---: |")
med = {}
for name in ["before", "after"]:
    rounds = [runs[name][r] for r in sorted(runs[name])]
    med[name] = statistics.median(rounds)
    print(f"| {name} | {', '.join(f'{x:.0f}' for x in rounds)} | {med[name]:.0f} |")
per_round = [runs["after"][r] / runs["before"][r] for r in sorted(runs["after"])]
print()
print(f"after / before, ratio of medians: {med['after'] / med['before']:.3f}")
print(f"after / before per round: {', '.join(f'{x:.3f}' for x in per_round)} "
      f"(median {statistics.median(per_round):.3f})")
EOF

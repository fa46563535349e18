#!/usr/bin/env bash
# The `auth` feature's per-request costs on the bench server, in alternating wrk rounds:
#
#   (a) `/jwt` (`WristbandJwt`: RS256 against the JWKS, cached after the first request) against
#       `/noguard` (no guard) on one `jwt`-mode server, both with the same
#       `Authorization: Bearer <token>` header (goal: jwt / noguard >= 0.85);
#   (c) `/me` (`AuthenticatedSession`) on a `session-auth` server (WristbandAuth attached: the
#       token-refresh check runs on a fresh session and does not fire) against `/me` on a
#       `session` server (sessions only), both with the same fresh logged-in cookie
#       (goal: session-auth / session >= 0.98).
#
#   bash benches/jwt.sh
#   BIN=/tmp/t/release/bench_server ROUNDS=5 DURATION=5s bash benches/jwt.sh
#
# The bench server is built in release into ${CARGO_TARGET_DIR:-target} unless BIN is given.
# Before measuring, curl checks that every target answers 200 and writes no Set-Cookie (the first
# `/jwt` request also fills the JWKS cache). Each round seeds a fresh cookie from the
# session-auth server's `/seed` (`expiresAt` a year ahead; the session server opens it too: same
# secret and cookie name), so neither server renews it (`renew_after`, 60 s) during the round.
# The first of each pair alternates by round. Servers listen on 127.0.0.1 only and are killed on
# exit. See docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
JWT_PORT=${JWT_PORT:-18021}
SESSION_PORT=${SESSION_PORT:-18022}
AUTH_PORT=${AUTH_PORT:-18023}
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

if [ -z "${BIN:-}" ]; then
    echo "== building the bench server (release)"
    cargo build --release --manifest-path benches/server/Cargo.toml \
        --target-dir "${CARGO_TARGET_DIR:-target}"
    BIN=${CARGO_TARGET_DIR:-target}/release/bench_server
fi

echo "== starting servers (jwt on $JWT_PORT, session on $SESSION_PORT, session-auth on $AUTH_PORT)"
"$BIN" jwt "$JWT_PORT" &
PIDS+=($!)
"$BIN" session "$SESSION_PORT" &
PIDS+=($!)
"$BIN" session-auth "$AUTH_PORT" &
PIDS+=($!)

wait_for() {
    for _ in $(seq 100); do
        curl -fs -o /dev/null "http://127.0.0.1:$1/hello" && return 0
        sleep 0.1
    done
    echo "server on port $1 did not start" >&2
    exit 1
}
wait_for "$JWT_PORT"
wait_for "$SESSION_PORT"
wait_for "$AUTH_PORT"

# `GET url` with header `header` must answer 200 with body `want` (any non-empty body when
# `want` is empty) and no Set-Cookie.
check() {
    local name=$1 url=$2 header=$3 want=$4 headers body sets
    headers=$(curl -fsS -D - -o "$WORK/body" -H "$header" "$url" | tr -d '\r')
    body=$(cat "$WORK/body")
    sets=$(grep -ci '^set-cookie:' <<<"$headers" || true)
    if [ "$sets" != 0 ] || [ -z "$body" ] || { [ -n "$want" ] && [ "$body" != "$want" ]; }; then
        echo "$name: expected 200, body '${want:-…}' and no Set-Cookie; got $sets and '$body'" >&2
        exit 1
    fi
    echo "$name: $(head -n1 <<<"$headers"), body '$body', Set-Cookie headers: $sets"
}

TOKEN=$(curl -fsS "http://127.0.0.1:$JWT_PORT/token")
AUTH="Authorization: Bearer $TOKEN"
echo "token bytes: ${#TOKEN}"
check "jwt /jwt" "http://127.0.0.1:$JWT_PORT/jwt" "$AUTH" ok
check "jwt /noguard" "http://127.0.0.1:$JWT_PORT/noguard" "$AUTH" ok
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$JWT_PORT/jwt")
[ "$code" = 401 ] || { echo "/jwt without a token: expected 401, got $code" >&2; exit 1; }
echo "jwt /jwt without a token: $code"

# A fresh `session=value` cookie from the session-auth server's /seed.
seed() {
    local value
    value=$(curl -fsS -D - -o /dev/null "http://127.0.0.1:$AUTH_PORT/seed" | tr -d '\r' |
        sed -n 's/^[Ss]et-[Cc]ookie: \(session=[^;]*\).*/\1/p' | head -n1)
    [ -n "$value" ] || { echo "no session cookie from /seed" >&2; exit 1; }
    echo "$value"
}
COOKIE=$(seed)
echo "cookie header bytes: ${#COOKIE}"
check "session /me" "http://127.0.0.1:$SESSION_PORT/me" "Cookie: $COOKIE" ""
check "session-auth /me" "http://127.0.0.1:$AUTH_PORT/me" "Cookie: $COOKIE" ""

run() {
    local round=$1 name=$2 url=$3 header=$4 out rps
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -H "$header" "$url")
    if grep -q 'Non-2xx\|Socket errors' <<<"$out"; then
        echo "$name: errors during the run:" >&2
        echo "$out" >&2
        exit 1
    fi
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    printf '%s\t%s\t%s\n' "$round" "$name" "$rps" | tee -a "$RESULTS"
}

pair() {
    local round=$1
    shift
    if [ $((round % 2)) -eq 1 ]; then
        run "$round" "$1" "$2" "$3"
        run "$round" "$4" "$5" "$6"
    else
        run "$round" "$4" "$5" "$6"
        run "$round" "$1" "$2" "$3"
    fi
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
RESULTS="$WORK/results.tsv"
echo "== wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $ROUNDS alternating rounds (loadavg $LOAD_START)"
for round in $(seq "$ROUNDS"); do
    pair "$round" noguard "http://127.0.0.1:$JWT_PORT/noguard" "$AUTH" \
        jwt "http://127.0.0.1:$JWT_PORT/jwt" "$AUTH"
    COOKIE=$(seed)
    check "session /me" "http://127.0.0.1:$SESSION_PORT/me" "Cookie: $COOKIE" "" >/dev/null
    check "session-auth /me" "http://127.0.0.1:$AUTH_PORT/me" "Cookie: $COOKIE" "" >/dev/null
    pair "$round" session "http://127.0.0.1:$SESSION_PORT/me" "Cookie: $COOKIE" \
        session-auth "http://127.0.0.1:$AUTH_PORT/me" "Cookie: $COOKIE"
    # Still fresh at the end of the round: neither server wrote a cookie.
    check "session-auth /me" "http://127.0.0.1:$AUTH_PORT/me" "Cookie: $COOKIE" "" >/dev/null
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

echo "== results (loadavg $LOAD_START at the start, $LOAD_END at the end)"
python3 - "$RESULTS" <<'PY'
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
for name in ["noguard", "jwt", "session", "session-auth"]:
    rounds = [runs[name][r] for r in sorted(runs[name])]
    med[name] = statistics.median(rounds)
    print(f"| {name} | {', '.join(f'{x:.0f}' for x in rounds)} | {med[name]:.0f} |")
print()
for goal, num, den, target in [("(a)", "jwt", "noguard", 0.85), ("(c)", "session-auth", "session", 0.98)]:
    per_round = [runs[num][r] / runs[den][r] for r in sorted(runs[num])]
    ratio = med[num] / med[den]
    verdict = "met" if ratio >= target else "missed"
    print(f"{goal} {num} / {den}, ratio of medians: {ratio:.3f} (goal >= {target}: {verdict})")
    print(f"    per round: {', '.join(f'{x:.3f}' for x in per_round)} "
          f"(median {statistics.median(per_round):.3f})")
PY

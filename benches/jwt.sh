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
#   RESULTS_TSV=docs/bench-results.tsv bash benches/jwt.sh   # (a) and (c) also written there
#
# The bench server is built in release into ${CARGO_TARGET_DIR:-target} unless BIN is given.
# Before measuring, curl checks that every target answers 200 and writes no Set-Cookie (the first
# `/jwt` request also fills the JWKS cache). Each round seeds a fresh cookie from the
# session-auth server's `/seed` (`expiresAt` a year ahead; the session server opens it too: same
# secret and cookie name), so neither server renews it (`renew_after`, 60 s) during the round.
# The first of each pair alternates by round. Servers listen on 127.0.0.1 only and are killed on
# exit. See docs/benchmarks.md; the shared parts are in benches/lib.sh.

JWT_PORT=${JWT_PORT:-18021}
SESSION_PORT=${SESSION_PORT:-18022}
AUTH_PORT=${AUTH_PORT:-18023}
source "$(dirname "$0")/lib.sh"
RESULT_COMMAND="ROUNDS=$ROUNDS DURATION=$DURATION bash benches/jwt.sh"

need wrk

if [ -z "${BIN:-}" ]; then
    echo "== building the bench server (release)"
    build_bench_server
    BIN=$BENCH_SERVER
fi

echo "== starting servers (jwt on $JWT_PORT, session on $SESSION_PORT, session-auth on $AUTH_PORT)"
start "$BIN" jwt "$JWT_PORT"
start "$BIN" session "$SESSION_PORT"
start "$BIN" session-auth "$AUTH_PORT"
wait_for "$JWT_PORT"
wait_for "$SESSION_PORT"
wait_for "$AUTH_PORT"

# `GET url` with header `header` must answer 200 with body `want` (any non-empty body when
# `want` is empty) and no Set-Cookie.
check() {
    local name=$1 url=$2 header=$3 want=$4
    probe "$url" "$header"
    if [ "$SETS" != 0 ] || [ -z "$BODY" ] || { [ -n "$want" ] && [ "$BODY" != "$want" ]; }; then
        echo "$name: expected 200, body '${want:-…}' and no Set-Cookie; got $SETS and '$BODY'" >&2
        exit 1
    fi
    echo "$name: $(head -n1 <<<"$HEADERS"), body '$BODY', Set-Cookie headers: $SETS"
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
    cookie_from "http://127.0.0.1:$AUTH_PORT/seed" session
}
COOKIE=$(seed)
echo "cookie header bytes: ${#COOKIE}"
check "session /me" "http://127.0.0.1:$SESSION_PORT/me" "Cookie: $COOKIE" ""
check "session-auth /me" "http://127.0.0.1:$AUTH_PORT/me" "Cookie: $COOKIE" ""

LOAD_START=$(loadavg)
echo "== wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $ROUNDS alternating rounds (loadavg $LOAD_START)"
for round in $(seq "$ROUNDS"); do
    wrk_pair "$round" noguard "http://127.0.0.1:$JWT_PORT/noguard" "$AUTH" \
        jwt "http://127.0.0.1:$JWT_PORT/jwt" "$AUTH"
    COOKIE=$(seed)
    check "session /me" "http://127.0.0.1:$SESSION_PORT/me" "Cookie: $COOKIE" "" >/dev/null
    check "session-auth /me" "http://127.0.0.1:$AUTH_PORT/me" "Cookie: $COOKIE" "" >/dev/null
    wrk_pair "$round" session "http://127.0.0.1:$SESSION_PORT/me" "Cookie: $COOKIE" \
        session-auth "http://127.0.0.1:$AUTH_PORT/me" "Cookie: $COOKIE"
    # Still fresh at the end of the round: neither server wrote a cookie.
    check "session-auth /me" "http://127.0.0.1:$AUTH_PORT/me" "Cookie: $COOKIE" "" >/dev/null
done
LOAD_END=$(loadavg)

echo "== results (loadavg $LOAD_START at the start, $LOAD_END at the end)"
report noguard jwt session session-auth <<'PY'
print()
for goal, num, den, target in [("(a)", "jwt", "noguard", 0.85), ("(c)", "session-auth", "session", 0.98)]:
    per_round = [runs[num][r] / runs[den][r] for r in sorted(runs[num])]
    ratio = med[num] / med[den]
    verdict = "met" if ratio >= target else "missed"
    print(f"{goal} {num} / {den}, ratio of medians: {ratio:.3f} (goal >= {target}: {verdict})")
    print(f"    per round: {', '.join(f'{x:.3f}' for x in per_round)} "
          f"(median {statistics.median(per_round):.3f})")
for id_, what, against, num, den, goal in [
    ("jwt-guard", "WristbandJwt route (a)", "same route without the guard", "jwt", "noguard",
     ">= 0.85"),
    ("jwt-me-auth", "/me with WristbandAuth attached (c)", "/me, sessions only", "session-auth",
     "session", ">= 0.98"),
]:
    record(id_, what, against, f"{med[num] / med[den]:.3f}", goal, "req/s, wrk",
           f"one run of {len(runs[num])} rounds (ratio of medians)",
           "auth-feature-after-the-caches-second-run")
PY

#!/usr/bin/env bash
# What each layer adds to a request, as five target / baseline pairs on the bench server
# (issue 19), each measured with wrk in alternating rounds:
#
#   P1 read / read_plain           opening the session: `session` /read against Rocket alone
#                                  (`plain` /read, which answers `hello`), the same Cookie header
#   P2 read_revocation / read      the revocation check: `session-revocation` /read against
#                                  `session` /read, the same cookie
#   P3 me_auth / me                WristbandAuth's refresh check: `session-auth` /me against
#                                  `session` /me (`AuthenticatedSession`), the same fresh cookie
#   P4 jwt / jwt_noguard           the WristbandJwt guard: `jwt` /jwt against `jwt-noguard` /jwt
#                                  (the same app, the route unguarded), the same
#                                  `Authorization: Bearer` header
#   P5 hello_all / hello_plain     an untouched route with every fairing attached (`all`: sessions,
#                                  revocation, WristbandAuth) against none (`plain`), no cookie
#
#   bash benches/overhead.sh                          # every pair, 5 rounds of wrk -t2 -c32 -d5s
#   PAIRS="P1 P2" ROUNDS=3 DURATION=3s bash benches/overhead.sh
#   SHAPE=tls PAIRS=P2 ROUNDS=5 DURATION=3s bash benches/overhead.sh   # Redis over TLS
#   SHAPE=cluster PAIRS=P2 ROUNDS=5 DURATION=3s bash benches/overhead.sh   # a Redis Cluster
#
# PAIRS picks the pairs (default all five, in that order). Every server runs in one process, the
# bench server's `pairs` mode (ports BASE_PORT to BASE_PORT + 6), so that each wrk run also gives
# the CPU time that process used per request (user + system, from /proc: what the server spent,
# whatever wrk and the scheduler did meanwhile). The revocation modes get a throwaway Redis of
# the shape SHAPE names (benches/lib.sh's `start_redis_shape`): `plain` (default: one
# redis-server on a free port of 127.0.0.1, no persistence, in the temporary directory), `tls`
# (the same over TLS, `rediss://` and a CA made with openssl at run time) or `cluster` (six
# cluster nodes, three masters and three replicas). The cookie of P1 and P2 comes from the `session-revocation` server's /seed (so it
# carries a `sessionId`, as every session written with revocation on does; the sessions-only
# servers open it too: same secret and cookie name); P2 also checks that a cookie without one
# (from `session`'s /seed) is accepted there. The P3 cookie is
# seeded afresh from the `session-auth` server's /seed right before each round's P3 runs
# (`expiresAt` a year ahead, so the refresh check does not fire; fresh, so neither server renews
# it during them: `renew_after` is 60 s, keep 2 × DURATION well below) and checked again after.
# The P4 token comes from the `jwt` server's /token. Before measuring, curl checks once that
# every target answers 2xx without a Set-Cookie. Each pair's first run alternates by round.
# Each target and its baseline sit at the same place in their route tables (see the bench
# server's modes), so routing costs both the same. Prints requests/s per round, the medians,
# and for each pair the ratio of medians and the per-round ratios (target / baseline: below 1
# is what the layer costs); then the same for the server's CPU time per request (baseline /
# target, so below 1 is again what the layer costs). It also prints the commands the Redis
# nodes processed during the wrk runs, by command (INFO commandstats after CONFIG RESETSTAT): a
# request served from the session cache sends none, so only time-driven traffic shows (each
# revocation instance's subscription PING every second; replication's PING and REPLCONF). Servers listen on 127.0.0.1 only and are
# killed on exit. The shared parts are in benches/lib.sh.

PAIRS=${PAIRS:-P1 P2 P3 P4 P5}
# The `pairs` server's first port; its servers take this one and the six after it.
BASE_PORT=${BASE_PORT:-18031}
source "$(dirname "$0")/lib.sh"

# Each pair: its target and its baseline.
declare -A TARGET=([P1]=read [P2]=read_revocation [P3]=me_auth [P4]=jwt [P5]=hello_all)
declare -A BASELINE=([P1]=read_plain [P2]=read [P3]=me [P4]=jwt_noguard [P5]=hello_plain)
# The port of each server of the `pairs` process (its order in the bench server's PAIRS_MODES).
declare -A PORT=(
    [plain]=$BASE_PORT [session]=$((BASE_PORT + 1)) [session-revocation]=$((BASE_PORT + 2))
    [session-auth]=$((BASE_PORT + 3)) [all]=$((BASE_PORT + 4)) [jwt]=$((BASE_PORT + 5))
    [jwt-noguard]=$((BASE_PORT + 6))
)
for pair in $PAIRS; do
    if [ -z "${TARGET[$pair]:-}" ]; then
        echo "unknown pair '$pair' in PAIRS: use any of P1 P2 P3 P4 P5" >&2
        exit 2
    fi
done
selected() {
    [[ " $PAIRS " == *" $1 "* ]]
}

need wrk

echo "== building the bench server (release)"
build_bench_server

start_redis_shape
echo "== $REDIS_SHAPE_DESCRIPTION"

echo "== starting the servers: bench_server pairs on ports $BASE_PORT-$((BASE_PORT + 6))" \
    "(one process; its output in the temporary directory)"
start env REDIS_URL="$REDIS_URL" REDIS_TLS_CA_FILE="$REDIS_TLS_CA_FILE" \
    REDIS_CLUSTER_NODES="$REDIS_CLUSTER_NODES" bash -c 'exec "$@" >"$0" 2>&1' "$WORK/pairs.log" \
    "$BENCH_SERVER" pairs "$BASE_PORT"
# wrk_run's CPU measure: the server process (`env` and `bash` exec'd it: the same pid).
CPU_PID=${PIDS[-1]}
for mode in "${!PORT[@]}"; do
    wait_for "${PORT[$mode]}" 300 || { cat "$WORK/pairs.log" >&2; exit 1; }
done

# `url MODE PATH`
url() {
    echo "http://127.0.0.1:${PORT[$1]}$2"
}

# A fresh `session=value` cookie from the session-auth server's /seed (P3).
seed_auth() {
    cookie_from "$(url session-auth /seed)" session
}

if selected P1 || selected P2; then
    COOKIE=$(cookie_from "$(url session-revocation /seed)" session)
    echo "P1/P2 cookie header bytes: ${#COOKIE} (from session-revocation /seed)"
fi
if selected P3; then
    AUTH_COOKIE=$(seed_auth)
    echo "P3 cookie header bytes: ${#AUTH_COOKIE} (from session-auth /seed)"
fi
if selected P4; then
    TOKEN=$(curl -fsS "$(url jwt /token)")
    echo "P4 token bytes: ${#TOKEN}"
fi

# `define NAME`: sets URL and HEADER (possibly empty) of the target NAME.
define() {
    case $1 in
        read) URL=$(url session /read) HEADER="Cookie: $COOKIE" ;;
        read_plain) URL=$(url plain /read) HEADER="Cookie: $COOKIE" ;;
        read_revocation) URL=$(url session-revocation /read) HEADER="Cookie: $COOKIE" ;;
        me_auth) URL=$(url session-auth /me) HEADER="Cookie: $AUTH_COOKIE" ;;
        me) URL=$(url session /me) HEADER="Cookie: $AUTH_COOKIE" ;;
        jwt) URL=$(url jwt /jwt) HEADER="Authorization: Bearer $TOKEN" ;;
        jwt_noguard) URL=$(url jwt-noguard /jwt) HEADER="Authorization: Bearer $TOKEN" ;;
        hello_all) URL=$(url all /hello) HEADER="" ;;
        hello_plain) URL=$(url plain /hello) HEADER="" ;;
        *) echo "no target $1" >&2; exit 2 ;;
    esac
}

# `check NAME`: one request to target NAME; it must answer 2xx without a Set-Cookie.
check() {
    local status
    define "$1"
    probe "$URL" "$HEADER"
    status=$(head -n1 <<<"$HEADERS")
    if ! [[ $status =~ ^HTTP/[0-9.]+\ 2 ]] || [ "$SETS" != 0 ]; then
        echo "$1: expected 2xx and no Set-Cookie; got '$status' and $SETS Set-Cookie header(s)" >&2
        exit 1
    fi
    echo "$1: $status, body '$(head -c 40 <<<"$BODY")', Set-Cookie headers: $SETS"
}

echo "== checks (one request per target)"
for pair in $PAIRS; do
    check "${TARGET[$pair]}"
    check "${BASELINE[$pair]}"
done
if selected P2; then
    # A session written without revocation (no `sessionId`) opens with revocation on too.
    ID_LESS=$(cookie_from "$(url session /seed)" session)
    probe "$(url session-revocation /read)" "Cookie: $ID_LESS"
    echo "read_revocation with a cookie from session /seed (no sessionId):" \
        "$(head -n1 <<<"$HEADERS"), body '$BODY', Set-Cookie headers: $SETS"
fi

LOAD_START=$(loadavg)
redis_reset_stats
echo "== wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $ROUNDS alternating rounds, pairs $PAIRS" \
    "(loadavg $LOAD_START)"
for round in $(seq "$ROUNDS"); do
    for pair in $PAIRS; do
        if [ "$pair" = P3 ]; then
            AUTH_COOKIE=$(seed_auth)
            check me_auth >/dev/null
            check me >/dev/null
        fi
        define "${TARGET[$pair]}"
        target_url=$URL target_header=$HEADER
        define "${BASELINE[$pair]}"
        wrk_pair "$round" "$pair:${TARGET[$pair]}" "$target_url" "$target_header" \
            "$pair:${BASELINE[$pair]}" "$URL" "$HEADER"
        if [ "$pair" = P3 ]; then
            # Still fresh after the pair's runs: neither server renewed the cookie.
            check me_auth >/dev/null
            check me >/dev/null
        fi
    done
done
LOAD_END=$(loadavg)
echo "== Redis commands processed during the wrk runs, summed over the ${#REDIS_NODE_PORTS[@]}" \
    "node(s), by command: $(redis_command_calls)"

echo "== results (loadavg $LOAD_START at the start, $LOAD_END at the end)"
NAMES=()
for pair in $PAIRS; do
    NAMES+=("$pair:${TARGET[$pair]}" "$pair:${BASELINE[$pair]}")
done
report "${NAMES[@]}" <<'PY'
print()
print("| pair | target / baseline | ratio of medians | per round | median per round (min-max) |")
print("| --- | --- | ---: | --- | --- |")
names = sys.argv[2:]
for target, baseline in zip(names[::2], names[1::2]):
    pair, t = target.split(":")
    b = baseline.split(":")[1]
    per_round = [runs[target][r] / runs[baseline][r] for r in sorted(runs[target])]
    print(f"| {pair} | {t} / {b} | {med[target] / med[baseline]:.3f} | "
          f"{', '.join(f'{x:.3f}' for x in per_round)} | {statistics.median(per_round):.3f} "
          f"({min(per_round):.3f}-{max(per_round):.3f}) |")

cpu = defaultdict(dict)
for line in open(sys.argv[1].replace("results.tsv", "cpu.tsv")):
    rnd, name, us = line.split()
    cpu[name][int(rnd)] = float(us)
print()
print("Server CPU time per request (µs; user + system of the server process during each run):")
print()
print("| pair | target / baseline | median µs (target, baseline) | baseline / target | per round "
      "| median per round (min-max) |")
print("| --- | --- | --- | ---: | --- | --- |")
for target, baseline in zip(names[::2], names[1::2]):
    pair, t = target.split(":")
    b = baseline.split(":")[1]
    tm = statistics.median(cpu[target].values())
    bm = statistics.median(cpu[baseline].values())
    per_round = [cpu[baseline][r] / cpu[target][r] for r in sorted(cpu[target])]
    print(f"| {pair} | {t} / {b} | {tm:.2f}, {bm:.2f} | {bm / tm:.3f} | "
          f"{', '.join(f'{x:.3f}' for x in per_round)} | {statistics.median(per_round):.3f} "
          f"({min(per_round):.3f}-{max(per_round):.3f}) |")
PY

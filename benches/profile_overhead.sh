#!/usr/bin/env bash
# Instructions per request (callgrind) of the targets of benches/overhead.sh, and for each of its
# five pairs the ratio baseline / target (1 when the layer costs nothing; below 1 is what it adds):
#
#   P1 read / read_plain            P2 read_revocation / read       P3 me_auth / me
#   P4 jwt / jwt_noguard            P5 hello_all / hello_plain
#
#   bash benches/profile_overhead.sh              # N=500
#   N=200 KEEP=/tmp/cg bash benches/profile_overhead.sh
#   SHAPE=tls bash benches/profile_overhead.sh    # the revocation modes on Redis over TLS
#   SHAPE=cluster bash benches/profile_overhead.sh  # ... on a Redis Cluster
#   RESULTS_TSV=docs/bench-results.tsv bash benches/profile_overhead.sh
#
# With RESULTS_TSV, each pair's ratio is also written to that file (ids p1-read, p2-revocation,
# p3-me-auth, p4-jwt-hit, p5-all-fairings; one run, see benches/lib.sh).
#
# One process under callgrind: the bench server's `pairs` mode, every server of the pairs on
# consecutive ports (plain, session, session-revocation, session-auth, all, jwt, jwt-noguard),
# so that a target and its baseline run on the same threads with the same allocator state
# (separate processes differed by up to ~700 instructions a request in malloc's internals
# alone). Each target and the same route without the layer sit at the same place in their
# route tables (`plain` mounts `/read` answering `hello`; `jwt-noguard` mounts `/jwt` without
# the guard), so routing costs both the same. The targets are measured pair by pair, baseline
# first: 20 warm-up requests, a callgrind dump, N requests on one keep-alive connection (curl),
# another dump; instructions per request are the second part's total over N. It counts every
# thread of the process (Rocket's workers, the in-process fake Wristbands', the revocation
# tasks). A throwaway Redis serves the revocation modes (`session-revocation`, `all`; so P2 and
# P5), of the shape SHAPE names (benches/lib.sh's `start_redis_shape`): `plain` (default, one
# redis-server on a free port of 127.0.0.1), `tls` (the same over TLS, `rediss://` with a CA made
# with openssl at run time in the temporary directory) or `cluster` (a Redis Cluster of six nodes,
# three masters and three replicas, on free ports of 127.0.0.1).
#
# The cookies come from servers run without valgrind (same fixed secret and cookie name): the
# P1/P2 one from a `session-revocation` server's /seed (with a `sessionId`), once; the P3 one from
# a `session-auth` server's /seed (`expiresAt` a year ahead), afresh right before each of me_auth
# and me, so neither renews it (`renew_after`, 60 s) while it is measured. The P4 token comes from
# the profiled `jwt` server's own /token (its fake's keys are made at start). Every measured
# request must answer 2xx (curl -f) and none may carry a Set-Cookie. The revocation servers are
# used only once a request with the cookie answers 200 (caught up with Redis; a cold start under
# valgrind can exceed the fairing's 3 s wait).
#
# KEEP=dir keeps, for each pair, both measured callgrind files as dir/<pair>-<target>.callgrind
# (for callgrind_annotate). Needs valgrind, redis-server and curl (valgrind and redis-server are
# installed if missing). Servers listen on 127.0.0.1 only and are stopped at the end.

N=${N:-500}
PORT=${PORT:-18050}  # and the six after it
SEED_REVOCATION_PORT=${SEED_REVOCATION_PORT:-18041}
SEED_AUTH_PORT=${SEED_AUTH_PORT:-18042}
# How long to wait for a server under valgrind: tries, 0.2 s apart.
TRIES=${TRIES:-900}
KEEP=${KEEP:-}
source "$(dirname "$0")/lib.sh"
RESULT_COMMAND="N=$N bash benches/profile_overhead.sh"
VPID=
on_cleanup() {
    [ -n "$VPID" ] && kill "$VPID" 2>/dev/null || true
}

need valgrind
build_bench_server
SERVER=$BENCH_SERVER
start_redis_shape
echo "== $REDIS_SHAPE_DESCRIPTION"

# The seeding servers, without valgrind, running throughout.
start bash -c 'exec "$@" >"$0" 2>&1' "$WORK/seed-revocation.log" \
    "$SERVER" session-revocation "$SEED_REVOCATION_PORT"
start bash -c 'exec "$@" >"$0" 2>&1' "$WORK/seed-auth.log" \
    "$SERVER" session-auth "$SEED_AUTH_PORT"
wait_for "$SEED_REVOCATION_PORT"
wait_for "$SEED_AUTH_PORT"
COOKIE=$(cookie_from "http://127.0.0.1:$SEED_REVOCATION_PORT/seed" session)
echo "P1/P2 cookie header bytes: ${#COOKIE}"

# The `pairs` server's port of each mode (its order in the server's PAIRS_MODES).
declare -A OFFSET=(
    [plain]=0 [session]=1 [session-revocation]=2 [session-auth]=3 [all]=4 [jwt]=5
    [jwt-noguard]=6
)

# `target NAME`: sets MODE, URL_PATH and HEADER (possibly empty) of target NAME; P3's header
# seeds a fresh cookie, P4's asks the profiled `jwt` server for a token.
target() {
    case $1 in
        read_plain) MODE=plain URL_PATH=/read HEADER="Cookie: $COOKIE" ;;
        read) MODE=session URL_PATH=/read HEADER="Cookie: $COOKIE" ;;
        read_revocation) MODE=session-revocation URL_PATH=/read HEADER="Cookie: $COOKIE" ;;
        me) MODE=session URL_PATH=/me ;;
        me_auth) MODE=session-auth URL_PATH=/me ;;
        jwt_noguard) MODE=jwt-noguard URL_PATH=/jwt ;;
        jwt) MODE=jwt URL_PATH=/jwt ;;
        hello_plain) MODE=plain URL_PATH=/hello HEADER="" ;;
        hello_all) MODE=all URL_PATH=/hello HEADER="" ;;
    esac
    case $1 in
        me | me_auth)
            HEADER="Cookie: $(cookie_from "http://127.0.0.1:$SEED_AUTH_PORT/seed" session)"
            ;;
        jwt | jwt_noguard)
            local token_url="http://127.0.0.1:$((PORT + OFFSET[jwt]))/token"
            HEADER="Authorization: Bearer $(curl -fsS "$token_url")"
            ;;
    esac
}

declare -A IR
declare -A FILE

# The targets in the order measured: each pair's baseline, then its target.
TARGETS=(read_plain read read_revocation me me_auth jwt_noguard jwt hello_plain hello_all)

echo "== instructions per request (callgrind, one process, $N requests on one connection" \
    "per target)"
valgrind --tool=callgrind --compress-strings=no --compress-pos=no \
    --callgrind-out-file="$WORK/pairs.cg" "$SERVER" pairs "$PORT" >"$WORK/pairs.log" 2>&1 &
VPID=$!
for offset in "${OFFSET[@]}"; do
    if ! wait_for "$((PORT + offset))" "$TRIES" 0.2; then
        tail -n 20 "$WORK/pairs.log" >&2
        exit 1
    fi
done
dump=0
for name in "${TARGETS[@]}"; do
    target "$name"
    url="http://127.0.0.1:$((PORT + OFFSET[$MODE]))$URL_PATH"
    if [ "$MODE" = session-revocation ] || [ "$MODE" = all ]; then
        # Caught up with Redis: until then the `refuse` policy gives an empty session.
        for _ in $(seq "$TRIES"); do
            status=$(curl -s -o /dev/null -w '%{http_code}' ${HEADER:+-H "$HEADER"} "$url")
            [ "$status" = 200 ] && break
            sleep 0.2
        done
    fi
    # Warm up, dump, N requests, dump.
    curl -fsS -o /dev/null ${HEADER:+-H "$HEADER"} "$url?w=[1-20]"
    callgrind_control -d "$VPID" >/dev/null 2>&1
    curl -fsS -o /dev/null -D "$WORK/$name.headers" ${HEADER:+-H "$HEADER"} "$url?n=[1-$N]"
    callgrind_control -d "$VPID" >/dev/null 2>&1
    dump=$((dump + 2))
    sets=$(grep -ci '^set-cookie:' "$WORK/$name.headers" || true)
    if [ "$sets" != 0 ]; then
        echo "$name: $sets of the $N measured responses carry a Set-Cookie" >&2
        exit 1
    fi
    FILE[$name]=$WORK/pairs.cg.$dump
    total=$(sed -n 's/^summary: //p' "${FILE[$name]}")
    IR[$name]=$((total / N))
done
kill -INT "$VPID"
wait "$VPID" || true
VPID=

for name in "${TARGETS[@]}"; do
    printf '%-20s %9d\n' "$name" "${IR[$name]}"
done

echo
echo "| pair | target / baseline | target Ir | baseline Ir | target - baseline |" \
    "baseline / target |"
echo "| --- | --- | ---: | ---: | ---: | ---: |"
PAIR_LIST=("P1 read read_plain" "P2 read_revocation read" "P3 me_auth me" "P4 jwt jwt_noguard"
    "P5 hello_all hello_plain")
for line in "${PAIR_LIST[@]}"; do
    read -r pair target baseline <<<"$line"
    awk -v p="$pair" -v t="$target" -v b="$baseline" \
        -v ti="${IR[$target]}" -v bi="${IR[$baseline]}" 'BEGIN {
        printf "| %s | %s / %s | %d | %d | %d | %.3f |\n", p, t, b, ti, bi, ti - bi, bi / ti }'
done

# The pairs' rows of docs/bench-results.tsv (with RESULTS_TSV): id, what, against, goal.
declare -A ROW=(
    [P1]="p1-read|P1 /read, open-cache hit|Rocket alone, same Cookie header|>= 0.97"
    [P2]="p2-revocation|P2 /read, revocation on|the same /read, revocation off|>= 0.98"
    [P3]="p3-me-auth|P3 /me, WristbandAuth attached|the same /me, sessions only|>= 0.99"
    [P4]="p4-jwt-hit|P4 WristbandJwt, remembered token|the same route unguarded|>= 0.97"
    [P5]="p5-all-fairings|P5 /hello, every fairing attached|Rocket alone|>= 0.99"
)
# On Redis over TLS or a cluster only P2 is recorded, as its own row (p2-revocation-tls, …).
section=third-pass-a-read-only-hit-keeps-no-request-local-state
for line in "${PAIR_LIST[@]}"; do
    read -r pair target baseline <<<"$line"
    IFS='|' read -r id what against goal <<<"${ROW[$pair]}"
    if [ "${SHAPE:-plain}" != plain ]; then
        [ "$pair" = P2 ] || continue
        id="$id-$SHAPE" what="$what ($SHAPE)"
        section=redis-shapes-tls-sentinel-and-cluster-issue-25
    fi
    ratio=$(awk -v t="${IR[$target]}" -v b="${IR[$baseline]}" 'BEGIN { printf "%.3f", b / t }')
    record_result "$id" "$what" "$against" "$ratio" "$goal" instructions \
        "one run ($N requests per target)" "$section"
done

if [ -n "$KEEP" ]; then
    mkdir -p "$KEEP"
    for line in "${PAIR_LIST[@]}"; do
        read -r pair target baseline <<<"$line"
        cp "${FILE[$target]}" "$KEEP/$pair-$target.callgrind"
        cp "${FILE[$baseline]}" "$KEEP/$pair-$baseline.callgrind"
    done
    echo
    echo "callgrind files kept in $KEEP (such as: callgrind_annotate --inclusive=yes" \
        "$KEEP/P2-read_revocation.callgrind)"
fi

#!/usr/bin/env bash
# Instructions per request (callgrind) of the targets of benches/overhead.sh, and for each of its
# five pairs the ratio baseline / target (1 when the layer costs nothing; below 1 is what it adds):
#
#   P1 read / hello_plain_cookie    P2 read_revocation / read    P3 me_auth / me
#   P4 jwt / noguard                P5 hello_all / hello_plain
#
#   bash benches/profile_overhead.sh              # N=500
#   N=200 KEEP=/tmp/cg bash benches/profile_overhead.sh
#
# As in profile_e2e.sh: each target gets 20 warm-up requests, a callgrind dump, N requests on one
# keep-alive connection (curl), another dump; instructions per request are the second part's
# total over N. It counts every thread of the process (Rocket's workers, the in-process fake
# Wristband's, the revocation task). One valgrind run per server mode, its targets one after the
# other (plain: hello_plain, hello_plain_cookie; session: read, me; jwt: noguard, jwt; the others
# one each). A throwaway redis-server (free port of 127.0.0.1) serves the revocation modes.
#
# The cookies come from servers run without valgrind (same fixed secret and cookie name): the
# P1/P2 one from a `session-revocation` server's /seed (with a `sessionId`), once; the P3 one from
# a `session-auth` server's /seed (`expiresAt` a year ahead), afresh right before each of me_auth
# and me, so neither renews it (`renew_after`, 60 s) while it is measured. The P4 token comes from
# the profiled `jwt` server's own /token (its fake's keys are made at start). Every measured
# request must answer 2xx (curl -f) and none may carry a Set-Cookie. A revocation server is used
# only once a request with the cookie answers 200 (caught up with Redis; a cold start under
# valgrind can exceed the fairing's 3 s wait).
#
# KEEP=dir keeps, for each pair, both measured callgrind files as dir/<pair>-<target>.callgrind
# (for callgrind_annotate). Needs valgrind, redis-server and curl (valgrind and redis-server are
# installed if missing). Servers listen on 127.0.0.1 only and are stopped at the end.

N=${N:-500}
PORT=${PORT:-18040}
SEED_REVOCATION_PORT=${SEED_REVOCATION_PORT:-18041}
SEED_AUTH_PORT=${SEED_AUTH_PORT:-18042}
# How long to wait for a server under valgrind: tries, 0.2 s apart.
TRIES=${TRIES:-900}
KEEP=${KEEP:-}
source "$(dirname "$0")/lib.sh"
VPID=
on_cleanup() {
    [ -n "$VPID" ] && kill "$VPID" 2>/dev/null || true
}

need valgrind
build_bench_server
SERVER=$BENCH_SERVER
start_redis
export REDIS_URL
echo "== redis-server on 127.0.0.1:$REDIS_PORT"

# The seeding servers, without valgrind, running throughout.
start bash -c 'exec "$@" >"$0" 2>&1' "$WORK/seed-revocation.log" \
    "$SERVER" session-revocation "$SEED_REVOCATION_PORT"
start bash -c 'exec "$@" >"$0" 2>&1' "$WORK/seed-auth.log" \
    "$SERVER" session-auth "$SEED_AUTH_PORT"
wait_for "$SEED_REVOCATION_PORT"
wait_for "$SEED_AUTH_PORT"
COOKIE=$(cookie_from "http://127.0.0.1:$SEED_REVOCATION_PORT/seed" session)
echo "P1/P2 cookie header bytes: ${#COOKIE}"

# `header_of NAME`: sets HEADER (possibly empty) for target NAME; P3's seeds a fresh cookie,
# P4's asks the profiled server for a token.
header_of() {
    case $1 in
        read | hello_plain_cookie | read_revocation) HEADER="Cookie: $COOKIE" ;;
        me_auth | me)
            HEADER="Cookie: $(cookie_from "http://127.0.0.1:$SEED_AUTH_PORT/seed" session)"
            ;;
        jwt | noguard) HEADER="Authorization: Bearer $(curl -fsS "http://127.0.0.1:$PORT/token")" ;;
        *) HEADER="" ;;
    esac
}

# `path_of NAME`
path_of() {
    case $1 in
        read | read_revocation) echo /read ;;
        me_auth | me) echo /me ;;
        jwt) echo /jwt ;;
        noguard) echo /noguard ;;
        *) echo /hello ;;
    esac
}

declare -A IR
declare -A FILE

# `profile MODE TARGET...`: one server of MODE under callgrind; for each TARGET, its
# instructions per request in IR[TARGET] and its measured callgrind file in FILE[TARGET].
profile() {
    local mode=$1 dump=0 target path url status total sets
    shift
    valgrind --tool=callgrind --compress-strings=no --compress-pos=no \
        --callgrind-out-file="$WORK/$mode.cg" "$SERVER" "$mode" "$PORT" >"$WORK/$mode.log" 2>&1 &
    VPID=$!
    if ! wait_for "$PORT" "$TRIES" 0.2; then
        tail -n 20 "$WORK/$mode.log" >&2
        exit 1
    fi
    for target in "$@"; do
        path=$(path_of "$target")
        url="http://127.0.0.1:$PORT$path"
        header_of "$target"
        if [ "$mode" = session-revocation ] || [ "$mode" = all ]; then
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
        curl -fsS -o /dev/null -D "$WORK/$target.headers" ${HEADER:+-H "$HEADER"} "$url?n=[1-$N]"
        callgrind_control -d "$VPID" >/dev/null 2>&1
        dump=$((dump + 2))
        sets=$(grep -ci '^set-cookie:' "$WORK/$target.headers" || true)
        if [ "$sets" != 0 ]; then
            echo "$target: $sets of the $N measured responses carry a Set-Cookie" >&2
            exit 1
        fi
        FILE[$target]=$WORK/$mode.cg.$dump
        total=$(sed -n 's/^summary: //p' "${FILE[$target]}")
        IR[$target]=$((total / N))
    done
    kill -INT "$VPID"
    wait "$VPID" || true
    VPID=
}

echo "== instructions per request (callgrind, $N requests on one connection per target)"
profile plain hello_plain hello_plain_cookie
profile session read me
profile session-revocation read_revocation
profile session-auth me_auth
profile jwt noguard jwt
profile all hello_all

for name in read hello_plain_cookie read_revocation me_auth me jwt noguard hello_all hello_plain; do
    printf '%-20s %9d\n' "$name" "${IR[$name]}"
done

echo
echo "| pair | target / baseline | target Ir | baseline Ir | target - baseline |" \
    "baseline / target |"
echo "| --- | --- | ---: | ---: | ---: | ---: |"
PAIR_LIST=("P1 read hello_plain_cookie" "P2 read_revocation read" "P3 me_auth me" "P4 jwt noguard"
    "P5 hello_all hello_plain")
for line in "${PAIR_LIST[@]}"; do
    read -r pair target baseline <<<"$line"
    awk -v p="$pair" -v t="$target" -v b="$baseline" \
        -v ti="${IR[$target]}" -v bi="${IR[$baseline]}" 'BEGIN {
        printf "| %s | %s / %s | %d | %d | %d | %.3f |\n", p, t, b, ti, bi, ti - bi, bi / ti }'
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

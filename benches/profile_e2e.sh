#!/usr/bin/env bash
# Instructions per request of the bench server under callgrind: each route, N requests on one
# keep-alive connection (curl), counted between two callgrind dumps so that start-up and
# warm-up are left out. Then where /write's instructions go. Noise-free, unlike requests/s.
#
#   bash benches/profile_e2e.sh            # N=500
#
# Needs valgrind and curl. Servers listen on 127.0.0.1 only and are stopped at the end.

N=${N:-500}
PORT=${PORT:-18020}
source "$(dirname "$0")/lib.sh"
VPID=
on_cleanup() {
    [ -n "$VPID" ] && kill "$VPID" 2>/dev/null || true
}

need valgrind
build_bench_server
SERVER=$BENCH_SERVER

# The cookies: seeded once by servers run without valgrind (the secrets are fixed, so they stay
# valid for the profiled servers). The server's own output (such as its warning about
# `secure = false` outside the debug profile) must not end up in the cookie.
seeded_cookie() {
    local mode=$1 seed=$2 name=$3 pid value
    "$SERVER" "$mode" "$PORT" >/dev/null &
    pid=$!
    if ! wait_for "$PORT" || ! value=$(cookie_from "http://127.0.0.1:$PORT$seed" "$name"); then
        kill "$pid"
        exit 1
    fi
    kill "$pid"
    wait "$pid" || true
    echo "$value"
}
SESSION_COOKIE=$(seeded_cookie session /seed session)
PRIVATE_COOKIE=$(seeded_cookie plain /private/seed private_session)

# profile NAME MODE PATH COOKIE: Ir per request of PATH; keeps $WORK/NAME.cg.2.
profile() {
    local name=$1 mode=$2 path=$3 cookie=$4 total
    valgrind --tool=callgrind --compress-strings=no --compress-pos=no \
        --callgrind-out-file="$WORK/$name.cg" "$SERVER" "$mode" "$PORT" >"$WORK/$name.log" 2>&1 &
    VPID=$!
    wait_for "$PORT" 300 0.2 || { kill "$VPID"; exit 1; }
    # Warm up, dump (part 1), N requests, dump (part 2).
    curl -fsS -o /dev/null ${cookie:+-H "Cookie: $cookie"} "http://127.0.0.1:$PORT$path?w=[1-20]"
    callgrind_control -d "$VPID" >/dev/null 2>&1
    curl -fsS -o /dev/null ${cookie:+-H "Cookie: $cookie"} "http://127.0.0.1:$PORT$path?n=[1-$N]"
    callgrind_control -d "$VPID" >/dev/null 2>&1
    kill -INT "$VPID"
    wait "$VPID" || true
    VPID=
    total=$(sed -n 's/^summary: //p' "$WORK/$name.cg.2")
    echo $((total / N))
}

echo "== instructions per request (callgrind, $N requests on one connection)"
declare -A IR
IR[hello_plain]=$(profile hello_plain plain /hello "")
IR[hello_untouched]=$(profile hello_untouched session /hello "")
IR[hello_plain_cookie]=$(profile hello_plain_cookie plain /hello "$SESSION_COOKIE")
IR[read]=$(profile read session /read "$SESSION_COOKIE")
IR[write]=$(profile write session /write "$SESSION_COOKIE")
IR[private]=$(profile private plain /private "$PRIVATE_COOKIE")
for name in hello_plain hello_untouched hello_plain_cookie read write private; do
    printf '%-20s %8d\n' "$name" "${IR[$name]}"
done
awk -v w="${IR[write]}" -v p="${IR[private]}" -v r="${IR[read]}" -v h="${IR[hello_plain_cookie]}" \
    -v u="${IR[hello_untouched]}" -v hp="${IR[hello_plain]}" 'BEGIN {
    printf "private/write %.3f   hello_plain_cookie/read %.3f   hello_plain/hello_untouched %.3f\n",
        p / w, h / r, hp / u }'

# inclusive FILE PATTERN: the functions of FILE matching PATTERN, inclusive instructions per request.
inclusive() {
    callgrind_annotate --inclusive=yes --threshold=100 "$1" 2>/dev/null | grep -E "$2" |
        sed -E 's/ \[[^]]*\]$//; s/\?\?\?://' |
        awk -v n="$N" '{ gsub(",", "", $1); printf "%8d  %s\n", $1 / n, $0 }' | cut -c1-160
}

file="$WORK/write.cg.2"
echo
echo "== /write: the crate's share (inclusive instructions per request)"
inclusive "$file" 'wristband_rocket_session::(session::Session::(get|insert|with|load|check_fits)|codec::SessionCodec::(seal_with_nonce_at|unseal)|fairing::write_session|session::Session::is_authenticated)|WristbandSession as rocket::fairing::Fairing>::on_response'
echo
echo "== /private: Rocket's private cookies (inclusive instructions per request)"
inclusive "$WORK/private.cg.2" 'rocket::cookies::CookieJar::(get_private|add_private)|bench_server::private[^_]|serde_json::(de::from_trait|ser::to_string)|cookie::secure::private::PrivateJar<J>::(encrypt_cookie|unseal|decrypt)|rocket::cookies::CookieJar::delta|Cookie.*Display'
echo
echo "== /write: top functions by own instructions"
callgrind_annotate --inclusive=no --threshold=100 "$file" 2>/dev/null |
    grep -E '^ *[0-9,]+ \( *[0-9.]+%\)  ' | grep -vE 'PROGRAM TOTALS|^ *[0-9,]+ \((100.0|99.9.)%\)' |
    sed -n 1,20p | sed -E 's/ \[[^]]*\]$//; s/\?\?\?://; s/\.\/[^:]*://' | cut -c1-160

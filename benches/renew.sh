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
# killed on exit. See docs/benchmarks.md; the shared parts are in benches/lib.sh.

BEFORE_PORT=${BEFORE_PORT:-18011}
AFTER_PORT=${AFTER_PORT:-18012}
BEFORE_REV=${BEFORE_REV:-92e1616}
source "$(dirname "$0")/lib.sh"
WORKTREE=""

on_cleanup() {
    if [ -n "$WORKTREE" ]; then
        git worktree remove --force "$WORKTREE" 2>/dev/null || true
    fi
}

need wrk

if [ -z "${AFTER_BIN:-}" ]; then
    echo "== building AFTER (current tree, release)"
    build_bench_server
    AFTER_BIN=$BENCH_SERVER
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
start "$BEFORE_BIN" session "$BEFORE_PORT"
start "$AFTER_BIN" session "$AFTER_PORT"
wait_for "$BEFORE_PORT"
wait_for "$AFTER_PORT"

# A fresh `session=value` cookie from AFTER's /seed.
seed() {
    cookie_from "http://127.0.0.1:$AFTER_PORT/seed" session
}

# `/me` with the cookie must answer 200 with the seeded user id, and a Set-Cookie exactly when
# `want` is 1. Prints the status line and the number of Set-Cookie headers.
check() {
    local name=$1 port=$2 cookie=$3 want=$4
    probe "http://127.0.0.1:$port/me" "Cookie: $cookie"
    if [ "$SETS" != "$want" ] || [ -z "$BODY" ]; then
        echo "$name /me: expected $want Set-Cookie header(s) and a user id, got $SETS and '$BODY'" >&2
        exit 1
    fi
    echo "$name /me: $(head -n1 <<<"$HEADERS"), body '$BODY', Set-Cookie headers: $SETS"
}

COOKIE=$(seed)
echo "cookie header bytes: ${#COOKIE}"
check BEFORE "$BEFORE_PORT" "$COOKIE" 1
check AFTER "$AFTER_PORT" "$COOKIE" 0
probe "http://127.0.0.1:$BEFORE_PORT/me" "Cookie: $COOKIE"
echo "BEFORE's Set-Cookie: $(grep -i '^set-cookie:' <<<"$HEADERS" |
    sed 's/=\([^;]\{16\}\)[^;]*/=\1…/')"

LOAD_START=$(loadavg)
echo "== wrk -t$THREADS -c$CONNECTIONS -d$DURATION on /me, $ROUNDS alternating rounds (loadavg $LOAD_START)"
for round in $(seq "$ROUNDS"); do
    # A fresh cookie each round, so AFTER never sees one older than `renew_after` (a round
    # takes about two DURATIONs); both servers get the same one.
    COOKIE=$(seed)
    check BEFORE "$BEFORE_PORT" "$COOKIE" 1 >/dev/null
    check AFTER "$AFTER_PORT" "$COOKIE" 0 >/dev/null
    wrk_pair "$round" before "http://127.0.0.1:$BEFORE_PORT/me" "Cookie: $COOKIE" \
        after "http://127.0.0.1:$AFTER_PORT/me" "Cookie: $COOKIE"
    # Still fresh at the end of the round: AFTER wrote no cookie during it.
    check AFTER "$AFTER_PORT" "$COOKIE" 0 >/dev/null
done

echo "== results (loadavg $LOAD_START at the start, $(loadavg) at the end)"
report before after <<'PY'
per_round = [runs["after"][r] / runs["before"][r] for r in sorted(runs["after"])]
print()
print(f"after / before, ratio of medians: {med['after'] / med['before']:.3f}")
print(f"after / before per round: {', '.join(f'{x:.3f}' for x in per_round)} "
      f"(median {statistics.median(per_round):.3f})")
PY

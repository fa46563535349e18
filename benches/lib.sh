# What the scripts of benches/ share; sourced, never run. Each script starts with
#
#   source "$(dirname "$0")/lib.sh"
#
# (after setting any default of its own that differs from the ones below, such as ROUNDS).
# Sourcing turns on `set -euo pipefail`, moves to the repository root, sets the wrk defaults a
# script has not set already (ROUNDS 5, DURATION 5s, THREADS 2, CONNECTIONS 32), makes a
# temporary directory WORK (the wrk results files RESULTS and CPU_RESULTS live in it) and
# installs an EXIT trap that runs the script's `on_cleanup` function if it defines one, stops
# every process started with `start`, and removes WORK.
#
# RESULTS_TSV=<file> (optional, for the scripts that work out a goal's ratio): the script also
# writes each ratio as a row of that file, in the format of docs/bench-results.tsv, replacing
# the row of the same id (see `record_result`); then `python3 scripts/bench_chart.py` redraws
# the chart and summary table of docs/benchmarks.md from it.

set -euo pipefail
# Made absolute before the move to the repository root, so a relative path means the caller's.
if [ -n "${RESULTS_TSV:-}" ]; then
    RESULTS_TSV=$(realpath -m -- "$RESULTS_TSV")
    export RESULTS_TSV
fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# The command a recorded row names (a script sets it after sourcing, with the settings it ran
# with, such as `ROUNDS=5 DURATION=5s bash benches/e2e.sh`).
RESULT_COMMAND=${RESULT_COMMAND:-bash benches/$(basename "$0")}
export RESULT_COMMAND

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
WORK=$(mktemp -d)
RESULTS="$WORK/results.tsv"
CPU_RESULTS="$WORK/cpu.tsv"
PIDS=()

bench_cleanup() {
    if declare -F on_cleanup >/dev/null; then
        on_cleanup
    fi
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap bench_cleanup EXIT

# The 1, 5 and 15 minute load averages.
loadavg() {
    cut -d' ' -f1-3 /proc/loadavg
}

# `need COMMAND`: installs the Debian package of that name when the command is missing.
need() {
    command -v "$1" >/dev/null && return
    echo "== installing $1"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
}

# Builds the bench server (benches/server, a package of its own) in release into
# ${CARGO_TARGET_DIR:-target} and sets BENCH_SERVER to the binary.
build_bench_server() {
    cargo build --release --manifest-path benches/server/Cargo.toml \
        --target-dir "${CARGO_TARGET_DIR:-target}"
    BENCH_SERVER=${CARGO_TARGET_DIR:-target}/release/bench_server
}

# The path of the `codec` bench binary (built if needed).
codec_bench_bin() {
    cargo bench --bench codec --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\))$/\1/p' | tail -n1
}

# `node_baseline SERVER`: the payload both sides seal, from the bench server SERVER, in
# $WORK/payload.json, and benches/node's packages installed.
node_baseline() {
    "$1" payload >"$WORK/payload.json"
    (cd benches/node && npm install --no-audit --no-fund --silent)
}

# `start COMMAND...`: runs the command in the background; the EXIT trap stops it.
start() {
    "$@" &
    PIDS+=($!)
}

# `wait_for PORT [TRIES] [PAUSE]`: waits until http://127.0.0.1:PORT/hello answers (TRIES tries,
# 100 by default, PAUSE seconds apart, 0.1 by default); fails if it never does (which stops a
# script under `set -e`).
wait_for() {
    local port=$1 tries=${2:-100} pause=${3:-0.1}
    for _ in $(seq "$tries"); do
        curl -fs -o /dev/null "http://127.0.0.1:$port/hello" && return 0
        sleep "$pause"
    done
    echo "server on port $port did not start" >&2
    return 1
}

# `cookie_from URL NAME`: prints the `NAME=value` of the cookie that GET URL sets, or fails.
cookie_from() {
    local url=$1 name=$2 value
    value=$(curl -fsS -D - -o /dev/null "$url" | tr -d '\r' |
        sed -n "s/^[Ss]et-[Cc]ookie: \($name=[^;]*\).*/\1/p" | head -n1)
    [ -n "$value" ] || { echo "no $name cookie from $url" >&2; exit 1; }
    echo "$value"
}

# `probe URL [HEADER]`: GET URL (with HEADER when given and not empty), failing on an HTTP error.
# Sets HEADERS (the response head, CRs removed), BODY and SETS (how many Set-Cookie headers).
probe() {
    HEADERS=$(curl -fsS -D - -o "$WORK/body" ${2:+-H "$2"} "$1" | tr -d '\r')
    BODY=$(cat "$WORK/body")
    SETS=$(grep -ci '^set-cookie:' <<<"$HEADERS" || true)
}

# `cpu_ticks PID`: the CPU time process PID has used so far, user and system, in clock ticks
# (fields 14 and 15 of /proc/PID/stat).
cpu_ticks() {
    awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# `wrk_run ROUND NAME URL [HEADER]`: one wrk run (-t$THREADS -c$CONNECTIONS -d$DURATION) on URL,
# with HEADER when given and not empty. Any non-2xx answer or socket error stops the script;
# otherwise `ROUND<TAB>NAME<TAB>requests/s` is appended to RESULTS and printed. With CPU_PID set
# (the pid of the server process), also `ROUND<TAB>NAME<TAB>µs` to CPU_RESULTS: the CPU time
# (user + system, from /proc) that process used during the run, per request wrk completed.
wrk_run() {
    local round=$1 name=$2 url=$3 header=${4:-} out rps ticks=0 requests us
    [ -n "${CPU_PID:-}" ] && ticks=$(cpu_ticks "$CPU_PID")
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" ${header:+-H "$header"} "$url")
    if grep -q 'Non-2xx\|Socket errors' <<<"$out"; then
        echo "$name: errors during the run:" >&2
        echo "$out" >&2
        exit 1
    fi
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    if [ -n "${CPU_PID:-}" ]; then
        ticks=$(($(cpu_ticks "$CPU_PID") - ticks))
        requests=$(awk '/ requests in / {print $1}' <<<"$out")
        us=$(awk -v t="$ticks" -v n="$requests" -v hz="$(getconf CLK_TCK)" \
            'BEGIN { printf "%.4f", t / hz * 1e6 / n }')
        printf '%s\t%s\t%s\n' "$round" "$name" "$us" >>"$CPU_RESULTS"
        printf '%s\t%s\t%s\t(server CPU %s µs/request)\n' "$round" "$name" "$rps" "$us"
        printf '%s\t%s\t%s\n' "$round" "$name" "$rps" >>"$RESULTS"
    else
        printf '%s\t%s\t%s\n' "$round" "$name" "$rps" | tee -a "$RESULTS"
    fi
}

# `wrk_pair ROUND NAME1 URL1 HEADER1 NAME2 URL2 HEADER2`: `wrk_run` on both, the first one first
# in odd rounds and second in even ones.
wrk_pair() {
    local round=$1
    shift
    if [ $((round % 2)) -eq 1 ]; then
        wrk_run "$round" "$1" "$2" "$3"
        wrk_run "$round" "$4" "$5" "$6"
    else
        wrk_run "$round" "$4" "$5" "$6"
        wrk_run "$round" "$1" "$2" "$3"
    fi
}

# `record_result ID WHAT AGAINST RATIO GOAL MEASURE BASIS SECTION`: with RESULTS_TSV set, writes
# that row, with RESULT_COMMAND as its command, into RESULTS_TSV (made if missing), in place of
# the row with the same ID or else at the end; the verdict follows from RATIO and GOAL (`>= x`,
# `<= x` or `-`). The columns are described in docs/bench-results.tsv. Without RESULTS_TSV it
# does nothing.
record_result() {
    [ -n "${RESULTS_TSV:-}" ] || return 0
    python3 scripts/bench_chart.py record --results "$RESULTS_TSV" -- \
        "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$RESULT_COMMAND" "$8"
}

# The same as `record(id, what, against, ratio, goal, measure, basis, section)` for the scripts'
# Python programs (`report` includes it).
RECORD_PY=$(
    cat <<'PY'
def record(*fields):
    import os
    import subprocess
    import sys
    if os.environ.get("RESULTS_TSV"):
        *head, section = fields
        subprocess.run([sys.executable, "scripts/bench_chart.py", "record", "--results",
                        os.environ["RESULTS_TSV"], "--", *head, os.environ["RESULT_COMMAND"],
                        section], check=True)
PY
)

# `report TARGET... <<'PY' … PY`: loads RESULTS into `runs` (target -> round -> requests/s),
# prints the table of the TARGETs, in that order, with their requests/s per round and median,
# keeps the medians in `med`, then runs the Python program read from stdin (the script's ratios;
# `record`, see RECORD_PY, writes them to RESULTS_TSV).
report() {
    local program
    program=$(
        cat <<'PY'
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
for name in sys.argv[2:]:
    rounds = [runs[name][r] for r in sorted(runs[name])]
    med[name] = statistics.median(rounds)
    print(f"| {name} | {', '.join(f'{x:.0f}' for x in rounds)} | {med[name]:.0f} |")
PY
    )
    python3 -c "$RECORD_PY"$'\n'"$program"$'\n'"$(cat)" "$RESULTS" "$@"
}

# `free_port`: prints a TCP port of 127.0.0.1 that nothing listens on now (the kernel's pick).
free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# `start_redis`: starts a throwaway `redis-server` (installed if missing) on a free port of
# 127.0.0.1, without persistence, its directory and log (redis.log) in WORK, stopped by the EXIT
# trap like everything `start`ed; waits until it answers PING and sets REDIS_PORT and REDIS_URL.
# Call it directly, not in `$(…)`: the trap must learn its process.
start_redis() {
    need redis-server
    REDIS_PORT=$(free_port)
    REDIS_URL=redis://127.0.0.1:$REDIS_PORT
    start redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$WORK" --logfile "$WORK/redis.log"
    for _ in $(seq 100); do
        [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] && return 0
        sleep 0.1
    done
    echo "redis-server on port $REDIS_PORT did not start:" >&2
    cat "$WORK/redis.log" >&2 || true
    return 1
}

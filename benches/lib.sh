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

# `free_ports COUNT`: COUNT distinct TCP ports of 127.0.0.1 that nothing listens on now, one a
# line (all held open together while chosen, so none repeats).
free_ports() {
    python3 -c 'import socket, sys
held = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    held.append(s)
for s in held:
    print(s.getsockname()[1])' "$1"
}

# `redis_ping PORT`: whether the redis-server on PORT of 127.0.0.1 (plain) answers PONG.
redis_ping() {
    [ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ]
}

# `start_redis_tls`: as `start_redis`, serving TLS too. A throwaway CA and a server certificate
# for 127.0.0.1 (P-256 keys, valid one day) are made with `openssl` in $WORK/tls (removed with
# WORK; no key material outside it); the server keeps its plain port for the readiness check and
# serves TLS on another free port, without asking for client certificates. Sets REDIS_PORT (the
# plain port), REDIS_TLS_PORT, REDIS_URL (`rediss://127.0.0.1:<TLS port>`) and REDIS_TLS_CA_FILE
# (the CA's certificate).
start_redis_tls() {
    need redis-server
    need openssl
    local dir=$WORK/tls ports
    mkdir -p "$dir"
    (
        cd "$dir"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout ca.key -out ca.crt -days 1 -subj /CN=bench-ca \
            -addext basicConstraints=critical,CA:TRUE \
            -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout server.key -out server.csr -subj /CN=bench-redis 2>/dev/null
        printf '%s\n' basicConstraints=CA:FALSE \
            keyUsage=critical,digitalSignature,keyEncipherment \
            extendedKeyUsage=serverAuth,clientAuth subjectAltName=IP:127.0.0.1,DNS:localhost \
            >server.ext
        openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
            -out server.crt -days 1 -extfile server.ext 2>/dev/null
    )
    mapfile -t ports < <(free_ports 2)
    REDIS_PORT=${ports[0]} REDIS_TLS_PORT=${ports[1]}
    REDIS_URL=rediss://127.0.0.1:$REDIS_TLS_PORT
    REDIS_TLS_CA_FILE=$dir/ca.crt
    start redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$WORK" --logfile "$WORK/redis.log" --tls-port "$REDIS_TLS_PORT" \
        --tls-cert-file "$dir/server.crt" --tls-key-file "$dir/server.key" \
        --tls-ca-cert-file "$dir/ca.crt" --tls-auth-clients no
    for _ in $(seq 100); do
        redis_ping "$REDIS_PORT" && return 0
        sleep 0.1
    done
    echo "redis-server (TLS) on port $REDIS_PORT did not start:" >&2
    cat "$WORK/redis.log" >&2 || true
    return 1
}

# `start_redis_cluster`: a throwaway Redis Cluster on 127.0.0.1: six `redis-server
# --cluster-enabled yes` on free ports (each with a free cluster-bus port), no persistence,
# `cluster-node-timeout` 1000, each in its own directory of WORK (logs cluster-N.log there),
# joined by `redis-cli --cluster create … --cluster-replicas 1` into three masters with one
# replica each; waits until every node reports `cluster_state:ok`. Stopped by the EXIT trap.
# Sets REDIS_CLUSTER_PORTS (the six client ports) and REDIS_CLUSTER_NODES (their `redis://`
# URLs, comma separated).
start_redis_cluster() {
    need redis-server
    local ports i port bus addresses=() urls=() ok
    mapfile -t ports < <(free_ports 12)
    REDIS_CLUSTER_PORTS=()
    for i in 0 1 2 3 4 5; do
        port=${ports[$((2 * i))]} bus=${ports[$((2 * i + 1))]}
        mkdir -p "$WORK/cluster-$i"
        start redis-server --port "$port" --cluster-port "$bus" --bind 127.0.0.1 \
            --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 1000 \
            --dir "$WORK/cluster-$i" --save '' --appendonly no \
            --logfile "$WORK/cluster-$i.log"
        REDIS_CLUSTER_PORTS+=("$port")
        addresses+=("127.0.0.1:$port")
        urls+=("redis://127.0.0.1:$port")
    done
    for port in "${REDIS_CLUSTER_PORTS[@]}"; do
        for _ in $(seq 100); do
            redis_ping "$port" && break
            sleep 0.1
        done
        redis_ping "$port" || { echo "cluster node on port $port did not start" >&2; return 1; }
    done
    redis-cli --cluster create "${addresses[@]}" --cluster-replicas 1 --cluster-yes >/dev/null
    for _ in $(seq 300); do
        ok=0
        for port in "${REDIS_CLUSTER_PORTS[@]}"; do
            redis-cli -h 127.0.0.1 -p "$port" cluster info 2>/dev/null |
                grep -q '^cluster_state:ok' && ok=$((ok + 1))
        done
        if [ "$ok" = 6 ]; then
            REDIS_CLUSTER_NODES=$(IFS=,; echo "${urls[*]}")
            return 0
        fi
        sleep 0.1
    done
    echo "the Redis Cluster did not reach cluster_state:ok" >&2
    return 1
}

# `start_redis_shape`: the Redis of the revocation modes, as SHAPE says (default `plain`):
# `plain` (`start_redis`), `tls` (`start_redis_tls`) or `cluster` (`start_redis_cluster`).
# Sets and exports the bench server's variables (REDIS_URL, REDIS_TLS_CA_FILE,
# REDIS_CLUSTER_NODES; the unused ones empty), REDIS_SHAPE_DESCRIPTION (for the output) and
# REDIS_NODE_PORTS (the plain ports of every node, for `redis_reset_stats`).
start_redis_shape() {
    REDIS_URL='' REDIS_TLS_CA_FILE='' REDIS_CLUSTER_NODES=''
    case ${SHAPE:-plain} in
        plain)
            start_redis
            REDIS_NODE_PORTS=("$REDIS_PORT")
            REDIS_SHAPE_DESCRIPTION="redis-server on 127.0.0.1:$REDIS_PORT"
            ;;
        tls)
            start_redis_tls
            REDIS_NODE_PORTS=("$REDIS_PORT")
            REDIS_SHAPE_DESCRIPTION="redis-server over TLS on 127.0.0.1:$REDIS_TLS_PORT (plain"
            REDIS_SHAPE_DESCRIPTION+=" port $REDIS_PORT for checks; throwaway CA in WORK)"
            ;;
        cluster)
            start_redis_cluster
            REDIS_NODE_PORTS=("${REDIS_CLUSTER_PORTS[@]}")
            REDIS_SHAPE_DESCRIPTION="Redis Cluster, 3 masters + 3 replicas on 127.0.0.1 ports"
            REDIS_SHAPE_DESCRIPTION+=" ${REDIS_CLUSTER_PORTS[*]}"
            ;;
        *)
            echo "unknown SHAPE '$SHAPE': use plain, tls or cluster" >&2
            return 2
            ;;
    esac
    export REDIS_URL REDIS_TLS_CA_FILE REDIS_CLUSTER_NODES
}

# `redis_reset_stats`: CONFIG RESETSTAT on every node of `start_redis_shape`'s Redis
# (REDIS_NODE_PORTS, plain ports), so that `redis_command_calls` counts from now.
redis_reset_stats() {
    local port
    for port in "${REDIS_NODE_PORTS[@]}"; do
        redis-cli -h 127.0.0.1 -p "$port" config resetstat >/dev/null
    done
}

# `redis_command_calls`: the commands those nodes processed since `redis_reset_stats`, summed
# over the nodes, by command (INFO commandstats; a replica counts what it receives from its
# master), such as `ping=20 replconf=16`, without the CONFIG RESETSTAT calls themselves.
redis_command_calls() {
    local port
    for port in "${REDIS_NODE_PORTS[@]}"; do
        redis-cli -h 127.0.0.1 -p "$port" info commandstats
    done | tr -d '\r' | awk -F'[:,=]' '/^cmdstat_/ && $1 != "cmdstat_config|resetstat" {
        calls[substr($1, 9)] += $3 }
        END { for (c in calls) printf "%s=%d ", c, calls[c]; print "" }'
}

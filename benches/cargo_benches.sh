#!/usr/bin/env bash
# The cargo benches whose figures the summary of docs/benchmarks.md shows, run one after the
# other, with the lines they print read into rows of a results file:
#
#   jwt     cargo bench --features fake-wristband --bench jwt: the `ratio miss guard/bare` line
#           (P4's first sight: WristbandJwt with a never-sent token against jsonwebtoken's bare
#           decode; goal <= 1.05)                                       -> p4-jwt-first-sight
#   fleet   cargo bench --bench fleet --features fake-wristband,redis: the fresh-token line's
#           `on/off` (refresh coordination on against off; goal >= 0.99) -> fleet-coordination
#   memory  cargo bench --bench memory --features fake-wristband: the open cache's and the
#           verified-token cache's live heap as a share of their budgets (goal <= 1)
#                                                                       -> mem-open-cache,
#                                                                          mem-token-cache
#
#   RESULTS_TSV=docs/bench-results.tsv bash benches/cargo_benches.sh
#   BENCHES="fleet memory" RESULTS_TSV=docs/bench-results.tsv bash benches/cargo_benches.sh
#
# BENCHES picks the benches (default all three, in that order). Without RESULTS_TSV the benches
# run and the figures are printed, nothing is written. Each bench's whole output is printed as
# it runs; a line that is missing (a bench that failed or changed its output) stops the script.
# See benches/lib.sh for RESULTS_TSV.

BENCHES=${BENCHES:-jwt fleet memory}
source "$(dirname "$0")/lib.sh"

# `run NAME CARGO_ARGS...`: runs the bench, its output also in $WORK/NAME.log.
run() {
    local name=$1
    shift
    echo "== cargo bench $* (loadavg $(loadavg))"
    cargo bench "$@" 2>&1 | tee "$WORK/$name.log"
}

# `field NAME REGEX`: the first capture group of the first line of NAME's output matching the
# (extended, without `#`) REGEX; fails if there is none.
field() {
    local value
    value=$(sed -nE "s#$2#\\1#p" "$WORK/$1.log" | head -n1)
    if [ -z "$value" ]; then
        echo "cargo bench $1: no line matching /$2/ in its output" >&2
        exit 1
    fi
    echo "$value"
}

for bench in $BENCHES; do
    case $bench in
        jwt)
            RESULT_COMMAND="cargo bench --features fake-wristband --bench jwt"
            run jwt --features fake-wristband --bench jwt
            ratio=$(field jwt '^ratio miss guard/bare +median ([0-9.]+) .*')
            echo "p4-jwt-first-sight: $ratio"
            record_result p4-jwt-first-sight "P4 WristbandJwt, token first seen" \
                "jsonwebtoken's bare decode" "$ratio" "<= 1.05" "time, interleaved" \
                "one run (median of the interleaved rounds)" \
                second-pass-same-process-same-route-tables-four-more-changes
            ;;
        fleet)
            RESULT_COMMAND="cargo bench --bench fleet --features fake-wristband,redis"
            run fleet --bench fleet --features fake-wristband,redis
            ratio=$(field fleet '^fresh GET /token, .* on/off = ([0-9.]+);.*')
            echo "fleet-coordination: $ratio"
            record_result fleet-coordination "Fresh-token /token, coordination on" \
                "the same, coordination off" "$ratio" ">= 0.99" "req/s, in process" \
                "one run (ratio of the medians of the rounds)" \
                fleet-refresh-coordination-and-revocation-propagation
            ;;
        memory)
            RESULT_COMMAND="cargo bench --bench memory --features fake-wristband"
            run memory --bench memory --features fake-wristband
            for cache in open verified; do
                share=$(field memory "^$cache[a-z -]*cache: .*, ([0-9.]+) % of the [0-9]+ MiB budget.*")
                mib=$(field memory "^$cache[a-z -]*cache: .* live heap \\+([0-9.]+) MiB.*")
                ratio=$(awk -v s="$share" 'BEGIN { printf "%.3f", s / 100 }')
                echo "$cache cache: $ratio of its budget"
                if [ "$cache" = open ]; then
                    record_result mem-open-cache "Open cache filled past its budget" \
                        "its 8 MiB budget" "$ratio" "<= 1.00" "live heap, dhat" \
                        "one run: +$mib MiB" \
                        third-pass-a-read-only-hit-keeps-no-request-local-state
                else
                    record_result mem-token-cache "Verified-token cache past its budget" \
                        "its 4 MiB budget" "$ratio" "<= 1.00" "live heap, dhat" \
                        "one run: +$mib MiB" \
                        third-pass-a-read-only-hit-keeps-no-request-local-state
                fi
            done
            ;;
        *)
            echo "unknown bench '$bench' in BENCHES: use any of jwt fleet memory" >&2
            exit 2
            ;;
    esac
done

#!/usr/bin/env bash
# Instructions per operation under callgrind: noise-free, unlike wall-clock time on a shared
# machine. Each operation of benches/codec.rs runs N and 2N times (CODEC_PROFILE, see codec.rs);
# the difference divided by N is its instruction count per call, setup excluded. Then the top
# functions (self cost) of codec and PrivateJar seal+open on the ~1.1 KB session.
#
#   bash benches/profile.sh            # N=1000
#
# Needs valgrind (`apt-get install valgrind`). Instruction counts are not cycles: an AES-NI or
# PCLMULQDQ instruction counts as one, so they understate the crypto's share of the time.

N=${N:-1000}
source "$(dirname "$0")/lib.sh"

need valgrind

BIN=$(codec_bench_bin)
[ -x "$BIN" ] || { echo "bench binary not found" >&2; exit 1; }

# Instructions of one run of `spec` with `iters` iterations; keeps the callgrind file.
ir() {
    local spec=$1 iters=$2 out
    out="$WORK/$(tr / _ <<<"$spec").$iters.cg"
    CODEC_PROFILE=$spec CODEC_PROFILE_ITERS=$iters \
        valgrind --tool=callgrind --callgrind-out-file="$out" "$BIN" 2>&1 |
        sed -n 's/.*Collected : \([0-9]*\)$/\1/p'
}

per_op() {
    local one two
    one=$(ir "$1" "$N")
    two=$(ir "$1" $((2 * N)))
    echo $(((two - one) / N))
}

echo "== instructions per operation (callgrind, ($((2 * N)) - $N iterations) / $N)"
printf '| operation | JSON | codec | floor | private_jar | codec/floor | private_jar/codec |\n'
printf '| --- | --- | ---: | ---: | ---: | ---: | ---: |\n'
for op in seal open seal_open; do
    for size in 1.1KB 2.7KB; do
        c=$(per_op "$op/codec/$size")
        f=$(per_op "$op/floor/$size")
        j=$(per_op "$op/private_jar/$size")
        awk -v op="$op" -v size="$size" -v c="$c" -v f="$f" -v j="$j" 'BEGIN {
            printf "| %s | %s | %d | %d | %d | %.3f | %.3f |\n", op, size, c, f, j, c / f, j / c }'
    done
done
first=$(per_op rotation_open/first_secret/1.1KB)
third=$(per_op rotation_open/third_secret/1.1KB)
awk -v a="$first" -v b="$third" 'BEGIN {
    printf "\nopen with 3 secrets (1.1KB): first %d, third %d, third/first %.4f\n", a, b, b / a }'

for spec in seal_open/codec/1.1KB seal_open/private_jar/1.1KB open/codec/2.7KB open/private_jar/2.7KB; do
    file="$WORK/$(tr / _ <<<"$spec").$((2 * N)).cg"
    echo
    echo "== $spec: top functions by own instructions ($((2 * N)) iterations + setup)"
    callgrind_annotate --inclusive=no "$file" 2>/dev/null |
        grep -E '^ *[0-9,]+ \( *[0-9.]+%\)  ' | grep -v 'PROGRAM TOTALS' | sed -n 1,16p |
        sed -E 's/ \[[^]]*\]$//; s/\?\?\?://; s/\.\/[^:]*://'
    echo "-- $spec: inclusive, main parts"
    callgrind_annotate --inclusive=yes "$file" 2>/dev/null |
        grep -E 'codec::SessionCodec::(seal_with_nonce_at|unseal)|Engine::(en|de)code::inner|(en|de)crypt_in_place_detached|serde_json::de::from_trait|SerializeMap::serialize_entry|PrivateJar.*(add|get)|private::PrivateJar|CookieJar' |
        sed -n 1,12p | sed -E 's/ \[[^]]*\]$//; s/\?\?\?://'
done

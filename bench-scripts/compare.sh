#!/usr/bin/env bash
# Throughput of Tessera against redis-server, same settings, same machine.
#
# Starts both servers on free ports (each pinned to SERVER_CPUS, the load to
# LOAD_CPUS with taskset), runs redis-benchmark (-c 50) against each, then a
# pipelined run (-P 16), then memtier_benchmark if it is installed, and prints
# one table: test | redis ops/s | tessera ops/s | ratio (tessera/redis).
#
# Environment:
#   N=100000          requests per redis-benchmark test
#   ALL=1             the whole default redis-benchmark suite (else PING_INLINE,
#                     PING_MBULK, SET, GET, INCR, MSET)
#   TESTS="..."       redis-benchmark tests to run (names as for -t, separated by
#                     spaces or commas), instead of the ALL or default list
#   THREADS=1         Tessera shard threads (--threads)
#   CLIENTS=50        parallel connections
#   PIPELINE=16       depth of the pipelined run (0: no pipelined run)
#   PN=$((N * 10))    requests per pipelined test (a pipelined run of N is over
#                     too quickly to measure)
#   ROUNDS=3          rounds; each round runs every test, each on both servers back
#                     to back (alternating which goes first): a noisy minute on a
#                     shared machine then hits both sides of the same test
#                     instead of one side of the table. "ratio" compares each
#                     side's best round; "paired" is the median of the per-round
#                     ratios and "wins" counts the rounds tessera was >= redis
#   SERVER_CPUS=1     CPUs for each server;  LOAD_CPUS=0  CPUs for the load tools
#   MEMTIER_REQUESTS=10000   requests per memtier client (50 clients)
#   TESSERA_BIN=...   server binary to compare (default: build target/release/tessera-server);
#                     TESSERA_BIN=redis-server compares Redis with itself
#   REDIS_BIN=redis-server
set -euo pipefail
cd "$(dirname "$0")/.."

N="${N:-100000}"
THREADS="${THREADS:-1}"
CLIENTS="${CLIENTS:-50}"
PIPELINE="${PIPELINE:-16}"
PN="${PN:-$((N * 10))}"
ROUNDS="${ROUNDS:-3}"
SERVER_CPUS="${SERVER_CPUS:-1}"
LOAD_CPUS="${LOAD_CPUS:-0}"
MEMTIER_REQUESTS="${MEMTIER_REQUESTS:-10000}"
REDIS_BIN="${REDIS_BIN:-redis-server}"

for tool in "$REDIS_BIN" redis-cli redis-benchmark; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "error: $tool not found (apt-get install -y redis-server redis-tools)" >&2
        exit 1
    }
done

# shellcheck source=bench-scripts/lib.sh
. bench-scripts/lib.sh

# record TEST SIDE RPS
declare -A R_RPS T_RPS R_ALL T_ALL
ORDER=()
record() {
    local test="$1" side="$2" rps="$3" best
    if [ -z "${R_RPS[$test]+x}${T_RPS[$test]+x}" ]; then ORDER+=("$test"); fi
    # every round, in order: the paired ratios come from these
    if [ "$side" = redis ]; then R_ALL[$test]="${R_ALL[$test]:-} $rps"; else T_ALL[$test]="${T_ALL[$test]:-} $rps"; fi
    # keep the best round
    if [ "$side" = redis ]; then best="${R_RPS[$test]:-0}"; else best="${T_RPS[$test]:-0}"; fi
    awk -v a="$rps" -v b="$best" 'BEGIN { exit !(a > b) }' || return 0
    if [ "$side" = redis ]; then R_RPS[$test]="$rps"; else T_RPS[$test]="$rps"; fi
}

# bench SIDE PORT SUFFIX [redis-benchmark args...]: run, parse --csv output.
bench() {
    local side="$1" port="$2" suffix="$3"
    shift 3
    local out="$WORK/bench-$side.csv"
    on_cpus "$LOAD_CPUS" redis-benchmark -h 127.0.0.1 -p "$port" -c "$CLIENTS" -n "$N" \
        -q --csv "$@" >"$out" 2>"$WORK/bench-$side.err" || {
        echo "error: redis-benchmark against $side failed:" >&2
        cat "$WORK/bench-$side.err" "$out" >&2
        exit 1
    }
    # "test","rps","avg_latency_ms",... ; first line is the header
    while IFS=$'\t' read -r test rps; do
        record "$test$suffix" "$side" "$rps"
    done < <(awk -F'","' 'NR > 1 && NF > 1 { gsub(/^"/, "", $1); print $1 "\t" $2 }' "$out")
}

# memtier SIDE PORT: one short mixed SET/GET run; records "memtier (1:10)".
memtier() {
    local side="$1" port="$2"
    local out="$WORK/memtier-$side.txt"
    on_cpus "$LOAD_CPUS" memtier_benchmark -s 127.0.0.1 -p "$port" --protocol=redis \
        -t 1 -c "$CLIENTS" --requests="$MEMTIER_REQUESTS" --ratio=1:10 -d 32 \
        --key-maximum=100000 --hide-histogram >"$out" 2>"$WORK/memtier-$side.err" || {
        echo "warning: memtier_benchmark against $side failed; skipped" >&2
        return 0
    }
    local ops
    ops="$(awk '$1 == "Totals" { print $2; exit }' "$out")"
    [ -n "$ops" ] && record "memtier SET:GET 1:10" "$side" "$ops"
}

# --- run ----------------------------------------------------------------------

start_pair

echo "redis:   $("$REDIS_BIN" --version | head -n1) on port $RPORT" >&2
echo "tessera: $TESSERA_BIN on port $TPORT (threads $THREADS)" >&2
echo "servers on CPUs $SERVER_CPUS, load on CPUs $LOAD_CPUS; -c $CLIENTS -n $N" >&2

if [ -n "${TESTS:-}" ]; then
    # "lpush sadd" or "lpush,sadd": each test is paired on its own
    read -r -a tests <<<"${TESTS//,/ }"
elif [ "${ALL:-0}" = 1 ]; then
    # redis-benchmark's default suite, in its order (LPOP/RPOP pop what LPUSH/RPUSH
    # pushed; each server sees the same sequence).
    tests=(ping_inline ping_mbulk set get incr lpush rpush lpop rpop sadd hset spop zadd
        zpopmin lrange_100 lrange_300 lrange_500 lrange_600 mset)
else
    tests=(ping_inline ping_mbulk set get incr mset)
fi

# What each round runs: "SUFFIX<tab>redis-benchmark arguments".
specs=()
for t in "${tests[@]}"; do
    specs+=($'\t'"-t $t")
done
if [ "$PIPELINE" != 0 ]; then
    specs+=(" (P$PIPELINE)"$'\t'"-P $PIPELINE -n $PN -t set,get")
fi

# Every round runs every test, and each test on both servers back to back
# (alternating which goes first): the two runs of a pair are seconds apart, and a
# test's rounds are spread over the whole run instead of one stretch of it.
for round in $(seq "$ROUNDS"); do
    sides="redis tessera"
    [ $((round % 2)) = 0 ] && sides="tessera redis"
    for spec in "${specs[@]}"; do
        suffix="${spec%%$'\t'*}"
        read -r -a args <<<"${spec#*$'\t'}"
        for side in $sides; do
            port=$RPORT
            [ "$side" = tessera ] && port=$TPORT
            echo "round $round: redis-benchmark ${args[*]} -> $side ..." >&2
            bench "$side" "$port" "$suffix" "${args[@]}"
        done
    done
done

if command -v memtier_benchmark >/dev/null 2>&1; then
    for side in redis tessera; do
        port=$RPORT
        [ "$side" = tessera ] && port=$TPORT
        echo "memtier_benchmark -> $side ..." >&2
        redis-cli -p "$port" flushall >/dev/null
        memtier "$side" "$port"
    done
else
    echo "memtier_benchmark not installed; skipped" >&2
fi

# --- report -------------------------------------------------------------------

# ratio: of the best rounds. paired: the median of the per-round ratios (the two runs
# of a round are back to back, so a slow minute on the host mostly hits both), and in
# how many rounds tessera was at least as fast.
echo
printf '%-36s %14s %14s %9s %9s %7s\n' "test" "redis ops/s" "tessera ops/s" "ratio" "paired" "wins"
printf '%-36s %14s %14s %9s %9s %7s\n' "----" "-----------" "-------------" "-----" "------" "----"
for test in "${ORDER[@]}"; do
    r="${R_RPS[$test]:-}"
    t="${T_RPS[$test]:-}"
    ratio="$(awk -v r="$r" -v t="$t" 'BEGIN { if (r > 0 && t != "") printf "%.2f", t / r; else print "-" }')"
    paired="$(awk -v r="${R_ALL[$test]:-}" -v t="${T_ALL[$test]:-}" 'BEGIN {
        n = split(r, rs, " "); m = split(t, ts, " "); if (m < n) n = m
        k = 0; wins = 0
        for (i = 1; i <= n; i++) if (rs[i] > 0) { q[++k] = ts[i] / rs[i]; if (q[k] >= 1) wins++ }
        if (k == 0) { print "- -"; exit }
        for (i = 2; i <= k; i++) { v = q[i]; for (j = i - 1; j >= 1 && q[j] > v; j--) q[j + 1] = q[j]; q[j + 1] = v }
        med = (k % 2) ? q[(k + 1) / 2] : (q[k / 2] + q[k / 2 + 1]) / 2
        printf "%.2f %d/%d", med, wins, k }')"
    printf '%-36s %14s %14s %9s %9s %7s\n' "$test" "${r:--}" "${t:--}" "$ratio" ${paired}
done

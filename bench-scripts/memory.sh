#!/usr/bin/env bash
# Memory use of Tessera against redis-server for the same data.
#
# Starts both servers on free ports (pinned like compare.sh), loads the same
# data into each through `redis-cli --pipe`, and prints used_memory (INFO
# memory) and RSS (VmRSS of the server process) side by side, before and after
# the load, with ratios (tessera/redis).
#
# Environment:
#   KEYS=1000000      number of keys
#   VALUE_SIZE=32     bytes per string value
#   LOAD=strings      which data set: strings, hashes, sets, lists, zsets (see "Data sets")
#   ELEMS=10          elements per collection for the typed loads; the issue's
#                     sizes are KEYS=100000 ELEMS=10 and KEYS=1000 ELEMS=10000
#   THREADS=1         Tessera shard threads (--threads)
#   SERVER_CPUS=1     CPUs for each server
#   TESSERA_BIN=...   server binary to measure (default: build target/release/tessera-server);
#                     TESSERA_BIN=redis-server measures Redis against itself
#   REDIS_BIN=redis-server
set -euo pipefail
cd "$(dirname "$0")/.."

KEYS="${KEYS:-1000000}"
VALUE_SIZE="${VALUE_SIZE:-32}"
ELEMS="${ELEMS:-10}"
LOAD="${LOAD:-strings}"
THREADS="${THREADS:-1}"
SERVER_CPUS="${SERVER_CPUS:-1}"
REDIS_BIN="${REDIS_BIN:-redis-server}"

for tool in "$REDIS_BIN" redis-cli awk; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "error: $tool not found (apt-get install -y redis-server redis-tools)" >&2
        exit 1
    }
done

# shellcheck source=bench-scripts/lib.sh
BENCH_NAME=mem . bench-scripts/lib.sh

used_memory() { redis-cli -p "$1" info memory | tr -d '\r' | awk -F: '$1 == "used_memory" { print $2 }'; }
rss_bytes() { awk '$1 == "VmRSS:" { print $2 * 1024 }' "/proc/$1/status"; }

# --- Data sets ------------------------------------------------------------------
# Each gen_<name> function writes RESP commands for `redis-cli --pipe` to
# stdout, and sets nothing else. Select one with LOAD=<name>.

# 1M (KEYS) `SET key:N <VALUE_SIZE-byte value>`, N = 0..KEYS-1.
gen_strings() {
    awk -v n="$KEYS" -v size="$VALUE_SIZE" 'BEGIN {
        v = ""
        while (length(v) < size) v = v "0123456789abcdefghijklmnopqrstuvwxyz"
        v = substr(v, 1, size)
        for (i = 0; i < n; i++) {
            k = "key:" i
            printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, size, v
        }
    }'
}

# One command per key: NAME:N then ELEMS elements made by ELEM(i) (PAIRS=1: each
# element is a field followed by a value, as for HSET).
gen_collections() {
    local cmd="$1" prefix="$2" elem="$3" pairs="$4"
    awk -v n="$KEYS" -v e="$ELEMS" -v cmd="$cmd" -v prefix="$prefix" -v elem="$elem" -v pairs="$pairs" '
    function bulk(s) { printf "$%d\r\n%s\r\n", length(s), s }
    BEGIN {
        for (i = 0; i < n; i++) {
            printf "*%d\r\n", 2 + e * (pairs ? 2 : 1)
            bulk(cmd); bulk(prefix ":" i)
            for (j = 0; j < e; j++) {
                bulk(elem j)
                if (pairs) bulk("v" j)
            }
        }
    }'
}

# HSET hash:N f0 v0 ... ; SADD set:N m0 ... ; RPUSH list:N e0 ...
gen_hashes() { gen_collections HSET hash f 1; }
gen_sets() { gen_collections SADD set m 0; }
gen_lists() { gen_collections RPUSH list e 0; }

# ZADD zset:N 0 m0 1 m1 ... : member mJ with score J (integer scores, as a
# leaderboard would have), ELEMS members per key.
gen_zsets() {
    awk -v n="$KEYS" -v e="$ELEMS" '
    function bulk(s) { printf "$%d\r\n%s\r\n", length(s), s }
    BEGIN {
        for (i = 0; i < n; i++) {
            printf "*%d\r\n", 2 + e * 2
            bulk("ZADD"); bulk("zset:" i)
            for (j = 0; j < e; j++) { bulk(j ""); bulk("m" j) }
        }
    }'
}

gen_typed() {
    local type="$1"
    echo "error: unknown LOAD=$type (strings, hashes, sets, lists, zsets)" >&2
    return 1
}

generate() {
    if declare -F "gen_$LOAD" >/dev/null; then
        "gen_$LOAD"
    else
        gen_typed "$LOAD"
    fi
}

# --- run ----------------------------------------------------------------------

echo "generating LOAD=$LOAD ($KEYS keys; $VALUE_SIZE-byte values or $ELEMS elements each)..." >&2
generate >"$WORK/load.resp"

start_pair

declare -A BEFORE_MEM BEFORE_RSS AFTER_MEM AFTER_RSS KEYCOUNT
for side in redis tessera; do
    port=$RPORT pid=$RPID
    [ "$side" = tessera ] && port=$TPORT pid=$TPID
    BEFORE_MEM[$side]="$(used_memory "$port")"
    BEFORE_RSS[$side]="$(rss_bytes "$pid")"
    echo "loading into $side (port $port)..." >&2
    redis-cli -p "$port" --pipe <"$WORK/load.resp" >"$WORK/pipe-$side.txt" 2>&1 || {
        echo "error: loading $side failed:" >&2
        cat "$WORK/pipe-$side.txt" >&2
        exit 1
    }
    tail -n 2 "$WORK/pipe-$side.txt" | sed 's/^/  /' >&2
    sleep 1
    KEYCOUNT[$side]="$(redis-cli -p "$port" dbsize)"
    AFTER_MEM[$side]="$(used_memory "$port")"
    AFTER_RSS[$side]="$(rss_bytes "$pid")"
done

# --- report -------------------------------------------------------------------

mib() { awk -v b="$1" 'BEGIN { if (b == "") print "-"; else printf "%.1f MiB", b / 1048576 }'; }
ratio() { awk -v r="$1" -v t="$2" 'BEGIN { if (r > 0 && t != "") printf "%.2f", t / r; else print "-" }'; }
row() { printf '%-28s %14s %14s %9s\n' "$1" "$(mib "$2")" "$(mib "$3")" "$(ratio "$2" "$3")"; }
per_key() {
    awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { if (n > 0 && a != "" && b != "") printf "%.1f", (a - b) / n; else print "-" }'
}

echo
echo "LOAD=$LOAD: $KEYS keys, $VALUE_SIZE-byte values; keys stored: redis ${KEYCOUNT[redis]}, tessera ${KEYCOUNT[tessera]}"
printf '%-28s %14s %14s %9s\n' "metric" "redis" "tessera" "ratio"
printf '%-28s %14s %14s %9s\n' "------" "-----" "-------" "-----"
row "used_memory (empty)" "${BEFORE_MEM[redis]}" "${BEFORE_MEM[tessera]}"
row "RSS (empty)" "${BEFORE_RSS[redis]}" "${BEFORE_RSS[tessera]}"
row "used_memory (loaded)" "${AFTER_MEM[redis]}" "${AFTER_MEM[tessera]}"
row "RSS (loaded)" "${AFTER_RSS[redis]}" "${AFTER_RSS[tessera]}"
r_pk="$(per_key "${AFTER_MEM[redis]}" "${BEFORE_MEM[redis]}" "${KEYCOUNT[redis]}")"
t_pk="$(per_key "${AFTER_MEM[tessera]}" "${BEFORE_MEM[tessera]}" "${KEYCOUNT[tessera]}")"
printf '%-28s %14s %14s %9s\n' "used_memory bytes per key" "$r_pk" "$t_pk" "$(ratio "$r_pk" "$t_pk")"
r_pk="$(per_key "${AFTER_RSS[redis]}" "${BEFORE_RSS[redis]}" "${KEYCOUNT[redis]}")"
t_pk="$(per_key "${AFTER_RSS[tessera]}" "${BEFORE_RSS[tessera]}" "${KEYCOUNT[tessera]}")"
printf '%-28s %14s %14s %9s\n' "RSS bytes per key" "$r_pk" "$t_pk" "$(ratio "$r_pk" "$t_pk")"

# Shared by compare.sh and memory.sh (sourced, not run): builds the binary when
# TESSERA_BIN is unset, pins processes with taskset, starts servers on free ports
# and kills them on exit. Expects SERVER_CPUS to be set by the caller.

if [ -z "${TESSERA_BIN:-}" ]; then
    echo "building tessera-server (release)..." >&2
    cargo build --release --bin tessera-server >&2
    TESSERA_BIN="$PWD/target/release/tessera-server"
fi

# --- helpers ----------------------------------------------------------------

# on_cpus CPUS CMD...: run CMD pinned to CPUS (unpinned without taskset).
if command -v taskset >/dev/null 2>&1; then
    PIN=(taskset -c)
else
    echo "warning: taskset not found; running unpinned" >&2
    PIN=()
fi
on_cpus() {
    local cpus="$1"
    shift
    if [ "${#PIN[@]}" -gt 0 ]; then "${PIN[@]}" "$cpus" "$@"; else "$@"; fi
}

WORK="$(mktemp -d -t "tessera-${BENCH_NAME:-bench}.XXXXXX")"
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A TCP port nobody listens on.
free_port() {
    local p
    for _ in $(seq 1 200); do
        p=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    echo "error: no free port found" >&2
    return 1
}

is_redis() { "$1" --version 2>/dev/null | grep -q '^Redis server'; }

# start_server NAME BINARY PORT [extra args...]: start pinned to SERVER_CPUS,
# wait for PING; sets PID (the server's own pid: taskset execs it).
start_server() {
    local name="$1" bin="$2" port="$3"
    shift 3
    local pin=()
    [ "${#PIN[@]}" -gt 0 ] && pin=("${PIN[@]}" "$SERVER_CPUS")
    (
        cd "$WORK"
        ulimit -l unlimited 2>/dev/null || true
        ulimit -n 65536 2>/dev/null || true
        exec "${pin[@]}" "$bin" --port "$port" --bind 127.0.0.1 --save '' --appendonly no "$@"
    ) >"$WORK/$name.log" 2>&1 &
    PID=$!
    PIDS+=("$PID")
    for _ in $(seq 1 100); do
        if [ "$(redis-cli -p "$port" ping 2>/dev/null)" = "PONG" ]; then
            return 0
        fi
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "error: $name did not start on port $port; its log:" >&2
    cat "$WORK/$name.log" >&2
    exit 1
}

# start_pair: redis-server and Tessera (with --threads $THREADS) on two free ports;
# sets RPORT/RPID and TPORT/TPID.
start_pair() {
    RPORT="$(free_port)"
    start_server redis "$REDIS_BIN" "$RPORT"
    RPID=$PID
    TPORT="$(free_port)"
    while [ "$TPORT" = "$RPORT" ]; do TPORT="$(free_port)"; done
    if is_redis "$TESSERA_BIN"; then
        start_server tessera "$TESSERA_BIN" "$TPORT"
    else
        start_server tessera "$TESSERA_BIN" "$TPORT" --threads "$THREADS"
    fi
    TPID=$PID
}

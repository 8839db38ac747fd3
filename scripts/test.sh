#!/usr/bin/env bash
# Install what the test suite needs when it is missing, then run the whole
# suite: build the release binaries, run every test (unit, integration and
# differential tests against a real redis-server), and check that the
# benchmarks compile. Ends with a one-line summary.
#
# Environment: TEST_TIMEOUT (seconds for the test step, default 4500).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "error: need root (or sudo) to run: $*" >&2
        return 1
    fi
}

# ---------------------------------------------------------------------------
# Prerequisites
if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo not found; install a Rust toolchain (https://rustup.rs) first" >&2
    exit 1
fi

missing=()
for tool in redis-server redis-cli redis-benchmark; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
    step "installing redis-server redis-tools (missing: ${missing[*]})"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update
    as_root apt-get install -y redis-server redis-tools
    # The package may start its own service on port 6379. The tests use
    # their own ports, but leave nothing running that we did not ask for.
    as_root service redis-server stop >/dev/null 2>&1 ||
        as_root systemctl stop redis-server >/dev/null 2>&1 || true
fi
echo "redis-server: $(redis-server --version)"

# io_uring rings may need locked memory; raise the limits where allowed.
ulimit -l unlimited 2>/dev/null || ulimit -l "$(ulimit -H -l)" 2>/dev/null || true
ulimit -n 65536 2>/dev/null || true

export RUST_BACKTRACE="${RUST_BACKTRACE:-1}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

log="$(mktemp -t tessera-test.XXXXXX)"
trap 'rm -f "$log"' EXIT
start=$SECONDS

# ---------------------------------------------------------------------------
# Build, test, check the benchmarks compile
step "cargo build --release --bins"
cargo build --release --bins

step "cargo test --release --no-fail-fast"
set +e
timeout --foreground "${TEST_TIMEOUT:-4500}" cargo test --release --no-fail-fast 2>&1 | tee "$log"
test_rc=${PIPESTATUS[0]}
set -e
if [ "$test_rc" -eq 124 ]; then
    echo "error: the test step timed out after ${TEST_TIMEOUT:-4500}s" >&2
fi

step "cargo bench --no-run"
set +e
cargo bench --no-run
bench_rc=$?
set -e

# ---------------------------------------------------------------------------
# Summary
read -r passed failed ignored suites < <(awk '
    /^test result:/ {
        for (i = 1; i <= NF; i++) {
            if ($(i) ~ /^passed/)  p += $(i - 1)
            if ($(i) ~ /^failed/)  f += $(i - 1)
            if ($(i) ~ /^ignored/) g += $(i - 1)
        }
        s++
    }
    END { printf "%d %d %d %d\n", p, f, g, s }' "$log")

elapsed=$((SECONDS - start))
echo
echo "================================ summary ================================"
echo "test binaries run: $suites   passed: $passed   failed: $failed   ignored: $ignored"
if [ "$test_rc" -eq 0 ]; then
    echo "cargo test:        ok"
else
    echo "cargo test:        FAILED (exit $test_rc)"
fi
if [ "$bench_rc" -eq 0 ]; then
    echo "benches compile:   ok"
else
    echo "benches compile:   FAILED (exit $bench_rc)"
fi
echo "time:              $((elapsed / 60))m $((elapsed % 60))s"
echo "========================================================================="
echo "$passed passed, $failed failed"

if [ "$test_rc" -ne 0 ] || [ "$bench_rc" -ne 0 ]; then
    exit 1
fi
if [ "$suites" -eq 0 ]; then
    echo "error: no test ran" >&2
    exit 1
fi

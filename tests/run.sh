#!/usr/bin/env bash
# Runs every test suite (unit, SQL, end-to-end) and ends with `N passed, N failed`.
#
# Each suite prints TAP lines (`ok …` / `not ok …`) on stdout. A suite that exits non-zero
# without a failing line, or that runs no check at all, counts as one failure.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
BUILD=${BUILD:-build}
export DIALERD_BIN="$root/$BUILD/dialerd"
export TEST_WORK; TEST_WORK=$(mktemp -d /tmp/dialerd-test.XXXXXX)
chmod 755 "$TEST_WORK"
sqlpg="$TEST_WORK/sqlpg"

cleanup() {
    tests/lib/pgcluster.sh destroy "$sqlpg" >/dev/null 2>&1
    rm -rf "$TEST_WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

passed=0; failed=0; failed_names=()

# suite_out NAME: where a suite's output goes.
suite_out() { echo "$TEST_WORK/$(echo "$1" | tr '/ ' '__').out"; }

# run_suite NAME CMD...: runs one suite, echoes its lines prefixed, counts results.
run_suite() {
    local name=$1; shift
    local out; out=$(suite_out "$name")
    local start=$SECONDS
    "$@" >"$out" 2>"$out.err"; echo $? >"$out.rc"
    echo $((SECONDS - start)) >"$out.time"
    report_suite "$name"
}

# start_suite NAME CMD...: runs a suite in the background; report_suite NAME after `wait`.
start_suite() {
    local name=$1; shift
    local out; out=$(suite_out "$name")
    ( start=$SECONDS; "$@" >"$out" 2>"$out.err"; echo $? >"$out.rc"; echo $((SECONDS - start)) >"$out.time" ) &
}

# report_suite NAME: echoes a finished suite's lines prefixed and counts its results.
report_suite() {
    local name=$1
    local out; out=$(suite_out "$name")
    local rc p f
    rc=$(cat "$out.rc" 2>/dev/null || echo 1)
    p=$(grep -cE '^ok( |$)' "$out"); f=$(grep -cE '^not ok( |$)' "$out")
    sed "s|^|[$name] |" "$out" | grep -E '^\[[^]]*\] (not ok|ok|#)' | grep -vE '^\[[^]]*\] ok' || true
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
        echo "[$name] not ok - suite exited with status $rc; stderr follows"; sed 's/^/    /' "$out.err" | tail -30
        f=1
    elif [ "$p" = 0 ] && [ "$f" = 0 ]; then
        echo "[$name] not ok - the suite ran no check"; f=1
    fi
    if [ "$f" != 0 ]; then
        failed_names+=("$name")
        [ -s "$out.err" ] && { echo "[$name] stderr (last lines):"; tail -15 "$out.err" | sed 's/^/    /'; }
    fi
    printf '%-28s %4d passed, %d failed (%ss)\n' "$name" "$p" "$f" "$(cat "$out.time" 2>/dev/null)"
    passed=$((passed + p)); failed=$((failed + f))
}

# The Makefile names the unit test programs; without it, every one that was built.
for t in ${UNIT_BINS:-"$BUILD"/tests/test_*}; do
    if [ -x "$t" ]; then run_suite "unit/$(basename "$t")" "$t"
    else echo "[unit] not ok - $t was not built"; failed=$((failed + 1)); failed_names+=("$t"); fi
done

if tests/lib/pgcluster.sh start "$sqlpg" >"$TEST_WORK/pg.log" 2>&1; then
    run_suite "sql" bash -c ". '$sqlpg/env' && tests/sql/run.sh"
else
    echo "[sql] not ok - the private PostgreSQL cluster did not start:"; sed 's/^/    /' "$TEST_WORK/pg.log"
    failed=$((failed + 1)); failed_names+=("sql")
fi
tests/lib/pgcluster.sh destroy "$sqlpg" >/dev/null 2>&1

for t in tests/e2e/*.sh; do
    run_suite "e2e/$(basename "$t" .sh)" bash "$t"
done

# Fault injection (crashes, PostgreSQL restarts, carrier errors, instance failover): each suite
# has its own cluster, ports and simulator and spends most of its time waiting on timers, so
# they run two at a time. Then the short fuzz runs and memcheck, one at a time (CPU-bound).
faults=(tests/faults/*.sh)
for ((i = 0; i < ${#faults[@]}; i += 2)); do
    names=()
    for t in "${faults[@]:i:2}"; do
        names+=("faults/$(basename "$t" .sh)")
        start_suite "faults/$(basename "$t" .sh)" bash "$t"
    done
    wait
    for n in "${names[@]}"; do report_suite "$n"; done
done
for t in tests/fuzz/run.sh tests/valgrind/run.sh; do
    [ -f "$t" ] || continue
    # valgrind cannot run ASan binaries: memcheck belongs to the normal build's run only.
    if [ "${SAN:-0}" = 1 ] && [ "$t" = tests/valgrind/run.sh ]; then
        echo "# valgrind/run not run under SAN=1 (make test or make test-valgrind runs it)"
        continue
    fi
    run_suite "$(basename "$(dirname "$t")")/$(basename "$t" .sh)" bash "$t"
done

[ ${#failed_names[@]} -gt 0 ] && echo "failing suites: ${failed_names[*]}"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]

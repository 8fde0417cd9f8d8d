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

# run_suite NAME CMD...: runs one suite, echoes its lines prefixed, counts results.
run_suite() {
    local name=$1; shift
    local out="$TEST_WORK/$(echo "$name" | tr '/ ' '__').out" rc p f start=$SECONDS
    "$@" >"$out" 2>"$out.err"; rc=$?
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
    printf '%-28s %4d passed, %d failed (%ds)\n' "$name" "$p" "$f" $((SECONDS - start))
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

# Fault injection (crashes, PostgreSQL restarts, carrier errors, instance failover) and the
# short fuzz runs, memcheck of the unit tests and one daemon run: each prints TAP like above.
for t in tests/faults/*.sh tests/fuzz/run.sh tests/valgrind/run.sh; do
    [ -f "$t" ] || continue
    run_suite "$(basename "$(dirname "$t")")/$(basename "$t" .sh)" bash "$t"
done

[ ${#failed_names[@]} -gt 0 ] && echo "failing suites: ${failed_names[*]}"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]

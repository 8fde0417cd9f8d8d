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
    # Suites still running (the run was interrupted): SIGTERM, so that their own EXIT traps stop
    # their daemons and clusters; then the rest.
    local f pids=()
    for f in "$TEST_WORK"/*.out.pid; do
        [ -e "$f" ] && [ ! -e "${f%.pid}.rc" ] && pids+=("$(cat "$f")")
    done
    if [ ${#pids[@]} -gt 0 ]; then
        kill -TERM "${pids[@]}" 2>/dev/null
        for _ in $(seq 1 100); do kill -0 "${pids[@]}" 2>/dev/null || break; sleep 0.1; done
    fi
    tests/lib/pgcluster.sh destroy "$sqlpg" >/dev/null 2>&1
    # After a failure the suites' outputs and logs (daemon, simulator, ground truth) stay for a
    # look; their clusters are gone.
    keep_logs || rm -rf "$TEST_WORK"
}
keep_logs() { [ "${failed:-0}" != 0 ] && [ "${TEST_KEEP:-1}" != 0 ]; }
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

# start_suite NAME CMD...: runs a suite in the background; it is done when $out.rc exists
# (written last, by a rename). The suite's own pid goes to $out.pid, for stopping it early.
start_suite() {
    local name=$1; shift
    local out; out=$(suite_out "$name")
    (
        start=$SECONDS
        "$@" >"$out" 2>"$out.err" </dev/null &
        echo $! >"$out.pid"
        wait $!; rc=$?
        echo $((SECONDS - start)) >"$out.time"
        echo $rc >"$out.rc.tmp" && mv "$out.rc.tmp" "$out.rc"
    ) &
}
suite_done() { [ -e "$(suite_out "$1").rc" ]; }

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

# The SQL suite, the end-to-end suites and the fault-injection suites each have their own
# PostgreSQL cluster, ports (tests/lib/ports.sh reserves them across suites) and work directory,
# and spend most of their time waiting on timers (rings, retries, leases, time-scaled
# scenarios), not on the CPU: they run TEST_JOBS at a time (default 3: more would leave too
# little CPU on 2 cores for the timings some of them check), the longest first. Their lines
# are printed in the usual order (sql, e2e/*, faults/*) as soon as a suite and all before it
# are done.
run_sql() {
    tests/lib/pgcluster.sh start "$sqlpg" >"$TEST_WORK/pg.log" 2>&1 || {
        echo "not ok - the private PostgreSQL cluster started"; sed 's/^/# /' "$TEST_WORK/pg.log"; return 1; }
    bash -c ". '$sqlpg/env' && tests/sql/run.sh"; local rc=$?
    tests/lib/pgcluster.sh destroy "$sqlpg" >/dev/null 2>&1
    return $rc
}
pool_names=(sql); declare -A pool_cmd=([sql]=run_sql)
for t in tests/e2e/*.sh tests/faults/*.sh; do
    n="$(basename "$(dirname "$t")")/$(basename "$t" .sh)"
    pool_names+=("$n"); pool_cmd[$n]="bash $t"
done
# Seconds each suite takes on the 2-core reference machine (the longest it was seen to take),
# to start the long ones first; a suite not listed counts as 60 s: better early than late.
# faults/two_instances takes 80 s, or 150 s when instance A dies with an answered call in flight
# (reconciled after max_call_s, 60 s at least, then recalled a minute later). sql starts first
# all the same: it is short, and its lines come first.
declare -A pool_secs=([faults/two_instances]=150 [e2e/dial_loop]=120 [e2e/sms]=110
    [faults/carrier_errors]=115 [e2e/campaign_rules]=100 [faults/kill_restart]=55 [e2e/status_page]=30
    [faults/pg_restart]=40 [e2e/metrics]=30 [e2e/api_security]=25 [e2e/install]=20 [e2e/sim_auth]=20
    [e2e/api_rest]=20 [faults/lib]=15 [e2e/daemon_core]=15 [e2e/events]=12 [e2e/api_push]=10
    [e2e/db_pool]=8 [e2e/grafana_panels]=8 [e2e/lost_reply]=8 [e2e/openapi_routes]=5)
mapfile -t pool_order < <(echo sql
    for n in "${pool_names[@]:1}"; do echo "${pool_secs[$n]:-60} $n"; done | sort -k1,1nr -k2,2 | cut -d' ' -f2)
# Suites whose checks hold dialerd to timings finer than what the CPU scheduler of a busy 2-core
# machine guarantees run at a higher CPU priority than the suites beside them (as root; else as
# they are): campaign_rules checks a caller's max_cps per second at the carrier, where dials
# arrive a claim's round trip after dialerd counted them, and that priority 3 does not dial
# while priority 1 has callees; dial_loop gives the carrier 1 s to answer a dial (a slower
# answer is an uncertain dial, retried) while it stops taking connections.
declare -A pool_boost=([e2e/campaign_rules]=1 [e2e/dial_loop]=1)
boost=()
nice -n -5 true 2>/dev/null && boost=(nice -n -5)
jobs_max=${TEST_JOBS:-3}
[[ $jobs_max =~ ^[1-9][0-9]*$ ]] || jobs_max=3
started=0; reported=0; running=()
while [ "$reported" -lt ${#pool_names[@]} ]; do
    still=()
    for n in "${running[@]}"; do suite_done "$n" || still+=("$n"); done
    running=("${still[@]}")
    while [ ${#running[@]} -lt "$jobs_max" ] && [ "$started" -lt ${#pool_order[@]} ]; do
        n=${pool_order[$started]}; started=$((started + 1))
        # shellcheck disable=SC2086
        if [ -n "${pool_boost[$n]:-}" ]; then start_suite "$n" "${boost[@]}" ${pool_cmd[$n]}
        else start_suite "$n" ${pool_cmd[$n]}; fi
        running+=("$n")
    done
    while [ "$reported" -lt ${#pool_names[@]} ] && suite_done "${pool_names[$reported]}"; do
        report_suite "${pool_names[$reported]}"; reported=$((reported + 1))
    done
    [ "$reported" -lt ${#pool_names[@]} ] && sleep 0.2
done
wait

# Then the short fuzz runs and memcheck, one at a time (CPU-bound).
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
keep_logs && echo "# logs of this run kept in $TEST_WORK (TEST_KEEP=0 removes them)"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]

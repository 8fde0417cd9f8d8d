#!/usr/bin/env bash
# The long fuzz run behind `make fuzz`: each target FUZZ_SECONDS seconds, one summary line each.
#
#   tests/fuzz/long.sh [TARGET...]     (default: push config window; run from `make fuzz`,
#                                       which builds the binaries first)
#
# Each target fuzzes its corpus copy in $FUZZ_BUILD/corpus/<target> (committed files are added
# to it, what earlier runs found is kept), logs to $FUZZ_BUILD/logs/<target>.log and writes
# reproducers to $FUZZ_BUILD/artifacts/<target>-<time>/. Exits 1 if any target crashed, leaked,
# hit undefined behaviour or hung.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
. tests/fuzz/lib.sh

secs=${FUZZ_SECONDS:-600}
build=${FUZZ_BUILD:-build/fuzz}
[ $# -gt 0 ] && targets=("$@") || targets=(push config window)
stamp=$(date +%Y%m%d-%H%M%S)
failed=()

for t in "${targets[@]}"; do
    bin=$build/fuzz_$t corpus=$build/corpus/$t art=$build/artifacts/$t-$stamp log=$build/logs/$t.log
    if [ ! -x "$bin" ]; then
        echo "fuzz_$t: $bin is not built (make fuzz-build)"; failed+=("$t"); continue
    fi
    mkdir -p "$corpus" "$art" "$build/logs"
    cp -n tests/fuzz/corpus/"$t"/* "$corpus"/
    mapfile -t opts < <(fuzz_opts "$t")
    echo "fuzz_$t: fuzzing ${secs} s on $corpus ($(find "$corpus" -type f | wc -l) files); log $log"
    start=$SECONDS
    timeout $((secs + 300)) "$bin" -max_total_time="$secs" -timeout=10 -print_final_stats=1 \
        "-artifact_prefix=$art/" "${opts[@]}" "$corpus" >"$log" 2>&1
    rc=$?
    found=$(fuzz_findings "$art")
    printf 'fuzz_%-7s %4d s  %s execs  %s exec/s  %s  corpus %d files (%s)  crashes %d\n' "$t" \
        $((SECONDS - start)) "$(fuzz_stat "$log" number_of_executed_units)" \
        "$(fuzz_stat "$log" average_exec_per_sec)" "$(fuzz_cov "$log")" \
        "$(find "$corpus" -type f | wc -l)" "$(du -sh --apparent-size "$corpus" | cut -f1)" \
        "$(printf '%s' "$found" | grep -c .)"
    if [ "$rc" != 0 ] || [ -n "$found" ]; then
        failed+=("$t")
        echo "fuzz_$t: FAILED (exit $rc); reproducers:"
        printf '%s\n' "$found" | sed '/^$/d; s/^/    /'
        fuzz_tail "$log" 15 | sed 's/^/    | /'
    else
        rmdir "$art" 2>/dev/null
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "make fuzz: failed: ${failed[*]} (replay a reproducer: $build/fuzz_<target> <file>)"
    exit 1
fi
echo "make fuzz: ${#targets[@]} targets, ${secs} s each, no crash"

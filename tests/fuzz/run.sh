#!/usr/bin/env bash
# Short fuzz run for `make test` (TAP): build the libFuzzer targets, replay every corpus file,
# then fuzz each target FUZZ_SHORT_S seconds (default 10). About a minute in all on two cores.
# Corpus copies, logs and reproducers live in a temporary directory, kept (and named) on failure.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
. tests/fuzz/lib.sh

short=${FUZZ_SHORT_S:-10}
targets=(push config window)
work=$(mktemp -d /tmp/dialerd-fuzz.XXXXXX)
keep=0
n=0
failed=0
trap '[ "$keep" = 1 ] || rm -rf "$work"' EXIT

# pass DESC: one passing TAP line.
pass() { n=$((n + 1)); echo "ok $n - $1"; }

# flunk DESC LOG [DIR]: one failing TAP line, then the reproducers in DIR and the log's telling lines.
flunk() {
    local f
    n=$((n + 1)); failed=1; keep=1
    echo "not ok $n - $1"
    if [ -n "${3:-}" ]; then
        for f in $(fuzz_findings "$3"); do
            echo "#   reproducer: $f (replay: build/fuzz/fuzz_$t $f)"
        done
    fi
    echo "#   log: $2"
    fuzz_tail "$2" 12 | sed 's/^/#   | /'
}

# --- build -----------------------------------------------------------------------------------
if make -s fuzz-build >"$work/build.log" 2>&1; then
    pass "make fuzz-build: clang + libFuzzer build fuzz_push, fuzz_config, fuzz_window"
else
    t=build
    flunk "make fuzz-build: clang + libFuzzer build the targets (deploy/deps.sh --test installs clang, libclang-rt-14-dev)" \
        "$work/build.log"
    exit 1
fi

# --- replay: every committed corpus file once, on a copy (libFuzzer may write into its corpus) --
for t in "${targets[@]}"; do
    bin=build/fuzz/fuzz_$t corpus="$work/corpus/$t" art="$work/artifacts/$t" log="$work/replay-$t.log"
    mkdir -p "$corpus" "$art"
    cp tests/fuzz/corpus/"$t"/* "$corpus"/
    files=$(find "$corpus" -type f | wc -l)
    mapfile -t opts < <(fuzz_opts "$t" replay)
    timeout 120 "$bin" -runs=0 -timeout=10 "-artifact_prefix=$art/" "${opts[@]}" "$corpus" >"$log" 2>&1
    rc=$?
    if [ "$rc" = 0 ] && [ -z "$(fuzz_findings "$art")" ]; then
        pass "fuzz_$t replays its $files corpus files ($(fuzz_cov "$log"))"
    else
        flunk "fuzz_$t replays its $files corpus files (exit $rc)" "$log" "$art"
    fi
done

# --- fuzz: each target for a while, starting from the replayed corpus -------------------------
for t in "${targets[@]}"; do
    bin=build/fuzz/fuzz_$t corpus="$work/corpus/$t" art="$work/artifacts/$t" log="$work/fuzz-$t.log"
    mapfile -t opts < <(fuzz_opts "$t")
    timeout $((short + 60)) "$bin" -max_total_time="$short" -timeout=10 -print_final_stats=1 \
        "-artifact_prefix=$art/" "${opts[@]}" "$corpus" >"$log" 2>&1
    rc=$?
    execs=$(fuzz_stat "$log" number_of_executed_units)
    rate=$(fuzz_stat "$log" average_exec_per_sec)
    if [ "$rc" = 0 ] && [ -z "$(fuzz_findings "$art")" ]; then
        pass "fuzz_$t fuzzed ${short} s: ${execs:-?} execs (${rate:-?}/s), $(fuzz_cov "$log"), no crash"
    else
        [ "$rc" = 124 ] && rc="124, killed by timeout: a hang"
        flunk "fuzz_$t fuzzed ${short} s without a crash, leak, UB or hang (exit $rc)" "$log" "$art"
    fi
done

[ "$keep" = 1 ] && echo "# logs, corpus copies and reproducers kept in $work"
exit "$failed"

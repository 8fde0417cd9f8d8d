# Shared by tests/fuzz/run.sh (short run, TAP) and tests/fuzz/long.sh (make fuzz): options and summaries.
# shellcheck shell=bash
# Source it from the repository root.

# fuzz_opts TARGET [replay]: the libFuzzer options of a run of TARGET (dictionary; input size,
# except when replaying, where every corpus file must run whole).
fuzz_opts() {
    local t=$1 mode=${2:-}
    [ -f "tests/fuzz/$t.dict" ] && printf '%s\n' "-dict=tests/fuzz/$t.dict"
    # config_set's "did you mean" (a Levenshtein distance to every key) makes long texts slow;
    # the parser's coverage saturates well below this size.
    [ "$t" = config ] && [ "$mode" != replay ] && printf '%s\n' "-max_len=2048"
    return 0
}

# fuzz_stat LOG NAME: a stat::NAME value of -print_final_stats (empty when absent).
fuzz_stat() {
    sed -n "s/^stat::$2: *\([0-9][0-9]*\).*/\1/p" "$1" 2>/dev/null | tail -1
}

# fuzz_cov LOG: "cov X ft Y corp A/B" from the last status line libFuzzer printed.
fuzz_cov() {
    grep -aE '^#[0-9]+[[:space:]]+(INITED|NEW|REDUCE|pulse|DONE)' "$1" 2>/dev/null | tail -1 |
        sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\) corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/cov \1 ft \2 corp \3/p'
}

# fuzz_findings DIR: the reproducers libFuzzer wrote there (crash, leak, timeout, oom), one a line.
fuzz_findings() {
    find "$1" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
        -o -name 'oom-*' \) 2>/dev/null | sort
}

# fuzz_tail LOG N: what a failure report needs from a log: the sanitizer's or the target's own
# message, the first frames in dialerd's code, the summary and where the input went; else the
# last N lines.
fuzz_tail() {
    local picked
    local what='invariant violated|runtime error|ERROR: |(READ|WRITE) of size|freed by|allocated by'
    what+='|SUMMARY: |Test unit written|^[[:space:]]*#[0-9]+ 0x[0-9a-f]+ in .* [^ ]*/(src|tests/fuzz)/'
    picked=$(grep -aE "$what" "$1" 2>/dev/null |
        awk '/^[[:space:]]*#[0-9]+ 0x/ { if (++f > 6) next } { print }' | head -n 20)
    if [ -n "$picked" ]; then printf '%s\n' "$picked"; else tail -n "$2" "$1" 2>/dev/null; fi | cut -c1-300
}

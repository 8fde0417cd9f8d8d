#!/usr/bin/env bash
# dialerd under memcheck: tests/valgrind/run.sh points DIALERD_BIN here, so that the stack helpers
# (tests/lib/stack.sh) start this instead of the binary. VG_REAL_BIN is the daemon, VG_LOG the
# valgrind log file, VG_OPTS the memcheck options (one word each). valgrind runs the daemon in
# this very process (exec), so the stack's PID and SIGTERM reach the daemon itself.
set -u
: "${VG_REAL_BIN:?VG_REAL_BIN (the dialerd binary) is not set}" "${VG_LOG:?VG_LOG is not set}"
read -r -a opts <<<"${VG_OPTS:-}"
exec valgrind "${opts[@]}" --log-file="$VG_LOG" "$VG_REAL_BIN" "$@"

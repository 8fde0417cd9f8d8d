#!/usr/bin/env bash
# `make run`: a private PostgreSQL (unless DIALER_DATABASE_URL is set), migrations, and dialerd
# in the foreground with a live status line. Ctrl-C stops everything it started.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
DIALERD="$root/$BUILD/dialerd"
work="$root/build/run"
pid=""
own_pg=0

stop_all() {
    trap - EXIT INT TERM
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    [ "$own_pg" = 1 ] && "$root/tests/lib/pgcluster.sh" destroy "$work/pg" >/dev/null 2>&1
    echo
    echo "stopped; nothing left running"
}
trap stop_all EXIT
trap 'exit 0' INT TERM

mkdir -p "$work"
if [ -z "${DIALER_DATABASE_URL:-}" ]; then
    echo "starting a private PostgreSQL cluster in $work/pg"
    "$root/tests/lib/pgcluster.sh" start "$work/pg"
    own_pg=1
    . "$work/pg/env"
fi
"$root/sql/migrate.sh" "$DIALER_DATABASE_URL"
port=${DIALER_RUN_PORT:-8080}
"$DIALERD" --set listen="127.0.0.1:$port" --set database_url="$DIALER_DATABASE_URL" \
    --set instance_name=demo >"$work/dialerd.log" 2>&1 &
pid=$!
echo "dialerd pid $pid, log $work/dialerd.log, http://127.0.0.1:$port/healthz — Ctrl-C to stop"
while kill -0 "$pid" 2>/dev/null; do
    h=$(curl -s -m 2 "http://127.0.0.1:$port/healthz" || echo '{"reason":"not answering yet"}')
    printf '\r%-100s' "$(date +%T) $(printf '%s' "$h" | head -c 90)"
    sleep 1
done
wait "$pid"

#!/usr/bin/env bash
# End-to-end: the real dialerd against a private PostgreSQL — health, DB loss and recovery,
# missing schema, config errors, SIGHUP reload, routing errors, drain on SIGTERM.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/lib/tap.sh"
DIALERD=${DIALERD_BIN:-$root/build/dialerd}
work=$(mktemp -d "${TEST_WORK:-/tmp}/core.XXXXXX")
pg="$work/pg"
pid=""

cleanup() {
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
    "$root/tests/lib/pgcluster.sh" destroy "$pg" >/dev/null 2>&1
}
trap cleanup EXIT

"$root/tests/lib/pgcluster.sh" start "$pg" >/dev/null || { echo "not ok - private cluster starts"; exit 1; }
. "$pg/env"
port=$(free_port)
base="http://127.0.0.1:$port"
log="$work/dialerd.log"
conf="$work/dialerd.conf"
cat > "$conf" <<EOF
# test configuration
listen = 127.0.0.1:$port
database_url = $DIALER_DATABASE_URL
instance_name = core-test
db_heartbeat_ms = 200
db_reconnect_max_ms = 500
drain_timeout_ms = 3000
EOF

health_is() { # health_is HTTPCODE DATABASE-STATE
    local r; r=$(http GET "$base/healthz")
    [ "${r%% *}" = "$1" ] && printf '%s' "$r" | grep -q "\"database\":\"$2\""
}

# --- configuration errors stop the daemon before it starts ----------------------------------
out=$("$DIALERD" --check-config --set db_pool_size=0 --set lisen=x 2>&1); rc=$?
tap_is "$rc" 2 "a bad configuration exits with status 2"
tap_like "$out" 'db_pool_size = 0 is out of range; accepted: 1..32' "the range error names key, value and range"
tap_like "$out" 'unknown key "lisen" \(did you mean "listen"\?\)' "an unknown key gets a suggestion"
out=$("$DIALERD" --check-config -c "$conf" 2>&1); rc=$?
tap_is "$rc" 0 "--check-config accepts the test configuration"
out=$("$DIALERD" --version); tap_like "$out" '^dialerd [0-9]+\.[0-9]+\.[0-9]+' "--version prints the version"
out=$("$DIALERD" --help-config); tap_like "$out" 'db_reconnect_max_ms = 5000' "--help-config lists keys with defaults"

# --- no schema yet: the daemon runs, reports why, and recovers once migrated ----------------
"$DIALERD" -c "$conf" >"$log" 2>&1 &
pid=$!
wait_until 10 health_is 503 down
tap_ok $? "without the schema /healthz answers 503 database down"
r=$(http GET "$base/healthz")
tap_like "$r" 'schema is missing from this database: run sql/migrate.sh' "the reason tells the operator to migrate"
"$root/sql/migrate.sh" "$DIALER_DATABASE_URL" >/dev/null 2>&1
tap_ok $? "migrations apply"
wait_until 10 health_is 200 up
tap_ok $? "after migrating, the running daemon comes up without a restart"
r=$(http GET "$base/healthz")
tap_like "$r" '"status":0,"reason":"ok"' "healthz uses the {status, reason, data} envelope"
tap_like "$r" '"schema_version":[1-9]' "healthz reports the schema version"
tap_like "$r" '"instance":"core-test"' "healthz reports the instance name"

# --- routing errors are JSON ----------------------------------------------------------------
r=$(http GET "$base/nope")
tap_like "$r" '^404 \{"status":-27,"reason":"no such route: GET /nope"' "unknown route: 404 with the envelope"
r=$(http POST "$base/healthz" '{}')
tap_like "$r" '^405 .*method POST is not allowed here; allowed: GET' "wrong method: 405 naming the allowed one"

# --- PostgreSQL stopped and started again ----------------------------------------------------
"$root/tests/lib/pgcluster.sh" stop "$pg"
wait_until 10 health_is 503 down
tap_ok $? "PostgreSQL stopped: /healthz reports database down"
kill -0 "$pid" 2>/dev/null; tap_ok $? "the daemon keeps running without its database"
wait_until 5 grep -q 'event=db.lost' "$log"
tap_ok $? "the loss is logged (event=db.lost)"
sleep 1.5
kill -0 "$pid" 2>/dev/null; tap_ok $? "still running after repeated reconnect attempts"
"$root/tests/lib/pgcluster.sh" restart "$pg"
wait_until 15 health_is 200 up
tap_ok $? "PostgreSQL back: the daemon reconnects by itself"
tap_is "$(pgrep -f -- "-c $conf" | head -1)" "$pid" "same process: no restart was needed"

# --- PostgreSQL killed (SIGKILL of the postmaster) -------------------------------------------
"$root/tests/lib/pgcluster.sh" kill "$pg"
wait_until 10 health_is 503 down
tap_ok $? "postmaster killed: /healthz reports database down"
"$root/tests/lib/pgcluster.sh" restart "$pg"
wait_until 15 health_is 200 up
tap_ok $? "after crash recovery of PostgreSQL the daemon is back up"
n=$(psql -XAtc "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'core-test'")
tap_is "$n" 2 "both pool connections are re-established (pg_stat_activity)"

# --- SIGHUP: a bad file keeps the running config, a good one applies ------------------------
cp "$conf" "$conf.good"
echo "db_heartbeat_ms = often" >> "$conf"
kill -HUP "$pid"
wait_until 5 grep -q 'event=config.reload_failed' "$log"
tap_ok $? "a bad file on SIGHUP is refused and logged"
tap_like "$(grep 'event=config.reload_error' "$log" | tail -1)" 'db_heartbeat_ms = \\"often\\" is not a whole number' "the reload error names the line's problem"
health_is 200 up; tap_ok $? "the daemon keeps serving on the old configuration"
cp "$conf.good" "$conf"
echo "log_level = debug" >> "$conf"
echo "listen = 127.0.0.1:1" >> "$conf"
kill -HUP "$pid"
wait_until 5 grep -q 'event=config.reloaded.*log_level=debug' "$log"
tap_ok $? "a good file on SIGHUP is applied"
tap_like "$(grep 'event=config.reload ' "$log" | tail -1)" 'needs_restart="listen"' "a restart-only key is named, not applied"
health_is 200 up; tap_ok $? "still listening on the original address"
psql -XAqc "NOTIFY dialer_changes, 'probe-after-restart'"
wait_until 5 grep -q 'event=db.notify channel=dialer_changes payload="probe-after-restart"' "$log"
tap_ok $? "LISTEN is re-established after PostgreSQL restarts: a NOTIFY reaches the daemon"

# --- logging format ----------------------------------------------------------------------------
bad=$(grep -cvE '^ts=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z level=(debug|info|warn|error|fatal) event=[a-z_.]+' "$log")
tap_is "$bad" 0 "every log line has ts, level and event"

# --- SIGTERM drains and exits 0 ----------------------------------------------------------------
kill -TERM "$pid"
wait_until 10 bash -c "! kill -0 $pid 2>/dev/null"
tap_ok $? "SIGTERM: the daemon exits within the drain timeout"
wait "$pid"; rc=$?
tap_is "$rc" 0 "exit status 0 after a drain"
tap_like "$(tail -3 "$log")" 'event=main.exit code=0' "the exit is logged"
pid=""

exit $TAP_FAILED

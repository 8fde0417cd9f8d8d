# Starts and stops the real stack for end-to-end tests: a private PostgreSQL, dialer-sim, dialerd.
# Source it with $root set to the repository, then call stack_begin NAME. Every process started
# here is stopped by stack_down, which stack_begin arranges to run on exit. The ports are chosen
# once, together, so that no two of them can be the same.
. "$root/tests/lib/tap.sh"
BUILD=${BUILD:-build}
DIALERD=${DIALERD_BIN:-$root/$BUILD/dialerd}
read -r DIALERD_PORT STACK_SIM_PORTS_A STACK_SIM_PORTS_B STACK_SIM_PORTS_C <<<"$(free_ports 4)"
STACK_SIM_PORTS="$STACK_SIM_PORTS_A $STACK_SIM_PORTS_B $STACK_SIM_PORTS_C"

STACK_PIDS=()
# Credentials of the stack: dialerd accepts them, dialer-sim and the bhttp / shttp helpers
# send them. STACK_AUTH=0 leaves dialerd's api_tokens / event_secrets to the caller (a config
# file, say, to test a reload).
API_TOKEN=${API_TOKEN:-e2e-token-$RANDOM$RANDOM}
EVENT_SECRET=${EVENT_SECRET:-e2e-secret-$RANDOM$RANDOM}
STACK_AUTH=${STACK_AUTH:-1}

# stack_begin NAME: a work directory for this test, cleaned up (with every process) on exit.
stack_begin() {
    STACK_DIR=$(mktemp -d "${TEST_WORK:-/tmp}/$1.XXXXXX")
    trap stack_down EXIT
}

# stack_pg: private cluster, migrated; exports the PG* variables and DIALER_DATABASE_URL.
stack_pg() {
    "$root/tests/lib/pgcluster.sh" start "$STACK_DIR/pg" >/dev/null || return 1
    . "$STACK_DIR/pg/env"
    "$root/sql/migrate.sh" "$DIALER_DATABASE_URL" >/dev/null
}

# stack_sim SCENARIO [extra flags…]: dialer-sim with agents loaded into the database.
# Sets SIM_CARRIER, SIM_CONTROL, SIM_SMS (base URLs) and SIM_LOG.
stack_sim() {
    local scenario=$1; shift
    local cport sport ctlport
    read -r cport sport ctlport <<<"$STACK_SIM_PORTS"
    SIM_LOG="$STACK_DIR/truth.jsonl"
    "$root/$BUILD/dialer-sim" -s "$scenario" --print-sql | psql -Xq >/dev/null || return 1
    "$root/$BUILD/dialer-sim" -s "$scenario" --dialerd "http://127.0.0.1:$DIALERD_PORT" \
        --carrier-listen "127.0.0.1:$cport" --sms-listen "127.0.0.1:$sport" \
        --control-listen "127.0.0.1:$ctlport" --log "$SIM_LOG" --token "$API_TOKEN" \
        --event-secret "$EVENT_SECRET" "$@" >"$STACK_DIR/sim.log" 2>&1 &
    SIM_PID=$!
    STACK_PIDS+=("$SIM_PID")
    SIM_CARRIER="http://127.0.0.1:$cport"; SIM_SMS="http://127.0.0.1:$sport"
    SIM_CONTROL="http://127.0.0.1:$ctlport"
    wait_until 20 curl -sf "$SIM_CONTROL/healthz" || { tail -5 "$STACK_DIR/sim.log" >&2; return 1; }
}

# stack_dialerd [--set k=v…]: dialerd pointed at the simulator; waits for /healthz. The
# credentials go through the environment, so that they do not show in the process list.
stack_dialerd() {
    local auth=()
    [ "$STACK_AUTH" = 1 ] && auth=(DIALER_API_TOKENS="$API_TOKEN" DIALER_EVENT_SECRETS="$EVENT_SECRET")
    env "${auth[@]}" "$DIALERD" --set listen="127.0.0.1:$DIALERD_PORT" \
        --set database_url="$DIALER_DATABASE_URL" \
        --set carrier_url="${SIM_CARRIER:-http://127.0.0.1:1}" --set instance_name=e2e "$@" \
        >>"$STACK_DIR/dialerd.log" 2>&1 &
    DIALERD_PID=$!
    STACK_PIDS+=("$DIALERD_PID")
    wait_until 20 curl -sf "http://127.0.0.1:$DIALERD_PORT/healthz" \
        || { tail -5 "$STACK_DIR/dialerd.log" >&2; return 1; }
}

# stack_stop PID NAME LOG: SIGTERM, wait up to 30 s, then checks exit status 0 and that no
# sanitizer (ASan / UBSan / LeakSanitizer) report is in the log.
stack_stop() {
    local pid=$1 name=$2 log=$3 rc
    kill -TERM "$pid" 2>/dev/null
    wait_until 30 bash -c "! kill -0 $pid 2>/dev/null"
    wait "$pid" 2>/dev/null; rc=$?
    tap_is "$rc" 0 "$name exits with status 0 after SIGTERM"
    ! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log"
    tap_ok $? "$name: no sanitizer report" "$(grep -m2 -E 'Sanitizer|runtime error' "$log" | tr '\n' ' ')"
}

# stack_down: stops every process and the cluster.
stack_down() {
    for p in "${STACK_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${STACK_PIDS[@]}"; do
        for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null
    done
    # STACK_KEEP=1 leaves the cluster running for a look after a failure.
    if [ -n "${STACK_KEEP:-}" ]; then
        echo "# cluster kept: . $STACK_DIR/pg/env" >&2
    else
        "$root/tests/lib/pgcluster.sh" destroy "$STACK_DIR/pg" >/dev/null 2>&1
    fi
}

# truth_load: the simulator's ground-truth log into table truth(j jsonb).
truth_load() {
    psql -Xq -c "SET client_min_messages = warning; DROP TABLE IF EXISTS truth; CREATE TABLE truth (j jsonb)" &&
    psql -Xq -c "\\copy truth (j) FROM '$SIM_LOG' WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')"
}

# q SQL: one value.
q() { psql -XAtc "$1"; }

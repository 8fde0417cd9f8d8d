#!/usr/bin/env bash
# End-to-end: dialer-sim authenticates every request to dialerd — events signed, agent status
# with the bearer token — and re-signs each retry: with PostgreSQL away for a while dialerd
# answers 503, the simulator retries within the same second, and not one delivery is refused
# as a replay or given up. A simulator without the secret, or with a wrong one, is refused.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/lib/stack.sh"
stack_begin simauth

stack_pg || { echo "not ok - private cluster starts and migrates"; exit 1; }
stack_sim "$root/tests/e2e/scenarios/loop.json" || { echo "not ok - dialer-sim starts"; exit 1; }
stack_dialerd --set abandon_lock_s=0 --set drain_timeout_ms=3000 || { echo "not ok - dialerd starts"; exit 1; }
base="http://127.0.0.1:$DIALERD_PORT"

psql -Xq <<'SQL'
INSERT INTO dialer.caller_numbers (number, max_concurrent, max_cps) VALUES ('+442070000001', 100, 100);
INSERT INTO dialer.campaigns (name, mode, skill_group_id, callers, recall_num, ring_timeout_s)
VALUES ('auth', 'progressive', 1, '{+442070000001}', 0, 15);
INSERT INTO dialer.callees (campaign_id, number)
SELECT 1, '+4477' || lpad(g::text, 8, '0') FROM generate_series(1, 300) g;
SQL

wait_until 20 bash -c "[ \$(psql -XAtc 'SELECT count(*) FROM dialer.attempts WHERE ended_at IS NOT NULL') -gt 20 ]"
tap_ok $? "calls are placed and their signed events are taken"
tap_is "$(q "SELECT count(*) FROM dialer.agents WHERE status <> 'offline'")" 30 \
    "the 30 agents logged in through the bearer route"

# PostgreSQL away: every event gets 503 and is retried, 100 ms apart at first.
"$root/tests/lib/pgcluster.sh" stop "$STACK_DIR/pg"
sleep 3
"$root/tests/lib/pgcluster.sh" restart "$STACK_DIR/pg"
wait_until 240 bash -c "[ \"\$(psql -XAtc 'SELECT status FROM dialer.campaigns WHERE id = 1' 2>/dev/null)\" = 4 ]"
tap_ok $? "the campaign completes after the outage"
grep -q 'event=sim.deliver_retrying' "$STACK_DIR/sim.log"
tap_ok $? "the simulator did retry deliveries during the outage"

stack_stop "$SIM_PID" dialer-sim "$STACK_DIR/sim.log"
truth_load
tap_is "$(q "SELECT count(*) FROM truth WHERE j->>'type' IN ('event_failed', 'agent_update_failed')")" 0 \
    "no event and no agent update was given up: every retry was signed anew"
tap_is "$(grep -c 'event=api.auth_refused' "$STACK_DIR/dialerd.log")" 0 "dialerd refused none of the simulator's requests"
tap_is "$(q "SELECT count(*) FROM truth WHERE j->>'type' = 'call'")" "$(q "SELECT count(*) FROM dialer.attempts WHERE ended_at IS NOT NULL")" \
    "every simulated call's end reached the database"

# A simulator without the secret, then with a wrong one: its agents cannot even log in.
for flags in "--token $API_TOKEN" "--token wrong-token --event-secret wrong-secret"; do
    log="$STACK_DIR/sim2.log"
    # shellcheck disable=SC2086
    "$root/$BUILD/dialer-sim" -s "$root/tests/e2e/scenarios/loop.json" --dialerd "$base" \
        --carrier-listen 127.0.0.1:0 $flags >"$log" 2>&1 &
    p=$!
    if [ "$flags" = "--token $API_TOKEN" ]; then
        wait_until 10 grep -q 'event=sim.listening' "$log"
        sleep 1
        tap_is "$(grep -c 'event=sim.deliver_gave_up' "$log")" 0 "without --event-secret the agent updates (bearer only) still go through"
    else
        wait_until 10 grep -q 'event=sim.deliver_gave_up.*HTTP 401' "$log"
        tap_ok $? "with a wrong token dialerd refuses the agent updates (401) and the simulator gives up on them"
    fi
    kill -TERM "$p"; wait "$p" 2>/dev/null
done

stack_stop "$DIALERD_PID" dialerd "$STACK_DIR/dialerd.log"
exit $TAP_FAILED

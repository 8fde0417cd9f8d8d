#!/usr/bin/env bash
# Fault injection: PostgreSQL restarted, then crashed (postmaster SIGKILLed), mid-campaign; dialing pauses and resumes, the invariants of tests/faults/lib.sh hold.
#
# Two campaigns run at once: one with agents (progressive, one recall of every attempt) and one
# agentless (one recall of failed attempts), with hangup and failure SMS. While the database is
# away dialerd's writes fail, dialer-sim's events get 503 and are retried, claims that committed
# without dialerd hearing back leave attempts that reconciliation must end ('unknown').
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/lib/stack.sh"
. "$root/tests/faults/lib.sh"
stack_begin faults-pg
t0=$SECONDS

stack_pg || { echo "not ok - private cluster starts and migrates"; exit 1; }
# The test cluster runs with synchronous_commit off (tests/lib/pgcluster.sh): a crash of the
# postmaster could then lose transactions already reported committed, which no client can
# survive. A real server commits synchronously; so does this one for this test.
psql -Xq -c "ALTER SYSTEM SET synchronous_commit = on" -c "SELECT pg_reload_conf()" >/dev/null
fault_recalls_compressed
stack_sim "$FAULT_SCENARIO" || { echo "not ok - dialer-sim starts"; exit 1; }
fault_dialerd --set db_heartbeat_ms=300 || { echo "not ok - dialerd starts"; exit 1; }
health_is() { local r; r=$(http GET "http://127.0.0.1:$DIALERD_PORT/healthz"); [ "${r%% *}" = "$1" ]; }
sim_dials() { curl -s -m 5 "$SIM_CONTROL/stats" | jq -r .dials; }

A=$(fault_campaign p_agents 200 +4479420 \
    "mode, skill_group_id, recall_num, recall_interval_min, recall_type, sms_sender_id, sms_content,
     sms_on_hangup, sms_on_failure" \
    "'progressive', 1, 1, 1, 0, 'ACME', 'P|\${text1}', true, true")
B=$(fault_campaign p_agentless 60 +4479430 \
    "mode, max_concurrent, recall_num, recall_interval_min, recall_type, sms_content, sms_on_hangup, sms_on_failure" \
    "'agentless', 4, 1, 1, 1, 'Q|\${text1}', true, true")
[ -n "$A" ] && [ -n "$B" ] || { echo "not ok - the campaigns and their callees are inserted"; exit 1; }
wait_until 20 bash -c "[ \$(psql -XAtc 'SELECT count(*) FROM dialer.attempts') -ge 40 ]"
tap_ok $? "dialing starts"

# outage HOW: the database goes away (stop: fast shutdown; kill: SIGKILL of the postmaster) for
# about four seconds; checks that dialing pauses and resumes.
outage() {
    local how=$1 before during after
    sleep 2
    before=$(q "SELECT count(*) FROM dialer.attempts")
    tap_is "$(q "SELECT status FROM dialer.campaigns WHERE id = $A")" 1 \
        "$how: the campaign with agents is running when the database goes away ($(fault_progress "$A"))"
    "$root/tests/lib/pgcluster.sh" "$how" "$STACK_DIR/pg"
    wait_until 5 health_is 503
    tap_ok $? "$how: /healthz reports the database down (at +$((SECONDS - t0)) s, $before attempts)"
    # Dials already handed to the carrier may still land in the first moment; after that, none.
    sleep 1; during=$(sim_dials); sleep 2.5
    tap_is "$(sim_dials)" "$during" "$how: no dial is placed while the database is away"
    kill -0 "$DIALERD_PID" 2>/dev/null; tap_ok $? "$how: dialerd keeps running without its database"
    "$root/tests/lib/pgcluster.sh" restart "$STACK_DIR/pg" || { echo "not ok - PostgreSQL starts again"; exit 1; }
    wait_until 15 health_is 200
    tap_ok $? "$how: PostgreSQL back, dialerd reconnects by itself (+$((SECONDS - t0)) s)"
    after=$(sim_dials)
    wait_until 10 bash -c "[ \$(curl -s -m 5 '$SIM_CONTROL/stats' | jq -r .dials) -gt $after ]"
    tap_ok $? "$how: dialing resumes ($(fault_progress "$A"))"
}
outage stop
outage kill
grep -q 'event=db.lost' "$STACK_DIR/dialerd.log"; tap_ok $? "the losses are logged (db.lost)"

# --- to completion -------------------------------------------------------------------------------
both_done() { fault_done "$A" && fault_done "$B"; }
wait_until 90 both_done
tap_ok $? "both campaigns complete and their SMS are sent (+$((SECONDS - t0)) s; $(fault_progress "$A"); $(fault_progress "$B"))"
kill -0 "$DIALERD_PID" 2>/dev/null; tap_ok $? "the same dialerd process ran throughout"
retried=$(curl -s -m 5 "$SIM_CONTROL/stats" | jq -r .events.retried)
tap_like "$retried" '^[1-9][0-9]*$' "carrier events refused while the database was away were delivered on a retry ($retried retries)"

# --- the invariants, against dialer-sim's record ------------------------------------------------
stack_stop "$SIM_PID" dialer-sim "$STACK_DIR/sim.log"
stack_stop "$DIALERD_PID" dialerd "$STACK_DIR/dialerd.log"
truth_load || { echo "not ok - dialer-sim's truth log loads"; exit 1; }
fault_check all
echo "# wall time $((SECONDS - t0)) s"
exit $TAP_FAILED

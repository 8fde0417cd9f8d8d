#!/usr/bin/env bash
# Fault injection: the carrier fails a fifth of the dials (500s, silences, cut connections) and then stalls past ring timeout + reconcile_grace_s; every dial is retried under its attempt id and placed once.
#
# dialer-sim can fail a random share of dials with 500 (`error_rate`) but can time out only all
# of them, for a while (`"carrier": "timeout"` with `carrier_for_ms`): the share of timeouts is
# made of short random windows of that mode, seeded (the seed is printed; FAULT_SEED repeats it);
# every other window is of `"carrier": "cut"` instead (connections closed without an answer).
# A dial the carrier held, cut or refused with 500 was never placed, so dialerd must retry it with
# the same Idempotency-Key for carrier_retry_s (60 s, the default), and the carrier is never away
# that long here: every attempt must end up placed, exactly once (or, when 500s on its retries
# happen to outlast carrier_retry_s, given up as operatorError after that long).
#
# The long stall (31 s) outlasts ring_timeout_s (15) + reconcile_grace_s (5, its minimum) while
# dials are still being retried: reconciliation must leave a dial that is still being retried
# alone (DESIGN §7 reconciles attempts left in flight by a crash, not ones this process is
# dialing), and the retry must be placed once the carrier is back.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/lib/stack.sh"
# No crash here: every attempt must reach the carrier, unless the carrier failed it for the whole
# of carrier_retry_s (a 500 on several retries in a row can outlast it; checked below).
FAULT_UNPLACED_OK="'operatorError'"
. "$root/tests/faults/lib.sh"
stack_begin faults-carrier
t0=$SECONDS
fault_seed

stack_pg || { echo "not ok - private cluster starts and migrates"; exit 1; }
fault_recalls_compressed
stack_sim "$FAULT_SCENARIO" || { echo "not ok - dialer-sim starts"; exit 1; }
# The default carrier timeout (5 s): a held dial is retried after it, with the same key.
fault_dialerd --set carrier_timeout_ms=5000 || { echo "not ok - dialerd starts"; exit 1; }
ctl() { curl -s -m 5 -X POST "$SIM_CONTROL/control" -d "$1" >/dev/null; }
sim_stat() { curl -s -m 5 "$SIM_CONTROL/stats" | jq -r "$1"; }

ctl '{"error_rate": 0.2}'
E=$(fault_campaign c_agents 160 +4479450 \
    "mode, skill_group_id, callout_rate, recall_num, recall_interval_min, recall_type, sms_sender_id,
     sms_content, sms_on_success, sms_on_ring, sms_on_feedback, sms_feedback_value, sms_success_delay_s" \
    "'progressive', 1, 1.5, 1, 1, 1, 'ACME', 'C|\${text1}', true, true, true, '1', 1")
F=$(fault_campaign c_agentless 50 +4479460 \
    "mode, max_concurrent, recall_num, recall_interval_min, sms_content, sms_on_hangup" \
    "'agentless', 6, 1, 1, 'D|\${text1}', true")
[ -n "$E" ] && [ -n "$F" ] || { echo "not ok - the campaigns and their callees are inserted"; exit 1; }

# --- 500 on a fifth of the dials, and the carrier silent or cutting a fifth of the time ---------
wait_until 20 bash -c "[ \$(psql -XAtc 'SELECT count(*) FROM dialer.attempts') -ge 20 ]"
tap_ok $? "dialing starts with the carrier failing a fifth of the dials"
windows=0; silent_ms=0; phase_start=$(date +%s%3N)
while [ $(( $(date +%s%3N) - phase_start )) -lt 15000 ]; do
    fault_sleep_rand 1500 2500
    fault_rand 300 700
    ctl "{\"carrier\": \"$([ $((windows % 2)) = 0 ] && echo timeout || echo cut)\", \"carrier_for_ms\": $REPLY}"
    windows=$((windows + 1)); silent_ms=$((silent_ms + REPLY))
    sleep "$(printf '0.%03d' "$REPLY")"
done
phase_ms=$(( $(date +%s%3N) - phase_start ))
dials=$(sim_stat .dials); r500=$(sim_stat .rejected_500); held=$(sim_stat .held); cut=$(sim_stat .cut)
echo "# first phase: $windows silent or cutting windows, ${silent_ms} of ${phase_ms} ms; carrier: $dials placed, $r500 refused with 500, $held held, $cut cut"
tap_like "$r500" '^[1-9][0-9]*$' "the carrier refused dials with 500 ($r500)"
tap_like "$held" '^[1-9][0-9]*$' "the carrier held dials without answering ($held)"
tap_like "$cut" '^[1-9][0-9]*$' "the carrier closed connections on dials without answering ($cut)"
share=$(awk -v r="$r500" -v d="$dials" 'BEGIN { printf "%.2f", r / (r + d) }')
tap_like "$share" '^0\.(1[0-9]|2[0-9]|30)$' "about a fifth of the dial requests it took got a 500 ($share)"
tap_is "$(q "SELECT status FROM dialer.campaigns WHERE id = $E")" 1 \
    "the campaign with agents was still running after the first phase ($(fault_progress "$E"))"

# --- a stall longer than ring timeout + reconcile_grace_s, shorter than carrier_retry_s --------
ctl '{"carrier": "timeout", "carrier_for_ms": 31000}'
sleep 31
held_in_stall=$(( $(sim_stat .held) - held ))
tap_like "$held_in_stall" '^[1-9][0-9]*$' "the stall caught dials being placed ($held_in_stall requests held)"
echo "# after the stall: $(q "SELECT count(*) FROM dialer.attempts WHERE ended_at IS NULL") attempts open; $(fault_progress "$E")"
alive=0; died=""
if ! kill -0 "$DIALERD_PID" 2>/dev/null; then
    alive=1
    wait "$DIALERD_PID" 2>/dev/null; died="exit status $?"
    died="$died; $(grep -m1 -E 'SUMMARY: AddressSanitizer|runtime error' "$STACK_DIR/dialerd.log")"
    fault_forget_pid "$DIALERD_PID"
fi
tap_ok $alive "dialerd survived a 31 s carrier stall while retrying dials" "$died"
if [ $alive != 0 ]; then
    # Go on with a new process, so that the invariants are still checked after the crash.
    fault_dialerd --set carrier_timeout_ms=5000 || { echo "not ok - dialerd restarts"; exit 1; }
fi

# --- to completion, the carrier still failing a fifth of the dials -----------------------------
both_done() { fault_done "$E" && fault_done "$F"; }
wait_until 90 both_done
tap_ok $? "both campaigns complete and their SMS are sent (+$((SECONDS - t0)) s; $(fault_progress "$E"); $(fault_progress "$F"))"
# The simulator first: its last agent updates (offline) must still find dialerd.
stack_stop "$SIM_PID" dialer-sim "$STACK_DIR/sim.log"
if [ $alive = 0 ]; then
    stack_stop "$DIALERD_PID" dialerd "$STACK_DIR/dialerd.log"
else
    # The crashed run's sanitizer report is in the log: stack_stop's check would repeat it.
    kill -TERM "$DIALERD_PID"; wait "$DIALERD_PID" 2>/dev/null
fi
truth_load || { echo "not ok - dialer-sim's truth log loads"; exit 1; }

# --- dialerd's retries against what the carrier saw ---------------------------------------------
FC_DESC=(); FC_SQL=()
fault_none "every attempt the carrier refused (500), held or cut was retried under the same key and placed exactly once, or given up (operatorError) only after carrier_retry_s (60 s) of retries" \
    "SELECT 'attempt ' || r.attempt_id || ': ' || r.n || ' refused/held over ' || round((r.last - r.first) / 1000.0, 1)
            || ' s, placed ' || count(d.attempt_id) || ' times, database ' || coalesce(a.end_status, 'no end')
       FROM (SELECT (j->>'attempt_id')::bigint AS attempt_id, count(*) AS n, min((j->>'at')::bigint) AS first,
                    max((j->>'at')::bigint) AS last
               FROM truth WHERE j->>'type' = 'rejected' AND (j->>'status')::int IN (0, 500) GROUP BY 1) r
       LEFT JOIN fc_dial d ON d.attempt_id = r.attempt_id LEFT JOIN dialer.attempts a ON a.id = r.attempt_id
      GROUP BY r.attempt_id, r.n, r.first, r.last, a.end_status
     HAVING NOT (count(d.attempt_id) = 1
                 OR (count(d.attempt_id) = 0 AND a.end_status = 'operatorError' AND r.last - r.first >= 55000))"
fault_none "no attempt ended 'unknown': reconciliation left alone the dials this process was still retrying" \
    "SELECT 'attempt ' || id || ' unknown, created ' || created_at || ', ended ' || ended_at
            || ' (' || round(extract(epoch FROM ended_at - created_at)::numeric, 1) || ' s later)'
       FROM dialer.attempts WHERE end_status = 'unknown'"
fault_check_run "$(fault_tables_sql all)"
retried=$(q "SELECT count(DISTINCT j->>'attempt_id') FROM truth WHERE j->>'type' = 'rejected' AND (j->>'status')::int IN (0, 500)")
tap_like "$retried" '^[1-9][0-9]*$' "dials were retried after a 500 or a silence ($retried attempts)"

fault_check all
grep -q 'level=error' "$STACK_DIR/dialerd.log"; tap_ok $((! $?)) "dialerd logged no error" \
    "$(grep -m3 'level=error' "$STACK_DIR/dialerd.log" | tr '\n' ' ')"
echo "# wall time $((SECONDS - t0)) s"
exit $TAP_FAILED

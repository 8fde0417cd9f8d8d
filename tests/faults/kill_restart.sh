#!/usr/bin/env bash
# Fault injection: dialerd is SIGKILLed at ten random moments of a campaign and restarted each time; the invariants of tests/faults/lib.sh hold.
#
# A predictive campaign with agents, two recalls and three SMS triggers runs against dialer-sim.
# The kill times come from a seeded generator (the seed is printed; FAULT_SEED repeats it).
# Kills 1, 3 and 5 happen while the carrier holds dials unanswered, so that attempts are
# certainly left in flight that no call stands behind: they must be reconciled (ended 'unknown'
# once their ring timeout plus reconcile_grace_s has passed, DESIGN §7) and recalled by rule,
# within the run; early enough that the run need not wait long for it.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/lib/stack.sh"
. "$root/tests/faults/lib.sh"
stack_begin faults-kill
t0=$SECONDS
fault_seed

stack_pg || { echo "not ok - private cluster starts and migrates"; exit 1; }
fault_recalls_compressed
stack_sim "$FAULT_SCENARIO" || { echo "not ok - dialer-sim starts"; exit 1; }
fault_dialerd || { echo "not ok - dialerd starts"; exit 1; }
ctl() { curl -s -m 5 -X POST "$SIM_CONTROL/control" -d "$1" >/dev/null; }

C=$(fault_campaign k_kill 400 +4479410 \
    "mode, skill_group_id, recall_num, recall_interval_min, recall_type, sms_sender_id, sms_content,
     sms_on_success, sms_on_failure, sms_on_ring, sms_success_delay_s" \
    "'predictive', 1, 2, 1, 1, 'ACME', 'K|\${text1}', true, true, true, 1")
[ -n "$C" ] || { echo "not ok - the campaign and its callees are inserted"; exit 1; }
wait_until 20 bash -c "[ \$(psql -XAtc 'SELECT count(*) FROM dialer.attempts WHERE campaign_id = $C') -ge 20 ]"
tap_ok $? "dialing starts"

# --- ten SIGKILLs, each followed by a restart under the same instance_name ---------------------
restarted=0; in_flight_at_kills=""
for k in $(seq 1 10); do
    fault_sleep_rand 300 2500
    if [ $((k % 2)) = 1 ] && [ $k -le 5 ]; then
        # The carrier takes dials and never answers for a moment: the kill leaves attempts whose
        # dial never became a call (dialer-sim logs them 'rejected', status 0).
        ctl '{"carrier": "timeout", "carrier_for_ms": 1500}'
        fault_sleep_rand 400 1000
    fi
    open=$(q "SELECT count(*) FROM dialer.attempts WHERE campaign_id = $C AND ended_at IS NULL")
    kill -KILL "$DIALERD_PID"; wait "$DIALERD_PID" 2>/dev/null
    fault_forget_pid "$DIALERD_PID"
    in_flight_at_kills="$in_flight_at_kills $open"
    echo "# kill $k at +$((SECONDS - t0)) s: $open attempts open; $(fault_progress "$C")"
    fault_sleep_rand 0 1000
    fault_dialerd && restarted=$((restarted + 1)) || break
done
tap_is "$restarted" 10 "dialerd SIGKILLed ten times mid-campaign and restarted each time (same instance_name)"
[ "$restarted" = 10 ] || { tail -5 "$STACK_DIR/dialerd.log" | sed 's/^/# /'; exit 1; }
held=$(curl -s -m 5 "$SIM_CONTROL/stats" | jq -r .held)
tap_like "$held" '^[1-9][0-9]*$' "the carrier held dials around kills 1, 3 and 5 ($held held)"
tap_is "$(q "SELECT status FROM dialer.campaigns WHERE id = $C")" 1 \
    "every kill hit the campaign while it ran (attempts open at the kills:$in_flight_at_kills)"

# --- to completion -------------------------------------------------------------------------------
wait_until 90 fault_done "$C"
tap_ok $? "the campaign completes and its SMS are sent after the last restart (+$((SECONDS - t0)) s; $(fault_progress "$C"))"

# Reconciliation (DESIGN §7): attempts left in flight with no call behind them end 'unknown', not
# before their ring timeout plus reconcile_grace_s (5 s here), and within a reconcile round
# (10 s) or a restart after that.
unknown=$(q "SELECT count(*) FROM dialer.attempts WHERE campaign_id = $C AND end_status = 'unknown'")
tap_like "$unknown" '^[1-9][0-9]*$' "attempts lost in the crashes were reconciled as 'unknown' ($unknown)"
fault_none_now() { # the checker's form, run at once: DESC SQL
    FC_DESC=(); FC_SQL=(); fault_none "$1" "$2"; fault_check_run ""
}
fault_none_now "reconciled attempts ended after ring timeout + reconcile_grace_s, and no more than 20 s later" \
    "SELECT 'attempt ' || a.id || ' created ' || a.created_at || ' ended ' || a.ended_at
       FROM dialer.attempts a JOIN dialer.campaigns k ON k.id = a.campaign_id
      WHERE a.campaign_id = $C AND a.end_status = 'unknown'
        AND (a.ended_at < a.created_at + make_interval(secs => k.ring_timeout_s + 5)
             OR a.ended_at > a.created_at + make_interval(secs => k.ring_timeout_s + 5 + 20))"
grep -q 'event=reconcile.lost_attempts' "$STACK_DIR/dialerd.log"
tap_ok $? "dialerd logged the reconciliation (reconcile.lost_attempts)"
grep -q 'event=call.adopted' "$STACK_DIR/dialerd.log"
tap_ok $? "restarted runs took over calls placed by the killed ones (call.adopted)"

# --- the invariants, against dialer-sim's record ------------------------------------------------
stack_stop "$SIM_PID" dialer-sim "$STACK_DIR/sim.log"
stack_stop "$DIALERD_PID" dialerd "$STACK_DIR/dialerd.log"
truth_load || { echo "not ok - dialer-sim's truth log loads"; exit 1; }
fault_check "$C"
echo "# wall time $((SECONDS - t0)) s"
exit $TAP_FAILED

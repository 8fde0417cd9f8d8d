#!/usr/bin/env bash
# End-to-end: the carrier places calls but its answers to the dials are lost (dialer-sim's
# `accept_timeout` mode). dialerd times out, keeps retrying under the same key, and meanwhile
# the calls' own events arrive: they prove the dial, so every attempt records when it was dialed
# and its session, each call is placed once, and every callee ends final.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/lib/stack.sh"
stack_begin lost_reply

stack_pg || { echo "not ok - private cluster starts and migrates"; exit 1; }
stack_sim "$root/tests/e2e/scenarios/loop.json" || { echo "not ok - dialer-sim starts"; exit 1; }
# A 1 s carrier timeout: at 200x real time the calls ring out (30 simulated s = 0.15 s) and end
# well before a dial's answer could have been waited for.
stack_dialerd --set carrier_timeout_ms=1000 || { echo "not ok - dialerd starts"; exit 1; }
ctl() { curl -s -m 2 -X POST "$SIM_CONTROL/control" -d "$1" >/dev/null; }
sim_stat() { curl -s -m 5 "$SIM_CONTROL/stats" | jq -r "$1"; }

ctl '{"carrier": "accept_timeout"}'
tap_is "$(sim_stat .modes.carrier)" accept_timeout "dialer-sim's carrier places calls and loses its answers"
psql -Xq <<'SQL'
INSERT INTO dialer.caller_numbers (number, max_concurrent, max_cps) VALUES ('+442070000009', 100, 100);
INSERT INTO dialer.campaigns (name, mode, max_concurrent, callers, recall_num, ring_timeout_s)
VALUES ('lost', 'agentless', 5, '{+442070000009}', 0, 15);
INSERT INTO dialer.callees (campaign_id, number)
SELECT (SELECT id FROM dialer.campaigns WHERE name = 'lost'), '+4479900' || lpad(g::text, 5, '0')
  FROM generate_series(1, 20) g;
SQL

wait_until 60 bash -c "[ \$(psql -XAtc \"SELECT count(*) FROM dialer.callees WHERE state IN (1, 2)\") = 20 ]"
tap_ok $? "every callee ends final although no dial was ever answered"
tap_is "$(sim_stat .dials)" 20 "the carrier placed 20 calls, one per callee"
tap_like "$(sim_stat .unanswered_dials)" '^[1-9][0-9]*$' "and answered none of the dial requests"
tap_is "$(q "SELECT count(*) FROM dialer.attempts")" 20 "one attempt per callee: a lost answer is not a new attempt"
tap_is "$(q "SELECT count(*) FROM dialer.attempts WHERE dialed_at IS NULL OR session_id IS NULL")" 0 \
    "every attempt records when it was dialed and its carrier session, from the call's events"
tap_is "$(q "SELECT count(*) FROM dialer.attempts WHERE end_status IS NULL OR end_status = 'operatorError'")" 0 \
    "every attempt ends with the carrier's outcome, not as a failed dial"
dialed=$(curl -s -m 5 "http://127.0.0.1:$DIALERD_PORT/metrics" | awk '$1 == "dialerd_dials_total" { print $2 }')
tap_is "$dialed" 20 "dialerd_dials_total counts each placed call once"
stack_stop "$SIM_PID" dialer-sim "$STACK_DIR/sim.log"
stack_stop "$DIALERD_PID" dialerd "$STACK_DIR/dialerd.log"
truth_load || { echo "not ok - dialer-sim's truth log loads"; exit 1; }
tap_is "$(q "SELECT count(*) FROM dialer.attempts a
              JOIN truth t ON t.j->>'type' = 'dial' AND (t.j->>'attempt_id')::bigint = a.id
             WHERE a.session_id = t.j->>'session_id'")" 20 \
    "each attempt's session is the one the carrier gave the call"
grep -q 'level=error' "$STACK_DIR/dialerd.log"; tap_ok $((! $?)) "dialerd logged no error" \
    "$(grep -m3 'level=error' "$STACK_DIR/dialerd.log" | tr '\n' ' ')"

exit $TAP_FAILED

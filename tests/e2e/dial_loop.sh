#!/usr/bin/env bash
# End-to-end: callees go from SQL rows to dialed calls to final states through the real daemon,
# PostgreSQL and dialer-sim; the database is checked against the simulator's ground truth, with
# the carrier refusing, failing and stalling for a while in the middle.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/lib/stack.sh"
stack_begin loop

stack_pg || { echo "not ok - private cluster starts and migrates"; exit 1; }
stack_sim "$root/tests/e2e/scenarios/loop.json" || { echo "not ok - dialer-sim starts"; exit 1; }
# Short carrier timeout so that the stall below is noticed; abandon lock off so a rare abandon
# is recalled within the test.
stack_dialerd --set carrier_timeout_ms=1000 --set abandon_lock_s=0 \
    || { echo "not ok - dialerd starts"; exit 1; }

# Callers with room for the test's pace (the defaults allow 5 calls per second each).
psql -Xq <<'SQL'
INSERT INTO dialer.caller_numbers (number, max_concurrent, max_cps)
VALUES ('+442070000001', 100, 100), ('+442070000002', 100, 100), ('+442070000003', 100, 100);
INSERT INTO dialer.campaigns (name, mode, skill_group_id, callers, recall_num, recall_interval_min,
                              ring_timeout_s)
VALUES ('loop-a', 'progressive', 1, '{+442070000001,+442070000002}', 1, 1, 15),
       ('loop-b', 'progressive', 1, '{+442070000003}', 1, 1, 15);
INSERT INTO dialer.campaigns (name, mode, max_concurrent, callers, recall_num, ring_timeout_s)
VALUES ('loop-c', 'agentless', 8, '{+442070000003}', 0, 15);
INSERT INTO dialer.callees (campaign_id, number)
SELECT (SELECT id FROM dialer.campaigns WHERE name = 'loop-a'), '+4477' || lpad(g::text, 8, '0')
  FROM generate_series(1, 2000) g;
INSERT INTO dialer.callees (campaign_id, number)
SELECT (SELECT id FROM dialer.campaigns WHERE name = 'loop-b'), '+4478' || lpad(g::text, 8, '0')
  FROM generate_series(1, 400) g;
INSERT INTO dialer.callees (campaign_id, number)
SELECT (SELECT id FROM dialer.campaigns WHERE name = 'loop-c'), '+4479' || lpad(g::text, 8, '0')
  FROM generate_series(1, 300) g;
SQL

# --- the carrier goes away for a while, three ways -------------------------------------------
wait_until 20 bash -c "[ \$(psql -XAtc 'SELECT count(*) FROM dialer.attempts') -gt 300 ]"
tap_ok $? "dialing starts within seconds of the insert"
control() { curl -s -m 2 -X POST -d "$1" "$SIM_CONTROL/control" >/dev/null; }
control '{"carrier":"refuse"}'; sleep 2
sleep 1
n2=$(q "SELECT count(*) FROM dialer.attempts WHERE dialed_at IS NOT NULL AND dialed_at > now() - interval '0.5 s'")
tap_is "$n2" 0 "carrier refusing connections: no dial is recorded as placed"
control '{"carrier":"error500"}'; sleep 6
control '{"carrier":"timeout"}'; sleep 6
st=$(curl -s "$SIM_CONTROL/stats")
control '{"carrier":"ok"}'
tap_like "$st" '"rejected_500":[1-9]' "the carrier answered 500s during the outage"
tap_like "$st" '"held":[1-9]' "and held dials without answering"

# --- both campaigns complete ------------------------------------------------------------------
wait_until 240 bash -c "[ \$(psql -XAtc \"SELECT count(*) FROM dialer.campaigns WHERE status = 4\") = 3 ]"
tap_ok $? "all three campaigns complete (status 4)"
tap_is "$(q "SELECT count(*) FROM dialer.callees WHERE state NOT IN (1, 2)")" 0 "every callee is final"
tap_is "$(q "SELECT count(*) FROM dialer.callees")" 2700 "no callee lost"
tap_is "$(q "SELECT count(*) FROM dialer.attempts WHERE ended_at IS NULL")" 0 "no attempt left open"
tap_is "$(q "SELECT count(*) FROM dialer.callees c
             WHERE c.attempts <> (SELECT count(*) FROM dialer.attempts a WHERE a.callee_id = c.id)")" 0 \
    "callees.attempts equals the attempt rows of each callee"
tap_is "$(q "SELECT count(*) FROM dialer.attempts WHERE end_status IN ('operatorError', 'unknown', 'clientError')")" 0 \
    "the outage cost no attempt: every dial was retried or returned to the queue"

# --- the recall rule: recall_num 1, recall type 1 (failed attempts only) -----------------------
bad=$(q "WITH first AS (SELECT DISTINCT ON (callee_id) callee_id, success, end_status
                          FROM dialer.attempts ORDER BY callee_id, attempt_no)
         SELECT count(*) FROM dialer.callees c JOIN first f ON f.callee_id = c.id
          JOIN dialer.campaigns k ON k.id = c.campaign_id
          WHERE c.attempts <> CASE WHEN f.success OR f.end_status IN ('numberNotExist', 'numberInvalid')
                                     OR k.recall_num = 0 THEN 1 ELSE 2 END")
tap_is "$bad" 0 "attempts per callee follow the rule (success or invalid number: 1, else 2)"
tap_is "$(q "SELECT count(*) FROM dialer.callees c
             WHERE (c.state = 1) <> EXISTS (SELECT 1 FROM dialer.attempts a WHERE a.callee_id = c.id AND a.success)")" 0 \
    "a callee is answered (1) exactly when one of its attempts succeeded, else unanswered (2)"
gap=$(q "SELECT count(*) FROM dialer.attempts a JOIN dialer.attempts b
           ON b.callee_id = a.callee_id AND b.attempt_no = a.attempt_no + 1
         WHERE b.created_at < a.ended_at + interval '59 s'")
tap_is "$gap" 0 "a recall waits recall_interval_min (1 minute) after the failed attempt"

# --- the database against the simulator's ground truth ----------------------------------------
stack_stop "$SIM_PID" dialer-sim "$STACK_DIR/sim.log"
truth_load
tap_is "$(q "SELECT count(*) FROM truth WHERE j->>'type' = 'duplicate_dial'")" 0 \
    "no attempt id reached the carrier twice as a new dial"
tap_is "$(q "SELECT count(*) FROM truth WHERE j->>'type' IN ('event_failed', 'agent_update_failed')")" 0 \
    "every signed event and every agent update (bearer token) got through: none given up"
tap_is "$(q "SELECT count(*) FROM (SELECT j->>'attempt_id' FROM truth WHERE j->>'type' = 'dial'
                                   GROUP BY 1 HAVING count(*) > 1) x")" 0 "no attempt id was dialed twice"
tap_is "$(q "SELECT count(*) FROM truth WHERE j->>'type' = 'call'")" "$(q "SELECT count(*) FROM dialer.attempts")" \
    "one simulated call per attempt row"
tap_is "$(q "SELECT count(*) FROM dialer.attempts a
              LEFT JOIN truth t ON t.j->>'type' = 'call' AND (t.j->>'attempt_id')::bigint = a.id
             WHERE t.j IS NULL OR t.j->>'end_status' IS DISTINCT FROM a.end_status
                OR (t.j->>'callee') <> (SELECT number FROM dialer.callees WHERE id = a.callee_id)
                OR (t.j->>'caller') <> a.caller")" 0 \
    "every attempt's end status, callee and caller match the simulator's call"
tap_is "$(q "SELECT count(*) FROM dialer.attempts WHERE answered_at IS NOT NULL")" \
       "$(q "SELECT count(*) FROM truth WHERE j->>'type' = 'call' AND (j->>'live_answer')::boolean")" \
    "answered count equals the simulator's live answers"
tap_is "$(q "SELECT count(*) FROM dialer.attempts WHERE end_status = 'abandoned'")" \
       "$(q "SELECT count(*) FROM truth WHERE j->>'type' = 'call' AND (j->>'abandoned')::boolean")" \
    "abandoned count equals the simulator's abandons"
tap_is "$(q "SELECT count(*) FROM dialer.attempts a JOIN truth t
               ON t.j->>'type' = 'call' AND (t.j->>'attempt_id')::bigint = a.id
             WHERE a.success <> (t.j->>'end_status' = 'ok'
                                 AND (t.j->>'agent_id' IS NOT NULL OR a.skill_group_id IS NULL))")" 0 \
    "success is exactly: answered and connected to an agent (agentless: answered)"
tap_is "$(q "SELECT count(*) FROM dialer.attempts WHERE dialed_at IS NULL OR session_id IS NULL")" 0 \
    "every attempt records when it was dialed and its carrier session"
tap_is "$(q "SELECT count(*) FROM dialer.attempts a JOIN dialer.campaigns c ON c.id = a.campaign_id
             WHERE NOT (a.caller = ANY (c.callers))")" 0 "every dial used one of its campaign's callers"
peak=$(q "WITH ev AS (
             SELECT (j->>'dialed_at')::bigint AS t, 1 AS d FROM truth
              WHERE j->>'type' = 'call' AND j->>'campaign_id' = (SELECT id::text FROM dialer.campaigns WHERE name = 'loop-c')
             UNION ALL
             SELECT (j->>'ended_at')::bigint, -1 FROM truth
              WHERE j->>'type' = 'call' AND j->>'campaign_id' = (SELECT id::text FROM dialer.campaigns WHERE name = 'loop-c'))
           SELECT max(s) FROM (SELECT sum(d) OVER (ORDER BY t, d ROWS UNBOUNDED PRECEDING) AS s FROM ev) x")
tap_like "$peak" '^[1-8]$' "agentless: never more than max_concurrent (8) calls in flight at the carrier (peak $peak)"
tap_is "$(q "SELECT count(*) FROM dialer.attempts a JOIN dialer.campaigns c ON c.id = a.campaign_id
             WHERE c.name = 'loop-c' AND (a.agent_id IS NOT NULL OR a.skill_group_id IS NOT NULL)")" 0 \
    "agentless calls carry no skill group and reach no agent"
tap_is "$(q "SELECT count(*) FROM dialer.attempts a JOIN dialer.campaigns c ON c.id = a.campaign_id
             WHERE c.name = 'loop-c' AND a.end_status = 'ok' AND NOT a.success")" 0 \
    "agentless: an answered call is a success without an agent"
used=$(q "SELECT count(DISTINCT caller) FROM dialer.attempts a JOIN dialer.campaigns c ON c.id = a.campaign_id WHERE c.name = 'loop-a'")
tap_is "$used" 2 "a campaign's callers are rotated"
tap_like "$(q "SELECT max(attempt_no) FROM dialer.attempts")" '^2$' "no callee went past recall_num"
stack_stop "$DIALERD_PID" dialerd "$STACK_DIR/dialerd.log"
grep -q 'level=error' "$STACK_DIR/dialerd.log"; tap_ok $((! $?)) "dialerd logged no error" \
    "$(grep -m3 'level=error' "$STACK_DIR/dialerd.log" | tr '\n' ' ')"

exit $TAP_FAILED

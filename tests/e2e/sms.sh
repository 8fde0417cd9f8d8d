#!/usr/bin/env bash
# End-to-end: SMS triggers through dialerd + dialer-sim (carrier, agents and the SMS gateway sink).
# Each trigger sends exactly the SMS the simulator's ground truth calls for, with the rendered
# text; the success SMS waits its delay; a gateway that fails and then stalls for a minute loses and
# doubles nothing; dialerd killed with SIGKILL mid-send resends under the same Idempotency-Key
# (the sink counts the resends it deduplicated) and never sends one (attempt, trigger) twice;
# rows of a dead instance wait out their lease; SIGTERM drains the sends in flight.
#
# Trigger semantics checked here (docs/sms.md): ring = the phone rang; hangup = a person or a
# machine picked up; success = connected to an agent (end status ok); failure = every other end
# (machine and abandoned included); feedback = the keys pressed contain sms_feedback_value.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/lib/stack.sh"
stack_begin sms

# Retries are scaled down: a 1 s request timeout, back-off 200 ms .. 2 s, a 3 s lease. A call
# claimed but not yet dialed when dialerd is killed is reconciled 15 s (ring timeout) + 5 s later.
SMS_FLAGS=(--set sms_timeout_ms=1000 --set sms_backoff_min_ms=200 --set sms_backoff_max_ms=2000
           --set sms_max_tries=60 --set sms_poll_ms=200 --set sms_lease_ms=3000
           --set sms_max_conns=8 --set sms_batch=20 --set abandon_lock_s=0 --set reconcile_grace_s=5)
stack_pg || { echo "not ok - private cluster starts and migrates"; exit 1; }
stack_sim "$root/tests/e2e/scenarios/sms.json" || { echo "not ok - dialer-sim starts"; exit 1; }
stack_dialerd --set sms_url="$SIM_SMS/sms" "${SMS_FLAGS[@]}" || { echo "not ok - dialerd starts"; exit 1; }
ctl() { curl -s -m 5 -X POST "$SIM_CONTROL/control" -d "$1" >/dev/null; }
sim_stat() { curl -s -m 5 "$SIM_CONTROL/stats" | jq -r "$1"; }
cid() { q "SELECT id FROM dialer.campaigns WHERE name = '$1'"; }
# callees NAME PREFIX N: N callees numbered PREFIX0001.., text1 = their number, text2 = UTF-8.
callees() {
    psql -Xq -v ON_ERROR_STOP=1 -c "INSERT INTO dialer.callees (campaign_id, number, variables)
        SELECT (SELECT id FROM dialer.campaigns WHERE name = '$1'), n,
               jsonb_build_object('text1', n, 'text2', 'Zoë ✓')
          FROM (SELECT '$2' || lpad(g::text, 4, '0') AS n FROM generate_series(1, $3) g) x"
}
# wait_done NAME SECONDS: the campaign completed and none of its SMS is pending or sending.
wait_done() {
    local c; c=$(cid "$1")
    wait_until "$2" bash -c "[ \"\$(psql -XAtc \"SELECT (SELECT status FROM dialer.campaigns WHERE id = $c) = 4
        AND NOT EXISTS (SELECT 1 FROM dialer.sms_outbox WHERE campaign_id = $c AND state IN ('pending', 'sending'))\")\" = t ]"
}

tap_like "$(http POST "$SIM_CONTROL/control" '{"carrier": "accept_late"}')" \
    '^400 .*accept_late.*accepted.*error500.*accept_timeout' \
    "sim control: an unknown mode is refused with the modes accepted"
tap_like "$(http POST "$SIM_CONTROL/control" '{"sms_for_ms": 1000}')" '^400 .*only with a \\"sms\\" mode' \
    "sim control: sms_for_ms needs an sms mode in the same request"
tap_like "$(http POST "$SIM_CONTROL/control" '{"sms": "ok", "sms_for_ms": 0.5}')" '^400 .*whole number of ms' \
    "sim control: sms_for_ms must be a whole number of ms"

# --- phase 1: one campaign per trigger, and one with every trigger --------------------------------
psql -Xq -v ON_ERROR_STOP=1 <<'SQL'
INSERT INTO dialer.caller_numbers (number, max_concurrent, max_cps) VALUES ('+442071110000', 500, 500);
INSERT INTO dialer.campaigns (name, mode, skill_group_id, callers, recall_num, ring_timeout_s, variables,
                              sms_sender_id, sms_content, sms_on_hangup, sms_on_success, sms_on_failure,
                              sms_on_ring, sms_on_feedback, sms_success_delay_s, sms_feedback_value)
VALUES
 ('s_hang', 'progressive', 1, '{+442071110000}', 0, 15, '{"text10":"camp10","text2":"not used"}', 'ACME',
  'H|${text1}|${text2}|${text3}|$5 ${x} ${text11}|${text10}', true, false, false, false, false, 1, NULL),
 ('s_succ', 'progressive', 1, '{+442071110000}', 0, 15, '{}', NULL, 'S|${text1}', false, true, false, false, false, 3, NULL),
 ('s_fail', 'progressive', 1, '{+442071110000}', 0, 15, '{}', 'ACME', 'F|${text1}', false, false, true, false, false, 1, NULL),
 ('s_ring', 'progressive', 1, '{+442071110000}', 0, 15, '{}', 'ACME', 'R|${text1}', false, false, false, true, false, 1, NULL),
 ('s_fb',   'progressive', 1, '{+442071110000}', 0, 15, '{}', 'ACME', 'K|${text1}', false, false, false, false, true, 1, '2'),
 ('s_all',  'progressive', 1, '{+442071110000}', 0, 15, '{}', 'ACME', 'A|${text1}', true, true, true, true, true, 1, '1');
SQL
i=0
for c in s_hang s_succ s_fail s_ring s_fb s_all; do
    i=$((i + 1)); callees "$c" "+4479100${i}" 40
done
bad=""
for c in s_hang s_succ s_fail s_ring s_fb s_all; do wait_done "$c" 60 || bad="$bad $c"; done
tap_is "${bad:-none}" none "six campaigns, one per trigger and one with all: each completes and its SMS are sent"

# --- phase 2: the gateway fails (500) for 30 s, then stalls (no answer) for 30 s, mid-campaign ----
psql -Xq -v ON_ERROR_STOP=1 <<'SQL'
INSERT INTO dialer.campaigns (name, mode, max_concurrent, callers, recall_num, ring_timeout_s,
                              sms_sender_id, sms_content, sms_on_hangup, sms_on_ring)
VALUES ('g_down', 'agentless', 3, '{+442071110000}', 0, 15, 'ACME', 'G|${text1}', true, true);
SQL
ctl '{"sms": "error500", "sms_for_ms": 30000}'
down_at=$(date +%s%3N)
callees g_down "+4479200" 750
sleep 30
ctl '{"sms": "timeout", "sms_for_ms": 30000}'
sleep 15
stalled=$(q "SELECT count(*) FROM dialer.attempts a JOIN dialer.campaigns c ON c.id = a.campaign_id
             WHERE c.name = 'g_down' AND a.ended_at IS NULL")
sleep 15
up_at=$(date +%s%3N)
wait_done g_down 90; tap_ok $? "gateway down a minute (30 s of 500, 30 s without answer): the campaign completes and every SMS is sent"
G=$(cid g_down)
tap_like "$(q "SELECT count(*) FROM dialer.attempts WHERE campaign_id = $G AND created_at > to_timestamp($down_at / 1000.0) + interval '15 s'
                 AND created_at < to_timestamp($up_at / 1000.0)")" '^[1-9][0-9]*$' \
    "the campaign kept dialing while the gateway was down (calls in flight 45 s in: $stalled)"

# --- phase 3: SIGKILL while SMS are due: some 'sending' (sink takes them, never answers), some pending
psql -Xq -v ON_ERROR_STOP=1 <<'SQL'
INSERT INTO dialer.campaigns (name, mode, skill_group_id, callers, recall_num, ring_timeout_s, sms_sender_id,
                              sms_content, sms_on_hangup, sms_on_success, sms_on_failure, sms_success_delay_s)
VALUES ('k_kill', 'progressive', 1, '{+442071110000}', 0, 15, 'ACME', 'X|${text1}', true, true, true, 2);
SQL
K=$(cid k_kill)
ctl '{"sms": "accept_timeout"}'
callees k_kill "+4479300" 60
wait_until 30 bash -c "[ \"\$(psql -XAtc \"SELECT count(*) FILTER (WHERE state = 'sending') >= 3
    AND count(*) FILTER (WHERE state = 'pending') >= 3 FROM dialer.sms_outbox WHERE campaign_id = $K\")\" = t ]"
tap_ok $? "SMS due with the gateway taking them and never answering: rows 'sending' and 'pending'"
kill -KILL "$DIALERD_PID"; wait "$DIALERD_PID" 2>/dev/null
kill_ms=$(date +%s%3N)
at_kill=$(q "SELECT count(*) FILTER (WHERE state = 'pending') || ' pending, ' ||
                    count(*) FILTER (WHERE state = 'sending') || ' sending, ' ||
                    count(*) FILTER (WHERE state = 'sent') || ' sent'
               FROM dialer.sms_outbox WHERE campaign_id = $K")
# Two of the rows left 'sending' belong to another, dead instance: theirs wait out the lease.
ghost_until=$(psql -XAtq -c "WITH g AS (SELECT id FROM dialer.sms_outbox WHERE campaign_id = $K AND state = 'sending'
                             ORDER BY id LIMIT 2)
                 UPDATE dialer.sms_outbox o SET claimed_by = 'ghost', lease_until = now() + interval '4 s'
                   FROM g WHERE o.id = g.id RETURNING (extract(epoch FROM o.lease_until) * 1000)::bigint" | head -1)
ghosts=$(q "SELECT string_agg(id::text, ',') FROM dialer.sms_outbox WHERE claimed_by = 'ghost'")
ctl '{"sms": "ok"}'
stack_dialerd --set sms_url="$SIM_SMS/sms" "${SMS_FLAGS[@]}" || { echo "not ok - dialerd restarts"; exit 1; }
tap_ok 0 "dialerd killed with SIGKILL while SMS were due ($at_kill) and restarted"
wait_done k_kill 60; tap_ok $? "after the restart the campaign completes and every SMS is sent"
grep -q 'event=sms.released rows=' "$STACK_DIR/dialerd.log"
tap_ok $? "the restarted dialerd took back the rows its previous run left in 'sending' (sms.released)"

# --- drain: SIGTERM with sends in flight (sink stalls) finishes them and leaves nothing 'sending'
ctl '{"sms": "timeout"}'
psql -Xq -v ON_ERROR_STOP=1 -c "INSERT INTO dialer.sms_outbox (attempt_id, trigger, to_number, sender_id, body)
    SELECT a.id, 'feedback', c.number, 'ACME', 'D|' || c.number
      FROM dialer.attempts a JOIN dialer.callees c ON c.id = a.callee_id
     WHERE a.campaign_id = $(cid s_ring) ORDER BY a.id LIMIT 4"
wait_until 10 bash -c "[ \$(psql -XAtc \"SELECT count(*) FROM dialer.sms_outbox WHERE body LIKE 'D|%' AND state = 'sending'\") -ge 1 ]"
tap_ok $? "rows inserted by SQL are picked up within the poll interval and sent (gateway stalled)"
stack_stop "$DIALERD_PID" dialerd "$STACK_DIR/dialerd.log"
tap_is "$(q "SELECT count(*) FROM dialer.sms_outbox WHERE state = 'sending'")" 0 \
    "SIGTERM drains: no row is left 'sending' (the stalled sends timed out and went back to pending)"
tap_is "$(q "SELECT count(*) FROM dialer.sms_outbox WHERE body LIKE 'D|%' AND state = 'pending' AND tries >= 1 AND last_error LIKE '%timed out%'")" 4 \
    "the drained rows are pending again with their try counted and the timeout as last_error"
dups=$(sim_stat .sms.duplicates)
stack_stop "$SIM_PID" dialer-sim "$STACK_DIR/sim.log"
truth_load

# --- checks against the ground truth ------------------------------------------------------------
psql -Xq -v ON_ERROR_STOP=1 <<'SQL'
CREATE TABLE calls AS
SELECT (j->>'attempt_id')::bigint AS attempt_id, (j->>'campaign_id')::bigint AS campaign_id,
       j->>'callee' AS callee, j->>'end_status' AS end_status, (j->>'ended_at')::bigint AS ended_at,
       j->>'ringing_at' IS NOT NULL AS rang,
       j->>'answered_at' IS NOT NULL OR j->>'end_status' = 'machine' AS picked_up,
       j->>'end_status' = 'ok' AND j->>'connected_at' IS NOT NULL AS success,
       coalesce(j->>'keys', '') AS keys
  FROM truth WHERE j->>'type' = 'call' AND NOT (j->>'cut_off')::boolean;
-- What the rules call for, per attempt and trigger, from the simulator's record of the calls.
CREATE TABLE expected AS
SELECT k.attempt_id, k.campaign_id, k.callee, t.trig
  FROM calls k JOIN dialer.campaigns c ON c.id = k.campaign_id
 CROSS JOIN LATERAL (VALUES ('ring', c.sms_on_ring AND k.rang),
                            ('hangup', c.sms_on_hangup AND k.picked_up),
                            ('success', c.sms_on_success AND k.success),
                            ('failure', c.sms_on_failure AND NOT k.success),
                            ('feedback', c.sms_on_feedback AND strpos(k.keys, c.sms_feedback_value) > 0)) t (trig, fires)
 WHERE t.fires;
CREATE TABLE got AS
SELECT j->>'key' AS key, j->>'message_id' AS message_id, j->>'to' AS to_number, j->>'sender_id' AS sender_id,
       j->>'text' AS text, (j->>'duplicate')::boolean AS dup, (j->>'at')::bigint AS at
  FROM truth WHERE j->>'type' = 'sms';
SQL
check_trigger() {  # campaign trigger text-prefix
    local c; c=$(cid "$1")
    local exp got miss extra bad
    exp=$(q "SELECT count(*) FROM expected WHERE campaign_id = $c AND trig = '$2'")
    got=$(q "SELECT count(*) FROM got WHERE NOT dup AND text LIKE '$3|%'")
    miss=$(q "SELECT count(*) FROM (SELECT callee FROM expected WHERE campaign_id = $c AND trig = '$2'
                                     EXCEPT SELECT to_number FROM got WHERE NOT dup AND text LIKE '$3|%') x")
    extra=$(q "SELECT count(*) FROM (SELECT to_number FROM got WHERE NOT dup AND text LIKE '$3|%'
                                      EXCEPT SELECT callee FROM expected WHERE campaign_id = $c AND trig = '$2') x")
    ok=1; [ "$exp" -gt 0 ] && [ "$exp" = "$got" ] && [ "$miss" = 0 ] && [ "$extra" = 0 ] && ok=0
    tap_ok $ok "$2: exactly the $exp SMS the ground truth calls for reached the sink (got $got, missing $miss, extra $extra)"
}
check_trigger s_hang hangup H
check_trigger s_succ success S
check_trigger s_fail failure F
check_trigger s_ring ring R
check_trigger s_fb feedback K
tap_is "$(q "SELECT count(*) FROM got WHERE NOT dup AND text LIKE 'H|%'
             AND text <> format('H|%s|Zoë ✓||\$5 \${x} \${text11}|camp10', to_number)")" 0 \
    "the text is rendered: callee variables, UTF-8, a missing one empty, \$ and unknown \${…} kept, campaign variables as fallback"
tap_is "$(q "SELECT count(*) FROM got WHERE NOT dup AND text ~ '^[SFRKG]\\|'
             AND (text <> substr(text, 1, 2) || to_number OR sender_id IS DISTINCT FROM
                  CASE WHEN text LIKE 'S|%' THEN NULL ELSE 'ACME' END)")" 0 \
    "every other text is its template with text1 filled in; sender_id ACME, null where the campaign has none"
tap_like "$(q "SELECT string_agg(DISTINCT k.end_status, ',' ORDER BY k.end_status)
               FROM got g JOIN calls k ON k.callee = g.to_number WHERE NOT g.dup AND g.text LIKE 'F|%'")" \
    '^(abandoned,)?(busy,)?machine,notAnswer(,numberNotExist)?$' "failure SMS went to machines and non-answers, never to a success"
tap_like "$(q "SELECT string_agg(DISTINCT k.end_status, ',' ORDER BY k.end_status)
               FROM got g JOIN calls k ON k.callee = g.to_number WHERE NOT g.dup AND g.text LIKE 'H|%'")" \
    '^(abandoned,)?machine,ok$' "hangup SMS went to live answers and machines, never to a non-answer"

# every trigger of s_all, by the outbox row behind each key
tap_is "$(q "SELECT count(*) FROM (
               SELECT attempt_id, trig FROM expected WHERE campaign_id = $(cid s_all)
               EXCEPT SELECT o.attempt_id, o.trigger FROM dialer.sms_outbox o JOIN got g ON g.key = o.id::text AND NOT g.dup
                       WHERE o.campaign_id = $(cid s_all)) x")" 0 \
    "all triggers on: every (attempt, trigger) the truth calls for was delivered"
tap_is "$(q "SELECT count(*) FROM dialer.sms_outbox o WHERE o.campaign_id = $(cid s_all)
               AND (o.attempt_id, o.trigger) NOT IN (SELECT attempt_id, trig FROM expected)")" 0 \
    "all triggers on: no SMS beyond them"
tap_like "$(q "SELECT max(n) FROM (SELECT count(*) AS n FROM dialer.sms_outbox WHERE campaign_id = $(cid s_all) GROUP BY attempt_id) x")" \
    '^[45]$' "all triggers on: one call can queue four or five SMS (ring, hangup, success, feedback)"

# the success delay
late=$(q "SELECT min(g.at - k.ended_at - 3000) || ' ' || max(g.at - k.ended_at - 3000)
            FROM got g JOIN calls k ON k.callee = g.to_number WHERE NOT g.dup AND g.text LIKE 'S|%'")
read -r early_ms late_ms <<<"$late"
ok=1; [ "${early_ms:--1}" -ge 0 ] && [ "${late_ms:-99999}" -lt 2500 ] && ok=0
tap_ok $ok "success SMS reach the sink no earlier than sms_success_delay_s (3 s) after the call ended (${early_ms} .. ${late_ms} ms after it)"
tap_is "$(q "SELECT count(*) FROM dialer.sms_outbox o JOIN dialer.attempts a ON a.id = o.attempt_id
             WHERE o.trigger = 'success' AND o.campaign_id = $(cid s_succ)
               AND abs(extract(epoch FROM o.due_at - a.ended_at) - 3) > 0.5")" 0 \
    "the success rows' due_at is the call's end plus the delay"

# gateway down
tap_is "$(q "SELECT count(*) FROM (SELECT attempt_id, trig FROM expected WHERE campaign_id = $G
                                   EXCEPT SELECT attempt_id, trigger FROM dialer.sms_outbox WHERE campaign_id = $G AND state = 'sent') x")" 0 \
    "gateway down: none lost, every SMS due (ring and hangup) is 'sent'"
tap_is "$(q "SELECT count(*) FROM dialer.sms_outbox o WHERE campaign_id = $G
             AND (SELECT count(*) FROM got g WHERE g.key = o.id::text AND NOT g.dup) <> 1")" 0 \
    "gateway down: every row reached the sink exactly once by its Idempotency-Key"
tap_like "$(q "SELECT max(tries) FROM dialer.sms_outbox WHERE campaign_id = $G")" '^([3-9]|[1-9][0-9]+)$' \
    "gateway down: rows were retried with back-off (most tries $(q "SELECT max(tries) FROM dialer.sms_outbox WHERE campaign_id = $G"))"
tap_is "$(q "SELECT count(*) FROM dialer.sms_outbox o WHERE state = 'sent'
             AND NOT EXISTS (SELECT 1 FROM got g WHERE g.key = o.id::text)")" 0 \
    "no row is marked sent that the sink did not take"
tap_is "$(q "SELECT count(*) FROM got g WHERE NOT EXISTS (SELECT 1 FROM dialer.sms_outbox o WHERE o.id::text = g.key)")" 0 \
    "every message at the sink is an outbox row (none invented)"

# SIGKILL
tap_is "$(q "SELECT count(*) FROM (SELECT attempt_id, trig FROM expected WHERE campaign_id = $K
                                   EXCEPT SELECT attempt_id, trigger FROM dialer.sms_outbox WHERE campaign_id = $K AND state = 'sent') x")" 0 \
    "SIGKILL: none lost, every SMS due is 'sent'"
tap_is "$(q "SELECT count(*) FROM (SELECT callee, count(*) AS n FROM expected WHERE campaign_id = $K GROUP BY callee) e
             FULL JOIN (SELECT to_number, count(DISTINCT message_id) AS n FROM got WHERE text LIKE 'X|%' GROUP BY to_number) g
               ON g.to_number = e.callee WHERE g.n IS DISTINCT FROM e.n")" 0 \
    "SIGKILL: none sent twice: per callee the sink holds exactly as many distinct messages as triggers fired"
resent=$(q "SELECT count(*) FROM got WHERE dup AND text LIKE 'X|%'")
tap_like "$resent" '^[1-9][0-9]*$' "SIGKILL: resends of SMS the sink had taken carried the same key and were deduplicated ($resent resends; $dups over the whole run)"
first_after=$(q "SELECT min(g.at) FROM got g WHERE g.key IN (SELECT unnest(string_to_array('$ghosts', ','))) AND g.at > $kill_ms")
ok=1; [ -n "$first_after" ] && [ -n "$ghost_until" ] && [ "$first_after" -ge "$ghost_until" ] && ok=0
tap_ok $ok "rows 'sending' under a dead instance's lease are sent again only once it ran out (at ${first_after:-never}, lease until ${ghost_until:-?})"
tap_is "$(q "SELECT count(*) FROM dialer.sms_outbox WHERE id IN (SELECT unnest(string_to_array('$ghosts', ','))::bigint) AND state = 'sent'")" 2 \
    "and they are sent"

# the dashboard view
tap_is "$(q "SELECT sum(pending + sending + sent + failed) = (SELECT count(*) FROM dialer.sms_outbox)
             AND bool_and(failed = 0) FROM dialer.sms_stats")" t "dialer.sms_stats counts every row, none failed"
tap_is "$(q "SELECT sent FROM dialer.sms_stats WHERE campaign_id = $(cid s_ring) AND trigger = 'ring'")" \
    "$(q "SELECT count(*) FROM expected WHERE campaign_id = $(cid s_ring) AND trig = 'ring'")" "dialer.sms_stats: per campaign and trigger"
echo "# sink: $(q "SELECT count(*) FROM got WHERE NOT dup") messages, $dups resends deduplicated by key"
exit $TAP_FAILED

#!/usr/bin/env bash
# End-to-end: the campaign rules through dialerd + dialer-sim — calling windows that close and
# reopen, priority between campaigns of one pool, do-not-call, caller line limits, and pause /
# resume / abort through SQL. Checked against the simulator's ground truth.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/lib/stack.sh"
stack_begin rules

stack_pg || { echo "not ok - private cluster starts and migrates"; exit 1; }
stack_sim "$root/tests/e2e/scenarios/loop.json" || { echo "not ok - dialer-sim starts"; exit 1; }
stack_dialerd --set abandon_lock_s=0 || { echo "not ok - dialerd starts"; exit 1; }
ms() { date +%s%3N; }
# Milliseconds since the epoch of the database's clock, for comparing with created_at.
dbms() { q "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint"; }

# --- set-up: numbers, DNC, two priorities on pool 1, an agentless campaign with a window -------
now_s=$(q "SELECT extract(epoch FROM now())::bigint")
sod=$(( now_s % 86400 ))
t() { local x=$(( ($1 % 86400 + 86400) % 86400 )); printf '%02d:%02d:%02d' $((x / 3600)) $((x % 3600 / 60)) $((x % 60)); }
# Window 1 closes 25 s from now, window 2 opens 40 s from now (UTC, seconds of the day).
close_s=$((now_s + 25)); open_s=$((now_s + 40))
ranges="[{\"start\":\"$(t $((sod - 600)))\",\"end\":\"$(t $((sod + 25)))\"},{\"start\":\"$(t $((sod + 40)))\",\"end\":\"$(t $((sod + 3600)))\"}]"
psql -Xq -v ON_ERROR_STOP=1 <<SQL
INSERT INTO dialer.caller_numbers (number, max_concurrent, max_cps, state) VALUES
  ('+442070000001', 200, 250, 1),      -- priority 1's line: more room than it can use
  ('+442070000002', 3, 4, 1),          -- priority 3's line: 3 at once, 4 per second
  ('+442070000009', 100, 100, 4),      -- disabled by an admin: never used
  ('+442070000005', 100, 100, 1);
INSERT INTO dialer.dnc (number, reason)
SELECT '+447710' || lpad(g::text, 6, '0'), 'asked not to be called' FROM generate_series(1, 20) g;
INSERT INTO dialer.campaigns (name, mode, priority, skill_group_id, callers, recall_num, ring_timeout_s)
VALUES ('p1', 'progressive', 1, 1, '{+442070000001}', 0, 15),
       ('p3', 'progressive', 3, 1, '{+442070000002,+442070000009}', 0, 15);
INSERT INTO dialer.campaigns (name, mode, max_concurrent, callers, recall_num, ring_timeout_s, time_zone, time_ranges)
VALUES ('win', 'agentless', 6, '{+442070000005}', 0, 15, 'UTC', '$ranges');
INSERT INTO dialer.callees (campaign_id, number)
SELECT (SELECT id FROM dialer.campaigns WHERE name = 'p1'), '+447710' || lpad(g::text, 6, '0')
  FROM generate_series(1, 400) g;
INSERT INTO dialer.callees (campaign_id, number)
SELECT (SELECT id FROM dialer.campaigns WHERE name = 'p3'), '+447730' || lpad(g::text, 6, '0')
  FROM generate_series(1, 300) g;
-- Starts by itself at not_before, in random order; and one that is ended by not_after.
INSERT INTO dialer.campaigns (name, mode, max_concurrent, callers, recall_num, ring_timeout_s, not_before, call_order)
VALUES ('nb', 'agentless', 4, '{+442070000005}', 0, 15, now() + interval '6 s', 0);
INSERT INTO dialer.campaigns (name, mode, max_concurrent, callers, recall_num, ring_timeout_s, not_after)
VALUES ('ot', 'agentless', 4, '{+442070000005}', 0, 15, now() + interval '10 s');
INSERT INTO dialer.callees (campaign_id, number)
SELECT (SELECT id FROM dialer.campaigns WHERE name = 'nb'), '+447760' || lpad(g::text, 6, '0')
  FROM generate_series(1, 60) g;
INSERT INTO dialer.callees (campaign_id, number)
SELECT (SELECT id FROM dialer.campaigns WHERE name = 'ot'), '+447770' || lpad(g::text, 6, '0')
  FROM generate_series(1, 3000) g;
INSERT INTO dialer.callees (campaign_id, number, time_zone)
SELECT (SELECT id FROM dialer.campaigns WHERE name = 'win'), '+447750' || lpad(g::text, 6, '0'),
       CASE WHEN g % 10 = 0 THEN 'Pacific/Kiritimati' END
  FROM generate_series(1, 3000) g;
SQL
cid() { q "SELECT id FROM dialer.campaigns WHERE name = '$1'"; }
P1=$(cid p1); P3=$(cid p3); WIN=$(cid win); NB=$(cid nb); OT=$(cid ot)

# A number added to the do-not-call list while its callee waits behind priority 1.
sleep 1
psql -Xqc "INSERT INTO dialer.dnc (number) VALUES ('+447730000299'), ('+447730000300')"

# --- pause / resume priority 3 once it dials ------------------------------------------------------
wait_until 60 bash -c "[ \$(psql -XAtc \"SELECT count(*) FROM dialer.attempts WHERE campaign_id = $P3\") -gt 20 ]"
tap_ok $? "priority 3 starts once priority 1 has run dry"
tap_is "$(q "SELECT dialer.campaign_pause($P3)")" 2 "campaign_pause() returns the new status (2)"
paused_at=$(dbms)
sleep 4
tap_is "$(q "SELECT count(*) FROM dialer.attempts WHERE campaign_id = $P3
             AND created_at > to_timestamp(($paused_at + 1000) / 1000.0)")" 0 \
    "paused: no dial from one second after the pause"
tap_is "$(q "SELECT count(*) FROM dialer.attempts WHERE campaign_id = $P3 AND ended_at IS NULL")" 0 \
    "calls in flight at the pause ran to their end"
psql -Xqc "UPDATE dialer.campaigns SET status = 1 WHERE id = $P3"
resumed=$(q "SELECT count(*) FROM dialer.attempts WHERE campaign_id = $P3")
wait_until 20 bash -c "[ \$(psql -XAtc \"SELECT count(*) FROM dialer.attempts WHERE campaign_id = $P3\") -gt $resumed ]"
tap_ok $? "resumed by a plain UPDATE: dialing goes on"

# --- both priorities complete --------------------------------------------------------------------
wait_until 120 bash -c "[ \$(psql -XAtc \"SELECT count(*) FROM dialer.campaigns WHERE id IN ($P1, $P3) AND status = 4\") = 2 ]"
tap_ok $? "priority 1 and priority 3 complete"

# --- the window: closed from +25 s to +40 s (UTC); wait until past the reopening ------------------
while [ "$(date +%s)" -lt $((open_s + 8)) ]; do sleep 1; done
in_gap=$(q "SELECT count(*) FROM dialer.attempts WHERE campaign_id = $WIN
            AND created_at >= to_timestamp($close_s + 1) AND created_at < to_timestamp($open_s)")
tap_is "$in_gap" 0 "window closed: no dial from one second after it closes until it opens"
before=$(q "SELECT count(*) FROM dialer.attempts WHERE campaign_id = $WIN AND created_at < to_timestamp($close_s)")
after=$(q "SELECT count(*) FROM dialer.attempts WHERE campaign_id = $WIN AND created_at >= to_timestamp($open_s)")
ok=1; [ "$before" -gt 10 ] && [ "$after" -gt 10 ] && ok=0
tap_ok $ok "dials before the window closed ($before) and again once it reopened ($after)"
late=$(q "SELECT extract(epoch FROM min(created_at) - to_timestamp($open_s)) FROM dialer.attempts
          WHERE campaign_id = $WIN AND created_at >= to_timestamp($open_s)")
tap_like "$late" '^0(\.|$)|^1\.[0-9]*$' "dialing resumes within about a second of the opening (${late}s)"
tap_is "$(q "SELECT count(*) FROM dialer.attempts a JOIN dialer.callees c ON c.id = a.callee_id
             WHERE a.campaign_id = $WIN AND c.time_zone = 'Pacific/Kiritimati'")" 0 \
    "callees in their own zone (UTC+14, outside its window) are never dialled"

# --- abort -------------------------------------------------------------------------------------------
tap_is "$(q "SELECT dialer.campaign_abort($WIN)")" 3 "campaign_abort() ends the campaign (3)"
aborted_at=$(dbms)
tap_is "$(q "SELECT status, status_reason FROM dialer.campaigns WHERE id = $WIN")" "3|1" "terminated, reason 1 (ended manually)"
sleep 3
tap_is "$(q "SELECT count(*) FROM dialer.attempts WHERE campaign_id = $WIN
             AND created_at > to_timestamp(($aborted_at + 1000) / 1000.0)")" 0 "aborted: no dial from one second later"
wait_until 15 bash -c "[ \$(psql -XAtc 'SELECT count(*) FROM dialer.attempts WHERE ended_at IS NULL') = 0 ]"
tap_ok $? "calls in flight at the abort end normally"

# --- not_before, not_after, call order ----------------------------------------------------------------
tap_is "$(q "SELECT count(*) FROM dialer.attempts a JOIN dialer.campaigns c ON c.id = a.campaign_id
             WHERE c.id = $NB AND a.created_at < c.not_before")" 0 "no dial before not_before"
tap_is "$(q "SELECT status, started_at >= not_before FROM dialer.campaigns WHERE id = $NB")" "4|t" \
    "started by itself at not_before (ready -> running), then completed"
inv=$(q "SELECT count(*) FROM (SELECT callee_id, lag(callee_id) OVER (ORDER BY id) AS prev
                                 FROM dialer.attempts WHERE campaign_id = $NB) x WHERE callee_id < prev")
ok=1; [ "$inv" -gt 5 ] && ok=0
tap_ok $ok "call_order 0 dials in random order ($inv of 59 steps go backwards)"
tap_is "$(q "SELECT status, status_reason FROM dialer.campaigns WHERE id = $OT")" "3|2" \
    "not_after passed: terminated with reason 2 (overtime)"
tap_is "$(q "SELECT count(*) FROM dialer.attempts a JOIN dialer.campaigns c ON c.id = a.campaign_id
             WHERE c.id = $OT AND a.created_at > c.not_after + interval '1 s'")" 0 "no dial a second after not_after"
tap_is "$(q "SELECT count(*) FROM dialer.attempts WHERE campaign_id = $OT AND end_status = 'unknown'")" 0 \
    "calls in flight at not_after finished with their real outcome"

# --- priority, DNC and caller limits against the ground truth ---------------------------------------
stack_stop "$SIM_PID" dialer-sim "$STACK_DIR/sim.log"
truth_load
first_p3=$(q "SELECT min(created_at) FROM dialer.attempts WHERE campaign_id = $P3")
tap_is "$(q "SELECT count(*) FROM dialer.attempts WHERE campaign_id = $P1 AND created_at > '$first_p3'")" 0 \
    "no priority 3 dial while priority 1 had callees to dial"
tap_is "$(q "SELECT count(*) FROM truth t JOIN dialer.dnc d ON d.number = t.j->>'callee' WHERE t.j->>'type' = 'dial'")" 0 \
    "no number on dialer.dnc reached the carrier"
tap_is "$(q "SELECT count(*) FROM dialer.callees c JOIN dialer.dnc d USING (number) WHERE c.state = 2 AND c.last_end_status = 'dnc'")" 22 \
    "the 22 do-not-call callees (20 listed before, 2 added while waiting) are closed as unanswered, reason dnc"
tap_is "$(q "SELECT count(*) FROM truth WHERE j->>'type' = 'dial' AND j->>'caller' = '+442070000009'")" 0 \
    "a disabled caller number (state 4) is never used"
cps=$(q "WITH d AS (SELECT (j->>'at')::bigint AS t FROM truth WHERE j->>'type' = 'dial' AND j->>'caller' = '+442070000002')
         SELECT max((SELECT count(*) FROM d d2 WHERE d2.t >= d1.t AND d2.t < d1.t + 1000)) FROM d d1")
tap_like "$cps" '^[1-4]$' "caller max_cps 4: at most 4 dials in any one-second window at the carrier (worst $cps)"
conc=$(q "WITH ev AS (
            SELECT (j->>'dialed_at')::bigint AS t, 1 AS d FROM truth WHERE j->>'type' = 'call' AND j->>'caller' = '+442070000002'
            UNION ALL
            SELECT (j->>'ended_at')::bigint, -1 FROM truth WHERE j->>'type' = 'call' AND j->>'caller' = '+442070000002')
          SELECT max(s) FROM (SELECT sum(d) OVER (ORDER BY t, d ROWS UNBOUNDED PRECEDING) AS s FROM ev) x")
tap_like "$conc" '^[1-3]$' "caller max_concurrent 3: at most 3 calls at once at the carrier (worst $conc)"
tap_is "$(q "SELECT count(*) FROM dialer.callees WHERE campaign_id IN ($P1, $P3) AND state NOT IN (1, 2)")" 0 \
    "every callee of the completed campaigns is final"
stack_stop "$DIALERD_PID" dialerd "$STACK_DIR/dialerd.log"
exit $TAP_FAILED

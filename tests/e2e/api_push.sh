#!/usr/bin/env bash
# End-to-end: POST /v1/push/cdr (seed 001, its sample payload byte for byte) and POST
# /v1/push/ai (seed 004) against the real daemon — end status and hang-up side mapped, the
# attempt found by Uui or by the carrier's SessionId, answered once committed, a repeated push
# changing nothing, a push after the carrier's own events keeping the first outcome.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/lib/stack.sh"
stack_begin push

stack_pg || { echo "not ok - private cluster starts and migrates"; exit 1; }
stack_dialerd --set abandon_lock_s=600 --set drain_timeout_ms=1000 --set reconcile_grace_s=3600 \
    || { echo "not ok - dialerd starts"; exit 1; }
base="http://127.0.0.1:$DIALERD_PORT"
sample="$root/tests/fixtures/seed001_cdr_sample.json"
aifx="$root/tests/fixtures/seed004_ai_push.json"

# Two paused campaigns with calls in flight: "agents" (attempts 1-8) and "robot", agentless
# (attempts 9-14). Attempt 1 carries the sample's SessionId, as the carrier returned it.
psql -Xq <<'SQL'
INSERT INTO dialer.skill_groups (id, name) VALUES (1, 'sales');
INSERT INTO dialer.agents (id, status) VALUES ('ag-1', 'free');
INSERT INTO dialer.agent_skill_groups (agent_id, skill_group_id) VALUES ('ag-1', 1);
INSERT INTO dialer.campaigns (name, mode, skill_group_id, callers, recall_num, recall_interval_min)
VALUES ('agents', 'progressive', 1, '{+442070000001}', 2, 5);
INSERT INTO dialer.campaigns (name, mode, max_concurrent, callers, recall_num, recall_interval_min)
VALUES ('robot', 'agentless', 5, '{+442070000002}', 1, 5);
UPDATE dialer.campaigns SET status = 1;
UPDATE dialer.campaigns SET status = 2;
INSERT INTO dialer.callees (campaign_id, number, state, attempts)
SELECT CASE WHEN g <= 8 THEN 1 ELSE 2 END, '+4477000000' || lpad(g::text, 2, '0'), 3, 1
  FROM generate_series(1, 14) g;
INSERT INTO dialer.attempts (callee_id, campaign_id, attempt_no, caller, skill_group_id, instance)
SELECT c.id, c.campaign_id, 1, k.callers[1], k.skill_group_id, 'e2e'
  FROM dialer.callees c JOIN dialer.campaigns k ON k.id = c.campaign_id ORDER BY c.id;
UPDATE dialer.attempts SET session_id = '99a1c8f8-eb3d-4xxx-8401-5f6aa8761232', dialed_at = now()
 WHERE id = 1;
SQL
row() { q "SELECT row_to_json(a)::text || row_to_json(c)::text FROM dialer.attempts a
           JOIN dialer.callees c ON c.id = a.callee_id WHERE a.id = $1"; }
now() { date +%s; }

# --- CDR: the seed-001 sample, verbatim ------------------------------------------------------------
r=$(shttp_file POST "$base/v1/push/cdr" "$sample")
tap_like "$r" '^200 \{"status":0,"reason":"ok"' "the seed-001 sample payload, byte for byte, is accepted (200, 0)"
tap_is "$(q "SELECT end_status, hangup_side, ringing_at = to_timestamp(1677140072), ended_at = to_timestamp(1677140081),
                    answered_at IS NULL, agent_id IS NULL, success FROM dialer.attempts WHERE id = 1")" \
    "numberNotExist|agent|t|t|t|t|f" \
    "found by its SessionId (Uui \"abc\" holds no id): EndStatusString, HungUpSide seat -> agent, ring and end times; unanswered, no agent"
tap_is "$(q "SELECT state, last_end_status FROM dialer.callees WHERE id = 1")" "2|numberNotExist" \
    "a number that does not exist is final at once (callee state 2)"
before=$(row 1)
r=$(shttp_file POST "$base/v1/push/cdr?action=cdr&version=1" "$sample" "$(( $(now) + 1 ))")
tap_like "$r" '^200 \{"status":0,"reason":"ok \(attempt already ended\)"' "the same push again at ?action=cdr&version=1 (re-signed): 200, already ended"
tap_is "$(row 1)" "$before" "and it changed nothing"

sed 's/"Uui": "abc"/"Uui": "2"/; s/"SessionId": "99a1c8f8[^"]*"/"SessionId": "s-2"/' "$sample" >"$STACK_DIR/cdr2.json"
r=$(shttp_file POST "$base/v1/push/cdr" "$STACK_DIR/cdr2.json")
tap_like "$r" '^200 ' "the sample with the attempt id in Uui is accepted"
tap_is "$(q "SELECT end_status, session_id FROM dialer.attempts WHERE id = 2")" "numberNotExist|s-2" \
    "Uui names the attempt; SessionId recorded as its session"

# --- CDR: answered and connected to an agent -------------------------------------------------------
cdr3='{"SessionId":"s-3","Uui":"3:campaign-data","Direction":1,"Duration":55,"EndStatusString":"ok",
"HungUpSide":"user","RingTimestamp":1700000000,"AcceptTimestamp":1700000004,"EndedTimestamp":1700000060,
"StartTimestamp":1699999998,"SeatUser":{"Mail":"a@x","StaffNumber":"ag-1","UserId":"a@x"},
"ServeParticipants":[{"AcceptTimestamp":1700000005,"EndStatusString":"ok","Sequence":0}],
"IVRKeyPressed":["1","2"],"IVRKeyPressedEx":null}'
r=$(shttp POST "$base/v1/push/cdr" "$cdr3")
tap_like "$r" '^200 \{"status":0' "an answered CDR is accepted"
tap_is "$(q "SELECT end_status, success, agent_id, hangup_side, keys,
                    extract(epoch FROM answered_at)::bigint, extract(epoch FROM connected_at)::bigint,
                    extract(epoch FROM ended_at)::bigint FROM dialer.attempts WHERE id = 3")" \
    "ok|t|ag-1|callee|12|1700000004|1700000005|1700000060" \
    "success with the agent (StaffNumber), HungUpSide user -> callee, keys, answer / connect / end times"
tap_is "$(q "SELECT state FROM dialer.callees WHERE id = 3")" "1" "the callee is answered (1)"
tap_is "$(q "SELECT status FROM dialer.agents WHERE id = 'ag-1'")" "free" "the push did not touch the agent's status"

# --- CDR: a failure with recalls left, and its repeat ----------------------------------------------
cdr4='{"Uui":"4","EndStatusString":"notAnswer","HungUpSide":"system","RingTimestamp":1700000100,"AcceptTimestamp":0,"EndedTimestamp":1700000130}'
r=$(shttp POST "$base/v1/push/cdr" "$cdr4")
tap_like "$r" '^200 ' "an unanswered CDR is accepted"
tap_is "$(q "SELECT c.state, a.end_status, a.hangup_side, c.next_attempt_at > now() + interval '4 min'
             FROM dialer.attempts a JOIN dialer.callees c ON c.id = a.callee_id WHERE a.id = 4")" \
    "4|notAnswer|system|t" "notAnswer with recalls left: pending retry (4) after recall_interval_min"
before=$(row 4)
r=$(shttp POST "$base/v1/push/cdr" "$cdr4" "$(( $(now) + 1 ))")
tap_like "$r" '^200 ' "the repeated push is acknowledged"
tap_is "$(row 4)" "$before" "a repeated push changes nothing"

# --- CDR after the carrier's own events: the first outcome stays -----------------------------------
shttp POST "$base/v1/calls/events" '{"attempt_id":5,"seq":1,"event":"ringing"}' >/dev/null
r=$(shttp POST "$base/v1/calls/events" '{"attempt_id":5,"seq":2,"event":"ended","end_status":"busy"}')
tap_like "$r" '^200 ' "the carrier ends attempt 5 as busy"
outcome() { q "SELECT a.end_status, a.success, a.ended_at, c.state, c.attempts, c.next_attempt_at
               FROM dialer.attempts a JOIN dialer.callees c ON c.id = a.callee_id WHERE a.id = $1"; }
before=$(outcome 5)
r=$(shttp POST "$base/v1/push/cdr" '{"Uui":"5","EndStatusString":"ok","AcceptTimestamp":1700000200}')
tap_like "$r" '^200 \{"status":0,"reason":"ok \(attempt already ended\)"' "a later CDR for it is acknowledged"
tap_is "$(outcome 5)" "$before" "and does not rewrite the committed outcome (status, success, end, callee)"
tap_is "$(q "SELECT extract(epoch FROM answered_at)::bigint FROM dialer.attempts WHERE id = 5")" "1700000200" \
    "only a time the attempt lacked is filled in, as a late carrier event would"
before=$(row 5)
r=$(shttp POST "$base/v1/push/cdr" '{"Uui":"5","EndStatusString":"ok","AcceptTimestamp":1700000200}' "$(( $(now) + 1 ))")
tap_is "$(row 5)" "$before" "its repeat changes nothing"

# --- CDR: an end status outside the vocabulary, unknown attempts ------------------------------------
r=$(shttp POST "$base/v1/push/cdr" '{"Uui":"6","EndStatusString":"ringingGiveUp"}')
tap_like "$r" '^200 ' "an EndStatusString outside the vocabulary is accepted"
tap_is "$(q "SELECT end_status FROM dialer.attempts WHERE id = 6")" "unknown" "and recorded as unknown"
wait_until 5 grep -q 'event=api.end_status attempt=6 end_status="ringingGiveUp"' "$STACK_DIR/dialerd.log"
tap_ok $? "with a warning naming what was sent"
r=$(shttp POST "$base/v1/push/cdr" '{"Uui":"777","EndStatusString":"ok"}')
tap_like "$r" '^404 \{"status":-27,"reason":"attempt_id 777 does not exist' "a CDR for an attempt that does not exist: 404"
r=$(shttp POST "$base/v1/push/cdr" '{"Uui":"x","SessionId":"nobody","EndStatusString":"ok"}')
tap_like "$r" '^404 \{"status":-27,"reason":"no attempt has SessionId' "an unknown SessionId without an id in Uui: 404"

# --- AI push (seed 004) on the agentless campaign ---------------------------------------------------
sed 's/"attempt_id": "1"/"attempt_id": "9"/' "$aifx" >"$STACK_DIR/ai9.json"
r=$(shttp_file POST "$base/v1/push/ai" "$STACK_DIR/ai9.json")
tap_like "$r" '^200 \{"status":0' "the seed-004 push is accepted"
tap_is "$(q "SELECT a.end_status, a.success, a.session_id, a.hangup_side,
                    extract(epoch FROM a.answered_at)::bigint, extract(epoch FROM a.ended_at)::bigint, c.state
             FROM dialer.attempts a JOIN dialer.callees c ON c.id = a.callee_id WHERE a.id = 9")" \
    "ok|t|ai-call-7d1f0c2e|callee|1700000013|1700000075|1" \
    "ANSWERED -> ok, a success without an agent; callId, hangupBy CUSTOMER -> callee, answered at endTime - chatDuration"
before=$(row 9)
r=$(shttp_file POST "$base/v1/push/ai" "$STACK_DIR/ai9.json" "$(( $(now) + 1 ))")
tap_like "$r" '^200 ' "the repeated AI push is acknowledged"
tap_is "$(row 9)" "$before" "and changes nothing"
ai() { # ai ATTEMPT RESULT: posts a minimal push
    shttp POST "$base/v1/push/ai" "{\"callId\":\"c-$1\",\"properties\":{\"attempt_id\":$1},\"resultStatus\":\"$2\",\"startTime\":1700000000,\"endTime\":1700000040,\"chatDuration\":20}"
}
n=10
for m in 'NO_ANSWER|notAnswer|4|f' 'BUSY|busy|4|f' 'VACANT_NUMBER|numberNotExist|2|f' 'TRANSFER_ARTIFICIAL|abandoned|4|t'; do
    IFS='|' read -r result status state answered <<<"$m"
    r=$(ai "$n" "$result")
    tap_like "$r" '^200 ' "resultStatus $result accepted"
    tap_is "$(q "SELECT a.end_status, c.state, a.answered_at IS NOT NULL, a.success
                 FROM dialer.attempts a JOIN dialer.callees c ON c.id = a.callee_id WHERE a.id = $n")" \
        "$status|$state|$answered|f" "resultStatus $result -> $status, callee state $state"
    n=$((n + 1))
done
r=$(ai 14 MAYBE)
tap_like "$r" '^422 \{"status":-27,"reason":"resultStatus: \\"MAYBE\\" is not a call result; accepted: ANSWERED, NO_ANSWER, BUSY, POWER_OFF' \
    "an unknown resultStatus is refused, listing the accepted ones"
tap_is "$(q "SELECT ended_at IS NULL FROM dialer.attempts WHERE id = 14")" "t" "and changes nothing"

r=$(http GET "$base/healthz")
tap_like "$r" '^200 ' "the daemon still answers /healthz"
stack_stop "$DIALERD_PID" dialerd "$STACK_DIR/dialerd.log"
exit $TAP_FAILED

#!/usr/bin/env bash
# End-to-end: POST /v1/calls/events and PUT /v1/agents/{id}/status against the real daemon —
# repeats change nothing, out-of-order events are merged by seq, bad bodies are refused by field.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/lib/stack.sh"
stack_begin events

stack_pg || { echo "not ok - private cluster starts and migrates"; exit 1; }
stack_dialerd --set abandon_lock_s=600 || { echo "not ok - dialerd starts"; exit 1; }
base="http://127.0.0.1:$DIALERD_PORT"

# A paused campaign (nothing is dialed) with callees already in flight, as a claim leaves them.
psql -Xq <<'SQL'
INSERT INTO dialer.skill_groups (id, name) VALUES (1, 'sales');
INSERT INTO dialer.agents (id, status) VALUES ('ag-1', 'offline');
INSERT INTO dialer.agent_skill_groups (agent_id, skill_group_id) VALUES ('ag-1', 1);
INSERT INTO dialer.campaigns (name, mode, skill_group_id, callers, recall_num, recall_interval_min)
VALUES ('ev', 'progressive', 1, '{+442070000001}', 2, 5);
UPDATE dialer.campaigns SET status = 1;
UPDATE dialer.campaigns SET status = 2;
INSERT INTO dialer.callees (campaign_id, number, state, attempts)
SELECT 1, '+4477000000' || g, 3, 1 FROM generate_series(1, 6) g;
INSERT INTO dialer.attempts (callee_id, campaign_id, attempt_no, caller, skill_group_id, instance)
SELECT id, 1, 1, '+442070000001', 1, 'e2e' FROM dialer.callees ORDER BY id;
SQL
# Every event is signed (DESIGN §5.2); tests/e2e/api_security.sh covers unsigned ones.
post() { shttp POST "$base/v1/calls/events" "$1" "${2:-}"; }
now=$(date +%s%3N)

# --- a normal call, then every event again -------------------------------------------------------
r=$(post "{\"attempt_id\":1,\"session_id\":\"s1\",\"seq\":1,\"event\":\"ringing\",\"at\":$now}")
tap_like "$r" '^200 \{"status":0' "ringing accepted"
post "{\"attempt_id\":1,\"seq\":2,\"event\":\"answered\",\"at\":$((now + 3000))}" >/dev/null
post "{\"attempt_id\":1,\"seq\":3,\"event\":\"connected\",\"agent_id\":\"ag-1\",\"at\":$((now + 3100))}" >/dev/null
r=$(post "{\"attempt_id\":1,\"seq\":4,\"event\":\"ended\",\"end_status\":\"ok\",\"hangup_side\":\"callee\",\"keys\":\"1\",\"at\":$((now + 60000))}")
tap_like "$r" '^200 ' "ended accepted"
tap_is "$(q "SELECT state, attempts FROM dialer.callees WHERE id = 1")" "1|1" "a connected call makes the callee answered (1), one attempt"
tap_is "$(q "SELECT end_status, success, agent_id, keys, hangup_side, session_id, last_seq FROM dialer.attempts WHERE id = 1")" \
    "ok|t|ag-1|1|callee|s1|4" "the attempt records status, success, agent, keys, hangup side, session, seq"
tap_is "$(q "SELECT extract(epoch FROM answered_at - ringing_at)::int, extract(epoch FROM ended_at - ringing_at)::int FROM dialer.attempts WHERE id = 1")" \
    "3|60" "timestamps come from the events' at"
before=$(q "SELECT row_to_json(a)::text FROM dialer.attempts a WHERE id = 1")
for ev in ringing answered connected ended; do
    r=$(post "{\"attempt_id\":1,\"seq\":9,\"event\":\"$ev\",\"end_status\":\"busy\",\"agent_id\":\"ag-2\",\"at\":$((now + 99000))}")
    tap_like "$r" '^200 ' "a repeated $ev is acknowledged"
done
tap_is "$(q "SELECT row_to_json(a)::text FROM dialer.attempts a WHERE id = 1")" "$before" "repeats after the end change nothing in the attempt"
tap_is "$(q "SELECT state, attempts FROM dialer.callees WHERE id = 1")" "1|1" "nor in the callee"

# --- out of order: ended first, then the earlier events -----------------------------------------
post "{\"attempt_id\":2,\"seq\":3,\"event\":\"ended\",\"end_status\":\"notAnswer\",\"at\":$((now + 30000))}" >/dev/null
post "{\"attempt_id\":2,\"seq\":1,\"event\":\"ringing\",\"at\":$((now + 1000))}" >/dev/null
tap_is "$(q "SELECT state, attempts, next_attempt_at > now() + interval '4 min' FROM dialer.callees WHERE id = 2")" "4|1|t" \
    "a failed attempt with recalls left: pending retry (4) after recall_interval_min"
tap_is "$(q "SELECT end_status, ringing_at IS NOT NULL, last_seq FROM dialer.attempts WHERE id = 2")" "notAnswer|t|3" \
    "a late earlier event still fills its timestamp; seq stays at the highest"

# --- abandoned: the abandon lock outweighs the recall interval ------------------------------------
post "{\"attempt_id\":3,\"seq\":1,\"event\":\"answered\",\"at\":$now}" >/dev/null
post "{\"attempt_id\":3,\"seq\":2,\"event\":\"ended\",\"end_status\":\"abandoned\",\"hangup_side\":\"system\",\"at\":$((now + 2000))}" >/dev/null
tap_is "$(q "SELECT state, next_attempt_at > now() + interval '9 min' FROM dialer.callees WHERE id = 3")" "4|t" \
    "an abandoned callee waits the abandon lock (600 s here) before its recall"
tap_is "$(q "SELECT success FROM dialer.attempts WHERE id = 3")" "f" "an abandon is not a success"

# --- invalid number: final at once ----------------------------------------------------------------
post "{\"attempt_id\":4,\"seq\":1,\"event\":\"ended\",\"end_status\":\"numberNotExist\"}" >/dev/null
tap_is "$(q "SELECT state FROM dialer.callees WHERE id = 4")" "2" "a number that does not exist is unanswered (2) at once"

# --- an end status outside the vocabulary is recorded as unknown ----------------------------------
r=$(post '{"attempt_id":5,"seq":1,"event":"ended","end_status":"martian"}')
tap_like "$r" '^200 ' "an unknown end status is accepted"
tap_is "$(q "SELECT end_status FROM dialer.attempts WHERE id = 5")" "unknown" "and stored as unknown"

# --- bad input is refused by field, and changes nothing --------------------------------------------
snap=$(q "SELECT md5(string_agg(row_to_json(a)::text, '' ORDER BY id)) FROM dialer.attempts a WHERE id <> 6")
check() { # check BODY PATTERN DESC
    local r; r=$(post "$1"); tap_like "$r" "$2" "$3"
}
check '{"seq":1,"event":"ringing"}' '^422 .*attempt_id: required' "missing attempt_id names the field"
check '{"attempt_id":"6x","seq":1,"event":"ringing"}' '^422 .*attempt_id: \\"6x\\" is not a whole number' "a non-numeric attempt_id"
check '{"attempt_id":6.5,"seq":1,"event":"ringing"}' '^422 .*attempt_id: 6.5 is out of range' "a fractional attempt_id"
check '{"attempt_id":6,"seq":-1,"event":"ringing"}' '^422 .*seq: -1 is out of range' "a negative seq"
check '{"attempt_id":6,"seq":1,"event":"hold"}' '^422 .*event: \\"hold\\" is not an event; accepted: ringing, answered, connected, ended' "an unknown event lists the accepted ones"
check '{"attempt_id":6,"seq":1,"event":"ended","end_status":7}' '^422 .*end_status: must be a string' "a wrong type names the field"
check '{"attempt_id":6,"seq":1,"event":"ended","agent_id":"'"$(printf 'a%.0s' $(seq 1 200))"'"}' '^422 .*agent_id: longer than 128' "an over-long agent_id"
check '[1,2]' '^422 .*must be a JSON object' "a JSON array is refused"
check '{"attempt_id":' '^400 .*not valid JSON' "malformed JSON is refused"
check '{"attempt_id":999999,"seq":1,"event":"ringing"}' '^404 .*attempt_id 999999 does not exist' "an unknown attempt is 404"
check "{\"attempt_id\":6,\"seq\":1,\"event\":\"ringing\",\"session_id\":\"x'); DROP TABLE dialer.attempts; --\"}" '^200 ' "SQL in a string is just data"
tap_is "$(q "SELECT session_id FROM dialer.attempts WHERE id = 6")" "x'); DROP TABLE dialer.attempts; --" "and is stored verbatim"
tap_is "$(q "SELECT md5(string_agg(row_to_json(a)::text, '' ORDER BY id)) FROM dialer.attempts a WHERE id <> 6")" "$snap" \
    "the refused events changed no row"

# --- agent status ------------------------------------------------------------------------------------
r=$(bhttp PUT "$base/v1/agents/ag-1/status" '{"status":"free","reason":""}')
tap_like "$r" '^200 ' "PUT agent status free"
tap_is "$(q "SELECT status FROM dialer.agents WHERE id = 'ag-1'")" "free" "stored in dialer.agents"
r=$(bhttp PUT "$base/v1/agents/ag-1/status" '{"status":"lunch"}')
tap_like "$r" '^422 .*status: \\"lunch\\" is not an agent status; accepted: free, busy, arrange, notReady, rest, offline' "an unknown status lists the accepted ones"
r=$(bhttp PUT "$base/v1/agents/nobody/status" '{"status":"free"}')
tap_like "$r" '^404 .*agent \\"nobody\\" does not exist' "an unknown agent is 404"
r=$(bhttp PUT "$base/v1/agents/ag-1/status" '{}')
tap_like "$r" '^422 .*status: required' "a missing status is refused"
tap_is "$(q "SELECT status FROM dialer.agents WHERE id = 'ag-1'")" "free" "refused updates leave the agent as it was"
# ag-1 was connected to attempt 1 at now + 3100: a report stamped before that is about an
# earlier call, arrived late, and must not be applied; one stamped after it is.
r=$(bhttp PUT "$base/v1/agents/ag-1/status" "{\"status\":\"arrange\",\"at\":$((now + 3000))}")
tap_like "$r" '^200 .*not applied: the status \(at [0-9]+\) predates' "a status older than the agent's last connection is answered but not applied"
tap_is "$(q "SELECT status FROM dialer.agents WHERE id = 'ag-1'")" "free" "and the agent keeps its status"
r=$(bhttp PUT "$base/v1/agents/ag-1/status" "{\"status\":\"arrange\",\"at\":$((now + 4000))}")
tap_like "$r" '^200 \{"status":0,"reason":"ok"' "a status newer than the connection is applied"
tap_is "$(q "SELECT status FROM dialer.agents WHERE id = 'ag-1'")" "arrange" "and stored"
r=$(bhttp PUT "$base/v1/agents/ag-1/status" '{"status":"free","at":"soon"}')
tap_like "$r" '^422 .*at: \\"soon\\" is not a whole number' "a bad at is refused naming the field"
bhttp PUT "$base/v1/agents/ag-1/status" '{"status":"free"}' >/dev/null

# --- the database away: events are refused with 503 so the carrier retries --------------------------
"$root/tests/lib/pgcluster.sh" stop "$STACK_DIR/pg"
wait_until 10 bash -c "curl -s '$base/healthz' | grep -q '\"database\":\"down\"'"
r=$(post '{"attempt_id":6,"seq":2,"event":"ended","end_status":"busy"}')
tap_like "$r" '^503 ' "with the database away an event gets 503 (the carrier retries it)"
"$root/tests/lib/pgcluster.sh" restart "$STACK_DIR/pg"
wait_until 15 bash -c "curl -s '$base/healthz' | grep -q '\"database\":\"up\"'"
# A retry is signed again with a new timestamp: the daemon takes a signature only once.
r=$(post '{"attempt_id":6,"seq":2,"event":"ended","end_status":"busy"}' "$(( $(date +%s) + 1 ))")
tap_like "$r" '^200 ' "the retried event is taken once the database is back"
tap_is "$(q "SELECT state FROM dialer.callees WHERE id = 6")" "4" "and applied"

stack_stop "$DIALERD_PID" dialerd "$STACK_DIR/dialerd.log"
exit $TAP_FAILED

#!/usr/bin/env bash
# End-to-end: an agent's status reports (PUT /v1/agents/{id}/status with `at`) and its call's
# `connected` event travel apart and may arrive in either order. Whatever the order, dialerd's
# idea of the agent (read from /metrics, which shows memory, not the database) must end where
# the agent's newest report says. Under load the reports of a short call (busy, arrange, even
# free) can overtake its `connected` event; the event used to set the agent busy again and hold
# it there, unseen by the pacer, until the 30 s full reload (make bench-throughput, latency).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/lib/stack.sh"
stack_begin agent_order

stack_pg || { echo "not ok - private cluster starts and migrates"; exit 1; }
stack_dialerd --set log_level=debug || { echo "not ok - dialerd starts"; exit 1; }
base="http://127.0.0.1:$DIALERD_PORT"

# A paused campaign (nothing is dialed) with one attempt in flight per agent, as a claim leaves
# them; the agents start offline.
psql -Xq <<'SQL'
INSERT INTO dialer.skill_groups (id, name) VALUES (1, 'sales');
INSERT INTO dialer.agents (id, status) SELECT 'ag-' || g, 'offline' FROM generate_series(1, 5) g;
INSERT INTO dialer.agent_skill_groups (agent_id, skill_group_id) SELECT 'ag-' || g, 1 FROM generate_series(1, 5) g;
INSERT INTO dialer.campaigns (name, mode, skill_group_id, callers, recall_num)
VALUES ('order', 'progressive', 1, '{+442070000001}', 0);
UPDATE dialer.campaigns SET status = 1;
UPDATE dialer.campaigns SET status = 2;
INSERT INTO dialer.callees (campaign_id, number, state, attempts)
SELECT 1, '+4477000000' || g, 3, 1 FROM generate_series(1, 5) g;
INSERT INTO dialer.attempts (callee_id, campaign_id, attempt_no, caller, skill_group_id, instance)
SELECT id, 1, 1, '+442070000001', 1, 'e2e' FROM dialer.callees ORDER BY id;
SQL
wait_until 10 bash -c "curl -s '$base/metrics' | grep -q '^dialerd_agents{pool=\"none\",status=\"offline\"} 5'" \
    || echo "# the agents did not show up in /metrics"

# ev ATTEMPT SEQ EVENT AT [AGENT]: one signed carrier event.
ev() {
    shttp POST "$base/v1/calls/events" \
        "{\"attempt_id\":$1,\"session_id\":\"s$1\",\"seq\":$2,\"event\":\"$3\",\"at\":$4${5:+,\"agent_id\":\"$5\"}}"
}
# ended ATTEMPT AT: the call's last event.
ended() {
    shttp POST "$base/v1/calls/events" \
        "{\"attempt_id\":$1,\"session_id\":\"s$1\",\"seq\":9,\"event\":\"ended\",\"end_status\":\"ok\",\"hangup_side\":\"callee\",\"at\":$2}"
}
# report AGENT STATUS [AT]: the ACD's status report; answers "<http> <body>".
report() { bhttp PUT "$base/v1/agents/$1/status" "{\"status\":\"$2\"${3:+,\"at\":$3}}"; }
# in_memory STATUS: agents dialerd holds in that status now (every pool).
in_memory() {
    curl -s -m 5 "$base/metrics" | awk -v s="status=\"$1\"" '/^dialerd_agents\{/ && index($1, s) { n += $2 } END { print n + 0 }'
}
# settle: lets the NOTIFY re-read that follows each status write come and go.
settle() { sleep 0.5; }
# off AGENT AT: logs the agent off after its case, so that the counts of the next one are its own.
off() { report "$1" offline "$2" >/dev/null; settle; }

t=$(( $(date +%s%3N) - 600000 ))

# --- 1. every report of a short call arrives before its connected event --------------------------
report ag-1 free "$t" >/dev/null
ev 1 1 ringing $((t + 100)) >/dev/null
ev 1 2 answered $((t + 200)) >/dev/null
report ag-1 busy $((t + 200)) >/dev/null
report ag-1 arrange $((t + 400)) >/dev/null
report ag-1 free $((t + 600)) >/dev/null
settle
tap_like "$(ev 1 3 connected $((t + 200)) ag-1)" '^200 ' "a connected event that the agent's reports have overtaken is accepted"
settle
tap_is "$(in_memory free)|$(in_memory busy)" "1|0" "it does not make the agent busy again: its newest report (free) stands"
ended 1 $((t + 400)) >/dev/null
settle
tap_is "$(in_memory free)|$(in_memory busy)" "1|0" "the call's end leaves it free"
off ag-1 $((t + 5000))

# --- 2. the connected event arrives between the reports of after-call work and free --------------
t=$((t + 10000))
report ag-2 free "$t" >/dev/null
ev 2 1 ringing $((t + 100)) >/dev/null
ev 2 2 answered $((t + 200)) >/dev/null
report ag-2 busy $((t + 200)) >/dev/null
report ag-2 arrange $((t + 400)) >/dev/null
settle
ev 2 3 connected $((t + 200)) ag-2 >/dev/null
tap_is "$(in_memory arrange)|$(in_memory busy)" "1|0" "a connected event older than the report of after-call work leaves the agent in it"
tap_like "$(report ag-2 free $((t + 600)))" '^200 \{"status":0,"reason":"ok"' "the report of free that follows is applied"
settle
tap_is "$(in_memory free)|$(in_memory busy)" "1|0" "and the agent is free for the pacer before its call's end arrives"
ended 2 $((t + 400)) >/dev/null
settle
tap_is "$(in_memory free)|$(in_memory busy)" "1|0" "and after it"
off ag-2 $((t + 5000))

# --- 3. an ACD that reports no busy: reports stamped after the connection are about this call -------
t=$((t + 10000))
report ag-3 free "$t" >/dev/null
ev 3 1 answered $((t + 100)) >/dev/null
ev 3 2 connected $((t + 200)) ag-3 >/dev/null
tap_is "$(in_memory busy)" 1 "the connected event makes a free agent busy"
report ag-3 arrange $((t + 400)) >/dev/null
tap_is "$(in_memory arrange)|$(in_memory busy)" "1|0" "a report of after-call work stamped after the connection is applied without a busy first"
report ag-3 free $((t + 600)) >/dev/null
settle
tap_is "$(in_memory free)|$(in_memory busy)" "1|0" "and so is the free that follows, before the call's end"
ended 3 $((t + 500)) >/dev/null
settle
tap_is "$(in_memory free)|$(in_memory busy)" "1|0" "the call's end leaves it free"
off ag-3 $((t + 5000))

# --- 4. still true: a queued call taken at the end of after-call work ---------------------------------
# The ACD reports free then busy at the same instant as the connection; the event comes first.
t=$((t + 10000))
report ag-4 busy "$t" >/dev/null
report ag-4 arrange $((t + 100)) >/dev/null
settle
ev 4 1 answered $((t + 50)) >/dev/null
ev 4 2 connected $((t + 500)) ag-4 >/dev/null
tap_is "$(in_memory busy)" 1 "a connected event for the agent in after-call work makes it busy"
tap_like "$(report ag-4 free $((t + 500)))" '^200 .*not applied: the status \(at [0-9]+\) predates' \
    "its late free, stamped at the connection, is answered but not applied"
tap_is "$(in_memory busy)" 1 "the agent stays busy"
report ag-4 busy $((t + 500)) >/dev/null
report ag-4 arrange $((t + 700)) >/dev/null
report ag-4 free $((t + 900)) >/dev/null
settle
tap_is "$(in_memory free)|$(in_memory busy)" "1|0" "the reports of the new call then take it through to free"
ended 4 $((t + 700)) >/dev/null
off ag-4 $((t + 5000))

# --- 5. still true: reports without `at` wait for the busy of the new call ----------------------------
t=$((t + 10000))
report ag-5 free >/dev/null
ev 5 1 answered $((t + 100)) >/dev/null
settle
ev 5 2 connected $((t + 200)) ag-5 >/dev/null
report ag-5 free >/dev/null
settle
tap_is "$(in_memory busy)" 1 "after a connected event, an unstamped free before the busy is taken as about the last call"
report ag-5 busy >/dev/null
report ag-5 free >/dev/null
settle
tap_is "$(in_memory free)|$(in_memory busy)" "1|0" "after the busy, the next free is applied"
ended 5 $((t + 300)) >/dev/null

stack_stop "$DIALERD_PID" dialerd "$STACK_DIR/dialerd.log"
exit $TAP_FAILED

#!/usr/bin/env bash
# End-to-end: GET /metrics through a small campaign against dialer-sim. The text passes
# `promtool check metrics`; the counters agree with the database (dials, live answers, abandons,
# finished attempts, SMS sent) and the carrier errors with the simulator's own counts after an
# outage of each kind; the per-pool gauges show the calls in flight and the agents.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/lib/stack.sh"
stack_begin metrics

# promtool: installed, or taken out of Debian's prometheus package by deploy/deps.sh --test.
PROMTOOL=$(command -v promtool || echo "$root/build/tools/promtool")
[ -x "$PROMTOOL" ] || { echo "not ok - promtool is available (run deploy/deps.sh --test as root) # $PROMTOOL"; exit 1; }

stack_pg || { echo "not ok - private cluster starts and migrates"; exit 1; }
stack_sim "$root/tests/e2e/scenarios/loop.json" || { echo "not ok - dialer-sim starts"; exit 1; }
stack_dialerd --set carrier_timeout_ms=1000 --set abandon_lock_s=0 --set sms_url="$SIM_SMS/sms" \
    --set sms_timeout_ms=1000 --set sms_backoff_min_ms=100 --set sms_backoff_max_ms=500 \
    --set sms_poll_ms=200 --set sms_max_tries=60 || { echo "not ok - dialerd starts"; exit 1; }
base="http://127.0.0.1:$DIALERD_PORT"
ctl() { curl -s -m 5 -X POST "$SIM_CONTROL/control" -d "$1" >/dev/null; }

# scrape FILE: GET /metrics into FILE (no credentials: the route needs none).
scrape() { curl -s -m 5 -o "$1" -w '%{http_code} %{content_type}' "$base/metrics"; }
# metric FILE 'name{labels}': the value of one series, 0 when absent.
metric() { awk -v k="$2" '$1 == k { v = $2 } END { print (v == "" ? 0 : v) }' "$1"; }
# promcheck FILE DESC: promtool check metrics passes (lint problems included).
promcheck() {
    local out; out=$("$PROMTOOL" check metrics <"$1" 2>&1)
    tap_ok $? "$2" "$(printf '%s' "$out" | head -3 | tr '\n' ' ')"
}

# --- before any campaign ------------------------------------------------------------------------
r=$(scrape "$STACK_DIR/m0")
tap_is "$r" "200 text/plain; version=0.0.4; charset=utf-8" "GET /metrics answers 200 in the text format 0.0.4, no token needed"
promcheck "$STACK_DIR/m0" "promtool check metrics passes on a daemon at rest"
tap_is "$(metric "$STACK_DIR/m0" dialerd_dials_total)" 0 "no dial yet"
tap_is "$(metric "$STACK_DIR/m0" dialerd_database_up)" 1 "dialerd_database_up is 1"
tap_like "$(grep '^dialerd_build_info' "$STACK_DIR/m0")" \
    "^dialerd_build_info\\{version=\"$("$DIALERD" --version | awk '{print $2}')\",schema_version=\"[0-9]+\",instance_name=\"e2e\"\\} 1$" \
    "dialerd_build_info carries the version, schema and instance name"
start=$(metric "$STACK_DIR/m0" process_start_time_seconds)
now=$(date +%s)
tap_ok "$(awk -v s="$start" -v n="$now" 'BEGIN { exit !(s > n - 120 && s <= n + 1) }'; echo $?)" \
    "process_start_time_seconds is the start of this process" "start=$start now=$now"
for fam in dialerd_dials_total dialerd_answers_total dialerd_abandons_total dialerd_carrier_errors_total \
           dialerd_sms_sent_total dialerd_sms_failed_total dialerd_db_query_duration_seconds \
           dialerd_scheduler_tick_lag_seconds dialerd_calls_in_flight dialerd_agents \
           process_start_time_seconds; do
    grep -q "^# TYPE $fam " "$STACK_DIR/m0"
    tap_ok $? "family $fam is exposed with its TYPE"
done
tap_like "$(grep -c '^dialerd_carrier_errors_total{kind="\(refused\|5xx\|timeout\|cut\|4xx\|bad_reply\)"} 0$' "$STACK_DIR/m0")" '^6$' \
    "carrier errors have one series per kind, all 0 at rest"

# --- a small campaign, SMS on every call, and one of each carrier outage -------------------------
psql -Xq -v ON_ERROR_STOP=1 <<'SQL'
INSERT INTO dialer.caller_numbers (number, max_concurrent, max_cps)
VALUES ('+442070000001', 100, 100), ('+442070000002', 100, 100);
INSERT INTO dialer.campaigns (name, mode, skill_group_id, callers, recall_num, recall_interval_min,
                              ring_timeout_s, sms_content, sms_on_hangup)
VALUES ('met-a', 'progressive', 1, '{+442070000001}', 0, 1, 15, 'hello ${text1}', true);
INSERT INTO dialer.campaigns (name, mode, max_concurrent, callers, recall_num, ring_timeout_s)
VALUES ('met-b', 'agentless', 6, '{+442070000002}', 0, 15);
INSERT INTO dialer.callees (campaign_id, number, variables)
SELECT (SELECT id FROM dialer.campaigns WHERE name = 'met-a'), '+4477' || lpad(g::text, 8, '0'),
       jsonb_build_object('text1', g) FROM generate_series(1, 500) g;
INSERT INTO dialer.callees (campaign_id, number)
SELECT (SELECT id FROM dialer.campaigns WHERE name = 'met-b'), '+4479' || lpad(g::text, 8, '0')
  FROM generate_series(1, 120) g;
SQL
camp_b=$(q "SELECT id FROM dialer.campaigns WHERE name = 'met-b'")

# In flight: the pool gauges show the calls and the 30 agents of skill group 1.
busy_gauge() {
    scrape "$STACK_DIR/mid" >/dev/null
    [ "$(metric "$STACK_DIR/mid" 'dialerd_calls_in_flight{pool="sg:1"}')" -gt 0 ]
}
wait_until 20 busy_gauge
tap_ok $? "dialerd_calls_in_flight{pool=\"sg:1\"} is above 0 while the campaign runs"
agents=$(awk '/^dialerd_agents\{pool="sg:1",/ { s += $2 } END { print s + 0 }' "$STACK_DIR/mid")
tap_is "$agents" 30 "dialerd_agents of pool sg:1 add up to its 30 agents"
tap_like "$(grep -c '^dialerd_agents{pool="camp:' "$STACK_DIR/mid")" '^0$' "an agentless pool has no agent series"
tap_like "$(metric "$STACK_DIR/mid" "dialerd_calls_in_flight{pool=\"camp:$camp_b\"}")" '^[0-6]$' \
    "the agentless campaign is a pool of its own (camp:<id>), within its max_concurrent"
promcheck "$STACK_DIR/mid" "promtool check metrics passes mid-campaign"

# Outages, one kind at a time, each until it has shown (bounded): connections refused, dials
# held until dialerd's 1 s timeout, connections closed without an answer, 500s; the SMS gateway
# answers 500 meanwhile.
simstat() { curl -s -m 5 "$SIM_CONTROL/stats" | jq -r "$1"; }
refused_seen() { scrape "$STACK_DIR/mo" >/dev/null; [ "$(metric "$STACK_DIR/mo" 'dialerd_carrier_errors_total{kind="refused"}')" -gt 0 ]; }
held_seen() { [ "$(simstat .held)" -gt 0 ]; }
cut_seen() { [ "$(simstat .cut)" -gt 0 ]; }
r500_seen() { [ "$(simstat .rejected_500)" -gt 0 ]; }
sms500_seen() { [ "$(simstat .sms.rejected)" -gt 0 ]; }
ctl '{"sms": "error500"}'
for phase in refuse:refused_seen timeout:held_seen cut:cut_seen error500:r500_seen; do
    ctl "{\"carrier\": \"${phase%%:*}\"}"
    wait_until 15 "${phase#*:}"
    tap_ok $? "carrier outage '${phase%%:*}' under way"
    ctl '{"carrier": "ok"}'
    sleep 1
done
wait_until 15 sms500_seen
tap_ok $? "the SMS gateway answered 500s"
ctl '{"sms": "ok"}'

done_all() {
    [ "$(psql -XAtc "SELECT count(*) FILTER (WHERE status = 4) = 2
                       AND NOT EXISTS (SELECT 1 FROM dialer.sms_outbox WHERE state IN ('pending', 'sending'))
                       AND NOT EXISTS (SELECT 1 FROM dialer.attempts WHERE ended_at IS NULL)
                      FROM dialer.campaigns")" = t ]
}
wait_until 180 done_all
tap_ok $? "both campaigns complete and every SMS is sent"
sleep 0.5
scrape "$STACK_DIR/m1" >/dev/null
promcheck "$STACK_DIR/m1" "promtool check metrics passes after the campaign"
m() { metric "$STACK_DIR/m1" "$1"; }

# --- counters against the database --------------------------------------------------------------
tap_is "$(m dialerd_dials_total)" "$(q "SELECT count(*) FROM dialer.attempts WHERE dialed_at IS NOT NULL")" \
    "dialerd_dials_total = attempts dialed (dialed_at set)"
tap_is "$(m dialerd_attempts_finished_total)" "$(q "SELECT count(*) FROM dialer.attempts WHERE ended_at IS NOT NULL")" \
    "dialerd_attempts_finished_total = attempts ended"
live=$(q "SELECT count(*) FROM dialer.attempts WHERE (answered_at IS NOT NULL OR end_status = 'abandoned')
                                               AND end_status IS DISTINCT FROM 'machine'")
tap_is "$(m dialerd_answers_total)" "$live" "dialerd_answers_total = live answers (as dialer.campaign_progress counts them)"
tap_ok "$([ "$live" -gt 0 ] && echo 0 || echo 1)" "the campaign had live answers"
tap_is "$(m dialerd_abandons_total)" "$(q "SELECT count(*) FROM dialer.attempts WHERE end_status = 'abandoned'")" \
    "dialerd_abandons_total = attempts ended abandoned"
tap_is "$(m dialerd_sms_sent_total)" "$(q "SELECT count(*) FROM dialer.sms_outbox WHERE state = 'sent'")" \
    "dialerd_sms_sent_total = outbox rows sent"
tap_is "$(m dialerd_sms_failed_total)" "$(q "SELECT count(*) FROM dialer.sms_outbox WHERE state = 'failed'")" \
    "dialerd_sms_failed_total = outbox rows failed"
tap_ok "$([ "$(m dialerd_sms_sent_total)" -gt 0 ] && echo 0 || echo 1)" "SMS were sent"
tap_ok "$([ "$(m dialerd_sms_retries_total)" -gt 0 ] && echo 0 || echo 1)" \
    "the gateway's 500s show as dialerd_sms_retries_total" "retries=$(m dialerd_sms_retries_total)"

# --- carrier errors against the simulator's counts ----------------------------------------------
st=$(curl -s -m 5 "$SIM_CONTROL/stats")
simv() { printf '%s' "$st" | jq -r "$1"; }
tap_is "$(m 'dialerd_carrier_errors_total{kind="5xx"}')" "$(simv .rejected_500)" "carrier errors 5xx = the 500s the carrier sent"
tap_ok "$([ "$(simv .rejected_500)" -gt 0 ] && echo 0 || echo 1)" "the carrier did send 500s"
tap_is "$(m 'dialerd_carrier_errors_total{kind="timeout"}')" "$(simv .held)" "carrier errors timeout = the dials the carrier held unanswered"
tap_ok "$([ "$(simv .held)" -gt 0 ] && echo 0 || echo 1)" "the carrier did hold dials"
# Not equal to the simulator's count either way: libcurl sends a request cut on a reused
# connection once more on a fresh one (the simulator counts both), and a dial handed to a
# kept-alive connection the moment the listener closed (refuse) is cut without reaching it.
cut=$(m 'dialerd_carrier_errors_total{kind="cut"}')
tap_ok "$([ "$(simv .cut)" -gt 0 ] && [ "$cut" -gt 0 ] && echo 0 || echo 1)" \
    "connections closed without an answer count as carrier errors cut, not as timeouts" \
    "dialerd cut=$cut, simulator cut=$(simv .cut)"
refused=$(m 'dialerd_carrier_errors_total{kind="refused"}')
tap_ok "$([ "$refused" -ge $(( $(simv .rejected_429) + $(simv .rejected_503) + 1 )) ] && echo 0 || echo 1)" \
    "carrier errors refused count the refused connections and every 429 / 503" "refused=$refused"
tap_is "$(m 'dialerd_carrier_errors_total{kind="4xx"}')" "$(simv .rejected_400)" "carrier errors 4xx = the 400s the carrier sent"
requests=$(m dialerd_dial_requests_total)
kinds=$(awk '$1 ~ /^dialerd_carrier_errors_total\{/ { s += $2 } END { print s + 0 }' "$STACK_DIR/m1")
echo "# dial requests $requests: $(m dialerd_dials_total) placed, $kinds carrier errors ($cut cut)"
tap_is "$requests" "$(( $(m dialerd_dials_total) + kinds ))" \
    "every dial request counts once: as a placed dial or under one kind of carrier error"
tap_ok "$([ "$requests" -gt "$(m dialerd_dials_total)" ] && echo 0 || echo 1)" \
    "dial requests (retries included) outnumber accepted dials after the outages" "requests=$requests"

# --- gauges and histograms at the end -----------------------------------------------------------
tap_is "$(m 'dialerd_calls_in_flight{pool="sg:1"}')" 0 "no call in flight once everything ended"
n=$(m dialerd_db_query_duration_seconds_count)
tap_ok "$([ "$n" -gt 100 ] && echo 0 || echo 1)" "the database latency histogram counted the queries" "count=$n"
tap_is "$(m 'dialerd_db_query_duration_seconds_bucket{le="+Inf"}')" "$n" "its +Inf bucket holds every query"
ticks=$(m dialerd_scheduler_tick_lag_seconds_count)
tap_ok "$([ "$ticks" -gt 50 ] && echo 0 || echo 1)" "the tick-lag histogram counted the periodic ticks" "count=$ticks"
slow=$(awk -v c="$ticks" '$1 == "dialerd_scheduler_tick_lag_seconds_bucket{le=\"0.1\"}" { print c - $2 }' "$STACK_DIR/m1")
tap_ok "$([ "${slow:-1}" -le $(( ticks / 20 )) ] && echo 0 || echo 1)" "ticks ran less than 100 ms late (all but 5 %)" "late=$slow of $ticks"

# HEAD and a wrong method behave like every other route.
tap_like "$(curl -s -o /dev/null -w '%{http_code}' -I "$base/metrics")" '^200$' "HEAD /metrics answers 200"
tap_like "$(http POST "$base/metrics" '{}')" '^405 .*allowed: GET' "POST /metrics is 405"

stack_stop "$DIALERD_PID" dialerd "$STACK_DIR/dialerd.log"
exit $TAP_FAILED

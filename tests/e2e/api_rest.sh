#!/usr/bin/env bash
# End-to-end: the REST resource routes of DESIGN §5.2 (campaigns, control, callees, agents) over
# real HTTP against a real PostgreSQL: every route, every error code (-27 -32 -33 -38 -39 -44
# -53 -54 -56), the rows in the database after each write, SQL metacharacters stored verbatim.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/lib/stack.sh"
stack_begin api_rest

TOKEN=${API_TOKEN:-rest-$RANDOM-token}
stack_pg || { echo "not ok - private cluster starts and migrates"; exit 1; }
stack_dialerd --set api_tokens="$TOKEN" --set import_max_items=50 \
    || { echo "not ok - dialerd starts"; exit 1; }
base="http://127.0.0.1:$DIALERD_PORT"

# api METHOD PATH [BODY]: "<http status> <body>" with the bearer token, like tap.sh's http.
api() {
    local out code
    out=$(curl -s -m 20 -X "$1" -H "Authorization: Bearer $TOKEN" \
        ${3:+-H 'Content-Type: application/json' --data-binary "$3"} \
        -w '\n%{http_code}' "$base$2" 2>/dev/null) || true
    code=$(printf '%s' "$out" | tail -n1)
    printf '%s %s\n' "${code:-000}" "$(printf '%s' "$out" | sed '$d' | tr -d '\n')"
}
# jv PATH RESPONSE: the value at a jsonb path ('{data,id}') of a response's body; PostgreSQL parses.
# (psql expands :'j' in what it reads from stdin, not in -c.)
jv() { psql -XAt -v j="${2#* }" <<<"SELECT (:'j')::jsonb #>> '$1'"; }
# jn PATH RESPONSE: the length of the array at PATH; jl PATH KEY RESPONSE: its items' KEY values.
jn() { psql -XAt -v j="${2#* }" <<<"SELECT jsonb_array_length((:'j')::jsonb #> '$1')"; }
jl() { psql -XAt -v j="${3#* }" <<<"SELECT string_agg(e->>'$2', ' ') FROM jsonb_array_elements((:'j')::jsonb #> '$1') e"; }
# code_is RESPONSE HTTP CODE DESC: the HTTP status and the envelope's status.
code_is() { tap_is "${1%% *} $(jv '{status}' "$1")" "$2 $3" "$4"; }
# wait_status ID STATUS: until the campaign has that status (the scheduler starts ready ones).
wait_status() { wait_until 10 bash -c "[ \"\$(psql -XAtc 'SELECT status FROM dialer.campaigns WHERE id = $1')\" = $2 ]"; }

psql -Xq <<'SQL'
INSERT INTO dialer.skill_groups (id, name) VALUES (1, 'sales'), (2, 'support'), (3, 'empty');
INSERT INTO dialer.agents (id, name, status) VALUES
    ('ag-1', 'Ann', 'notReady'), ('ag-2', 'Bob', 'offline'), ('ag-3', 'Cy', 'rest'),
    ('zz''4"; --', 'O''Hara', 'offline');
INSERT INTO dialer.agent_skill_groups (agent_id, skill_group_id, priority) VALUES
    ('ag-1', 1, 1), ('ag-1', 2, 3), ('ag-2', 2, 2), ('zz''4"; --', 1, 5);
SQL
future='2040-01-01T00:00:00Z'
callers='"callers":["+442070000001","+442070000002"]'

# --- authentication: every resource route is a bearer route -------------------------------------
r=$(http GET "$base/v1/campaigns")
code_is "$r" 401 -1 "without the bearer token GET /v1/campaigns is refused (401, -1)"
r=$(curl -s -m 5 -H "Authorization: Bearer wrong-$TOKEN" -w ' %{http_code}' "$base/v1/agents" | tr -d '\n')
tap_like "$r" '"status":-1.* 401$' "a wrong token is refused on GET /v1/agents"

# --- POST /v1/campaigns -----------------------------------------------------------------------------
r=$(api POST /v1/campaigns "{\"name\":\"minimal\",\"skill_group_id\":1,$callers,\"not_before\":\"$future\"}")
code_is "$r" 201 0 "POST /v1/campaigns with the required fields creates (201)"
c_min=$(jv '{data,id}' "$r")
tap_is "$(jv '{data,name}' "$r") $(jv '{data,status}' "$r") $(jv '{data,priority}' "$r")" "minimal 0 3" \
    "the answer is the stored row: name, status ready (0), default priority 3"
tap_is "$(q "SELECT name, skill_group_id, array_to_string(callers, ' '), not_before = '$future' FROM dialer.campaigns WHERE id = $c_min")" \
    "minimal|1|+442070000001 +442070000002|t" "the row is in dialer.campaigns"
psql -Xqc "INSERT INTO dialer.campaigns (name, skill_group_id, callers, not_before)
           VALUES ('sql-made', 1, '{+442070000001,+442070000002}', '$future')"
strip="- 'id' - 'name' - 'created_at' - 'updated_at'"
tap_is "$(q "SELECT (to_jsonb(a) $strip) = (to_jsonb(b) $strip) FROM dialer.campaigns a, dialer.campaigns b
             WHERE a.name = 'minimal' AND b.name = 'sql-made'")" "t" \
    "every default of a REST-created campaign equals the schema's (same row as a bare SQL INSERT)"
psql -Xqc "DELETE FROM dialer.campaigns WHERE name = 'sql-made'"

# The same name as JSON text and as stored: quotes, a backslash, LIKE and template characters.
meta='O'"'"'Brien\"; DROP TABLE dialer.campaigns; -- \\ %_ ${text1}'
meta_sql='O'"'"'Brien"; DROP TABLE dialer.campaigns; -- \ %_ ${text1}'
full=$(cat <<JSON
{"name":"$meta","mode":"progressive","priority":1,"skill_group_id":2,"callout_rate":2.5,
 "expected_abandon_rate":4.5,"max_concurrent":7,"callers":["+442070000009"],"call_order":0,
 "not_before":"2039-06-01T08:00:00+02:00","not_after":"2039-07-01T00:00:00Z","time_zone":"Europe/London",
 "time_ranges":[{"start":"09:00:00","end":"12:30:00"},{"start":"22:00:00","end":"02:00:00"}],
 "ring_timeout_s":45,"recall_num":3,"recall_interval_min":15,"recall_type":0,
 "uui":"x'); DELETE FROM dialer.callees; --","variables":{"text1":"a'b","text2":"\\\\\"q\"","n":5},
 "sms_sender_id":"ACME'","sms_content":"Hi \${text1}; it's 100%","sms_on_hangup":true,
 "sms_on_success":true,"sms_on_failure":false,"sms_on_ring":false,"sms_on_feedback":true,
 "sms_success_delay_s":60,"sms_feedback_value":"7"}
JSON
)
r=$(api POST /v1/campaigns "$full")
code_is "$r" 201 0 "POST /v1/campaigns with every §5.1 column creates (201)"
c_full=$(jv '{data,id}' "$r")
tap_is "$(q "SELECT mode, priority, skill_group_id, callout_rate, expected_abandon_rate, max_concurrent,
                    array_to_string(callers, ' '), call_order, not_before = '2039-06-01T06:00:00Z',
                    not_after = '2039-07-01T00:00:00Z', time_zone, time_ranges::text, ring_timeout_s,
                    recall_num, recall_interval_min, recall_type
             FROM dialer.campaigns WHERE id = $c_full")" \
    'progressive|1|2|2.5|4.5|7|+442070000009|0|t|t|Europe/London|[{"end": "12:30:00", "start": "09:00:00"}, {"end": "02:00:00", "start": "22:00:00"}]|45|3|15|0' \
    "every pacing, window and recall column is stored as sent"
tap_is "$(q "SELECT sms_sender_id, sms_content, sms_on_hangup, sms_on_success, sms_on_failure, sms_on_ring,
                    sms_on_feedback, sms_success_delay_s, sms_feedback_value
             FROM dialer.campaigns WHERE id = $c_full")" \
    "ACME'|Hi \${text1}; it's 100%|t|t|f|f|t|60|7" "every SMS column is stored as sent"
tap_is "$(q "SELECT name FROM dialer.campaigns WHERE id = $c_full")" "$meta_sql" \
    "a name full of SQL metacharacters is stored verbatim"
tap_is "$(q "SELECT uui, variables->>'text1', variables->>'text2', variables->'n' FROM dialer.campaigns WHERE id = $c_full")" \
    "x'); DELETE FROM dialer.callees; --|a'b|\\\"q\"|5" "uui and variables with quotes and backslashes are stored verbatim"
tap_is "$(q "SELECT count(*) FROM dialer.campaigns")" "2" "and no SQL in them ran"

r=$(api POST /v1/campaigns "{\"name\":\"minimal\",\"skill_group_id\":1,$callers}")
code_is "$r" 409 -33 "a name that exists is -33 (409)"
tap_like "$r" 'name: a campaign named \\"minimal\\" already exists' "naming the field and the value"

n_before=$(q "SELECT count(*) FROM dialer.campaigns")
r=$(api POST /v1/campaigns "{\"name\":\"x\",\"skill_group_id\":1,$callers,\"priority\":9}")
code_is "$r" 422 -27 "priority 9 is -27 (422), checked before SQL"
tap_like "$r" 'priority: 9 is out of range; accepted: whole numbers 1 to 5' "naming the field, the value and the range"
r=$(api POST /v1/campaigns '{"name":"x","mode":"agentless","callers":["12 34"],"ring_timeout_s":5,"colour":"red"}')
tap_like "$r" '^422 .*callers\[1\]: \\"12 34\\" is not a phone number.*ring_timeout_s: 5 is out of range.*\\"colour\\": unknown field' \
    "every bad field of one body is named"
r=$(api POST /v1/campaigns "{\"name\":\"x\",$callers}")
tap_like "$r" '^422 .*skill_group_id: required unless mode is agentless' "a predictive campaign without a skill group"
r=$(api POST /v1/campaigns "{\"name\":\"x\",\"skill_group_id\":1,$callers,\"status\":1}")
tap_like "$r" '^422 .*status: cannot be set here' "a create cannot set the status"
r=$(api POST /v1/campaigns "{\"name\":\"x\",\"skill_group_id\":1,$callers,\"time_ranges\":[{\"start\":\"09:00:00\",\"end\":\"25:00:00\"}]}")
tap_like "$r" '^422 .*time_ranges\[1\]\.end: \\"25:00:00\\" is not a time of day' "a bad time range names the window"
# What only the database knows: its own checks answer, mapped to -27 and the field.
r=$(api POST /v1/campaigns "{\"name\":\"x\",\"skill_group_id\":1,$callers,\"time_zone\":\"europe/london\"}")
code_is "$r" 422 -27 "an unknown time zone is -27 from the database's check"
tap_like "$r" 'time_zone: unknown time zone \\"europe/london\\" \(did you mean \\"Europe/London\\"' "with its hint"
r=$(api POST /v1/campaigns "{\"name\":\"x\",\"skill_group_id\":99,$callers}")
tap_like "$r" '^422 .*"status":-27.*skill_group_id: skill group 99 does not exist' "an unknown skill group (foreign key)"
r=$(api POST /v1/campaigns "{\"name\":\"x\",\"skill_group_id\":1,$callers,\"not_before\":\"2039-01-02T00:00:00Z\",\"not_after\":\"2039-01-01T00:00:00Z\"}")
tap_like "$r" '^422 .*not_after: must be later than not_before' "not_after before not_before (a CHECK)"
r=$(api POST /v1/campaigns '{"name":')
code_is "$r" 400 -27 "malformed JSON is 400 -27"
tap_is "$(q "SELECT count(*) FROM dialer.campaigns")" "$n_before" "refused creates left no row"

# --- GET /v1/campaigns/{id} with progress -----------------------------------------------------------
psql -Xq <<SQL
INSERT INTO dialer.callees (campaign_id, number, state, attempts, next_attempt_at)
SELECT $c_full, '+4420009' || lpad(g::text, 5, '0'),
       (ARRAY[0, 1, 1, 2, 3, 4])[1 + g % 6], 1, CASE WHEN g % 6 = 5 THEN now() + interval '1 h' END
  FROM generate_series(1, 12) g;
INSERT INTO dialer.attempts (callee_id, campaign_id, attempt_no, caller, answered_at, end_status)
SELECT e.id, $c_full, 1, '+442070000009', now(),
       CASE WHEN right(e.number, 2) IN ('01', '02') THEN 'abandoned' ELSE 'ok' END
  FROM dialer.callees e WHERE e.campaign_id = $c_full AND e.state = 1;
SQL
r=$(api GET "/v1/campaigns/$c_full")
code_is "$r" 200 0 "GET /v1/campaigns/{id} answers 200"
tap_is "$(jv '{data,name}' "$r")" "$meta_sql" "with the campaign's columns"
tap_is "$(psql -XAt -v j="${r#* }" <<<"SELECT concat_ws(' ', p->'callee_count', p->'finished_callee_count',
               p->'state_initial', p->'state_answered', p->'state_unanswered', p->'state_calling',
               p->'state_pending_retry', p->'attempts', p->'abandoned', p->'abandon_rate_24h')
          FROM (SELECT (:'j')::jsonb #> '{data,progress}' AS p) x")" \
    "12 6 2 4 2 2 2 4 2 50.00" "progress: callee and finished counts, per-state counts, attempts, abandon rate (the view)"
tap_is "$(jv '{data,progress,callee_count}' "$r")" "$(q "SELECT callee_count FROM dialer.campaign_progress WHERE campaign_id = $c_full")" \
    "progress agrees with dialer.campaign_progress"
r=$(api GET /v1/campaigns/987654)
code_is "$r" 404 -32 "an unknown campaign is -32 (404)"
r=$(api GET /v1/campaigns/12abc)
code_is "$r" 422 -27 "a campaign id that is not a number is -27"

# --- GET /v1/campaigns: filters and paging ----------------------------------------------------------
for i in 1 2 3 4 5; do api POST /v1/campaigns "{\"name\":\"page-$i 50%_off\",\"skill_group_id\":3,$callers,\"not_before\":\"$future\"}" >/dev/null; done
r=$(api GET "/v1/campaigns?skill_group_id=3&limit=2")
code_is "$r" 200 0 "GET /v1/campaigns answers 200"
tap_is "$(jv '{data,items,0,name}' "$r") $(jv '{data,items,1,name}' "$r")" "page-1 50%_off page-2 50%_off" "filtered by skill group, limited, in id order"
tap_is "$(jv '{data,items,0,callee_count}' "$r")" "0" "items carry callee_count"
after=$(jv '{data,next_after}' "$r")
r=$(api GET "/v1/campaigns?skill_group_id=3&limit=2&after=$after")
tap_is "$(jv '{data,items,0,name}' "$r")" "page-3 50%_off" "next_after fetches the next page"
r=$(api GET "/v1/campaigns?skill_group_id=3&limit=10")
tap_is "$(jn '{data,items}' "$r") $(jv '{data,next_after}' "$r")" "5 " "the last page has next_after null"
r=$(api GET "/v1/campaigns?name=PAGE-4")
tap_is "$(jv '{data,items,0,name}' "$r") $(jv '{data,items,1}' "$r")" "page-4 50%_off " "name matches a part, ignoring case"
r=$(api GET "/v1/campaigns?name=%25_o")
tap_is "$(jn '{data,items}' "$r")" "5" "% and _ in name are plain characters, not patterns"
r=$(api GET "/v1/campaigns?name=x%27%3B%20DROP%20TABLE%20dialer.campaigns%3B--")
tap_is "${r%% *} $(jv '{data,items}' "$r")" "200 []" "SQL in a filter is data"
r=$(api GET "/v1/campaigns?status=0,1,2&skill_group_id=2")
tap_is "$(jv '{data,items,0,id}' "$r")" "$c_full" "status takes a list"
r=$(api GET "/v1/campaigns?status=5")
code_is "$r" 422 -27 "status=5 is -27"
r=$(api GET "/v1/campaigns?limit=0")
tap_like "$r" '^422 .*limit: \\"0\\" is not accepted; accepted: whole numbers 1 to 1000' "limit is bounded (1..1000)"
r=$(api GET "/v1/campaigns?limit=1001")
code_is "$r" 422 -27 "limit 1001 is refused"
r=$(api GET "/v1/campaigns?sort=name")
tap_like "$r" '^422 .*query parameter \\"sort\\" is not known here; accepted: status, skill_group_id, name, limit, after' "an unknown parameter lists the accepted ones"

# --- control: pause / resume / abort -------------------------------------------------------------------
r=$(api POST /v1/campaigns "{\"name\":\"ctl\",\"skill_group_id\":1,$callers}")
c_ctl=$(jv '{data,id}' "$r")
wait_status "$c_ctl" 1
tap_is "$(q "SELECT status FROM dialer.campaigns WHERE id = $c_ctl")" "1" "a campaign whose not_before has passed is started by dialerd"
r=$(api POST "/v1/campaigns/$c_ctl/resume")
code_is "$r" 409 -39 "resume of a running campaign is -39 (409)"
tap_like "$r" 'cannot be resumed: it is running \(1\); only a paused \(2\) campaign can be resumed' "saying why"
r=$(api POST "/v1/campaigns/$c_ctl/pause")
code_is "$r" 200 0 "pause of a running campaign"
tap_is "$(jv '{data,status}' "$r") $(q "SELECT status FROM dialer.campaigns WHERE id = $c_ctl")" "2 2" "answers and stores paused (2)"
r=$(api POST "/v1/campaigns/$c_ctl/pause")
code_is "$r" 409 -38 "pause of a paused campaign is -38 (409)"
r=$(api POST "/v1/campaigns/$c_min/pause")
tap_like "$r" '^409 .*"status":-38.*it is ready \(0\)' "pause of a ready campaign is -38"
r=$(api POST "/v1/campaigns/$c_min/resume")
tap_like "$r" '^409 .*"status":-39.*A ready campaign starts by itself at not_before' "resume of a ready campaign is -39 with the database's hint"
r=$(api POST "/v1/campaigns/$c_ctl/resume")
code_is "$r" 200 0 "resume of a paused campaign"
tap_is "$(q "SELECT status FROM dialer.campaigns WHERE id = $c_ctl")" "1" "stored running (1)"
for verb in pause resume abort; do
    r=$(api POST "/v1/campaigns/987654/$verb")
    code_is "$r" 404 -32 "$verb of an unknown campaign is -32 (404)"
done

# --- PATCH /v1/campaigns/{id} ------------------------------------------------------------------------
r=$(api PATCH "/v1/campaigns/$c_ctl" '{"priority":2,"callout_rate":3,"uui":"p\u0027; --","time_ranges":[]}')
code_is "$r" 200 0 "PATCH of a running campaign's tuning fields"
tap_is "$(q "SELECT priority, callout_rate, uui, mode, status FROM dialer.campaigns WHERE id = $c_ctl")" "2|3|p'; --|predictive|1" \
    "changes only the given columns, stored verbatim; the status stays"
tap_is "$(jv '{data,priority}' "$r")" "2" "and answers the updated row"
r=$(api PATCH "/v1/campaigns/$c_ctl" '{"priority":4,"mode":"progressive"}')
code_is "$r" 409 -54 "PATCH of mode while running is -54 (409)"
tap_like "$r" 'mode: cannot change while campaign [0-9]+ is running \(1\): the mode decides which pacer places its calls.*pause it first' \
    "naming the field, the status and why"
tap_is "$(q "SELECT priority, mode FROM dialer.campaigns WHERE id = $c_ctl")" "2|predictive" "and changes nothing, not even the allowed field"
r=$(api PATCH "/v1/campaigns/$c_ctl" '{"not_before":"2041-01-01T00:00:00Z"}')
tap_like "$r" '^409 .*"status":-54.*not_before: cannot change now that campaign [0-9]+ is running' "not_before once started is -54"
r=$(api PATCH "/v1/campaigns/$c_ctl" '{"status":2}')
code_is "$r" 409 -54 "PATCH of status is -54: the status changes through the control routes"
r=$(api PATCH "/v1/campaigns/$c_min" '{"not_before":"2041-01-01T00:00:00Z","mode":"agentless","skill_group_id":null,"name":"minimal-2"}')
code_is "$r" 200 0 "a ready campaign may change everything"
tap_is "$(q "SELECT not_before = '2041-01-01T00:00:00Z', mode, skill_group_id IS NULL, name FROM dialer.campaigns WHERE id = $c_min")" "t|agentless|t|minimal-2" \
    "stored"
r=$(api PATCH "/v1/campaigns/$c_min" '{"mode":"predictive"}')
tap_like "$r" '^422 .*"status":-27.*skill_group_id: required unless mode is agentless \(database rule' \
    "a patch breaking a cross-field rule is refused by the database's check (-27)"
r=$(api PATCH "/v1/campaigns/$c_min" '{"time_zone":"Mars/Base"}')
tap_like "$r" '^422 .*time_zone: unknown time zone \\"Mars/Base\\"' "an unknown zone in a patch"
r=$(api PATCH "/v1/campaigns/$c_min" "{\"name\":\"ctl\"}")
code_is "$r" 409 -33 "renaming to a taken name is -33"
r=$(api PATCH "/v1/campaigns/$c_min" '{"ring_timeout_s":500}')
tap_like "$r" '^422 .*ring_timeout_s: 500 is out of range' "a patch is checked field by field"
r=$(api PATCH "/v1/campaigns/$c_min" '{}')
tap_like "$r" '^422 .*names no field to change' "an empty patch"
tap_is "$(q "SELECT mode, name, ring_timeout_s FROM dialer.campaigns WHERE id = $c_min")" "agentless|minimal-2|30" "refused patches changed nothing"
r=$(api PATCH /v1/campaigns/987654 '{"priority":1}')
code_is "$r" 404 -32 "PATCH of an unknown campaign is -32"

# --- callees: POST /v1/campaigns/{id}/callees ---------------------------------------------------------
psql -Xq -c "INSERT INTO dialer.callees (campaign_id, number) VALUES ($c_min, '+447700900002')"
( psql -XAt -c "LISTEN dialer_changes" -c "SELECT pg_sleep(3)" >"$STACK_DIR/notify.out" 2>&1 & )
# Listening once its second command runs.
wait_until 5 bash -c "[ \$(psql -XAtc \"SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(3)'\") = 1 ]"
batch=$(cat <<'JSON'
{"callees":[
 "+447700900001",
 {"number":"+447700900002"},
 {"number":"+447700900003","uui":"u'); DROP TABLE dialer.callees; --","variables":{"text1":"O'Neil","text2":"50%"},"time_zone":"Europe/Paris"},
 {"Callee":"+447700900004","UUI":"seed-uui","Variables":[{"Key":"text1","Value":"from the seed"}]},
 {"number":"+447700900001"},
 {"number":"07700 900005"},
 {"number":"+447700900006","time_zone":"Mars/Base"},
 {"number":"+447700900007","variables":"nope"},
 {"number":"+447700900008","colour":"red"},
 {"number":"+447700900009","time_zone":null}
]}
JSON
)
r=$(api POST "/v1/campaigns/$c_min/callees" "$batch")
code_is "$r" 200 0 "POST /v1/campaigns/{id}/callees answers 200 with a result per item"
tap_is "$(jv '{data,received}' "$r") $(jv '{data,imported}' "$r") $(jv '{data,refused}' "$r")" "10 4 6" "10 received, 4 imported, 6 refused"
res() { tap_is "$(jv "{data,results,$1,status}" "$r")" "$2" "$3"; }
res 0 0 "item 0 (a bare number string) is imported"
res 1 -53 "item 1 (already in the campaign) is -53"
res 2 0 "item 2 (uui, variables, time_zone) is imported"
res 3 0 "item 3 (the seed's CalleeAttribute shape) is imported"
res 4 -53 "item 4 (given twice in the batch) is -53"
res 5 -27 "item 5 (a number with a space) is -27"
res 6 -27 "item 6 (an unknown time zone) is -27"
res 7 -27 "item 7 (variables not an object) is -27"
res 8 -27 "item 8 (an unknown field) is -27"
res 9 0 "item 9 (time_zone null) is imported"
tap_like "$(jv '{data,results,6,reason}' "$r")" 'time_zone: unknown time zone "Mars/Base"' "the zone is the database's answer, per item"
tap_like "$(jv '{data,results,4,reason}' "$r")" 'already given at index 0 of this batch' "a repeat names the first index"
tap_is "$(jv '{data,results,2,id}' "$r")" "$(q "SELECT id FROM dialer.callees WHERE number = '+447700900003'")" "an imported item carries its callee id"
tap_is "$(q "SELECT string_agg(number, ' ' ORDER BY id) FROM dialer.callees WHERE campaign_id = $c_min")" \
    "+447700900002 +447700900001 +447700900003 +447700900004 +447700900009" "exactly the good items are in dialer.callees, in batch order"
tap_is "$(q "SELECT uui, variables->>'text1', variables->>'text2', time_zone FROM dialer.callees WHERE number = '+447700900003'")" \
    "u'); DROP TABLE dialer.callees; --|O'Neil|50%|Europe/Paris" "uui, variables and time zone stored verbatim"
tap_is "$(q "SELECT uui, variables::text, state FROM dialer.callees WHERE number = '+447700900004'")" \
    'seed-uui|{"text1": "from the seed"}|0' "the seed shape: UUI and Variables [{Key, Value}] become uui and variables"
wait_until 5 grep -q '"table":"callees","op":"INSERT"' "$STACK_DIR/notify.out"
tap_like "$(cat "$STACK_DIR/notify.out")" "\"table\":\"callees\",\"op\":\"INSERT\",\"campaign_ids\":\[$c_min\]" \
    "a REST import is announced on dialer_changes like a manager's INSERT (the scheduler reloads)"

many=$(printf '"+4477001%05d",' $(seq 1 51)); many="{\"callees\":[${many%,}]}"
r=$(api POST "/v1/campaigns/$c_min/callees" "$many")
code_is "$r" 413 -56 "51 items with import_max_items=50 is -56 (413)"
tap_like "$r" 'callees: 51 items; at most 50 per request \(import_max_items\)' "naming the limit"
tap_is "$(q "SELECT count(*) FROM dialer.callees WHERE number LIKE '+4477001%'")" "0" "and nothing of it is imported"
many=$(printf '"+4477001%05d",' $(seq 1 50)); many="{\"callees\":[${many%,}]}"
r=$(api POST "/v1/campaigns/$c_min/callees" "$many")
tap_is "${r%% *} $(jv '{data,imported}' "$r")" "200 50" "exactly 50 items are taken"
tap_is "$(q "SELECT count(*) FROM dialer.callees WHERE number LIKE '+4477001%'")" "50" "all 50 stored"
r=$(api POST /v1/campaigns/987654/callees '{"callees":["+447700900001"]}')
code_is "$r" 404 -32 "an import into an unknown campaign is -32"
r=$(api POST "/v1/campaigns/$c_min/callees" '{"callees":[]}')
tap_like "$r" '^422 .*callees: required, a non-empty array' "an empty batch is -27"
r=$(api POST "/v1/campaigns/$c_min/callees" '{"callees":["+447700900100"],"campaign":1}')
tap_like "$r" '^422 .*\\"campaign\\": unknown field' "an unknown top-level field is -27"

# --- GET /v1/campaigns/{id}/callees ---------------------------------------------------------------------
r=$(api GET "/v1/campaigns/$c_full/callees?state=1")
code_is "$r" 200 0 "GET /v1/campaigns/{id}/callees answers 200"
tap_is "$(jl '{data,items}' state "$r")" "1 1 1 1" "state=1 lists the 4 answered callees only"
r=$(api GET "/v1/campaigns/$c_full/callees?state=0,4&limit=3")
tap_is "$(jl '{data,items}' state "$r")" "4 0 4" "a list of states (0 and 4), in id order, limited to 3"
r2=$(api GET "/v1/campaigns/$c_full/callees?state=0,4&limit=3&after=$(jv '{data,next_after}' "$r")")
tap_is "$(jn '{data,items}' "$r2") $(jv '{data,next_after}' "$r2")" "1 " "the next page has the last one, and no further cursor"
r=$(api GET "/v1/campaigns/$c_min/callees?limit=1")
tap_is "$(jv '{data,items,0,number}' "$r") $(jv '{data,items,0,time_zone}' "$r")" "+447700900002 " "items in insertion order with their columns"
r=$(api GET "/v1/campaigns/987654/callees")
code_is "$r" 404 -32 "callees of an unknown campaign is -32"
r=$(api GET "/v1/campaigns/$c_full/callees?state=7")
code_is "$r" 422 -27 "state=7 is -27"

# --- DELETE /v1/campaigns/{id} ---------------------------------------------------------------------------
r=$(api DELETE "/v1/campaigns/$c_ctl")
code_is "$r" 409 -44 "DELETE of a running campaign is -44 (409)"
tap_like "$r" 'cannot be deleted: it is running \(1\); pause or abort it first' "saying what to do"
tap_is "$(q "SELECT count(*) FROM dialer.campaigns WHERE id = $c_ctl")" "1" "the campaign is still there"
api POST "/v1/campaigns/$c_full/abort" >/dev/null
r=$(api DELETE "/v1/campaigns/$c_full")
code_is "$r" 409 -44 "DELETE with calls in flight (callees in state 3) is -44"
tap_like "$r" '2 of its calls are in flight' "saying how many"

# --- abort, then what an ended campaign refuses --------------------------------------------------------------
r=$(api POST "/v1/campaigns/$c_ctl/abort")
code_is "$r" 200 0 "abort of a running campaign"
tap_is "$(q "SELECT status, status_reason, ended_at IS NOT NULL FROM dialer.campaigns WHERE id = $c_ctl")" "3|1|t" \
    "stored terminated (3), ended manually (1), ended_at set"
r=$(api POST "/v1/campaigns/$c_ctl/abort")
code_is "$r" 409 -54 "abort of a terminated campaign is -54 (409)"
r=$(api POST "/v1/campaigns/$c_ctl/resume")
code_is "$r" 409 -39 "resume of a terminated campaign is -39"
r=$(api PATCH "/v1/campaigns/$c_ctl" '{"priority":5}')
code_is "$r" 409 -54 "PATCH of a terminated campaign is -54"
tap_like "$r" 'is terminated \(3\): an ended campaign cannot be modified' "saying why"
r=$(api POST "/v1/campaigns/$c_ctl/callees" '{"callees":["+447700900200"]}')
code_is "$r" 409 -54 "an import into a terminated campaign is -54"
tap_is "$(q "SELECT count(*) FROM dialer.callees WHERE campaign_id = $c_ctl")" "0" "and imports nothing"
r=$(api DELETE "/v1/campaigns/$c_ctl")
code_is "$r" 200 0 "DELETE of a terminated campaign"
tap_is "$(q "SELECT count(*) FROM dialer.campaigns WHERE id = $c_ctl")" "0" "the row is gone"
r=$(api DELETE "/v1/campaigns/$c_min")
code_is "$r" 200 0 "DELETE of a ready campaign"
tap_is "$(q "SELECT count(*) FROM dialer.callees WHERE campaign_id = $c_min")" "0" "its callees went with it"
r=$(api DELETE "/v1/campaigns/$c_min")
code_is "$r" 404 -32 "DELETE of an unknown campaign is -32"

# --- GET /v1/agents -----------------------------------------------------------------------------------------
r=$(api GET /v1/agents)
code_is "$r" 200 0 "GET /v1/agents answers 200"
tap_is "$(jl '{data,items}' id "$r")" "ag-1 ag-2 ag-3 zz'4\"; --" "every agent, in id order"
tap_is "$(jv '{data,items,0,status}' "$r") $(jv '{data,items,0,skill_groups}' "$r")" \
    'notReady [{"name": "sales", "priority": 1, "skill_group_id": 1}, {"name": "support", "priority": 3, "skill_group_id": 2}]' \
    "with status and skill groups (priority order)"
r=$(api GET "/v1/agents?skill_group_id=2")
tap_is "$(jl '{data,items}' id "$r")" "ag-1 ag-2" "filtered by skill group"
r=$(api GET "/v1/agents?skill_group_id=1&status=offline")
tap_is "$(jl '{data,items}' id "$r")" "zz'4\"; --" "filtered by skill group and status; an id with SQL metacharacters comes back verbatim"
r=$(api GET "/v1/agents?limit=2")
r2=$(api GET "/v1/agents?limit=2&after=$(jv '{data,next_after}' "$r")")
tap_is "$(jl '{data,items}' id "$r2")" "ag-3 zz'4\"; --" "paging with after"
r=$(api GET "/v1/agents?status=lunch")
tap_like "$r" '^422 .*status: \\"lunch\\" is not an agent status; accepted: free, busy, arrange, notReady, rest, offline' "an unknown status is -27"

# --- the limit is a config key ------------------------------------------------------------------------------
tap_like "$("$DIALERD" --help-config)" 'import_max_items = 10000' "import_max_items defaults to 10000 (dialerd --help-config)"

stack_stop "$DIALERD_PID" dialerd "$STACK_DIR/dialerd.log"
exit $TAP_FAILED

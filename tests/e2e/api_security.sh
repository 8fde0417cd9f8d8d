#!/usr/bin/env bash
# End-to-end: authentication and hostile input on the event, push and agent routes over real
# HTTP — bearer tokens and their rotation, signatures (missing, wrong, stale, future, replayed),
# malformed / mistyped / deeply nested / oversized bodies, SQL metacharacters in every string
# field, the pending-request bound (-52) — each refused with its code, nothing changed in the
# database, the same daemon still serving, and no token or secret in any log.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/lib/stack.sh"
stack_begin security

TOKEN2="rot-token-$RANDOM$RANDOM"
SECRET2="rot-secret-$RANDOM$RANDOM"
conf="$STACK_DIR/dialerd.conf"
# write_conf TOKENS SECRETS [EXTRA]: the credentials come from the file so a SIGHUP can change them.
write_conf() {
    # Calls left ringing on purpose would hold the drain for its full 30 s at the end.
    printf 'api_tokens = "%s"\nevent_secrets = "%s"\nevent_max_skew_s = 300\nreconcile_grace_s = 3600\ndrain_timeout_ms = 1000\n%s\n' \
        "$1" "$2" "${3:-}" >"$conf"
}
# reload: SIGHUP, then wait for the daemon to say it applied the file.
reload() {
    local n; n=$(grep -c 'event=config.reloaded' "$STACK_DIR/dialerd.log")
    kill -HUP "$pid"
    wait_until 5 bash -c "[ \$(grep -c 'event=config.reloaded' '$STACK_DIR/dialerd.log') -gt $n ]"
}

write_conf "$API_TOKEN, $TOKEN2" "$EVENT_SECRET, $SECRET2"
stack_pg || { echo "not ok - private cluster starts and migrates"; exit 1; }
STACK_AUTH=0 stack_dialerd -c "$conf" || { echo "not ok - dialerd starts"; exit 1; }
pid=$DIALERD_PID
base="http://127.0.0.1:$DIALERD_PORT"
events="$base/v1/calls/events"; cdr="$base/v1/push/cdr"; ai="$base/v1/push/ai"
agent="$base/v1/agents/ag-1/status"

# A paused campaign (nothing is dialed) with twelve calls in flight, as a claim leaves them.
psql -Xq <<'SQL'
INSERT INTO dialer.skill_groups (id, name) VALUES (1, 'sales');
INSERT INTO dialer.agents (id, status) VALUES ('ag-1', 'offline'), ('ag-2', 'offline');
INSERT INTO dialer.agent_skill_groups (agent_id, skill_group_id) VALUES ('ag-1', 1), ('ag-2', 1);
INSERT INTO dialer.campaigns (name, mode, skill_group_id, callers, recall_num, recall_interval_min)
VALUES ('sec', 'progressive', 1, '{+442070000001}', 2, 5);
UPDATE dialer.campaigns SET status = 1;
UPDATE dialer.campaigns SET status = 2;
INSERT INTO dialer.callees (campaign_id, number, state, attempts)
SELECT 1, '+4477000000' || lpad(g::text, 2, '0'), 3, 1 FROM generate_series(1, 12) g;
INSERT INTO dialer.attempts (callee_id, campaign_id, attempt_no, caller, skill_group_id, instance)
SELECT id, 1, 1, '+442070000001', 1, 'e2e' FROM dialer.callees ORDER BY id;
SQL

# raw METHOD URL BODY [curl args…]: "<http status> <body>" with exactly the headers given.
raw() {
    local m=$1 u=$2 b=$3 out; shift 3
    out=$(curl -s -m 30 -X "$m" -H 'Content-Type: application/json' -H 'Expect:' "$@" \
        --data-binary "$b" -w '\n%{http_code}' "$u" 2>/dev/null) || true
    printf '%s %s\n' "$(printf '%s' "$out" | tail -n1)" "$(printf '%s' "$out" | sed '$d' | tr -d '\n')"
}
# sig_of SECRET TS BODY: the signature header value of an inline body.
sig_of() { printf '%s' "$3" >"$STACK_DIR/sig.body"; sign_file "$1" "$2" "$STACK_DIR/sig.body"; }
# snap: one checksum over every row a request could touch.
snap() {
    q "SELECT md5(string_agg(x, '|' ORDER BY x)) FROM (
         SELECT row_to_json(a)::text AS x FROM dialer.attempts a UNION ALL
         SELECT row_to_json(c)::text FROM dialer.callees c UNION ALL
         SELECT row_to_json(g)::text FROM dialer.agents g UNION ALL
         SELECT row_to_json(k)::text FROM dialer.campaigns k UNION ALL
         SELECT row_to_json(s)::text FROM dialer.sms_outbox s) t"
}
# alive: the daemon started above answers /healthz 200 and is the same process.
alive() { kill -0 "$pid" 2>/dev/null && [ "$(http GET "$base/healthz" | cut -c1-3)" = 200 ]; }
now() { date +%s; }

# --- bearer routes: PUT /v1/agents/{id}/status --------------------------------------------------
before=$(snap)
body='{"status":"free","reason":""}'
r=$(raw PUT "$agent" "$body")
tap_like "$r" '^401 \{"status":-1,"reason":"Authorization: missing' "control route without a token: 401, -1"
r=$(raw PUT "$agent" "$body" -H "Authorization: Bearer wrong-$API_TOKEN")
tap_like "$r" '^401 \{"status":-1,"reason":"Authorization: the bearer token is not valid' "a wrong token: 401, -1"
r=$(raw PUT "$agent" "$body" -H "Authorization: Bearer ${API_TOKEN:0:-1}")
tap_like "$r" '^401 \{"status":-1' "a prefix of the token: 401"
r=$(raw PUT "$agent" "$body" -H "Authorization: Basic $(printf 'u:%s' "$API_TOKEN" | base64)")
tap_like "$r" '^401 \{"status":-1,"reason":"Authorization: not a bearer token' "another scheme: 401"
r=$(raw PUT "$agent" "$body" -H "Authorization: Bearer ")
tap_like "$r" '^401 \{"status":-1' "an empty bearer token: 401"
r=$(raw PUT "$agent?access_token=$API_TOKEN" "$body")
tap_like "$r" '^401 \{"status":-1' "a token in the query string is not accepted"
ts=$(now)
r=$(raw PUT "$agent" "$body" -H "X-Dialer-Timestamp: $ts" -H "X-Dialer-Signature: $(sig_of "$EVENT_SECRET" "$ts" "$body")")
tap_like "$r" '^401 \{"status":-1' "a valid event signature does not open a control route"
hdr=$(curl -s -D - -o /dev/null -X PUT --data-binary "$body" "$agent")
tap_like "$hdr" 'WWW-Authenticate: Bearer realm="dialerd"' "a 401 on a bearer route says which scheme"
tap_is "$(snap)" "$before" "refused control requests changed no row"
r=$(bhttp PUT "$agent" "$body")
tap_like "$r" '^200 \{"status":0' "the configured token is accepted"
r=$(API_TOKEN=$TOKEN2 bhttp PUT "$base/v1/agents/ag-2/status" "$body")
tap_like "$r" '^200 \{"status":0' "the second configured token is accepted too (rotation)"
tap_is "$(q "SELECT string_agg(status, ',' ORDER BY id) FROM dialer.agents")" "free,free" "both updates stored"

# --- signed routes: events, CDR push, AI push -----------------------------------------------------
# One valid body per route, for three different attempts.
declare -A url=([events]=$events [cdr]=$cdr [ai]=$ai)
declare -A good=(
    [events]='{"attempt_id":1,"seq":1,"event":"ringing"}'
    [cdr]='{"Uui":"2","EndStatusString":"busy","HungUpSide":"user","RingTimestamp":1700000000,"EndedTimestamp":1700000020}'
    [ai]='{"properties":{"attempt_id":"3"},"resultStatus":"NO_ANSWER","endTime":1700000030}'
)
before=$(snap)
for k in events cdr ai; do
    u=${url[$k]} b=${good[$k]} ts=$(now)
    r=$(raw POST "$u" "$b")
    tap_like "$r" '^401 \{"status":-1,"reason":"X-Dialer-Timestamp: missing' "$k: unsigned: 401, -1"
    r=$(raw POST "$u" "$b" -H "Authorization: Bearer $API_TOKEN")
    tap_like "$r" '^401 \{"status":-1' "$k: a bearer token is no signature"
    r=$(raw POST "$u" "$b" -H "X-Dialer-Timestamp: $ts")
    tap_like "$r" '^401 \{"status":-1,"reason":"X-Dialer-Signature: missing' "$k: a timestamp without a signature"
    r=$(shttp POST "$u" "$b" "$ts" "wrong-secret")
    tap_like "$r" '^401 \{"status":-1,"reason":"X-Dialer-Signature: does not match' "$k: signed with an unknown secret: 401, -1"
    r=$(shttp POST "$u" "$b" "$ts" "" "$(sig_of "$EVENT_SECRET" "$ts" "$b ")")
    tap_like "$r" '^401 \{"status":-1,"reason":"X-Dialer-Signature: does not match' "$k: a signature over another body"
    r=$(shttp POST "$u" "$b" "$ts" "" "$(sig_of "$EVENT_SECRET" "$((ts + 1))" "$b")")
    tap_like "$r" '^401 \{"status":-1' "$k: a signature over another timestamp"
    r=$(shttp POST "$u" "$b" "$ts" "" "sha256=$(printf '0%.0s' $(seq 64))")
    tap_like "$r" '^401 \{"status":-1' "$k: an all-zero signature"
    r=$(shttp POST "$u" "$b" "$ts" "" "sha1=$(sig_of "$EVENT_SECRET" "$ts" "$b" | cut -c8-47)")
    tap_like "$r" '^401 \{"status":-1,"reason":"X-Dialer-Signature: not in the accepted form' "$k: another algorithm"
    r=$(shttp POST "$u" "$b" "soon")
    tap_like "$r" '^401 \{"status":-1,"reason":"X-Dialer-Timestamp: \\"soon\\" is not a Unix time' "$k: a timestamp that is not a number"
    r=$(shttp POST "$u" "$b" "$(date +%s%3N)")
    tap_like "$r" '^401 \{"status":-1' "$k: a timestamp in milliseconds"
    r=$(shttp POST "$u" "$b" "$((ts - 301))")
    tap_like "$r" '^401 \{"status":-4,"reason":"X-Dialer-Timestamp: [0-9]+ is 30[1-3] s before now' "$k: correctly signed 301 s ago: stale, 401, -4"
    r=$(shttp POST "$u" "$b" "$((ts + 400))")
    tap_like "$r" '^401 \{"status":-4,.*after now' "$k: correctly signed 400 s ahead: 401, -4"
done
tap_is "$(snap)" "$before" "every refused signed request changed no row"
for k in events cdr ai; do
    u=${url[$k]} b=${good[$k]} ts=$(now)
    r=$(shttp POST "$u" "$b" "$ts")
    tap_like "$r" '^200 \{"status":0' "$k: correctly signed: accepted"
    after=$(snap)
    r=$(shttp POST "$u" "$b" "$ts")
    tap_like "$r" '^401 \{"status":-1,"reason":"X-Dialer-Signature: signature already used' "$k: the same request again is a replay: 401, -1"
    r=$(shttp POST "$u" "$b" "$((ts + 1))" "$SECRET2")
    tap_like "$r" '^200 \{"status":0' "$k: re-signed with a new timestamp and the second secret (rotation): accepted"
    tap_is "$(snap)" "$after" "$k: the replay was refused and the accepted repeat changed nothing"
done
tap_is "$(q "SELECT ringing_at IS NOT NULL FROM dialer.attempts WHERE id = 1")|$(q "SELECT end_status FROM dialer.attempts WHERE id = 2")|$(q "SELECT end_status FROM dialer.attempts WHERE id = 3")" \
    "t|busy|notAnswer" "the accepted requests were applied"

# --- hostile bodies, all correctly signed ----------------------------------------------------------
before=$(snap)
check() { # check URL BODY PATTERN DESC
    local r; r=$(shttp POST "$1" "$2"); tap_like "$r" "$3" "$4"
}
check "$events" '{"attempt_id":' '^400 \{"status":-27,"reason":"the body is not valid JSON' "events: malformed JSON: 400, -27"
check "$events" '{"attempt_id":4,"seq":1,"event":"ringing"} {}' '^400 \{"status":-27,"reason":"the body is not valid JSON: data after the value' "events: data after the JSON value"
check "$events" '' '^400 \{"status":-27,"reason":"the request has no body' "events: an empty body"
check "$events" '[{"attempt_id":4}]' '^422 \{"status":-27,"reason":"the body must be a JSON object' "events: an array"
check "$events" '"ringing"' '^422 \{"status":-27' "events: a bare string"
for t in 'attempt_id|"x"|attempt_id: \\"x\\" is not a whole number' 'attempt_id|{}|attempt_id: must be a whole number' \
         'seq|[]|seq: must be a whole number' 'seq|"one"|seq: \\"one\\" is not a whole number' \
         'seq|1.5|seq: 1.5 is out of range' \
         'event|5|event: must be a string' 'event|"hold"|event: \\"hold\\" is not an event' \
         'at|"tomorrow"|at: \\"tomorrow\\" is not a whole number' \
         'session_id|{}|session_id: must be a string or null' 'agent_id|[]|agent_id: must be a string or null' \
         'end_status|7|end_status: must be a string' 'hangup_side|true|hangup_side: must be a string' \
         'keys|1|keys: must be a string' 'attempt_id|1e400|attempt_id: inf is out of range'; do
    IFS='|' read -r f v want <<<"$t"
    # The field under test replaces its default, never repeats it (the first of two would win).
    a=4 sq=1 e='"ended"' extra=""
    case $f in attempt_id) a=$v ;; seq) sq=$v ;; event) e=$v ;; *) extra=",\"$f\":$v" ;; esac
    b="{\"attempt_id\":$a,\"seq\":$sq,\"event\":$e$extra}"
    check "$events" "$b" "^422 \\{\"status\":-27,\"reason\":\"$want" "events: $f = $v is refused naming the field"
done
check "$events" "$(printf '{"attempt_id":4,"seq":1,"event":"ringing","session_id":"\xff\xfe"}')" \
    '^422 \{"status":-27,"reason":"session_id: not valid UTF-8' "events: a string that is not UTF-8"
printf '%0.s[' $(seq 1 100000) >"$STACK_DIR/deep.json"; printf '%0.s]' $(seq 1 100000) >>"$STACK_DIR/deep.json"
r=$(shttp_file POST "$events" "$STACK_DIR/deep.json")
tap_like "$r" '^400 \{"status":-27,"reason":"the body is not valid JSON' "events: 100000 nested arrays are refused (no recursion into them)"
# The signature covers timestamp and body, not the route: the same body again needs a new second.
r=$(shttp_file POST "$cdr" "$STACK_DIR/deep.json" "$(( $(now) + 1 ))")
tap_like "$r" '^400 \{"status":-27,"reason":"the body is not valid JSON' "cdr: 100000 nested arrays"
r=$(shttp_file POST "$ai" "$STACK_DIR/deep.json" "$(( $(now) + 2 ))")
tap_like "$r" '^400 \{"status":-27,"reason":"the body is not valid JSON' "ai: 100000 nested arrays"
{ printf '%0.s{"a":' $(seq 1 100000); printf '1'; printf '%0.s}' $(seq 1 100000); } >"$STACK_DIR/deepobj.json"
r=$(shttp_file POST "$events" "$STACK_DIR/deepobj.json")
tap_like "$r" '^400 \{"status":-27' "events: 100000 nested objects are refused"
{ printf '{"attempt_id":4,"seq":1,"event":"ringing","session_id":"'; head -c 1000000 /dev/zero | tr '\0' s; printf '"}'; } >"$STACK_DIR/long.json"
r=$(shttp_file POST "$events" "$STACK_DIR/long.json")
tap_like "$r" '^422 \{"status":-27,"reason":"session_id: longer than 127' "events: a 1 MB string (under the size limit) is refused by field"
{ printf '['; for i in $(seq 1 20000); do printf '{"attempt_id":%d},' "$i"; done; printf '{}]'; } >"$STACK_DIR/wide.json"
r=$(shttp_file POST "$events" "$STACK_DIR/wide.json")
tap_like "$r" '^422 \{"status":-27,"reason":"the body must be a JSON object' "events: an array of 20000 objects"
head -c 10485760 /dev/zero | tr '\0' a >"$STACK_DIR/10mb.json"
i=0
for k in events cdr ai; do
    r=$(shttp_file POST "${url[$k]}" "$STACK_DIR/10mb.json" "$(( $(now) + i++ ))")
    tap_like "$r" '^413 ' "$k: a signed 10 MB body: 413"
done
r=$(raw POST "$events" "@$STACK_DIR/10mb.json")
tap_like "$r" '^413 ' "events: an unsigned 10 MB body: 413 too (the size is checked first)"
head -c 1048577 /dev/zero | tr '\0' a >"$STACK_DIR/over.json"
r=$(shttp_file POST "$events" "$STACK_DIR/over.json")
tap_like "$r" '^413 ' "one byte over max_body_bytes (1 MiB): 413"
r=$(curl -s -m 30 -o /dev/null -w '%{http_code}' -H 'Transfer-Encoding: chunked' -H 'Expect:' \
    --data-binary @"$STACK_DIR/10mb.json" "$events" 2>/dev/null)
tap_like "$r" '^(413|000)$' "a chunked 10 MB body is cut off ($r)"
r=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 100000 /dev/zero | tr '\0' b)" "$base/healthz" 2>/dev/null)
tap_like "$r" '^(4[0-9][0-9]|000)$' "a 100 kB header is refused ($r)"
alive; tap_ok $? "after the oversized bodies the same daemon still answers /healthz 200"

# CDR: shapes, the query string and the attempt it names.
cb() { printf '{"Uui":"5","EndStatusString":"ok",%s}' "$1"; }
check "$cdr" '{"Uui":"5",' '^400 \{"status":-27,"reason":"the body is not valid JSON' "cdr: malformed JSON"
check "$cdr" '[]' '^422 \{"status":-27,"reason":"the body must be a JSON object' "cdr: an array"
check "$cdr" '{"EndStatusString":"ok"}' '^422 \{"status":-27,"reason":"Uui: required when there is no SessionId' "cdr: no Uui and no SessionId"
check "$cdr" '{"Uui":5,"EndStatusString":"ok"}' '^422 \{"status":-27,"reason":"Uui: must be a string' "cdr: Uui of the wrong type"
check "$cdr" '{"Uui":"5"}' '^422 \{"status":-27,"reason":"EndStatusString: required' "cdr: no EndStatusString"
check "$cdr" '{"Uui":"5","EndStatusString":[]}' '^422 \{"status":-27,"reason":"EndStatusString: must be a string' "cdr: EndStatusString an array"
check "$cdr" "$(cb '"HungUpSide":"moon"')" '^422 \{"status":-27,"reason":"HungUpSide: \\"moon\\" is not a hang-up side; accepted: user, seat, system' "cdr: an unknown HungUpSide lists the accepted ones"
check "$cdr" "$(cb '"RingTimestamp":"x"')" '^422 \{"status":-27,"reason":"RingTimestamp: \\"x\\" is not a whole number' "cdr: RingTimestamp not a number"
check "$cdr" "$(cb '"EndedTimestamp":-5')" '^422 \{"status":-27,"reason":"EndedTimestamp: -5 is out of range' "cdr: a negative EndedTimestamp"
check "$cdr" "$(cb '"SeatUser":5')" '^422 \{"status":-27,"reason":"SeatUser: must be an object or null' "cdr: SeatUser not an object"
check "$cdr" "$(cb '"SeatUser":{"StaffNumber":{}}')" '^422 \{"status":-27,"reason":"SeatUser.StaffNumber: must be a string' "cdr: SeatUser.StaffNumber of the wrong type"
check "$cdr" "$(cb '"ServeParticipants":"x"')" '^422 \{"status":-27,"reason":"ServeParticipants: must be an array' "cdr: ServeParticipants not an array"
check "$cdr" "$(cb '"ServeParticipants":[{"AcceptTimestamp":[]}]')" '^422 \{"status":-27,"reason":"ServeParticipants\[0\].AcceptTimestamp: must be a whole number' "cdr: a participant's AcceptTimestamp"
check "$cdr" "$(cb '"IVRKeyPressed":[1]')" '^422 \{"status":-27,"reason":"IVRKeyPressed\[0\]: must be a string' "cdr: IVRKeyPressed of numbers"
check "$cdr?action=sms&version=1" "$(cb '"Duration":0')" '^422 \{"status":-27,"reason":"action: \\"sms\\" is not accepted here; accepted: cdr' "cdr: ?action other than cdr"
check "$cdr?action=cdr&version=2" "$(cb '"Duration":1')" '^422 \{"status":-27,"reason":"version: \\"2\\" is not accepted; accepted: 1' "cdr: ?version other than 1"
check "$cdr" '{"Uui":"abc","SessionId":"no-such-session","EndStatusString":"ok"}' '^404 \{"status":-27,"reason":"no attempt has SessionId \\"no-such-session\\", and Uui \\"abc\\" does not start with an attempt id' "cdr: neither Uui nor SessionId names an attempt: 404"
check "$cdr" '{"Uui":"999999","EndStatusString":"ok"}' '^404 \{"status":-27,"reason":"attempt_id 999999 does not exist' "cdr: an attempt that does not exist: 404"
# AI push.
check "$ai" '{"resultStatus":"BUSY"}' '^422 \{"status":-27,"reason":"properties: required' "ai: no properties"
check "$ai" '{"properties":"5","resultStatus":"BUSY"}' '^422 \{"status":-27,"reason":"properties: must be an object' "ai: properties not an object"
check "$ai" '{"properties":{"attempt_id":"5; DROP TABLE dialer.attempts"},"resultStatus":"BUSY"}' '^422 \{"status":-27,"reason":"properties.attempt_id: \\"5; DROP TABLE dialer.attempts\\" is not an attempt id' "ai: an attempt_id with SQL after it"
check "$ai" '{"properties":{"attempt_id":"5"},"resultStatus":"MAYBE"}' '^422 \{"status":-27,"reason":"resultStatus: \\"MAYBE\\" is not a call result; accepted: ANSWERED, NO_ANSWER, BUSY' "ai: an unknown resultStatus lists the accepted ones"
check "$ai" '{"properties":{"attempt_id":"5"},"resultStatus":"BUSY","endTime":"soon"}' '^422 \{"status":-27,"reason":"endTime: \\"soon\\" is not a whole number' "ai: endTime not a number"
check "$ai" '{"properties":{"attempt_id":"5"},"resultStatus":"BUSY","hangupBy":3}' '^422 \{"status":-27,"reason":"hangupBy: must be a string' "ai: hangupBy of the wrong type"
check "$ai" '{"properties":{"attempt_id":999999},"resultStatus":"BUSY"}' '^404 \{"status":-27,"reason":"attempt_id 999999 does not exist' "ai: an attempt that does not exist: 404"
# Agent status (bearer).
r=$(bhttp PUT "$agent" '{"status":'); tap_like "$r" '^400 \{"status":-27,"reason":"the body is not valid JSON' "agent: malformed JSON"
r=$(bhttp PUT "$agent" '{"status":5}'); tap_like "$r" '^422 \{"status":-27,"reason":"status: must be a string' "agent: status of the wrong type"
r=$(bhttp PUT "$agent" '{"status":"lunch"}'); tap_like "$r" '^422 \{"status":-27,"reason":"status: \\"lunch\\" is not an agent status' "agent: an unknown status"
r=$(bhttp PUT "$agent" "{\"status\":\"free\",\"reason\":\"$(printf 'r%.0s' $(seq 1 300))\"}"); tap_like "$r" '^422 \{"status":-27,"reason":"reason: longer than 200' "agent: an over-long reason"
r=$(bhttp PUT "$agent" "$(printf '{"status":"free","reason":"\xc3\x28"}')"); tap_like "$r" '^422 \{"status":-27,"reason":"reason: not valid UTF-8' "agent: a reason that is not UTF-8"
r=$(bhttp PUT "$base/v1/agents/$(printf 'a%.0s' $(seq 1 200))/status" '{"status":"free"}'); tap_like "$r" '^422 \{"status":-27,"reason":"agent id: 1 to 128' "agent: an over-long id"
r=$(bhttp PUT "$base/v1/agents/ag-1%00x/status" '{"status":"busy"}'); tap_like "$r" '^422 \{"status":-27,"reason":"agent id' "agent: an id with %00 cannot address another agent"
r=$(bhttp PUT "$base/v1/agents/ag-9/status" '{"status":"free"}'); tap_like "$r" '^404 \{"status":-27' "agent: an unknown agent: 404"
tap_is "$(snap)" "$before" "no row changed by any refused body"
alive; tap_ok $? "the same daemon (pid $pid) answers /healthz 200 after the hostile bodies"

# --- SQL metacharacters in every string field: stored verbatim, nothing executed ------------------
S="x'); DROP TABLE dialer.attempts; --\" \\ ' OR '1'='1; SELECT pg_sleep(5)"
S2="'; DROP TABLE dialer.callees;--"
js() { echo "SELECT to_json(:'s'::text)" | psql -XAt -v s="$1"; }   # a JSON string literal of $1
J=$(js "$S"); J2=$(js "$S2")
r=$(shttp POST "$events" "{\"attempt_id\":4,\"seq\":1,\"event\":\"ringing\",\"session_id\":$J}")
tap_like "$r" '^200 ' "events: session_id with SQL taken"
r=$(shttp POST "$events" "{\"attempt_id\":4,\"seq\":2,\"event\":\"connected\",\"agent_id\":$J}")
tap_like "$r" '^200 ' "events: agent_id with SQL taken"
r=$(shttp POST "$events" "{\"attempt_id\":4,\"seq\":3,\"event\":\"ended\",\"end_status\":$J2,\"hangup_side\":$J2,\"keys\":$J2}")
tap_like "$r" '^200 ' "events: end_status, hangup_side and keys with SQL taken"
tap_is "$(q "SELECT session_id = \$q\$$S\$q\$ AND agent_id = \$q\$$S\$q\$ AND hangup_side = \$q\$$S2\$q\$ AND keys = \$q\$$S2\$q\$ AND end_status = 'unknown' FROM dialer.attempts WHERE id = 4")" "t" \
    "events: every string stored verbatim (an end status outside the vocabulary as unknown)"
r=$(shttp POST "$cdr" "{\"Uui\":$(js "5:$S"),\"SessionId\":$J,\"EndStatusString\":$J2,\"RingTimestamp\":1700000000,\"AcceptTimestamp\":1700000003,\"EndedTimestamp\":1700000060,\"SeatUser\":{\"StaffNumber\":$J},\"IVRKeyPressed\":[$J2]}")
tap_like "$r" '^200 ' "cdr: Uui, SessionId, EndStatusString, StaffNumber, IVRKeyPressed with SQL taken"
tap_is "$(q "SELECT session_id = \$q\$$S\$q\$ AND agent_id = \$q\$$S\$q\$ AND keys = \$q\$$S2\$q\$ AND end_status = 'unknown' FROM dialer.attempts WHERE id = 5")" "t" \
    "cdr: stored verbatim"
r=$(shttp POST "$ai" "{\"properties\":{\"attempt_id\":\"6\",\"x\":$J},\"callId\":$J,\"resultStatus\":\"BUSY\",\"hangupBy\":$J2}")
tap_like "$r" '^200 ' "ai: callId and hangupBy with SQL taken"
tap_is "$(q "SELECT session_id = \$q\$$S\$q\$ AND hangup_side IS NULL AND end_status = 'busy' FROM dialer.attempts WHERE id = 6")" "t" \
    "ai: callId stored verbatim; an unknown hangupBy is no hang-up side"
r=$(bhttp PUT "$agent" "{\"status\":\"rest\",\"reason\":$J}")
tap_like "$r" '^200 ' "agent: reason with SQL taken"
tap_is "$(q "SELECT status_reason = \$q\$$S\$q\$ FROM dialer.agents WHERE id = 'ag-1'")" "t" "agent: reason stored verbatim"
enc=$(printf '%s' "$S" | od -An -tx1 -v | tr -d ' \n' | sed 's/../%&/g')
r=$(bhttp PUT "$base/v1/agents/$enc/status" '{"status":"free"}')
tap_like "$r" '^404 \{"status":-27,"reason":"agent \\"x' "agent: an id made of SQL is just an unknown agent: 404"
tap_is "$(q "SELECT count(*) FROM dialer.attempts")|$(q "SELECT count(*) FROM dialer.callees")" "12|12" \
    "the tables the SQL tried to drop are all there"

# --- the bound on requests pending at once: -52 / 429 ----------------------------------------------
write_conf "$API_TOKEN, $TOKEN2" "$EVENT_SECRET, $SECRET2" "max_pending_requests = 1"
reload; tap_ok $? "max_pending_requests = 1 applied by SIGHUP"
# A transaction holds attempt 7's row, so the first event waits inside the database.
psql -Xq -c "BEGIN; SELECT id FROM dialer.attempts WHERE id = 7 FOR UPDATE; SELECT pg_sleep(4); COMMIT;" >/dev/null &
lock_pid=$!
wait_until 5 bash -c "[ \$(psql -XAtc \"SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(4)%' AND pid <> pg_backend_pid()\") -ge 1 ]"
shttp POST "$events" '{"attempt_id":7,"seq":1,"event":"ringing"}' >"$STACK_DIR/first.out" &
first_pid=$!
wait_until 5 bash -c "[ \$(psql -XAtc \"SELECT count(*) FROM pg_stat_activity WHERE application_name = 'e2e' AND wait_event_type = 'Lock'\") -ge 1 ]"
tap_ok $? "the first event is waiting for the database"
r=$(shttp POST "$events" '{"attempt_id":8,"seq":1,"event":"ringing"}')
tap_like "$r" '^429 \{"status":-52,"reason":"too many requests pending' "a second event while one is pending: 429, -52"
r=$(shttp POST "$cdr" '{"Uui":"8","EndStatusString":"busy"}')
tap_like "$r" '^429 \{"status":-52' "a push too"
r=$(bhttp PUT "$agent" '{"status":"free"}')
tap_like "$r" '^429 \{"status":-52' "and a control request"
alive; tap_ok $? "/healthz is not subject to the bound"
wait "$first_pid"; wait "$lock_pid"
tap_like "$(cat "$STACK_DIR/first.out")" '^200 ' "the pending event is answered once the database lets it through"
r=$(shttp POST "$events" '{"attempt_id":8,"seq":1,"event":"ringing"}' "$(( $(now) + 1 ))")
tap_like "$r" '^200 ' "then the refused one, re-signed, is taken"

# --- rotation by SIGHUP, an emptied list, and no credential in any output --------------------------
write_conf "$TOKEN2" "$SECRET2"
reload; tap_ok $? "a new token and secret applied by SIGHUP"
r=$(bhttp PUT "$agent" '{"status":"free"}')
tap_like "$r" '^401 \{"status":-1' "the retired token is refused after the reload"
r=$(API_TOKEN=$TOKEN2 bhttp PUT "$agent" '{"status":"free"}')
tap_like "$r" '^200 ' "the remaining token is accepted"
r=$(shttp POST "$events" '{"attempt_id":9,"seq":1,"event":"ringing"}')
tap_like "$r" '^401 \{"status":-1,"reason":"X-Dialer-Signature: does not match' "the retired secret is refused"
r=$(shttp POST "$events" '{"attempt_id":9,"seq":1,"event":"ringing"}' "" "$SECRET2")
tap_like "$r" '^200 ' "the remaining secret is accepted"
write_conf "" ""
reload; tap_ok $? "empty lists applied by SIGHUP"
r=$(API_TOKEN=$TOKEN2 bhttp PUT "$agent" '{"status":"free"}')
tap_like "$r" '^401 \{"status":-1,"reason":"no API token is configured' "no tokens: every control request is refused"
r=$(shttp POST "$events" '{"attempt_id":10,"seq":1,"event":"ringing"}' "" "$SECRET2")
tap_like "$r" '^401 \{"status":-1,"reason":"no signing secret is configured' "no secrets: every signed request is refused"
tap_like "$(grep 'level=warn event=api.auth ' "$STACK_DIR/dialerd.log" | tail -2)" 'api_tokens=0 action="every control request is refused' "the empty list is logged as a warning"
out=$("$DIALERD" --check-config -c "$conf" --set api_tokens="$API_TOKEN" --set event_secrets="$EVENT_SECRET" 2>&1; "$DIALERD" --help-config)
creds=$(printf '%s\n' "$API_TOKEN" "$TOKEN2" "$EVENT_SECRET" "$SECRET2")
! printf '%s' "$out" | grep -qF "$creds"; tap_ok $? "--check-config and --help-config print no token or secret"
! grep -qF "$creds" "$STACK_DIR/dialerd.log"; tap_ok $? "the daemon's log holds no token or secret" \
    "$(grep -F "$creds" "$STACK_DIR/dialerd.log" | head -2)"
tap_is "$(grep -c 'event=main.start' "$STACK_DIR/dialerd.log")" 1 "one start in the log: never restarted"
alive; tap_ok $? "the same daemon (pid $pid) still answers /healthz 200"

stack_stop "$DIALERD_PID" dialerd "$STACK_DIR/dialerd.log"
exit $TAP_FAILED

#!/usr/bin/env bash
# memcheck (valgrind): every unit test program of the Makefile's UNIT_TESTS, itest_db against a
# private PostgreSQL, and one end-to-end run of build/dialerd against build/dialer-sim: a small
# campaign created and fed over the REST API, dialed through the carrier, its events and SMS
# handled, then SIGTERM. Prints TAP; one `ok` per program that passes its own checks with no
# valgrind error (leaks definite, indirect or possible count as errors), and checks that the
# daemon really dialed the campaign to completion and exited 0 with a clean valgrind log.
#
# Runs on the normal build (BUILD=build; `make test-valgrind` builds it first). Under SAN=1 it
# only says it skipped: valgrind cannot run ASan binaries. Knobs: VG_JOBS (unit programs under
# memcheck at once, default 2), VG_KEEP=1 (keep the logs in VG_DIR instead of removing them),
# VG_TRACK_ORIGINS (yes|no, default yes), VG_CALLEES / VG_ROBOT_CALLEES (the sizes of the two
# campaigns, default 60 and 30).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
here="$root/tests/valgrind"
SAN=${SAN:-0}
VG_JOBS=${VG_JOBS:-2}
VG_TRACK_ORIGINS=${VG_TRACK_ORIGINS:-yes}
VG_CALLEES=${VG_CALLEES:-60}
VG_ROBOT_CALLEES=${VG_ROBOT_CALLEES:-30}

# Memcheck's options for every program: leaks of the three kinds are errors, exit 99 on any.
# One word each (the wrapper for dialerd splits them on spaces).
VG_OPTS="--tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect,possible"
VG_OPTS+=" --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99"
VG_OPTS+=" --track-origins=$VG_TRACK_ORIGINS --num-callers=30 --suppressions=$here/dialerd.supp"

# Numbers the TAP lines of tap.sh's helpers (`ok - d` becomes `ok N - d`) and ends with the plan.
number_tap() {
    awk '/^ok( |$)/ { n++; sub(/^ok/, "ok " n) }
         /^not ok( |$)/ { n++; sub(/^not ok/, "not ok " n) }
         { print; fflush() }
         END { print "1.." n }'
}

# vg_first_error LOG: the first error block of a valgrind log (an error or a leak record), as
# TAP comment lines; the header and the summaries are left out.
vg_first_error() {
    sed 's/^==[0-9]*== \{0,1\}//' "$1" | awk '
        /^$/ { if (blk != "" && !done && blk !~ /^(Memcheck, |HEAP SUMMARY|LEAK SUMMARY|ERROR SUMMARY|All heap blocks|For lists|For counts|Reachable blocks)/) {
                   printf "%s", blk; done = 1 }
               blk = ""; next }
        { blk = blk $0 "\n" }
        END { if (!done && blk != "" && blk !~ /^(HEAP SUMMARY|LEAK SUMMARY|ERROR SUMMARY|For lists|For counts)/) printf "%s", blk }' |
        head -40 | sed 's/^/#   /'
}

# vg_clean LOG: true when the log's ERROR SUMMARY says 0 errors and no leak of the three kinds
# is reported (still-reachable memory, at exit, is not a leak).
vg_clean() {
    grep -q 'ERROR SUMMARY: 0 errors' "$1" || return 1
    ! grep -qE '(definitely|indirectly|possibly) lost: [1-9]' "$1"
}

# unit_list: the unit test programs, as the Makefile names them.
unit_list() {
    if [ -n "${VG_UNIT_TESTS:-}" ]; then echo "$VG_UNIT_TESTS"; return; fi
    # tests/run.sh (make test) has them from the Makefile as paths.
    if [ -n "${UNIT_BINS:-}" ]; then local b; for b in $UNIT_BINS; do printf '%s ' "${b##*/}"; done; echo; return; fi
    make -s --no-print-directory -C "$root" valgrind-unit-tests 2>/dev/null
}

# unit_run NAME: one program under memcheck; writes $VG_DIR/NAME.{out,err,log,rc,ms}.
unit_run() {
    local t=$1 bin="build/tests/$1" start rc
    start=$(date +%s%N)
    # shellcheck disable=SC2086
    valgrind $VG_OPTS --log-file="$VG_DIR/$t.log" "$bin" >"$VG_DIR/$t.out" 2>"$VG_DIR/$t.err"
    rc=$?
    echo "$rc" >"$VG_DIR/$t.rc"
    echo $(( ($(date +%s%N) - start) / 1000000 )) >"$VG_DIR/$t.ms"
}

# unit_report NAME: the TAP line for one program that unit_run ran.
unit_report() {
    local t=$1 rc ms p f plan why=""
    rc=$(cat "$VG_DIR/$t.rc"); ms=$(cat "$VG_DIR/$t.ms")
    p=$(grep -cE '^ok ' "$VG_DIR/$t.out"); f=$(grep -cE '^not ok ' "$VG_DIR/$t.out")
    plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$VG_DIR/$t.out" | tail -1)
    if [ "$rc" = 99 ] || ! vg_clean "$VG_DIR/$t.log"; then why="valgrind: $(grep -m1 'ERROR SUMMARY' "$VG_DIR/$t.log" | sed 's/^==[0-9]*== //')"
    elif [ "$rc" != 0 ]; then why="exit status $rc"
    elif [ "$f" != 0 ]; then why="$f of its checks failed"
    elif [ "$p" = 0 ] || [ "${plan:-x}" != "$p" ]; then why="$p checks passed, plan ${plan:-missing}"
    fi
    if [ -z "$why" ]; then
        echo "ok - unit/$t under memcheck: $p checks, 0 valgrind errors (${ms} ms)"
    else
        echo "not ok - unit/$t under memcheck (${ms} ms) # $why"
        grep -m5 -A2 '^not ok ' "$VG_DIR/$t.out" | sed 's/^/#   /'
        tail -5 "$VG_DIR/$t.err" | sed 's/^/#   stderr: /'
        vg_first_error "$VG_DIR/$t.log"
        TAP_FAILED=1
    fi
}

# units: every unit program under memcheck, VG_JOBS at a time, reported in the Makefile's order.
units() {
    local list=() t running=0
    read -r -a list <<<"$(unit_list)"
    if [ ${#list[@]} -eq 0 ]; then
        echo "not ok - the Makefile names the unit test programs (make valgrind-unit-tests printed nothing)"
        TAP_FAILED=1; return
    fi
    for t in "${list[@]}"; do
        [ -x "build/tests/$t" ] || continue
        unit_run "$t" &
        running=$((running + 1))
        if [ "$running" -ge "$VG_JOBS" ]; then wait -n; running=$((running - 1)); fi
    done
    wait
    for t in "${list[@]}"; do
        if [ -x "build/tests/$t" ]; then unit_report "$t"
        else echo "not ok - unit/$t under memcheck # build/tests/$t was not built (make test-valgrind builds it)"; TAP_FAILED=1; fi
    done
}

# itest: itest_db (the async db pool, backends killed under it) against the stack's cluster.
itest() {
    local t=itest_db out
    if [ ! -x "build/tests/$t" ]; then
        echo "not ok - e2e/$t under memcheck # build/tests/$t was not built (make test-valgrind builds it)"
        TAP_FAILED=1; return
    fi
    unit_run "$t"
    out=$(unit_report "$t")
    printf '%s\n' "$out" | sed 's|unit/itest_db|e2e/itest_db|'
    case "$out" in "not ok"*) TAP_FAILED=1 ;; esac
}

# jget JQ-PATH RESPONSE: a value of the body of a "<status> <body>" response.
jget() { printf '%s' "${2#* }" | jq -r "$1" 2>/dev/null; }

# e2e: dialerd under memcheck against dialer-sim and the private PostgreSQL, a campaign to the end.
e2e() {
    local base r cid rid i items n st vlog="$VG_DIR/dialerd.vg.log" rc ms start
    export VG_REAL_BIN="$root/build/dialerd" VG_LOG="$vlog" VG_OPTS
    base="http://127.0.0.1:$DIALERD_PORT"
    stack_sim "$here/scenario.json" || { echo "not ok - dialer-sim starts"; TAP_FAILED=1; return; }
    # Under memcheck the daemon is 20-50x slower: the drain may take longer, the SMS dispatcher
    # polls more often than its default, the callbacks from the carrier come while it is busy.
    start=$(date +%s%N)
    stack_dialerd --set drain_timeout_ms=20000 --set db_connect_timeout_ms=20000 \
        --set carrier_timeout_ms=10000 --set abandon_lock_s=0 --set sms_url="$SIM_SMS/sms" \
        --set sms_poll_ms=200 --set sms_timeout_ms=10000 --set sms_backoff_min_ms=200 \
        --set sms_backoff_max_ms=2000 --set sms_lease_ms=30000 \
        || wait_until 60 curl -sf "$base/healthz"
    tap_ok $? "dialerd under memcheck answers /healthz ($(( ($(date +%s%N) - start) / 1000000 )) ms to start)" \
        "$(tail -3 "$STACK_DIR/dialerd.log" | tr '\n' ' ')"
    grep -q 'Memcheck' "$vlog" 2>/dev/null
    tap_ok $? "and it is memcheck that runs it (log $vlog)"

    # Callers with room (REST has no route for them); one number of the list is on the DNC list.
    psql -Xq -c "INSERT INTO dialer.caller_numbers (number, max_concurrent, max_cps)
                 VALUES ('+442070000001', 100, 100), ('+442070000002', 100, 100);
                 INSERT INTO dialer.dnc (number, reason) VALUES ('+447700900007', 'valgrind test')"

    # --- the REST API: create, import, pause / resume, read -----------------------------------------
    # "vg": progressive, four agents, every SMS trigger. "vg-robot": agentless, one recall.
    r=$(bhttp POST "$base/v1/campaigns" '{"name":"vg","mode":"progressive","skill_group_id":1,
        "callers":["+442070000001"],"recall_num":0,"ring_timeout_s":15,"variables":{"text2":"camp"},
        "sms_sender_id":"ACME","sms_content":"V|${text1}|${text2}","sms_on_hangup":true,
        "sms_on_success":true,"sms_on_failure":true,"sms_on_ring":true,"sms_on_feedback":true,
        "sms_feedback_value":"1","sms_success_delay_s":1}')
    tap_like "$r" '^201 ' "POST /v1/campaigns creates a progressive campaign (201)"
    cid=$(jget .data.id "$r")
    r=$(bhttp POST "$base/v1/campaigns" '{"name":"vg-robot","mode":"agentless","max_concurrent":4,
        "callers":["+442070000002"],"recall_num":1,"recall_interval_min":1,"recall_type":1,
        "ring_timeout_s":15,"sms_content":"R|${text1}","sms_on_hangup":true}')
    tap_like "$r" '^201 ' "POST /v1/campaigns creates an agentless campaign with a recall (201)"
    rid=$(jget .data.id "$r")
    items=""
    for i in $(seq 1 "$VG_CALLEES"); do
        if [ $((i % 2)) = 0 ]; then items="$items,\"+4477009$(printf '%05d' "$i")\""
        else items="$items,{\"number\":\"+4477009$(printf '%05d' "$i")\",\"variables\":{\"text1\":\"c$i\"},\"uui\":\"u$i\"}"; fi
    done
    r=$(bhttp POST "$base/v1/campaigns/$cid/callees" "{\"callees\":[${items#,}]}")
    tap_is "${r%% *} $(jget .data.imported "$r")" "200 $VG_CALLEES" "POST /v1/campaigns/{id}/callees imports $VG_CALLEES callees"
    items=$(seq -f '"+44780090%04g"' 1 "$VG_ROBOT_CALLEES" | paste -sd, -)
    r=$(bhttp POST "$base/v1/campaigns/$rid/callees" "{\"callees\":[$items]}")
    tap_is "${r%% *} $(jget .data.imported "$r")" "200 $VG_ROBOT_CALLEES" "and $VG_ROBOT_CALLEES into the agentless one"
    r=$(bhttp POST "$base/v1/campaigns/$cid/pause")
    tap_like "$r" '^200 ' "POST /v1/campaigns/{id}/pause (200)"
    r=$(bhttp POST "$base/v1/campaigns/$cid/resume")
    tap_like "$r" '^200 ' "POST /v1/campaigns/{id}/resume (200)"
    r=$(bhttp GET "$base/v1/agents")
    tap_like "$r" '^200 ' "GET /v1/agents (200)"
    r=$(bhttp GET "$base/v1/campaigns/$cid/callees?limit=5")
    tap_like "$r" '^200 ' "GET /v1/campaigns/{id}/callees (200)"
    r=$(bhttp GET "$base/v1/campaigns")
    tap_like "$r" '^200 ' "GET /v1/campaigns (200)"

    # --- the carrier path and its events: attempts appear, a reload and a push on the way -----------
    wait_until 60 bash -c "[ \$(psql -XAtc 'SELECT count(*) FROM dialer.attempts WHERE ended_at IS NOT NULL') -gt 3 ]"
    tap_ok $? "calls are placed at the carrier and their events end attempts"
    kill -HUP "$DIALERD_PID"
    wait_until 30 grep -q 'event=config.reloaded' "$STACK_DIR/dialerd.log"
    tap_ok $? "SIGHUP reloads the configuration mid-campaign"
    r=$(shttp_file POST "$base/v1/push/cdr" "$root/tests/fixtures/seed001_cdr_sample.json")
    tap_like "$r" '^[24][0-9][0-9] \{"status"' "POST /v1/push/cdr (the seed-001 sample, signed) gets an answer in the envelope"
    tap_like "$(curl -s -m 20 "$base/metrics")" 'dialerd_' "GET /metrics"
    tap_like "$(curl -s -m 20 -o /dev/null -w '%{http_code}' "$base/")" '^200$' "GET / (the status page)"

    # --- to the end ------------------------------------------------------------------------------------
    # The recall is due a minute after a failed attempt: brought forward, so that the test stays short.
    done_both() {
        psql -Xq -c "UPDATE dialer.callees SET next_attempt_at = now() WHERE state = 4 AND next_attempt_at > now()" &&
        [ "$(psql -XAtc "SELECT count(*) FROM dialer.campaigns WHERE id IN ($cid, $rid) AND status = 4")" = 2 ]
    }
    wait_until 180 done_both
    tap_ok $? "both campaigns complete (status 4) with dialerd under memcheck" \
        "$(q "SELECT campaign_id, state, count(*) FROM dialer.callees GROUP BY 1, 2" | tr '\n' ' ')"
    r=$(bhttp GET "$base/v1/campaigns/$cid")
    tap_is "${r%% *} $(jget .data.status "$r") $(jget .data.progress.finished_callee_count "$r")" "200 4 $VG_CALLEES" \
        "GET /v1/campaigns/{id}: status 4, progress counts every callee finished"
    tap_is "$(q "SELECT count(*) FROM dialer.callees WHERE state IN (1, 2)")" "$((VG_CALLEES + VG_ROBOT_CALLEES))" \
        "every callee is final (answered or unanswered)"
    tap_is "$(q "SELECT last_end_status, attempts FROM dialer.callees WHERE number = '+447700900007'")" "dnc|0" \
        "the number on the DNC list was closed without a call"
    n=$(q "SELECT count(*) FROM dialer.attempts WHERE campaign_id = $cid")
    tap_ok $(( n >= VG_CALLEES - 1 ? 0 : 1 )) "dialer.attempts holds an attempt per dialable callee of 'vg' ($n rows)"
    n=$(q "SELECT count(*) FROM dialer.attempts WHERE campaign_id = $rid AND attempt_no = 2")
    tap_ok $(( n > 0 ? 0 : 1 )) "failed agentless calls were recalled ($n second attempts)"
    tap_is "$(q "SELECT count(*) FROM dialer.attempts WHERE ended_at IS NULL")" 0 "no attempt left open"
    tap_ok $(( $(q "SELECT count(*) FROM dialer.attempts WHERE campaign_id = $cid AND success") > 0 ? 0 : 1 )) \
        "some calls reached an agent"
    wait_until 60 bash -c "[ \"\$(psql -XAtc \"SELECT count(*) FROM dialer.sms_outbox WHERE state IN ('pending', 'sending')\")\" = 0 ]"
    n=$(q "SELECT string_agg(trigger || '=' || n, ' ' ORDER BY trigger) FROM (SELECT trigger, count(*) n
             FROM dialer.sms_outbox WHERE state = 'sent' GROUP BY 1) x")
    tap_like "$n" 'failure=[0-9]+ feedback=[0-9]+ hangup=[0-9]+ ring=[0-9]+ success=[0-9]+' \
        "every SMS trigger fired and the dispatcher sent them all ($n)"

    # --- SIGTERM: exit 0, a clean valgrind log ---------------------------------------------------------
    start=$(date +%s%N)
    kill -TERM "$DIALERD_PID"
    wait_until 120 bash -c "! kill -0 $DIALERD_PID 2>/dev/null"
    wait "$DIALERD_PID" 2>/dev/null; rc=$?
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    tap_is "$rc" 0 "dialerd under memcheck exits with status 0 after SIGTERM (${ms} ms, leak check included)"
    st=$(grep -m1 'ERROR SUMMARY' "$vlog" | sed 's/^==[0-9]*== //')
    tap_like "$st" '^ERROR SUMMARY: 0 errors' "dialerd: valgrind reports 0 errors"
    vg_clean "$vlog"
    tap_ok $? "dialerd: no definite, indirect or possible leak" \
        "$(grep -E '(definitely|indirectly|possibly) lost:' "$vlog" | sed 's/^==[0-9]*== *//' | tr '\n' ' ')"
    vg_clean "$vlog" || vg_first_error "$vlog"
    ! grep -q 'level=error' "$STACK_DIR/dialerd.log"
    tap_ok $? "dialerd logged no error" "$(grep -m3 'level=error' "$STACK_DIR/dialerd.log" | tr '\n' ' ')"
}

main() {
    if [ "$SAN" = 1 ]; then
        echo "ok - # SKIP memcheck runs on the normal build, not under SAN=1 (make test-valgrind)"
        return 0
    fi
    if ! command -v valgrind >/dev/null 2>&1; then
        echo "not ok - valgrind is installed # apt-get install -y valgrind (deploy/deps.sh --test does)"
        return 1
    fi
    # Run alone, it makes its own work directory (tests/run.sh gives one), removed at the end.
    local own_work=""
    if [ -z "${TEST_WORK:-}" ]; then own_work=$(mktemp -d /tmp/dialerd-vg.XXXXXX); chmod 755 "$own_work"; fi
    export TEST_WORK=${TEST_WORK:-$own_work}
    VG_DIR=$(mktemp -d "$TEST_WORK/valgrind.XXXXXX")
    chmod 755 "$VG_DIR"
    export BUILD=build DIALERD_BIN="$here/dialerd-vg.sh"
    # shellcheck source=tests/lib/stack.sh
    . "$root/tests/lib/stack.sh"
    local t0=$SECONDS t1
    units
    echo "# unit programs under memcheck: $((SECONDS - t0)) s"
    t1=$SECONDS
    stack_begin vgstack
    if [ -z "${VG_KEEP:-}" ]; then trap 'stack_down; rm -rf "$VG_DIR" "$STACK_DIR" ${own_work:+"$own_work"}' EXIT
    else trap 'stack_down; echo "# kept: valgrind logs in $VG_DIR, daemon and simulator logs in $STACK_DIR" >&2' EXIT; fi
    if stack_pg; then
        itest
        e2e
    else
        echo "not ok - private cluster starts and migrates"; TAP_FAILED=1
    fi
    echo "# itest_db and the dialerd run under memcheck: $((SECONDS - t1)) s"
    return "$TAP_FAILED"
}

main | number_tap
exit "${PIPESTATUS[0]}"

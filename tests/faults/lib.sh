# Fault-injection suites' shared parts: the invariant checker (fault_check), common set-up, and a self-test of the checker.
#
# Source it after tests/lib/stack.sh. tests/run.sh runs every tests/faults/*.sh, this file too:
# executed (not sourced), it proves on fabricated rows that each invariant below catches the
# violation it is written for, so that a green fault suite means something.
#
# The invariants (DESIGN §3, §4, §7; docs/sms.md), for one campaign or all, after a run:
#   - the campaign completed; every callee final (1 answered, 2 unanswered; never 0, 3, 4);
#   - callees.attempts equals its attempt rows, numbered 1..n; at most 1 + recall_num of them,
#     and exactly as many as the recall rule gives: the sequence stops at the first success
#     (recall_type 1) or number that cannot be reached, else runs to 1 + recall_num;
#   - a callee is answered (1) exactly when one of its attempts succeeded;
#   - every attempt ended; a recall is created only after the attempt before it ended;
#   - against dialer-sim's truth log: no attempt id placed twice, none sent again after it was
#     placed (a carrier without idempotency keys would have placed it twice), every placed call's
#     attempt exists with that callee and campaign, every placed call ended and the database
#     holds the end the simulator reported; an attempt never placed ended with a status allowed
#     for it (FAULT_UNPLACED_OK: 'unknown' from reconciliation by default); no callee had two
#     calls at the carrier at once; no event was given up;
#   - SMS: the outbox holds exactly the (attempt, trigger) pairs the campaign's sms_on_* flags
#     call for given what the simulator says happened; every row is sent; each reached the sink
#     exactly once as a message (its Idempotency-Key), to the callee, with the row's text.

# The end statuses after which a number is not called again (src/outcome.c: OUTCOME_INVALID).
FAULT_NOT_RECALLED="'numberNotExist', 'numberInvalid', 'carrierBlocked', 'restrictedCallee', 'callRestricted', 'areaRestricted'"
# End statuses an attempt the carrier never placed may have: 'unknown' is what reconciliation
# writes for an attempt lost in a crash. Empty: every attempt must have been placed.
FAULT_UNPLACED_OK=${FAULT_UNPLACED_OK-"'unknown'"}

# fault_none DESC SQL: registers a check for fault_check_run: it passes when SQL returns no row;
# otherwise its failure names the first offending rows (each row one text column saying what is
# wrong with which row).
fault_none() {
    FC_DESC+=("$1")
    FC_SQL+=("$2")
}

# fault_check_run SETUP-SQL: runs the registered checks in one psql session (psql's start-up
# dominates otherwise) and prints a TAP line for each. A check whose query fails fails. With
# FC_MUTATION set, everything runs in a transaction that starts with it and is rolled back (the
# self-test below).
fault_check_run() {
    local setup=$1 script out err i rows n
    script=$(mktemp "${TEST_WORK:-/tmp}/fcheck.XXXXXX")
    err="$script.err"
    {
        echo '\set ON_ERROR_ROLLBACK on'
        echo 'SET client_min_messages = warning;'
        [ -n "${FC_MUTATION:-}" ] && printf 'BEGIN;\n%s;\n' "$FC_MUTATION"
        printf '%s\n' "$setup"
        for i in "${!FC_SQL[@]}"; do
            printf "SELECT '##%d:' || x FROM (%s) t (x) UNION ALL SELECT '##%d\$done';\n" "$i" "${FC_SQL[$i]}" "$i"
        done
        [ -n "${FC_MUTATION:-}" ] && echo 'ROLLBACK;'
    } >"$script"
    out=$(psql -XAtq -f "$script" 2>"$err")
    # Rows are bucketed per check in bash itself: a few hundred forks would cost more than the SQL.
    local -a done_=() count=() eg=()
    local line idx rest
    while IFS= read -r line; do
        [[ $line =~ ^##([0-9]+)(:|\$done$) ]] || continue
        idx=${BASH_REMATCH[1]}
        if [ "${BASH_REMATCH[2]}" != ":" ]; then done_[idx]=1; continue; fi
        rest=${line#"##$idx:"}
        count[idx]=$(( ${count[idx]:-0} + 1 ))
        [ "${count[idx]}" -le 5 ] && eg[idx]+="${eg[idx]:+; }$rest"
    done <<<"$out"
    for i in "${!FC_SQL[@]}"; do
        if [ -z "${done_[i]:-}" ]; then
            tap_ok 1 "${FC_DESC[$i]}" "the check's query failed: $(grep -m2 ERROR "$err" | tr '\n' ' ')"
        elif [ -z "${count[i]:-}" ]; then
            tap_ok 0 "${FC_DESC[$i]}"
        else
            tap_ok 1 "${FC_DESC[$i]}" "${count[i]} offending, e.g.: ${eg[i]}"
        fi
    done
    rm -f "$script" "$err"
    FC_DESC=(); FC_SQL=()
}

# fault_tables_sql CAMPAIGN|all: SQL making the campaigns under check (fc_camps), the truth log's
# lines in typed tables (truth must be loaded: truth_load) and the recall rule's walk (fc_rule).
# Only `dial` lines are placed calls: a dial a control mode swallowed is a `rejected` line, and
# a repeated key a `duplicate_dial` line.
fault_tables_sql() {
    local sel=$1
    [ "$sel" = all ] && sel=NULL
    cat <<SQL
DROP TABLE IF EXISTS fc_camps, fc_dial, fc_dup, fc_call, fc_sms, fc_expected, fc_rule;
CREATE TABLE fc_camps AS SELECT id FROM dialer.campaigns WHERE $sel::bigint IS NULL OR id = $sel::bigint;
CREATE TABLE fc_dial AS
SELECT (j->>'attempt_id')::bigint AS attempt_id, (j->>'campaign_id')::bigint AS campaign_id,
       j->>'callee' AS callee, j->>'session_id' AS session_id, (j->>'at')::bigint AS at
  FROM truth WHERE j->>'type' = 'dial';
CREATE TABLE fc_dup AS
SELECT (j->>'attempt_id')::bigint AS attempt_id, j->>'callee' AS callee, (j->>'at')::bigint AS at
  FROM truth WHERE j->>'type' = 'duplicate_dial';
CREATE TABLE fc_call AS
SELECT (j->>'attempt_id')::bigint AS attempt_id, (j->>'campaign_id')::bigint AS campaign_id,
       j->>'callee' AS callee, j->>'end_status' AS end_status,
       (j->>'dialed_at')::bigint AS dialed_at, (j->>'ended_at')::bigint AS ended_at,
       j->>'ringing_at' IS NOT NULL AS rang,
       j->>'answered_at' IS NOT NULL OR j->>'end_status' = 'machine' AS picked_up,
       j->>'end_status' = 'ok' AND (j->>'connected_at' IS NOT NULL OR j->>'skill_group_id' IS NULL) AS success,
       coalesce(j->>'keys', '') AS keys, coalesce((j->>'cut_off')::boolean, false) AS cut_off
  FROM truth WHERE j->>'type' = 'call';
CREATE TABLE fc_sms AS
SELECT j->>'key' AS key, j->>'message_id' AS message_id, j->>'to' AS to_number, j->>'text' AS text,
       coalesce((j->>'duplicate')::boolean, false) AS dup
  FROM truth WHERE j->>'type' = 'sms';
-- What the flags call for, per placed call (docs/sms.md): ring = it rang; hangup = a person or
-- a machine picked up; success = connected to an agent (agentless: answered); failure = any
-- other end; feedback = the keys pressed hold sms_feedback_value.
CREATE TABLE fc_expected AS
SELECT k.attempt_id, k.campaign_id, k.callee, t.trig
  FROM fc_call k JOIN dialer.campaigns c ON c.id = k.campaign_id JOIN fc_camps f ON f.id = c.id
 CROSS JOIN LATERAL (VALUES ('ring', c.sms_on_ring AND k.rang),
                            ('hangup', c.sms_on_hangup AND k.picked_up),
                            ('success', c.sms_on_success AND k.success),
                            ('failure', c.sms_on_failure AND NOT k.success),
                            ('feedback', c.sms_on_feedback AND strpos(k.keys, c.sms_feedback_value) > 0)) t (trig, fires)
 WHERE t.fires AND NOT k.cut_off;
-- The recall rule as a walk along a callee's attempts: the first success (recall_type 1) or
-- number that cannot be reached is the last attempt, else the last is number 1 + recall_num.
CREATE TABLE fc_rule AS
SELECT c.id, c.state, c.last_end_status, k.recall_num, k.recall_type, count(a.id) AS n,
       least(1 + k.recall_num,
             min(a.attempt_no) FILTER (WHERE a.end_status IN ($FAULT_NOT_RECALLED)
                                          OR (k.recall_type = 1 AND a.success))) AS last_allowed,
       coalesce(bool_or(a.success), false) AS any_success,
       string_agg(a.attempt_no || ':' || coalesce(a.end_status, 'open'), ',' ORDER BY a.attempt_no) AS seq
  FROM dialer.callees c JOIN fc_camps f ON f.id = c.campaign_id
  JOIN dialer.campaigns k ON k.id = c.campaign_id LEFT JOIN dialer.attempts a ON a.callee_id = c.id
 GROUP BY c.id, c.state, c.last_end_status, k.recall_num, k.recall_type;
SQL
}

# fault_check CAMPAIGN|all: every invariant above, one TAP line each.
fault_check() {
    local what="campaign $1"
    [ "$1" = all ] && what="all campaigns"
    FC_DESC=(); FC_SQL=()
    fault_none "$what: there is something to check" \
        "SELECT 'no campaign selected' WHERE NOT EXISTS (SELECT 1 FROM fc_camps)"

    # --- callees and their attempts, from the database alone -------------------------------
    fault_none "$what: every campaign completed (status 4)" \
        "SELECT 'campaign ' || id || ' status ' || status FROM dialer.campaigns
          WHERE id IN (SELECT id FROM fc_camps) AND status <> 4"
    fault_none "$what: every callee is final (1 answered or 2 unanswered; none left 0 initial, 3 calling or 4 pending)" \
        "SELECT 'callee ' || c.id || ' state ' || c.state || ' attempts ' || c.attempts
                || coalesce(' next_attempt_at ' || c.next_attempt_at, '')
           FROM dialer.callees c JOIN fc_camps f ON f.id = c.campaign_id
          WHERE c.state NOT IN (1, 2) ORDER BY c.id"
    fault_none "$what: callees.attempts equals each callee's attempt rows, numbered 1..n" \
        "SELECT 'callee ' || c.id || ' attempts ' || c.attempts || ' rows ' || count(a.id)
                || ' numbers ' || coalesce(string_agg(a.attempt_no::text, ',' ORDER BY a.attempt_no), '-')
           FROM dialer.callees c JOIN fc_camps f ON f.id = c.campaign_id
           LEFT JOIN dialer.attempts a ON a.callee_id = c.id
          GROUP BY c.id, c.attempts
         HAVING c.attempts <> count(a.id) OR coalesce(max(a.attempt_no), 0) <> count(a.id)"
    fault_none "$what: attempts rows belong to their callee's campaign" \
        "SELECT 'attempt ' || a.id || ' campaign ' || a.campaign_id || ' callee campaign ' || c.campaign_id
           FROM dialer.attempts a JOIN dialer.callees c ON c.id = a.callee_id
          WHERE (a.campaign_id IN (SELECT id FROM fc_camps) OR c.campaign_id IN (SELECT id FROM fc_camps))
            AND a.campaign_id <> c.campaign_id"
    fault_none "$what: no callee has more than 1 + recall_num attempts" \
        "SELECT 'callee ' || c.id || ' attempts ' || count(a.id) || ' recall_num ' || k.recall_num
           FROM dialer.callees c JOIN fc_camps f ON f.id = c.campaign_id
           JOIN dialer.campaigns k ON k.id = c.campaign_id JOIN dialer.attempts a ON a.callee_id = c.id
          GROUP BY c.id, k.recall_num HAVING count(a.id) > 1 + k.recall_num"
    fault_none "$what: no attempt after a success (recall_type 1) or after a number found not to exist" \
        "SELECT 'callee ' || id || ' recall_type ' || recall_type || ' attempts ' || seq
           FROM fc_rule WHERE last_allowed IS NOT NULL AND n > last_allowed"
    fault_none "$what: every callee got the recalls its rule gives (none skipped)" \
        "SELECT 'callee ' || id || ' state ' || state || ' recall_num ' || recall_num || ' recall_type '
                || recall_type || ' attempts ' || coalesce(seq, '-')
           FROM fc_rule
          WHERE coalesce(last_end_status, '') <> 'dnc' AND n < coalesce(last_allowed, 1 + recall_num)"
    fault_none "$what: a callee is answered (1) exactly when one of its attempts succeeded, else unanswered (2)" \
        "SELECT 'callee ' || id || ' state ' || state || ' attempts ' || coalesce(seq, '-')
           FROM fc_rule WHERE state IN (1, 2) AND (state = 1) <> any_success"
    fault_none "$what: every attempt ended (ended_at and end_status set)" \
        "SELECT 'attempt ' || a.id || ' callee ' || a.callee_id || ' created ' || a.created_at
                || ' dialed ' || coalesce(a.dialed_at::text, '-') || ' end_status ' || coalesce(a.end_status, '-')
           FROM dialer.attempts a JOIN fc_camps f ON f.id = a.campaign_id
          WHERE a.ended_at IS NULL OR a.end_status IS NULL ORDER BY a.id"
    fault_none "$what: a recall is created only after the callee's previous attempt ended" \
        "SELECT 'callee ' || a.callee_id || ': attempt ' || b.id || ' created ' || b.created_at
                || ' before attempt ' || a.id || ' ended ' || coalesce(a.ended_at::text, 'never')
           FROM dialer.attempts a JOIN fc_camps f ON f.id = a.campaign_id
           JOIN dialer.attempts b ON b.callee_id = a.callee_id AND b.attempt_no > a.attempt_no
          WHERE a.ended_at IS NULL OR b.created_at < a.ended_at"

    # --- the database against what the carrier saw -----------------------------------------
    fault_none "$what: no attempt id was placed twice (dialer-sim's dial lines)" \
        "SELECT 'attempt ' || d.attempt_id || ' placed ' || count(*) || ' times, sessions '
                || string_agg(d.session_id, ',')
           FROM fc_dial d JOIN fc_camps f ON f.id = d.campaign_id
          GROUP BY d.attempt_id HAVING count(*) > 1"
    fault_none "$what: no attempt id was sent to the carrier again after it was placed (a second call without the key)" \
        "SELECT 'attempt ' || p.attempt_id || ' sent again ' || count(*) || ' times after it was placed'
           FROM fc_dup p JOIN fc_dial d ON d.attempt_id = p.attempt_id JOIN fc_camps f ON f.id = d.campaign_id
          GROUP BY p.attempt_id"
    fault_none "$what: every placed call's attempt exists in dialer.attempts, with that callee and campaign" \
        "SELECT 'placed attempt ' || d.attempt_id || ' to ' || d.callee || ': '
                || CASE WHEN a.id IS NULL THEN 'no such attempt row'
                        ELSE 'row has campaign ' || a.campaign_id || ' callee ' || c.number END
           FROM fc_dial d JOIN fc_camps f ON f.id = d.campaign_id
           LEFT JOIN dialer.attempts a ON a.id = d.attempt_id LEFT JOIN dialer.callees c ON c.id = a.callee_id
          WHERE a.id IS NULL OR a.campaign_id <> d.campaign_id OR c.number <> d.callee"
    fault_none "$what: every placed call ended at the carrier (none cut off), and the attempt holds that end" \
        "SELECT 'attempt ' || d.attempt_id || ': carrier ' || coalesce(k.end_status, CASE WHEN k.attempt_id IS NULL
                THEN 'no call line' ELSE 'cut off' END) || ', database ' || coalesce(a.end_status, 'no end')
           FROM fc_dial d JOIN fc_camps f ON f.id = d.campaign_id
           LEFT JOIN fc_call k ON k.attempt_id = d.attempt_id
           LEFT JOIN dialer.attempts a ON a.id = d.attempt_id
          WHERE k.attempt_id IS NULL OR k.cut_off OR a.end_status IS DISTINCT FROM k.end_status"
    if [ -n "$FAULT_UNPLACED_OK" ]; then
        fault_none "$what: an attempt never placed ended as one of ($FAULT_UNPLACED_OK)" \
            "SELECT 'attempt ' || a.id || ' never placed, end_status ' || coalesce(a.end_status, 'none')
               FROM dialer.attempts a JOIN fc_camps f ON f.id = a.campaign_id
              WHERE NOT EXISTS (SELECT 1 FROM fc_dial d WHERE d.attempt_id = a.id)
                AND coalesce(a.end_status, '') NOT IN ($FAULT_UNPLACED_OK)"
    else
        fault_none "$what: every attempt was placed at the carrier" \
            "SELECT 'attempt ' || a.id || ' never placed, end_status ' || coalesce(a.end_status, 'none')
               FROM dialer.attempts a JOIN fc_camps f ON f.id = a.campaign_id
              WHERE NOT EXISTS (SELECT 1 FROM fc_dial d WHERE d.attempt_id = a.id)"
    fi
    fault_none "$what: no callee had two calls at the carrier at once" \
        "SELECT 'callee ' || x.callee || ': attempts ' || x.attempt_id || ' and ' || y.attempt_id || ' overlap'
           FROM fc_call x JOIN fc_camps f ON f.id = x.campaign_id
           JOIN fc_call y ON y.campaign_id = x.campaign_id AND y.callee = x.callee AND y.attempt_id > x.attempt_id
          WHERE y.dialed_at < coalesce(x.ended_at, 9e15) AND x.dialed_at < coalesce(y.ended_at, 9e15)"
    fault_none "all campaigns: no carrier event or agent update was given up by dialer-sim" \
        "SELECT j->>'type' || ' ' || coalesce(j->>'event', j->>'status', '') || ' attempt '
                || coalesce(j->>'attempt_id', j->>'id', '?') || ': ' || coalesce(j->>'last_error', j->>'reason', '')
           FROM truth WHERE j->>'type' IN ('event_failed', 'agent_update_failed')"

    # --- SMS exactly once ----------------------------------------------------------------------
    fault_none "$what: the outbox holds exactly the (attempt, trigger) SMS the sms_on_* flags call for" \
        "(SELECT 'missing: attempt ' || attempt_id || ' ' || trig FROM (
             SELECT attempt_id, trig FROM fc_expected
             EXCEPT SELECT o.attempt_id, o.trigger FROM dialer.sms_outbox o JOIN fc_camps f ON f.id = o.campaign_id) m
          ORDER BY 1)
         UNION ALL
         (SELECT 'not called for: attempt ' || attempt_id || ' ' || trigger FROM (
             SELECT o.attempt_id, o.trigger FROM dialer.sms_outbox o JOIN fc_camps f ON f.id = o.campaign_id
             EXCEPT SELECT attempt_id, trig FROM fc_expected) x
          ORDER BY 1)"
    fault_none "$what: every outbox row was sent" \
        "SELECT 'sms ' || o.id || ' attempt ' || o.attempt_id || ' ' || o.trigger || ' ' || o.state
                || ' tries ' || o.tries || coalesce(' last_error ' || o.last_error, '')
           FROM dialer.sms_outbox o JOIN fc_camps f ON f.id = o.campaign_id WHERE o.state <> 'sent'"
    fault_none "$what: each outbox row reached the sink exactly once as a message, to the callee, with its text" \
        "SELECT 'sms ' || o.id || ' (attempt ' || o.attempt_id || ' ' || o.trigger || '): '
                || count(s.key) || ' messages' || CASE WHEN bool_or(s.to_number <> o.to_number OR s.text <> o.body)
                                                        THEN ', to or text differ' ELSE '' END
           FROM dialer.sms_outbox o JOIN fc_camps f ON f.id = o.campaign_id
           LEFT JOIN fc_sms s ON s.key = o.id::text AND NOT s.dup
          GROUP BY o.id HAVING count(s.key) <> 1 OR bool_or(s.to_number <> o.to_number OR s.text <> o.body)"
    fault_none "all campaigns: every message at the sink is an outbox row's (none invented)" \
        "SELECT 'sink key ' || s.key || ' to ' || s.to_number FROM fc_sms s
          WHERE NOT EXISTS (SELECT 1 FROM dialer.sms_outbox o WHERE o.id::text = s.key)"
    fault_check_run "$(fault_tables_sql "$1")"
    [ -n "${FC_MUTATION:-}" ] && return
    q "SELECT '# $what: ' || (SELECT count(*) FROM dialer.callees c JOIN fc_camps f ON f.id = c.campaign_id) || ' callees, '
              || (SELECT count(*) FROM dialer.attempts a JOIN fc_camps f ON f.id = a.campaign_id) || ' attempts ('
              || (SELECT count(*) FROM dialer.attempts a JOIN fc_camps f ON f.id = a.campaign_id
                   WHERE a.end_status = 'unknown') || ' unknown), '
              || (SELECT count(*) FROM fc_dial d JOIN fc_camps f ON f.id = d.campaign_id) || ' placed calls, '
              || (SELECT count(*) FROM dialer.sms_outbox o JOIN fc_camps f ON f.id = o.campaign_id) || ' SMS ('
              || (SELECT count(*) FROM fc_sms WHERE dup) || ' resends deduplicated at the sink)'"
}

# ---------------------------------------------------------------------------------------------
# What the suites share: the scenario, the daemon's settings, a campaign, waiting for its end.

root=${root:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
FAULT_SCENARIO="$root/tests/faults/scenario.json"
# Reconciliation at its minimum grace so that attempts lost in a crash are ended within the run;
# a short carrier timeout so that stalls are noticed; SMS retries scaled down as in sms.sh; the
# abandon lock off so that an abandoned callee is recalled within the run; reconnection to
# PostgreSQL within a second of its return.
FAULT_DIALERD_FLAGS=(--set reconcile_grace_s=5 --set carrier_timeout_ms=1500 --set abandon_lock_s=0
                     --set sms_timeout_ms=1000 --set sms_backoff_min_ms=200 --set sms_backoff_max_ms=2000
                     --set sms_max_tries=100 --set sms_poll_ms=200 --set sms_lease_ms=3000
                     --set db_reconnect_max_ms=1000)

# fault_dialerd: dialerd with the suites' settings (and the SMS sink), waiting for /healthz.
fault_dialerd() {
    stack_dialerd --set sms_url="$SIM_SMS/sms" "${FAULT_DIALERD_FLAGS[@]}" "$@"
}

# fault_forget_pid PID: a process that is gone leaves STACK_PIDS, so that stack_down never
# signals a recycled pid.
fault_forget_pid() {
    local keep=() p
    for p in "${STACK_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    STACK_PIDS=("${keep[@]}")
}

# fault_recalls_compressed: recall_interval_min cannot go below one minute, which would make
# each suite last minutes; this test-only trigger moves every recall that dialerd schedules to
# one second after it was written. What is checked (which attempts exist and how they ended) does
# not depend on the length of the wait; dial_loop.sh checks the real interval.
fault_recalls_compressed() {
    psql -Xq -v ON_ERROR_STOP=1 <<'SQL'
CREATE FUNCTION public.fault_recall_soon() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state = 4 AND NEW.next_attempt_at > now() + interval '1 s' THEN
        NEW.next_attempt_at := now() + interval '1 s';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER fault_recall_soon BEFORE UPDATE ON dialer.callees
    FOR EACH ROW EXECUTE FUNCTION public.fault_recall_soon();
SQL
}

# fault_campaign NAME N PREFIX SQL-COLUMNS SQL-VALUES: a campaign with its own caller number and
# N callees numbered PREFIX0001.. (text1 = the number, for the SMS text); prints its id.
fault_campaign() {
    local name=$1 n=$2 prefix=$3 cols=$4 vals=$5 caller
    caller="+4420$(printf '%s' "$name" | cksum | awk '{ printf "%07d", $1 % 10000000 }')"
    psql -XAtq -v ON_ERROR_STOP=1 <<SQL
INSERT INTO dialer.caller_numbers (number, max_concurrent, max_cps) VALUES ('$caller', 500, 500)
    ON CONFLICT (number) DO NOTHING;
WITH k AS (INSERT INTO dialer.campaigns (name, callers, ring_timeout_s, $cols)
           VALUES ('$name', '{$caller}', 15, $vals) RETURNING id),
     c AS (INSERT INTO dialer.callees (campaign_id, number, variables)
           SELECT k.id, n, jsonb_build_object('text1', n)
             FROM k, (SELECT '$prefix' || lpad(g::text, 4, '0') AS n FROM generate_series(1, $n) g) x
           RETURNING 1)
SELECT id FROM k WHERE (SELECT count(*) FROM c) = $n;
SQL
}

# fault_done CAMPAIGN: completed, and none of its SMS is waiting or being sent.
fault_done() {
    [ "$(psql -XAtc "SELECT (SELECT status FROM dialer.campaigns WHERE id = $1) = 4
        AND NOT EXISTS (SELECT 1 FROM dialer.sms_outbox WHERE campaign_id = $1 AND state IN ('pending', 'sending'))")" = t ]
}

# fault_progress CAMPAIGN: one line for the TAP comments.
fault_progress() {
    q "SELECT 'callees ' || count(*) FILTER (WHERE state IN (1, 2)) || '/' || count(*) || ' final, '
              || count(*) FILTER (WHERE state = 3) || ' calling, '
              || (SELECT count(*) FROM dialer.attempts WHERE campaign_id = $1) || ' attempts'
         FROM dialer.callees WHERE campaign_id = $1"
}

# fault_seed: the run's random seed (FAULT_SEED to repeat one), printed; seeds $RANDOM.
fault_seed() {
    FAULT_SEED=${FAULT_SEED:-$(( $(date +%s%N) / 1000 % 1000000 ))}
    echo "# seed $FAULT_SEED (FAULT_SEED=$FAULT_SEED bash $0 repeats the fault times)"
    RANDOM=$FAULT_SEED
}

# fault_rand LO HI: sets REPLY to a whole number in [LO, HI] from the seeded $RANDOM. Not
# through $(...): a subshell's draws would not advance the sequence.
fault_rand() { REPLY=$(( $1 + (RANDOM * 32768 + RANDOM) % ($2 - $1 + 1) )); }

# fault_sleep_rand LO HI: sleeps a random whole number of ms in [LO, HI]; REPLY holds it.
fault_sleep_rand() {
    fault_rand "$1" "$2"
    sleep "$(printf '%d.%03d' $((REPLY / 1000)) $((REPLY % 1000)))"
}

# ---------------------------------------------------------------------------------------------
# Self-test: run as a suite, this file checks the checker. A consistent fabricated campaign
# passes every invariant; each mutation of it, applied to a copy of the database, must make the
# one invariant written for it fail.

fault_selftest() {
    set -u
    . "$root/tests/lib/stack.sh"
    stack_begin faults-lib
    stack_pg || { echo "not ok - private cluster starts and migrates"; exit 1; }
    # Rows as a finished run leaves them, written past the guards that only let dialerd move a
    # campaign through its states (session_replication_role = replica skips triggers).
    psql -Xq -v ON_ERROR_STOP=1 <<'SQL'
SET session_replication_role = replica;
INSERT INTO dialer.skill_groups (id, name) VALUES (1, 'sg1');
INSERT INTO dialer.campaigns (id, name, mode, skill_group_id, callers, recall_num, recall_type,
                              sms_content, sms_on_success, sms_on_failure, status)
VALUES (1, 'self', 'progressive', 1, '{+442070000001}', 2, 1, 'x', true, true, 4);
-- callee 1: notAnswer, then success (2 attempts, recall_type 1 stops there)
-- callee 2: numberNotExist (1 attempt, not recalled)
-- callee 3: busy, busy, busy (1 + recall_num = 3 attempts, unanswered)
-- callee 4: lost in a crash (never placed, unknown), then success
INSERT INTO dialer.callees (id, campaign_id, number, state, attempts, last_end_status) VALUES
 (1, 1, '+4477000001', 1, 2, 'ok'), (2, 1, '+4477000002', 2, 1, 'numberNotExist'),
 (3, 1, '+4477000003', 2, 3, 'busy'), (4, 1, '+4477000004', 1, 2, 'ok');
INSERT INTO dialer.attempts (id, callee_id, campaign_id, attempt_no, caller, created_at, dialed_at, ended_at, end_status, success)
VALUES (11, 1, 1, 1, '+442070000001', now() - interval '50 s', now() - interval '50 s', now() - interval '45 s', 'notAnswer', false),
       (12, 1, 1, 2, '+442070000001', now() - interval '40 s', now() - interval '40 s', now() - interval '30 s', 'ok', true),
       (21, 2, 1, 1, '+442070000001', now() - interval '50 s', now() - interval '50 s', now() - interval '48 s', 'numberNotExist', false),
       (31, 3, 1, 1, '+442070000001', now() - interval '50 s', now() - interval '50 s', now() - interval '49 s', 'busy', false),
       (32, 3, 1, 2, '+442070000001', now() - interval '40 s', now() - interval '40 s', now() - interval '39 s', 'busy', false),
       (33, 3, 1, 3, '+442070000001', now() - interval '30 s', now() - interval '30 s', now() - interval '29 s', 'busy', false),
       (41, 4, 1, 1, '+442070000001', now() - interval '50 s', NULL, now() - interval '25 s', 'unknown', false),
       (42, 4, 1, 2, '+442070000001', now() - interval '20 s', now() - interval '20 s', now() - interval '10 s', 'ok', true);
INSERT INTO dialer.sms_outbox (id, attempt_id, campaign_id, callee_id, trigger, to_number, body, state) VALUES
 (101, 11, 1, 1, 'failure', '+4477000001', 'F', 'sent'), (102, 12, 1, 1, 'success', '+4477000001', 'S', 'sent'),
 (103, 21, 1, 2, 'failure', '+4477000002', 'F', 'sent'), (104, 31, 1, 3, 'failure', '+4477000003', 'F', 'sent'),
 (105, 32, 1, 3, 'failure', '+4477000003', 'F', 'sent'), (106, 33, 1, 3, 'failure', '+4477000003', 'F', 'sent'),
 (107, 42, 1, 4, 'success', '+4477000004', 'S', 'sent');
CREATE TABLE truth (j jsonb);
-- The carrier's record: a rejected (swallowed) dial of attempt 12 before its placed one, and a
-- resend of 104's message under its key, both of which are fine.
INSERT INTO truth (j)
SELECT jsonb_build_object('type', 'dial', 'attempt_id', a, 'campaign_id', 1, 'callee', n, 'session_id', 's' || a, 'at', t)
  FROM (VALUES (11, '+4477000001', 1000), (12, '+4477000001', 2000), (21, '+4477000002', 1000),
               (31, '+4477000003', 1000), (32, '+4477000003', 2000), (33, '+4477000003', 3000),
               (42, '+4477000004', 4000)) v (a, n, t)
UNION ALL
SELECT jsonb_build_object('type', 'call', 'attempt_id', a, 'campaign_id', 1, 'callee', n, 'skill_group_id', 1,
                          'dialed_at', t, 'ringing_at', t + 10, 'answered_at', CASE WHEN s = 'ok' THEN t + 20 END,
                          'connected_at', CASE WHEN s = 'ok' THEN t + 20 END, 'ended_at', t + 500,
                          'end_status', s, 'keys', NULL, 'cut_off', false)
  FROM (VALUES (11, '+4477000001', 1000, 'notAnswer'), (12, '+4477000001', 2000, 'ok'),
               (21, '+4477000002', 1000, 'numberNotExist'), (31, '+4477000003', 1000, 'busy'),
               (32, '+4477000003', 2000, 'busy'), (33, '+4477000003', 3000, 'busy'),
               (42, '+4477000004', 4000, 'ok')) v (a, n, t, s)
UNION ALL
SELECT jsonb_build_object('type', 'rejected', 'attempt_id', 12, 'status', 500, 'reason', 'error_rate')
UNION ALL
SELECT jsonb_build_object('type', 'sms', 'key', k::text, 'message_id', 'm' || k || d, 'to', n, 'text', b, 'duplicate', d)
  FROM (VALUES (101, '+4477000001', 'F', false), (102, '+4477000001', 'S', false), (103, '+4477000002', 'F', false),
               (104, '+4477000003', 'F', false), (104, '+4477000003', 'F', true), (105, '+4477000003', 'F', false),
               (106, '+4477000003', 'F', false), (107, '+4477000004', 'S', false)) v (k, n, b, d);
SQL
    [ $? = 0 ] || { echo "not ok - the fabricated campaign loads"; exit 1; }
    local out bad
    out=$(fault_check 1)
    bad=$(printf '%s\n' "$out" | grep '^not ok' | head -3 | tr '\n' ' ')
    tap_is "$(printf '%s\n' "$out" | grep -c '^ok')" "$(printf '%s\n' "$out" | grep -c '^\(not \)\?ok')" \
        "a consistent campaign passes every invariant${bad:+ (failed: $bad)}"
    tap_like "$(printf '%s\n' "$out" | grep -c '^ok')" '^(2[0-9]|[3-9][0-9])$' "and the checker ran its checks"

    # mutant DESC-OF-THE-CHECK-THAT-MUST-FAIL SQL: the check run after SQL, in a transaction
    # rolled back afterwards, must name the mutation.
    mutant() {
        local want=$1 res failing
        res=$(FC_MUTATION=$2 fault_check 1)
        failing=$(printf '%s\n' "$res" | grep '^not ok' | sed 's/^not ok - campaign 1: //; s/^not ok - all campaigns: //; s/ # .*//')
        printf '%s\n' "$failing" | grep -qF -- "$want"
        tap_ok $? "the checker catches it: $want" "failing checks: $(printf '%s' "$failing" | tr '\n' ';')"
    }
    # (past the status trigger, which refuses to take a completed campaign back)
    mutant "every campaign completed" "SET LOCAL session_replication_role = replica; UPDATE dialer.campaigns SET status = 1"
    mutant "every callee is final" "UPDATE dialer.callees SET state = 3 WHERE id = 3"
    mutant "callees.attempts equals" "UPDATE dialer.callees SET attempts = 4 WHERE id = 3"
    mutant "more than 1 + recall_num" "UPDATE dialer.campaigns SET recall_num = 1"
    mutant "no attempt after a success" "UPDATE dialer.attempts SET end_status = 'ok', success = true WHERE id = 11"
    mutant "no attempt after a success (recall_type 1) or after a number found not to exist" \
        "UPDATE dialer.attempts SET end_status = 'numberNotExist' WHERE id = 31"
    mutant "none skipped" "DELETE FROM dialer.attempts WHERE id = 33; UPDATE dialer.callees SET attempts = 2 WHERE id = 3"
    mutant "answered (1) exactly when" "UPDATE dialer.callees SET state = 2 WHERE id = 1"
    mutant "every attempt ended" "UPDATE dialer.attempts SET ended_at = NULL WHERE id = 42"
    mutant "a recall is created only after" "UPDATE dialer.attempts SET created_at = now() - interval '60 s' WHERE id = 32"
    mutant "placed twice" "INSERT INTO truth SELECT j || '{\"session_id\": \"s2\"}' FROM truth WHERE j->>'type' = 'dial' AND j->>'attempt_id' = '32'"
    mutant "sent to the carrier again" "INSERT INTO truth VALUES ('{\"type\": \"duplicate_dial\", \"attempt_id\": 31, \"callee\": \"+4477000003\"}')"
    mutant "every placed call's attempt exists" \
        "INSERT INTO truth VALUES ('{\"type\": \"dial\", \"attempt_id\": 99, \"campaign_id\": 1, \"callee\": \"+4477000009\"}')"
    mutant "the attempt holds that end" "UPDATE dialer.attempts SET end_status = 'busy' WHERE id = 11"
    mutant "none cut off" "UPDATE truth SET j = j || '{\"cut_off\": true}' WHERE j->>'type' = 'call' AND j->>'attempt_id' = '21'"
    mutant "never placed ended as one of" "UPDATE dialer.attempts SET end_status = 'busy' WHERE id = 41"
    # with no crash allowed for, the attempt lost in one (41) is flagged
    FAULT_UNPLACED_OK="" mutant "every attempt was placed at the carrier" "SELECT 1"
    mutant "two calls at the carrier at once" \
        "UPDATE truth SET j = j || '{\"dialed_at\": 1100}' WHERE j->>'type' = 'call' AND j->>'attempt_id' = '12'"
    mutant "given up by dialer-sim" "INSERT INTO truth VALUES ('{\"type\": \"event_failed\", \"attempt_id\": 12, \"event\": \"ended\"}')"
    mutant "the sms_on_* flags call for" "DELETE FROM dialer.sms_outbox WHERE id = 103; DELETE FROM truth WHERE j->>'key' = '103'"
    mutant "the sms_on_* flags call for" \
        "INSERT INTO dialer.sms_outbox (id, attempt_id, campaign_id, callee_id, trigger, to_number, body, state)
         VALUES (108, 12, 1, 1, 'failure', '+4477000001', 'F', 'sent');
         INSERT INTO truth VALUES ('{\"type\": \"sms\", \"key\": \"108\", \"to\": \"+4477000001\", \"text\": \"F\", \"duplicate\": false}')"
    mutant "every outbox row was sent" "UPDATE dialer.sms_outbox SET state = 'pending' WHERE id = 105"
    mutant "exactly once as a message" \
        "INSERT INTO truth VALUES ('{\"type\": \"sms\", \"key\": \"106\", \"message_id\": \"other\", \"to\": \"+4477000003\", \"text\": \"F\", \"duplicate\": false}')"
    mutant "exactly once as a message" "DELETE FROM truth WHERE j->>'key' = '107'"
    mutant "none invented" \
        "INSERT INTO truth VALUES ('{\"type\": \"sms\", \"key\": \"999\", \"to\": \"+4477000003\", \"text\": \"F\", \"duplicate\": false}')"
    exit $TAP_FAILED
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    root=$(cd "$(dirname "$0")/../.." && pwd)
    fault_selftest
fi

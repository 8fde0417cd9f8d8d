#!/usr/bin/env bash
# Fault injection: two dialerd instances on one database split the pools by lease; one is
# SIGKILLed mid-campaign and the other takes its pools over once their leases expire.
#
# Checked: every pool is held by one instance at a time (the attempts of a pool, in creation
# order, change instance at most once per hand-over and never interleave), the survivor takes
# the dead instance's pools within the lease time and reconciles its calls left in flight,
# every campaign completes with every callee final, attempts per callee follow the recall rule,
# no attempt id reached the carrier twice, and every SMS due was delivered exactly once.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/lib/stack.sh"
stack_begin two

LEASE=(--set lease_ms=3000 --set lease_renew_ms=500 --set reconcile_grace_s=5 --set max_call_s=60
       --set abandon_lock_s=0 --set sms_poll_ms=200)
stack_pg || { echo "not ok - private cluster starts and migrates"; exit 1; }
read -r B_PORT <<<"$(free_ports 1)"
# The simulator's agents report to instance B (the survivor); A learns their status through the
# database's NOTIFY, as any instance that does not receive the ACD's requests does.
DIALERD_PORT_A=$DIALERD_PORT
DIALERD_PORT=$B_PORT
stack_sim "$root/tests/e2e/scenarios/loop.json" || { echo "not ok - dialer-sim starts"; exit 1; }
DIALERD_PORT=$DIALERD_PORT_A

psql -Xq -v ON_ERROR_STOP=1 <<'SQL'
INSERT INTO dialer.caller_numbers (number, max_concurrent, max_cps)
VALUES ('+442070000001', 100, 100), ('+442070000002', 100, 100);
INSERT INTO dialer.campaigns (name, mode, skill_group_id, callers, recall_num, recall_interval_min,
                              ring_timeout_s)
VALUES ('two-agents', 'progressive', 1, '{+442070000001}', 1, 1, 15);
INSERT INTO dialer.campaigns (name, mode, max_concurrent, callers, recall_num, ring_timeout_s,
                              sms_on_failure, sms_content)
VALUES ('two-ivr-1', 'agentless', 6, '{+442070000002}', 0, 15, true, 'ivr one ${text1}'),
       ('two-ivr-2', 'agentless', 6, '{+442070000002}', 0, 15, true, 'ivr two ${text1}');
INSERT INTO dialer.callees (campaign_id, number, variables)
SELECT c.id, '+44' || (76 + o)::text || lpad(g::text, 8, '0'), jsonb_build_object('text1', g)
  FROM dialer.campaigns c, generate_series(1, 500) g,
       LATERAL (SELECT CASE c.name WHEN 'two-agents' THEN 0 WHEN 'two-ivr-1' THEN 1 ELSE 2 END AS o) x
 WHERE c.name LIKE 'two-%' AND (c.name = 'two-agents' OR g <= 300);
SQL

# Instance A first: with nobody else alive it takes all three pools.
stack_dialerd --set instance_name=inst-a --set sms_url="$SIM_SMS/sms" "${LEASE[@]}" \
    || { echo "not ok - dialerd A starts"; exit 1; }
PID_A=$DIALERD_PID
wait_until 15 bash -c "[ \$(psql -XAtc \"SELECT count(*) FROM dialer.leases WHERE owner = 'inst-a' AND expires_at > now()\") = 3 ]"
tap_ok $? "instance A alone holds all three pool leases"
wait_until 15 bash -c "[ \$(psql -XAtc 'SELECT count(*) FROM dialer.attempts') -gt 20 ]"
tap_is "$(q "SELECT string_agg(DISTINCT instance, ',') FROM dialer.attempts")" inst-a "only A dials while it is alone"

# Instance B joins: A is above its fair share (2 of 3) and hands one pool over once the calls
# it placed for it are answered or over.
env DIALER_API_TOKENS="$API_TOKEN" DIALER_EVENT_SECRETS="$EVENT_SECRET" "$DIALERD" \
    --set listen="127.0.0.1:$B_PORT" --set database_url="$DIALER_DATABASE_URL" \
    --set carrier_url="$SIM_CARRIER" --set instance_name=inst-b --set sms_url="$SIM_SMS/sms" \
    "${LEASE[@]}" >>"$STACK_DIR/dialerd-b.log" 2>&1 &
PID_B=$!
STACK_PIDS+=("$PID_B")
wait_until 20 curl -sf "http://127.0.0.1:$B_PORT/healthz" >/dev/null
tap_ok $? "dialerd B starts on the same database"
wait_until 40 bash -c "[ \$(psql -XAtc \"SELECT count(*) FROM dialer.leases WHERE owner = 'inst-b' AND expires_at > now()\") -ge 1 ]"
tap_ok $? "B takes over a pool A hands over (fair share)"
tap_is "$(q "SELECT count(*) FROM dialer.leases WHERE expires_at > now()")" 3 "each pool has one lease"
handed=$(q "SELECT pool FROM dialer.leases WHERE owner = 'inst-b' ORDER BY pool LIMIT 1")
wait_until 20 bash -c "[ \$(psql -XAtc \"SELECT count(*) FROM dialer.attempts WHERE instance = 'inst-b'\") -gt 5 ]"
tap_ok $? "B dials for the pool it holds ($handed)"
grep -q "event=lease.handover .*pool=$handed" "$STACK_DIR/dialerd.log"
tap_ok $? "A logged the hand-over of $handed"

# SIGKILL A in the middle of its campaigns.
sleep 2
a_pools=$(q "SELECT string_agg(pool, ',' ORDER BY pool) FROM dialer.leases WHERE owner = 'inst-a'")
a_open=$(q "SELECT count(*) FROM dialer.attempts WHERE instance = 'inst-a' AND ended_at IS NULL")
kill -9 "$PID_A"
kill_ms=$(date +%s%3N)
echo "# killed A holding $a_pools with $a_open attempts in flight"
tap_like "$a_open" '^[1-9][0-9]*$' "A had calls in flight when it was killed ($a_open)"
wait_until 15 bash -c "[ \$(psql -XAtc \"SELECT count(*) FROM dialer.leases WHERE owner = 'inst-b' AND expires_at > now()\") = 3 ]"
tap_ok $? "B holds all three pools after A's leases expired"
took_ms=$(( $(q "SELECT (extract(epoch FROM max(acquired_at)) * 1000)::bigint FROM dialer.leases WHERE owner = 'inst-b'") - kill_ms ))
tap_ok "$([ "$took_ms" -ge 2000 ] && [ "$took_ms" -le 6000 ]; echo $?)" \
    "the take-over came after the lease (3 s) ran out, not before: ${took_ms} ms after the kill"
tap_like "$(q "SELECT min(takeovers) FROM dialer.leases WHERE pool = ANY (string_to_array('$a_pools', ','))")" '^[1-9]' \
    "dialer.leases counts the take-over of A's pools"

# Everything completes; A's calls in flight are reconciled by B.
wait_until 150 bash -c "[ \$(psql -XAtc \"SELECT count(*) FROM dialer.campaigns WHERE status = 4\") = 3 ]"
tap_ok $? "all three campaigns complete"
tap_is "$(q "SELECT count(*) FROM dialer.attempts WHERE ended_at IS NULL")" 0 "no attempt left open (A's were reconciled)"
grep -q "event=reconcile.lost_attempts" "$STACK_DIR/dialerd-b.log"
tap_ok $? "B reconciled attempts A left in flight"
tap_is "$(q "SELECT count(*) FROM dialer.callees WHERE state NOT IN (1, 2)")" 0 "every callee is final"
tap_is "$(q "SELECT count(*) FROM dialer.callees c
             WHERE c.attempts <> (SELECT count(*) FROM dialer.attempts a WHERE a.callee_id = c.id)")" 0 \
    "callees.attempts equals the attempt rows of each callee"
tap_is "$(q "SELECT count(*) FROM dialer.callees c JOIN dialer.campaigns k ON k.id = c.campaign_id
             WHERE c.attempts > 1 + k.recall_num
                OR EXISTS (SELECT 1 FROM dialer.attempts a JOIN dialer.attempts b
                             ON b.callee_id = a.callee_id AND b.attempt_no > a.attempt_no
                          WHERE a.callee_id = c.id AND a.success)")" 0 \
    "attempts per callee follow the rule: at most 1 + recall_num, none after a success"

# One instance per pool at a time: in creation order, a pool's attempts change instance no more
# often than the pool changed hands (A -> B), and never back.
runs=$(q "WITH o AS (SELECT dialer.attempt_pool(skill_group_id, campaign_id) AS pool, instance,
                            lag(instance) OVER (PARTITION BY dialer.attempt_pool(skill_group_id, campaign_id)
                                                ORDER BY created_at, id) AS prev
                       FROM dialer.attempts)
          SELECT coalesce(max(n), 0) FROM (SELECT pool, count(*) FILTER (WHERE prev IS DISTINCT FROM instance) AS n
                                             FROM o GROUP BY pool) x")
tap_ok "$([ "$runs" -le 2 ]; echo $?)" "no pool was dialed by two instances at once (most instance runs per pool: $runs)"
tap_is "$(q "SELECT count(*) FROM dialer.attempts a WHERE a.instance = 'inst-a'
             AND a.created_at > to_timestamp($kill_ms / 1000.0)")" 0 "no attempt by A after its death"

# The carrier's record: no attempt id dialed twice; every placed call is an attempt row.
truth_load
tap_is "$(q "SELECT count(*) FROM (SELECT j->>'attempt_id' FROM truth WHERE j->>'type' = 'call'
             GROUP BY 1 HAVING count(*) > 1) d")" 0 "no attempt id reached the carrier twice"
tap_is "$(q "SELECT count(*) FROM truth t WHERE j->>'type' = 'call'
             AND NOT EXISTS (SELECT 1 FROM dialer.attempts a WHERE a.id::text = t.j->>'attempt_id')")" 0 \
    "every call the carrier placed is an attempt row"

# SMS: every failure of the IVR campaigns has its one message, delivered once by its key. A
# call reconciled as unknown sends none (docs/sms.md: it may have succeeded).
wait_until 30 bash -c "[ \$(psql -XAtc \"SELECT count(*) FROM dialer.sms_outbox WHERE state <> 'sent'\") = 0 ]"
tap_ok $? "every SMS row is sent"
tap_is "$(q "SELECT count(*) FROM dialer.attempts a JOIN dialer.campaigns c ON c.id = a.campaign_id
             WHERE c.sms_on_failure AND NOT a.success AND a.end_status <> 'unknown'
               AND NOT EXISTS (SELECT 1 FROM dialer.sms_outbox o WHERE o.attempt_id = a.id AND o.trigger = 'failure')")" 0 \
    "every failed IVR attempt (not unknown) has its failure SMS row"
tap_is "$(q "SELECT count(*) FROM dialer.sms_outbox o JOIN dialer.attempts a ON a.id = o.attempt_id
             WHERE a.end_status = 'unknown' OR a.success")" 0 "and no other attempt has one"
tap_is "$(q "SELECT count(*) FROM dialer.sms_outbox o
             WHERE (SELECT count(*) FROM truth t WHERE t.j->>'type' = 'sms' AND t.j->>'key' = o.id::text
                      AND NOT (t.j->>'duplicate')::boolean) <> 1")" 0 \
    "each SMS reached the sink exactly once by its Idempotency-Key"

stack_stop "$PID_B" "dialerd B" "$STACK_DIR/dialerd-b.log"
tap_is "$(q "SELECT count(*) FROM dialer.leases WHERE owner = 'inst-b'")" 0 "B let its leases go at a clean stop"
tap_is "$(q "SELECT count(*) FROM dialer.instances WHERE name = 'inst-b'")" 0 "and deleted its instance row"


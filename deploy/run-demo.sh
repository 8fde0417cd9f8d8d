#!/usr/bin/env bash
# `make run`: a demo campaign end to end — private PostgreSQL (unless DIALER_DATABASE_URL is set),
# migrations, dialer-sim as carrier + agents, dialerd — with live progress and a final report.
# Ctrl-C (or the end of the campaign) stops everything this script started.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
DIALERD="$root/$BUILD/dialerd"
SIM="$root/$BUILD/dialer-sim"
SCENARIO=${DEMO_SCENARIO:-$root/bench/scenarios/demo.json}
CALLEES=${DEMO_CALLEES:-3000}
LIMIT_S=${DEMO_LIMIT_S:-300}
work="$root/build/run"
pids=()
own_pg=0
. "$root/tests/lib/tap.sh"     # free_port, wait_until

stop_all() {
    trap - EXIT INT TERM
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do
        for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
    done
    if [ "$own_pg" = 1 ]; then "$root/tests/lib/pgcluster.sh" destroy "$work/pg" >/dev/null 2>&1 || true; fi
}
trap stop_all EXIT
trap 'echo; echo "interrupted: stopping dialerd, dialer-sim and the private database"; exit 130' INT TERM

rm -rf "$work"; mkdir -p "$work"
if [ -z "${DIALER_DATABASE_URL:-}" ]; then
    echo "starting a private PostgreSQL cluster (build/run/pg)"
    "$root/tests/lib/pgcluster.sh" start "$work/pg"
    own_pg=1
    . "$work/pg/env"
else
    echo "using DIALER_DATABASE_URL"
    export PGDATABASE="$DIALER_DATABASE_URL"
fi
psql() { command psql -X -q -v ON_ERROR_STOP=1 -d "$DIALER_DATABASE_URL" "$@"; }
"$root/sql/migrate.sh" "$DIALER_DATABASE_URL"

read -r dport cport ctl <<<"$(free_ports 3)"
# Credentials for this run only: dialerd gets them through its environment (not its command
# line), the simulator signs its events with the secret and sends the token on agent updates.
token="demo-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
secret="demo-$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
"$SIM" -s "$SCENARIO" --print-sql | psql >/dev/null
name="demo-$(date +%Y%m%d-%H%M%S)"
psql <<SQL
INSERT INTO dialer.caller_numbers (number, max_concurrent, max_cps)
VALUES ('+442079460001', 40, 150), ('+442079460002', 40, 150)
ON CONFLICT (number) DO NOTHING;
INSERT INTO dialer.campaigns (name, mode, priority, skill_group_id, callers, recall_num,
                              recall_interval_min, ring_timeout_s, not_before)
VALUES ('$name', 'progressive', 2, 1, '{+442079460001,+442079460002}', 1, 1, 20, now() + interval '2 s');
INSERT INTO dialer.callees (campaign_id, number, variables)
SELECT currval('dialer.campaigns_id_seq'), '+4477009' || lpad(g::text, 5, '0'),
       jsonb_build_object('text1', 'customer ' || g)
  FROM generate_series(1, $CALLEES) g;
SQL
cid=$(psql -At -c "SELECT id FROM dialer.campaigns WHERE name = '$name'")

DIALER_API_TOKENS="$token" DIALER_EVENT_SECRETS="$secret" \
"$DIALERD" --set listen="127.0.0.1:$dport" --set database_url="$DIALER_DATABASE_URL" \
    --set carrier_url="http://127.0.0.1:$cport" --set instance_name=demo \
    >"$work/dialerd.log" 2>&1 &
pids+=($!)
wait_until 15 curl -sf "http://127.0.0.1:$dport/healthz" \
    || { echo "dialerd did not come up; its log:"; tail -20 "$work/dialerd.log"; exit 1; }
"$SIM" -s "$SCENARIO" --dialerd "http://127.0.0.1:$dport" --carrier-listen "127.0.0.1:$cport" \
    --control-listen "127.0.0.1:$ctl" --log "$work/truth.jsonl" --token "$token" \
    --event-secret "$secret" >"$work/sim.log" 2>&1 &
pids+=($!)
echo "campaign \"$name\" (id $cid): $CALLEES callees, $(psql -At -c "SELECT count(*) FROM dialer.agent_skill_groups WHERE skill_group_id = 1") agents, progressive, one recall after 1 minute"
echo "dialerd http://127.0.0.1:$dport  logs: build/run/dialerd.log build/run/sim.log  (Ctrl-C stops)"

start=$SECONDS
status=0
while :; do
    row=$(psql -At -F ' ' -c "SELECT p.status, p.finished_callee_count, p.callee_count, p.answered, p.abandoned,
                                      p.attempts, p.state_calling,
                                      (SELECT coalesce(sum(busy + arrange), 0) FROM dialer.agent_pool WHERE skill_group_id = 1)
                                 FROM dialer.campaign_progress p WHERE p.campaign_id = $cid")
    read -r status done total answered abandoned attempts calling busy <<<"$row"
    printf '\r%5ds  callees done %5d/%-5d  attempts %5d  answered %5d  abandoned %3d  calling %3d  agents busy %3d ' \
        $((SECONDS - start)) "$done" "$total" "$attempts" "$answered" "$abandoned" "$calling" "$busy"
    [ "$status" = 4 ] && break
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || { echo; echo "a process died; see build/run/*.log"; exit 1; }; done
    if [ $((SECONDS - start)) -ge "$LIMIT_S" ]; then echo; echo "not finished within ${LIMIT_S}s"; exit 1; fi
    sleep 1
done
echo
echo
echo "campaign completed in $((SECONDS - start)) s"
psql -P footer=off <<SQL
SELECT callee_count AS callees, state_answered AS answered, state_unanswered AS unanswered,
       attempts, round(attempts::numeric / nullif(callee_count, 0), 2) AS attempts_per_callee,
       answered AS live_answers, connected, abandoned, abandon_rate_24h AS abandon_pct
  FROM dialer.campaign_progress WHERE campaign_id = $cid;
SELECT end_status, count(*) AS attempts FROM dialer.attempts WHERE campaign_id = $cid
 GROUP BY 1 ORDER BY 2 DESC;
SELECT calls, dial_to_answer_median_ms, dial_to_answer_p90_ms, answer_to_agent_median_ms,
       answer_to_agent_p90_ms
  FROM dialer.call_latency WHERE campaign_id = $cid;
SQL
echo "(latencies in real ms; the simulator runs the calls at $(grep -o '"time_scale": *[0-9.]*' "$SCENARIO" | grep -o '[0-9.]*$')x speed)"

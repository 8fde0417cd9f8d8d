#!/usr/bin/env bash
# `make bench-e2e`: pacing end to end — dialerd + dialer-sim on one scenario, time-scaled, scored from the simulator's ground truth against dialer-bench's `ours`.
#
# Runs a private PostgreSQL, one predictive campaign, dialerd and dialer-sim on loopback until
# the simulator has seen E2E_ANSWERS live answers (or E2E_LIMIT_S real seconds have passed),
# stops everything, and prints one table plus a PASS/FAIL line per criterion: abandon rate
# <= 3 % and occupancy within 5 points of dialer-bench's figure for `ours` on the same
# scenario. The figures also go to build/bench-e2e.json. Exit status: 0 when the run reached
# its answer count and both criteria hold, 1 otherwise, 2 when it could not run.
# docs/dialer-bench.md ("End to end") explains what is measured and the time scale.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
BUILD=${BUILD:-build}
SIM_BIN="$root/$BUILD/dialer-sim"
BENCH_BIN="$root/$BUILD/dialer-bench"

SCENARIO=${E2E_SCENARIO:-bench/scenarios/medium-high.json}
# Simulated seconds per real second. A power of two on purpose: the pacer keeps its duration
# histograms in bins of a quarter octave, so dividing every duration by 16 moves each one by
# exactly 16 bins and dialerd's pacer sees what dialer-bench's sees. docs/dialer-bench.md has
# the rest of the budget behind 16.
TIME_SCALE=${E2E_TIME_SCALE:-16}
# dialerd's pacing period in real ms: 10 ms = 0.16 simulated s, under the 0.25 s decision gap
# that `make bench-pacing` uses.
TICK_MS=${E2E_TICK_MS:-10}
# Live answers to count.
ANSWERS=${E2E_ANSWERS:-2000}
# Hard bound on the dialing phase, real seconds (2,000 answers take about 310 s at 16).
LIMIT_S=${E2E_LIMIT_S:-900}
# Callees in the campaign: about 3 times what a run dials, so the list never runs dry.
CALLEES=${E2E_CALLEES:-20000}
# E2E_SEED replaces the scenario's seed in the simulator: another draw of the same centre.
SEED=${E2E_SEED:-}
ABANDON_MAX=3        # percent: the first criterion, and the campaign's expected_abandon_rate
OCC_POINTS=5         # occupancy points from dialer-bench's `ours`: the second criterion
OUT_JSON="$root/build/bench-e2e.json"
BENCH_JSON="$root/build/bench-pacing.json"

for b in dialerd dialer-sim dialer-bench; do
    [ -x "$root/$BUILD/$b" ] || { echo "e2e-pacing: $BUILD/$b is missing; run it through 'make bench-e2e'" >&2; exit 2; }
done
[ -r "$SCENARIO" ] || { echo "e2e-pacing: cannot read scenario $SCENARIO" >&2; exit 2; }

# The work directory under build/ keeps the logs and the ground truth of the last run for a
# look afterwards; stack.sh's stack_down stops every process and destroys the cluster on exit.
rm -rf "$root/build/e2e-pacing."*
mkdir -p "$root/build"
# shellcheck disable=SC2034  # read by stack.sh
TEST_WORK="$root/build"
# shellcheck source=tests/lib/stack.sh
. "$root/tests/lib/stack.sh"
stack_begin e2e-pacing
trap 'echo "e2e-pacing: interrupted" >&2; exit 130' INT TERM

# psql reading SQL from stdin, stopping at the first error.
sql() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
# A number from the simulator's /stats JSON (top-level keys only).
stat_of() { printf '%s' "$1" | grep -oE "\"$2\": *[0-9.eE+-]+" | head -1 | sed 's/.*: *//'; }

wall_start=$SECONDS
echo "# e2e-pacing: $SCENARIO at time scale $TIME_SCALE until $ANSWERS live answers (at most ${LIMIT_S} s)"
echo "# work directory: ${STACK_DIR#"$root"/}"

stack_pg || { echo "e2e-pacing: the private PostgreSQL did not start" >&2; exit 2; }

# What the set-up needs from the scenario (PostgreSQL parses the JSON).
read -r SCEN_NAME SG GRACE_S <<<"$(sql -At -F ' ' <<SQL
\set sc \`cat '$SCENARIO'\`
SELECT :'sc'::jsonb->>'name', coalesce(:'sc'::jsonb->>'skill_group_id', '1'),
       coalesce(:'sc'::jsonb->>'abandon_grace_s', '2');
SQL
)"
[ -n "${GRACE_S:-}" ] || { echo "e2e-pacing: cannot read $SCENARIO" >&2; exit 2; }
# The ACD's grace is in simulated seconds; dialerd plans with it in real ms (floor 100 ms).
GRACE_MS=$(awk -v g="$GRACE_S" -v x="$TIME_SCALE" 'BEGIN { printf "%d", g * 1000 / x + 0.5 }')
if [ "$GRACE_MS" -lt 100 ]; then
    echo "e2e-pacing: a grace of $GRACE_S s at time scale $TIME_SCALE is $GRACE_MS ms, under dialerd's 100 ms floor; lower E2E_TIME_SCALE" >&2
    exit 2
fi

# One predictive campaign on the scenario's skill group: caller lines that never hold a dial
# back (at most 3 lines per agent are ever in flight), callees that never run out, no recalls.
"$SIM_BIN" -s "$SCENARIO" --print-sql | sql >/dev/null || { echo "e2e-pacing: agents not created" >&2; exit 2; }
sql <<SQL || { echo "e2e-pacing: campaign not created" >&2; exit 2; }
INSERT INTO dialer.caller_numbers (number, max_concurrent, max_cps)
VALUES ('+442079460101', 10000, 10000), ('+442079460102', 10000, 10000);
INSERT INTO dialer.campaigns (name, mode, skill_group_id, callers, callout_rate,
                              expected_abandon_rate, ring_timeout_s)
VALUES ('bench-e2e', 'predictive', $SG, '{+442079460101,+442079460102}', 3, $ABANDON_MAX, 30);
INSERT INTO dialer.callees (campaign_id, number)
SELECT currval('dialer.campaigns_id_seq'), '+4477' || lpad(g::text, 8, '0')
  FROM generate_series(1, $CALLEES) g;
SQL

# dialerd first, so that the simulator's first agent updates find it listening. The ports are
# picked before anything binds them and other suites may run on the machine meanwhile: a
# program that lost its port exits at once (while /healthz may answer from the thief), so each
# is checked to be alive and, if one is not, both start over on new ports, three times at most.
up=0
for try in 1 2 3; do
    if [ "$try" -gt 1 ]; then
        echo "# dialerd or dialer-sim did not stay up (a port taken meanwhile?): starting over on new ports"
        for p in "${DIALERD_PID:-}" "${SIM_PID:-}"; do
            [ -n "$p" ] && kill -TERM "$p" 2>/dev/null && wait_until 10 bash -c "! kill -0 $p 2>/dev/null"
        done
        read -r DIALERD_PORT STACK_SIM_PORTS_A STACK_SIM_PORTS_B STACK_SIM_PORTS_C <<<"$(free_ports 4)"
        STACK_SIM_PORTS="$STACK_SIM_PORTS_A $STACK_SIM_PORTS_B $STACK_SIM_PORTS_C"
    fi
    DIALERD_PID=""; SIM_PID=""
    # shellcheck disable=SC2034  # read by stack_dialerd: the port stack_sim will listen on
    SIM_CARRIER="http://127.0.0.1:$STACK_SIM_PORTS_A"
    # E2E_DIALERD_FLAGS adds settings for a diagnosis, e.g. "--set log_level=debug".
    # shellcheck disable=SC2086
    stack_dialerd --set tick_ms="$TICK_MS" --set acd_grace_ms="$GRACE_MS" --set drain_timeout_ms=5000 \
        ${E2E_DIALERD_FLAGS:-} || continue
    sleep 0.5
    kill -0 "$DIALERD_PID" 2>/dev/null || continue
    # stack_sim loads the agents again (idempotent) and waits for the simulator's /healthz.
    stack_sim "$SCENARIO" --time-scale "$TIME_SCALE" ${SEED:+--seed "$SEED"} || continue
    sleep 0.5
    if ! kill -0 "$SIM_PID" 2>/dev/null || ! kill -0 "$DIALERD_PID" 2>/dev/null; then continue; fi
    up=1
    break
done
[ "$up" = 1 ] || { echo "e2e-pacing: dialerd and dialer-sim did not both start; logs in $STACK_DIR" >&2; exit 2; }
echo "# dialerd (tick_ms $TICK_MS, acd_grace_ms $GRACE_MS) and dialer-sim up after $((SECONDS - wall_start)) s"

# Dial until enough live answers: one look a second, bounded in time.
run_start=$SECONDS
next_note=30
answers=0
complete=0
while [ $((SECONDS - run_start)) -lt "$LIMIT_S" ]; do
    sleep 1
    for p in "$SIM_PID" "$DIALERD_PID"; do
        kill -0 "$p" 2>/dev/null || { echo "e2e-pacing: a process died; logs in $STACK_DIR" >&2; break 2; }
    done
    stats=$(curl -s -m 2 "$SIM_CONTROL/stats") || continue
    simt=$(stat_of "$stats" sim_time_s); total=$(stat_of "$stats" answered)
    if [ -z "$simt" ] || [ -z "$total" ]; then continue; fi
    answers=$total
    if [ $((SECONDS - run_start)) -ge "$next_note" ]; then
        next_note=$((next_note + 30))
        printf '# %4d s real  %6.0f s simulated  dials %6s  live answers %5s  abandoned %s\n' \
            $((SECONDS - run_start)) "$simt" "$(stat_of "$stats" dials)" "$answers" "$(stat_of "$stats" abandoned)"
    fi
    if [ "$answers" -ge "$ANSWERS" ]; then complete=1; break; fi
done
# The end of the measured window, on the clock of the simulator's log (unix ms).
t_end=$(date +%s%3N)
run_real=$((SECONDS - run_start))
[ "$complete" = 1 ] || echo "# the run stopped before $ANSWERS live answers (limit ${LIMIT_S} s, or a process died)"

# Simulator first: it refuses new dials, finishes its calls and delivers their events to a
# dialerd still listening, then reports its agents offline. The figures stop at t_end anyway.
# (Into a file, not a pipe: stack_stop must run in this shell to wait for its children.)
stack_stop "$SIM_PID" dialer-sim "$STACK_DIR/sim.log" >"$STACK_DIR/stop.tap"
stack_stop "$DIALERD_PID" dialerd "$STACK_DIR/dialerd.log" >>"$STACK_DIR/stop.tap"
sed 's/^/# stop: /' "$STACK_DIR/stop.tap"

# dialer-bench's figure for the scenario: from `make bench-pacing`'s JSON when it has one,
# else from a run of `ours` alone with `make bench-pacing`'s settings.
bench_has() {
    [ -s "$1" ] && [ "$(sql -At <<SQL
\set bj \`cat '$1'\`
SELECT count(*) FROM jsonb_array_elements(:'bj'::jsonb->'scenarios') s,
       jsonb_array_elements(s->'policies') p
 WHERE s->>'name' = '$SCEN_NAME' AND p->>'policy' = 'ours';
SQL
)" = 1 ]
}
bench_src=$BENCH_JSON
if ! bench_has "$bench_src"; then
    bench_src="$root/build/bench-e2e-ours.json"
    echo "# no $SCEN_NAME / ours in ${BENCH_JSON#"$root"/}: running dialer-bench for it"
    "$BENCH_BIN" --reps 30 --jobs 2 --decision-gap 0.25 --policies ours --json "$bench_src" \
        "$SCENARIO" >/dev/null || { echo "e2e-pacing: dialer-bench failed" >&2; exit 2; }
fi

truth_load || { echo "e2e-pacing: cannot load the ground truth $SIM_LOG" >&2; exit 2; }
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
pacing_dirty=false
[ -n "$(git -C "$root" status --porcelain -- src/pacing.c src/scheduler.c include/pacing.h 2>/dev/null)" ] && pacing_dirty=true

# Every figure from the ground truth, over [simulator start, t_end], in simulated seconds
# (real ms x time_scale / 1000). Agent time: each status lasts until the agent's next line
# (file order breaks ties within a ms: free then busy when an agent takes a queued call),
# logged in = not offline. Calls count by their answer time; a call still waiting at t_end
# counts as answered and not abandoned, as at dialer-bench's shift end.
sql -At >"$STACK_DIR/result.json" <<SQL || { echo "e2e-pacing: the figures could not be computed" >&2; exit 2; }
\set bj \`cat '$bench_src'\`
CREATE TEMP TABLE st AS
  SELECT (j->>'at')::bigint AS w0, $t_end::bigint AS w1, (j->>'time_scale')::float8 AS x
    FROM truth WHERE j->>'type' = 'start' ORDER BY (j->>'at')::bigint DESC LIMIT 1;
CREATE TEMP TABLE iv AS
  SELECT j->>'status' AS status, (j->>'at')::bigint AS a,
         lead((j->>'at')::bigint) OVER (PARTITION BY j->>'id' ORDER BY (j->>'at')::bigint, ctid) AS b
    FROM truth WHERE j->>'type' = 'agent';
-- ms of each status within [s, e)
CREATE FUNCTION pg_temp.agent_ms(s float8, e float8, want text[]) RETURNS float8 LANGUAGE sql AS
  \$\$ SELECT coalesce(sum(greatest(least(coalesce(b, e), e) - greatest(a, s), 0)), 0)
         FROM iv WHERE status = ANY (want) \$\$;
CREATE TEMP TABLE fig AS
  SELECT st.x, (st.w1 - st.w0) * st.x / 1000 AS sim_s,
         pg_temp.agent_ms(st.w0, st.w1, '{free,busy,arrange}') * st.x / 1000 AS logged_s,
         pg_temp.agent_ms(st.w0, st.w1, '{busy}') * st.x / 1000 AS talk_s,
         pg_temp.agent_ms(st.w0, st.w1, '{arrange}') * st.x / 1000 AS acw_s,
         (SELECT count(*) FROM truth WHERE j->>'type' = 'call' AND (j->>'live_answer')::boolean
             AND (j->>'answered_at')::bigint BETWEEN st.w0 AND st.w1) AS live,
         (SELECT count(*) FROM truth WHERE j->>'type' = 'call' AND (j->>'abandoned')::boolean
             AND (j->>'answered_at')::bigint BETWEEN st.w0 AND st.w1) AS abandons,
         (SELECT count(*) FROM truth WHERE j->>'type' = 'dial'
             AND (j->>'at')::bigint BETWEEN st.w0 AND st.w1) AS dials,
         (SELECT count(*) FROM truth WHERE j->>'type' IN ('rejected', 'event_failed', 'agent_update_failed', 'duplicate_dial')
             AND (j->>'at')::bigint BETWEEN st.w0 AND st.w1) AS troubles
    FROM st;
-- Delays on dialerd's side, real ms: claim (attempt row) -> the carrier has the dial, and the
-- carrier's "ended" event -> dialerd's write of it. Times x time_scale in simulated terms.
CREATE TEMP TABLE lat AS
  SELECT percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY (t.j->>'at')::bigint
             - extract(epoch FROM a.created_at) * 1000) AS dial,
         percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY extract(epoch FROM a.updated_at) * 1000
             - (c.j->>'ended_at')::bigint) FILTER (WHERE c.j->>'ended_at' IS NOT NULL) AS ended
    FROM truth t JOIN dialer.attempts a ON a.id = (t.j->>'attempt_id')::bigint
    LEFT JOIN truth c ON c.j->>'type' = 'call' AND c.j->>'attempt_id' = t.j->>'attempt_id'
                     AND NOT (c.j->>'cut_off')::boolean
   WHERE t.j->>'type' = 'dial';
-- Occupancy and abandons per 10 simulated minutes: how the run settles.
CREATE TEMP TABLE tl AS
  SELECT k, round((100 * pg_temp.agent_ms(s, e, '{busy,arrange}')
                   / nullif(pg_temp.agent_ms(s, e, '{free,busy,arrange}'), 0))::numeric, 1) AS occ,
         (SELECT count(*) FROM truth WHERE j->>'type' = 'call' AND (j->>'abandoned')::boolean
             AND (j->>'answered_at')::bigint >= s AND (j->>'answered_at')::bigint < e) AS ab,
         (SELECT count(*) FROM truth WHERE j->>'type' = 'call' AND (j->>'live_answer')::boolean
             AND (j->>'answered_at')::bigint >= s AND (j->>'answered_at')::bigint < e) AS live
    FROM (SELECT k, w0 + k * 600000.0 / x AS s, least(w0 + (k + 1) * 600000.0 / x, w1) AS e
            FROM st, generate_series(0, floor((w1 - w0) * x / 600000.0)::int) k) b
   WHERE e > s;
SELECT jsonb_pretty(jsonb_build_object(
  'tool', 'bench/e2e-pacing.sh', 'scenario', '$SCEN_NAME', 'scenario_file', '$SCENARIO',
  'seed', nullif('$SEED', '')::bigint, 'commit', '$commit', 'pacing_sources_modified', $pacing_dirty,
  'time_scale', $TIME_SCALE, 'tick_ms', $TICK_MS, 'acd_grace_ms', $GRACE_MS,
  'answers_wanted', $ANSWERS, 'complete', $complete = 1, 'dialing_real_s', $run_real,
  'e2e', (SELECT jsonb_build_object(
      'sim_s', round(sim_s::numeric, 1), 'agent_hours', round((logged_s / 3600)::numeric, 3),
      'live_answers', live, 'abandons', abandons, 'dials', dials,
      'abandon_rate', round(abandons::numeric / nullif(live, 0), 5),
      'occupancy', round(((talk_s + acw_s) / nullif(logged_s, 0))::numeric, 5),
      'talk_min_per_agent_hour', round((talk_s / 60 / nullif(logged_s / 3600, 0))::numeric, 2),
      'dials_per_agent_hour', round((dials / nullif(logged_s / 3600, 0))::numeric, 2),
      'rejected_failed_duplicate_lines', troubles) FROM fig),
  'latency_real_ms', (SELECT jsonb_build_object(
      'claim_to_dial', jsonb_build_object('p50', round(dial[1]::numeric, 1), 'p90', round(dial[2]::numeric, 1), 'p99', round(dial[3]::numeric, 1)),
      'ended_event_to_write', jsonb_build_object('p50', round(ended[1]::numeric, 1), 'p90', round(ended[2]::numeric, 1), 'p99', round(ended[3]::numeric, 1)))
    FROM lat),
  'timeline_10min', (SELECT jsonb_agg(jsonb_build_object('from_sim_s', k * 600, 'occupancy_pct', occ,
      'live_answers', live, 'abandons', ab) ORDER BY k) FROM tl),
  'bench', (SELECT jsonb_build_object('file', '${bench_src#"$root"/}', 'reps', :'bj'::jsonb->'reps',
      'decision_gap_s', :'bj'::jsonb->'decision_gap_s', 'policy', 'ours',
      'occupancy', p->'occupancy_mean', 'abandon_rate', p->'abandon_rate_mean',
      'talk_min_per_agent_hour', p->'talk_min_per_agent_hour',
      'dials_per_agent_hour', p->'dials_per_agent_hour')
    FROM jsonb_array_elements(:'bj'::jsonb->'scenarios') s, jsonb_array_elements(s->'policies') p
   WHERE s->>'name' = '$SCEN_NAME' AND p->>'policy' = 'ours')));
SQL

# The table and the verdicts, from that JSON.
IFS='|' read -r r_occ r_talk r_ab r_live r_abn r_dials r_h r_trouble b_occ b_talk b_ab b_dials b_reps b_file \
    d50 d90 d99 e50 e90 e99 tl <<<"$(sql -At -F '|' <<SQL
\set r \`cat '$STACK_DIR/result.json'\`
SELECT round((e->>'occupancy')::numeric * 100, 2), round((e->>'talk_min_per_agent_hour')::numeric, 1),
       round((e->>'abandon_rate')::numeric * 100, 2), e->>'live_answers', e->>'abandons',
       round((e->>'dials_per_agent_hour')::numeric, 1), round((e->>'sim_s')::numeric / 3600, 2),
       e->>'rejected_failed_duplicate_lines',
       round((b->>'occupancy')::numeric * 100, 2), round((b->>'talk_min_per_agent_hour')::numeric, 1),
       round((b->>'abandon_rate')::numeric * 100, 2), round((b->>'dials_per_agent_hour')::numeric, 1),
       b->>'reps', b->>'file',
       l->'claim_to_dial'->>'p50', l->'claim_to_dial'->>'p90', l->'claim_to_dial'->>'p99',
       l->'ended_event_to_write'->>'p50', l->'ended_event_to_write'->>'p90', l->'ended_event_to_write'->>'p99',
       (SELECT string_agg(format('%s %s%% %s/%s', (t->>'from_sim_s')::int / 60, t->>'occupancy_pct',
                                 t->>'abandons', t->>'live_answers'), ', ')
          FROM jsonb_array_elements(r->'timeline_10min') t)
  FROM (SELECT :'r'::jsonb AS r) x, LATERAL (SELECT r->'e2e' AS e, r->'bench' AS b, r->'latency_real_ms' AS l) y;
SQL
)"

echo
printf '%-30s %9s %9s %8s %8s %8s %9s %6s\n' "" occupancy "talk min" abandon live "" dials sim
printf '%-30s %9s %9s %8s %8s %8s %9s %6s\n' run % /agent-h % answers abandons /agent-h hours
printf '%-30s %9s %9s %8s %8s %8s %9s %6s\n' "e2e: dialerd + dialer-sim" "$r_occ" "$r_talk" "$r_ab" "$r_live" "$r_abn" "$r_dials" "$r_h"
printf '%-30s %9s %9s %8s %8s %8s %9s %6s\n' "dialer-bench ours, $b_reps x 8 h" "$b_occ" "$b_talk" "$b_ab" "" "" "$b_dials" "8.00"
echo
echo "scenario $SCEN_NAME${SEED:+ (seed $SEED)}, time scale $TIME_SCALE, tick_ms $TICK_MS, acd_grace_ms $GRACE_MS; bench figure from $b_file"
echo "per 10 simulated minutes (minute, occupancy, abandons/live answers): $tl"
echo "dialerd delays, real ms (x$TIME_SCALE simulated): claim -> carrier has the dial p50 $d50 / p90 $d90 / p99 $d99;" \
     "ended event -> dialerd writes it p50 $e50 / p90 $e90 / p99 $e99"
[ "${r_trouble:-0}" = 0 ] || echo "note: $r_trouble rejected / event_failed / agent_update_failed / duplicate_dial lines in the ground truth before the stop"
echo "dialing phase ${run_real} s real; logs and ground truth in ${STACK_DIR#"$root"/}"

verdict=0
if [ "$complete" = 1 ] && [ "${r_live:-0}" -ge "$ANSWERS" ]; then
    echo "PASS length: $r_live live answers (>= $ANSWERS)"
else
    echo "FAIL length: ${r_live:-0} live answers (< $ANSWERS)"; verdict=1
fi
if awk -v a="$r_ab" -v m="$ABANDON_MAX" 'BEGIN { exit !(a != "" && a + 0 <= m) }'; then
    echo "PASS abandon rate: $r_ab % <= $ABANDON_MAX %"
else
    echo "FAIL abandon rate: $r_ab % > $ABANDON_MAX %"; verdict=1
fi
diff=$(awk -v a="$r_occ" -v b="$b_occ" 'BEGIN { printf "%+.2f", a - b }')
if awk -v a="$r_occ" -v b="$b_occ" -v m="$OCC_POINTS" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && b != "" && d <= m) }'; then
    echo "PASS occupancy: $r_occ % is $diff points from dialer-bench's $b_occ % (within $OCC_POINTS)"
else
    echo "FAIL occupancy: $r_occ % is $diff points from dialer-bench's $b_occ % (more than $OCC_POINTS)"; verdict=1
fi

sql -At >"$OUT_JSON" <<SQL
\set r \`cat '$STACK_DIR/result.json'\`
SELECT jsonb_pretty(:'r'::jsonb || jsonb_build_object('wall_s', $((SECONDS - wall_start)),
  'criteria', jsonb_build_object('abandon_max_pct', $ABANDON_MAX, 'occupancy_points', $OCC_POINTS,
    'occupancy_diff_points', ${diff:-null}, 'pass', $verdict = 0)));
SQL
echo "figures in ${OUT_JSON#"$root"/}; wall time $((SECONDS - wall_start)) s"
exit $verdict

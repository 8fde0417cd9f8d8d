#!/usr/bin/env bash
# Throughput benchmark (`make bench-throughput`): dialerd + dialer-sim (instant outcomes) + a private
# PostgreSQL on loopback. Attempts completed per second end to end, every one committed; daemon
# RSS with running campaigns of 10k, 100k and 1M callees; latency from an agent's "free" report
# to the dial it causes, idle and under load. Figures in build/bench-throughput.json and a table.
#
# Environment (defaults in brackets):
#   BENCH_TP_PHASES      which phases run ["throughput rss latency"]
#   BENCH_TP_CALLEES     callees of the throughput campaign [500000: more than 70 s at 4,000/s]
#   BENCH_TP_WARMUP      seconds of dialing before the window [10]
#   BENCH_TP_WINDOW      seconds measured [60]
#   BENCH_TP_CONCURRENT  max_concurrent of the agentless campaign [500]
#   BENCH_TP_LINES       caller numbers, each max_cps 250 and max_concurrent 100 [20]
#   BENCH_TP_POOL        dialerd's db_pool_size [2, the default]
#   BENCH_TP_TICK_MS     dialerd's tick_ms [100, the default]
#   BENCH_TP_BATCH       dialerd's claim_batch_max [200, the default]
#   BENCH_TP_REPLAY      dialerd's replay_cache_max [1000000: one signed event per attempt
#                        at 3,300/s within event_max_skew_s 300; the default 200000 fills
#                        within a minute at this rate, and every event then gets 429]
#   BENCH_TP_RINGING     1: the simulator sends `ringing` before `ended` [0]
#   BENCH_TP_DURABLE     1: fsync, full_page_writes and synchronous_commit on (the test cluster
#                        runs without them) [0]
#   BENCH_TP_PROFILE     1: pg_stat_statements, track_functions and `perf record -a` during the
#                        window (the figures then include their cost) [0]
#   BENCH_TP_NO_COUNTERS 1: a what-if, not a result: the counter triggers of sql/0006 disabled in
#                        the private database (the counters then drift; that check is skipped) [0]
#   BENCH_TP_RSS_SIZES   callee counts of the RSS phase ["10000 100000 1000000"]
#   BENCH_TP_RSS_RATE    dials per second during the RSS phase (one caller line) [200]
#   BENCH_TP_RSS_DIAL_S  seconds of dialing before RSS is read [10]
#   BENCH_TP_LAT_SAMPLES samples per latency run, after 50 discarded [1000]
#   BENCH_TP_LAT_BUSY    other agents of the probe's pool, busy throughout [200]
#   BENCH_TP_LAT_LOAD    dials per second of an agentless campaign during the second latency run
#                        (0: no loaded run) [500]
#   BENCH_TP_LAT_LIMIT_S most seconds a latency run may take [120]
#   BENCH_TP_LOG_LEVEL   dialerd's log_level [warn]
#   BENCH_TP_SIM_LOG_LEVEL dialer-sim's --log-level [warn]
#   BENCH_TP_OUT         the JSON file [build/bench-throughput.json]
set -u
export LC_ALL=C
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/lib/stack.sh"

phases=${BENCH_TP_PHASES:-throughput rss latency}
callees=${BENCH_TP_CALLEES:-500000}
warmup=${BENCH_TP_WARMUP:-10}
window=${BENCH_TP_WINDOW:-60}
concurrent=${BENCH_TP_CONCURRENT:-500}
lines=${BENCH_TP_LINES:-20}
pool=${BENCH_TP_POOL:-2}
tick_ms=${BENCH_TP_TICK_MS:-100}
batch=${BENCH_TP_BATCH:-200}
replay=${BENCH_TP_REPLAY:-1000000}
ringing=${BENCH_TP_RINGING:-0}
durable=${BENCH_TP_DURABLE:-0}
profile=${BENCH_TP_PROFILE:-0}
no_counters=${BENCH_TP_NO_COUNTERS:-0}
rss_sizes=${BENCH_TP_RSS_SIZES:-10000 100000 1000000}
rss_rate=${BENCH_TP_RSS_RATE:-200}
rss_dial_s=${BENCH_TP_RSS_DIAL_S:-10}
lat_samples=${BENCH_TP_LAT_SAMPLES:-1000}
lat_busy=${BENCH_TP_LAT_BUSY:-200}
lat_load=${BENCH_TP_LAT_LOAD:-500}
lat_limit=${BENCH_TP_LAT_LIMIT_S:-120}
log_level=${BENCH_TP_LOG_LEVEL:-warn}
sim_log_level=${BENCH_TP_SIM_LOG_LEVEL:-warn}
out_json=${BENCH_TP_OUT:-$root/${BUILD:-build}/bench-throughput.json}
hz=$(getconf CLK_TCK)
t_start=$(date +%s)

die() { echo "bench-throughput: $*" >&2; exit 1; }
say() { echo "bench-throughput: $*"; }
for v in callees warmup window concurrent lines pool tick_ms batch replay rss_rate rss_dial_s lat_samples lat_busy lat_load lat_limit; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v = '${!v}': accepted a whole number"
done
for p in $phases; do
    case $p in throughput|rss|latency) ;; *) die "BENCH_TP_PHASES: '$p': accepted throughput, rss, latency" ;; esac
done
[ "$lines" -ge 1 ] && [ "$lines" -le 1000 ] || die "BENCH_TP_LINES = $lines: accepted 1..1000"
[ "$rss_rate" -ge 1 ] && [ "$rss_rate" -le 256 ] || die "BENCH_TP_RSS_RATE = $rss_rate: accepted 1..256 (one caller line)"
# dialerd lets a caller line place at most 256 dials a second (CALLERS_MAX_CPS): 250 a line.
load_lines=$(( (lat_load + 249) / 250 )); [ "$load_lines" -ge 1 ] || load_lines=1
[ "$window" -ge 10 ] || die "BENCH_TP_WINDOW = $window: accepted 10 seconds or more"
command -v jq >/dev/null 2>&1 || die "jq is not installed; install it with: apt-get install -y jq"
if [ "$profile" = 1 ] && ! command -v perf >/dev/null 2>&1; then
    die "BENCH_TP_PROFILE=1 needs perf; install it with: apt-get install -y linux-perf"
fi

# ---- helpers ---------------------------------------------------------------------------------

# cpu_ticks PID...: user + system clock ticks of the processes (fields 14, 15 of /proc/PID/stat,
# counted after the command name, which may hold spaces).
cpu_ticks() {
    local t=0 p f
    for p in "$@"; do
        f=$(cat "/proc/$p/stat" 2>/dev/null) || continue
        f=${f##*) }
        set -- $f
        t=$((t + ${12} + ${13}))
        shift $#
    done
    echo "$t"
}
# pg_ticks: every tick PostgreSQL spent: the postmaster, its children alive now, and its children
# that have exited (cutime / cstime of the postmaster, which waits for them).
pg_ticks() {
    local f kids
    f=$(cat "/proc/$PG_PID/stat" 2>/dev/null) || { echo 0; return; }
    f=${f##*) }
    set -- $f
    kids=$(pgrep -P "$PG_PID" | tr '\n' ' ')
    echo $(( ${12} + ${13} + ${14} + ${15} + $(cpu_ticks $kids) ))
}
# dialerd_backend_ticks: the ticks of the PostgreSQL backends serving dialerd.
dialerd_backend_ticks() {
    cpu_ticks $(q "SELECT pid FROM pg_stat_activity WHERE application_name = 'bench-tp'" | tr '\n' ' ')
}
# sys_ticks: "busy idle steal" over every CPU, from /proc/stat.
sys_ticks() {
    awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $5 + $6, $9 }' /proc/stat
}
# rss_of PID: "VmRSS VmHWM" in kB.
rss_of() {
    awk '$1 == "VmRSS:" { r = $2 } $1 == "VmHWM:" { h = $2 } END { print r + 0, h + 0 }' "/proc/$1/status"
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
now_s() { date +%s.%N; }
# metric NAME: a sample of dialerd's /metrics (first match, 0 when absent).
metric() {
    curl -s -m 5 "http://127.0.0.1:$DIALERD_PORT/metrics" | awk -v n="$1" '$1 == n { print $2; f = 1; exit } END { if (!f) print 0 }'
}
# pct FILE P: the P-th percentile (nearest rank) of the numbers in FILE, one a line, sorted.
pct() {
    awk -v p="$2" '{ v[NR] = $1 } END { if (NR == 0) { print "null"; exit }
        i = int(p / 100 * NR + 0.999999); if (i < 1) i = 1; if (i > NR) i = NR; print v[i] }' "$1"
}

# start_dialerd: dialerd with the benchmark's settings (the sim's carrier, log at warn).
start_dialerd() {
    stack_dialerd --set instance_name=bench-tp --set log_level="$log_level" --set db_pool_size="$pool" --set tick_ms="$tick_ms" \
        --set claim_batch_max="$batch" --set replay_cache_max="$replay" "$@" || die "dialerd did not start (log: $STACK_DIR/dialerd.log)"
}
# stop_dialerd: SIGTERM (drain) and wait for the process to go.
stop_dialerd() {
    kill -TERM "$DIALERD_PID" 2>/dev/null
    wait_until 40 bash -c "! kill -0 $DIALERD_PID 2>/dev/null" || kill -9 "$DIALERD_PID" 2>/dev/null
    wait "$DIALERD_PID" 2>/dev/null
}
# open_attempts CAMPAIGN: attempts of the campaign not yet ended.
open_attempts() { q "SELECT count(*) FROM dialer.attempts WHERE campaign_id = $1 AND ended_at IS NULL"; }
# new_campaign NAME MODE MAX_CONCURRENT CALLERS_ARRAY [SKILL_GROUP [CALLOUT_RATE]]: a campaign
# without recalls, ready (0) until start_campaign; prints its id.
new_campaign() {
    q "INSERT INTO dialer.campaigns (name, mode, max_concurrent, callers, recall_num, ring_timeout_s,
                                     skill_group_id, callout_rate, not_before)
       VALUES ('$1', '$2', ${3:-NULL}, '$4', 0, 30, ${5:-NULL}, ${6:-1}, '2100-01-01') RETURNING id" | head -1
}
# start_campaign ID: due now; dialerd starts it within a second.
start_campaign() { q "UPDATE dialer.campaigns SET not_before = now() WHERE id = $1" >/dev/null; }
# add_callees CAMPAIGN N PREFIX: N callees in one statement, numbers PREFIX + 8 digits.
add_callees() {
    psql -Xq -c "INSERT INTO dialer.callees (campaign_id, number)
                 SELECT $1, '$3' || lpad(g::text, 8, '0') FROM generate_series(1, $2) g" \
        || die "inserting $2 callees failed"
}
stop_campaign() { q "SELECT dialer.campaign_abort(id) FROM dialer.campaigns WHERE id = $1 AND status IN (0, 1, 2)" >/dev/null; }
# wait_drained CAMPAIGN SECONDS: pause it (unless it is over already), then wait for its calls
# in flight to end.
wait_drained() {
    q "SELECT dialer.campaign_pause(id) FROM dialer.campaigns WHERE id = $1 AND status = 1" >/dev/null
    wait_until "$2" bash -c "[ \$(psql -XAtc 'SELECT count(*) FROM dialer.attempts WHERE campaign_id = $1 AND ended_at IS NULL') = 0 ]"
}

# ---- the stack -------------------------------------------------------------------------------

stack_begin bench_tp
say "load average at start: $(loadavg) ($(nproc) CPUs)"
stack_pg || die "the private PostgreSQL did not start"
datadir=$(cat "$STACK_DIR/pg/datadir" 2>/dev/null || echo "$STACK_DIR/pg/data")
if [ "$profile" = 1 ]; then
    # pg_stat_statements must be loaded at start: one restart of the cluster.
    echo "shared_preload_libraries = 'pg_stat_statements'" >>"$datadir/postgresql.conf"
    echo "pg_stat_statements.track = all" >>"$datadir/postgresql.conf"
    echo "track_functions = 'pl'" >>"$datadir/postgresql.conf"
    "$root/tests/lib/pgcluster.sh" stop "$STACK_DIR/pg" >/dev/null
    "$root/tests/lib/pgcluster.sh" start "$STACK_DIR/pg" >/dev/null || die "restart with pg_stat_statements failed"
    psql -Xq -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" || die "pg_stat_statements is not available"
fi
if [ "$durable" = 1 ]; then
    psql -Xq -c "ALTER SYSTEM SET fsync = on" -c "ALTER SYSTEM SET full_page_writes = on" \
        -c "ALTER SYSTEM SET synchronous_commit = on" -c "SELECT pg_reload_conf()" >/dev/null
fi
if [ "$no_counters" = 1 ]; then
    psql -Xq -c "ALTER TABLE dialer.callees DISABLE TRIGGER callees_count_insert,
                 DISABLE TRIGGER callees_count_update, DISABLE TRIGGER callees_count_delete" \
        -c "ALTER TABLE dialer.attempts DISABLE TRIGGER attempts_count_insert,
            DISABLE TRIGGER attempts_count_update, DISABLE TRIGGER attempts_count_delete" \
        || die "disabling the counter triggers failed"
    say "WHAT-IF RUN: the counter triggers of sql/0006_counters.sql are disabled"
fi
PG_PID=$(head -1 "$datadir/postmaster.pid")
durability=$(q "SELECT string_agg(name || '=' || setting, ' ' ORDER BY name) FROM pg_settings
                WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers')")
say "PostgreSQL $(q 'SHOW server_version'): $durability"

# One simulator for every phase: agentless dials end at once as busy; the skill group's one agent
# answers live calls (the latency probe's pool); each "free" report is paired with the next dial.
cat >"$STACK_DIR/scenario.json" <<'EOF'
{
  "name": "bench-throughput",
  "description": "make bench-throughput: agentless dials end at once (--instant-agentless); one agent in skill group 1 for the free-to-dial probe: ring 1 ms, talk 5 ms, ACW 5 ms at 1000x.",
  "seed": 1, "shift_s": 10000000, "agents": 1, "skill_group_id": 1, "agent_prefix": "probe-",
  "answer_prob": 1, "non_answer": {"busy": 1},
  "ring_s": {"mean": 1, "cv": 0}, "ring_timeout_s": 30,
  "talk_s": {"mean": 5, "cv": 0}, "acw_s": {"mean": 5, "cv": 0}, "abandon_grace_s": 2,
  "sim": {"time_scale": 1000}
}
EOF
sim_flags=(--instant-agentless busy --probe-free-to-dial --log-level "$sim_log_level")
[ "$ringing" = 1 ] && sim_flags+=(--instant-ringing)
stack_sim "$STACK_DIR/scenario.json" "${sim_flags[@]}" || die "dialer-sim did not start"
start_dialerd

# Caller lines with room: each at most 256 dials a second in dialerd (CALLERS_MAX_CPS).
psql -Xq -c "INSERT INTO dialer.caller_numbers (number, max_concurrent, max_cps)
             SELECT '+44207' || lpad(g::text, 7, '0'), 100, 250 FROM generate_series(1, $lines) g" \
    -c "INSERT INTO dialer.caller_numbers (number, max_concurrent, max_cps) VALUES
        ('+442079000001', 100, $rss_rate), ('+442079000003', 10, 200)" \
    -c "INSERT INTO dialer.caller_numbers (number, max_concurrent, max_cps)
        SELECT '+44207901' || lpad(g::text, 4, '0'), 100, greatest($lat_load, 1)::numeric / $load_lines
          FROM generate_series(1, $load_lines) g" \
    || die "caller numbers"
tp_callers="{$(q "SELECT string_agg(number, ',' ORDER BY number) FROM dialer.caller_numbers
                  WHERE number LIKE '+44207%' AND number NOT LIKE '+442079%'")}"

results='{}'
# jset PATH JSON: sets a member of the results object.
jset() { results=$(jq -c --argjson v "$2" "$1 = \$v" <<<"$results"); }

# ---- a. throughput ---------------------------------------------------------------------------

phase_throughput() {
    local cid t0 t1 samples s_first s_last rates n_ok sim_pid pg0 pg1 d0 d1 s0 s1 be0 be1 sys0 sys1
    local x0 x1 dials0 dials1 q0 q1 qs0 qs1 ends0 ends1 perf_pid=
    say "throughput: $callees callees, agentless, max_concurrent $concurrent, $lines caller lines," \
        "db_pool_size $pool, tick_ms $tick_ms, claim_batch_max $batch, replay_cache_max $replay, ringing event $ringing"
    cid=$(new_campaign tp agentless "$concurrent" "$tp_callers")
    add_callees "$cid" "$callees" "+4477"
    psql -Xq -c "ANALYZE dialer.callees"
    start_campaign "$cid"

    # The sampler: one session, one query a second, until killed: time, attempts, attempts open,
    # and how often autovacuum / autoanalyze have processed dialer.callees so far.
    printf "SELECT extract(epoch FROM clock_timestamp())::numeric(16,3), count(*),
                   count(*) FILTER (WHERE ended_at IS NULL),
                   (SELECT autovacuum_count || ' ' || autoanalyze_count FROM pg_stat_user_tables
                     WHERE relid = 'dialer.callees'::regclass)
              FROM dialer.attempts WHERE campaign_id = %s\n\\\\watch 1\n" "$cid" \
        | psql -XAt -F ' ' >"$STACK_DIR/samples.txt" 2>"$STACK_DIR/sampler.err" &
    local sampler=$!
    STACK_PIDS+=("$sampler")
    sleep "$warmup"
    [ "$(q "SELECT count(*) FROM dialer.attempts WHERE campaign_id = $cid")" -gt 0 ] \
        || die "nothing was dialed in the warm-up (dialerd log: $STACK_DIR/dialerd.log)"

    # The window: CPU, database and daemon counters at both ends.
    [ "$profile" = 1 ] && q "SELECT pg_stat_statements_reset(), pg_stat_reset()" >/dev/null
    snap_db() {
        q "SELECT d.xact_commit, d.xact_rollback, d.tup_inserted, d.tup_updated, d.tup_deleted, d.tup_fetched,
                  d.blks_hit, d.blks_read,
                  (SELECT sum(calls) FROM pg_stat_user_functions)
             FROM pg_stat_database d WHERE d.datname = current_database()" | tr '|' ' '
    }
    snap_tables() {
        q "SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del FROM pg_stat_user_tables
            WHERE schemaname = 'dialer' ORDER BY relname"
    }
    sleep 0.5     # statistics are sent at the end of each transaction; let the reset settle
    snap_tables >"$STACK_DIR/tables0.txt"
    x0=$(snap_db); qs0=$(metric dialerd_db_query_duration_seconds_sum); q0=$(metric dialerd_db_query_duration_seconds_count)
    dials0=$(metric dialerd_dials_total)
    ends0=$(q "SELECT count(*) FROM dialer.attempts WHERE campaign_id = $cid AND ended_at IS NOT NULL")
    sim_pid=$SIM_PID
    t0=$(now_s); sys0=$(sys_ticks); pg0=$(pg_ticks); d0=$(cpu_ticks "$DIALERD_PID"); s0=$(cpu_ticks "$sim_pid")
    be0=$(dialerd_backend_ticks); local la0; la0=$(loadavg)
    if [ "$profile" = 1 ]; then
        perf record -F 499 -a -g -o "$STACK_DIR/perf.data" -- sleep "$window" >"$STACK_DIR/perf.log" 2>&1 &
        perf_pid=$!
    fi
    sleep "$window"
    t1=$(now_s); sys1=$(sys_ticks); pg1=$(pg_ticks); d1=$(cpu_ticks "$DIALERD_PID"); s1=$(cpu_ticks "$sim_pid")
    be1=$(dialerd_backend_ticks); local la1; la1=$(loadavg)
    ends1=$(q "SELECT count(*) FROM dialer.attempts WHERE campaign_id = $cid AND ended_at IS NOT NULL")
    x1=$(snap_db); qs1=$(metric dialerd_db_query_duration_seconds_sum); q1=$(metric dialerd_db_query_duration_seconds_count)
    dials1=$(metric dialerd_dials_total)
    snap_tables >"$STACK_DIR/tables1.txt"
    local rss; rss=$(rss_of "$DIALERD_PID")
    curl -s "http://127.0.0.1:$DIALERD_PORT/metrics" >"$STACK_DIR/metrics.txt"
    if [ -n "$perf_pid" ]; then
        wait "$perf_pid"
        # This run's processes only: other clusters and daemons may share the machine.
        echo "$PG_PID $(pgrep -P "$PG_PID" | tr '\n' ' ')" >"$STACK_DIR/pg_pids.txt"
        echo "$DIALERD_PID $SIM_PID" >"$STACK_DIR/app_pids.txt"
    fi
    if [ "$profile" = 1 ]; then
        q "SELECT calls, round(total_exec_time::numeric, 1), round((total_exec_time / calls)::numeric, 4),
                  toplevel, regexp_replace(left(query, 110), '\s+', ' ', 'g')
             FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 25" >"$STACK_DIR/statements.txt"
        q "SELECT funcname, calls, round(total_time::numeric, 1), round(self_time::numeric, 1)
             FROM pg_stat_user_functions ORDER BY total_time DESC" >"$STACK_DIR/functions.txt"
    fi
    kill "$sampler" 2>/dev/null

    # Stop dialing and let the calls in flight end, then check what was written.
    wait_drained "$cid" 30 || say "throughput: calls still open 30 s after the pause"
    sleep 1
    local el=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    # Per-interval rates inside the window, from the sampler.
    # An interval counts when its middle lies inside the window.
    awk -v a="$t0" -v b="$t1" 'NF == 5 {
            if (pt != "" && (pt + $1) / 2 >= a && (pt + $1) / 2 <= b) printf "%.1f %s %s\n", ($2 - $3 - pe) / ($1 - pt), $4, $5
            pt = $1; pe = $2 - $3 }' "$STACK_DIR/samples.txt" >"$STACK_DIR/series.txt"
    cut -d' ' -f1 "$STACK_DIR/series.txt" | sort -n >"$STACK_DIR/rates.txt"
    n_ok=$(wc -l <"$STACK_DIR/rates.txt")
    [ "$n_ok" -ge $((window / 2)) ] || die "the sampler gave $n_ok samples in a $window s window ($STACK_DIR/sampler.err)"
    # The same by commit second (updated_at = now() of the finishing statement), whole seconds
    # inside the window.
    q "SELECT count(*) FROM dialer.attempts WHERE campaign_id = $cid AND ended_at IS NOT NULL
          AND updated_at >= to_timestamp(ceil($t0)) AND updated_at < to_timestamp(floor($t1))
        GROUP BY floor(extract(epoch FROM updated_at)) ORDER BY 1" | sort -n >"$STACK_DIR/by_commit.txt"

    local avg med mn mx cmed cmn series vac
    series=$(awk '{ printf "%s%d", (NR > 1 ? "," : "["), $1 } END { print "]" }' "$STACK_DIR/series.txt")
    # Seconds of the window (from its start) at which autovacuum or autoanalyze had just processed callees.
    vac=$(awk 'NR > 1 && ($2 != pv || $3 != pa) { printf "%s{\"second\":%d,\"autovacuum\":%s,\"autoanalyze\":%s}", (n++ ? "," : ""), NR, ($2 != pv ? "true" : "false"), ($3 != pa ? "true" : "false") }
               { pv = $2; pa = $3 } END { }' "$STACK_DIR/series.txt"); vac="[$vac]"
    avg=$(awk -v n=$((ends1 - ends0)) -v e="$el" 'BEGIN { printf "%.1f", n / e }')
    med=$(pct "$STACK_DIR/rates.txt" 50); mn=$(head -1 "$STACK_DIR/rates.txt"); mx=$(tail -1 "$STACK_DIR/rates.txt")
    cmed=$(pct "$STACK_DIR/by_commit.txt" 50); cmn=$(head -1 "$STACK_DIR/by_commit.txt")

    # Persistence: every attempt ended, callees consistent, no attempt dialed twice.
    local open attempts not_busy callees_bad calling drift dial_lines dial_unique dups stats
    open=$(open_attempts "$cid")
    attempts=$(q "SELECT count(*) FROM dialer.attempts WHERE campaign_id = $cid")
    not_busy=$(q "SELECT count(*) FROM dialer.attempts WHERE campaign_id = $cid AND end_status IS DISTINCT FROM 'busy'")
    calling=$(q "SELECT count(*) FROM dialer.callees WHERE campaign_id = $cid AND state = 3")
    callees_bad=$(q "SELECT count(*) FROM dialer.callees c
                      WHERE c.campaign_id = $cid
                        AND (c.attempts <> (SELECT count(*) FROM dialer.attempts a WHERE a.callee_id = c.id)
                             OR (c.attempts = 1 AND (c.state <> 2 OR c.last_end_status IS DISTINCT FROM 'busy'))
                             OR (c.attempts = 0 AND c.state <> 0) OR c.attempts > 1)")
    if [ "$no_counters" = 1 ]; then drift=0; else drift=$(q "SELECT count(*) FROM dialer.counters_drift()"); fi
    stats=$(curl -s -m 5 "$SIM_CONTROL/stats")
    grep '"type":"dial"' "$SIM_LOG" | grep -F "\"campaign_id\":$cid," \
        | grep -o '"type":"dial","attempt_id":[0-9]*' | cut -d: -f3 | sort -n >"$STACK_DIR/dialed.txt"
    dial_lines=$(wc -l <"$STACK_DIR/dialed.txt")
    dial_unique=$(uniq "$STACK_DIR/dialed.txt" | wc -l)
    dups=$(jq .duplicates <<<"$stats")
    local missing
    missing=$(q "SELECT count(*) FROM dialer.attempts WHERE campaign_id = $cid AND dialed_at IS NULL")

    # CPU shares over the window.
    local cpu
    cpu=$(awk -v el="$el" -v hz="$hz" -v n="$(nproc)" -v pg=$((pg1 - pg0)) -v be=$((be1 - be0)) \
              -v d=$((d1 - d0)) -v s=$((s1 - s0)) -v sb="$sys0" -v se="$sys1" -v done=$((ends1 - ends0)) 'BEGIN {
        split(sb, b, " "); split(se, e, " ")
        busy = e[1] - b[1]; idle = e[2] - b[2]; steal = e[3] - b[3]; tot = busy + idle + steal
        f = 100 / (el * hz)
        printf "{\"postgres_pct\":%.1f,\"postgres_dialerd_backends_pct\":%.1f,\"dialerd_pct\":%.1f,\"dialer_sim_pct\":%.1f,", pg * f, be * f, d * f, s * f
        printf "\"machine_busy_pct\":%.1f,\"machine_capacity_pct\":%d,\"machine_steal_pct\":%.1f,\"other_processes_pct\":%.1f,", busy * 100 / tot * n, n * 100, steal * 100 / tot * n, (busy - pg - d - s) * f
        # CPU time per completed attempt, and the rate the three would reach on all CPUs alone.
        ms = 1000 / hz / done
        printf "\"ms_per_attempt\":{\"postgres\":%.3f,\"dialerd\":%.3f,\"dialer_sim\":%.3f,\"total\":%.3f},", pg * ms, d * ms, s * ms, (pg + d + s) * ms
        printf "\"attempts_per_s_if_alone\":%.0f}", n * 1000 / ((pg + d + s) * ms) }')
    # Database work per completed attempt.
    local per
    per=$(awk -v a="$x0" -v b="$x1" -v n=$((ends1 - ends0)) -v el="$el" 'BEGIN {
        split(a, u, " "); split(b, v, " ")
        printf "{\"transactions\":%.3f,\"rows_inserted\":%.3f,\"rows_updated\":%.3f,\"rows_deleted\":%.3f,\"rows_fetched\":%.1f,\"buffer_hits\":%.1f,\"plpgsql_function_calls\":%s,\"transactions_per_s\":%.0f}",
            (v[1] - u[1]) / n, (v[3] - u[3]) / n, (v[4] - u[4]) / n, (v[5] - u[5]) / n, (v[6] - u[6]) / n,
            (v[7] - u[7]) / n, (v[9] == "" ? "null" : sprintf("%.3f", (v[9] - u[9]) / n)), (v[1] - u[1]) / el }')
    local tables
    tables=$(join "$STACK_DIR/tables0.txt" "$STACK_DIR/tables1.txt" -t '|' | awk -F'|' -v n=$((ends1 - ends0)) '
        BEGIN { printf "{"; k = 0 }
        { ins = ($6 - $2) / n; upd = ($7 - $3) / n; hot = ($8 - $4) / n; del = ($9 - $5) / n
          if (ins + upd + del == 0) next
          printf "%s\"%s\":{\"ins\":%.3f,\"upd\":%.3f,\"hot_upd\":%.3f,\"del\":%.3f}", (k++ ? "," : ""), $1, ins, upd, hot, del }
        END { printf "}" }')
    local qn=$(awk -v a="$q0" -v b="$q1" 'BEGIN { printf "%d", b - a }')
    local qmean=$(awk -v a="$qs0" -v b="$qs1" -v n="$qn" 'BEGIN { printf "%.3f", (n > 0 ? (b - a) / n * 1000 : 0) }')

    jset .throughput "$(jq -nc --argjson callees "$callees" --argjson window_s "$el" --argjson avg "$avg" \
        --argjson median "$med" --argjson min "$mn" --argjson max "$mx" --argjson samples "$n_ok" \
        --argjson cmed "${cmed:-null}" --argjson cmn "${cmn:-null}" --argjson series "$series" --argjson vac "$vac" \
        --argjson completed $((ends1 - ends0)) --argjson dials $((${dials1%.*} - ${dials0%.*})) \
        --argjson cpu "$cpu" --argjson per "$per" --argjson tables "$tables" \
        --argjson qn "$qn" --argjson qmean "$qmean" \
        --argjson rss_kb "$(cut -d' ' -f1 <<<"$rss")" --argjson hwm_kb "$(cut -d' ' -f2 <<<"$rss")" \
        --arg la0 "$la0" --arg la1 "$la1" \
        --argjson open "$open" --argjson attempts "$attempts" --argjson not_busy "$not_busy" \
        --argjson calling "$calling" --argjson callees_bad "$callees_bad" --argjson drift "$drift" \
        --argjson dial_lines "$dial_lines" --argjson dial_unique "$dial_unique" --argjson dups "$dups" \
        --argjson never_dialed "$missing" \
        --argjson ev_failed "$(jq .events.failed <<<"$stats")" \
        --argjson ev_retried "$(jq .events.retried <<<"$stats")" \
        --argjson rej "$(jq '.rejected_429 + .rejected_503 + .rejected_500 + .rejected_400' <<<"$stats")" \
        '{callees: $callees, window_s: $window_s, completed: $completed, dials_placed: $dials,
          attempts_per_s_avg: $avg, per_second: {median: $median, min: $min, max: $max, samples: $samples, series: $series},
          callees_autovacuum_in_window: $vac,
          per_commit_second: {median: $cmed, min: $cmn},
          load_average_start: $la0, load_average_end: $la1, cpu: $cpu,
          per_attempt: $per, tables_per_attempt: $tables,
          dialerd_db_queries: $qn, dialerd_db_query_mean_ms: $qmean,
          dialerd_rss_kb: $rss_kb, dialerd_hwm_kb: $hwm_kb,
          checks: {attempts: $attempts, open_after_drain: $open, end_status_not_busy: $not_busy,
                   callees_calling: $calling, callees_inconsistent: $callees_bad,
                   counters_drift_rows: $drift, sim_dial_lines: $dial_lines,
                   sim_distinct_attempts: $dial_unique, sim_duplicate_dials: $dups,
                   attempts_without_dialed_at: $never_dialed, sim_rejected_dials: $rej,
                   events_failed: $ev_failed, events_retried: $ev_retried}}')"
    say "throughput: $((ends1 - ends0)) attempts completed in $el s = $avg/s; per second median $med, min $mn, max $mx"
    [ "$open" = 0 ] && [ "$calling" = 0 ] && [ "$callees_bad" = 0 ] && [ "$drift" = 0 ] && \
        [ "$dial_lines" = "$dial_unique" ] && [ "$dups" = 0 ] && [ "$dial_lines" = "$attempts" ] && \
        [ "$not_busy" = 0 ] && [ "$missing" = 0 ]
    tp_checks=$?
    [ "$tp_checks" = 0 ] || say "throughput: PERSISTENCE CHECK FAILED: $(jq -c .throughput.checks <<<"$results")"
    stop_campaign "$cid"
    TP_CAMPAIGN=$cid
}

# ---- b. RSS ----------------------------------------------------------------------------------

phase_rss() {
    local n cid d0 d1 rss prefix i=0 first=
    say "rss: one running campaign at a time, $rss_rate dials/s, RSS read after $rss_dial_s s of dialing"
    for n in $rss_sizes; do
        i=$((i + 1))
        prefix="+44$((70 + i))"
        stop_dialerd
        cid=$(new_campaign "rss-$n" agentless 100 "{+442079000001}")
        local ti=$(now_s)
        add_callees "$cid" "$n" "$prefix"
        psql -Xq -c "ANALYZE dialer.callees"
        start_campaign "$cid"
        local ins_s=$(awk -v a="$ti" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }')
        start_dialerd
        local rss0; rss0=$(rss_of "$DIALERD_PID")
        wait_until 20 bash -c "[ \$(psql -XAtc 'SELECT count(*) FROM dialer.attempts WHERE campaign_id = $cid') -gt 0 ]" \
            || die "rss: campaign of $n callees did not start dialing"
        d0=$(q "SELECT count(*) FROM dialer.attempts WHERE campaign_id = $cid")
        sleep "$rss_dial_s"
        d1=$(q "SELECT count(*) FROM dialer.attempts WHERE campaign_id = $cid")
        rss=$(rss_of "$DIALERD_PID")
        say "rss: $n callees (inserted in $ins_s s): VmRSS $(cut -d' ' -f1 <<<"$rss") kB, VmHWM $(cut -d' ' -f2 <<<"$rss") kB" \
            "after $((d1 - d0)) dials in $rss_dial_s s (at start $(cut -d' ' -f1 <<<"$rss0") kB)"
        jset ".rss[\"$n\"]" "$(jq -nc --argjson rss "$(cut -d' ' -f1 <<<"$rss")" --argjson hwm "$(cut -d' ' -f2 <<<"$rss")" \
            --argjson start "$(cut -d' ' -f1 <<<"$rss0")" --argjson dials $((d1 - d0)) --argjson ins "$ins_s" \
            '{vmrss_kb: $rss, vmhwm_kb: $hwm, vmrss_at_start_kb: $start, dials_in_window: $dials, insert_s: $ins}')"
        stop_campaign "$cid"
        [ -z "$first" ] && first=$n
        last=$n
    done
    if [ -n "$first" ] && [ "$first" != "$last" ]; then
        jset .rss_ratio "$(jq -c --arg a "$first" --arg b "$last" \
            '{of: "\($b)/\($a)", vmrss: ((.rss[$b].vmrss_kb / .rss[$a].vmrss_kb * 1000 | round) / 1000),
              vmhwm: ((.rss[$b].vmhwm_kb / .rss[$a].vmhwm_kb * 1000 | round) / 1000)}' <<<"$results")"
    fi
}

# ---- c. latency: agent free -> dial ----------------------------------------------------------

# lat_run NAME: collects BENCH_TP_LAT_SAMPLES probe samples after 50 discarded, for at most
# BENCH_TP_LAT_LIMIT_S seconds; writes them into the results.
lat_run() {
    local name=$1 have off want=$((lat_samples + 50)) la t0 el end
    # Only the log written from here on is read: after the throughput and RSS phases the log
    # holds about 150 MB, and counting its probe lines every 0.1 s (about 80 ms of CPU a count)
    # took up to half a core from the run it measures.
    off=$(stat -c %s "$SIM_LOG")
    la=$(loadavg); t0=$(now_s); end=$(( $(date +%s) + lat_limit ))
    until [ "$(tail -c +$((off + 1)) "$SIM_LOG" | grep -c '"type":"probe"')" -ge "$want" ]; do
        [ "$(date +%s)" -ge "$end" ] && { say "latency ($name): fewer than $want samples in $lat_limit s"; break; }
        sleep 0.5
    done
    tail -c +$((off + 1)) "$SIM_LOG" | grep '"type":"probe"' | tail -n +51 | head -n "$lat_samples" \
        | grep -o '"latency_us":[0-9]*' | cut -d: -f2 | sort -n >"$STACK_DIR/lat-$name.txt"
    have=$(wc -l <"$STACK_DIR/lat-$name.txt")
    local p50 p90 p99 mx
    p50=$(pct "$STACK_DIR/lat-$name.txt" 50); p90=$(pct "$STACK_DIR/lat-$name.txt" 90)
    p99=$(pct "$STACK_DIR/lat-$name.txt" 99); mx=$(tail -1 "$STACK_DIR/lat-$name.txt")
    el=$(awk -v a="$t0" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }')
    jset ".latency[\"$name\"]" "$(jq -nc --argjson n "$have" --argjson p50 "$p50" --argjson p90 "$p90" \
        --argjson over10 "$(awk '$1 > 10000' "$STACK_DIR/lat-$name.txt" | wc -l)" \
        --argjson stalls "$(awk '$1 > 1000000' "$STACK_DIR/lat-$name.txt" | wc -l)" --argjson el "$el" \
        --argjson p99 "$p99" --argjson max "${mx:-null}" --arg la "$la" --arg la1 "$(loadavg)" --argjson off "$off" \
        --argjson probe "$(curl -s -m 5 "$SIM_CONTROL/stats" | jq -c .probe)" \
        'def ms: if . == null then null else . / 1000 end;
         {samples: $n, p50_ms: ($p50 | ms), p90_ms: ($p90 | ms), p99_ms: ($p99 | ms),
          max_ms: ($max | ms), over_10ms: $over10, over_1s: $stalls, seconds: $el,
          load_average_start: $la, load_average_end: $la1, sim_log_bytes_before: $off, sim_probe: $probe}')"
    say "latency ($name): $have samples: p50 $(jq -r ".latency[\"$name\"].p50_ms" <<<"$results") ms," \
        "p90 $(jq -r ".latency[\"$name\"].p90_ms" <<<"$results") ms, p99 $(jq -r ".latency[\"$name\"].p99_ms" <<<"$results") ms," \
        "max $(jq -r ".latency[\"$name\"].max_ms" <<<"$results") ms"
}

phase_latency() {
    local cid lid
    say "latency: progressive, callout_rate 1, one agent freed at a time, $lat_busy other agents busy"
    psql -Xq -c "INSERT INTO dialer.agents (id, name, status)
                 SELECT 'busy-' || g, 'busy-' || g, 'busy' FROM generate_series(1, $lat_busy) g" \
        -c "INSERT INTO dialer.agent_skill_groups (agent_id, skill_group_id)
            SELECT 'busy-' || g, 1 FROM generate_series(1, $lat_busy) g" || die "busy agents"
    cid=$(new_campaign lat progressive "" "{+442079000003}" 1 1)
    add_callees "$cid" $(( (lat_samples + 100) * 3 )) "+4479"
    start_campaign "$cid"
    # A fresh daemon: its agents and pools from the database as they are now.
    stop_dialerd
    start_dialerd
    lat_run idle
    if [ "$lat_load" -gt 0 ]; then
        lid=$(new_campaign lat-load agentless 400 "{$(q "SELECT string_agg(number, ',' ORDER BY number)
                                                        FROM dialer.caller_numbers WHERE number LIKE '+44207901%'")}")
        add_callees "$lid" $(( lat_load * (lat_limit + 60) )) "+4476"
        start_campaign "$lid"
        wait_until 20 bash -c "[ \$(psql -XAtc 'SELECT count(*) FROM dialer.attempts WHERE campaign_id = $lid') -gt $lat_load ]" \
            || say "latency: the load campaign did not start"
        local a0 a1 t0 t1
        a0=$(q "SELECT count(*) FROM dialer.attempts WHERE campaign_id = $lid AND ended_at IS NOT NULL"); t0=$(now_s)
        lat_run loaded
        a1=$(q "SELECT count(*) FROM dialer.attempts WHERE campaign_id = $lid AND ended_at IS NOT NULL"); t1=$(now_s)
        jset '.latency.loaded.load_attempts_per_s' "$(awk -v n=$((a1 - a0)) -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) }')"
        stop_campaign "$lid"
    fi
    stop_campaign "$cid"
}

tp_checks=0
for p in $phases; do "phase_$p"; done

# ---- report ----------------------------------------------------------------------------------

jset .run "$(jq -nc --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg commit "${BENCH_TP_COMMIT:-$(git -C "$root" rev-parse --short HEAD 2>/dev/null)}" \
    --arg dirty "$(git -C "$root" status --porcelain 2>/dev/null | grep -c .)" --argjson cpus "$(nproc)" \
    --arg la "$(loadavg)" --arg pg "$durability" --argjson wall $(( $(date +%s) - t_start )) \
    --argjson pool "$pool" --argjson tick "$tick_ms" --argjson batch "$batch" --argjson conc "$concurrent" \
    --argjson lines "$lines" --argjson ringing "$ringing" --argjson profile "$profile" --argjson nc "$no_counters" \
    '{date: $date, commit: $commit, uncommitted_files: ($dirty | tonumber), cpus: $cpus, load_average_end: $la,
      postgres: $pg, wall_s: $wall, db_pool_size: $pool, tick_ms: $tick, claim_batch_max: $batch,
      max_concurrent: $conc, caller_lines: $lines, ringing_event: ($ringing == 1), profiled: ($profile == 1),
      counter_triggers_disabled: ($nc == 1)}')"
results=$(jq -c '.targets = {
    throughput_2000_per_s_every_second_of_60_s:
        (if .throughput then (.throughput.per_second.min >= 2000 and .throughput.window_s >= 59.5) else null end),
    rss_largest_within_10_pct_of_smallest:
        (if .rss_ratio then ((.rss_ratio.vmrss - 1) | fabs) <= 0.1 else null end),
    free_to_dial_p99_10_ms_idle: (if .latency.idle then (.latency.idle.p99_ms // 1e18) <= 10 else null end),
    free_to_dial_p99_10_ms_loaded: (if .latency.loaded then (.latency.loaded.p99_ms // 1e18) <= 10 else null end)}' <<<"$results")
mkdir -p "$(dirname "$out_json")"
jq . <<<"$results" >"$out_json"

echo
echo "bench-throughput ($(jq -r .run.date <<<"$results"), $(nproc) CPUs, load average at the end $(loadavg))"
if jq -e .throughput >/dev/null <<<"$results"; then
    jq -r '.throughput | "
  throughput (\(.callees) callees, agentless, every outcome committed)   target >= 2000/s for 60 s
    attempts completed per second   \(.attempts_per_s_avg) average over \(.window_s) s
    per-second samples              median \(.per_second.median), min \(.per_second.min), max \(.per_second.max) (\(.per_second.samples) samples)
    by commit second                median \(.per_commit_second.median), min \(.per_commit_second.min)
    per second, in order            \(.per_second.series | map(tostring) | join(" "))
    autovacuum of callees at        \(.callees_autovacuum_in_window | if length == 0 then "none in the window" else map("\(.second) s\(if .autovacuum then " vacuum" else "" end)\(if .autoanalyze then " analyze" else "" end)") | join(", ") end)
    CPU (% of one core)             postgres \(.cpu.postgres_pct) (dialerd backends \(.cpu.postgres_dialerd_backends_pct)), dialerd \(.cpu.dialerd_pct), dialer-sim \(.cpu.dialer_sim_pct), other \(.cpu.other_processes_pct), machine busy \(.cpu.machine_busy_pct) of \(.cpu.machine_capacity_pct)
    CPU ms per attempt              postgres \(.cpu.ms_per_attempt.postgres), dialerd \(.cpu.ms_per_attempt.dialerd), dialer-sim \(.cpu.ms_per_attempt.dialer_sim), total \(.cpu.ms_per_attempt.total): at most \(.cpu.attempts_per_s_if_alone)/s on these CPUs alone
    per attempt                     \(.per_attempt.transactions) transactions, \(.per_attempt.rows_inserted) rows inserted, \(.per_attempt.rows_updated) updated, \(.per_attempt.plpgsql_function_calls // "n/a") plpgsql calls
    dialerd DB round trip           mean \(.dialerd_db_query_mean_ms) ms over \(.dialerd_db_queries) queries
    load average                    \(.load_average_start) -> \(.load_average_end)
    persistence checks              \(.checks | to_entries | map("\(.key)=\(.value)") | join(" "))"' <<<"$results"
fi
if jq -e .rss >/dev/null <<<"$results"; then
    echo
    echo "  daemon RSS with a running campaign                                       target 1M within 10 % of 10k"
    jq -r '.rss | to_entries[] | "    \(.key) callees  VmRSS \(.value.vmrss_kb) kB  VmHWM \(.value.vmhwm_kb) kB  (\(.value.dials_in_window) dials in the window)"' <<<"$results"
    jq -r 'if .rss_ratio then "    ratio \(.rss_ratio.of): VmRSS \(.rss_ratio.vmrss), VmHWM \(.rss_ratio.vmhwm)" else empty end' <<<"$results"
fi
if jq -e .latency >/dev/null <<<"$results"; then
    echo
    echo "  agent free -> dial arriving at the carrier                               target p99 <= 10 ms"
    jq -r '.latency | to_entries[] | "    \(.key)\(if .value.load_attempts_per_s then " (\(.value.load_attempts_per_s) attempts/s alongside)" else "" end): \(.value.samples) samples in \(.value.seconds) s  p50 \(.value.p50_ms) ms  p90 \(.value.p90_ms) ms  p99 \(.value.p99_ms) ms  max \(.value.max_ms) ms  (\(.value.over_10ms) over 10 ms, \(.value.over_1s) over 1 s)"' <<<"$results"
fi
echo
echo "  targets: $(jq -r '.targets | to_entries | map("\(.key) \(if .value == null then "not run" elif .value then "MET" else "NOT MET" end)") | join(", ")' <<<"$results")"
echo
say "written to $out_json (work directory $STACK_DIR, wall time $(( $(date +%s) - t_start )) s)"
if [ "$profile" = 1 ]; then
    mkdir -p "$root/${BUILD:-build}/bench-throughput-profile"
    cp "$STACK_DIR"/statements.txt "$STACK_DIR"/functions.txt "$STACK_DIR"/tables0.txt "$STACK_DIR"/tables1.txt \
       "$STACK_DIR"/metrics.txt "$root/${BUILD:-build}/bench-throughput-profile/" 2>/dev/null
    if [ -f "$STACK_DIR/perf.data" ]; then
        prof="$root/${BUILD:-build}/bench-throughput-profile"
        pg_pids=$(tr -s ' ' ',' <"$STACK_DIR/pg_pids.txt" | sed 's/,$//')
        all_pids="$pg_pids,$(tr -s ' ' ',' <"$STACK_DIR/app_pids.txt" | sed 's/,$//')"
        # Shares of all samples on all CPUs: this run's processes by program and library...
        perf report -i "$STACK_DIR/perf.data" --pid "$all_pids" --no-children --sort comm,dso --stdio -g none \
            2>/dev/null | grep -v '^#' | grep -v '^$' | head -40 >"$prof/perf-comm-dso.txt"
        # ... PostgreSQL's functions, self time ...
        perf report -i "$STACK_DIR/perf.data" --pid "$pg_pids" --no-children --sort sym --stdio -g none \
            2>/dev/null | grep -v '^#' | grep -v '^$' | head -60 >"$prof/perf-postgres-self.txt"
        # ... and with their callees (where the time goes: triggers, executor start-up, scans, commit).
        perf report -i "$STACK_DIR/perf.data" --pid "$pg_pids" --children --sort sym --stdio -g none \
            2>/dev/null | grep -v '^#' | grep -v '^$' | head -80 >"$prof/perf-postgres-children.txt"
        perf report -i "$STACK_DIR/perf.data" --pid "$(tr -s ' ' ',' <"$STACK_DIR/app_pids.txt" | sed 's/,$//')" \
            --no-children --sort comm,sym --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' \
            | head -60 >"$prof/perf-dialerd-sim.txt"
    fi
    say "profile in $root/${BUILD:-build}/bench-throughput-profile/"
fi
# The simulator first: its drain reports every agent offline to dialerd.
kill -TERM "$SIM_PID" 2>/dev/null
wait_until 10 bash -c "! kill -0 $SIM_PID 2>/dev/null"
stop_dialerd
# The ground-truth log of a run holds two lines per attempt (tens of MB): kept with STACK_KEEP=1.
[ -n "${STACK_KEEP:-}" ] || rm -f "$SIM_LOG"
exit "$tp_checks"

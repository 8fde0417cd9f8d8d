#!/usr/bin/env bash
# Dashboard views benchmark (`make bench-views`): the views of 0006_counters against 1M callees
# and 3M attempts in a private PostgreSQL, and what the counter triggers cost the daemon's writes.
#
#   1. Load: 20 campaigns, 1M callees and 3 attempts each (1 % placed in the last hour, the rest
#      over 40 days) with generate_series, into a database migrated up to 0005 (no counters), as
#      an existing deployment would be; then apply the newer migrations (the counters' backfill).
#   2. Traffic: claims and call events from several pgbench clients, so that the counter slots
#      of the current hour fill as in production and the newest attempt pages are not all-visible.
#   3. Views: EXPLAIN ANALYZE of each dashboard query BENCH_VIEWS_RUNS times; the median execution
#      time must be under 50 ms, and the worst run is shown too.
#   4. Overhead: the same claim-like UPDATE batches and call-event UPDATEs (each statement its own
#      transaction, as dialerd runs them) against two copies of a smaller database, one without
#      and one with the counters, alternating, BENCH_VIEWS_ROUNDS rounds; medians.
#   5. The counters equal a recount (dialer.counters_drift() is empty) after all of it.
#
# Prints the figures, writes them to build/bench-views.txt and into the section
# "## Dashboard views: `make bench-views`" of BENCHMARKS.md (between its markers; the section is
# appended when missing). Exits 1 if a view is over the limit or the counters drifted.
#
#   BENCH_VIEWS_CALLEES=1000000 BENCH_VIEWS_CAMPAIGNS=20 BENCH_VIEWS_ATTEMPTS_PER_CALLEE=3
#   BENCH_VIEWS_RUNS=7 BENCH_VIEWS_ROUNDS=5 BENCH_VIEWS_LIMIT_MS=50 BENCH_VIEWS_WRITE=1 (0: no
#   BENCHMARKS.md update)
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
callees=${BENCH_VIEWS_CALLEES:-1000000}
campaigns=${BENCH_VIEWS_CAMPAIGNS:-20}
per=${BENCH_VIEWS_ATTEMPTS_PER_CALLEE:-3}
runs=${BENCH_VIEWS_RUNS:-7}
rounds=${BENCH_VIEWS_ROUNDS:-5}
limit_ms=${BENCH_VIEWS_LIMIT_MS:-50}
write=${BENCH_VIEWS_WRITE:-1}
out_txt="$root/${BUILD:-build}/bench-views.txt"

die() { echo "bench-views: $*" >&2; exit 1; }

pgbench=$(command -v pgbench 2>/dev/null || true)
[ -x "$(pg_config --bindir 2>/dev/null)/pgbench" ] && pgbench="$(pg_config --bindir)/pgbench"
[ -n "$pgbench" ] || pgbench=$(ls /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | sort -V | tail -1)
[ -n "$pgbench" ] || die "pgbench not found (it comes with the postgresql package)"

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-views.XXXXXX")
chmod 755 "$work"
trap '"$root/tests/lib/pgcluster.sh" destroy "$work/pg" >/dev/null 2>&1; rm -rf "$work"' EXIT
"$root/tests/lib/pgcluster.sh" start "$work/pg" >/dev/null || die "the private PostgreSQL did not start"
. "$work/pg/env"
export PGOPTIONS="-c client_min_messages=warning"
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# The migrations before 0006, for databases "as before the counters".
mkdir -p "$work/sql_before"
for f in "$root"/sql/[0-9][0-9][0-9][0-9]_*.sql; do
    v=$(basename "$f"); v=$((10#${v%%_*}))
    [ "$v" -lt 6 ] && cp "$f" "$work/sql_before/"
done
cp "$root/sql/migrate.sh" "$work/sql_before/"

# Fixed data: skill groups, agents, campaigns, callees (a state mix), attempts.
cat >"$work/load.sql" <<'SQL'
\set ON_ERROR_STOP 1
insert into dialer.skill_groups (id, name) select g, 'group ' || g from generate_series(1, 10) g;
insert into dialer.agents (id, status)
select 'agent-' || g, (array['free', 'busy', 'busy', 'busy', 'arrange', 'notReady', 'rest', 'offline'])[1 + g % 8]
  from generate_series(0, 499) g;
insert into dialer.agent_skill_groups (agent_id, skill_group_id) select 'agent-' || g, 1 + g % 10 from generate_series(0, 499) g;
insert into dialer.campaigns (name, skill_group_id, callers)
select 'campaign ' || g, 1 + g % 10, '{+442070000001,+442070000002}' from generate_series(1, :campaigns) g;
-- per campaign: 5 % initial, 5 % calling, 15 % pending retry, 30 % answered, 45 % unanswered
insert into dialer.callees (campaign_id, number, state, attempts, next_attempt_at)
select c.id, '+4477' || lpad(g::text, 9, '0'), s.state, :per, case when s.state = 4 then now() + interval '1 hour' end
  from (select id, row_number() over (order by id) - 1 as k from dialer.campaigns) c
 cross join generate_series(c.k * (:callees / :campaigns) + 1, (c.k + 1) * (:callees / :campaigns)) g
 cross join lateral (select (case when g % 20 = 0 then 0 when g % 20 = 1 then 3 when g % 20 < 5 then 4
                                  when g % 20 < 11 then 1 else 2 end)::smallint as state) s;
-- :per attempts per callee: 1 % placed in the last hour, the rest spread over 40 days; 40 %
-- answered (4 % of all machines, 1.6 % abandoned, 34.4 % connected to an agent of the campaign's
-- group for 30..600 s); those of the last 2 minutes are still in flight. Inserted in the order
-- they were placed, as dialerd inserts them: the rows of an hour share their pages.
insert into dialer.attempts (callee_id, campaign_id, attempt_no, caller, skill_group_id, instance, created_at,
                             dialed_at, ringing_at, answered_at, connected_at, ended_at, end_status, success, agent_id)
select id, campaign_id, n, '+442070000001', skill_group_id, 'bench', created,
       created + interval '200 ms', created + interval '1 s',
       case when kind <> 'notAnswer' then created + ring end,
       case when kind = 'ok' then created + ring + acd end,
       case when live then null when kind = 'ok' then created + ring + acd + talk else created + ring + interval '5 s' end,
       case when not live then kind end,
       case when not live then kind = 'ok' end,
       case when kind = 'ok' then 'agent-' || ((skill_group_id - 1) + 10 * (id % 50)) end
  from (select *, created > now() - interval '2 minutes' as live
          from (select e.id, e.campaign_id, n, c.skill_group_id,
                       now() - case when random() < 0.01 then random() * interval '1 hour'
                                    else interval '1 hour' + random() * interval '40 days' end as created,
                       (array['machine', 'abandoned', 'ok', 'notAnswer'])[width_bucket(random(), array[0, 0.04, 0.056, 0.40])] as kind,
                       make_interval(secs => 3 + 22 * random()) as ring,
                       make_interval(secs => 0.2 + 1.8 * random()) as acd,
                       make_interval(secs => 30 + 570 * random()) as talk
                  from dialer.callees e
                  join dialer.campaigns c on c.id = e.campaign_id
                 cross join generate_series(1, :per) n) s) t
 order by created;
SQL

# dialerd's claim (src/store.c, STORE_CLAIM_SQL in insertion order) for 10 callees of a random
# campaign, one statement: callees 0 -> 3 and their attempt rows.
cat >"$work/claim.sql" <<'SQL'
\set c random(1, :campaigns)
WITH picked AS (
  SELECT c.id FROM dialer.callees c
   WHERE c.campaign_id = :c AND c.state IN (0, 4) AND (c.state = 0 OR c.next_attempt_at <= now())
     AND NOT EXISTS (SELECT 1 FROM dialer.dnc d WHERE d.number = c.number)
   ORDER BY c.id LIMIT 10 FOR UPDATE OF c SKIP LOCKED
), upd AS (
  UPDATE dialer.callees c SET state = 3, attempts = c.attempts + 1 FROM picked WHERE c.id = picked.id
  RETURNING c.id, c.number, c.attempts
), slot AS (
  SELECT upd.*, row_number() OVER (ORDER BY upd.id) AS rn FROM upd
), ins AS (
  INSERT INTO dialer.attempts (callee_id, campaign_id, attempt_no, caller, skill_group_id, instance)
  SELECT s.id, :c, s.attempts, '+442070000001', (:c - 1) % 10 + 1, 'bench' FROM slot s RETURNING id
)
SELECT count(*) FROM ins;
SQL

# One call's life after its claim, one write per statement (src/store.c: the dial mark,
# attempt_event for ringing / answered / connected, the end with the callee's outcome): five
# statements, each its own transaction. dialerd batches the dial marks and the ends of many
# calls into one statement each, so this is the per-call worst case of the trigger cost. The attempt comes from a sequence over the
# attempts the claims inserted.
cat >"$work/events.sql" <<'SQL'
SELECT nextval('bench_attempt') AS k \gset
UPDATE dialer.attempts SET dialed_at = coalesce(dialed_at, now()), session_id = coalesce(session_id, 's' || id) WHERE id = :k;
UPDATE dialer.attempts SET ringing_at = coalesce(ringing_at, now()), last_seq = greatest(last_seq, 1) WHERE id = :k AND ringing_at IS NULL;
UPDATE dialer.attempts SET answered_at = coalesce(answered_at, now()), last_seq = greatest(last_seq, 2) WHERE id = :k AND answered_at IS NULL;
UPDATE dialer.attempts SET connected_at = coalesce(connected_at, now()), agent_id = coalesce(agent_id, 'agent-' || (id % 500)), last_seq = greatest(last_seq, 3) WHERE id = :k AND connected_at IS NULL;
WITH a AS (UPDATE dialer.attempts SET ended_at = now(), end_status = 'ok', success = true, last_seq = greatest(last_seq, 4) WHERE id = :k AND ended_at IS NULL RETURNING id, callee_id, attempt_no) UPDATE dialer.callees SET state = 1, last_end_status = 'ok', next_attempt_at = NULL FROM a WHERE callees.id = a.callee_id AND callees.state = 3 AND callees.attempts = a.attempt_no;
SQL

# pgbench_run DB SCRIPT CLIENTS TX [pgbench options]: runs it, prints "tps latency_ms" (average
# per transaction), then with -r the average of each statement in ms. Sessions say they are
# dialerd's (dialer.origin), as the daemon's do: 0002's NOTIFY triggers then stay quiet, as
# they do for the daemon. One call's life is one transaction of the events script: its 5
# statements (and the sequence read), each committed on its own as in autocommit.
pgbench_run() {
    local out
    out=$(PGOPTIONS="$PGOPTIONS -c dialer.origin=dialerd" "$pgbench" -n -f "$2" -c "$3" -j "$(( $3 < 2 ? $3 : 2 ))" -t "$4" \
              -D campaigns="$campaigns" "${@:5}" "$1" 2>&1) \
        || { echo "$out" >&2; die "pgbench $2 on $1 failed"; }
    printf '%s %s %s\n' "$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out")" \
                        "$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$out")" \
                        "$(awk '/^ +[0-9.]+ +[0-9]+ +[A-Za-z]/ { printf "%s ", $1 }' <<<"$out")"
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# 1. Load ---------------------------------------------------------------------------------------
echo "bench-views: loading $callees callees x $per attempts in $campaigns campaigns (schema before 0006)"
createdb bench || die "createdb failed"
"$work/sql_before/migrate.sh" dbname=bench >/dev/null || die "migrating to 0005 failed"
t0=$(date +%s%N)
q -d bench -v campaigns="$campaigns" -v callees="$callees" -v per="$per" -f "$work/load.sql" || die "loading failed"
load_ms=$(ms_since "$t0")
# The visibility map as autovacuum keeps it: set for all but the newest pages. The first
# VACUUM right after the load may leave the pages unmarked (it did here), so vacuum until it
# has marked them (at most three times).
for ((i = 0; i < 3; i++)); do
    q -d bench -c "vacuum analyze" || die "vacuum failed"
    [ "$(q -d bench -c "select relallvisible * 10 >= relpages * 9 from pg_class where oid = 'dialer.attempts'::regclass")" = t ] && break
done
# For comparison, the views as 0003 made them (counting rows), on the same data: 3 runs.
: >"$work/before.txt"
for sql in "select * from dialer.campaign_progress" "select * from dialer.campaign_progress where campaign_id = 7" \
           "select * from dialer.call_latency"; do
    : >"$work/exec"
    for ((i = 0; i < 3; i++)); do
        q -d bench -c "explain (analyze) $sql" | sed -n 's/^Execution Time: \(.*\) ms$/\1/p' >>"$work/exec"
    done
    printf '%-80s %8.2f ms (0003)\n' "$sql" "$(median <"$work/exec")" >>"$work/before.txt"
done
t0=$(date +%s%N)
"$root/sql/migrate.sh" dbname=bench >"$work/migrate.out" 2>&1 || { cat "$work/migrate.out" >&2; die "migrating failed"; }
migrate_ms=$(ms_since "$t0")
q -d bench -c "analyze"
read -r n_callees n_attempts n_last_hour < <(q -d bench -F ' ' -c "select (select count(*) from dialer.callees), count(*), count(*) filter (where created_at >= now() - interval '1 hour') from dialer.attempts")
echo "bench-views: loaded in $((load_ms / 1000)) s; migrations to $(q -d bench -c 'select max(version) from dialer.schema_version') (backfill, index) in $((migrate_ms / 1000)) s"

# 2. Traffic ------------------------------------------------------------------------------------
# Claims from 8 clients, then the events of all those calls, so that the calls in flight stay
# those of the load (its last 2 minutes, ~1000): the counter slots of this hour fill.
q -d bench -c "create sequence bench_attempt start $(q -d bench -c 'select max(id) + 1 from dialer.attempts')"
pgbench_run bench "$work/claim.sql" 8 50 >/dev/null
pgbench_run bench "$work/events.sql" 8 500 >/dev/null
q -d bench -c "analyze"
read -r live_slots < <(q -d bench -c "select count(*) from dialer.attempt_hourly where hour >= dialer.hour_of(now())")
echo "bench-views: traffic done (400 claims of 10 callees, then the 4000 calls; $live_slots counter rows in the current hour)"

# 3. Views --------------------------------------------------------------------------------------
views=(
    "select * from dialer.campaign_progress"
    "select * from dialer.campaign_progress where campaign_id = 7"
    "select * from dialer.agent_pool"
    "select * from dialer.call_latency"
    "select * from dialer.call_latency where campaign_id = 7"
    "select * from dialer.campaign_hourly where hour >= now() - interval '24 hours'"
    "select * from dialer.campaign_hourly where hour >= now() - interval '30 days'"
    "select * from dialer.campaign_hourly"
)
fail=0
: >"$work/views.txt"
printf '%-80s %8s %8s %8s %6s\n' "query (EXPLAIN ANALYZE, $runs runs)" "median" "max" "plan" "rows" >>"$work/views.txt"
for sql in "${views[@]}"; do
    : >"$work/exec"; : >"$work/plan"
    for ((i = 0; i < runs; i++)); do
        q -d bench -c "explain (analyze) $sql" >"$work/explain" || die "EXPLAIN ANALYZE $sql failed"
        sed -n 's/^Execution Time: \(.*\) ms$/\1/p' "$work/explain" >>"$work/exec"
        sed -n 's/^Planning Time: \(.*\) ms$/\1/p' "$work/explain" >>"$work/plan"
    done
    rows=$(sed -n '1s/.*actual time=[^ ]* rows=\([0-9]*\).*/\1/p' "$work/explain")
    med=$(median <"$work/exec"); max=$(sort -n "$work/exec" | tail -1); plan=$(median <"$work/plan")
    verdict=ok
    awk -v m="$med" -v l="$limit_ms" 'BEGIN { exit !(m < l) }' || { verdict="OVER ${limit_ms} ms"; fail=1; }
    printf '%-80s %5.2f ms %5.2f ms %5.2f ms %6s %s\n' "$sql" "$med" "$max" "$plan" "$rows" "$verdict" >>"$work/views.txt"
done

# 4. Overhead of the triggers on dialerd's writes ----------------------------------------------
# Two databases with the same rows, one migrated to 0005 and one to the newest migration. Plans
# and timings depend on how recently a table was vacuumed, so autovacuum is off on their tables
# and both are vacuumed at the same points; the two alternate, round after round.
ov_callees=$(( campaigns * 10000 ))
for db in before after; do
    createdb "ov_$db" || die "createdb failed"
done
"$work/sql_before/migrate.sh" dbname=ov_before >/dev/null || die "migrating ov_before failed"
"$root/sql/migrate.sh" dbname=ov_after >/dev/null || die "migrating ov_after failed"
for db in before after; do
    q -d "ov_$db" -v campaigns="$campaigns" -v callees="$ov_callees" -v per=0 -f "$work/load.sql" || die "loading ov_$db failed"
    q -d "ov_$db" -c "update dialer.callees set state = 0, attempts = 0, next_attempt_at = null" \
        -c "create sequence bench_attempt" \
        -c "do \$\$ declare t regclass; begin
                for t in select oid from pg_class where relnamespace = 'dialer'::regnamespace and relkind = 'r' loop
                    execute format('alter table %s set (autovacuum_enabled = off)', t);
                end loop; end \$\$" || die "preparing ov_$db failed"
done
: >"$work/ov.raw"
for ((r = 0; r < rounds; r++)); do
    for db in before after; do
        q -d "ov_$db" -c "vacuum analyze"
        echo "claim1 $db $(pgbench_run "ov_$db" "$work/claim.sql" 1 500 --random-seed=$r)" >>"$work/ov.raw"
        echo "claim4 $db $(pgbench_run "ov_$db" "$work/claim.sql" 4 250)" >>"$work/ov.raw"
        q -d "ov_$db" -c "vacuum analyze"
        echo "events1 $db $(pgbench_run "ov_$db" "$work/events.sql" 1 500 -r)" >>"$work/ov.raw"
        echo "events4 $db $(pgbench_run "ov_$db" "$work/events.sql" 4 500)" >>"$work/ov.raw"
    done
done
ov_line() { # KIND FIELD LABEL: medians of field FIELD (4: latency, 6..: a statement's) and of tps
    local b a tb ta
    b=$(awk -v k="$1" -v f="$2" '$1 == k && $2 == "before" { print $f }' "$work/ov.raw" | median)
    a=$(awk -v k="$1" -v f="$2" '$1 == k && $2 == "after" { print $f }' "$work/ov.raw" | median)
    tb=$(awk -v k="$1" '$1 == k && $2 == "before" { print $3 }' "$work/ov.raw" | median)
    ta=$(awk -v k="$1" '$1 == k && $2 == "after" { print $3 }' "$work/ov.raw" | median)
    [ "$2" = 4 ] || { tb=; ta=; }
    awk -v l="$3" -v b="$b" -v a="$a" -v tb="$tb" -v ta="$ta" 'BEGIN {
        printf "%-56s %7.3f ms %7.3f ms %+7.3f ms (%+4.0f %%)", l, b, a, a - b, 100 * (a - b) / b
        if (tb != "") printf " %8.0f %8.0f", tb, ta
        printf "\n" }'
}
{
    printf '%-56s %10s %10s %19s %8s %8s\n' "workload (medians of $rounds rounds)" "before" "after" "added" "tps bef" "tps aft"
    ov_line claim1 4 "claim of 10 callees, 1 client (per statement)"
    ov_line claim4 4 "claim of 10 callees, 4 clients (per statement)"
    ov_line events1 4 "one call's 5 event statements, 1 client (per call)"
    ov_line events4 4 "one call's 5 event statements, 4 clients (per call)"
    ov_line events1 6 "  dialed (no counted column), 1 client"
    ov_line events1 7 "  ringing (no counted column), 1 client"
    ov_line events1 8 "  answered, 1 client"
    ov_line events1 9 "  connected (with agent), 1 client"
    ov_line events1 10 "  ended + callee outcome (talk, agent), 1 client"
} >"$work/ov.txt"

# 5. Drift --------------------------------------------------------------------------------------
drift_bench=$(q -d bench -c "select count(*) from dialer.counters_drift()")
drift_ov=$(q -d ov_after -c "select count(*) from dialer.counters_drift()")
[ "$drift_bench" = 0 ] && [ "$drift_ov" = 0 ] || fail=1

# Report ----------------------------------------------------------------------------------------
pgver=$(q -d bench -c "show server_version")
{
    echo "Run of $(date -u +%Y-%m-%d) on $(nproc) cores, PostgreSQL $pgver (tests/lib/pgcluster.sh settings:"
    echo "shared_buffers 128MB, fsync and synchronous_commit off), load average $(cut -d' ' -f1-3 /proc/loadavg):"
    echo "$n_callees callees and $n_attempts attempts in $campaigns campaigns, $n_last_hour of them placed in"
    echo "the last hour; loaded in $((load_ms / 1000)) s, then migrations 0006+ (backfill of the counters and"
    echo "the index) in $((migrate_ms / 1000)) s."
    echo
    echo '```'
    cat "$work/views.txt"
    echo '```'
    echo
    echo "The same data before the migration, with the views of 0003 (medians of 3 runs):"
    echo
    echo '```'
    cat "$work/before.txt"
    echo '```'
    echo
    echo "Trigger overhead: the same statements against a database without the counters (before,"
    echo "migrated to 0005) and one with them (after), $ov_callees callees each:"
    echo
    echo '```'
    cat "$work/ov.txt"
    echo '```'
    echo
    echo "dialer.counters_drift() after the run: $drift_bench rows (1M database), $drift_ov rows (overhead database)."
} >"$work/report.md"
mkdir -p "$(dirname "$out_txt")"
cp "$work/report.md" "$out_txt"
cat "$work/report.md"

if [ "$write" = 1 ]; then
    bm="$root/BENCHMARKS.md"
    begin='<!-- bench-views:begin (written by tests/perf/bench_views.sh) -->'
    end='<!-- bench-views:end -->'
    if ! grep -qF "$begin" "$bm"; then
        {
            echo
            echo '## Dashboard views: `make bench-views`'
            echo
            echo '```'
            echo 'make bench-views        # = tests/perf/bench_views.sh'
            echo '```'
            echo
            echo "$begin"
            echo "$end"
        } >>"$bm"
    fi
    awk -v b="$begin" -v e="$end" -v f="$work/report.md" '
        $0 == b { print; while ((getline l < f) > 0) print l; skip = 1; next }
        $0 == e { skip = 0 }
        !skip { print }' "$bm" >"$work/bm.new" && cat "$work/bm.new" >"$bm"
    echo "bench-views: figures written to BENCHMARKS.md and $out_txt"
fi

[ "$fail" = 0 ] || { echo "bench-views: FAILED (a view over ${limit_ms} ms, or counters drifted)" >&2; exit 1; }
echo "bench-views: every view under ${limit_ms} ms; counters equal a recount"

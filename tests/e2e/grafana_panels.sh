#!/usr/bin/env bash
# End-to-end: every SQL of the Grafana dashboard runs and returns rows of the shape its panel
# needs. deploy/grafana/dashboards/dialerd.json is read by PostgreSQL itself (jsonb); each
# target's rawSql and each query variable gets Grafana's PostgreSQL macros ($__timeFilter,
# $__timeGroupAlias, ...) and the $campaign variable expanded for a fixed 24-hour range, the
# way Grafana's backend expands them (pkg/tsdb/grafana-postgresql-datasource/macros.go), and
# runs against a migrated schema with data in a private cluster, as the read-only role of
# deploy/grafana/dashboard_role.sql. Then deliberately broken copies of the dashboard (a
# wrong column, an unknown macro, a time series without "time") must be caught.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/lib/tap.sh"
dashboard="$root/deploy/grafana/dashboards/dialerd.json"
work=$(mktemp -d "${TEST_WORK:-/tmp}/grafana.XXXXXX")
trap '"$root/tests/lib/pgcluster.sh" destroy "$work/pg" >/dev/null 2>&1; rm -rf "$work"' EXIT
"$root/tests/lib/pgcluster.sh" start "$work/pg" >/dev/null || { echo "not ok - private cluster starts"; exit 1; }
. "$work/pg/env"
export PGOPTIONS="-c client_min_messages=warning"
"$root/sql/migrate.sh" "$DIALER_DATABASE_URL" >/dev/null || { echo "not ok - migrations apply"; exit 1; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

# The provisioning files -------------------------------------------------------------------------
ds="$root/deploy/grafana/provisioning/datasources/dialer.yaml"
for v in DIALER_PG_HOST DIALER_PG_DATABASE DIALER_PG_USER DIALER_PG_PASSWORD DIALER_PG_SSLMODE; do
    grep -q "\${$v}" "$ds"; tap_ok $? "the data source takes \$$v from Grafana's environment"
done
tap_is "$(grep -c 'uid: dialer-pg' "$ds")" 1 "the data source has the uid the dashboard refers to"
grep -q "path: " "$root/deploy/grafana/provisioning/dashboards/dialer.yaml"
tap_ok $? "the dashboard provider names a path"

# The read-only role, applied twice (it can run again) --------------------------------------------
q -f "$root/deploy/grafana/dashboard_role.sql" >/dev/null 2>"$work/role.err" \
    && q -f "$root/deploy/grafana/dashboard_role.sql" >/dev/null 2>>"$work/role.err"
tap_ok $? "deploy/grafana/dashboard_role.sql creates dialer_dashboard and can run again" "$(head -c 300 "$work/role.err")"
tap_is "$(q -c "select string_agg(c.relname, ',' order by c.relname) from pg_class c
                 where c.relnamespace = 'dialer'::regnamespace and has_table_privilege('dialer_dashboard', c.oid, 'select')")" \
    "agent_pool,call_latency,campaign_hourly,campaign_progress" "dialer_dashboard may read the four dashboard views and nothing else"
out=$(q -c "set role dialer_dashboard" -c "select count(*) from dialer.callees" 2>&1)
tap_like "$out" "permission denied for table callees" "dialer_dashboard cannot read the tables behind the views"

# Data: three campaigns (one agentless), agents, callees, 30 hours of attempts, calls in flight ----
q <<'SQL' || { echo "not ok - test data loads"; exit 1; }
insert into dialer.skill_groups (id, name) values (1, 'sales'), (2, 'support');
insert into dialer.agents (id, status)
select 'agent-' || g, (array['free', 'busy', 'arrange', 'notReady', 'rest', 'offline'])[1 + g % 6]
  from generate_series(1, 12) g;
insert into dialer.agent_skill_groups (agent_id, skill_group_id) select 'agent-' || g, 1 + g % 2 from generate_series(1, 12) g;
insert into dialer.campaigns (name, skill_group_id, callers, mode, max_concurrent)
values ('spring sale', 1, '{+442070000001}', 'predictive', null), ('renewals', 2, '{+442070000001}', 'progressive', null),
       ('reminders', null, '{+442070000001}', 'agentless', 5);
insert into dialer.callees (campaign_id, number, state, next_attempt_at)
select c.id, '+4477' || lpad((c.id * 1000 + g)::text, 9, '0'), (g % 5)::smallint,
       case when g % 5 = 4 then now() + interval '1 hour' end
  from dialer.campaigns c cross join generate_series(1, 200) g;
insert into dialer.attempts (callee_id, campaign_id, attempt_no, caller, created_at, dialed_at, answered_at,
                             connected_at, ended_at, end_status, success, agent_id)
select e.id, e.campaign_id, n, '+442070000001', t, t + interval '1 s',
       case when k <> 'notAnswer' then t + interval '9 s' end,
       case when k = 'ok' then t + interval '10 s' end,
       case when live then null when k = 'ok' then t + interval '190 s' else t + interval '20 s' end,
       case when not live then k end, case when not live then k = 'ok' end,
       case when k = 'ok' and c.mode <> 'agentless' then 'agent-' || (1 + (e.id % 6) * 2 + (c.skill_group_id - 1)) end
  from dialer.callees e
  join dialer.campaigns c on c.id = e.campaign_id
 cross join generate_series(1, 2) n
 cross join lateral (select now() - ((e.id * 7 + n * 13) % 1800) * interval '1 minute' as t,
                            (array['ok', 'ok', 'notAnswer', 'abandoned', 'machine', 'notAnswer', 'ok'])[1 + (e.id + n) % 7] as k) x
 cross join lateral (select x.t > now() - interval '3 minutes' as live) l;
-- a few calls placed just now, answered, still in flight
insert into dialer.attempts (callee_id, campaign_id, attempt_no, caller, created_at, dialed_at, answered_at)
select id, campaign_id, 3, '+442070000001', now() - interval '20 s', now() - interval '19 s', now() - interval '10 s'
  from dialer.callees where state = 3 limit 5;
SQL
tap_ok 0 "test data loads: $(q -c "select count(*) from dialer.attempts") attempts in 3 campaigns over 30 hours"

# The checker ----------------------------------------------------------------------------------------
q <<'SQL' || { echo "not ok - the checker functions load"; exit 1; }
create schema grafana_test;

-- Grafana's interval syntax (gtime.ParseInterval): 30s, 5m, 1h, 1d, 1w; quotes allowed.
create function grafana_test.interval_s(spec text) returns bigint
language sql immutable
return (select (m[1])::bigint * case m[2] when 's' then 1 when 'm' then 60 when 'h' then 3600
                                          when 'd' then 86400 when 'w' then 604800 end
          from regexp_match(btrim(spec, ''' '), '^([0-9]+)(s|m|h|d|w)$') m);

-- The SQL Grafana would send for the time range [t_from, t_to] and the variables vars
-- ({"campaign": "'1','2'"}): template variables and $__interval first (Grafana's frontend),
-- then the macros (its backend). Raises an error for an unknown macro or anything left over.
create function grafana_test.expand(sql text, t_from timestamptz, t_to timestamptz, vars jsonb,
                                    interval_spec text default '1h') returns text
language plpgsql
as $$
declare
    k       text;
    v       text;
    m       text[];
    args    text[];
    rep     text;
    secs    bigint;
    pos     int;
    iso_from text := to_char(t_from at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"');
    iso_to   text := to_char(t_to at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"');
begin
    for k, v in select * from jsonb_each_text(vars) loop
        sql := replace(replace(sql, '${' || k || '}', v), '[[' || k || ']]', v);
        sql := regexp_replace(sql, '\$' || k || '(?![A-Za-z0-9_])', replace(v, '\', '\\'), 'g');
    end loop;
    sql := replace(sql, '$__interval_ms', (grafana_test.interval_s(interval_spec) * 1000)::text);
    sql := regexp_replace(sql, '\$__interval(?![A-Za-z0-9_])', interval_spec, 'g');
    for i in 1 .. 100 loop
        m := regexp_match(sql, '\$([_a-zA-Z0-9]+)\(([^\)]*)\)');
        exit when m is null;
        args := array(select btrim(a) from unnest(string_to_array(m[2], ',')) a);
        pos := strpos(sql, '$' || m[1] || '(' || m[2] || ')') + length('$' || m[1] || '(' || m[2] || ')');
        -- as Grafana: $__timeGroup(...) followed by a comma is the aliased form
        if m[1] = '__timeGroup' and substr(sql, pos, 1) = ',' then
            m[1] := '__timeGroupAlias';
        end if;
        if m[1] in ('__timeGroup', '__timeGroupAlias', '__unixEpochGroup', '__unixEpochGroupAlias') then
            secs := grafana_test.interval_s(args[2]);
            if secs is null then
                raise exception 'macro $%: cannot read the interval %', m[1], args[2];
            end if;
        end if;
        rep := case m[1]
            when '__time' then format('%s AS "time"', args[1])
            when '__timeEpoch' then format('extract(epoch from %s) as "time"', args[1])
            when '__timeFilter' then format('%s BETWEEN ''%s'' AND ''%s''', args[1], iso_from, iso_to)
            when '__timeFrom' then format('''%s''', iso_from)
            when '__timeTo' then format('''%s''', iso_to)
            when '__timeGroup' then format('floor(extract(epoch from %s)/%s)*%s', args[1], secs, secs)
            when '__timeGroupAlias' then format('floor(extract(epoch from %s)/%s)*%s AS "time"', args[1], secs, secs)
            when '__unixEpochFilter' then format('%s >= %s AND %s <= %s', args[1], extract(epoch from t_from)::bigint,
                                                 args[1], extract(epoch from t_to)::bigint)
            when '__unixEpochGroup' then format('floor((%s)/%s)*%s', args[1], secs, secs)
            when '__unixEpochGroupAlias' then format('floor((%s)/%s)*%s AS "time"', args[1], secs, secs)
        end;
        if rep is null or args[1] = '' and m[1] not in ('__timeFrom', '__timeTo') then
            raise exception 'unknown Grafana macro $%(%)', m[1], m[2];
        end if;
        sql := replace(sql, '$' || m[1] || '(' || m[2] || ')', rep);
    end loop;
    if sql ~ '\$[A-Za-z_{]' or sql ~ '\[\[' then
        raise exception 'not expanded: %', substring(sql from '(\$[A-Za-z_{][A-Za-z0-9_}]*|\[\[[^\]]*\]\])');
    end if;
    return sql;
end;
$$;

-- One TAP line per query variable and per panel target: it expands, runs as dialer_dashboard,
-- returns rows, and has the shape of its format: a time series has a "time" column of a time
-- or number type, in order, and number columns besides an optional text "metric"; a table
-- has rows; a variable has __text and __value.
create function grafana_test.check(dash jsonb, t_from timestamptz, t_to timestamptz, vars jsonb)
returns setof text
language plpgsql
as $$
declare
    t       record;
    n       int := 0;
    expanded text;
    nrows   bigint;
    cols    text;
    bad     text;
    ordered boolean;
begin
    for t in
        select format('variable %s', v->>'name') as what, 'variable' as format, v->>'query' as raw, 0 as o1, i as o2
          from jsonb_array_elements(dash->'templating'->'list') with ordinality as l (v, i)
         where v->>'type' = 'query'
        union all
        select format('panel %s %s, target %s', p->>'id', to_json(p->>'title'), x->>'refId'),
               coalesce(x->>'format', 'time_series'), x->>'rawSql', 1, i * 100 + j
          from jsonb_array_elements(dash->'panels') with ordinality as pp (p, i),
               jsonb_array_elements(p->'targets') with ordinality as xx (x, j)
         order by 4, 5
    loop
        n := n + 1;
        begin
            if coalesce(btrim(t.raw), '') = '' then
                raise exception 'no SQL';
            end if;
            expanded := grafana_test.expand(t.raw, t_from, t_to, vars);
            execute 'set local role dialer_dashboard';
            execute format('create temp view grafana_panel as %s', expanded);
            execute 'select count(*) from grafana_panel' into nrows;
            select string_agg(format('%s %s', attname, format_type(atttypid, atttypmod)), ', ' order by attnum)
              into cols from pg_attribute where attrelid = 'pg_temp.grafana_panel'::regclass and attnum > 0;
            bad := null;
            if nrows = 0 then
                bad := 'no rows';
            elsif t.format = 'time_series' then
                if not exists (select from pg_attribute
                                where attrelid = 'pg_temp.grafana_panel'::regclass and attname = 'time'
                                  and atttypid in ('timestamptz'::regtype, 'timestamp'::regtype, 'numeric'::regtype,
                                                   'float8'::regtype, 'int8'::regtype, 'int4'::regtype)) then
                    bad := 'no column "time" of a time or number type';
                elsif exists (select from pg_attribute
                               where attrelid = 'pg_temp.grafana_panel'::regclass and attnum > 0
                                 and attname not in ('time', 'metric')
                                 and atttypid not in ('numeric'::regtype, 'float8'::regtype, 'float4'::regtype,
                                                      'int8'::regtype, 'int4'::regtype, 'int2'::regtype)) then
                    bad := 'a value column is not a number';
                else
                    execute 'select coalesce(bool_and(p is null or t >= p) and bool_and(t is not null), true)
                               from (select "time" as t, lag("time") over () as p from grafana_panel) s' into ordered;
                    if not ordered then
                        bad := 'rows not in time order, or a NULL time';
                    end if;
                end if;
            elsif t.format = 'variable' then
                if (select count(*) from pg_attribute where attrelid = 'pg_temp.grafana_panel'::regclass
                       and attname in ('__text', '__value')) <> 2 then
                    bad := 'no __text and __value columns';
                end if;
            end if;
            execute 'drop view grafana_panel';
            execute 'reset role';
            if bad is null then
                return next format('ok - %s (%s): %s rows; %s', t.what, t.format, nrows, cols);
            else
                return next format('not ok - %s (%s): %s # %s', t.what, t.format, bad, cols);
            end if;
        exception when others then
            return next format('not ok - %s (%s): %s', t.what, t.format, regexp_replace(sqlerrm, '\s+', ' ', 'g'));
        end;
    end loop;
    if n = 0 then
        return next 'not ok - the dashboard has no SQL to check';
    end if;
end;
$$;
SQL

# A fixed 24-hour range ending at the start of this minute; every campaign selected.
t_to=$(date -u +%Y-%m-%dT%H:%M:00Z)
t_from=$(date -u -d "$t_to - 24 hours" +%Y-%m-%dT%H:%M:00Z)
# check_dashboard JSON_FILE [SQL jsonb expression applied to :'dash' as d]: the checker's lines.
check_dashboard() {
    local edit=${2:-d}
    q -v dash="$(cat "$1")" -v t_from="$t_from" -v t_to="$t_to" <<SQL
select grafana_test.check(d, :'t_from', :'t_to',
                          jsonb_build_object('campaign', (select string_agg(quote_literal(id::text), ',' order by id)
                                                            from dialer.campaigns)))
  from (select $edit as d from (select :'dash'::jsonb as d) x) y;
SQL
}

# The dashboard: every panel target and the variable --------------------------------------------
tap_ok 0 "the time range is $t_from .. $t_to"
check_dashboard "$dashboard" >"$work/check.out" 2>&1
grep -E '^(ok|not ok)' "$work/check.out" || true
grep -q '^not ok' "$work/check.out" && TAP_FAILED=1
grep -qE '^(ok|not ok)' "$work/check.out"; tap_ok $? "the checker ran" "$(head -c 300 "$work/check.out")"
n_targets=$(q -v dash="$(cat "$dashboard")" <<'SQL'
select count(*) from jsonb_array_elements(:'dash'::jsonb->'panels') p, jsonb_array_elements(p->'targets') t;
SQL
)
tap_is "$(grep -c '^ok - panel' "$work/check.out")" "$n_targets" "all $n_targets panel targets of the dashboard pass"
tap_is "$(q -v dash="$(cat "$dashboard")" <<'SQL'
select count(*) from jsonb_array_elements(:'dash'::jsonb->'panels') p
 where p->'datasource'->>'uid' is distinct from 'dialer-pg'
    or exists (select from jsonb_array_elements(p->'targets') t where t->'datasource'->>'uid' is distinct from 'dialer-pg'
                                                                   or coalesce(t->>'rawSql', '') = '')
SQL
)" 0 "every panel and target uses the provisioned data source and has rawSql"
for t in campaign "Campaign progress" "Abandon rate against target" "Agents by status" "Dials and answers per minute" \
         "Latency, last hour" "Occupancy per hour" "Abandon rate per hour and target"; do
    grep -qF "\"$t\"" "$dashboard"; tap_ok $? "the dashboard has \"$t\""
done

# Broken copies must fail -------------------------------------------------------------------------
# each: the jsonb edit, the panel it breaks, and what the checker must say about it
broken() {
    local name=$1 edit=$2 want=$3 out
    out=$(check_dashboard "$dashboard" "$edit" 2>&1)
    tap_is "$(printf '%s\n' "$out" | grep -c '^not ok')" 1 "a copy with $name fails exactly one check"
    tap_like "$(printf '%s\n' "$out" | grep '^not ok')" "$want" "... and says which and why"
}
broken "a column the view does not have" \
    "jsonb_set(d, '{panels,4,targets,0,rawSql}', to_jsonb(replace(d#>>'{panels,4,targets,0,rawSql}', 'finished_callee_count as', 'finished_count as')))" \
    'panel 5 "Campaign progress", target A \(table\): column "finished_count" does not exist'
broken "an unknown macro" \
    "jsonb_set(d, '{panels,9,targets,0,rawSql}', to_jsonb(replace(d#>>'{panels,9,targets,0,rawSql}', '\$__timeFilter(', '\$__timeFiltre(')))" \
    'panel 10 "Occupancy per hour".*unknown Grafana macro \$__timeFiltre'
broken "a time series without a time column" \
    "jsonb_set(d, '{panels,6,targets,0,rawSql}', to_jsonb(replace(d#>>'{panels,6,targets,0,rawSql}', 'hour as \"time\"', 'hour as \"t\"')))" \
    'panel 7 "Abandon rate per hour and target", target A \(time_series\): no column "time"'
broken "a query that returns nothing" \
    "jsonb_set(d, '{panels,10,targets,0,rawSql}', to_jsonb(replace(d#>>'{panels,10,targets,0,rawSql}', 'order by campaign_id', 'and false order by campaign_id')))" \
    'panel 11 "Latency, last hour".*no rows'

exit $TAP_FAILED

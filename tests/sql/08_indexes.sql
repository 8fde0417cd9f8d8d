-- 08_indexes: the daemon's hot queries can use the partial indexes, and every foreign key has an index.

insert into dialer.skill_groups (id, name) values (1, 'sales');
insert into dialer.campaigns (name, skill_group_id, callers) values ('c1', 1, '{123}'), ('c2', 1, '{123}');
select id as c1 from dialer.campaigns where name = 'c1' \gset
select id as c2 from dialer.campaigns where name = 'c2' \gset
-- two campaigns half way through their lists: the first callees of each are done
insert into dialer.callees (campaign_id, number, state)
select c, (440000000000 + g)::text, case when g <= 1000 then 2 else 0 end
  from unnest(array[:c1, :c2]) c, generate_series(1, 2000) g;
analyze dialer.callees;

-- The plan of sql as one line of text.
create function pg_temp.plan(sql text) returns text
language plpgsql
as $$
declare
    line text;
    plan text := '';
begin
    for line in execute 'explain (costs off) ' || sql loop
        plan := plan || line || ' ';
    end loop;
    return plan;
end;
$$;

-- Would the planner pick these indexes when it has to? (Tiny tables make a seq scan cheaper.)
set enable_seqscan = off;
set enable_bitmapscan = off;

select tap.like(pg_temp.plan(format($$select id from dialer.callees
    where campaign_id = %s and (state = 0 or (state = 4 and next_attempt_at <= now()))
    order by id limit 10 for update skip locked$$, :c1)),
    '%Index Scan using callees_dialable_by_id_idx on callees%',
    'the claim query in insertion order scans callees_dialable_by_id_idx');
select tap.like(pg_temp.plan(format($$select id from dialer.callees
    where campaign_id = %s and (state = 0 or (state = 4 and next_attempt_at <= now()))
    order by order_key limit 10 for update skip locked$$, :c1)),
    '%Index Scan using callees_dialable_by_order_key_idx on callees%',
    'the claim query in random order scans callees_dialable_by_order_key_idx');
select tap.ok(pg_temp.plan(format($$select id from dialer.callees
    where campaign_id = %s and (state = 0 or (state = 4 and next_attempt_at <= now()))
    order by id limit 10$$, :c1)) !~ 'Sort', 'the claim query needs no sort');
select tap.like(pg_temp.plan(format('select id from dialer.callees where campaign_id = %s and state = 3', :c1)),
    '%callees_calling_idx%', 'callees in flight are found by callees_calling_idx');
select tap.like(pg_temp.plan(format('select state, count(*) from dialer.callees where campaign_id = %s group by state', :c1)),
    '%callees_campaign_state_idx%', 'per-state counts of a campaign use callees_campaign_state_idx');
select tap.like(pg_temp.plan('select id from dialer.attempts where ended_at is null and created_at < now() - interval ''150 seconds'''),
    '%attempts_in_flight_idx%', 'reconciliation of attempts in flight uses attempts_in_flight_idx');
select tap.like(pg_temp.plan(format('select count(*) from dialer.attempts where campaign_id = %s and ended_at is null', :c1)),
    '%attempts_in_flight_idx%', 'in-flight counts per campaign use attempts_in_flight_idx');
select tap.like(pg_temp.plan('select id from dialer.attempts where session_id = ''abc'''),
    '%attempts_session_idx%', 'CDR pushes find their attempt by session id');
select tap.like(pg_temp.plan($$select id from dialer.sms_outbox where state = 'pending' and due_at <= now()
                               order by due_at limit 10 for update skip locked$$),
    '%Index Scan using sms_outbox_queue_idx%', 'the SMS dispatcher claims due rows by sms_outbox_queue_idx');
-- since 0006 the callee and attempt counts come from the counters, not from counting rows
select tap.like(pg_temp.plan(format('select * from dialer.campaign_progress where campaign_id = %s', :c1)),
    '%campaign_counters_pkey on campaign_counters%', 'campaign_progress for one campaign reads its counters by key');
select tap.like(pg_temp.plan(format('select * from dialer.campaign_progress where campaign_id = %s', :c1)),
    '%attempt_hourly_pkey on attempt_hourly%', 'campaign_progress for one campaign reads its hourly rollup by key');
select tap.ok(pg_temp.plan(format('select * from dialer.campaign_progress where campaign_id = %s', :c1)) !~ 'on callees',
    'campaign_progress reads no callee row');
select tap.like(pg_temp.plan(format('select * from dialer.call_latency where campaign_id = %s', :c1)),
    '%attempts_campaign_created_idx%', 'call_latency for one campaign reads its attempts by index');

reset enable_seqscan;
reset enable_bitmapscan;

-- A foreign key without an index on its columns makes every delete of the parent scan the child.
select tap.is((select string_agg(format('%s(%s)', c.conrelid::regclass, c.conkey), ', ')
                 from pg_constraint c
                where c.contype = 'f' and c.connamespace = 'dialer'::regnamespace
                  and not exists (select 1 from pg_index i
                                   where i.indrelid = c.conrelid
                                     and (i.indkey::int2[])[0:cardinality(c.conkey) - 1] = c.conkey)),
              null, 'every foreign key in dialer has an index leading with its columns');

-- 10_sms: what 0005 adds for the SMS dispatcher: the lease columns, the sms_stats view and its index.

insert into dialer.skill_groups (id, name) values (1, 'sales');
insert into dialer.campaigns (name, skill_group_id, callers) values ('a', 1, '{123}'), ('b', 1, '{123}');
select id as a from dialer.campaigns where name = 'a' \gset
select id as b from dialer.campaigns where name = 'b' \gset
insert into dialer.callees (campaign_id, number) values (:a, '1001'), (:a, '1002'), (:b, '2001');
insert into dialer.attempts (callee_id, campaign_id, attempt_no, caller)
select id, campaign_id, 1, '123' from dialer.callees;

select tap.is((select string_agg(column_name || ':' || data_type, ',' order by column_name)
                 from information_schema.columns
                where table_schema = 'dialer' and table_name = 'sms_outbox'
                  and column_name in ('claimed_at', 'claimed_by', 'lease_until')),
              'claimed_at:timestamp with time zone,claimed_by:text,lease_until:timestamp with time zone',
              'sms_outbox has the lease columns claimed_at, claimed_by, lease_until');

-- campaign a: callee 1001 ring sent, hangup pending, failure failed; 1002 ring sending; b: one pending
insert into dialer.sms_outbox (attempt_id, trigger, to_number, body, state)
select a.id, t.trig, c.number, 'x', t.st
  from dialer.attempts a join dialer.callees c on c.id = a.callee_id
  join (values ('1001', 'ring', 'sent'), ('1001', 'hangup', 'pending'), ('1001', 'failure', 'failed'),
               ('1002', 'ring', 'sending'), ('2001', 'ring', 'pending')) t (num, trig, st)
    on t.num = c.number;
select tap.is(claimed_at is null and claimed_by is null and lease_until is null, true,
              'a row queued by an event has no claim yet') from dialer.sms_outbox limit 1;

select tap.is((select string_agg(format('%s/%s:%s,%s,%s,%s', case campaign_id when :a then 'a' else 'b' end,
                                        trigger, pending, sending, sent, failed), ' ' order by campaign_id, trigger)
                 from dialer.sms_stats),
              'a/failure:0,0,0,1 a/hangup:1,0,0,0 a/ring:0,1,1,0 b/ring:1,0,0,0',
              'sms_stats: per campaign and trigger, rows by state (pending, sending, sent, failed)');
select tap.is((select pg_typeof(pending)::text from dialer.sms_stats limit 1), 'bigint', 'sms_stats counts are bigint');

-- A repeated event finds its (attempt, trigger) taken and inserts nothing.
with x as (insert into dialer.sms_outbox (attempt_id, trigger, to_number, body)
           select attempt_id, trigger, to_number, 'again' from dialer.sms_outbox
           on conflict (attempt_id, trigger) do nothing returning 1)
select tap.is(count(*), 0::bigint, 'the same (attempt, trigger) again: ON CONFLICT inserts nothing') from x;

-- The plans, with enough rows that the planner has a choice.
insert into dialer.sms_outbox (attempt_id, trigger, to_number, body, state)
select a.id, t, '999', 'x', 'sent'
  from dialer.attempts a, unnest(array['success', 'feedback']) t where a.campaign_id = :b;
analyze dialer.sms_outbox;
set enable_seqscan = off;
set enable_bitmapscan = off;
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
select tap.like(pg_temp.plan(format('select * from dialer.sms_stats where campaign_id = %s', :a)),
                '%sms_outbox_campaign_trigger_state_idx%', 'sms_stats for one campaign reads its rows by index');
select tap.like(pg_temp.plan($$select id from dialer.sms_outbox
                               where state in ('pending', 'sending') and due_at <= now()
                                 and (state = 'pending' or lease_until is null or lease_until <= now())
                               order by due_at limit 10 for update skip locked$$),
                '%Index Scan using sms_outbox_queue_idx%',
                'the dispatcher''s claim (due rows and expired leases) scans sms_outbox_queue_idx');

-- 11_counters: the counters of 0006 equal a full recount after every kind of write: manager
-- inserts, a REST-like batch import, dialerd's own statements (claim, events, finish, revert),
-- edits, deletes, truncates, concurrent sessions; the fold keeps them; the views read them.
--
-- dialer.counters_drift() lists every key where the counters differ from a recount; each check
-- below expects it empty and shows the first differences when it is not.

create function pg_temp.drift_is_empty(description text) returns text
language sql
as $$
select tap.is((select string_agg(format('%s %s: stored %s, recounted %s', counter, key, stored, recounted), '; ')
                 from (select * from dialer.counters_drift() order by counter, key limit 3) d),
              null, description)
$$;

insert into dialer.skill_groups (id, name) values (1, 'sales'), (2, 'support');
insert into dialer.agents (id, status) select 'a' || g, 'free' from generate_series(1, 6) g;
insert into dialer.agent_skill_groups (agent_id, skill_group_id) select id, 1 from dialer.agents;
insert into dialer.campaigns (name, skill_group_id, callers, recall_num)
values ('a', 1, '{123}', 2), ('b', 1, '{123}', 0), ('c', 2, '{123}', 0);
select id as a from dialer.campaigns where name = 'a' \gset
select id as b from dialer.campaigns where name = 'b' \gset
select id as c from dialer.campaigns where name = 'c' \gset

select tap.is((select count(*) from dialer.campaign_counters), 0::bigint, 'new campaigns have no counter rows yet');
select tap.is((select row(callee_count, attempts, abandon_rate_24h)::text from dialer.campaign_progress where campaign_id = :a),
              '(0,0,0)', 'campaign_progress of a campaign without counter rows: zeros');

-- Inserts -------------------------------------------------------------------------------------

-- a manager's multi-campaign insert with every state
insert into dialer.callees (campaign_id, number, state, next_attempt_at)
select case when g % 3 = 0 then :a when g % 3 = 1 then :b else :c end, (1000 + g)::text, (g % 5)::smallint,
       case when g % 5 = 4 then now() end
  from generate_series(1, 300) g;
select pg_temp.drift_is_empty('a multi-campaign insert of callees in every state is counted');
select tap.is((select row(callee_count, state_initial, state_answered, state_unanswered, state_calling, state_pending_retry)::text
                 from dialer.campaign_progress where campaign_id = :a),
              (select row(count(*), count(*) filter (where state = 0), count(*) filter (where state = 1),
                          count(*) filter (where state = 2), count(*) filter (where state = 3),
                          count(*) filter (where state = 4))::text
                 from dialer.callees where campaign_id = :a),
              'campaign_progress shows the counted callees per state');
select tap.is((select count(*) from dialer.campaign_counters), 3::bigint,
              'one statement by one session: one counter row per campaign');

-- the REST import (src/store.c STORE_CALLEES_IMPORT): one statement, duplicates skipped
prepare import (bigint, jsonb) as
with cam as (select id, status from dialer.campaigns where id = $1::bigint for share),
 origin as materialized (select set_config('dialer.origin', 'rest', true)),
 src as materialized (
   select (e->>'i')::int as i, e->>'number' as number, e->>'uui' as uui,
          coalesce(e->'variables', '{}') as variables, e->>'time_zone' as time_zone,
          case when e->>'time_zone' is null or dialer.time_zone_is_known(e->>'time_zone')
               then null
               else dialer.time_zone_error('time_zone', e->>'time_zone') end as zone_error
     from jsonb_array_elements($2::jsonb) e),
 ins as (insert into dialer.callees (campaign_id, number, uui, variables, time_zone)
         select cam.id, src.number, src.uui, src.variables, src.time_zone
           from src, cam, origin
          where src.zone_error is null and cam.status in (0, 1, 2)
          order by src.i
         on conflict (campaign_id, number) do nothing
         returning id, number)
select (select status from cam), (select count(*) from ins);
-- 2000 numbers 1001, 1004, 1007, ...: the first 100 are b's already (b holds 1001 + 3k up to 1300)
select (select count(*) from dialer.callees where campaign_id = :b) as b_before \gset
select jsonb_agg(jsonb_build_object('i', g, 'number', (1000 + 3 * g - 2)::text)) as batch from generate_series(1, 2000) g \gset
execute import(:b, :'batch') \gset imp_
select tap.is(:imp_count::bigint, 1900::bigint, 'the REST batch import inserts 1900 of 2000 (100 duplicates skipped)');
select tap.is((select callee_count from dialer.campaign_progress where campaign_id = :b), :b_before + 1900::bigint,
              'a REST batch import of 2000 callees with duplicates: callee_count grows by the 1900 inserted');
select pg_temp.drift_is_empty('after the REST batch import the counters equal a recount');

-- dialerd's statements ----------------------------------------------------------------------------
-- The one-attempt forms of src/store.c's writes (claim in insertion order, attempts_dialed,
-- attempt_event, attempts_finish, attempt_revert), with no SMS triggers. Each runs as its own
-- statement; dialerd batches the dial marks and the ends over many attempts.

prepare claim (bigint, int) as
with picked as (
  select c.id from dialer.callees c
   where c.campaign_id = $1 and c.state in (0, 4)
     and (c.state = 0 or c.next_attempt_at <= now())
     and not exists (select 1 from dialer.dnc d where d.number = c.number)
   order by c.id limit $2 for update of c skip locked
), upd as (
  update dialer.callees c set state = 3, attempts = c.attempts + 1
    from picked where c.id = picked.id
  returning c.id, c.number, c.attempts
), slot as (
  select upd.*, row_number() over (order by upd.id) as rn from upd
), ins as (
  insert into dialer.attempts (callee_id, campaign_id, attempt_no, caller, skill_group_id, instance)
  select s.id, $1, s.attempts, '123', 1, 'test' from slot s
  returning id, callee_id, caller
)
select count(*) from ins;

prepare dialed (bigint) as
update dialer.attempts set dialed_at = coalesce(dialed_at, now()), session_id = coalesce(session_id, 's' || id)
 where id = $1;

prepare event (bigint, text, float8, text) as
update dialer.attempts set
   ringing_at = case when $2 = 'ringing' then coalesce(ringing_at, to_timestamp($3 / 1000)) else ringing_at end,
   answered_at = case when $2 = 'answered' then coalesce(answered_at, to_timestamp($3 / 1000)) else answered_at end,
   connected_at = case when $2 = 'connected' then coalesce(connected_at, to_timestamp($3 / 1000)) else connected_at end,
   agent_id = coalesce(agent_id, $4)
 where id = $1 and (case $2 when 'ringing' then ringing_at is null
                            when 'answered' then answered_at is null
                            when 'connected' then connected_at is null else false end
                    or (agent_id is null and $4::text is not null));

-- $1 attempt, $2 ended (ms), $3 end_status, $4 success, $5 callee's next state, $6 recall in s
prepare finish (bigint, float8, text, boolean, smallint, float8) as
with a as (
  update dialer.attempts set ended_at = to_timestamp($2 / 1000), end_status = $3, success = $4
   where id = $1 and ended_at is null
  returning id, campaign_id, callee_id, attempt_no
), c as (
  update dialer.callees set state = $5, last_end_status = $3,
         next_attempt_at = case when $5 = 4 then now() + make_interval(secs => $6) end
    from a where callees.id = a.callee_id and callees.state = 3 and callees.attempts = a.attempt_no
  returning callees.id
)
select (select count(*) from a), (select count(*) from c);

prepare revert (bigint) as
with a as (delete from dialer.attempts
            where id = $1 and ended_at is null and dialed_at is null
           returning callee_id, attempt_no)
update dialer.callees c
   set state = case when a.attempt_no = 1 then 0 else 4 end,
       attempts = a.attempt_no - 1,
       next_attempt_at = case when a.attempt_no = 1 then c.next_attempt_at
                              else coalesce(c.next_attempt_at, now()) end
  from a where c.id = a.callee_id and c.state = 3 and c.attempts = a.attempt_no;

select extract(epoch from now()) * 1000 as now_ms \gset
select state_initial + state_pending_retry as a_waiting, state_calling as a_calling
  from dialer.campaign_progress where campaign_id = :a \gset
execute claim(:a, 8) \gset claimed_
select tap.is(:claimed_count::bigint, 8::bigint, 'the daemon''s claim takes 8 callees of campaign a');
select tap.is((select row(state_initial + state_pending_retry, state_calling, attempts)::text
                 from dialer.campaign_progress where campaign_id = :a),
              row(:a_waiting - 8, :a_calling + 8, 8)::text,
              'after the claim: 8 callees fewer waiting (initial or pending retry), 8 more calling, 8 attempts');
select pg_temp.drift_is_empty('after the claim the counters equal a recount');

-- The 8 calls: 1 ok with agent a1, 1 ok with a2, 1 ok with a1 again, 1 abandoned, 1 machine,
-- 1 notAnswer recalled (pending retry), 1 reverted (back-pressure: never dialed), 1 left ringing.
select array_agg(id order by id) as ids from dialer.attempts where campaign_id = :a \gset
select (:'ids'::bigint[])[1] as t1, (:'ids'::bigint[])[2] as t2, (:'ids'::bigint[])[3] as t3,
       (:'ids'::bigint[])[4] as t4, (:'ids'::bigint[])[5] as t5, (:'ids'::bigint[])[6] as t6,
       (:'ids'::bigint[])[7] as t7, (:'ids'::bigint[])[8] as t8 \gset
execute dialed(:t1); execute dialed(:t2); execute dialed(:t3); execute dialed(:t4);
execute dialed(:t5); execute dialed(:t6); execute dialed(:t8);
execute event(:t1, 'ringing', :now_ms + 1000, null);
execute event(:t1, 'answered', :now_ms + 5000, null);
execute event(:t1, 'connected', :now_ms + 6000, 'a1');
execute event(:t1, 'connected', :now_ms + 6000, 'a1');
execute event(:t2, 'answered', :now_ms + 4000, null);
execute event(:t2, 'connected', :now_ms + 4500, 'a2');
execute event(:t3, 'answered', :now_ms + 3000, null);
execute event(:t3, 'connected', :now_ms + 3500, 'a1');
execute event(:t4, 'answered', :now_ms + 2000, null);
execute event(:t5, 'answered', :now_ms + 2000, null);
execute event(:t8, 'ringing', :now_ms + 1000, null);
execute finish(:t1, :now_ms + 66000, 'ok', true, 1::smallint, 0);
execute finish(:t1, :now_ms + 99000, 'ok', true, 1::smallint, 0);
execute finish(:t2, :now_ms + 34500, 'ok', true, 1::smallint, 0);
execute finish(:t3, :now_ms + 13500, 'ok', true, 1::smallint, 0);
execute finish(:t4, :now_ms + 4000, 'abandoned', false, 4::smallint, 60);
execute finish(:t5, :now_ms + 9000, 'machine', false, 2::smallint, 0);
execute finish(:t6, :now_ms + 30000, 'notAnswer', false, 4::smallint, 1800);
execute revert(:t7);
select pg_temp.drift_is_empty('after events, finishes (a repeated one too) and a revert the counters equal a recount');
select tap.is((select row(attempts, answered, connected, abandoned)::text from dialer.campaign_progress where campaign_id = :a),
              '(7,5,3,1)', 'campaign_progress: 7 attempts (one reverted), 5 answered, 3 connected, 1 abandoned');
-- live answers: the 3 ok and the abandoned one (the machine is none): 1 / 4
select tap.is((select row(abandon_rate_24h, abandon_rate_30d, live_answers_24h, abandoned_24h)::text
                 from dialer.campaign_progress where campaign_id = :a),
              '(25.00,25.00,4,1)', 'abandon rate 24 h and 30 d: 1 abandoned of 4 live answers = 25 %');
select dialer.hour_of(min(created_at)) as a_hour from dialer.attempts where campaign_id = :a \gset
select tap.is((select row(dials, answers, abandons, abandon_rate, connected, machine, ended)::text
                 from dialer.campaign_hourly where campaign_id = :a and hour = :'a_hour'),
              '(7,5,1,25,3,1,6)', 'campaign_hourly: this hour''s dials, answers, abandons, rate, connected, machines, ended');
select tap.is((select row(talk_ms, agent_talk_ms, agents)::text from dialer.campaign_hourly where campaign_id = :a and hour = :'a_hour'),
              (select row(sum(f.talk_ms), sum(f.talk_ms) filter (where f.agent_id is not null),
                          count(distinct f.agent_id) filter (where f.talk_calls > 0))::text
                 from dialer.attempts t, dialer.attempt_facts(1, t) f
                where t.campaign_id = :a and f.hour = :'a_hour'),
              'campaign_hourly: talk time and distinct agents of this hour as attempt_facts count them');

-- a call in flight: its answer counts at once
execute event(:t8, 'answered', :now_ms + 7000, null);
select tap.is((select row(answered, live_answers_24h, abandon_rate_24h)::text from dialer.campaign_progress where campaign_id = :a),
              '(6,5,20.00)', 'an answered call still in flight counts in campaign_progress at once (6 answered, 1 of 5 abandoned)');
select tap.is((select row(answers, live_answers, abandon_rate)::text from dialer.campaign_hourly where campaign_id = :a and hour = :'a_hour'),
              '(6,5,20)', 'and in campaign_hourly');
select pg_temp.drift_is_empty('a call in flight: the counters equal a recount');

-- Windows and hours -------------------------------------------------------------------------------
-- Campaign c: attempts placed around the window starts, abandoned or answered, a talk over three
-- hours, and an hour of known occupancy. The 24 h and 30 d windows start mid-hour: their first
-- part-hour comes from attempts, the rest from attempt_hourly, and the sum must be exact.
create function pg_temp.attempt(num text, created timestamptz, answer_s numeric, connect_s numeric,
                                talk_s numeric, status text, agent text) returns void
language sql
as $$
insert into dialer.attempts (callee_id, campaign_id, attempt_no, caller, created_at, dialed_at, answered_at,
                             connected_at, ended_at, end_status, agent_id)
select e.id, e.campaign_id, coalesce((select max(attempt_no) from dialer.attempts where callee_id = e.id), 0) + 1,
       '123', created, created,
       created + make_interval(secs => answer_s::float8),
       created + make_interval(secs => (answer_s + connect_s)::float8),
       created + make_interval(secs => (coalesce(answer_s, 0) + coalesce(connect_s, 0) + coalesce(talk_s, 30))::float8),
       status, agent
  from dialer.callees e where e.number = num and e.campaign_id = (select id from dialer.campaigns where name = 'c')
$$;
select min(number) as cnum from dialer.callees where campaign_id = :c \gset
select pg_temp.attempt(:'cnum', now() - interval '24 hours' + interval '1 minute', 5, null, null, 'abandoned', null),
       pg_temp.attempt(:'cnum', now() - interval '24 hours' - interval '1 minute', 5, null, null, 'abandoned', null),
       pg_temp.attempt(:'cnum', now() - interval '24 hours' + interval '2 minutes', 5, 1, 60, 'ok', 'a3'),
       pg_temp.attempt(:'cnum', now() - interval '30 days' + interval '1 minute', 5, null, null, 'abandoned', null),
       pg_temp.attempt(:'cnum', now() - interval '30 days' - interval '1 minute', 5, null, null, 'abandoned', null),
       pg_temp.attempt(:'cnum', now() - interval '30 days' + interval '3 minutes', 5, 1, 60, 'ok', 'a3'),
       pg_temp.attempt(:'cnum', now() - interval '29 days', 5, 1, 60, 'ok', 'a3'),
       pg_temp.attempt(:'cnum', now() - interval '3 days', 5, null, null, 'machine', null) \g /dev/null
select pg_temp.drift_is_empty('attempts inserted into past hours are counted');
-- the view against a plain count over attempts, in one statement (one now())
select tap.is((select row(live_answers_24h, abandoned_24h, live_answers_30d, abandoned_30d)::text
                 from dialer.campaign_progress where campaign_id = :c),
              (select row(count(*) filter (where created_at >= now() - interval '24 hours'
                                             and (answered_at is not null or end_status = 'abandoned')
                                             and end_status is distinct from 'machine'),
                          count(*) filter (where created_at >= now() - interval '24 hours' and end_status = 'abandoned'),
                          count(*) filter (where (answered_at is not null or end_status = 'abandoned')
                                             and end_status is distinct from 'machine'),
                          count(*) filter (where end_status = 'abandoned'))::text
                 from dialer.attempts where campaign_id = :c and created_at >= now() - interval '30 days'),
              'the 24 h and 30 d windows count exactly the attempts placed since now() - 24 h / 30 d');
select tap.is((select row(live_answers_24h, abandoned_24h, live_answers_30d, abandoned_30d, abandon_rate_24h, abandon_rate_30d)::text
                 from dialer.campaign_progress where campaign_id = :c),
              '(2,1,6,3,50.00,50.00)',
              'one minute inside a window counts, one minute outside does not (24 h: 1 of 2, 30 d: 3 of 6)');

-- occupancy: an hour two hours back, agents a4 and a5; a4 talks 30 min, a5 15 min in it
select dialer.hour_of(now()) - interval '2 hours' as h2 \gset
select pg_temp.attempt(:'cnum', :'h2'::timestamptz + interval '5 minutes', 10, 2, 1800, 'ok', 'a4'),
       pg_temp.attempt(:'cnum', :'h2'::timestamptz + interval '20 minutes', 10, 2, 900, 'ok', 'a5') \g /dev/null
select tap.is((select row(dials, answers, agents, agent_talk_ms, occupancy)::text from dialer.campaign_hourly
                where campaign_id = :c and hour = :'h2'),
              '(2,2,2,2700000,37.5)', 'occupancy: 45 min of talk by 2 agents in an hour = 37.5 %');
-- a talk from 20 min before that hour to 10 min after it: 40, 60 and 10 minutes in three hours
select pg_temp.attempt(:'cnum', :'h2'::timestamptz - interval '20 minutes' - interval '12 seconds', 10, 2,
                       5400, 'ok', 'a6') \g /dev/null
select tap.is((select string_agg(format('%s:%s/%s', (extract(epoch from hour - :'h2'::timestamptz) / 3600)::int,
                                        agent_talk_ms / 60000, agents), ' ' order by hour)
                 from dialer.campaign_hourly where campaign_id = :c and hour between :'h2'::timestamptz - interval '1 hour'
                                                                     and :'h2'::timestamptz + interval '1 hour'),
              '-1:20/1 0:105/3 1:10/1',
              'a talk over three hours counts 20, 60 and 10 minutes in each, and its agent in each');
select pg_temp.drift_is_empty('talk across hours: the counters equal a recount');

-- Edits and deletes -------------------------------------------------------------------------------
update dialer.attempts set agent_id = 'a1' where agent_id = 'a5';
update dialer.attempts set end_status = 'abandoned', connected_at = null where agent_id = 'a4';
update dialer.attempts set created_at = created_at - interval '2 days' where campaign_id = :c and end_status = 'machine';
update dialer.callees set state = 2, next_attempt_at = null where campaign_id = :b and state in (0, 4) and id % 2 = 0;
update dialer.callees set campaign_id = :c where campaign_id = :b and number in ('1004', '1007');
update dialer.callees set variables = '{"x": 1}' where campaign_id = :a;
select pg_temp.drift_is_empty('a manager''s edits (agent, outcome, placing time, states, moving callees) are counted');
select count(*) as before_rows from dialer.campaign_counters \gset
update dialer.callees set uui = 'u' where campaign_id = :b;
update dialer.attempts set keys = '1' where campaign_id = :a;
select tap.is((select count(*) from dialer.campaign_counters), :before_rows::bigint,
              'updates that change no counted column touch no counter row');
delete from dialer.callees where campaign_id = :a and state = 1;
delete from dialer.attempts where campaign_id = :c and end_status = 'machine';
select pg_temp.drift_is_empty('deleting callees (their attempts go with them) and attempts is counted');
update dialer.campaigns set status = 1 where id = :b;
update dialer.campaigns set status = 3 where id = :b;
delete from dialer.campaigns where id = :b;
select tap.is((select count(*) from dialer.campaign_counters where campaign_id = :b)
              + (select count(*) from dialer.attempt_hourly where campaign_id = :b), 0::bigint,
              'deleting a campaign deletes its counters, and its cascades leave none behind');
select pg_temp.drift_is_empty('after deleting a campaign the counters equal a recount');

-- Folding -----------------------------------------------------------------------------------------
-- Rows that sessions wrote to other slots while their hour was recent: moved here by hand (the
-- sums stay the same) into an old hour and into the current one.
create function pg_temp.split_slot(h timestamptz, to_slot int) returns void
language sql
as $$
insert into dialer.attempt_hourly (campaign_id, hour, slot, dials, answered, agent_talk_ms, agents)
select campaign_id, hour, to_slot, 1, 1, 1000, 1 from dialer.attempt_hourly
 where campaign_id = (select id from dialer.campaigns where name = 'c') and hour = h and slot = 0;
update dialer.attempt_hourly set dials = dials - 1, answered = answered - 1,
       agent_talk_ms = agent_talk_ms - 1000, agents = agents - 1
 where campaign_id = (select id from dialer.campaigns where name = 'c') and hour = h and slot = 0;
$$;
select pg_temp.split_slot(:'h2', 5), pg_temp.split_slot(:'h2', 3) \g /dev/null
insert into dialer.attempt_hourly (campaign_id, hour, slot, dials) values (:c, dialer.hour_of(now()), 6, 1), (:c, dialer.hour_of(now()), 7, -1);
select string_agg(format('%s', h), ';' order by hour) as hourly_before from dialer.campaign_hourly h where campaign_id = :c \gset
select tap.is((select string_agg(slot::text, ',' order by slot) from dialer.attempt_hourly where campaign_id = :c and hour = :'h2'),
              '0,3,5', 'an old hour with rows in slots 0, 3 and 5');
select pg_temp.drift_is_empty('rows spread over slots add up to the same counts');
select tap.is((select string_agg(format('%s', h), ';' order by hour) from dialer.campaign_hourly h where campaign_id = :c),
              :'hourly_before', 'campaign_hourly adds up the slots of an hour');
select tap.ok(dialer.counters_fold() >= 1, 'counters_fold() folds the old hours'' slots');
select tap.is((select string_agg(slot::text, ',' order by slot) from dialer.attempt_hourly where campaign_id = :c and hour = :'h2'),
              '0', 'the old hour has only slot 0 left');
select tap.is((select count(*) from dialer.attempt_hourly where campaign_id = :c and hour = dialer.hour_of(now()) and slot in (6, 7)),
              2::bigint, 'the current hour''s slots stay');
select tap.is((select string_agg(format('%s', h), ';' order by hour) from dialer.campaign_hourly h where campaign_id = :c),
              :'hourly_before', 'campaign_hourly shows the same after the fold');
select pg_temp.drift_is_empty('after the fold the counters equal a recount');

-- the triggers fold by themselves, once per session and hour
select pg_temp.split_slot(:'h2', 2) \g /dev/null
set dialer.counters_folded = 'not this hour';
select pg_temp.attempt(:'cnum', now(), 5, null, null, 'notAnswer', null) \g /dev/null
select tap.is((select count(*) from dialer.attempt_hourly where hour = :'h2' and slot <> 0), 0::bigint,
              'the first attempts statement of the session in an hour folds the past hours');
select tap.is(current_setting('dialer.counters_folded'), dialer.hour_of(now())::text,
              'and notes the hour, so the session''s next statements do not fold again');

-- the triggers' fold never waits: a row it needs is locked by another session
select pg_temp.split_slot(:'h2', 4) \g /dev/null
create extension if not exists dblink schema tap;
select tap.dblink_connect('locker', format('host=%s port=%s dbname=%s user=%s',
       coalesce(host(inet_server_addr()), split_part(current_setting('unix_socket_directories'), ',', 1)),
       current_setting('port'), current_database(), current_user)) \g /dev/null
select tap.dblink_exec('locker', 'begin') \g /dev/null
select tap.dblink_exec('locker', format('update dialer.attempt_hourly set dials = dials where campaign_id = %s and hour = %L and slot = 4',
                                        :c, :'h2')) \g /dev/null
select clock_timestamp() as t0 \gset
select tap.is(dialer.counters_fold(wait => false), 0::bigint, 'counters_fold(wait => false) gives up on a locked row');
select tap.ok(clock_timestamp() - :'t0'::timestamptz < interval '2 seconds', 'and gives up quickly (lock_timeout 50 ms)');
select tap.is(current_setting('lock_timeout'), '0', 'and leaves lock_timeout as it was');
select tap.dblink_exec('locker', 'rollback') \g /dev/null
select tap.dblink_disconnect('locker') \g /dev/null
select tap.ok(dialer.counters_fold(wait => false) >= 1, 'once the row is free, the fold goes through');

-- Privileges --------------------------------------------------------------------------------------
-- A manager who may write callees needs no privilege on the counters (the triggers are SECURITY DEFINER).
\set mgr :DBNAME _manager
create role :"mgr";
grant usage on schema dialer to :"mgr";
grant select, insert, update, delete on dialer.callees to :"mgr";
grant select on dialer.campaigns to :"mgr";
grant usage on sequence dialer.callees_id_seq to :"mgr";
set role :"mgr";
-- the outcome travels in a setting: the role may use neither the tap schema nor the test's tables
do $$
begin
    insert into dialer.callees (campaign_id, number) select id, '5551234' from dialer.campaigns where name = 'c';
    update dialer.callees set state = 2 where number = '5551234';
    perform set_config('test.manager', 'ok', false);
exception when others then
    perform set_config('test.manager', sqlerrm, false);
end;
$$;
reset role;
select tap.is(current_setting('test.manager'), 'ok', 'a manager with rights on callees only can insert callees and change their state');
select pg_temp.drift_is_empty('the manager''s writes are counted');
drop owned by :"mgr";
drop role :"mgr";

-- Concurrent sessions -----------------------------------------------------------------------------
-- Nine sessions run dialerd's statement mix at once (claims, events, finishes, reverts, each
-- its own transaction) and a multi-campaign update per round. Nine sessions over eight slots:
-- at least two share a slot, and so its counter rows.
create table public.traffic_pids (worker int, pid int);
create procedure public.counters_traffic(worker int, rounds int)
language plpgsql
as $$
declare
    camps bigint[] := (select array_agg(id order by id) from dialer.campaigns);
    camp  bigint;
    ids   bigint[];
    t     bigint;
    k     int := worker;
begin
    insert into public.traffic_pids values (worker, pg_backend_pid());
    commit;
    for r in 1 .. rounds loop
        camp := camps[1 + (worker + r) % cardinality(camps)];
        with picked as (
            select c.id from dialer.callees c
             where c.campaign_id = camp and c.state in (0, 4) and (c.state = 0 or c.next_attempt_at <= now())
             order by c.id limit 3 for update of c skip locked
        ), upd as (
            update dialer.callees c set state = 3, attempts = c.attempts + 1
              from picked where c.id = picked.id returning c.id, c.attempts
        ), ins as (
            insert into dialer.attempts (callee_id, campaign_id, attempt_no, caller, instance)
            select upd.id, camp, upd.attempts, '123', 'w' || worker from upd returning id
        )
        select array_agg(id) into ids from ins;
        commit;
        foreach t in array coalesce(ids, '{}') loop
            k := k + 1;
            if k % 7 = 0 then               -- back-pressure: the claim is undone
                with a as (delete from dialer.attempts where id = t and ended_at is null and dialed_at is null
                           returning callee_id, attempt_no)
                update dialer.callees c set state = case when a.attempt_no = 1 then 0 else 4 end,
                       attempts = a.attempt_no - 1, next_attempt_at = coalesce(c.next_attempt_at, now())
                  from a where c.id = a.callee_id and c.state = 3 and c.attempts = a.attempt_no;
                commit;
                continue;
            end if;
            update dialer.attempts set dialed_at = now() where id = t;
            commit;
            update dialer.attempts set answered_at = now() where id = t and k % 3 <> 0;
            commit;
            update dialer.attempts set connected_at = now(), agent_id = 'a' || (1 + k % 6) where id = t and k % 3 = 1;
            commit;
            with a as (
                update dialer.attempts
                   set ended_at = now() + make_interval(secs => k % 90),
                       end_status = case k % 3 when 1 then 'ok' when 2 then case when k % 2 = 0 then 'abandoned' else 'machine' end
                                         else 'notAnswer' end,
                       success = k % 3 = 1
                 where id = t and ended_at is null
                returning callee_id, attempt_no
            )
            update dialer.callees c set state = case when k % 3 = 1 then 1 when k % 5 = 0 then 4 else 2 end,
                   next_attempt_at = case when k % 3 <> 1 and k % 5 = 0 then now() end
              from a where c.id = a.callee_id and c.state = 3 and c.attempts = a.attempt_no;
            commit;
        end loop;
        -- a manager-like statement over every campaign
        update dialer.callees set state = case when state = 2 then 0 else 2 end, next_attempt_at = null
         where campaign_id = any (camps) and state in (0, 2) and id % 37 = (worker * 5 + r) % 37;
        commit;
    end loop;
end;
$$;
-- the attempts inserted by hand above did not count themselves in callees.attempts
update dialer.callees c set attempts = coalesce((select max(attempt_no) from dialer.attempts a where a.callee_id = c.id), 0);
select count(*) as attempts_before from dialer.attempts \gset
\set traffic `d=$(mktemp -d); for i in 1 2 3 4 5 6 7 8 9; do (psql -X -q -d :'DBNAME' -c "call public.counters_traffic($i, 20)" >$d/$i.out 2>&1; echo $? >$d/$i.rc) & done; wait; echo "exits=$(cat $d/*.rc | tr -d '\n')"; cat $d/*.out | head -3; rm -rf $d`
select tap.is(:'traffic', 'exits=000000000', 'nine concurrent sessions of claims, events, finishes, reverts and multi-campaign updates: no error, no deadlock');
select tap.ok((select count(*) > count(distinct pid % 8) from public.traffic_pids), 'at least two of the sessions shared a counter slot');
select tap.ok((select count(*) from dialer.attempts) > :attempts_before + 100, 'the sessions placed their calls');
select pg_temp.drift_is_empty('after the concurrent sessions the counters equal a recount');

-- Drift and rebuild -------------------------------------------------------------------------------
update dialer.campaign_counters set attempts = attempts + 5 where campaign_id = :a and slot = (select min(slot) from dialer.campaign_counters where campaign_id = :a);
select tap.is((select format('%s %s %s', counter, key, (stored->>'attempts')::int - (recounted->>'attempts')::int) from dialer.counters_drift()),
              format('campaign_counters %s 5', :a), 'counters_drift() shows a counter that is off, and by how much');
select tap.ok(dialer.counters_rebuild() > 0, 'counters_rebuild() recounts');
select pg_temp.drift_is_empty('after the rebuild the counters equal a recount');
select tap.is((select count(*) from dialer.campaign_counters where slot <> 0), 0::bigint, 'the rebuild writes slot 0 only');

-- TRUNCATE ----------------------------------------------------------------------------------------
truncate dialer.attempts cascade;
select pg_temp.drift_is_empty('TRUNCATE of attempts zeroes the attempt counters and the hourly rollup');
select tap.is((select count(*) from dialer.attempt_hourly) + (select count(*) from dialer.attempt_hourly_agents), 0::bigint,
              'TRUNCATE of attempts empties the hourly rollup');
truncate dialer.callees cascade;
select pg_temp.drift_is_empty('TRUNCATE of callees zeroes the callee counters');

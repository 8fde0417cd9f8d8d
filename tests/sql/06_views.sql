-- 06_views: campaign_progress, agent_pool and call_latency count what a few inserted rows say.

insert into dialer.skill_groups (id, name) values (1, 'sales'), (2, 'support'), (3, 'empty');
insert into dialer.campaigns (name, skill_group_id, callers, expected_abandon_rate) values ('a', 1, '{123}', 2.5), ('b', 2, '{123}', 3);
select id as a from dialer.campaigns where name = 'a' \gset
select id as b from dialer.campaigns where name = 'b' \gset

-- campaign a: 2 initial, 1 answered, 3 unanswered, 1 calling, 2 pending retry
insert into dialer.callees (campaign_id, number, state, next_attempt_at)
values (:a, '1001', 0, null), (:a, '1002', 0, null), (:a, '1003', 1, null),
       (:a, '1004', 2, null), (:a, '1005', 2, null), (:a, '1006', 2, null),
       (:a, '1007', 3, null), (:a, '1008', 4, now() + interval '1 hour'), (:a, '1009', 4, now());

-- Attempts of campaign a, one per callee 1001..1008, placed `age` ago:
--   placed now:     ok (answer after 2 s, agent 1 s later), abandoned (answer after 4 s),
--                   notAnswer, machine (answer after 6 s)
--   2 and 3 days:   abandoned, ok (connected), ok (connected)
--   40 days:        abandoned
create function pg_temp.attempt(num text, age interval, answer_s numeric, connect_s numeric, status text) returns void
language sql
as $$
insert into dialer.attempts (callee_id, campaign_id, attempt_no, caller, created_at, dialed_at, answered_at,
                             connected_at, ended_at, end_status)
select e.id, e.campaign_id, 1, '123', now() - age, now() - age,
       now() - age + make_interval(secs => answer_s::float8),
       now() - age + make_interval(secs => (answer_s + connect_s)::float8),
       now() - age + interval '60 seconds', status
  from dialer.callees e where e.number = num and e.campaign_id = (select id from dialer.campaigns where name = 'a')
$$;
select pg_temp.attempt('1001', '0', 2, 1, 'ok'),
       pg_temp.attempt('1002', '0', 4, null, 'abandoned'),
       pg_temp.attempt('1003', '0', null, null, 'notAnswer'),
       pg_temp.attempt('1004', '0', 6, null, 'machine'),
       pg_temp.attempt('1005', '2 days', 3, null, 'abandoned'),
       pg_temp.attempt('1006', '2 days', 3, 1, 'ok'),
       pg_temp.attempt('1007', '3 days', 3, 1, 'ok'),
       pg_temp.attempt('1008', '40 days', 3, null, 'abandoned') \g /dev/null
-- one call still in flight: placed, nothing heard yet
insert into dialer.attempts (callee_id, campaign_id, attempt_no, caller, dialed_at)
select id, campaign_id, 2, '123', now() from dialer.callees where campaign_id = :a and number = '1008';

-- campaign_progress -----------------------------------------------------------------------------
select tap.is(row(campaign_id, name, status, status_reason, priority)::text, format('(%s,a,0,0,3)', :a),
              'campaign_progress names the campaign, its status, reason and priority')
  from dialer.campaign_progress where campaign_id = :a;
select tap.is(row(callee_count, finished_callee_count)::text, '(9,4)',
              'campaign_progress: 9 callees, 4 finished (answered or unanswered)')
  from dialer.campaign_progress where campaign_id = :a;
select tap.is(row(state_initial, state_answered, state_unanswered, state_calling, state_pending_retry)::text, '(2,1,3,1,2)',
              'campaign_progress counts callees per state: 2 initial, 1 answered, 3 unanswered, 1 calling, 2 pending retry')
  from dialer.campaign_progress where campaign_id = :a;
select tap.is(row(attempts, answered, connected, abandoned)::text, '(9,7,3,3)',
              'campaign_progress: 9 attempts, 7 answered, 3 connected, 3 abandoned')
  from dialer.campaign_progress where campaign_id = :a;
-- 24 h: abandoned 1 of 2 live answers (the machine is no live answer) = 50 %
select tap.is(abandon_rate_24h, 50.00, 'abandon_rate_24h = 1 abandoned / 2 live answers = 50 %')
  from dialer.campaign_progress where campaign_id = :a;
-- 30 d: abandoned 2 of 5 live answers = 40 %; the 40-day-old call is outside
select tap.is(abandon_rate_30d, 40.00, 'abandon_rate_30d = 2 abandoned / 5 live answers = 40 %')
  from dialer.campaign_progress where campaign_id = :a;
select tap.is(expected_abandon_rate, 2.5, 'campaign_progress shows expected_abandon_rate')
  from dialer.campaign_progress where campaign_id = :a;
select tap.is(row(callee_count, finished_callee_count, state_initial, attempts, answered, connected, abandoned,
                  abandon_rate_24h, abandon_rate_30d)::text, '(0,0,0,0,0,0,0,0,0)',
              'a campaign without callees or calls shows zeros, abandon rates 0')
  from dialer.campaign_progress where campaign_id = :b;
select tap.is((select count(*) from dialer.campaign_progress), 2::bigint, 'campaign_progress has one row per campaign');

-- call_latency ----------------------------------------------------------------------------------
-- last hour: 4 finished calls and the one in flight; dial->answer 2000, 4000, 6000 ms; answer->agent 1000 ms
select tap.is(calls, 5::bigint, 'call_latency counts the 5 calls placed in the last hour')
  from dialer.call_latency where campaign_id = :a;
select tap.is(row(dial_to_answer_min_ms, dial_to_answer_median_ms, dial_to_answer_p90_ms)::text, '(2000,4000,5600)',
              'call_latency dial to answer: min 2000, median 4000, p90 5600 ms')
  from dialer.call_latency where campaign_id = :a;
select tap.is(row(answer_to_agent_min_ms, answer_to_agent_median_ms, answer_to_agent_p90_ms)::text, '(1000,1000,1000)',
              'call_latency answer to agent: 1000 ms')
  from dialer.call_latency where campaign_id = :a;
select tap.is(row(calls, dial_to_answer_min_ms, answer_to_agent_p90_ms)::text, '(0,,)',
              'call_latency of a campaign without calls: 0 calls, NULL latencies')
  from dialer.call_latency where campaign_id = :b;

-- agent_pool ------------------------------------------------------------------------------------
insert into dialer.agents (id, status) values ('a1', 'free'), ('a2', 'busy'), ('a3', 'arrange'), ('a4', 'notReady'),
                                              ('a5', 'rest'), ('a6', 'offline'), ('a7', 'free');
insert into dialer.agent_skill_groups (agent_id, skill_group_id)
select id, 1 from dialer.agents union all select 'a7', 2 union all select 'a2', 2;
select tap.is(row(name, agents, free, busy, arrange, not_ready, rest, offline)::text, '(sales,7,2,1,1,1,1,1)',
              'agent_pool sales: 7 agents, 2 free, one in each other status')
  from dialer.agent_pool where skill_group_id = 1;
select tap.is(row(name, agents, free, busy, arrange, not_ready, rest, offline)::text, '(support,2,1,1,0,0,0,0)',
              'agent_pool support: an agent of two groups counts in both')
  from dialer.agent_pool where skill_group_id = 2;
select tap.is(row(name, agents, free, busy, arrange, not_ready, rest, offline)::text, '(empty,0,0,0,0,0,0,0)',
              'agent_pool of a group without agents: zeros')
  from dialer.agent_pool where skill_group_id = 3;
update dialer.agents set status = 'busy' where id = 'a1';
select tap.is(row(free, busy)::text, '(1,2)', 'agent_pool follows status changes')
  from dialer.agent_pool where skill_group_id = 1;

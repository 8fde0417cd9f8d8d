-- 0003_views: the dashboard views (campaign progress, agent pools, call latency).
--
-- Each view computes per campaign / per skill group through lateral subqueries, so a dashboard
-- that filters on campaign_id or skill_group_id reads that one campaign's rows by index only.
-- Time windows are on attempts.created_at (when the call was placed), which is indexed per
-- campaign and set on every attempt, even one whose carrier never reported back.

create view dialer.campaign_progress as
select c.id            as campaign_id,
       c.name,
       c.status,
       c.status_reason,
       c.priority,
       s.callee_count,
       s.finished_callee_count,
       s.state_initial,
       s.state_answered,
       s.state_unanswered,
       s.state_calling,
       s.state_pending_retry,
       a.attempts,
       a.answered,
       a.connected,
       a.abandoned,
       coalesce(round(100.0 * w.abandoned_24h / nullif(w.live_24h, 0), 2), 0) as abandon_rate_24h,
       coalesce(round(100.0 * w.abandoned_30d / nullif(w.live_30d, 0), 2), 0) as abandon_rate_30d,
       c.expected_abandon_rate
  from dialer.campaigns c
 cross join lateral (
        select count(*)                                 as callee_count,
               count(*) filter (where e.state in (1, 2)) as finished_callee_count,
               count(*) filter (where e.state = 0)      as state_initial,
               count(*) filter (where e.state = 1)      as state_answered,
               count(*) filter (where e.state = 2)      as state_unanswered,
               count(*) filter (where e.state = 3)      as state_calling,
               count(*) filter (where e.state = 4)      as state_pending_retry
          from dialer.callees e
         where e.campaign_id = c.id) s
 cross join lateral (
        select count(*)                                        as attempts,
               count(t.answered_at)                            as answered,
               count(t.connected_at)                           as connected,
               count(*) filter (where t.end_status = 'abandoned') as abandoned
          from dialer.attempts t
         where t.campaign_id = c.id) a
 -- The rate is the one the predictive pacer is held to: abandoned calls over calls a person
 -- answered. Answering machines are not live answers, and an abandoned call was answered even
 -- if its answer event was lost.
 cross join lateral (
        select count(*) filter (where t.end_status = 'abandoned'
                                  and t.created_at >= now() - interval '24 hours') as abandoned_24h,
               count(*) filter (where (t.answered_at is not null or t.end_status = 'abandoned')
                                  and t.end_status is distinct from 'machine'
                                  and t.created_at >= now() - interval '24 hours') as live_24h,
               count(*) filter (where t.end_status = 'abandoned')                 as abandoned_30d,
               count(*) filter (where (t.answered_at is not null or t.end_status = 'abandoned')
                                  and t.end_status is distinct from 'machine')      as live_30d
          from dialer.attempts t
         where t.campaign_id = c.id
           and t.created_at >= now() - interval '30 days') w;

comment on view dialer.campaign_progress is
    'One row per campaign: callee counts by state, attempt outcomes, abandon rate in percent '
    '(abandoned / live answers of the attempts placed in the last 24 h and 30 days; 0 without answers).';

-- An agent in several skill groups is counted in each of them.
create view dialer.agent_pool as
select g.id                                                as skill_group_id,
       g.name,
       count(a.id)                                         as agents,
       count(*) filter (where a.status = 'free')           as free,
       count(*) filter (where a.status = 'busy')           as busy,
       count(*) filter (where a.status = 'arrange')        as arrange,
       count(*) filter (where a.status = 'notReady')       as not_ready,
       count(*) filter (where a.status = 'rest')           as rest,
       count(*) filter (where a.status = 'offline')        as offline
  from dialer.skill_groups g
  left join dialer.agent_skill_groups m on m.skill_group_id = g.id
  left join dialer.agents a on a.id = m.agent_id
 group by g.id, g.name;

comment on view dialer.agent_pool is
    'One row per skill group: its member agents, in total and per status.';

create view dialer.call_latency as
select c.id as campaign_id,
       c.name,
       l.calls,
       l.dial_to_answer_min_ms,
       l.dial_to_answer_median_ms,
       l.dial_to_answer_p90_ms,
       l.answer_to_agent_min_ms,
       l.answer_to_agent_median_ms,
       l.answer_to_agent_p90_ms
  from dialer.campaigns c
 cross join lateral (
        select count(*)                                                             as calls,
               round(min(x.d2a))::bigint                                            as dial_to_answer_min_ms,
               round(percentile_cont(0.5) within group (order by x.d2a))::bigint    as dial_to_answer_median_ms,
               round(percentile_cont(0.9) within group (order by x.d2a))::bigint    as dial_to_answer_p90_ms,
               round(min(x.a2c))::bigint                                            as answer_to_agent_min_ms,
               round(percentile_cont(0.5) within group (order by x.a2c))::bigint    as answer_to_agent_median_ms,
               round(percentile_cont(0.9) within group (order by x.a2c))::bigint    as answer_to_agent_p90_ms
          from (select (extract(epoch from t.answered_at - t.dialed_at) * 1000)::float8    as d2a,
                       (extract(epoch from t.connected_at - t.answered_at) * 1000)::float8 as a2c
                  from dialer.attempts t
                 where t.campaign_id = c.id
                   and t.created_at >= now() - interval '1 hour') x) l;

comment on view dialer.call_latency is
    'One row per campaign, over the attempts placed in the last hour: calls, and min / median / p90 '
    'in ms of dial to answer (answered_at - dialed_at) and answer to agent (connected_at - answered_at); '
    'NULL when no call in the window has both timestamps.';

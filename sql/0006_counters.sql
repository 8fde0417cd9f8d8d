-- 0006_counters: counters kept by triggers, so that the dashboard views read a few rows per
-- campaign instead of counting its callees and attempts on every refresh.
--
-- Counting a campaign's rows costs time in proportion to the campaign: with a million callees
-- and three million attempts, 0003's campaign_progress took seconds. Here statement-level
-- triggers (transition tables, so a batch of 100 000 rows is one aggregate, not 100 000
-- trigger calls) add each statement's net change to the tables below. Updates of attempts are
-- the exception: dialerd updates one attempt per statement, five times per call, and a
-- row-level trigger whose WHEN clause passes only the updates that change a counted column
-- costs the other updates nothing (see attempts_count_update).
--
--   campaign_counters      per campaign: callees per state, attempt outcomes (all time)
--   attempt_hourly         per campaign and UTC hour of attempts.created_at: dials, outcomes;
--                          talk time and agents by the hours the talk falls in. Feeds the
--                          hourly charts and the 24 h / 30 d abandon rates
--   attempt_hourly_agents  per campaign, hour and agent: talk time; keeps `agents` distinct
--
-- Hot rows. dialerd writes callees and attempts thousands of times a second, each statement in
-- its own transaction. A counter row that every such statement updated would stay locked from
-- the statement's end to its commit (a WAL flush), and the daemon's connections would take
-- turns on it. So counter rows are striped: a session writes to slot pg_backend_pid() % 8 and
-- readers add the slots up. A trigger call changes at most one campaign_counters row per
-- campaign, then its attempt_hourly_agents rows, then its attempt_hourly rows, each set in key
-- order; every daemon statement is its own transaction on one campaign, so two of them sharing
-- a slot wait for each other but cannot deadlock. (A manager's transaction of several
-- statements, or UPDATE of attempts of several campaigns, can, as on any rows; PostgreSQL
-- then cancels one of the two.)
--
-- Folding. Hours before the previous one are always written to slot 0, and the first attempts
-- statement of each session in each hour folds the other slots of such hours into slot 0
-- (dialer.counters_fold): the views read one row per campaign and past hour.
--
-- The counters always equal a recount of the rows as they are now: dialer.counters_drift()
-- lists any difference, dialer.counters_rebuild() recounts. This migration backfills them
-- from the existing rows. docs/dashboards.md has the whole story.

-- Tables ---------------------------------------------------------------------------------------

-- Values are signed: a slot may hold the decrement of a row that another slot counted in.
-- fillfactor leaves room on each page so that the constant updates stay HOT (no index change).
create table dialer.campaign_counters (
    campaign_id          bigint not null
        constraint campaign_counters_campaign_id_fkey references dialer.campaigns (id) on delete cascade,
    slot                 smallint not null
        constraint campaign_counters_slot_0_to_7 check (slot between 0 and 7),
    state_initial        bigint not null default 0,
    state_answered       bigint not null default 0,
    state_unanswered     bigint not null default 0,
    state_calling        bigint not null default 0,
    state_pending_retry  bigint not null default 0,
    attempts             bigint not null default 0,
    answered             bigint not null default 0,
    connected            bigint not null default 0,
    abandoned            bigint not null default 0,
    live_answers         bigint not null default 0,
    machine              bigint not null default 0,
    ended                bigint not null default 0,
    succeeded            bigint not null default 0,
    constraint campaign_counters_pkey primary key (campaign_id, slot)
) with (fillfactor = 50);

comment on table dialer.campaign_counters is
    'Per campaign, striped over slots 0..7 (add them up): callees per state and attempt outcomes, '
    'kept by the statement triggers of 0006_counters. Read through dialer.campaign_progress.';

-- Counts are int: one campaign, hour and slot would need 600 000 dials a second to overflow
-- one, and int sums are much cheaper to add up than bigint ones (which PostgreSQL sums as numeric).
create table dialer.attempt_hourly (
    campaign_id    bigint not null
        constraint attempt_hourly_campaign_id_fkey references dialer.campaigns (id) on delete cascade,
    -- the UTC hour of attempts.created_at; for talk, the hour the talk falls in
    hour           timestamptz not null
        constraint attempt_hourly_hour_whole_hour check (extract(epoch from hour) % 3600 = 0),
    slot           smallint not null
        constraint attempt_hourly_slot_0_to_7 check (slot between 0 and 7),
    dials          int not null default 0,
    answered       int not null default 0,
    connected      int not null default 0,
    abandoned      int not null default 0,
    live_answers   int not null default 0,
    machine        int not null default 0,
    ended          int not null default 0,
    succeeded      int not null default 0,
    -- connected_at .. ended_at of ended calls, cut at hour boundaries; agent_talk_ms: calls with an agent_id
    talk_ms        bigint not null default 0,
    agent_talk_ms  bigint not null default 0,
    -- distinct agents with talk in this hour (the attempt_hourly_agents rows with calls > 0)
    agents         int not null default 0,
    constraint attempt_hourly_pkey primary key (campaign_id, hour, slot)
) with (fillfactor = 70);
-- the few rows not folded yet: the fold finds them, and campaign_hourly the hours to add up
create index attempt_hourly_unfolded_idx on dialer.attempt_hourly (campaign_id, hour) where slot <> 0;
-- campaigns x hours is far more groups than the planner guesses from the columns alone
create statistics dialer.attempt_hourly_groups (ndistinct) on campaign_id, hour from dialer.attempt_hourly;

comment on table dialer.attempt_hourly is
    'Per campaign and UTC hour of attempts.created_at, striped over slots 0..7 (add them up; past '
    'hours are folded into slot 0): dials and outcomes; talk time and agents by the hours the talk '
    'falls in. Read through dialer.campaign_hourly and dialer.campaign_progress.';

create table dialer.attempt_hourly_agents (
    campaign_id  bigint not null
        constraint attempt_hourly_agents_campaign_id_fkey references dialer.campaigns (id) on delete cascade,
    hour         timestamptz not null
        constraint attempt_hourly_agents_hour_whole_hour check (extract(epoch from hour) % 3600 = 0),
    agent_id     text not null,
    -- calls of this agent with talk in this hour; the agent counts in attempt_hourly.agents while > 0
    calls        int not null default 0,
    talk_ms      bigint not null default 0,
    constraint attempt_hourly_agents_pkey primary key (campaign_id, hour, agent_id)
) with (fillfactor = 70);

comment on table dialer.attempt_hourly_agents is
    'Per campaign, UTC hour and agent: the talk time of its ended calls in that hour. Keeps '
    'attempt_hourly.agents a count of distinct agents.';

-- Helpers --------------------------------------------------------------------------------------

-- Hours are UTC hours, whatever the session's TimeZone: date_trunc('hour', t) alone would cut
-- at the half hour in Asia/Kolkata, and two sessions would count into different rows.
create function dialer.hour_of(t timestamptz) returns timestamptz
language sql stable parallel safe
return date_trunc('hour', t, 'UTC');

-- The first whole hour at or after t: a window that starts at t counts the part-hour before
-- it from attempts, and whole hours from attempt_hourly.
create function dialer.hour_ceil(t timestamptz) returns timestamptz
language sql stable parallel safe
return date_trunc('hour', t - interval '1 microsecond', 'UTC') + interval '1 hour';

-- The session's counter slot (see the head of this file). Parallel restricted: a worker has its own pid.
create function dialer.counter_slot() returns smallint
language sql stable parallel restricted
return (pg_backend_pid() % 8)::smallint;

-- What one attempt row adds to the counters, times d (1 when it appears, -1 when it goes):
-- one row for the hour it was placed in, with its outcome flags; and, for an ended call with
-- talk, one row per hour the talk falls in (at most 24 hours of it), with that hour's share.
-- The triggers and the recount both read attempts through this, so they cannot disagree.
create type dialer.attempt_delta as (
    campaign_id   bigint,
    hour          timestamptz,
    agent_id      text,
    dials         int,
    answered      int,
    connected     int,
    abandoned     int,
    live_answers  int,
    machine       int,
    ended         int,
    succeeded     int,
    talk_ms       bigint,
    talk_calls    int
);

-- Row i = 0 is the attempt's own row; rows i = 1..n are the n hours its talk falls in. (One
-- SELECT rather than a UNION of the two kinds: PostgreSQL 15 inlines this function into the
-- queries that call it, and fails to plan such a UNION grouped by campaign.)
create function dialer.attempt_facts(d int, a dialer.attempts) returns setof dialer.attempt_delta
language sql stable parallel safe
as $$
    select a.campaign_id,
           case when i = 0 then dialer.hour_of(a.created_at) else x.h end,
           case when i > 0 then a.agent_id end,
           x.e,
           x.e * (a.answered_at is not null)::int,
           x.e * (a.connected_at is not null)::int,
           x.e * (a.end_status is not distinct from 'abandoned')::int,
           -- a live answer, as in 0003: answered (or abandoned, whose answer event may be lost),
           -- and not an answering machine; the abandon rate is abandoned / live answers
           x.e * ((a.answered_at is not null or a.end_status is not distinct from 'abandoned')
                  and a.end_status is distinct from 'machine')::int,
           x.e * (a.end_status is not distinct from 'machine')::int,
           x.e * (a.ended_at is not null)::int,
           x.e * (a.success is true)::int,
           case when i = 0 then 0::bigint
                else (d * round(extract(epoch from least(a.ended_at, a.connected_at + interval '24 hours',
                                                         x.h + interval '1 hour')
                                                   - greatest(a.connected_at, x.h)) * 1000))::bigint end,
           d - x.e
      from generate_series(0, case when a.connected_at is not null and a.ended_at > a.connected_at
                                   then (extract(epoch from dialer.hour_of(least(a.ended_at, a.connected_at + interval '24 hours')
                                                                           - interval '1 microsecond')
                                                            - dialer.hour_of(a.connected_at)) / 3600)::int + 1
                                   else 0 end) as i
     -- e: d on the attempt's own row, else 0; h: the hour of a talk row
     cross join lateral (select d * (i = 0)::int as e,
                                dialer.hour_of(a.connected_at) + (i - 1) * interval '1 hour' as h) as x
$$;

-- Folding --------------------------------------------------------------------------------------

-- Adds slots 1..7 of every hour before the previous one into slot 0. Writers put such hours in
-- slot 0 themselves, so this moves only rows written while their hour was recent. Returns the
-- rows it wrote. With wait => false (the triggers' call) it returns 0 at once when another
-- session is folding, and after 50 ms when a row it needs is locked, rather than hold up the
-- statement that called it; another session's first statement of the hour tries again.
create function dialer.counters_fold(wait boolean default true) returns bigint
language plpgsql
as $$
declare
    moved    bigint;
    timeout  text;
begin
    -- the key: "dialer" in ASCII, plus one (migrate.sh takes the key itself)
    if wait then
        perform pg_advisory_xact_lock(110442579702131);
        return dialer.counters_fold_rows();
    end if;
    if not pg_try_advisory_xact_lock(110442579702131) then
        return 0;
    end if;
    timeout := current_setting('lock_timeout');
    begin
        perform set_config('lock_timeout', '50ms', true);
        moved := dialer.counters_fold_rows();
        perform set_config('lock_timeout', timeout, true);
    exception when lock_not_available or deadlock_detected then
        return 0;           -- the subtransaction is undone, lock_timeout with it
    end;
    return moved;
end;
$$;

create function dialer.counters_fold_rows() returns bigint
language plpgsql
as $$
declare
    moved bigint;
begin
    with gone as (
        delete from dialer.attempt_hourly
         where slot <> 0 and hour < dialer.hour_of(now()) - interval '1 hour'
        returning *
    )
    insert into dialer.attempt_hourly as t
           (campaign_id, hour, slot, dials, answered, connected, abandoned, live_answers, machine,
            ended, succeeded, talk_ms, agent_talk_ms, agents)
    select campaign_id, hour, 0, sum(dials), sum(answered), sum(connected), sum(abandoned),
           sum(live_answers), sum(machine), sum(ended), sum(succeeded), sum(talk_ms),
           sum(agent_talk_ms), sum(agents)
      from gone
     group by campaign_id, hour
     order by campaign_id, hour
    on conflict (campaign_id, hour, slot) do update set
        dials = t.dials + excluded.dials, answered = t.answered + excluded.answered,
        connected = t.connected + excluded.connected, abandoned = t.abandoned + excluded.abandoned,
        live_answers = t.live_answers + excluded.live_answers, machine = t.machine + excluded.machine,
        ended = t.ended + excluded.ended, succeeded = t.succeeded + excluded.succeeded,
        talk_ms = t.talk_ms + excluded.talk_ms, agent_talk_ms = t.agent_talk_ms + excluded.agent_talk_ms,
        agents = t.agents + excluded.agents;
    get diagnostics moved = row_count;
    return moved;
end;
$$;

-- Triggers -------------------------------------------------------------------------------------
-- SECURITY DEFINER: a manager allowed to insert callees needs no privilege on the counters.
-- plan_cache_mode = force_generic_plan where statements take an array or a row as parameter:
-- PostgreSQL would otherwise re-plan them on every call (a plan for the actual parameter looks
-- cheaper to it than a generic one), which cost several times the rest of the trigger.

-- Callees: the statement's net change of callees per campaign and state. A state change is -1
-- in the old state and +1 in the new one; an update that changes no state (most of a manager's
-- edits) nets to nothing and touches no counter row.
create function dialer.callees_count() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp
set plan_cache_mode = force_generic_plan
as $$
declare
    deltas bigint[];    -- {{campaign_id, state, net change}, ...}
begin
    if tg_op = 'INSERT' then
        deltas := array(select array[campaign_id, state, count(*)] from new_rows group by campaign_id, state);
    elsif tg_op = 'DELETE' then
        -- rows deleted with their campaign: its counters went with it (foreign key cascade)
        deltas := array(select array[campaign_id, state, -count(*)] from old_rows o
                         where exists (select from dialer.campaigns c where c.id = o.campaign_id)
                         group by campaign_id, state);
    else
        deltas := array(select array[campaign_id, state, sum(d)]
                          from (select campaign_id, state, 1 as d from new_rows
                                union all
                                select campaign_id, state, -1 from old_rows) s
                         group by campaign_id, state having sum(d) <> 0);
    end if;
    if cardinality(deltas) = 0 then
        return null;
    end if;
    insert into dialer.campaign_counters as t
           (campaign_id, slot, state_initial, state_answered, state_unanswered, state_calling, state_pending_retry)
    select x.campaign_id, dialer.counter_slot(),
           coalesce(sum(x.n) filter (where x.state = 0), 0), coalesce(sum(x.n) filter (where x.state = 1), 0),
           coalesce(sum(x.n) filter (where x.state = 2), 0), coalesce(sum(x.n) filter (where x.state = 3), 0),
           coalesce(sum(x.n) filter (where x.state = 4), 0)
      from (select deltas[i][1] as campaign_id, deltas[i][2] as state, deltas[i][3] as n
              from generate_subscripts(deltas, 1) as i) x
     group by x.campaign_id
     order by x.campaign_id
    on conflict (campaign_id, slot) do update set
        state_initial = t.state_initial + excluded.state_initial,
        state_answered = t.state_answered + excluded.state_answered,
        state_unanswered = t.state_unanswered + excluded.state_unanswered,
        state_calling = t.state_calling + excluded.state_calling,
        state_pending_retry = t.state_pending_retry + excluded.state_pending_retry;
    return null;
end;
$$;

-- Adds attempt deltas (attempt_facts summed by campaign, hour and agent) to the counters, in
-- the lock order of the head of this file: campaign_counters, attempt_hourly_agents,
-- attempt_hourly. with_agents says whether some delta is an agent's talk. The attempts triggers
-- call it, with the table owner's rights; called by anyone else it needs their rights on the
-- counter tables.
create function dialer.attempt_counts_add(deltas dialer.attempt_delta[], with_agents boolean) returns void
language plpgsql set plan_cache_mode = force_generic_plan
as $$
declare
    hour_now text := dialer.hour_of(now())::text;
begin
    -- once per session and hour: fold the slots of past hours (never waits)
    if current_setting('dialer.counters_folded', true) is distinct from hour_now then
        perform dialer.counters_fold(wait => false);
        perform set_config('dialer.counters_folded', hour_now, false);
    end if;

    -- 1. campaign_counters: one row per campaign
    insert into dialer.campaign_counters as t
           (campaign_id, slot, attempts, answered, connected, abandoned, live_answers, machine, ended, succeeded)
    select x.campaign_id, dialer.counter_slot(), sum(x.dials), sum(x.answered), sum(x.connected),
           sum(x.abandoned), sum(x.live_answers), sum(x.machine), sum(x.ended), sum(x.succeeded)
      from unnest(deltas) x
     group by x.campaign_id
    having sum(x.dials) <> 0 or sum(x.answered) <> 0 or sum(x.connected) <> 0 or sum(x.abandoned) <> 0
        or sum(x.live_answers) <> 0 or sum(x.machine) <> 0 or sum(x.ended) <> 0 or sum(x.succeeded) <> 0
     order by x.campaign_id
    on conflict (campaign_id, slot) do update set
        attempts = t.attempts + excluded.attempts, answered = t.answered + excluded.answered,
        connected = t.connected + excluded.connected, abandoned = t.abandoned + excluded.abandoned,
        live_answers = t.live_answers + excluded.live_answers, machine = t.machine + excluded.machine,
        ended = t.ended + excluded.ended, succeeded = t.succeeded + excluded.succeeded;

    -- 2. attempt_hourly. Most statements (a claim, an answer, a connect) carry no agent talk and
    -- write it directly: attempt_hourly_agents stays out of the statement.
    if not with_agents then
        insert into dialer.attempt_hourly as t
               (campaign_id, hour, slot, dials, answered, connected, abandoned, live_answers, machine,
                ended, succeeded, talk_ms)
        select x.campaign_id, x.hour,
               -- the current and previous hour are striped; older hours (late events) go to slot 0
               case when x.hour >= dialer.hour_of(now()) - interval '1 hour' then dialer.counter_slot() else 0 end,
               sum(x.dials), sum(x.answered), sum(x.connected), sum(x.abandoned), sum(x.live_answers),
               sum(x.machine), sum(x.ended), sum(x.succeeded), sum(x.talk_ms)
          from unnest(deltas) x
         group by x.campaign_id, x.hour
        having sum(x.dials) <> 0 or sum(x.answered) <> 0 or sum(x.connected) <> 0 or sum(x.abandoned) <> 0
            or sum(x.live_answers) <> 0 or sum(x.machine) <> 0 or sum(x.ended) <> 0 or sum(x.succeeded) <> 0
            or sum(x.talk_ms) <> 0
         order by x.campaign_id, x.hour
        on conflict (campaign_id, hour, slot) do update set
            dials = t.dials + excluded.dials, answered = t.answered + excluded.answered,
            connected = t.connected + excluded.connected, abandoned = t.abandoned + excluded.abandoned,
            live_answers = t.live_answers + excluded.live_answers, machine = t.machine + excluded.machine,
            ended = t.ended + excluded.ended, succeeded = t.succeeded + excluded.succeeded,
            talk_ms = t.talk_ms + excluded.talk_ms;
        return;
    end if;

    -- 2'. With agent talk: attempt_hourly_agents, then attempt_hourly with the agents that came
    -- or went. The aggregate over agent_change reads every agent row written before the first
    -- hourly row is written, which keeps the lock order.
    with agent_delta as (
        select x.campaign_id, x.hour, x.agent_id, sum(x.talk_calls) as calls, sum(x.talk_ms) as talk_ms
          from unnest(deltas) x
         where x.agent_id is not null
         group by x.campaign_id, x.hour, x.agent_id
        having sum(x.talk_calls) <> 0 or sum(x.talk_ms) <> 0
    ), agent_up as (
        insert into dialer.attempt_hourly_agents as t (campaign_id, hour, agent_id, calls, talk_ms)
        select campaign_id, hour, agent_id, calls, talk_ms
          from agent_delta order by campaign_id, hour, agent_id
        on conflict (campaign_id, hour, agent_id) do update set
            calls = t.calls + excluded.calls, talk_ms = t.talk_ms + excluded.talk_ms
        returning t.campaign_id, t.hour, t.agent_id, t.calls
    ), agent_change as (
        -- before this statement the row had calls - delta; an agent counts while calls > 0
        select u.campaign_id, u.hour, (u.calls > 0)::int - (u.calls - d.calls > 0)::int as agents
          from agent_up u
          join agent_delta d using (campaign_id, hour, agent_id)
    ), hourly as (
        select x.campaign_id, x.hour, x.dials, x.answered, x.connected, x.abandoned, x.live_answers,
               x.machine, x.ended, x.succeeded, x.talk_ms,
               case when x.agent_id is not null then x.talk_ms else 0 end as agent_talk_ms, 0 as agents
          from unnest(deltas) x
        union all
        select campaign_id, hour, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, agents
          from agent_change
    )
    insert into dialer.attempt_hourly as t
           (campaign_id, hour, slot, dials, answered, connected, abandoned, live_answers, machine,
            ended, succeeded, talk_ms, agent_talk_ms, agents)
    select h.campaign_id, h.hour,
           case when h.hour >= dialer.hour_of(now()) - interval '1 hour' then dialer.counter_slot() else 0 end,
           sum(h.dials), sum(h.answered), sum(h.connected), sum(h.abandoned), sum(h.live_answers),
           sum(h.machine), sum(h.ended), sum(h.succeeded), sum(h.talk_ms), sum(h.agent_talk_ms), sum(h.agents)
      from hourly h
     group by h.campaign_id, h.hour
    having sum(h.dials) <> 0 or sum(h.answered) <> 0 or sum(h.connected) <> 0 or sum(h.abandoned) <> 0
        or sum(h.live_answers) <> 0 or sum(h.machine) <> 0 or sum(h.ended) <> 0 or sum(h.succeeded) <> 0
        or sum(h.talk_ms) <> 0 or sum(h.agent_talk_ms) <> 0 or sum(h.agents) <> 0
     order by h.campaign_id, h.hour
    on conflict (campaign_id, hour, slot) do update set
        dials = t.dials + excluded.dials, answered = t.answered + excluded.answered,
        connected = t.connected + excluded.connected, abandoned = t.abandoned + excluded.abandoned,
        live_answers = t.live_answers + excluded.live_answers, machine = t.machine + excluded.machine,
        ended = t.ended + excluded.ended, succeeded = t.succeeded + excluded.succeeded,
        talk_ms = t.talk_ms + excluded.talk_ms, agent_talk_ms = t.agent_talk_ms + excluded.agent_talk_ms,
        agents = t.agents + excluded.agents;
end;
$$;

-- Attempts inserted or deleted: the statement's attempt_facts, summed by campaign, hour and
-- agent. A claim of n callees or an import of 100 000 attempts is one call; so is a campaign's
-- deletion, whose attempts are skipped (their counters went with the campaign, by cascade).
create function dialer.attempts_count() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp
as $$
declare
    deltas      dialer.attempt_delta[];
    with_agents boolean;
begin
    if tg_op = 'INSERT' then
        select array_agg(d), bool_or((d).agent_id is not null) into deltas, with_agents
          from (select row(f.campaign_id, f.hour, f.agent_id, sum(f.dials), sum(f.answered), sum(f.connected),
                           sum(f.abandoned), sum(f.live_answers), sum(f.machine), sum(f.ended), sum(f.succeeded),
                           sum(f.talk_ms), sum(f.talk_calls))::dialer.attempt_delta as d
                  from new_rows r cross join lateral dialer.attempt_facts(1, r) f
                 group by f.campaign_id, f.hour, f.agent_id) s;
    else
        select array_agg(d), bool_or((d).agent_id is not null) into deltas, with_agents
          from (select row(f.campaign_id, f.hour, f.agent_id, sum(f.dials), sum(f.answered), sum(f.connected),
                           sum(f.abandoned), sum(f.live_answers), sum(f.machine), sum(f.ended), sum(f.succeeded),
                           sum(f.talk_ms), sum(f.talk_calls))::dialer.attempt_delta as d
                  from old_rows r cross join lateral dialer.attempt_facts(-1, r) f
                 where exists (select from dialer.campaigns c where c.id = r.campaign_id)
                 group by f.campaign_id, f.hour, f.agent_id) s;
    end if;
    if deltas is not null then
        perform dialer.attempt_counts_add(deltas, with_agents);
    end if;
    return null;
end;
$$;

-- Attempts updated: per row. dialerd updates one attempt per statement, five times per call,
-- and the trigger's WHEN clause (evaluated without calling anything) lets through only the
-- updates that change what attempt_facts reads: the answer, the connect, the end; not the dial,
-- the ringing, session ids or keys. A statement-level trigger would pay for its transition
-- tables and a call on every one of them. (A manager's UPDATE of many attempts runs this per
-- row; dialerd never does that.)
create function dialer.attempts_count_update() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp
set plan_cache_mode = force_generic_plan
as $$
declare
    deltas      dialer.attempt_delta[];
    with_agents boolean;
begin
    select array_agg(d), bool_or((d).agent_id is not null) into deltas, with_agents
      from (select row(f.campaign_id, f.hour, f.agent_id, sum(f.dials), sum(f.answered), sum(f.connected),
                       sum(f.abandoned), sum(f.live_answers), sum(f.machine), sum(f.ended), sum(f.succeeded),
                       sum(f.talk_ms), sum(f.talk_calls))::dialer.attempt_delta as d
              from (select * from dialer.attempt_facts(1, new)
                    union all
                    select * from dialer.attempt_facts(-1, old)) f
             group by f.campaign_id, f.hour, f.agent_id
            having sum(f.dials) <> 0 or sum(f.answered) <> 0 or sum(f.connected) <> 0
                or sum(f.abandoned) <> 0 or sum(f.live_answers) <> 0 or sum(f.machine) <> 0
                or sum(f.ended) <> 0 or sum(f.succeeded) <> 0 or sum(f.talk_ms) <> 0
                or sum(f.talk_calls) <> 0) s;
    if deltas is not null then
        perform dialer.attempt_counts_add(deltas, with_agents);
    end if;
    return null;
end;
$$;

-- TRUNCATE carries no transition table: zero what the truncated table counted.
create function dialer.counters_truncate() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp
as $$
begin
    if tg_table_name = 'callees' then
        update dialer.campaign_counters
           set state_initial = 0, state_answered = 0, state_unanswered = 0, state_calling = 0,
               state_pending_retry = 0;
    else
        update dialer.campaign_counters
           set attempts = 0, answered = 0, connected = 0, abandoned = 0, live_answers = 0,
               machine = 0, ended = 0, succeeded = 0;
        delete from dialer.attempt_hourly_agents;
        delete from dialer.attempt_hourly;
    end if;
    return null;
end;
$$;

create trigger callees_count_insert after insert on dialer.callees
    referencing new table as new_rows
    for each statement execute function dialer.callees_count();
create trigger callees_count_update after update on dialer.callees
    referencing old table as old_rows new table as new_rows
    for each statement execute function dialer.callees_count();
create trigger callees_count_delete after delete on dialer.callees
    referencing old table as old_rows
    for each statement execute function dialer.callees_count();
create trigger callees_count_truncate after truncate on dialer.callees
    for each statement execute function dialer.counters_truncate();

create trigger attempts_count_insert after insert on dialer.attempts
    referencing new table as new_rows
    for each statement execute function dialer.attempts_count();
-- the columns dialer.attempt_facts reads (of answered_at only whether it is set)
create trigger attempts_count_update after update on dialer.attempts
    for each row
    when ((old.campaign_id, old.created_at, old.answered_at is null, old.connected_at, old.ended_at,
           old.end_status, old.success, old.agent_id)
          is distinct from
          (new.campaign_id, new.created_at, new.answered_at is null, new.connected_at, new.ended_at,
           new.end_status, new.success, new.agent_id))
    execute function dialer.attempts_count_update();
create trigger attempts_count_delete after delete on dialer.attempts
    referencing old table as old_rows
    for each statement execute function dialer.attempts_count();
create trigger attempts_count_truncate after truncate on dialer.attempts
    for each statement execute function dialer.counters_truncate();

-- Recount, drift, rebuild ----------------------------------------------------------------------

-- Every attempt's facts, added up per campaign, hour and agent: one pass over attempts.
create function dialer.attempt_facts_recount() returns setof dialer.attempt_delta
language sql stable
as $$
    select f.campaign_id, f.hour, f.agent_id, sum(f.dials), sum(f.answered), sum(f.connected),
           sum(f.abandoned), sum(f.live_answers), sum(f.machine), sum(f.ended), sum(f.succeeded),
           sum(f.talk_ms), sum(f.talk_calls)
      from dialer.attempts t cross join lateral dialer.attempt_facts(1, t) f
     group by f.campaign_id, f.hour, f.agent_id
$$;

-- What the three counter tables would hold if counted from scratch, one row per key, and what
-- they hold, with the slots added up: (counter, key, stored, recounted), values as JSON.
create function dialer.counters_compare()
returns table (counter text, key text, stored jsonb, recounted jsonb)
language sql stable
as $$
    with f as materialized (
        select * from dialer.attempt_facts_recount()
    ), c_recount as (
        select c.id as campaign_id,
               jsonb_build_object(
                   'state_initial', coalesce(e.s0, 0), 'state_answered', coalesce(e.s1, 0),
                   'state_unanswered', coalesce(e.s2, 0), 'state_calling', coalesce(e.s3, 0),
                   'state_pending_retry', coalesce(e.s4, 0), 'attempts', coalesce(a.dials, 0),
                   'answered', coalesce(a.answered, 0), 'connected', coalesce(a.connected, 0),
                   'abandoned', coalesce(a.abandoned, 0), 'live_answers', coalesce(a.live_answers, 0),
                   'machine', coalesce(a.machine, 0), 'ended', coalesce(a.ended, 0),
                   'succeeded', coalesce(a.succeeded, 0)) as v
          from dialer.campaigns c
          left join (select e.campaign_id,
                            count(*) filter (where e.state = 0) as s0, count(*) filter (where e.state = 1) as s1,
                            count(*) filter (where e.state = 2) as s2, count(*) filter (where e.state = 3) as s3,
                            count(*) filter (where e.state = 4) as s4
                       from dialer.callees e group by e.campaign_id) e on e.campaign_id = c.id
          left join (select campaign_id, sum(dials) as dials, sum(answered) as answered,
                            sum(connected) as connected, sum(abandoned) as abandoned,
                            sum(live_answers) as live_answers, sum(machine) as machine,
                            sum(ended) as ended, sum(succeeded) as succeeded
                       from f group by campaign_id) a on a.campaign_id = c.id
    ), c_stored as (
        select campaign_id,
               jsonb_build_object(
                   'state_initial', sum(state_initial), 'state_answered', sum(state_answered),
                   'state_unanswered', sum(state_unanswered), 'state_calling', sum(state_calling),
                   'state_pending_retry', sum(state_pending_retry), 'attempts', sum(attempts),
                   'answered', sum(answered), 'connected', sum(connected), 'abandoned', sum(abandoned),
                   'live_answers', sum(live_answers), 'machine', sum(machine), 'ended', sum(ended),
                   'succeeded', sum(succeeded)) as v
          from dialer.campaign_counters group by campaign_id
    ), h_recount as (
        select campaign_id, hour,
               jsonb_build_object(
                   'dials', sum(dials), 'answered', sum(answered), 'connected', sum(connected),
                   'abandoned', sum(abandoned), 'live_answers', sum(live_answers), 'machine', sum(machine),
                   'ended', sum(ended), 'succeeded', sum(succeeded), 'talk_ms', sum(talk_ms),
                   'agent_talk_ms', coalesce(sum(talk_ms) filter (where agent_id is not null), 0),
                   'agents', count(distinct agent_id) filter (where talk_calls > 0)) as v
          from f group by campaign_id, hour
    ), h_stored as (
        select campaign_id, hour,
               jsonb_build_object(
                   'dials', sum(dials), 'answered', sum(answered), 'connected', sum(connected),
                   'abandoned', sum(abandoned), 'live_answers', sum(live_answers), 'machine', sum(machine),
                   'ended', sum(ended), 'succeeded', sum(succeeded), 'talk_ms', sum(talk_ms),
                   'agent_talk_ms', sum(agent_talk_ms), 'agents', sum(agents)) as v
          from dialer.attempt_hourly group by campaign_id, hour
    ), zero as (
        select '{"state_initial": 0, "state_answered": 0, "state_unanswered": 0, "state_calling": 0,
                 "state_pending_retry": 0, "attempts": 0, "answered": 0, "connected": 0, "abandoned": 0,
                 "live_answers": 0, "machine": 0, "ended": 0, "succeeded": 0}'::jsonb as c,
               '{"dials": 0, "answered": 0, "connected": 0, "abandoned": 0, "live_answers": 0,
                 "machine": 0, "ended": 0, "succeeded": 0, "talk_ms": 0, "agent_talk_ms": 0,
                 "agents": 0}'::jsonb as h
    )
    select 'campaign_counters', campaign_id::text,
           coalesce(s.v, (select c from zero)), coalesce(r.v, (select c from zero))
      from c_stored s full join c_recount r using (campaign_id)
    union all
    select 'attempt_hourly', campaign_id || ' ' || hour,
           coalesce(s.v, (select h from zero)), coalesce(r.v, (select h from zero))
      from h_stored s full join h_recount r using (campaign_id, hour)
    union all
    select 'attempt_hourly_agents', concat_ws(' ', campaign_id, hour, agent_id),
           jsonb_build_object('calls', coalesce(s.calls, 0), 'talk_ms', coalesce(s.talk_ms, 0)),
           jsonb_build_object('calls', coalesce(r.calls, 0), 'talk_ms', coalesce(r.talk_ms, 0))
      from dialer.attempt_hourly_agents s
      full join (select campaign_id, hour, agent_id, sum(talk_calls) as calls, sum(talk_ms) as talk_ms
                   from f where agent_id is not null and talk_calls > 0
                  group by campaign_id, hour, agent_id) r using (campaign_id, hour, agent_id)
$$;

-- Every key where the counters differ from a recount; no rows when they agree. Reads every
-- callee and attempt: an operator's check, not a dashboard query.
create function dialer.counters_drift()
returns table (counter text, key text, stored jsonb, recounted jsonb)
language sql stable
as $$
    select * from dialer.counters_compare() where stored <> recounted
$$;

-- Replaces the counters with a recount, in slot 0, and returns the rows written. Holds writes
-- to callees and attempts off while it counts (SHARE ROW EXCLUSIVE; reads go on), so nothing
-- slips between count and store. Run it in a READ COMMITTED transaction (the default).
create function dialer.counters_rebuild() returns bigint
language plpgsql
as $$
declare
    n     bigint;
    total bigint := 0;
begin
    lock table dialer.callees, dialer.attempts in share row exclusive mode;
    delete from dialer.campaign_counters;
    delete from dialer.attempt_hourly;
    delete from dialer.attempt_hourly_agents;
    create temp table counters_rebuild_facts on commit drop as select * from dialer.attempt_facts_recount();

    insert into dialer.campaign_counters
           (campaign_id, slot, state_initial, state_answered, state_unanswered, state_calling,
            state_pending_retry, attempts, answered, connected, abandoned, live_answers, machine,
            ended, succeeded)
    select c.id, 0, coalesce(e.s0, 0), coalesce(e.s1, 0), coalesce(e.s2, 0), coalesce(e.s3, 0),
           coalesce(e.s4, 0), coalesce(a.dials, 0), coalesce(a.answered, 0), coalesce(a.connected, 0),
           coalesce(a.abandoned, 0), coalesce(a.live_answers, 0), coalesce(a.machine, 0),
           coalesce(a.ended, 0), coalesce(a.succeeded, 0)
      from dialer.campaigns c
      left join (select e.campaign_id,
                        count(*) filter (where e.state = 0) as s0, count(*) filter (where e.state = 1) as s1,
                        count(*) filter (where e.state = 2) as s2, count(*) filter (where e.state = 3) as s3,
                        count(*) filter (where e.state = 4) as s4
                   from dialer.callees e group by e.campaign_id) e on e.campaign_id = c.id
      left join (select campaign_id, sum(dials) as dials, sum(answered) as answered,
                        sum(connected) as connected, sum(abandoned) as abandoned,
                        sum(live_answers) as live_answers, sum(machine) as machine,
                        sum(ended) as ended, sum(succeeded) as succeeded
                   from counters_rebuild_facts group by campaign_id) a on a.campaign_id = c.id;
    get diagnostics n = row_count;
    total := total + n;

    insert into dialer.attempt_hourly_agents (campaign_id, hour, agent_id, calls, talk_ms)
    select campaign_id, hour, agent_id, talk_calls, talk_ms
      from counters_rebuild_facts where agent_id is not null and talk_calls > 0;
    get diagnostics n = row_count;
    total := total + n;

    insert into dialer.attempt_hourly
           (campaign_id, hour, slot, dials, answered, connected, abandoned, live_answers, machine,
            ended, succeeded, talk_ms, agent_talk_ms, agents)
    select campaign_id, hour, 0, sum(dials), sum(answered), sum(connected), sum(abandoned),
           sum(live_answers), sum(machine), sum(ended), sum(succeeded), sum(talk_ms),
           coalesce(sum(talk_ms) filter (where agent_id is not null), 0),
           count(*) filter (where agent_id is not null and talk_calls > 0)
      from counters_rebuild_facts group by campaign_id, hour;
    get diagnostics n = row_count;
    total := total + n;

    drop table counters_rebuild_facts;
    return total;
end;
$$;

-- Backfill: the rows that exist now. The triggers above are in place, and the lock the rebuild
-- takes waits for writers already under way, so no row is counted twice or missed.
do $$ begin perform dialer.counters_rebuild(); end $$;

-- Index ----------------------------------------------------------------------------------------

-- call_latency reads the attempts of the last hour per campaign, and campaign_progress those of
-- the part-hour at each window's start: with the timestamps and the end status in the index
-- these are index-only scans where the visibility map allows. The key stays (campaign_id,
-- created_at), so this replaces 0001's index of the same name and purpose, and an attempt
-- insert still maintains as many indexes as before. The included columns change on answer,
-- connect and end, so those updates are not HOT; at the rate attempts are inserted, their
-- pages are full long before a call is answered, so they seldom were.
drop index dialer.attempts_campaign_created_idx;
create index attempts_campaign_created_idx on dialer.attempts (campaign_id, created_at)
    include (dialed_at, answered_at, connected_at, end_status);

-- Views ----------------------------------------------------------------------------------------
-- 0003's columns stay as they were, in their order and types (CREATE OR REPLACE VIEW refuses
-- anything else); new columns come last.

create or replace view dialer.campaign_progress as
select c.id            as campaign_id,
       c.name,
       c.status,
       c.status_reason,
       c.priority,
       k.callee_count,
       k.finished_callee_count,
       k.state_initial,
       k.state_answered,
       k.state_unanswered,
       k.state_calling,
       k.state_pending_retry,
       k.attempts,
       k.answered,
       k.connected,
       k.abandoned,
       coalesce(round(100.0 * w.abandoned_24h / nullif(w.live_answers_24h, 0), 2), 0) as abandon_rate_24h,
       coalesce(round(100.0 * w.abandoned_30d / nullif(w.live_answers_30d, 0), 2), 0) as abandon_rate_30d,
       c.expected_abandon_rate,
       w.live_answers_24h,
       w.abandoned_24h,
       w.live_answers_30d,
       w.abandoned_30d
  from dialer.campaigns c
 cross join lateral (
        select coalesce(sum(n.state_initial + n.state_answered + n.state_unanswered + n.state_calling
                            + n.state_pending_retry), 0)::bigint                as callee_count,
               coalesce(sum(n.state_answered + n.state_unanswered), 0)::bigint as finished_callee_count,
               coalesce(sum(n.state_initial), 0)::bigint       as state_initial,
               coalesce(sum(n.state_answered), 0)::bigint      as state_answered,
               coalesce(sum(n.state_unanswered), 0)::bigint    as state_unanswered,
               coalesce(sum(n.state_calling), 0)::bigint       as state_calling,
               coalesce(sum(n.state_pending_retry), 0)::bigint as state_pending_retry,
               coalesce(sum(n.attempts), 0)::bigint            as attempts,
               coalesce(sum(n.answered), 0)::bigint            as answered,
               coalesce(sum(n.connected), 0)::bigint           as connected,
               coalesce(sum(n.abandoned), 0)::bigint           as abandoned
          from dialer.campaign_counters n
         where n.campaign_id = c.id) k
 -- Each window: its whole hours from attempt_hourly, its first part-hour (from now() - 24 h /
 -- 30 d to the next whole hour) from attempts by index, with the definitions of attempt_facts.
 cross join lateral (
        select coalesce(h.live_24h, 0) + p24.live           as live_answers_24h,
               coalesce(h.abandoned_24h, 0) + p24.abandoned as abandoned_24h,
               coalesce(h.live_30d, 0) + p30.live           as live_answers_30d,
               coalesce(h.abandoned_30d, 0) + p30.abandoned as abandoned_30d
          from (select sum(x.live_answers) filter (where x.hour >= now() - interval '24 hours') as live_24h,
                       sum(x.abandoned) filter (where x.hour >= now() - interval '24 hours')    as abandoned_24h,
                       sum(x.live_answers)                                                       as live_30d,
                       sum(x.abandoned)                                                          as abandoned_30d
                  from dialer.attempt_hourly x
                 where x.campaign_id = c.id
                   and x.hour >= now() - interval '30 days') h,
               lateral (select count(*) filter (where (t.answered_at is not null or t.end_status = 'abandoned')
                                                  and t.end_status is distinct from 'machine') as live,
                               count(*) filter (where t.end_status = 'abandoned')              as abandoned
                          from dialer.attempts t
                         where t.campaign_id = c.id
                           and t.created_at >= now() - interval '24 hours'
                           and t.created_at < dialer.hour_ceil(now() - interval '24 hours')) p24,
               lateral (select count(*) filter (where (t.answered_at is not null or t.end_status = 'abandoned')
                                                  and t.end_status is distinct from 'machine') as live,
                               count(*) filter (where t.end_status = 'abandoned')              as abandoned
                          from dialer.attempts t
                         where t.campaign_id = c.id
                           and t.created_at >= now() - interval '30 days'
                           and t.created_at < dialer.hour_ceil(now() - interval '30 days')) p30) w;

comment on view dialer.campaign_progress is
    'One row per campaign: callee counts by state and attempt outcomes (from dialer.campaign_counters); '
    'abandon rate in percent (abandoned / live answers of the attempts placed in the last 24 h and '
    '30 days; 0 without answers) with its numerators and denominators (from dialer.attempt_hourly, '
    'and attempts for the part-hour at the start of each window).';

create or replace view dialer.agent_pool as
select g.id                                                as skill_group_id,
       g.name,
       count(a.id)                                         as agents,
       count(*) filter (where a.status = 'free')           as free,
       count(*) filter (where a.status = 'busy')           as busy,
       count(*) filter (where a.status = 'arrange')        as arrange,
       count(*) filter (where a.status = 'notReady')       as not_ready,
       count(*) filter (where a.status = 'rest')           as rest,
       count(*) filter (where a.status = 'offline')        as offline,
       count(*) filter (where a.status <> 'offline')       as logged_in
  from dialer.skill_groups g
  left join dialer.agent_skill_groups m on m.skill_group_id = g.id
  left join dialer.agents a on a.id = m.agent_id
 group by g.id, g.name;

comment on view dialer.agent_pool is
    'One row per skill group: its member agents, in total, per status, and logged in (not offline). '
    'An agent in several groups counts in each.';

-- date_part, not extract: float8 arithmetic, where extract's numeric made the view twice as slow.
create or replace view dialer.call_latency as
select c.id as campaign_id,
       c.name,
       l.calls,
       l.dial_to_answer_min_ms,
       l.dial_to_answer_median_ms,
       l.dial_to_answer_p90_ms,
       l.answer_to_agent_min_ms,
       l.answer_to_agent_median_ms,
       l.answer_to_agent_p90_ms,
       l.dial_to_answer_calls,
       l.answer_to_agent_calls
  from dialer.campaigns c
 cross join lateral (
        select count(*)                                                             as calls,
               round(min(x.d2a))::bigint                                            as dial_to_answer_min_ms,
               round(percentile_cont(0.5) within group (order by x.d2a))::bigint    as dial_to_answer_median_ms,
               round(percentile_cont(0.9) within group (order by x.d2a))::bigint    as dial_to_answer_p90_ms,
               round(min(x.a2c))::bigint                                            as answer_to_agent_min_ms,
               round(percentile_cont(0.5) within group (order by x.a2c))::bigint    as answer_to_agent_median_ms,
               round(percentile_cont(0.9) within group (order by x.a2c))::bigint    as answer_to_agent_p90_ms,
               count(x.d2a)                                                         as dial_to_answer_calls,
               count(x.a2c)                                                         as answer_to_agent_calls
          from (select date_part('epoch', t.answered_at - t.dialed_at) * 1000    as d2a,
                       date_part('epoch', t.connected_at - t.answered_at) * 1000 as a2c
                  from dialer.attempts t
                 where t.campaign_id = c.id
                   and t.created_at >= now() - interval '1 hour') x) l;

comment on view dialer.call_latency is
    'One row per campaign, over the attempts placed in the last hour: calls, and min / median / p90 '
    'in ms of dial to answer (answered_at - dialed_at) and answer to agent (connected_at - answered_at), '
    'NULL when no call in the window has both timestamps; and how many calls each latency is over.';

-- A folded hour is one row, read as it is; only hours with slots to fold (the current and
-- previous hour, mostly) are added up. Occupancy is talk occupancy: the agent talk time of the
-- campaign's calls in the hour over the time of the agents who talked on them in that hour
-- (the elapsed part of the current hour). The database knows neither logins nor after-call
-- work; docs/dashboards.md says what the figure leaves out.
create view dialer.campaign_hourly as
select h.campaign_id,
       c.name,
       h.hour,
       h.dials,
       h.answered                                                             as answers,
       h.abandoned                                                            as abandons,
       -- percentages rounded to 2 places in float8: numeric arithmetic here doubled the time
       -- of a month of hours
       coalesce(round(10000.0::float8 * h.abandoned / nullif(h.live_answers, 0)) / 100, 0) as abandon_rate,
       round(10.0::float8 * h.agent_talk_ms
             / nullif(h.agents * least(3600.0::float8, greatest(0.0::float8, date_part('epoch', now() - h.hour))), 0)) / 100
                                                                              as occupancy,
       h.connected,
       h.live_answers,
       h.machine,
       h.ended,
       h.succeeded,
       h.talk_ms,
       h.agent_talk_ms,
       h.agents
  from (select x.campaign_id, x.hour, x.dials::bigint, x.answered::bigint, x.connected::bigint,
               x.abandoned::bigint, x.live_answers::bigint, x.machine::bigint, x.ended::bigint,
               x.succeeded::bigint, x.talk_ms, x.agent_talk_ms, x.agents::bigint
          from dialer.attempt_hourly x
         where x.slot = 0
           and not exists (select from dialer.attempt_hourly y
                            where y.campaign_id = x.campaign_id and y.hour = x.hour and y.slot <> 0)
        union all
        select x.campaign_id, x.hour, sum(x.dials), sum(x.answered), sum(x.connected),
               sum(x.abandoned), sum(x.live_answers), sum(x.machine), sum(x.ended),
               sum(x.succeeded), sum(x.talk_ms)::bigint, sum(x.agent_talk_ms)::bigint, sum(x.agents)
          from dialer.attempt_hourly x
         where exists (select from dialer.attempt_hourly y
                        where y.campaign_id = x.campaign_id and y.hour = x.hour and y.slot <> 0)
         group by x.campaign_id, x.hour) h
  join dialer.campaigns c on c.id = h.campaign_id;

comment on view dialer.campaign_hourly is
    'One row per campaign (id, name) and UTC hour with attempts or talk: dials, answers, abandons and abandon '
    'rate (percent of live answers) of the attempts placed in the hour; occupancy (percent): agent '
    'talk time in the hour over agents who talked x the hour''s elapsed seconds; talk in ms.';

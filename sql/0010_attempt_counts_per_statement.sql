-- 0010_attempt_counts_per_statement: attempts' updates counted once per statement, not per row.
--
-- 0006 counted updates of attempts with a row-level trigger, on the ground that dialerd updated
-- one attempt per statement. Since then dialerd writes the ends of many calls in one statement
-- (attempts_finish: every end that arrived while the previous batch was out), and the row
-- trigger ran once per ended call: a PL/pgSQL call and two counter upserts each, 164 us per
-- attempt, half of all the time the ends' statements took in `make bench-throughput`. Here a
-- statement-level trigger reads the statement's old and new rows (transition tables), keeps the
-- rows whose counted columns changed (what the row trigger's WHEN clause let through), and adds
-- their net change with one call of dialer.attempt_counts_add, as the insert and delete
-- triggers already do. An update that changes no counted column (the dial, the ringing) now
-- calls the function, which finds nothing to add.
--
-- Locks: one call changes at most one campaign_counters row per campaign, then the
-- attempt_hourly_agents and attempt_hourly rows, each set in key order, as before; a statement
-- of dialerd touches one campaign, so two such statements never wait on each other in a cycle.

-- Attempts updated: the statement's net change of what attempt_facts reads, rows whose counted
-- columns did not change left out before any of it is computed.
create function dialer.attempts_count_update_rows() returns trigger
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
              from old_rows o
              join new_rows n on n.id = o.id
             cross join lateral (select * from dialer.attempt_facts(1, n)
                                 union all
                                 select * from dialer.attempt_facts(-1, o)) f
             -- the columns dialer.attempt_facts reads (of answered_at only whether it is set)
             where (o.campaign_id, o.created_at, o.answered_at is null, o.connected_at, o.ended_at,
                    o.end_status, o.success, o.agent_id)
                   is distinct from
                   (n.campaign_id, n.created_at, n.answered_at is null, n.connected_at, n.ended_at,
                    n.end_status, n.success, n.agent_id)
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

drop trigger attempts_count_update on dialer.attempts;
drop function dialer.attempts_count_update();

create trigger attempts_count_update after update on dialer.attempts
    referencing old table as old_rows new table as new_rows
    for each statement execute function dialer.attempts_count_update_rows();

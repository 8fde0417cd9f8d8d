-- 04_status: the campaign status machine through plain UPDATE and through the control functions.

insert into dialer.skill_groups (id, name) values (1, 'sales');
create temporary sequence names;

-- A new campaign driven to status s along legal steps; returns its id.
create function pg_temp.campaign_in(s int) returns bigint
language plpgsql
as $$
declare
    cid bigint;
begin
    insert into dialer.campaigns (name, skill_group_id, callers)
    values ('c' || nextval('pg_temp.names'), 1, '{+442071234567}') returning id into cid;
    if s in (1, 2, 4) then update dialer.campaigns set status = 1 where id = cid; end if;
    if s = 2 then update dialer.campaigns set status = 2 where id = cid; end if;
    if s = 4 then update dialer.campaigns set status = 4 where id = cid; end if;
    if s = 3 then update dialer.campaigns set status = 3 where id = cid; end if;
    return cid;
end;
$$;

create function pg_temp.label(s int) returns text
language sql
return dialer.campaign_status_label(s::smallint);

-- Every (from, to) pair with from <> to through a plain UPDATE: the 8 legal ones succeed, the 12
-- others fail with SQLSTATE 55000 naming both statuses.
create function pg_temp.all_pairs() returns setof text
language plpgsql
as $$
declare
    legal constant text[] := '{0-1,0-3,1-2,1-3,1-4,2-1,2-3,2-4}';
    f int;
    t int;
    cid bigint;
begin
    for f in 0..4 loop
        for t in 0..4 loop
            continue when f = t;
            cid := pg_temp.campaign_in(f);
            if (f || '-' || t) = any (legal) then
                return next tap.lives_ok(format('update dialer.campaigns set status = %s where id = %s', t, cid),
                                         format('UPDATE %s -> %s allowed', pg_temp.label(f), pg_temp.label(t)));
                return next tap.is((select status from dialer.campaigns where id = cid), t::smallint,
                                   format('UPDATE %s -> %s leaves the campaign %s', pg_temp.label(f), pg_temp.label(t), pg_temp.label(t)));
            else
                return next tap.throws(format('update dialer.campaigns set status = %s where id = %s', t, cid), '55000',
                                       format('campaigns.status: campaign %s cannot go from %s to %s; from %s %%',
                                              cid, pg_temp.label(f), pg_temp.label(t), split_part(pg_temp.label(f), ' ', 1)),
                                       format('UPDATE %s -> %s refused', pg_temp.label(f), pg_temp.label(t)));
            end if;
        end loop;
    end loop;
end;
$$;
select pg_temp.all_pairs();

-- the refusals say what is allowed instead
select pg_temp.campaign_in(4) as done \gset
select tap.throws(format('update dialer.campaigns set status = 1 where id = %s', :done), '55000',
                  format('campaigns.status: campaign %s cannot go from completed (4) to running (1); from completed no change is allowed', :done),
                  'completed -> running refused: from completed no change is allowed');
select pg_temp.campaign_in(0) as ready \gset
select tap.throws(format('update dialer.campaigns set status = 2 where id = %s', :ready), '55000',
                  format('campaigns.status: campaign %s cannot go from ready (0) to paused (2); from ready it can go to running (1) or terminated (3)', :ready),
                  'ready -> paused refused, listing running and terminated');
select pg_temp.campaign_in(1) as running \gset
select tap.throws(format('update dialer.campaigns set status = 0 where id = %s', :running), '55000',
                  format('campaigns.status: campaign %s cannot go from running (1) to ready (0); from running it can go to paused (2), terminated (3) or completed (4)', :running),
                  'running -> ready refused, listing paused, terminated and completed');
select tap.throws(format('update dialer.campaigns set status = 7 where id = %s', :running), '23514',
                  'campaigns.status: 7 is not a campaign status (0 ready, 1 running, 2 paused, 3 terminated, 4 completed)',
                  'status 7 refused, listing the statuses');
select tap.is(tap.error_of(format('update dialer.campaigns set status = 0 where id = %s', :running), 'column'), 'status',
              'a refused transition carries column status');

-- same-status updates are no-ops, even on final campaigns
select tap.lives_ok(format('update dialer.campaigns set status = 4 where id = %s', :done), 'completed -> completed is a no-op');
select tap.lives_ok(format('update dialer.campaigns set status = 1, priority = 1 where id = %s', :running),
                    'running -> running with another change is allowed');
select tap.lives_ok(format('update dialer.campaigns set priority = 5, name = name || ''-old'' where id = %s', :done),
                    'other columns of a completed campaign can still change');

-- timestamps ------------------------------------------------------------------------------------
select pg_temp.campaign_in(0) as t \gset
select tap.ok(started_at is null and ended_at is null, 'a ready campaign has no started_at or ended_at')
  from dialer.campaigns where id = :t;
update dialer.campaigns set status = 1 where id = :t;
select tap.ok(started_at > now() - interval '1 minute' and ended_at is null, 'ready -> running sets started_at')
  from dialer.campaigns where id = :t;
update dialer.campaigns set started_at = '2000-01-01', ended_at = '2000-01-01' where id = :t;
select tap.ok(started_at > '2000-01-01' and ended_at is null, 'started_at and ended_at cannot be set by hand')
  from dialer.campaigns where id = :t;
select started_at as first_start from dialer.campaigns where id = :t \gset
update dialer.campaigns set status = 2 where id = :t;
update dialer.campaigns set status = 1 where id = :t;
select tap.is(started_at, :'first_start'::timestamptz, 'paused -> running keeps the first started_at')
  from dialer.campaigns where id = :t;
update dialer.campaigns set status = 4 where id = :t;
select tap.ok(ended_at > now() - interval '1 minute' and status_reason = 0,
              'running -> completed sets ended_at, reason normal (0)') from dialer.campaigns where id = :t;
select pg_temp.campaign_in(0) as t \gset
update dialer.campaigns set status = 3 where id = :t;
select tap.ok(started_at is null and ended_at > now() - interval '1 minute',
              'ready -> terminated sets ended_at, leaves started_at NULL') from dialer.campaigns where id = :t;

-- status_reason ---------------------------------------------------------------------------------
select tap.is(status_reason, 1::smallint, 'terminating without a reason records ended manually (1)')
  from dialer.campaigns where id = :t;
select pg_temp.campaign_in(1) as t \gset
update dialer.campaigns set status = 3, status_reason = 2 where id = :t;
select tap.is(status_reason, 2::smallint, 'terminating with reason 2 records ended by overtime (2)')
  from dialer.campaigns where id = :t;
select tap.throws(format('update dialer.campaigns set status_reason = 1 where id = %s', :t), '55000',
                  format('campaigns.status_reason: campaign %s stays terminated (3), so its reason stays ended by overtime (2); the reason changes only together with the status', :t),
                  'the reason of a terminated campaign cannot change on its own');
select pg_temp.campaign_in(1) as t \gset
select tap.throws(format('update dialer.campaigns set status = 4, status_reason = 2 where id = %s', :t), '23514',
                  'campaigns.status_reason: a campaign going to completed (4) has reason normal (0), not ended by overtime (2); reasons 1 and 2 go with terminated (3) only',
                  'completed with reason 2 refused');
select tap.throws(format('update dialer.campaigns set status = 2, status_reason = 1 where id = %s', :t), '23514',
                  'campaigns.status_reason: a campaign going to paused (2) has reason normal (0), not ended manually (1)%',
                  'paused with reason 1 refused');
select tap.throws(format('update dialer.campaigns set status = 3, status_reason = 5 where id = %s', :t), '23514',
                  'campaigns.status_reason: a terminated (3) campaign ended manually (1) or by overtime (2), not unknown (5)',
                  'terminated with reason 5 refused');
select tap.throws(format('update dialer.campaigns set status_reason = 2 where id = %s', :t), '55000',
                  'campaigns.status_reason: campaign % stays running (1), so its reason stays normal (0)%',
                  'a running campaign cannot take a reason');

-- control functions -----------------------------------------------------------------------------
select pg_temp.campaign_in(1) as t \gset
select tap.is(dialer.campaign_pause(:t), 2::smallint, 'campaign_pause of a running campaign returns 2');
select tap.is(status, 2::smallint, 'campaign_pause leaves it paused') from dialer.campaigns where id = :t;
select tap.is(dialer.campaign_resume(:t), 1::smallint, 'campaign_resume of a paused campaign returns 1');
select tap.is(status, 1::smallint, 'campaign_resume leaves it running') from dialer.campaigns where id = :t;
select tap.is(dialer.campaign_abort(:t), 3::smallint, 'campaign_abort of a running campaign returns 3');
select tap.ok(status = 3 and status_reason = 1 and ended_at is not null,
              'campaign_abort leaves it terminated, ended manually (1), with ended_at') from dialer.campaigns where id = :t;
select pg_temp.campaign_in(0) as t \gset
select tap.is(dialer.campaign_abort(:t), 3::smallint, 'campaign_abort of a ready campaign returns 3');
select pg_temp.campaign_in(2) as t \gset
select tap.is(dialer.campaign_abort(:t), 3::smallint, 'campaign_abort of a paused campaign returns 3');

create function pg_temp.control_refusals() returns setof text
language plpgsql
as $$
declare
    s   int;
    cid bigint;
begin
    for s in 0..4 loop
        cid := pg_temp.campaign_in(s);
        if s <> 1 then
            return next tap.throws(format('select dialer.campaign_pause(%s)', cid), '55000',
                format('campaign %s cannot be paused: it is %s; only a running (1) campaign can be paused', cid, pg_temp.label(s)),
                format('campaign_pause of a %s campaign refused', pg_temp.label(s)));
        end if;
        if s <> 2 then
            return next tap.throws(format('select dialer.campaign_resume(%s)', cid), '55000',
                format('campaign %s cannot be resumed: it is %s; only a paused (2) campaign can be resumed', cid, pg_temp.label(s)),
                format('campaign_resume of a %s campaign refused', pg_temp.label(s)));
        end if;
        if s in (3, 4) then
            return next tap.throws(format('select dialer.campaign_abort(%s)', cid), '55000',
                format('campaign %s cannot be aborted: it is already %s; only a ready (0), running (1) or paused (2) campaign can be aborted',
                       cid, pg_temp.label(s)),
                format('campaign_abort of a %s campaign refused', pg_temp.label(s)));
        end if;
        return next tap.is((select status from dialer.campaigns where id = cid), s::smallint,
                           format('refused control calls leave a %s campaign as it was', pg_temp.label(s)));
    end loop;
end;
$$;
select pg_temp.control_refusals();

select tap.is(tap.error_of('select dialer.campaign_resume(' || pg_temp.campaign_in(0) || ')', 'hint'),
              'A ready campaign starts by itself at not_before.', 'resuming a ready campaign hints that it starts by itself');
select tap.throws('select dialer.campaign_pause(424242)', 'P0002', 'campaign 424242 does not exist',
                  'campaign_pause of an unknown id: P0002 campaign 424242 does not exist');
select tap.throws('select dialer.campaign_resume(424242)', 'P0002', 'campaign 424242 does not exist',
                  'campaign_resume of an unknown id: P0002');
select tap.throws('select dialer.campaign_abort(424242)', 'P0002', 'campaign 424242 does not exist',
                  'campaign_abort of an unknown id: P0002');
select tap.throws('select dialer.campaign_abort(null)', '22004', 'campaign id is required',
                  'a NULL id is refused');
select tap.is(pg_typeof(dialer.campaign_abort(pg_temp.campaign_in(1)))::text, 'smallint', 'control functions return smallint');
select tap.is(dialer.campaign_pause(id => pg_temp.campaign_in(1)), 2::smallint, 'control functions take a parameter named id');

-- deleting --------------------------------------------------------------------------------------
select pg_temp.campaign_in(1) as t \gset
select tap.throws(format('delete from dialer.campaigns where id = %s', :t), '55000',
                  format('campaign %s cannot be deleted: it is running (1); pause or abort it first', :t),
                  'a running campaign cannot be deleted');
select tap.lives_ok(format('delete from dialer.campaigns where id = %s', pg_temp.campaign_in(2)),
                    'a paused campaign can be deleted');

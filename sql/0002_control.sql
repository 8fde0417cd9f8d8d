-- 0002_control: validation and bookkeeping triggers, the campaign status machine, its control functions, and NOTIFY.
--
-- Every error raised here starts with "table.column:" (or "campaign N ...") and says what was
-- wrong with the value and what is accepted, because it reaches campaign managers verbatim
-- through psql and the REST API. The message prefixes of the control functions are stable; the
-- REST layer maps them to its status codes (see docs/schema.md).

-- Names ---------------------------------------------------------------------------------------

create function dialer.campaign_status_label(s smallint) returns text
language sql immutable parallel safe
return case s
    when 0 then 'ready (0)'
    when 1 then 'running (1)'
    when 2 then 'paused (2)'
    when 3 then 'terminated (3)'
    when 4 then 'completed (4)'
    else format('unknown (%s)', s)
end;

create function dialer.campaign_status_reason_label(r smallint) returns text
language sql immutable parallel safe
return case r
    when 0 then 'normal (0)'
    when 1 then 'ended manually (1)'
    when 2 then 'ended by overtime (2)'
    else format('unknown (%s)', r)
end;

-- The transition table of DESIGN.md §4; 3 and 4 are final.
create function dialer.campaign_status_next(s smallint) returns smallint[]
language sql immutable parallel safe
return case s
    when 0 then '{1,3}'::smallint[]
    when 1 then '{2,3,4}'::smallint[]
    when 2 then '{1,3,4}'::smallint[]
    else '{}'::smallint[]
end;

-- "running (1) or terminated (3)", for messages that say what is allowed instead.
create function dialer.campaign_status_list(statuses smallint[]) returns text
language sql immutable parallel safe
return (
    select case
        when count(*) = 0 then 'nothing'
        when count(*) = 1 then min(dialer.campaign_status_label(s))
        else string_agg(dialer.campaign_status_label(s), ', ' order by n) filter (where n < count_all)
             || ' or ' || max(dialer.campaign_status_label(s)) filter (where n = count_all)
    end
    from (select s, n, count(*) over () as count_all
          from unnest(statuses) with ordinality as u(s, n)) as l
);

-- Value checks a CHECK constraint cannot phrase ----------------------------------------------

-- Whether tz is a name in pg_timezone_names; answered from the cache table, since the view
-- itself costs ~20 ms per query. Names the cache has not seen yet (new tzdata) are added.
create function dialer.time_zone_is_known(tz text) returns boolean
language plpgsql
as $$
begin
    if tz is null then
        return false;
    end if;
    if exists (select 1 from dialer.time_zone_names where name = tz) then
        return true;
    end if;
    if exists (select 1 from pg_catalog.pg_timezone_names where name = tz) then
        insert into dialer.time_zone_names (name) values (tz) on conflict do nothing;
        return true;
    end if;
    return false;
end;
$$;

-- The error text for an unknown zone; field is e.g. 'campaigns.time_zone'.
create function dialer.time_zone_error(field text, tz text, subject text default '') returns text
language sql stable
return format('%s: unknown time zone %s%s (%s)', field,
              coalesce(to_json(tz)::text, 'null'), subject,
              coalesce(
                  (select format('did you mean "%s"? zone names are case-sensitive', min(name))
                   from dialer.time_zone_names where lower(name) = lower(tz) having count(*) > 0),
                  'use an IANA name from pg_timezone_names, e.g. Europe/London'));

-- NULL when ranges is a valid time_ranges value, else what is wrong, prefixed with field:
-- a JSON array of {"start":"HH:MM:SS","end":"HH:MM:SS"}; end < start spans midnight.
create function dialer.time_ranges_error(field text, ranges jsonb) returns text
language plpgsql immutable
as $$
declare
    item    jsonb;
    pos     bigint;
    k       text;
    v       jsonb;
    shape   constant text := '{"start":"HH:MM:SS","end":"HH:MM:SS"}';
    tod     constant text := '^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$';
begin
    if ranges is null then
        return null;
    end if;
    if jsonb_typeof(ranges) <> 'array' then
        return format('%s: expected a JSON array of %s objects (or [] for all day), got %s',
                      field, shape, left(ranges::text, 80));
    end if;
    for item, pos in select e, n from jsonb_array_elements(ranges) with ordinality as a(e, n) loop
        if jsonb_typeof(item) <> 'object' then
            return format('%s[%s]: %s is not an object %s', field, pos, left(item::text, 80), shape);
        end if;
        for k in select jsonb_object_keys(item) loop
            if k not in ('start', 'end') then
                return format('%s[%s]: unknown key %s; a window has only "start" and "end"',
                              field, pos, to_json(k));
            end if;
        end loop;
        foreach k in array array['start', 'end'] loop
            v := item -> k;
            if v is null then
                return format('%s[%s]: "%s" is missing; each window is %s', field, pos, k, shape);
            end if;
            if jsonb_typeof(v) <> 'string' or (v #>> '{}') !~ tod then
                return format('%s[%s].%s: %s is not a time of day HH:MM:SS (00:00:00 to 23:59:59)',
                              field, pos, k, left(v::text, 80));
            end if;
        end loop;
        if item ->> 'start' = item ->> 'end' then
            return format('%s[%s]: start and end are both "%s"; a window needs two different times '
                          '(end before start spans midnight, [] means all day)',
                          field, pos, item ->> 'start');
        end if;
    end loop;
    return null;
end;
$$;

-- NULL when callers is a usable list of caller numbers, else what is wrong, prefixed with field.
create function dialer.callers_error(field text, callers text[]) returns text
language plpgsql immutable
as $$
declare
    num   text;
    pos   bigint;
    first bigint;
begin
    if callers is null or cardinality(callers) = 0 then
        return null;                    -- not null / campaigns_callers_not_empty say it
    end if;
    if array_ndims(callers) > 1 then
        return format('%s: expected a flat list of caller numbers, got %s dimensions',
                      field, array_ndims(callers));
    end if;
    for num, pos in select c, n from unnest(callers) with ordinality as u(c, n) loop
        if num is null then
            return format('%s[%s]: is null; each caller is a phone number of 3 to 15 digits '
                          'with an optional leading + (e.g. +442071234567)', field, pos);
        end if;
        if num !~ '^\+?[0-9]{3,15}$' then
            return format('%s[%s]: %s is not a phone number; use 3 to 15 digits with an optional '
                          'leading + and no spaces or dashes (e.g. +442071234567)',
                          field, pos, to_json(left(num, 40)));
        end if;
        select min(n) into first from unnest(callers) with ordinality as u(c, n) where c = num;
        if first < pos then
            return format('%s[%s]: %s is already listed at position %s; list each caller once',
                          field, pos, to_json(num), first);
        end if;
    end loop;
    return null;
end;
$$;

-- Table triggers ------------------------------------------------------------------------------

create function dialer.touch_updated_at() returns trigger
language plpgsql
as $$
begin
    new.updated_at := now();
    return new;
end;
$$;

create function dialer.campaigns_validate() returns trigger
language plpgsql
as $$
declare
    problem text;
begin
    if tg_op = 'INSERT' or new.time_zone is distinct from old.time_zone then
        if not dialer.time_zone_is_known(new.time_zone) then
            raise exception using
                message = dialer.time_zone_error('campaigns.time_zone', new.time_zone),
                errcode = 'check_violation', schema = 'dialer', table = 'campaigns',
                column = 'time_zone', constraint = 'campaigns_time_zone_known';
        end if;
    end if;
    if tg_op = 'INSERT' or new.time_ranges is distinct from old.time_ranges then
        problem := dialer.time_ranges_error('campaigns.time_ranges', new.time_ranges);
        if problem is not null then
            raise exception using
                message = problem,
                errcode = 'check_violation', schema = 'dialer', table = 'campaigns',
                column = 'time_ranges', constraint = 'campaigns_time_ranges_valid';
        end if;
    end if;
    if tg_op = 'INSERT' or new.callers is distinct from old.callers then
        problem := dialer.callers_error('campaigns.callers', new.callers);
        if problem is not null then
            raise exception using
                message = problem,
                errcode = 'check_violation', schema = 'dialer', table = 'campaigns',
                column = 'callers', constraint = 'campaigns_callers_valid';
        end if;
    end if;
    return new;
end;
$$;

-- The status machine: a plain UPDATE ... SET status follows the same rules as the control
-- functions, and started_at / ended_at / status_reason can only be what the transitions make them.
create function dialer.campaigns_status_guard() returns trigger
language plpgsql
as $$
declare
    allowed smallint[];
begin
    if tg_op = 'INSERT' then
        if new.status <> 0 then
            raise exception using
                message = format('campaigns.status: a new campaign starts ready (0), not %s; '
                                 'dialerd starts it at not_before', dialer.campaign_status_label(new.status)),
                errcode = 'check_violation', schema = 'dialer', table = 'campaigns', column = 'status';
        end if;
        if new.status_reason <> 0 then
            raise exception using
                message = format('campaigns.status_reason: a new campaign has reason normal (0), not %s',
                                 dialer.campaign_status_reason_label(new.status_reason)),
                errcode = 'check_violation', schema = 'dialer', table = 'campaigns', column = 'status_reason';
        end if;
        new.started_at := null;
        new.ended_at := null;
        return new;
    end if;

    if new.status = old.status then
        if new.status_reason <> old.status_reason then
            raise exception using
                message = format('campaigns.status_reason: campaign %s stays %s, so its reason stays %s; '
                                 'the reason changes only together with the status',
                                 old.id, dialer.campaign_status_label(old.status),
                                 dialer.campaign_status_reason_label(old.status_reason)),
                errcode = 'object_not_in_prerequisite_state', schema = 'dialer', table = 'campaigns',
                column = 'status_reason';
        end if;
        new.started_at := old.started_at;
        new.ended_at := old.ended_at;
        return new;
    end if;

    if new.status not between 0 and 4 then
        raise exception using
            message = format('campaigns.status: %s is not a campaign status (0 ready, 1 running, '
                             '2 paused, 3 terminated, 4 completed)', new.status),
            errcode = 'check_violation', schema = 'dialer', table = 'campaigns', column = 'status';
    end if;
    allowed := dialer.campaign_status_next(old.status);
    if not new.status = any (allowed) then
        raise exception using
            message = format('campaigns.status: campaign %s cannot go from %s to %s; %s',
                             old.id, dialer.campaign_status_label(old.status),
                             dialer.campaign_status_label(new.status),
                             case when cardinality(allowed) = 0
                                  then format('from %s no change is allowed',
                                              split_part(dialer.campaign_status_label(old.status), ' ', 1))
                                  else format('from %s it can go to %s',
                                              split_part(dialer.campaign_status_label(old.status), ' ', 1),
                                              dialer.campaign_status_list(allowed))
                             end),
            errcode = 'object_not_in_prerequisite_state', schema = 'dialer', table = 'campaigns',
            column = 'status';
    end if;

    if new.status = 3 then
        -- the reason was not set by the statement: terminating by hand is the usual case
        if new.status_reason = old.status_reason then
            new.status_reason := 1;
        elsif new.status_reason not in (1, 2) then
            raise exception using
                message = format('campaigns.status_reason: a terminated (3) campaign ended manually (1) '
                                 'or by overtime (2), not %s',
                                 dialer.campaign_status_reason_label(new.status_reason)),
                errcode = 'check_violation', schema = 'dialer', table = 'campaigns', column = 'status_reason';
        end if;
    elsif new.status_reason <> 0 then
        raise exception using
            message = format('campaigns.status_reason: a campaign going to %s has reason normal (0), not %s; '
                             'reasons 1 and 2 go with terminated (3) only',
                             dialer.campaign_status_label(new.status),
                             dialer.campaign_status_reason_label(new.status_reason)),
            errcode = 'check_violation', schema = 'dialer', table = 'campaigns', column = 'status_reason';
    end if;

    new.started_at := case when new.status = 1 and old.started_at is null then now() else old.started_at end;
    new.ended_at := case when new.status in (3, 4) then now() else old.ended_at end;
    return new;
end;
$$;

-- Deleting a running campaign would pull its attempts from under calls in flight.
create function dialer.campaigns_delete_guard() returns trigger
language plpgsql
as $$
begin
    if old.status = 1 then
        raise exception using
            message = format('campaign %s cannot be deleted: it is running (1); pause or abort it first', old.id),
            errcode = 'object_not_in_prerequisite_state', schema = 'dialer', table = 'campaigns';
    end if;
    return old;
end;
$$;

create function dialer.callees_validate() returns trigger
language plpgsql
as $$
begin
    if not dialer.time_zone_is_known(new.time_zone) then
        raise exception using
            message = dialer.time_zone_error('callees.time_zone', new.time_zone,
                                             format(' for callee %s', to_json(new.number))),
            errcode = 'check_violation', schema = 'dialer', table = 'callees',
            column = 'time_zone', constraint = 'callees_time_zone_known';
    end if;
    return new;
end;
$$;

create function dialer.agents_status_since() returns trigger
language plpgsql
as $$
begin
    if new.status_since = old.status_since then
        new.status_since := now();
    end if;
    return new;
end;
$$;

create function dialer.sms_outbox_fill() returns trigger
language plpgsql
as $$
begin
    if new.campaign_id is null or new.callee_id is null then
        select coalesce(new.campaign_id, a.campaign_id), coalesce(new.callee_id, a.callee_id)
          into new.campaign_id, new.callee_id
          from dialer.attempts a where a.id = new.attempt_id;
        if not found and new.attempt_id is not null then
            -- the foreign key would say this, but only after NOT NULL complained about the copies
            raise exception using
                message = 'insert or update on table "sms_outbox" violates foreign key constraint "sms_outbox_attempt_id_fkey"',
                detail = format('Key (attempt_id)=(%s) is not present in table "attempts".', new.attempt_id),
                errcode = 'foreign_key_violation', schema = 'dialer', table = 'sms_outbox',
                constraint = 'sms_outbox_attempt_id_fkey';
        end if;
    end if;
    return new;
end;
$$;

create trigger campaigns_validate before insert or update on dialer.campaigns
    for each row execute function dialer.campaigns_validate();
create trigger campaigns_status_guard before insert or update on dialer.campaigns
    for each row execute function dialer.campaigns_status_guard();
create trigger campaigns_touch_updated_at before update on dialer.campaigns
    for each row execute function dialer.touch_updated_at();
create trigger campaigns_delete_guard before delete on dialer.campaigns
    for each row execute function dialer.campaigns_delete_guard();

-- only rows that carry a zone, and only when it changes: the daemon's state updates skip this
create trigger callees_validate_insert before insert on dialer.callees
    for each row when (new.time_zone is not null) execute function dialer.callees_validate();
create trigger callees_validate_update before update of time_zone on dialer.callees
    for each row when (new.time_zone is not null and new.time_zone is distinct from old.time_zone)
    execute function dialer.callees_validate();
create trigger callees_touch_updated_at before update on dialer.callees
    for each row execute function dialer.touch_updated_at();

create trigger agents_status_since before update of status on dialer.agents
    for each row when (new.status is distinct from old.status) execute function dialer.agents_status_since();

create trigger attempts_touch_updated_at before update on dialer.attempts
    for each row execute function dialer.touch_updated_at();

create trigger sms_outbox_fill before insert on dialer.sms_outbox
    for each row execute function dialer.sms_outbox_fill();
create trigger sms_outbox_touch_updated_at before update on dialer.sms_outbox
    for each row execute function dialer.touch_updated_at();

-- Control functions ---------------------------------------------------------------------------
-- Message prefixes are stable: "campaign N does not exist" (P0002), "campaign N cannot be
-- paused" / "cannot be resumed" / "cannot be aborted" (55000).

-- Locks the campaign row and returns its status; unknown id raises P0002.
create function dialer.campaign_lock(campaign_id bigint) returns smallint
language plpgsql
as $$
declare
    cur smallint;
begin
    if campaign_id is null then
        raise exception 'campaign id is required' using errcode = 'null_value_not_allowed';
    end if;
    select c.status into cur from dialer.campaigns c where c.id = campaign_id for update;
    if not found then
        raise exception 'campaign % does not exist', campaign_id using errcode = 'no_data_found';
    end if;
    return cur;
end;
$$;

create function dialer.campaign_pause(id bigint) returns smallint
language plpgsql
as $$
declare
    cur smallint := dialer.campaign_lock(campaign_pause.id);
begin
    if cur <> 1 then
        raise exception using
            message = format('campaign %s cannot be paused: it is %s; only a running (1) campaign can be paused',
                             campaign_pause.id, dialer.campaign_status_label(cur)),
            errcode = 'object_not_in_prerequisite_state';
    end if;
    update dialer.campaigns c set status = 2 where c.id = campaign_pause.id;
    return 2;
end;
$$;

create function dialer.campaign_resume(id bigint) returns smallint
language plpgsql
as $$
declare
    cur smallint := dialer.campaign_lock(campaign_resume.id);
begin
    if cur = 0 then
        raise exception using
            message = format('campaign %s cannot be resumed: it is ready (0); only a paused (2) campaign can be resumed',
                             campaign_resume.id),
            errcode = 'object_not_in_prerequisite_state',
            hint = 'A ready campaign starts by itself at not_before.';
    elsif cur <> 2 then
        raise exception using
            message = format('campaign %s cannot be resumed: it is %s; only a paused (2) campaign can be resumed',
                             campaign_resume.id, dialer.campaign_status_label(cur)),
            errcode = 'object_not_in_prerequisite_state';
    end if;
    update dialer.campaigns c set status = 1 where c.id = campaign_resume.id;
    return 1;
end;
$$;

create function dialer.campaign_abort(id bigint) returns smallint
language plpgsql
as $$
declare
    cur smallint := dialer.campaign_lock(campaign_abort.id);
begin
    if cur not in (0, 1, 2) then
        raise exception using
            message = format('campaign %s cannot be aborted: it is already %s; only a ready (0), running (1) '
                             'or paused (2) campaign can be aborted',
                             campaign_abort.id, dialer.campaign_status_label(cur)),
            errcode = 'object_not_in_prerequisite_state';
    end if;
    update dialer.campaigns c set status = 3, status_reason = 1 where c.id = campaign_abort.id;
    return 3;
end;
$$;

-- NOTIFY --------------------------------------------------------------------------------------
-- One channel, dialer_changes, compact JSON payloads built by hand so the key order is stable:
-- {"table":"campaigns","op":"UPDATE","id":42}. A payload without a key means "any row".

create function dialer.notify_row_change() returns trigger
language plpgsql
as $$
declare
    tbl     text := tg_table_name;
    op      text := tg_op;
    key     text;
    new_key text;
    old_key text;
begin
    case tg_table_name
        when 'campaigns' then
            key := 'id';
            if tg_op <> 'DELETE' then new_key := new.id::text; end if;
            if tg_op <> 'INSERT' then old_key := old.id::text; end if;
        when 'agents' then
            key := 'id';
            if tg_op <> 'DELETE' then new_key := to_json(new.id)::text; end if;
            if tg_op <> 'INSERT' then old_key := to_json(old.id)::text; end if;
        when 'agent_skill_groups' then
            -- a change of membership is a change of the agent: dialerd re-reads it
            tbl := 'agents';
            op := 'UPDATE';
            key := 'id';
            if tg_op <> 'DELETE' then new_key := to_json(new.agent_id)::text; end if;
            -- when the agent itself was deleted (the cascade), its DELETE says it all
            if tg_op <> 'INSERT' and exists (select 1 from dialer.agents a where a.id = old.agent_id) then
                old_key := to_json(old.agent_id)::text;
            end if;
        else -- dnc, caller_numbers
            key := 'number';
            if tg_op <> 'DELETE' then new_key := to_json(new.number)::text; end if;
            if tg_op <> 'INSERT' then old_key := to_json(old.number)::text; end if;
    end case;
    if new_key is not null then
        perform pg_notify('dialer_changes',
                          format('{"table":%s,"op":%s,"%s":%s}', to_json(tbl), to_json(op), key, new_key));
    end if;
    if old_key is not null and old_key is distinct from new_key then
        perform pg_notify('dialer_changes',
                          format('{"table":%s,"op":%s,"%s":%s}', to_json(tbl), to_json(op), key, old_key));
    end if;
    return null;
end;
$$;

create function dialer.notify_truncate() returns trigger
language plpgsql
as $$
begin
    perform pg_notify('dialer_changes',
                      case tg_table_name
                          when 'agent_skill_groups' then '{"table":"agents","op":"UPDATE"}'
                          else format('{"table":%s,"op":"TRUNCATE"}', to_json(tg_table_name))
                      end);
    return null;
end;
$$;

-- Statement level: a bulk import of 100 000 callees is one notification, listing the campaigns
-- touched (up to 100 of them; more and the list is left out, meaning "any campaign").
create function dialer.notify_callees_change() returns trigger
language plpgsql
as $$
declare
    ids bigint[];
begin
    if tg_op = 'INSERT' then
        select array_agg(campaign_id order by campaign_id) into ids
          from (select distinct campaign_id from new_rows limit 101) as s;
    elsif tg_op = 'UPDATE' then
        select array_agg(campaign_id order by campaign_id) into ids
          from (select campaign_id from new_rows union select campaign_id from old_rows limit 101) as s;
    else
        select array_agg(campaign_id order by campaign_id) into ids
          from (select distinct campaign_id from old_rows limit 101) as s;
    end if;
    if ids is null then
        return null;                    -- the statement touched no row
    end if;
    perform pg_notify('dialer_changes',
                      format('{"table":"callees","op":%s%s}', to_json(tg_op),
                             case when cardinality(ids) <= 100 then ',"campaign_ids":' || to_json(ids) else '' end));
    return null;
end;
$$;

create trigger campaigns_notify after insert or update or delete on dialer.campaigns
    for each row execute function dialer.notify_row_change();
create trigger campaigns_notify_truncate after truncate on dialer.campaigns
    for each statement execute function dialer.notify_truncate();

create trigger agents_notify after insert or update or delete on dialer.agents
    for each row execute function dialer.notify_row_change();
create trigger agents_notify_truncate after truncate on dialer.agents
    for each statement execute function dialer.notify_truncate();
create trigger agent_skill_groups_notify after insert or update or delete on dialer.agent_skill_groups
    for each row execute function dialer.notify_row_change();
create trigger agent_skill_groups_notify_truncate after truncate on dialer.agent_skill_groups
    for each statement execute function dialer.notify_truncate();

create trigger dnc_notify after insert or update or delete on dialer.dnc
    for each row execute function dialer.notify_row_change();
create trigger dnc_notify_truncate after truncate on dialer.dnc
    for each statement execute function dialer.notify_truncate();

create trigger caller_numbers_notify after insert or update or delete on dialer.caller_numbers
    for each row execute function dialer.notify_row_change();
create trigger caller_numbers_notify_truncate after truncate on dialer.caller_numbers
    for each statement execute function dialer.notify_truncate();

-- dialerd sets dialer.origin = 'dialerd' on its sessions: its own state updates, thousands a
-- second, would otherwise flood every listener. Managers' statements always notify.
create trigger callees_notify_insert after insert on dialer.callees
    referencing new table as new_rows
    for each statement when (current_setting('dialer.origin', true) is distinct from 'dialerd')
    execute function dialer.notify_callees_change();
create trigger callees_notify_update after update on dialer.callees
    referencing old table as old_rows new table as new_rows
    for each statement when (current_setting('dialer.origin', true) is distinct from 'dialerd')
    execute function dialer.notify_callees_change();
create trigger callees_notify_delete after delete on dialer.callees
    referencing old table as old_rows
    for each statement when (current_setting('dialer.origin', true) is distinct from 'dialerd')
    execute function dialer.notify_callees_change();
create trigger callees_notify_truncate after truncate on dialer.callees
    for each statement when (current_setting('dialer.origin', true) is distinct from 'dialerd')
    execute function dialer.notify_truncate();

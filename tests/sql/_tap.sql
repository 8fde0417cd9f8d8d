-- _tap.sql: a small TAP producer for the schema tests; tests/sql/run.sh loads it before each test file.
--
-- Each assertion is a function returning one line, "ok N - description" or
-- "not ok N - description # got: ...", so a test file is a series of SELECTs run by
-- psql -At. Assertions that run SQL (throws, lives_ok) take it as text: this is the one place
-- where dynamic SQL is fine, since it is the test's own source.

create schema tap;
create sequence tap.counter;

-- One TAP line. The detail goes after "#" on the same line; newlines in it become " | ".
create function tap.result(pass boolean, description text, detail text default null) returns text
language sql
return format('%s %s - %s%s',
              case when pass then 'ok' else 'not ok' end,
              nextval('tap.counter'),
              regexp_replace(description, '\s*\n\s*', ' ', 'g'),
              case when pass is not true and detail is not null
                   then ' # ' || regexp_replace(detail, '\s*\n\s*', ' | ', 'g') else '' end);

create function tap.ok(got boolean, description text) returns text
language sql
return tap.result(coalesce(got, false), description,
                  format('got: %s', coalesce(got::text, 'NULL')));

-- anycompatible, so 1 and 1::bigint compare, and two untyped literals compare as text.
create function tap.is(got anycompatible, expected anycompatible, description text) returns text
language sql
as $$
select tap.result(got is not distinct from expected, description,
                  format('got: %s, expected: %s', coalesce(got::text, 'NULL'), coalesce(expected::text, 'NULL')))
$$;

create function tap.like(got text, pattern text, description text) returns text
language sql
return tap.result(coalesce(got like pattern, false), description,
                  format('got: %s, expected LIKE: %s', coalesce(got, 'NULL'), pattern));

-- Runs sql, which must fail with sqlstate (NULL: any) and a message LIKE message_pattern
-- (NULL: any). Whatever sql did is rolled back, so a refused-row test leaves no trace even
-- when the statement unexpectedly succeeds.
create function tap.throws(sql text, sqlstate text, message_pattern text, description text) returns text
language plpgsql
as $$
declare
    got_state text;
    got_msg   text;
begin
    begin
        execute sql;
        raise exception 'statement succeeded' using errcode = 'TAP01';
    exception when others then
        get stacked diagnostics got_state = returned_sqlstate, got_msg = message_text;
    end;
    if got_state = 'TAP01' then
        return tap.result(false, description,
                          format('got: no error, expected: SQLSTATE %s %s', sqlstate, message_pattern));
    end if;
    return tap.result((sqlstate is null or got_state = sqlstate)
                      and (message_pattern is null or got_msg like message_pattern),
                      description,
                      format('got: SQLSTATE %s %s, expected: SQLSTATE %s %s',
                             got_state, got_msg, coalesce(sqlstate, 'any'), coalesce(message_pattern, '%')));
end;
$$;

-- Runs sql, which must succeed; its effects stay.
create function tap.lives_ok(sql text, description text) returns text
language plpgsql
as $$
declare
    got_state text;
    got_msg   text;
begin
    execute sql;
    return tap.result(true, description);
exception when others then
    get stacked diagnostics got_state = returned_sqlstate, got_msg = message_text;
    return tap.result(false, description, format('got: SQLSTATE %s %s', got_state, got_msg));
end;
$$;

-- One field of the error sql raises (NULL if it succeeds), rolled back like throws: field is
-- message, detail, hint, sqlstate, schema, table, column or constraint.
create function tap.error_of(sql text, field text default 'message') returns text
language plpgsql
as $$
declare
    e_state text; e_msg text; e_detail text; e_hint text;
    e_schema text; e_table text; e_column text; e_constraint text;
begin
    begin
        execute sql;
        raise exception 'statement succeeded' using errcode = 'TAP01';
    exception when others then
        get stacked diagnostics e_state = returned_sqlstate, e_msg = message_text,
            e_detail = pg_exception_detail, e_hint = pg_exception_hint, e_schema = schema_name,
            e_table = table_name, e_column = column_name, e_constraint = constraint_name;
    end;
    if e_state = 'TAP01' then
        return null;
    end if;
    return case field
        when 'message' then e_msg
        when 'detail' then e_detail
        when 'hint' then e_hint
        when 'sqlstate' then e_state
        when 'schema' then e_schema
        when 'table' then e_table
        when 'column' then e_column
        when 'constraint' then e_constraint
    end;
end;
$$;

-- NOTIFY capture. A session cannot read its own notifications from SQL, so a second session,
-- opened with dblink, LISTENs; tap.notifications() then returns, in order, the payloads
-- committed since the previous call. To know that nothing is still on its way, the listener
-- sends itself a marker and reads until the marker arrives: notifications are queued in commit
-- order, so everything committed before the call comes first.
create function tap.listen(channel text) returns void
language plpgsql
as $$
begin
    create extension if not exists dblink schema tap;
    perform tap.dblink_connect('tap_listener',
        format('host=%s port=%s dbname=%s user=%s',
               coalesce(host(inet_server_addr()), split_part(current_setting('unix_socket_directories'), ',', 1)),
               current_setting('port'), current_database(), current_user));
    perform tap.dblink_exec('tap_listener', format('LISTEN %I', channel));
end;
$$;

create function tap.notifications(channel text) returns setof text
language plpgsql
as $$
declare
    marker  text := 'tap-marker-' || nextval('tap.counter');
    n       record;
    seen    boolean := false;
    tries   int := 0;
begin
    perform tap.dblink_exec('tap_listener', format('NOTIFY %I, %L', channel, marker));
    while not seen loop
        for n in select * from tap.dblink_get_notify('tap_listener') loop
            if n.notify_name <> channel or seen then
                continue;
            elsif n.extra = marker then
                seen := true;
            else
                return next n.extra;
            end if;
        end loop;
        if not seen then
            tries := tries + 1;
            if tries > 500 then
                raise exception 'tap.notifications: marker % not received within 5 s', marker;
            end if;
            perform pg_sleep(0.01);
        end if;
    end loop;
end;
$$;

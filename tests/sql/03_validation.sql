-- 03_validation: time zones, time_ranges and callers elements, which triggers check with messages naming the field.

insert into dialer.skill_groups (id, name) values (1, 'sales');
insert into dialer.campaigns (name, skill_group_id, callers) values ('c1', 1, '{+442071234567}');
select id as c1 from dialer.campaigns where name = 'c1' \gset

create function pg_temp.campaign(col text, val text) returns text
language sql
return format('insert into dialer.campaigns (name, skill_group_id, callers, %s) values (''bad'', 1, ''{+442071234567}'', %s)',
              col, val);

-- Expects the exact check_violation message for time_ranges = val.
create function pg_temp.ranges_refused(val text, msg text, why text) returns text
language sql
return tap.throws(pg_temp.campaign('time_ranges', quote_literal(val)), '23514', msg,
                  format('time_ranges %s refused: %s', val, why));

-- time zones ------------------------------------------------------------------------------------
select tap.throws(pg_temp.campaign('time_zone', '''Mars/Base'''), '23514',
                  'campaigns.time_zone: unknown time zone "Mars/Base" (use an IANA name from pg_timezone_names, e.g. Europe/London)',
                  'unknown campaign time zone refused, naming the field, the value and what is accepted');
select tap.is(tap.error_of(pg_temp.campaign('time_zone', '''Mars/Base'''), 'column'), 'time_zone',
              'the error carries column time_zone for clients');
select tap.is(tap.error_of(pg_temp.campaign('time_zone', '''Mars/Base'''), 'table'), 'campaigns',
              'the error carries table campaigns for clients');
select tap.throws(pg_temp.campaign('time_zone', '''europe/london'''), '23514',
                  'campaigns.time_zone: unknown time zone "europe/london" (did you mean "Europe/London"? zone names are case-sensitive)',
                  'a zone in the wrong case is refused with the right spelling suggested');
select tap.throws(pg_temp.campaign('time_zone', ''''''), '23514',
                  'campaigns.time_zone: unknown time zone ""%', 'empty campaign time zone refused');
select tap.throws(pg_temp.campaign('time_zone', '''EST+5'''), '23514',
                  'campaigns.time_zone: unknown time zone "EST+5"%', 'POSIX zone strings are refused: names only');
select tap.throws(format($$update dialer.campaigns set time_zone = 'Nowhere/City' where id = %s$$, :c1), '23514',
                  'campaigns.time_zone: unknown time zone "Nowhere/City"%', 'changing a campaign to an unknown zone refused');
select tap.lives_ok(pg_temp.campaign('time_zone', '''Europe/London'''), 'campaign in Europe/London accepted');
select tap.lives_ok($$insert into dialer.campaigns (name, skill_group_id, callers, time_zone)
                      values ('kolkata', 1, '{123}', 'Asia/Kolkata'), ('etc', 1, '{123}', 'Etc/GMT-14')$$,
                    'campaigns in Asia/Kolkata and Etc/GMT-14 accepted');

-- A zone the cache has not seen (as after a tzdata upgrade) is found in pg_timezone_names.
delete from dialer.time_zone_names where name = 'Pacific/Chatham';
select tap.lives_ok($$insert into dialer.campaigns (name, skill_group_id, callers, time_zone)
                      values ('chatham', 1, '{123}', 'Pacific/Chatham')$$,
                    'a zone missing from the cache is looked up in pg_timezone_names');
select tap.ok(exists (select 1 from dialer.time_zone_names where name = 'Pacific/Chatham'),
              'and then added to the cache');

select tap.throws(format($$insert into dialer.callees (campaign_id, number, time_zone) values (%s, '+447700900001', 'Mars/Base')$$, :c1),
                  '23514',
                  'callees.time_zone: unknown time zone "Mars/Base" for callee "+447700900001" (use an IANA name from pg_timezone_names, e.g. Europe/London)',
                  'unknown callee time zone refused, naming the field, the callee and what is accepted');
select tap.is(tap.error_of(format($$insert into dialer.callees (campaign_id, number, time_zone) values (%s, '+447700900001', 'Mars/Base')$$, :c1),
                           'column'), 'time_zone', 'the callee error carries column time_zone');
select tap.lives_ok(format($$insert into dialer.callees (campaign_id, number, time_zone)
                             values (%1$s, '+447700900001', 'Europe/Paris'), (%1$s, '+447700900002', null)$$, :c1),
                    'callees in Europe/Paris and without a zone accepted');
select tap.throws(format($$update dialer.callees set time_zone = 'Mars/Base' where campaign_id = %s and number = '+447700900002'$$, :c1),
                  '23514', 'callees.time_zone: unknown time zone "Mars/Base" for callee "+447700900002"%',
                  'changing a callee to an unknown zone refused');
select tap.lives_ok(format($$update dialer.callees set time_zone = null where campaign_id = %s$$, :c1),
                    'clearing callee zones accepted');

-- A bulk import with zones stays fast: the cache answers, not pg_timezone_names (~20 ms a query).
select clock_timestamp() as t0 \gset
insert into dialer.callees (campaign_id, number, time_zone)
select :c1, (440000000000 + g)::text, 'America/Chicago' from generate_series(1, 2000) g;
select tap.ok(clock_timestamp() - :'t0'::timestamptz < interval '2 seconds',
              'importing 2000 callees with a time zone takes under 2 s');

-- time_ranges -----------------------------------------------------------------------------------
select pg_temp.ranges_refused('{"start":"09:00:00","end":"17:00:00"}',
    'campaigns.time_ranges: expected a JSON array of {"start":"HH:MM:SS","end":"HH:MM:SS"} objects (or [] for all day), got {"end": "17:00:00", "start": "09:00:00"}',
    'an object, not an array');
select pg_temp.ranges_refused('"09:00-17:00"',
    'campaigns.time_ranges: expected a JSON array of % objects (or [] for all day), got "09:00-17:00"', 'a string');
select pg_temp.ranges_refused('null', 'campaigns.time_ranges: expected a JSON array %, got null', 'JSON null');
select pg_temp.ranges_refused('["09:00:00"]',
    'campaigns.time_ranges[1]: "09:00:00" is not an object {"start":"HH:MM:SS","end":"HH:MM:SS"}', 'element is a string');
select pg_temp.ranges_refused('[900]',
    'campaigns.time_ranges[1]: 900 is not an object {"start":"HH:MM:SS","end":"HH:MM:SS"}', 'element is a number');
select pg_temp.ranges_refused('[["09:00:00","17:00:00"]]',
    'campaigns.time_ranges[1]: ["09:00:00", "17:00:00"] is not an object %', 'element is an array');
select pg_temp.ranges_refused('[{"end":"17:00:00"}]',
    'campaigns.time_ranges[1]: "start" is missing; each window is {"start":"HH:MM:SS","end":"HH:MM:SS"}', 'start missing');
select pg_temp.ranges_refused('[{"start":"09:00:00"}]',
    'campaigns.time_ranges[1]: "end" is missing; each window is {"start":"HH:MM:SS","end":"HH:MM:SS"}', 'end missing');
select pg_temp.ranges_refused('[{"start":"09:00:00","stop":"17:00:00"}]',
    'campaigns.time_ranges[1]: unknown key "stop"; a window has only "start" and "end"', 'unknown key');
select pg_temp.ranges_refused('[{"start":"09:00:00","end":"25:00:00"}]',
    'campaigns.time_ranges[1].end: "25:00:00" is not a time of day HH:MM:SS (00:00:00 to 23:59:59)', 'end 25:00:00');
select pg_temp.ranges_refused('[{"start":"09:00:00","end":"24:00:00"}]',
    'campaigns.time_ranges[1].end: "24:00:00" is not a time of day HH:MM:SS%', 'end 24:00:00');
select pg_temp.ranges_refused('[{"start":"9:00:00","end":"17:00:00"}]',
    'campaigns.time_ranges[1].start: "9:00:00" is not a time of day HH:MM:SS%', 'start with one hour digit');
select pg_temp.ranges_refused('[{"start":"09:00","end":"17:00:00"}]',
    'campaigns.time_ranges[1].start: "09:00" is not a time of day HH:MM:SS%', 'start without seconds');
select pg_temp.ranges_refused('[{"start":"09:60:00","end":"17:00:00"}]',
    'campaigns.time_ranges[1].start: "09:60:00" is not a time of day HH:MM:SS%', 'minute 60');
select pg_temp.ranges_refused('[{"start":"09:00:00","end":"17:00:60"}]',
    'campaigns.time_ranges[1].end: "17:00:60" is not a time of day HH:MM:SS%', 'second 60');
select pg_temp.ranges_refused('[{"start":32400,"end":"17:00:00"}]',
    'campaigns.time_ranges[1].start: 32400 is not a time of day HH:MM:SS%', 'start as a number');
select pg_temp.ranges_refused('[{"start":null,"end":"17:00:00"}]',
    'campaigns.time_ranges[1].start: null is not a time of day HH:MM:SS%', 'start null');
select pg_temp.ranges_refused('[{"start":"09:00:00","end":"09:00:00"}]',
    'campaigns.time_ranges[1]: start and end are both "09:00:00"; a window needs two different times (end before start spans midnight, [] means all day)',
    'start = end');
select pg_temp.ranges_refused('[{"start":"09:00:00","end":"12:00:00"},{"start":"13:00:00","end":"31:00:00"}]',
    'campaigns.time_ranges[2].end: "31:00:00" is not a time of day HH:MM:SS%', 'the second window is named [2]');
select tap.is(tap.error_of(pg_temp.campaign('time_ranges', '''[1]'''), 'column'), 'time_ranges',
              'the error carries column time_ranges');
select tap.throws(format($$update dialer.campaigns set time_ranges = '[{"start":"08:00:00"}]' where id = %s$$, :c1), '23514',
                  'campaigns.time_ranges[1]: "end" is missing%', 'changing a campaign to bad time_ranges refused');
select tap.lives_ok(format($$update dialer.campaigns
                             set time_ranges = '[{"start":"00:00:00","end":"23:59:59"},{"start":"20:00:00","end":"08:00:00"}]'
                             where id = %s$$, :c1),
                    'time_ranges 00:00:00-23:59:59 and one across midnight accepted');
select tap.lives_ok(format($$update dialer.campaigns set time_ranges = '[]' where id = %s$$, :c1),
                    'empty time_ranges (all day) accepted');

-- callers elements ------------------------------------------------------------------------------
select tap.throws($$insert into dialer.campaigns (name, skill_group_id, callers) values ('bad', 1, '{+442071234567,abc}')$$,
                  '23514',
                  'campaigns.callers[2]: "abc" is not a phone number; use 3 to 15 digits with an optional leading + and no spaces or dashes (e.g. +442071234567)',
                  'a caller that is no number refused, naming its position');
select tap.throws($$insert into dialer.campaigns (name, skill_group_id, callers) values ('bad', 1, '{"+44 20 7123 4567"}')$$,
                  '23514', 'campaigns.callers[1]: "+44 20 7123 4567" is not a phone number%', 'a caller with spaces refused');
select tap.throws($$insert into dialer.campaigns (name, skill_group_id, callers) values ('bad', 1, '{12}')$$,
                  '23514', 'campaigns.callers[1]: "12" is not a phone number%', 'a caller of 2 digits refused');
select tap.throws($$insert into dialer.campaigns (name, skill_group_id, callers) values ('bad', 1, '{123,NULL}')$$,
                  '23514', 'campaigns.callers[2]: is null; each caller is a phone number of 3 to 15 digits%',
                  'a null caller refused');
select tap.throws($$insert into dialer.campaigns (name, skill_group_id, callers) values ('bad', 1, '{123,456,123}')$$,
                  '23514', 'campaigns.callers[3]: "123" is already listed at position 1; list each caller once',
                  'a caller listed twice refused');
select tap.throws($$insert into dialer.campaigns (name, skill_group_id, callers) values ('bad', 1, '{{123,456},{789,101}}')$$,
                  '23514', 'campaigns.callers: expected a flat list of caller numbers, got 2 dimensions',
                  'a two-dimensional callers array refused');
select tap.is(tap.error_of($$insert into dialer.campaigns (name, skill_group_id, callers) values ('bad', 1, '{x}')$$, 'column'),
              'callers', 'the error carries column callers');
select tap.throws(format($$update dialer.campaigns set callers = '{+442071234567,x1}' where id = %s$$, :c1), '23514',
                  'campaigns.callers[2]: "x1" is not a phone number%', 'changing callers to a bad list refused');
select tap.lives_ok(format($$update dialer.campaigns set callers = '{+442071234567,442071234568,123456789012345}' where id = %s$$, :c1),
                    'three good callers accepted');

-- 05_notify: the dialer_changes payloads, as a second session LISTENing receives them.
--
-- Every statement below runs in autocommit; tap.notifications() returns what was delivered
-- since its previous call, in order, as an array for comparison.

select tap.listen('dialer_changes');

create function pg_temp.got() returns text[]
language sql
return array(select tap.notifications('dialer_changes'));

-- campaigns: row level ----------------------------------------------------------------------------
insert into dialer.skill_groups (id, name) values (1, 'sales');
select tap.is(pg_temp.got(), '{}'::text[], 'skill_groups changes are not announced');

insert into dialer.campaigns (name, skill_group_id, callers) values ('c1', 1, '{123}');
select id as c1 from dialer.campaigns where name = 'c1' \gset
select tap.is(pg_temp.got(), array[format('{"table":"campaigns","op":"INSERT","id":%s}', :c1)],
              'campaign INSERT: {"table":"campaigns","op":"INSERT","id":N}');
update dialer.campaigns set priority = 1 where id = :c1;
select tap.is(pg_temp.got(), array[format('{"table":"campaigns","op":"UPDATE","id":%s}', :c1)],
              'campaign UPDATE: {"table":"campaigns","op":"UPDATE","id":N}');
select tap.is(dialer.campaign_abort(:c1), 3::smallint, 'campaign_abort of c1');
select tap.is(pg_temp.got(), array[format('{"table":"campaigns","op":"UPDATE","id":%s}', :c1)],
              'a control function announces the campaign UPDATE');
insert into dialer.campaigns (name, skill_group_id, callers) values ('c2', 1, '{123}'), ('c3', 1, '{123}');
select id as c2 from dialer.campaigns where name = 'c2' \gset
select id as c3 from dialer.campaigns where name = 'c3' \gset
select tap.is(pg_temp.got(), array[format('{"table":"campaigns","op":"INSERT","id":%s}', :c2),
                                   format('{"table":"campaigns","op":"INSERT","id":%s}', :c3)],
              'a two-row campaign INSERT announces each campaign');
delete from dialer.campaigns where id = :c1;
select tap.is(pg_temp.got(), array[format('{"table":"campaigns","op":"DELETE","id":%s}', :c1)],
              'campaign DELETE: {"table":"campaigns","op":"DELETE","id":N}');
begin;
update dialer.campaigns set priority = 2 where id = :c2;
update dialer.campaigns set priority = 4 where id = :c2;
select tap.is(pg_temp.got(), '{}'::text[], 'nothing is delivered before COMMIT');
commit;
select tap.is(pg_temp.got(), array[format('{"table":"campaigns","op":"UPDATE","id":%s}', :c2)],
              'two updates of one campaign in one transaction arrive as one notification');
select tap.ok(pg_notification_queue_usage() < 0.01, 'the notification queue is being drained');

-- agents, memberships, dnc, caller numbers --------------------------------------------------------
insert into dialer.agents (id) values ('agent-7');
select tap.is(pg_temp.got(), array['{"table":"agents","op":"INSERT","id":"agent-7"}'],
              'agent INSERT: {"table":"agents","op":"INSERT","id":"agent-7"}');
update dialer.agents set status = 'free' where id = 'agent-7';
select tap.is(pg_temp.got(), array['{"table":"agents","op":"UPDATE","id":"agent-7"}'], 'agent UPDATE announced');
insert into dialer.agents (id) values ('agent "8"');
select tap.is(pg_temp.got(), array['{"table":"agents","op":"INSERT","id":"agent \"8\""}'],
              'an agent id with quotes is escaped as JSON');
insert into dialer.agent_skill_groups (agent_id, skill_group_id) values ('agent-7', 1);
select tap.is(pg_temp.got(), array['{"table":"agents","op":"UPDATE","id":"agent-7"}'],
              'a skill group membership change is announced as an UPDATE of the agent');
delete from dialer.agents where id = 'agent-7';
select tap.is(pg_temp.got(), array['{"table":"agents","op":"DELETE","id":"agent-7"}'],
              'agent DELETE announced once, not again for the memberships it takes along');
insert into dialer.agents (id) values ('agent-9');
insert into dialer.agent_skill_groups (agent_id, skill_group_id) values ('agent-9', 1);
delete from dialer.agent_skill_groups where agent_id = 'agent-9';
select tap.is(pg_temp.got(), array['{"table":"agents","op":"INSERT","id":"agent-9"}',
                                   '{"table":"agents","op":"UPDATE","id":"agent-9"}',
                                   '{"table":"agents","op":"UPDATE","id":"agent-9"}'],
              'removing an agent from a skill group is announced as an UPDATE of the agent');

insert into dialer.dnc (number) values ('+447700900123');
select tap.is(pg_temp.got(), array['{"table":"dnc","op":"INSERT","number":"+447700900123"}'],
              'dnc INSERT: {"table":"dnc","op":"INSERT","number":"+447700900123"}');
update dialer.dnc set number = '+447700900124';
select tap.is(pg_temp.got(), array['{"table":"dnc","op":"UPDATE","number":"+447700900124"}',
                                   '{"table":"dnc","op":"UPDATE","number":"+447700900123"}'],
              'renumbering a dnc entry announces the new and the old number');
delete from dialer.dnc;
select tap.is(pg_temp.got(), array['{"table":"dnc","op":"DELETE","number":"+447700900124"}'], 'dnc DELETE announced');
insert into dialer.caller_numbers (number) values ('+442071234567');
select tap.is(pg_temp.got(), array['{"table":"caller_numbers","op":"INSERT","number":"+442071234567"}'],
              'caller_numbers INSERT announced');

-- callees: statement level ------------------------------------------------------------------------
insert into dialer.callees (campaign_id, number)
select c, (440000000000 + g)::text from unnest(array[:c3, :c2]) c, generate_series(1, 500) g;
select tap.is(pg_temp.got(), array[format('{"table":"callees","op":"INSERT","campaign_ids":[%s,%s]}', least(:c2, :c3), greatest(:c2, :c3))],
              'a 1000-row callee INSERT into two campaigns is one notification listing both, in id order');
update dialer.callees set uui = 'x' where campaign_id = :c2;
select tap.is(pg_temp.got(), array[format('{"table":"callees","op":"UPDATE","campaign_ids":[%s]}', :c2)],
              'callee UPDATE: {"table":"callees","op":"UPDATE","campaign_ids":[N]}');
update dialer.callees set campaign_id = :c3, number = '+4470000' where campaign_id = :c2 and number = '440000000001';
select tap.is(pg_temp.got(), array[format('{"table":"callees","op":"UPDATE","campaign_ids":[%s,%s]}', least(:c2, :c3), greatest(:c2, :c3))],
              'moving a callee to another campaign names both campaigns');
delete from dialer.callees where campaign_id = :c3 and number = '440000000002';
select tap.is(pg_temp.got(), array[format('{"table":"callees","op":"DELETE","campaign_ids":[%s]}', :c3)],
              'callee DELETE: {"table":"callees","op":"DELETE","campaign_ids":[N]}');
update dialer.callees set uui = 'y' where number = 'nobody';
select tap.is(pg_temp.got(), '{}'::text[], 'a callee statement that touches no row is not announced');

-- dialerd's own sessions stay silent on callees, but not on campaigns
set dialer.origin = 'dialerd';
update dialer.callees set state = 3 where campaign_id = :c2;
insert into dialer.callees (campaign_id, number) values (:c2, '+449999');
delete from dialer.callees where number = '+449999';
select tap.is(pg_temp.got(), '{}'::text[], 'with dialer.origin = dialerd, callee INSERT/UPDATE/DELETE are silent');
update dialer.campaigns set status = 1 where id = :c2;
select tap.is(pg_temp.got(), array[format('{"table":"campaigns","op":"UPDATE","id":%s}', :c2)],
              'with dialer.origin = dialerd, campaign changes are still announced');
set dialer.origin = 'manager';
update dialer.callees set state = 0 where campaign_id = :c2;
select tap.is(pg_temp.got(), array[format('{"table":"callees","op":"UPDATE","campaign_ids":[%s]}', :c2)],
              'with another dialer.origin, callee changes are announced');
reset dialer.origin;
begin;
set local dialer.origin = 'dialerd';
update dialer.callees set uui = 'z' where campaign_id = :c2;
commit;
update dialer.callees set uui = 'w' where campaign_id = :c3;
select tap.is(pg_temp.got(), array[format('{"table":"callees","op":"UPDATE","campaign_ids":[%s]}', :c3)],
              'SET LOCAL dialer.origin = dialerd silences only its own transaction');

-- 100 campaigns are listed, 101 are "any campaign"
insert into dialer.campaigns (name, skill_group_id, callers) select 'bulk' || g, 1, '{123}' from generate_series(1, 101) g;
select array_agg(id order by id) as ids100 from dialer.campaigns where name ~ '^bulk' and name <> 'bulk101' \gset
select id as c101 from dialer.campaigns where name = 'bulk101' \gset
select tap.is(cardinality(pg_temp.got()), 101, 'a 101-row campaign INSERT announces each campaign');
insert into dialer.callees (campaign_id, number) select id, '+4412345' from dialer.campaigns where name ~ '^bulk' and name <> 'bulk101';
select tap.is(pg_temp.got(), array[format('{"table":"callees","op":"INSERT","campaign_ids":%s}', to_json(:'ids100'::bigint[]))],
              'callees into 100 campaigns: all 100 ids listed');
insert into dialer.callees (campaign_id, number) select id, '+4412346' from dialer.campaigns where name ~ '^bulk';
select tap.is(pg_temp.got(), array['{"table":"callees","op":"INSERT"}'],
              'callees into 101 campaigns: the list is left out, meaning any campaign');
delete from dialer.callees where number in ('+4412345', '+4412346');
select tap.is(pg_temp.got(), array['{"table":"callees","op":"DELETE"}'], 'the same holds for DELETE');

-- TRUNCATE --------------------------------------------------------------------------------------
truncate dialer.callees cascade;
select tap.is(pg_temp.got(), array['{"table":"callees","op":"TRUNCATE"}'], 'TRUNCATE callees announced without ids');
truncate dialer.agent_skill_groups;
select tap.is(pg_temp.got(), array['{"table":"agents","op":"UPDATE"}'],
              'TRUNCATE agent_skill_groups announced as an UPDATE of every agent');

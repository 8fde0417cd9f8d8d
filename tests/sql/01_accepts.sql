-- 01_accepts: good rows are accepted and take the defaults of DESIGN.md §5.1.

select tap.lives_ok($$insert into dialer.skill_groups (id, name) values (1, 'sales'), (2, 'support')$$,
                    'skill groups accepted');

-- agents --------------------------------------------------------------------------------------
select tap.lives_ok($$insert into dialer.agents (id) values ('agent-1')$$, 'agent with only an id accepted');
select tap.is(status, 'offline', 'agents.status defaults to offline') from dialer.agents where id = 'agent-1';
select tap.ok(status_since > now() - interval '1 minute', 'agents.status_since defaults to now()')
  from dialer.agents where id = 'agent-1';
select tap.lives_ok($$insert into dialer.agents (id, name, status, status_reason) values
                        ('agent-2', 'Ann', 'free', null), ('agent-3', null, 'busy', null),
                        ('agent-4', null, 'arrange', null), ('agent-5', null, 'notReady', 'training'),
                        ('agent-6', null, 'rest', 'lunch'), ('agent-7', null, 'offline', null)$$,
                    'every agent status accepted: free, busy, arrange, notReady, rest, offline');
select tap.lives_ok($$insert into dialer.agents (id) values (repeat('a', 128))$$, 'agent id of 128 chars accepted');

-- status_since follows status changes, and only them
update dialer.agents set status_since = '2000-01-01', name = 'Al' where id = 'agent-1';
select tap.is(status_since, '2000-01-01'::timestamptz, 'agents.status_since kept when status does not change')
  from dialer.agents where id = 'agent-1';
update dialer.agents set status = 'free' where id = 'agent-1';
select tap.ok(status_since > now() - interval '1 minute', 'agents.status_since set to now() when status changes')
  from dialer.agents where id = 'agent-1';

select tap.lives_ok($$insert into dialer.agent_skill_groups (agent_id, skill_group_id) values ('agent-1', 1)$$,
                    'agent_skill_groups row accepted');
select tap.is(priority, 3::smallint, 'agent_skill_groups.priority defaults to 3')
  from dialer.agent_skill_groups where agent_id = 'agent-1';
select tap.lives_ok($$insert into dialer.agent_skill_groups values ('agent-2', 1, 1), ('agent-2', 2, 5)$$,
                    'agent_skill_groups priorities 1 and 5 accepted, one agent in two groups');

-- caller numbers ------------------------------------------------------------------------------
select tap.lives_ok($$insert into dialer.caller_numbers (number) values ('+442071234567')$$,
                    'caller number accepted');
select tap.is(row(max_concurrent, max_cps, state)::text, '(10,5,1)',
              'caller_numbers defaults: max_concurrent 10, max_cps 5, state 1')
  from dialer.caller_numbers where number = '+442071234567';
select tap.lives_ok($$insert into dialer.caller_numbers values ('123', 1, 0.5, 2), ('4420', 1, 1, 4), ('4421', 1, 1, 5)$$,
                    'caller_numbers states 2, 4, 5, max_concurrent 1 and max_cps 0.5 accepted');

-- campaigns -----------------------------------------------------------------------------------
select tap.lives_ok($$insert into dialer.campaigns (name, skill_group_id, callers)
                      values ('minimal', 1, '{+442071234567}')$$,
                    'campaign with only name, skill_group_id and callers accepted');
select tap.is(mode, 'predictive', 'campaigns.mode defaults to predictive') from dialer.campaigns where name = 'minimal';
select tap.is(status, 0::smallint, 'campaigns.status defaults to 0 (ready)') from dialer.campaigns where name = 'minimal';
select tap.is(status_reason, 0::smallint, 'campaigns.status_reason defaults to 0') from dialer.campaigns where name = 'minimal';
select tap.is(priority, 3::smallint, 'campaigns.priority defaults to 3') from dialer.campaigns where name = 'minimal';
select tap.is(callout_rate, 1::numeric, 'campaigns.callout_rate defaults to 1') from dialer.campaigns where name = 'minimal';
select tap.is(expected_abandon_rate, 3::numeric, 'campaigns.expected_abandon_rate defaults to 3')
  from dialer.campaigns where name = 'minimal';
select tap.is(max_concurrent, null, 'campaigns.max_concurrent defaults to NULL') from dialer.campaigns where name = 'minimal';
select tap.is(call_order, 1::smallint, 'campaigns.call_order defaults to 1') from dialer.campaigns where name = 'minimal';
select tap.ok(not_before between now() - interval '1 minute' and now(), 'campaigns.not_before defaults to now()')
  from dialer.campaigns where name = 'minimal';
select tap.is(not_after, null, 'campaigns.not_after defaults to NULL') from dialer.campaigns where name = 'minimal';
select tap.is(time_zone, 'UTC', 'campaigns.time_zone defaults to UTC') from dialer.campaigns where name = 'minimal';
select tap.is(time_ranges, '[]'::jsonb, 'campaigns.time_ranges defaults to []') from dialer.campaigns where name = 'minimal';
select tap.is(ring_timeout_s, 30, 'campaigns.ring_timeout_s defaults to 30') from dialer.campaigns where name = 'minimal';
select tap.is(row(recall_num, recall_interval_min, recall_type)::text, '(0,30,1)',
              'campaigns recall defaults: recall_num 0, recall_interval_min 30, recall_type 1')
  from dialer.campaigns where name = 'minimal';
select tap.is(row(uui, variables)::text, '(,{})', 'campaigns.uui defaults to NULL, variables to {}')
  from dialer.campaigns where name = 'minimal';
select tap.is(row(sms_sender_id, sms_content, sms_on_hangup, sms_on_success, sms_on_failure, sms_on_ring,
                  sms_on_feedback, sms_success_delay_s, sms_feedback_value)::text, '(,,f,f,f,f,f,1,)',
              'campaigns SMS defaults: no sender, no content, every trigger off, delay 1, no feedback value')
  from dialer.campaigns where name = 'minimal';
select tap.ok(created_at > now() - interval '1 minute' and updated_at = created_at,
              'campaigns.created_at and updated_at default to now()') from dialer.campaigns where name = 'minimal';
select tap.ok(started_at is null and ended_at is null, 'campaigns.started_at and ended_at start NULL')
  from dialer.campaigns where name = 'minimal';

select tap.lives_ok($$insert into dialer.campaigns (name, mode, callers, max_concurrent)
                      values ('agentless', 'agentless', '{+442071234567}', 5)$$,
                    'agentless campaign without a skill group accepted');
select tap.lives_ok($$insert into dialer.campaigns (name, mode, skill_group_id, callers, callout_rate)
                      values ('progressive', 'progressive', 2, '{+442071234567}', 2.5)$$,
                    'progressive campaign with callout_rate 2.5 accepted');
select tap.lives_ok(
    $$insert into dialer.campaigns (name, mode, priority, skill_group_id, callout_rate, expected_abandon_rate,
          max_concurrent, callers, call_order, not_before, not_after, time_zone, time_ranges, ring_timeout_s,
          recall_num, recall_interval_min, recall_type, uui, variables, sms_sender_id, sms_content,
          sms_on_hangup, sms_on_success, sms_on_failure, sms_on_ring, sms_on_feedback, sms_success_delay_s,
          sms_feedback_value)
      values (repeat('n', 64), 'predictive', 1, 1, 100, 50,
          1, '{+442071234567,442071234568,123}', 0, now() + interval '1 day', now() + interval '2 days',
          'America/New_York', '[{"start":"09:00:00","end":"12:00:00"},{"start":"22:00:00","end":"02:00:00"}]', 120,
          10, 1, 0, 'uui-1', '{"text1":"Ann"}', repeat('s', 32), repeat('c', 1000),
          true, true, true, true, true, 9999, '9')$$,
    'campaign at the upper bounds accepted (name 64 chars, priority 1, callout_rate 100, abandon 50, ring 120, '
    'recall 10, sender 32 chars, content 1000 chars, delay 9999, time range across midnight)');
select tap.lives_ok(
    $$insert into dialer.campaigns (name, priority, skill_group_id, callers, expected_abandon_rate, ring_timeout_s,
          recall_interval_min, sms_success_delay_s, sms_feedback_value, sms_on_feedback, sms_content)
      values ('l', 5, 1, '{999}', 0, 15, 1, 1, '0', true, 'Press ${text1}')$$,
    'campaign at the lower bounds accepted (name 1 char, priority 5, abandon 0, ring 15, interval 1, delay 1, feedback 0)');

-- callees -------------------------------------------------------------------------------------
select id as minimal from dialer.campaigns where name = 'minimal' \gset
select id as agentless from dialer.campaigns where name = 'agentless' \gset
select tap.lives_ok(format($$insert into dialer.callees (campaign_id, number) values (%s, '+442071234567')$$, :minimal),
                    'callee accepted');
select tap.is(row(uui, variables, time_zone, state, attempts, next_attempt_at, last_end_status)::text, '(,{},,0,0,,)',
              'callees defaults: variables {}, state 0, attempts 0, everything else NULL')
  from dialer.callees where campaign_id = :minimal;
select tap.ok(created_at > now() - interval '1 minute' and updated_at = created_at
              and order_key >= 0 and order_key < 1,
              'callees.created_at/updated_at default to now(), order_key to a random number in [0,1)')
  from dialer.callees where campaign_id = :minimal;
select tap.lives_ok(format($$insert into dialer.callees (campaign_id, number, uui, variables, time_zone)
                             values (%1$s, '123', 'u', '{"text1":"x"}', 'Asia/Tokyo'),
                                    (%1$s, '123456789012345', null, '{}', 'UTC'),
                                    (%1$s, '+123456789012345', null, '{}', null)$$, :minimal),
                    'callees with 3 and 15 digits, with and without +, with a time zone, accepted');
select tap.lives_ok(format($$insert into dialer.callees (campaign_id, number) values (%s, '+442071234567')$$, :agentless),
                    'the same number in another campaign accepted');
select tap.lives_ok(format($$insert into dialer.callees (campaign_id, number, state, next_attempt_at)
                             values (%s, '4455', 4, now() + interval '30 minutes')$$, :minimal),
                    'callee pending retry (4) with next_attempt_at accepted');

-- updated_at is kept current by a trigger, whatever the statement says
update dialer.callees set uui = 'changed', updated_at = '2000-01-01' where number = '123';
select tap.ok(updated_at > '2000-01-01', 'callees.updated_at set to now() on update') from dialer.callees where number = '123';
update dialer.campaigns set priority = 2, updated_at = '2000-01-01' where id = :minimal;
select tap.ok(updated_at > '2000-01-01', 'campaigns.updated_at set to now() on update') from dialer.campaigns where id = :minimal;

-- dnc -----------------------------------------------------------------------------------------
select tap.lives_ok($$insert into dialer.dnc (number, reason) values ('+447700900123', 'asked not to be called')$$,
                    'dnc entry accepted');
select tap.ok(created_at > now() - interval '1 minute', 'dnc.created_at defaults to now()') from dialer.dnc;

-- attempts and sms_outbox ---------------------------------------------------------------------
select id as callee from dialer.callees where campaign_id = :minimal and number = '+442071234567' \gset
select tap.lives_ok(format($$insert into dialer.attempts (callee_id, campaign_id, attempt_no, caller)
                             values (%s, %s, 1, '+442071234567')$$, :callee, :minimal),
                    'attempt with callee, campaign, attempt_no and caller accepted');
select tap.is(row(skill_group_id, instance, dialed_at, ended_at, end_status, success, last_seq)::text, '(,,,,,,0)',
              'attempts defaults: last_seq 0, everything else NULL') from dialer.attempts;
select tap.ok(created_at > now() - interval '1 minute' and updated_at = created_at,
              'attempts.created_at/updated_at default to now()') from dialer.attempts;
update dialer.attempts set ringing_at = now(), last_seq = 1, updated_at = '2000-01-01';
select tap.ok(updated_at > '2000-01-01', 'attempts.updated_at set to now() on update') from dialer.attempts;

select id as attempt from dialer.attempts \gset
select tap.lives_ok(format($$insert into dialer.sms_outbox (attempt_id, trigger, to_number, body)
                             values (%s, 'success', '+442071234567', 'Thank you')$$, :attempt),
                    'sms_outbox row without campaign_id/callee_id accepted');
select tap.is(row(campaign_id, callee_id)::text, format('(%s,%s)', :minimal, :callee),
              'sms_outbox campaign_id and callee_id filled in from the attempt') from dialer.sms_outbox;
select tap.is(row(state, tries, last_error, sent_at)::text, '(pending,0,,)',
              'sms_outbox defaults: state pending, tries 0') from dialer.sms_outbox;
select tap.ok(due_at > now() - interval '1 minute' and created_at = due_at, 'sms_outbox.due_at and created_at default to now()')
  from dialer.sms_outbox;
select tap.lives_ok(format($$insert into dialer.sms_outbox (attempt_id, campaign_id, callee_id, trigger, to_number,
                                                             sender_id, body, due_at, state)
                             values (%1$s, %2$s, %3$s, 'hangup', '442071234567', 'ACME', 'b', now(), 'sending'),
                                    (%1$s, %2$s, %3$s, 'failure', '442071234567', null, 'b', now(), 'sent'),
                                    (%1$s, %2$s, %3$s, 'ring', '442071234567', null, 'b', now(), 'failed'),
                                    (%1$s, %2$s, %3$s, 'feedback', '442071234567', null, 'b', now(), 'pending')$$,
                           :attempt, :minimal, :callee),
                    'sms_outbox every trigger (hangup, success, failure, ring, feedback) and state accepted');
update dialer.sms_outbox set tries = 1, updated_at = '2000-01-01' where trigger = 'success';
select tap.ok(updated_at > '2000-01-01', 'sms_outbox.updated_at set to now() on update')
  from dialer.sms_outbox where trigger = 'success';

-- deleting cascades ---------------------------------------------------------------------------
update dialer.campaigns set status = 3 where id = :minimal;
select tap.lives_ok(format('delete from dialer.campaigns where id = %s', :minimal), 'an ended campaign can be deleted');
select tap.is((select count(*) from dialer.callees where campaign_id = :minimal)
              + (select count(*) from dialer.attempts) + (select count(*) from dialer.sms_outbox), 0::bigint,
              'deleting a campaign deletes its callees, attempts and SMS outbox rows');
delete from dialer.agents where id = 'agent-2';
select tap.is((select count(*) from dialer.agent_skill_groups where agent_id = 'agent-2'), 0::bigint,
              'deleting an agent deletes its skill group memberships');

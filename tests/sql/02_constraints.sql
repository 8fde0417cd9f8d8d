-- 02_constraints: every bad value is refused, and the error names the field and what it accepts.

insert into dialer.skill_groups (id, name) values (1, 'sales');
insert into dialer.agents (id) values ('agent-1');
insert into dialer.campaigns (name, skill_group_id, callers) values ('c1', 1, '{+442071234567}');
select id as c1 from dialer.campaigns where name = 'c1' \gset
insert into dialer.callees (campaign_id, number) values (:c1, '+447700900001');
select id as callee from dialer.callees \gset
insert into dialer.attempts (callee_id, campaign_id, attempt_no, caller) values (:callee, :c1, 1, '+442071234567');
select id as attempt from dialer.attempts \gset

-- A campaign insert that is good except for column = value (value is SQL text).
create function pg_temp.campaign(col text, val text) returns text
language sql
return format('insert into dialer.campaigns (name, skill_group_id, callers, %s) values (''bad'', 1, ''{+442071234567}'', %s)',
              col, val);

-- Expects a check_violation of constraint on table dialer.campaigns for column = value.
create function pg_temp.refused(col text, val text, con text) returns text
language sql
return tap.throws(pg_temp.campaign(col, val), '23514',
                  format('new row for relation "campaigns" violates check constraint "%s"', con),
                  format('campaigns.%s = %s refused by %s', col, val, con));

-- campaigns: ranges -----------------------------------------------------------------------------
select pg_temp.refused('priority', '0', 'campaigns_priority_1_to_5');
select pg_temp.refused('priority', '6', 'campaigns_priority_1_to_5');
select pg_temp.refused('callout_rate', '0', 'campaigns_callout_rate_1_to_100');
select pg_temp.refused('callout_rate', '0.5', 'campaigns_callout_rate_1_to_100');
select pg_temp.refused('callout_rate', '101', 'campaigns_callout_rate_1_to_100');
select pg_temp.refused('expected_abandon_rate', '51', 'campaigns_expected_abandon_rate_0_to_50');
select pg_temp.refused('expected_abandon_rate', '-1', 'campaigns_expected_abandon_rate_0_to_50');
select pg_temp.refused('ring_timeout_s', '14', 'campaigns_ring_timeout_s_15_to_120');
select pg_temp.refused('ring_timeout_s', '121', 'campaigns_ring_timeout_s_15_to_120');
select pg_temp.refused('recall_num', '11', 'campaigns_recall_num_0_to_10');
select pg_temp.refused('recall_num', '-1', 'campaigns_recall_num_0_to_10');
select pg_temp.refused('recall_interval_min', '0', 'campaigns_recall_interval_min_at_least_1');
select pg_temp.refused('recall_type', '2', 'campaigns_recall_type_0_every_or_1_failed');
select pg_temp.refused('call_order', '2', 'campaigns_call_order_0_random_or_1_insertion');
select pg_temp.refused('mode', '''manual''', 'campaigns_mode_progressive_predictive_or_agentless');
select pg_temp.refused('max_concurrent', '0', 'campaigns_max_concurrent_at_least_1');
select pg_temp.refused('sms_sender_id', format('%L', repeat('s', 33)), 'campaigns_sms_sender_id_at_most_32_chars');
select pg_temp.refused('sms_content', format('%L', repeat('c', 1001)), 'campaigns_sms_content_at_most_1000_chars');
select pg_temp.refused('sms_feedback_value', '''x''', 'campaigns_sms_feedback_value_one_digit_0_to_9');
select pg_temp.refused('sms_feedback_value', '''10''', 'campaigns_sms_feedback_value_one_digit_0_to_9');
select pg_temp.refused('sms_success_delay_s', '0', 'campaigns_sms_success_delay_s_1_to_9999');
select pg_temp.refused('sms_success_delay_s', '10000', 'campaigns_sms_success_delay_s_1_to_9999');
select pg_temp.refused('variables', '''[]''', 'campaigns_variables_json_object');
select pg_temp.refused('not_after', 'now() - interval ''1 hour''', 'campaigns_not_after_later_than_not_before');
select pg_temp.refused('sms_on_success', 'true', 'campaigns_sms_content_required_when_an_sms_trigger_is_on');
select pg_temp.refused('sms_on_hangup', 'true', 'campaigns_sms_content_required_when_an_sms_trigger_is_on');
select tap.throws($$insert into dialer.campaigns (name, skill_group_id, callers, sms_on_feedback, sms_content)
                    values ('bad', 1, '{123}', true, 'Thanks')$$, '23514',
                  '%check constraint "campaigns_sms_feedback_value_required_with_sms_on_feedback"',
                  'sms_on_feedback without sms_feedback_value refused');

-- campaigns: name -------------------------------------------------------------------------------
select tap.throws($$insert into dialer.campaigns (name, skill_group_id, callers) values ('', 1, '{123}')$$, '23514',
                  '%check constraint "campaigns_name_1_to_64_chars"', 'campaigns.name empty refused');
select tap.throws(format($$insert into dialer.campaigns (name, skill_group_id, callers) values (%L, 1, '{123}')$$,
                         repeat('n', 65)), '23514',
                  '%check constraint "campaigns_name_1_to_64_chars"', 'campaigns.name of 65 chars refused');
select tap.throws($$insert into dialer.campaigns (name, skill_group_id, callers) values ('   ', 1, '{123}')$$, '23514',
                  '%check constraint "campaigns_name_not_blank"', 'campaigns.name of blanks refused');
select tap.throws($$insert into dialer.campaigns (name, skill_group_id, callers) values ('c1', 1, '{123}')$$, '23505',
                  'duplicate key value violates unique constraint "campaigns_name_key"',
                  'duplicate campaigns.name refused by campaigns_name_key');
select tap.is(tap.error_of($$insert into dialer.campaigns (name, skill_group_id, callers) values ('c1', 1, '{123}')$$,
                           'detail'), 'Key (name)=(c1) already exists.', 'duplicate name error details the key and value');
select tap.throws($$insert into dialer.campaigns (skill_group_id, callers) values (1, '{123}')$$, '23502',
                  'null value in column "name" of relation "campaigns"%', 'campaign without a name refused');

-- campaigns: callers ----------------------------------------------------------------------------
select tap.throws($$insert into dialer.campaigns (name, skill_group_id, callers) values ('bad', 1, '{}')$$, '23514',
                  '%check constraint "campaigns_callers_not_empty"', 'empty campaigns.callers refused');
select tap.throws($$insert into dialer.campaigns (name, skill_group_id) values ('bad', 1)$$, '23502',
                  'null value in column "callers" of relation "campaigns"%', 'missing campaigns.callers refused');
-- element checks (bad number, null, duplicate, nested) are in 03_validation.sql

-- campaigns: skill group ------------------------------------------------------------------------
select tap.throws($$insert into dialer.campaigns (name, callers) values ('bad', '{123}')$$, '23514',
                  '%check constraint "campaigns_skill_group_id_required_unless_agentless"',
                  'predictive campaign without a skill group refused');
select tap.throws($$insert into dialer.campaigns (name, mode, callers) values ('bad', 'progressive', '{123}')$$, '23514',
                  '%check constraint "campaigns_skill_group_id_required_unless_agentless"',
                  'progressive campaign without a skill group refused');
select tap.throws(format('update dialer.campaigns set skill_group_id = null where id = %s', :c1), '23514',
                  '%check constraint "campaigns_skill_group_id_required_unless_agentless"',
                  'removing the skill group of a predictive campaign refused');
select tap.throws($$insert into dialer.campaigns (name, skill_group_id, callers) values ('bad', 999, '{123}')$$, '23503',
                  'insert or update on table "campaigns" violates foreign key constraint "campaigns_skill_group_id_fkey"',
                  'unknown skill group refused by campaigns_skill_group_id_fkey');
select tap.is(tap.error_of($$insert into dialer.campaigns (name, skill_group_id, callers) values ('bad', 999, '{123}')$$,
                           'detail'), 'Key (skill_group_id)=(999) is not present in table "skill_groups".',
              'unknown skill group error details the key');
select tap.throws('delete from dialer.skill_groups where id = 1', '23503',
                  '%violates foreign key constraint "campaigns_skill_group_id_fkey" on table "campaigns"',
                  'a skill group used by a campaign cannot be deleted');

-- campaigns: status on insert --------------------------------------------------------------------
select tap.throws(pg_temp.campaign('status', '1'), '23514',
                  'campaigns.status: a new campaign starts ready (0), not running (1); dialerd starts it at not_before',
                  'a campaign cannot be created running');
select tap.throws(pg_temp.campaign('status', '4'), '23514',
                  'campaigns.status: a new campaign starts ready (0), not completed (4)%',
                  'a campaign cannot be created completed');
select tap.throws(pg_temp.campaign('status_reason', '2'), '23514',
                  'campaigns.status_reason: a new campaign has reason normal (0), not ended by overtime (2)',
                  'a campaign cannot be created with a reason');

-- callees ---------------------------------------------------------------------------------------
create function pg_temp.callee_number_refused(num text, why text) returns text
language sql
return tap.throws(format('insert into dialer.callees (campaign_id, number) values (%s, %L)',
                         (select id from dialer.campaigns where name = 'c1'), num),
                  '23514', 'new row for relation "callees" violates check constraint "callees_number_e164_digits"',
                  format('callees.number %s refused (%s)', num, why));
select pg_temp.callee_number_refused('abc', 'letters');
select pg_temp.callee_number_refused('12', '2 digits');
select pg_temp.callee_number_refused('1234567890123456', '16 digits');
select pg_temp.callee_number_refused('+44 20 7123 4567', 'spaces');
select pg_temp.callee_number_refused('+44-20-71234567', 'dashes');
select pg_temp.callee_number_refused('++4420', 'two pluses');
select pg_temp.callee_number_refused('4420+', 'plus at the end');
select pg_temp.callee_number_refused('', 'empty');
select tap.throws(format($$insert into dialer.callees (campaign_id, number) values (%s, '+447700900001')$$, :c1), '23505',
                  'duplicate key value violates unique constraint "callees_campaign_id_number_key"',
                  'duplicate callee refused by callees_campaign_id_number_key');
select tap.is(tap.error_of(format($$insert into dialer.callees (campaign_id, number) values (%s, '+447700900001')$$, :c1),
                           'detail'),
              format('Key (campaign_id, number)=(%s, +447700900001) already exists.', :c1),
              'duplicate callee error details campaign_id and number');
select tap.throws($$insert into dialer.callees (campaign_id, number) values (999, '+447700900001')$$, '23503',
                  'insert or update on table "callees" violates foreign key constraint "callees_campaign_id_fkey"',
                  'callee of an unknown campaign refused by callees_campaign_id_fkey');
select tap.is(tap.error_of($$insert into dialer.callees (campaign_id, number) values (999, '+447700900001')$$, 'detail'),
              'Key (campaign_id)=(999) is not present in table "campaigns".',
              'unknown campaign error details the key');
select tap.throws($$insert into dialer.callees (number) values ('+447700900001')$$, '23502',
                  'null value in column "campaign_id" of relation "callees"%', 'callee without a campaign refused');
select tap.throws(format('update dialer.callees set state = 5 where id = %s', :callee), '23514',
                  '%check constraint "callees_state_0_to_4"', 'callees.state 5 refused by callees_state_0_to_4');
select tap.throws(format('update dialer.callees set state = -1 where id = %s', :callee), '23514',
                  '%check constraint "callees_state_0_to_4"', 'callees.state -1 refused by callees_state_0_to_4');
select tap.throws(format('update dialer.callees set state = 4 where id = %s', :callee), '23514',
                  '%check constraint "callees_next_attempt_at_required_when_pending_retry"',
                  'callee pending retry without next_attempt_at refused');
select tap.throws(format('update dialer.callees set attempts = -1 where id = %s', :callee), '23514',
                  '%check constraint "callees_attempts_not_negative"', 'negative callees.attempts refused');
select tap.throws(format($$update dialer.callees set variables = '"x"' where id = %s$$, :callee), '23514',
                  '%check constraint "callees_variables_json_object"', 'callees.variables not an object refused');

-- agents ----------------------------------------------------------------------------------------
select tap.throws($$insert into dialer.agents (id, status) values ('agent-9', 'lunch')$$, '23514',
                  'new row for relation "agents" violates check constraint "agents_status_free_busy_arrange_notReady_rest_offline"',
                  'agents.status lunch refused, the constraint lists the accepted statuses');
select tap.throws($$update dialer.agents set status = 'notready' where id = 'agent-1'$$, '23514',
                  '%check constraint "agents_status_free_busy_arrange_notReady_rest_offline"',
                  'agents.status is case-sensitive: notready refused');
select tap.throws($$insert into dialer.agents (id) values ('')$$, '23514',
                  '%check constraint "agents_id_1_to_128_chars"', 'empty agents.id refused');
select tap.throws(format('insert into dialer.agents (id) values (%L)', repeat('a', 129)), '23514',
                  '%check constraint "agents_id_1_to_128_chars"', 'agents.id of 129 chars refused');
select tap.throws($$insert into dialer.agent_skill_groups (agent_id, skill_group_id, priority) values ('agent-1', 1, 0)$$,
                  '23514', '%check constraint "agent_skill_groups_priority_1_to_5"', 'agent_skill_groups.priority 0 refused');
select tap.throws($$insert into dialer.agent_skill_groups (agent_id, skill_group_id, priority) values ('agent-1', 1, 6)$$,
                  '23514', '%check constraint "agent_skill_groups_priority_1_to_5"', 'agent_skill_groups.priority 6 refused');
select tap.throws($$insert into dialer.agent_skill_groups (agent_id, skill_group_id) values ('nobody', 1)$$, '23503',
                  '%violates foreign key constraint "agent_skill_groups_agent_id_fkey"',
                  'membership of an unknown agent refused');
select tap.throws($$insert into dialer.agent_skill_groups (agent_id, skill_group_id) values ('agent-1', 999)$$, '23503',
                  '%violates foreign key constraint "agent_skill_groups_skill_group_id_fkey"',
                  'membership of an unknown skill group refused');
insert into dialer.agent_skill_groups (agent_id, skill_group_id) values ('agent-1', 1);
select tap.throws($$insert into dialer.agent_skill_groups (agent_id, skill_group_id) values ('agent-1', 1)$$, '23505',
                  '%unique constraint "agent_skill_groups_pkey"', 'duplicate membership refused');

-- skill groups, caller numbers, dnc --------------------------------------------------------------
select tap.throws($$insert into dialer.skill_groups (id, name) values (2, 'sales')$$, '23505',
                  '%unique constraint "skill_groups_name_key"', 'duplicate skill group name refused');
select tap.throws($$insert into dialer.skill_groups (id, name) values (2, ' ')$$, '23514',
                  '%check constraint "skill_groups_name_not_blank"', 'blank skill group name refused');
select tap.throws($$insert into dialer.caller_numbers (number, state) values ('+442071234567', 3)$$, '23514',
                  '%check constraint "caller_numbers_state_1_normal_2_unpaid_4_admin_5_violation"',
                  'caller_numbers.state 3 refused');
select tap.throws($$insert into dialer.caller_numbers (number, max_concurrent) values ('+442071234567', 0)$$, '23514',
                  '%check constraint "caller_numbers_max_concurrent_at_least_1"', 'caller_numbers.max_concurrent 0 refused');
select tap.throws($$insert into dialer.caller_numbers (number, max_cps) values ('+442071234567', 0)$$, '23514',
                  '%check constraint "caller_numbers_max_cps_above_0"', 'caller_numbers.max_cps 0 refused');
select tap.throws($$insert into dialer.caller_numbers (number) values ('+44 20')$$, '23514',
                  '%check constraint "caller_numbers_number_e164_digits"', 'caller_numbers.number with a space refused');
select tap.throws($$insert into dialer.dnc (number) values ('0044-20')$$, '23514',
                  '%check constraint "dnc_number_e164_digits"', 'dnc.number with a dash refused');
insert into dialer.dnc (number) values ('+447700900001');
select tap.throws($$insert into dialer.dnc (number) values ('+447700900001')$$, '23505',
                  '%unique constraint "dnc_pkey"', 'duplicate dnc number refused');

-- attempts --------------------------------------------------------------------------------------
select tap.throws(format($$insert into dialer.attempts (callee_id, campaign_id, attempt_no, caller)
                           values (%s, %s, 0, '+442071234567')$$, :callee, :c1), '23514',
                  '%check constraint "attempts_attempt_no_at_least_1"', 'attempts.attempt_no 0 refused');
select tap.throws(format($$insert into dialer.attempts (callee_id, campaign_id, attempt_no, caller)
                           values (%s, %s, 1, '+442071234567')$$, :callee, :c1), '23505',
                  '%unique constraint "attempts_callee_id_attempt_no_key"', 'a second attempt 1 of one callee refused');
select tap.throws(format($$insert into dialer.attempts (callee_id, campaign_id, attempt_no, caller)
                           values (999, %s, 2, '+442071234567')$$, :c1), '23503',
                  '%foreign key constraint "attempts_callee_id_fkey"', 'attempt of an unknown callee refused');
select tap.throws(format($$insert into dialer.attempts (callee_id, campaign_id, attempt_no, caller)
                           values (%s, 999, 2, '+442071234567')$$, :callee), '23503',
                  '%foreign key constraint "attempts_campaign_id_fkey"', 'attempt of an unknown campaign refused');
select tap.throws(format($$insert into dialer.attempts (callee_id, campaign_id, attempt_no, caller)
                           values (%s, %s, 2, 'anonymous')$$, :callee, :c1), '23514',
                  '%check constraint "attempts_caller_e164_digits"', 'attempt with a caller that is no number refused');

-- sms_outbox ------------------------------------------------------------------------------------
create function pg_temp.sms(trig text, st text) returns text
language sql
return format($$insert into dialer.sms_outbox (attempt_id, trigger, to_number, body, state)
                values (%s, %L, '+447700900001', 'hi', %L)$$,
              (select id from dialer.attempts limit 1), trig, st);
select tap.throws(pg_temp.sms('call', 'pending'), '23514',
                  '%check constraint "sms_outbox_trigger_hangup_success_failure_ring_or_feedback"',
                  'sms_outbox.trigger call refused, the constraint lists the accepted triggers');
select tap.throws(pg_temp.sms('success', 'queued'), '23514',
                  '%check constraint "sms_outbox_state_pending_sending_sent_or_failed"',
                  'sms_outbox.state queued refused, the constraint lists the accepted states');
select tap.lives_ok(pg_temp.sms('success', 'pending'), 'a good sms_outbox row accepted');
select tap.throws(pg_temp.sms('success', 'pending'), '23505',
                  '%unique constraint "sms_outbox_attempt_id_trigger_key"', 'a second success SMS of one attempt refused');
select tap.throws(format($$insert into dialer.sms_outbox (attempt_id, trigger, to_number, body) values (999, 'ring', '123', 'x')$$),
                  '23503', '%foreign key constraint "sms_outbox_attempt_id_fkey"', 'SMS of an unknown attempt refused');
select tap.throws(format($$insert into dialer.sms_outbox (attempt_id, trigger, to_number, body) values (%s, 'ring', 'x', 'x')$$,
                         :attempt),
                  '23514', '%check constraint "sms_outbox_to_number_e164_digits"', 'SMS to a non-number refused');
select tap.throws(format($$insert into dialer.sms_outbox (attempt_id, trigger, to_number, body) values (%s, 'ring', '123', null)$$,
                         :attempt),
                  '23502', 'null value in column "body" of relation "sms_outbox"%', 'SMS without a body refused');
select tap.throws(format($$insert into dialer.sms_outbox (attempt_id, trigger, to_number, body, sender_id)
                           values (%s, 'ring', '123', 'x', %L)$$, :attempt, repeat('s', 33)),
                  '23514', '%check constraint "sms_outbox_sender_id_at_most_32_chars"', 'SMS sender id of 33 chars refused');
select tap.throws($$update dialer.sms_outbox set tries = -1$$,
                  '23514', '%check constraint "sms_outbox_tries_not_negative"', 'negative sms_outbox.tries refused');

-- every CHECK constraint is named for what it accepts, never PostgreSQL's generic *_check name
select tap.is((select string_agg(conname, ', ') from pg_constraint
                where connamespace = 'dialer'::regnamespace and contype = 'c' and conname ~ '_check\d*$'),
              null, 'no CHECK constraint in schema dialer has a generated name');

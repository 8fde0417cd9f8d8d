-- 0001_schema: the dialer tables, their constraints and the indexes the daemon's hot queries need.
--
-- Constraint names are part of the interface: PostgreSQL quotes them in its error message, so each
-- one says which field was wrong and what it accepts (campaigns_priority_1_to_5). Checks a CHECK
-- cannot phrase well (time zones, time_ranges, callers elements) live in triggers in 0002.
-- Run through sql/migrate.sh, which creates schema dialer and wraps this file in one transaction.

-- Caches pg_timezone_names: that view reads the whole zone database on every query (~20 ms), far
-- too slow to consult once per imported callee. Zones missing here are looked up in the view and
-- added (dialer.time_zone_is_known), so a tzdata upgrade needs no migration.
create table dialer.time_zone_names (
    name text primary key
);
insert into dialer.time_zone_names (name) select name from pg_timezone_names on conflict do nothing;

create table dialer.skill_groups (
    id   bigint primary key,
    name text not null
        constraint skill_groups_name_not_blank check (name ~ '\S'),
    constraint skill_groups_name_key unique (name)
);

create table dialer.agents (
    id            text primary key
        -- the id travels in NOTIFY payloads, which PostgreSQL caps at 8000 bytes
        constraint agents_id_1_to_128_chars check (char_length(id) between 1 and 128),
    name          text,
    status        text not null default 'offline'
        constraint "agents_status_free_busy_arrange_notReady_rest_offline"
        check (status in ('free', 'busy', 'arrange', 'notReady', 'rest', 'offline')),
    status_reason text,
    status_since  timestamptz not null default now()
);

create table dialer.agent_skill_groups (
    agent_id       text not null
        constraint agent_skill_groups_agent_id_fkey references dialer.agents (id) on delete cascade,
    skill_group_id bigint not null
        constraint agent_skill_groups_skill_group_id_fkey references dialer.skill_groups (id) on delete cascade,
    priority       smallint not null default 3
        constraint agent_skill_groups_priority_1_to_5 check (priority between 1 and 5),
    primary key (agent_id, skill_group_id)
);
-- pool membership is read by skill group; the primary key serves lookups by agent
create index agent_skill_groups_skill_group_idx on dialer.agent_skill_groups (skill_group_id, priority);

create table dialer.caller_numbers (
    number         text primary key
        constraint caller_numbers_number_e164_digits check (number ~ '^\+?[0-9]{3,15}$'),
    max_concurrent int not null default 10
        constraint caller_numbers_max_concurrent_at_least_1 check (max_concurrent >= 1),
    max_cps        numeric not null default 5
        constraint caller_numbers_max_cps_above_0 check (max_cps > 0),
    state          smallint not null default 1
        constraint caller_numbers_state_1_normal_2_unpaid_4_admin_5_violation check (state in (1, 2, 4, 5))
);

create table dialer.campaigns (
    id                    bigserial primary key,
    name                  text not null
        constraint campaigns_name_1_to_64_chars check (char_length(name) between 1 and 64)
        constraint campaigns_name_not_blank check (name ~ '\S'),
    mode                  text not null default 'predictive'
        constraint campaigns_mode_progressive_predictive_or_agentless
        check (mode in ('progressive', 'predictive', 'agentless')),
    status                smallint not null default 0
        constraint campaigns_status_0_to_4 check (status between 0 and 4),
    status_reason         smallint not null default 0
        constraint campaigns_status_reason_0_to_2 check (status_reason between 0 and 2),
    priority              smallint not null default 3
        constraint campaigns_priority_1_to_5 check (priority between 1 and 5),
    skill_group_id        bigint
        constraint campaigns_skill_group_id_fkey references dialer.skill_groups (id),
    callout_rate          numeric not null default 1
        constraint campaigns_callout_rate_1_to_100 check (callout_rate between 1 and 100),
    expected_abandon_rate numeric not null default 3
        constraint campaigns_expected_abandon_rate_0_to_50 check (expected_abandon_rate between 0 and 50),
    max_concurrent        int
        constraint campaigns_max_concurrent_at_least_1 check (max_concurrent >= 1),
    callers               text[] not null
        constraint campaigns_callers_not_empty check (cardinality(callers) >= 1),
    call_order            smallint not null default 1
        constraint campaigns_call_order_0_random_or_1_insertion check (call_order in (0, 1)),
    not_before            timestamptz not null default now(),
    not_after             timestamptz,
    time_zone             text not null default 'UTC',
    time_ranges           jsonb not null default '[]',
    ring_timeout_s        int not null default 30
        constraint campaigns_ring_timeout_s_15_to_120 check (ring_timeout_s between 15 and 120),
    recall_num            int not null default 0
        constraint campaigns_recall_num_0_to_10 check (recall_num between 0 and 10),
    recall_interval_min   int not null default 30
        constraint campaigns_recall_interval_min_at_least_1 check (recall_interval_min >= 1),
    recall_type           smallint not null default 1
        constraint campaigns_recall_type_0_every_or_1_failed check (recall_type in (0, 1)),
    uui                   text,
    variables             jsonb not null default '{}'
        constraint campaigns_variables_json_object check (jsonb_typeof(variables) = 'object'),
    sms_sender_id         text
        constraint campaigns_sms_sender_id_at_most_32_chars check (char_length(sms_sender_id) <= 32),
    sms_content           text
        constraint campaigns_sms_content_at_most_1000_chars check (char_length(sms_content) <= 1000),
    sms_on_hangup         boolean not null default false,
    sms_on_success        boolean not null default false,
    sms_on_failure        boolean not null default false,
    sms_on_ring           boolean not null default false,
    sms_on_feedback       boolean not null default false,
    sms_success_delay_s   int not null default 1
        constraint campaigns_sms_success_delay_s_1_to_9999 check (sms_success_delay_s between 1 and 9999),
    sms_feedback_value    text
        constraint campaigns_sms_feedback_value_one_digit_0_to_9 check (sms_feedback_value ~ '^[0-9]$'),
    created_at            timestamptz not null default now(),
    updated_at            timestamptz not null default now(),
    started_at            timestamptz,
    ended_at              timestamptz,
    constraint campaigns_name_key unique (name),
    -- an agentless campaign has no pool; every other mode needs agents to hand calls to
    constraint campaigns_skill_group_id_required_unless_agentless
        check (mode = 'agentless' or skill_group_id is not null),
    constraint campaigns_not_after_later_than_not_before
        check (not_after is null or not_after > not_before),
    -- an SMS trigger without a text would queue empty messages
    constraint campaigns_sms_content_required_when_an_sms_trigger_is_on
        check (not (sms_on_hangup or sms_on_success or sms_on_failure or sms_on_ring or sms_on_feedback)
               or coalesce(sms_content, '') <> ''),
    constraint campaigns_sms_feedback_value_required_with_sms_on_feedback
        check (not sms_on_feedback or sms_feedback_value is not null)
);
-- pools are built per skill group; also serves the foreign key when a skill group is deleted
create index campaigns_skill_group_idx on dialer.campaigns (skill_group_id);
-- the daemon loads the campaigns that are not yet ended
create index campaigns_live_idx on dialer.campaigns (status) where status in (0, 1, 2);

create table dialer.callees (
    id              bigserial primary key,
    campaign_id     bigint not null
        constraint callees_campaign_id_fkey references dialer.campaigns (id) on delete cascade,
    number          text not null
        constraint callees_number_e164_digits check (number ~ '^\+?[0-9]{3,15}$'),
    uui             text,
    variables       jsonb not null default '{}'
        constraint callees_variables_json_object check (jsonb_typeof(variables) = 'object'),
    time_zone       text,
    state           smallint not null default 0
        constraint callees_state_0_to_4 check (state between 0 and 4),
    attempts        int not null default 0
        constraint callees_attempts_not_negative check (attempts >= 0),
    next_attempt_at timestamptz,
    last_end_status text,
    -- random dialing order (campaigns.call_order = 0) without sorting the whole list per claim
    order_key       double precision not null default random(),
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    constraint callees_campaign_id_number_key unique (campaign_id, number),
    -- a pending retry without a time would never be claimed again
    constraint callees_next_attempt_at_required_when_pending_retry
        check (state <> 4 or next_attempt_at is not null)
);
-- The claim: WHERE campaign_id = $1 AND (state = 0 OR (state = 4 AND next_attempt_at <= now()))
-- ORDER BY id (or order_key) LIMIT n FOR UPDATE SKIP LOCKED. Only dialable rows are indexed, so
-- the indexes stay as small as the work left, and a scan in order stops after n rows.
create index callees_dialable_by_id_idx on dialer.callees (campaign_id, id) where state in (0, 4);
create index callees_dialable_by_order_key_idx on dialer.callees (campaign_id, order_key) where state in (0, 4);
-- callees in flight: reconciliation after a crash and "is every callee final" for completion
create index callees_calling_idx on dialer.callees (campaign_id, id) where state = 3;
-- per-campaign counts by state (campaign_progress), index-only when the visibility map allows
create index callees_campaign_state_idx on dialer.callees (campaign_id, state);

create table dialer.dnc (
    number     text primary key
        -- same spelling rule as callees.number so an entry can match a callee exactly
        constraint dnc_number_e164_digits check (number ~ '^\+?[0-9]{3,15}$'),
    reason     text,
    created_at timestamptz not null default now()
);

create table dialer.attempts (
    id             bigserial primary key,
    callee_id      bigint not null
        constraint attempts_callee_id_fkey references dialer.callees (id) on delete cascade,
    campaign_id    bigint not null
        constraint attempts_campaign_id_fkey references dialer.campaigns (id) on delete cascade,
    attempt_no     int not null
        constraint attempts_attempt_no_at_least_1 check (attempt_no >= 1),
    caller         text not null
        constraint attempts_caller_e164_digits check (caller ~ '^\+?[0-9]{3,15}$'),
    skill_group_id bigint,
    instance       text,
    created_at     timestamptz not null default now(),
    dialed_at      timestamptz,
    ringing_at     timestamptz,
    answered_at    timestamptz,
    connected_at   timestamptz,
    ended_at       timestamptz,
    end_status     text,
    success        boolean,
    agent_id       text,
    hangup_side    text,
    keys           text,
    session_id     text,
    last_seq       int not null default 0,
    updated_at     timestamptz not null default now(),
    constraint attempts_callee_id_attempt_no_key unique (callee_id, attempt_no)
);
-- per-campaign history and the time windows of the views; serves the campaign foreign key too
create index attempts_campaign_created_idx on dialer.attempts (campaign_id, created_at);
-- calls in flight: reconciliation after a restart and in-flight counts; tiny, calls end fast
create index attempts_in_flight_idx on dialer.attempts (campaign_id, created_at) where ended_at is null;
-- CDR pushes identify a call by the carrier's session id
create index attempts_session_idx on dialer.attempts (session_id) where session_id is not null;

create table dialer.sms_outbox (
    id          bigserial primary key,
    attempt_id  bigint not null
        constraint sms_outbox_attempt_id_fkey references dialer.attempts (id) on delete cascade,
    -- copied from the attempt (filled in when omitted) so the outbox can be read without a join
    campaign_id bigint not null,
    callee_id   bigint not null,
    trigger     text not null
        constraint sms_outbox_trigger_hangup_success_failure_ring_or_feedback
        check (trigger in ('hangup', 'success', 'failure', 'ring', 'feedback')),
    to_number   text not null
        constraint sms_outbox_to_number_e164_digits check (to_number ~ '^\+?[0-9]{3,15}$'),
    sender_id   text
        constraint sms_outbox_sender_id_at_most_32_chars check (char_length(sender_id) <= 32),
    body        text not null,
    due_at      timestamptz not null default now(),
    state       text not null default 'pending'
        constraint sms_outbox_state_pending_sending_sent_or_failed
        check (state in ('pending', 'sending', 'sent', 'failed')),
    tries       int not null default 0
        constraint sms_outbox_tries_not_negative check (tries >= 0),
    last_error  text,
    sent_at     timestamptz,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now(),
    constraint sms_outbox_attempt_id_trigger_key unique (attempt_id, trigger)
);
-- the dispatcher's queue: due rows, and rows a crashed sender left in 'sending'
create index sms_outbox_queue_idx on dialer.sms_outbox (due_at) where state in ('pending', 'sending');

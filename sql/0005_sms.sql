-- 0005_sms: what the SMS dispatcher needs beyond 0001's dialer.sms_outbox: a lease on rows being
-- sent, so that a crashed sender's rows are sent again, and per-campaign counters for dashboards.

-- A row in 'sending' belongs to the dispatcher that claimed it until lease_until; past that (the
-- dispatcher died mid-send) any dispatcher claims it again, and the gateway's Idempotency-Key
-- (the row id) makes the repeat harmless. claimed_by is the instance_name: a restarted dialerd
-- takes back its own rows at once instead of waiting out the lease.
alter table dialer.sms_outbox
    add column claimed_at  timestamptz,
    add column claimed_by  text,
    add column lease_until timestamptz;

comment on column dialer.sms_outbox.due_at is
    'when the row may next be tried: the trigger''s due time (success: the call''s end + sms_success_delay_s), pushed out by back-off after a failed try';
comment on column dialer.sms_outbox.tries is 'sends started (claims); a claim counts even if the dispatcher died before an answer';
comment on column dialer.sms_outbox.claimed_at is 'when the current or last try was claimed';
comment on column dialer.sms_outbox.claimed_by is 'instance_name of the dialerd that claimed the current or last try';
comment on column dialer.sms_outbox.lease_until is 'state sending: another dispatcher may claim the row again after this';

-- Counters per campaign and trigger come from this index alone (index-only scans while the
-- visibility map is current), so a dashboard polling one campaign reads only its rows.
create index sms_outbox_campaign_trigger_state_idx on dialer.sms_outbox (campaign_id, trigger, state);

create view dialer.sms_stats as
select campaign_id,
       trigger,
       count(*) filter (where state = 'pending')::bigint as pending,
       count(*) filter (where state = 'sending')::bigint as sending,
       count(*) filter (where state = 'sent')::bigint    as sent,
       count(*) filter (where state = 'failed')::bigint  as failed
  from dialer.sms_outbox
 group by campaign_id, trigger;

comment on view dialer.sms_stats is
    'SMS outbox rows per campaign and trigger by state (pending, sending, sent, failed)';

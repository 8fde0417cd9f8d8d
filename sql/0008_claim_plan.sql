-- 0008_claim_plan: the claim's choice of callees, with one plan whatever the statistics say.
--
-- A list loaded by bulk insert has no statistics (or stale ones: every callee in state 0) until
-- autovacuum analyzes the table, and dialerd's claim is a prepared statement whose generic plan
-- is kept per connection. With such statistics the planner took callees_pkey and walked the
-- campaign's dialed rows to filter them on state (20 ms a claim of 200 on 300 000 callees,
-- hundreds of ms on a million), or read every dialable row by bitmap and sorted them all. The
-- claim has one good plan: the partial index in the claim's order (0001:
-- callees_dialable_by_id_idx or callees_dialable_by_order_key_idx), stopped after n rows.
--
-- So the choice lives in this function, planned under settings that leave no other plan:
--   * campaign_id is bounded by a range, not "= campaign": with an equality the planner knows
--     campaign_id is constant, drops it from ORDER BY campaign_id, id, and callees_pkey then
--     delivers that order too. Over a range only the partial indexes deliver (campaign_id, id)
--     and (campaign_id, order_key);
--   * sorts are off, so no plan may read the rows first and order them after; sequential and
--     bitmap scans are off, so the dnc and attempts lookups go by index even when a table
--     looked empty when the plan was made (plans are cached while the tables grow);
--   * jit is off: its compile time (hundreds of ms) follows cost estimates, which are what
--     cannot be trusted here.
-- Whether a callee had a successful attempt is looked up here too, through a LATERAL subquery:
-- as an EXISTS in the caller's statement the planner may hash all successful attempts once per
-- claim, which it prefers while attempts is small and keeps in its cached plan as it grows.
-- ROWS 200 (dialerd's default claim_batch_max) keeps the estimates of the statement around the
-- call (the UPDATE by primary key, the attempts INSERT) near the real batch.
--
-- The function is volatile (it locks rows), so its SELECT takes a snapshot after the calling
-- statement's. A callee it locks that the caller's snapshot cannot see yet (inserted in
-- between) is not updated by the caller, so it is not claimed and only stays locked until
-- commit; a callee changed in between is locked in its newest version, the one the caller's
-- UPDATE then writes.

-- The next n dialable callees of a campaign, locked (FOR UPDATE SKIP LOCKED): state 0, or 4 once
-- next_attempt_at is due; never a number on dialer.dnc; when open_zones is not null, only
-- callees whose zone (their own, else campaign_tz) is in it. The first n in id order, or in
-- order_key order when by_order_key (campaigns.call_order 0, random); returned in no
-- particular order. prior_success: one of the callee's attempts so far succeeded.
create function dialer.claimable_callees(campaign bigint, n int, by_order_key boolean,
                                         campaign_tz text, open_zones text[])
returns table (id bigint, prior_success boolean)
language plpgsql volatile
rows 200
set enable_sort = off
set enable_incremental_sort = off
set enable_seqscan = off
set enable_bitmapscan = off
set jit = off
as $$
begin
    -- Two statements, not one ORDER BY CASE: each must match its index's order exactly.
    if by_order_key then
        return query
        select c.id, coalesce(ps.success, false) from dialer.callees c
          left join lateral (select p.success from dialer.attempts p
                              where p.callee_id = c.id and p.success limit 1) ps on true
         where c.campaign_id >= campaign and c.campaign_id <= campaign
           and c.state in (0, 4)
           and (c.state = 0 or c.next_attempt_at <= now())
           and not exists (select 1 from dialer.dnc d where d.number = c.number)
           and (open_zones is null or coalesce(c.time_zone, campaign_tz) = any (open_zones))
         order by c.campaign_id, c.order_key
         limit n
           for update of c skip locked;
    else
        return query
        select c.id, coalesce(ps.success, false) from dialer.callees c
          left join lateral (select p.success from dialer.attempts p
                              where p.callee_id = c.id and p.success limit 1) ps on true
         where c.campaign_id >= campaign and c.campaign_id <= campaign
           and c.state in (0, 4)
           and (c.state = 0 or c.next_attempt_at <= now())
           and not exists (select 1 from dialer.dnc d where d.number = c.number)
           and (open_zones is null or coalesce(c.time_zone, campaign_tz) = any (open_zones))
         order by c.campaign_id, c.id
         limit n
           for update of c skip locked;
    end if;
end;
$$;
comment on function dialer.claimable_callees(bigint, int, boolean, text, text[]) is
    'dialerd''s claim: the next n dialable callees of a campaign, locked, by the partial dialable indexes whatever the statistics';

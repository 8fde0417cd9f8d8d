-- 0009_claim_update: the claim's write to the callees it picked, with one plan whatever the
-- statistics say.
--
-- 0008 made the choice of callees plan-robust, but the UPDATE of the rows picked stayed in
-- dialerd's statement: "UPDATE dialer.callees ... FROM picked WHERE c.id = picked.id". Its
-- generic plan follows the statistics too, and after a bulk load (callees that look like a few
-- pages, or none) the planner hashed the picked rows and read the whole table sequentially to
-- find them: 20-27 ms a claim of 200 on 91 000 callees until autovacuum analyzed the table, and
-- more on a bigger list. The picked rows are a few hundred ids, and the one good plan is to fetch
-- each by callees_pkey.
--
-- So the write moves into a function planned under settings that leave no other plan: no
-- sequential or bitmap scan, no hash or merge join (a nested loop over the ids, each fetched by
-- the primary key), and jit off. Both statements run in the function, under one snapshot each
-- (READ COMMITTED takes one per statement), so a row the choice locked is written in the version
-- it locked.

-- Claims the next n dialable callees of a campaign (as dialer.claimable_callees chooses and
-- locks them): each is set to state 3 (calling) with attempts + 1, and returned with what
-- dialing it needs. attempts is the new count; prior_success: one of its attempts so far
-- succeeded. Rows come in no particular order.
create function dialer.claim_callees(campaign bigint, n int, by_order_key boolean,
                                     campaign_tz text, open_zones text[])
returns table (id bigint, number text, attempts int, uui text, variables jsonb, time_zone text,
               prior_success boolean)
language plpgsql volatile
rows 200
set enable_seqscan = off
set enable_bitmapscan = off
set enable_hashjoin = off
set enable_mergejoin = off
set enable_sort = off
set enable_incremental_sort = off
set jit = off
as $$
#variable_conflict use_column
declare
    ids bigint[];
    succ boolean[];
begin
    select array_agg(p.id), array_agg(p.prior_success) into ids, succ
      from dialer.claimable_callees(campaign, n, by_order_key, campaign_tz, open_zones) p;
    if ids is null then
        return;
    end if;
    return query
    with upd as (
        update dialer.callees c set state = 3, attempts = c.attempts + 1
          from unnest(ids, succ) as p (id, prior_success)
         where c.id = p.id
        returning c.id, c.number, c.attempts, c.uui, c.variables, c.time_zone, p.prior_success
    )
    select * from upd;
end;
$$;
comment on function dialer.claim_callees(bigint, int, boolean, text, text[]) is
    'dialerd''s claim: the next n dialable callees of a campaign, set to calling (state 3, attempts + 1), fetched by primary key whatever the statistics';

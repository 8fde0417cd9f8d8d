-- 12_claim: dialer.claimable_callees (0008) picks the callees dialerd's claim may dial, locks them,
-- skips those another session holds, and reads them by the partial dialable indexes whatever
-- the statistics say (none after a bulk insert, or stale ones); dialer.claim_callees (0009) sets
-- them to calling and fetches them by primary key, never by a sequential scan.

-- Statistics stay as this file makes them.
alter table dialer.callees set (autovacuum_enabled = off);
alter table dialer.attempts set (autovacuum_enabled = off);

insert into dialer.campaigns (name, mode, max_concurrent, callers)
values ('a', 'agentless', 10, '{123}'), ('b', 'agentless', 10, '{123}'),
       ('p', 'agentless', 10, '{123}'), ('q', 'agentless', 10, '{123}');
select id as a from dialer.campaigns where name = 'a' \gset
select id as b from dialer.campaigns where name = 'b' \gset
select id as p from dialer.campaigns where name = 'p' \gset
select id as q from dialer.campaigns where name = 'q' \gset

-- Campaign a: a callee of each kind, labelled a<last digit>; campaign b's between them in id order.
insert into dialer.dnc (number) values ('440000000005');
insert into dialer.callees (campaign_id, number, state, attempts, next_attempt_at, time_zone, order_key)
values (:a, '440000000001', 0, 0, null, null, 0.40),                          -- initial
       (:b, '450000000001', 0, 0, null, null, 0.05),
       (:a, '440000000002', 1, 1, null, null, 0.01),                          -- answered
       (:a, '440000000003', 4, 1, now() - interval '1 minute', null, 0.30),   -- retry due
       (:a, '440000000004', 4, 1, now() + interval '1 hour', null, 0.02),     -- retry later
       (:a, '440000000005', 0, 0, null, null, 0.03),                          -- on dnc
       (:a, '440000000006', 0, 0, null, 'Asia/Tokyo', 0.20),                  -- its own zone
       (:a, '440000000007', 3, 1, null, null, 0.04),                          -- calling
       (:b, '450000000002', 0, 0, null, null, 0.06),
       (:a, '440000000008', 2, 1, null, null, 0.05),                          -- unanswered
       (:a, '440000000009', 0, 0, null, null, 0.10),                          -- initial
       (:a, '440000000010', 4, 1, now() - interval '1 minute', null, 0.50);   -- retry due
-- a3's first attempt succeeded (recall_type 0 recalls it anyway), a0's failed
insert into dialer.attempts (callee_id, campaign_id, attempt_no, caller, success)
select id, campaign_id, 1, '123', number = '440000000003'
  from dialer.callees where number in ('440000000003', '440000000010');

-- The labels of what claimable_callees returns, in id order; prior successes marked with '*'.
create function pg_temp.claimed(campaign bigint, n int, by_order_key boolean, tz text, zones text[])
returns text
language sql
as $$
select string_agg(k.name || right(c.number, 1) || case when x.prior_success then '*' else '' end,
                  ',' order by c.id)
  from dialer.claimable_callees(campaign, n, by_order_key, tz, zones) x
  join dialer.callees c on c.id = x.id
  join dialer.campaigns k on k.id = c.campaign_id
$$;

select tap.is(pg_temp.claimed(:a, 10, false, 'UTC', null), 'a1,a3*,a6,a9,a0',
              'initial callees and due retries of the campaign, with prior success; not answered, unanswered, calling, later retries, dnc, other campaigns');
select tap.is(pg_temp.claimed(:a, 2, false, 'UTC', null), 'a1,a3*', 'in insertion order: the first n by id');
select tap.is(pg_temp.claimed(:a, 2, true, 'UTC', null), 'a6,a9',
              'in random order: the n lowest order_key among the dialable (others lower are not dialable)');
select tap.is(pg_temp.claimed(:a, 10, false, 'UTC', '{UTC}'), 'a1,a3*,a9,a0',
              'open zones {UTC}: callees without a zone (the campaign''s UTC), not Asia/Tokyo');
select tap.is(pg_temp.claimed(:a, 10, false, 'UTC', '{Asia/Tokyo}'), 'a6', 'open zones {Asia/Tokyo}: only the Tokyo callee');
select tap.is(pg_temp.claimed(:a, 10, false, 'Asia/Tokyo', '{Asia/Tokyo}'), 'a1,a3*,a6,a9,a0',
              'a campaign in Asia/Tokyo: its callees without a zone are in Tokyo too');
select tap.is(pg_temp.claimed(:a, 10, false, 'UTC', '{}'), null, 'no zone open: nothing');
select tap.is(pg_temp.claimed(:a, 0, false, 'UTC', null), null, 'n = 0: nothing');

-- claim_callees: what claimable_callees picks, written (state 3, attempts + 1) and returned
-- with what dialing needs; the rest of the campaign untouched.
begin;
create temp table claimed_rows on commit drop as
select * from dialer.claim_callees(:a, 10, false, 'UTC', null);
select tap.is((select string_agg(right(x.number, 1) || ':' || x.attempts || coalesce(':' || x.time_zone, '')
                             || case when x.prior_success then '*' else '' end, ',' order by x.id)
                 from claimed_rows x),
              '1:1,3:2*,6:1:Asia/Tokyo,9:1,0:2',
              'claim_callees returns the callees claimable_callees picks, with the new attempt count, zone and prior success');
select tap.is((select string_agg(right(c.number, 1) || ':' || c.state || ':' || c.attempts, ',' order by c.id)
                 from dialer.callees c where c.campaign_id = :a),
              '1:3:1,2:1:1,3:3:2,4:4:1,5:0:0,6:3:1,7:3:1,8:2:1,9:3:1,0:3:2',
              'claim_callees sets the claimed to calling with attempts + 1 and leaves every other callee as it was');
select tap.is((select count(*) from dialer.claim_callees(:a, 10, false, 'UTC', null)), 0::bigint,
              'a second claim finds nothing left to claim');
rollback;
select tap.is((select count(*) from dialer.claim_callees(:a, 0, false, 'UTC', null)), 0::bigint,
              'claim_callees with n = 0 claims nothing');

-- Locks: the rows returned are locked by this transaction; another session skips them at once.
begin;
create temp table held on commit drop as select id from dialer.claimable_callees(:a, 2, false, 'UTC', null);
select tap.is((select string_agg(right(c.number, 1), ',' order by c.id)
                 from dialer.callees c
                where c.campaign_id = :a and c.xmax = xid(pg_current_xact_id())),
              '1,3', 'the callees returned are locked (FOR UPDATE) by the calling transaction');
\set other `PGOPTIONS='-c lock_timeout=5s -c statement_timeout=10s' psql -X -At -d :'DBNAME' -c "select string_agg(right(c.number, 1), ',' order by c.id) from dialer.claimable_callees(:a, 10, false, 'UTC', null) x join dialer.callees c on c.id = x.id" 2>&1`
select tap.is(:'other', '6,9,0', 'another session skips the locked callees without waiting (SKIP LOCKED) and takes the rest');
rollback;

-- ---- Plans -----------------------------------------------------------------------------------
-- Counted by the statistics of this backend: which indexes a call scans and how many entries it
-- reads. The counts of the current transaction are not reset between transactions until the
-- backend reports them, so each check counts from a mark set in its own transaction.

create temp table mark (rel text primary key, scans bigint not null, reads bigint not null);

-- Marks the counts of the relations below.
create function pg_temp.mark() returns void
language sql
as $$
delete from mark;
insert into mark
select r, pg_stat_get_xact_numscans(('dialer.' || r)::regclass),
       pg_stat_get_xact_tuples_returned(('dialer.' || r)::regclass)
  from unnest(array['callees', 'attempts', 'callees_pkey', 'callees_dialable_by_id_idx',
                    'callees_dialable_by_order_key_idx']) r;
$$;

-- "scans/read" of a relation of dialer since the mark: for an index, the scans of it and the
-- entries read from it; for a table, its sequential scans and the rows they read.
create function pg_temp.since_mark(name text) returns text
language sql
as $$
select (pg_stat_get_xact_numscans(('dialer.' || name)::regclass) - m.scans) || '/'
       || (pg_stat_get_xact_tuples_returned(('dialer.' || name)::regclass) - m.reads)
  from mark m where m.rel = name
$$;

-- n callees of a campaign by bulk insert, numbers prefix || 8 digits
create function pg_temp.bulk(campaign bigint, n int, prefix text) returns void
language sql
as $$
insert into dialer.callees (campaign_id, number)
select campaign, prefix || lpad(g::text, 8, '0') from generate_series(1, n) g
$$;

-- Campaign p: 20 000 callees by bulk insert, 18 000 of them since dialed; never analyzed. VACUUM
-- only clears the dead index entries, so that the counts below are the claim's own reads.
select pg_temp.bulk(:p, 20000, '4411');
update dialer.callees set state = 2, attempts = 1
 where campaign_id = :p and id < (select min(id) + 18000 from dialer.callees where campaign_id = :p);
vacuum dialer.callees;
select tap.is((select count(*) from pg_stats where schemaname = 'dialer' and tablename = 'callees'), 0::bigint,
              'no statistics on callees after the bulk insert');

begin;
select pg_temp.mark();
select tap.is((select count(*) from dialer.claimable_callees(:p, 200, false, 'UTC', null)), 200::bigint,
              'no statistics, insertion order: 200 callees');
select tap.is(pg_temp.since_mark('callees_dialable_by_id_idx'), '1/200',
              'no statistics, insertion order: one scan of callees_dialable_by_id_idx, 200 entries read');
select tap.is(pg_temp.since_mark('callees_pkey') || ' ' || pg_temp.since_mark('callees'), '0/0 0/0',
              'no statistics, insertion order: callees_pkey not scanned, no sequential scan');
rollback;

begin;
select pg_temp.mark();
select tap.is((select count(*) from dialer.claimable_callees(:p, 200, true, 'UTC', null)), 200::bigint,
              'no statistics, random order: 200 callees');
select tap.is(pg_temp.since_mark('callees_dialable_by_order_key_idx'), '1/200',
              'no statistics, random order: one scan of callees_dialable_by_order_key_idx, 200 entries read');
select tap.is(pg_temp.since_mark('callees_pkey') || ' ' || pg_temp.since_mark('callees'), '0/0 0/0',
              'no statistics, random order: callees_pkey not scanned, no sequential scan');
rollback;

begin;
select pg_temp.mark();
select tap.is((select count(*) from dialer.claim_callees(:p, 200, false, 'UTC', null) where attempts = 1),
              200::bigint, 'no statistics: claim_callees claims 200 callees');
select tap.is(pg_temp.since_mark('callees'), '0/0',
              'no statistics: claim_callees writes them without a sequential scan of callees');
select tap.is(split_part(pg_temp.since_mark('callees_pkey'), '/', 2), '200',
              'no statistics: claim_callees fetches the 200 by callees_pkey');
rollback;

-- Campaign q: p's list gone, then 20 000 callees analyzed while all were waiting, 18 000 of them
-- since dialed: the statistics say most of q is dialable and that callees_pkey in id order finds
-- 200 soon (the plain claim query takes it and reads 18 000 rows; PostgreSQL 15).
delete from dialer.callees where campaign_id = :p;
select pg_temp.bulk(:q, 20000, '4422');
analyze dialer.callees;
update dialer.callees set state = 1, attempts = 1
 where campaign_id = :q and id < (select min(id) + 18000 from dialer.callees where campaign_id = :q);
vacuum dialer.callees;

select string_agg(id::text, ',' order by id) as first200
  from (select id from dialer.callees where campaign_id = :q and state = 0 order by id limit 200) f \gset
begin;
select pg_temp.mark();
select tap.is((select string_agg(x.id::text, ',' order by x.id)
                 from dialer.claimable_callees(:q, 200, false, 'UTC', null) x),
              :'first200', 'stale statistics, insertion order: the first 200 waiting callees of q');
select tap.is(pg_temp.since_mark('callees_dialable_by_id_idx'), '1/200',
              'stale statistics, insertion order: one scan of callees_dialable_by_id_idx, 200 entries read');
select tap.is(pg_temp.since_mark('callees_pkey') || ' ' || pg_temp.since_mark('callees'), '0/0 0/0',
              'stale statistics, insertion order: callees_pkey not scanned, no sequential scan');
rollback;

begin;
select pg_temp.mark();
select tap.is((select count(*) from dialer.claimable_callees(:q, 200, true, 'UTC', null)), 200::bigint,
              'stale statistics, random order: 200 callees');
select tap.is(pg_temp.since_mark('callees_dialable_by_order_key_idx'), '1/200',
              'stale statistics, random order: one scan of callees_dialable_by_order_key_idx, 200 entries read');
rollback;

begin;
select pg_temp.mark();
select tap.is((select count(*) from dialer.claim_callees(:q, 200, false, 'UTC', null) where attempts = 1),
              200::bigint, 'stale statistics: claim_callees claims 200 callees');
select tap.is(pg_temp.since_mark('callees'), '0/0',
              'stale statistics: claim_callees writes them without a sequential scan of callees');
select tap.is(split_part(pg_temp.since_mark('callees_pkey'), '/', 2), '200',
              'stale statistics: claim_callees fetches the 200 by callees_pkey');
rollback;

-- Attempts analyzed while nearly empty: a plan made then would read the whole table once per
-- callee, and keep doing so from the plan cache as the table grows.
vacuum analyze dialer.attempts;
begin;
select pg_temp.mark();
select tap.is((select count(*) from dialer.claimable_callees(:q, 200, false, 'UTC', null)), 200::bigint,
              'attempts analyzed nearly empty: 200 callees');
select tap.is(pg_temp.since_mark('attempts'), '0/0',
              'attempts analyzed nearly empty: the prior-success lookups do not scan attempts sequentially');
rollback;

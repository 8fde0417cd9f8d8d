-- 0007_leases: several dialerd instances on one database (DESIGN §7). Each pool of agents
-- ('sg:<skill group id>') and each agentless campaign ('camp:<campaign id>') is dialed for by the
-- one instance that holds its lease row; instances say they are alive through dialer.instances.
--
-- The rules the daemon's statements follow (src/store.c, STORE_LEASE_RENEW):
--   * a lease is taken only when it does not exist or has expired (database clock), renewed only
--     by its owner, and deleted by its owner when it lets the pool go;
--   * a claim of callees commits only while its instance holds the pool's unexpired lease, so a
--     paused, partitioned or slow instance cannot dial for a pool another instance took over;
--   * an instance bids for free pools up to its fair share (pools wanted / live instances,
--     rounded up) and hands pools above it over after their calls are placed and answered;
--   * attempts left in flight by an instance whose heartbeat is older than its lease time are
--     reconciled by an instance alive, after the same ring-timeout grace as its own.

create table dialer.instances (
    name         text primary key
        constraint instances_name_1_to_128_chars check (length(name) between 1 and 128),
    pid          int,
    host         text,
    lease_ms     int not null constraint instances_lease_ms_positive check (lease_ms > 0),
    started_at   timestamptz not null default now(),
    heartbeat_at timestamptz not null default now()
);
comment on table dialer.instances is 'dialerd instances: one row per instance_name, refreshed with every lease renewal, deleted at a clean stop';
comment on column dialer.instances.lease_ms is 'the instance''s lease time: it counts as dead once heartbeat_at is older than this';

create table dialer.leases (
    pool         text primary key
        constraint leases_pool_sg_or_camp_id check (pool ~ '^(sg|camp):[0-9]+$'),
    owner        text not null,
    expires_at   timestamptz not null,
    acquired_at  timestamptz not null default now(),
    renewed_at   timestamptz not null default now(),
    takeovers    bigint not null default 0
);
comment on table dialer.leases is 'which dialerd instance dials for a pool: sg:<skill_group_id> or camp:<agentless campaign id>';
comment on column dialer.leases.takeovers is 'times the pool changed hands after its lease expired (an instance died or lost the database)';

create index leases_owner on dialer.leases (owner);

-- The pool an attempt was dialed for, in the leases' naming.
create function dialer.attempt_pool(skill_group_id bigint, campaign_id bigint)
returns text language sql immutable parallel safe as $$
    select case when skill_group_id is null then 'camp:' || campaign_id
                else 'sg:' || skill_group_id end
$$;

-- Whether an instance is alive: a heartbeat newer than its own lease time.
create function dialer.instance_alive(inst text)
returns boolean language sql stable as $$
    select exists (select 1 from dialer.instances i
                    where i.name = inst
                      and i.heartbeat_at > now() - make_interval(secs => i.lease_ms / 1000.0))
$$;

-- For dashboards and operators: who dials for what, and for how much longer.
create view dialer.lease_status as
select l.pool, l.owner, l.expires_at,
       greatest(0, round(extract(epoch from (l.expires_at - now())) * 1000))::bigint as remaining_ms,
       l.expires_at > now() as valid,
       l.acquired_at, l.renewed_at, l.takeovers,
       i.heartbeat_at as owner_heartbeat_at,
       coalesce(dialer.instance_alive(l.owner), false) as owner_alive
  from dialer.leases l left join dialer.instances i on i.name = l.owner;
comment on view dialer.lease_status is 'pool leases with the time left and whether the owner instance is alive';

-- 0004_rules: what the campaign rules need from the database: zone clocks for calling windows,
-- and a lookup of callees by number for do-not-call sweeps.

-- Seconds since local midnight in each zone at `at`. The daemon decides windows in C from these
-- numbers, so every zone rule (daylight saving, historic offsets) stays PostgreSQL's.
-- Fractions are kept: rounding would open a window up to half a second early.
create function dialer.zone_seconds(zones text[], at timestamptz)
returns table (zone text, sod float8)
language sql stable
as $$
    select z, extract(epoch from (at at time zone z)::time)::float8
      from unnest(zones) as z
$$;

-- A number added to dialer.dnc is taken out of every waiting callee list at once.
create index callees_number_idx on dialer.callees (number) where state in (0, 4);

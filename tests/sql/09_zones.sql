-- 09_zones: dialer.zone_seconds gives the local second of the day, daylight saving included.

-- Europe/London: spring forward 2026-03-29 01:00 UTC (23-hour day), fall back 2026-10-25 01:00 UTC
-- (25-hour day).
select tap.is((select sod from dialer.zone_seconds('{Europe/London}', '2026-03-29 00:59:59+00')),
              59 * 60 + 59.0, 'London, spring: 00:59:59 UTC is 00:59:59 GMT');
select tap.is((select sod from dialer.zone_seconds('{Europe/London}', '2026-03-29 01:00:00+00')),
              2 * 3600, 'London, spring: 01:00:00 UTC is 02:00:00 BST (01:xx never happens)');
select tap.is((select sod from dialer.zone_seconds('{Europe/London}', '2026-03-29 08:30:00+00')),
              9 * 3600 + 30 * 60, 'London, 23-hour day: 08:30 UTC is 09:30 local, inside a 09:00 window');
select tap.is((select sod from dialer.zone_seconds('{Europe/London}', '2026-10-25 00:59:59+00')),
              3600 + 59 * 60 + 59, 'London, autumn: 00:59:59 UTC is 01:59:59 BST');
select tap.is((select sod from dialer.zone_seconds('{Europe/London}', '2026-10-25 01:00:00+00')),
              3600, 'London, autumn: 01:00:00 UTC is 01:00:00 GMT again (the hour repeats)');
select tap.is((select sod from dialer.zone_seconds('{Europe/London}', '2026-10-25 08:30:00+00')),
              8 * 3600 + 30 * 60, 'London, 25-hour day: 08:30 UTC is 08:30 local, outside a 09:00 window');

-- America/New_York: spring forward 2026-03-08 07:00 UTC, fall back 2026-11-01 06:00 UTC.
select tap.is((select sod from dialer.zone_seconds('{America/New_York}', '2026-03-08 06:59:59+00')),
              3600 + 59 * 60 + 59, 'New York, spring: 06:59:59 UTC is 01:59:59 EST');
select tap.is((select sod from dialer.zone_seconds('{America/New_York}', '2026-03-08 07:00:00+00')),
              3 * 3600, 'New York, spring: 07:00:00 UTC is 03:00:00 EDT');
select tap.is((select sod from dialer.zone_seconds('{America/New_York}', '2026-11-01 05:59:59+00')),
              3600 + 59 * 60 + 59, 'New York, autumn: 05:59:59 UTC is 01:59:59 EDT');
select tap.is((select sod from dialer.zone_seconds('{America/New_York}', '2026-11-01 06:00:00+00')),
              3600, 'New York, autumn: 06:00:00 UTC is 01:00:00 EST');
select tap.is((select sod from dialer.zone_seconds('{America/New_York}', '2026-11-01 14:00:00+00')),
              9 * 3600, 'New York, 25-hour day: 14:00 UTC is 09:00 local');

-- Southern hemisphere and a half-hour offset without daylight saving.
select tap.is((select sod from dialer.zone_seconds('{Australia/Sydney}', '2026-04-04 15:59:59+00')),
              2 * 3600 + 59 * 60 + 59, 'Sydney, autumn: 15:59:59 UTC is 02:59:59 AEDT');
select tap.is((select sod from dialer.zone_seconds('{Australia/Sydney}', '2026-04-04 16:00:00+00')),
              2 * 3600, 'Sydney, autumn: 16:00:00 UTC is 02:00:00 AEST');
select tap.is((select sod from dialer.zone_seconds('{Asia/Kolkata}', '2026-06-01 03:30:00+00')),
              9 * 3600, 'Kolkata (+05:30): 03:30 UTC is 09:00');

-- Several zones at once, in order, one row each.
select tap.is((select array_agg(zone || '=' || sod order by zone)
                 from dialer.zone_seconds('{UTC,Asia/Tokyo}', '2026-06-01 00:00:00+00')),
              '{Asia/Tokyo=32400,UTC=0}'::text[], 'several zones in one call');

-- Fractions of a second are kept, not rounded up into the next second.
select tap.is((select sod from dialer.zone_seconds('{UTC}', '2026-06-01 08:59:59.8+00')),
              32399.8::float8, '08:59:59.8 stays before 09:00:00');


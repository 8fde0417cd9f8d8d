-- The role of Grafana's data source: SELECT on the four dashboard views and nothing else.
-- The views read the tables with their owner's rights, so the role needs no table privilege,
-- and Grafana (which runs whatever SQL a dashboard editor types) can read only what the views
-- show. Run it as the owner of schema dialer, once per database; it can run again.
--
--   psql "$DIALER_DATABASE_URL" -f deploy/grafana/dashboard_role.sql
--
-- Then give Grafana a login in the role (docs/dashboards.md):
--
--   create role grafana login password '...' in role dialer_dashboard;
--   alter role grafana set statement_timeout = '5s';

do $$
begin
    if not exists (select from pg_roles where rolname = 'dialer_dashboard') then
        create role dialer_dashboard nologin;
    end if;
end;
$$;

grant usage on schema dialer to dialer_dashboard;
grant select on dialer.campaign_progress, dialer.agent_pool, dialer.call_latency, dialer.campaign_hourly
    to dialer_dashboard;

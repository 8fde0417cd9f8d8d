-- Least-privilege roles for the dialer schema (docs/operations.md, "Roles and grants").
--
--   psql -v app_role=dialerd -v readonly_role=dialer_readonly -f roles.sql
--
-- Run it as the owner of the schema (the role that runs migrate.sh), after the migrations, and
-- again after every upgrade: it is idempotent, and a migration that adds a table the daemon
-- writes needs its grant. Roles that do not exist yet are created NOLOGIN; give them a login
-- afterwards (ALTER ROLE dialerd LOGIN PASSWORD '...'), or use peer / certificate
-- authentication in pg_hba.conf.
--
-- app_role (default dialerd) is what dialerd connects as: exactly the privileges the daemon
-- uses, its REST API and the triggers its statements fire (which run with its rights).
-- tests/e2e/install.sh runs the installed dialerd as this role through dials, call events,
-- SMS and every REST route, so a missing grant fails there first.
-- readonly_role (default dialer_readonly) is for dashboards and reports: SELECT on every
-- table and view of the schema, now and (through default privileges) after later migrations.

\set ON_ERROR_STOP 1
\if :{?app_role}
\else
\set app_role dialerd
\endif
\if :{?readonly_role}
\else
\set readonly_role dialer_readonly
\endif

select format('create role %I nologin', r)
  from unnest(array[:'app_role', :'readonly_role']) r
 where not exists (select 1 from pg_roles where rolname = r) \gexec

-- Nothing reaches the schema by default.
revoke all on schema dialer from public;

-- dialerd -----------------------------------------------------------------------------------
grant usage on schema dialer to :"app_role";

-- Reads: campaigns, callees, agents and their skill groups, caller lines, do-not-call numbers,
-- attempts (reconciliation, the abandon budget), the SMS outbox, the schema version, the
-- progress view of GET /v1/campaigns/{id}; and the counter tables whose rows its statements'
-- triggers update (INSERT ... ON CONFLICT DO UPDATE reads the row it updates).
grant select on dialer.skill_groups, dialer.agents, dialer.agent_skill_groups,
                dialer.caller_numbers, dialer.campaigns, dialer.callees, dialer.dnc,
                dialer.attempts, dialer.sms_outbox, dialer.schema_version,
                dialer.time_zone_names, dialer.campaign_progress
   to :"app_role";

-- Writes of its own: claims (attempts in, callees to state 3), call outcomes, campaign
-- lifecycle (start, complete, overtime), agent status, the SMS outbox, and the REST API's
-- campaign create / patch / delete and callee import. Deleting a campaign cascades to its rows
-- with the table owner's rights. An attempt whose dial never left is deleted (the claim undone).
grant insert, update, delete on dialer.campaigns to :"app_role";
grant insert, update on dialer.callees to :"app_role";
grant insert, update, delete on dialer.attempts to :"app_role";
grant update on dialer.agents to :"app_role";
grant insert, update on dialer.sms_outbox to :"app_role";
-- Zone names are cached on first use by dialer.time_zone_is_known().
grant insert on dialer.time_zone_names to :"app_role";
grant usage on sequence dialer.campaigns_id_seq, dialer.callees_id_seq, dialer.attempts_id_seq,
                        dialer.sms_outbox_id_seq
   to :"app_role";

-- The counters of 0006_counters, kept by statement triggers on callees and attempts that run
-- with the rights of whoever writes those tables; old hours are folded into slot 0.
select to_regclass('dialer.campaign_counters') is not null as has_counters \gset
\if :has_counters
grant select, insert, update on dialer.campaign_counters, dialer.attempt_hourly,
                                dialer.attempt_hourly_agents
   to :"app_role";
grant delete on dialer.attempt_hourly to :"app_role";
\endif

-- Pool leases of 0007_leases: several instances on one database. Each renewal writes the
-- instance's heartbeat and its leases; a clean stop deletes both.
select to_regclass('dialer.leases') is not null as has_leases \gset
\if :has_leases
grant select, insert, update, delete on dialer.leases, dialer.instances to :"app_role";
grant select on dialer.lease_status to :"app_role";
\endif

-- Dashboards --------------------------------------------------------------------------------
grant usage on schema dialer to :"readonly_role";
grant select on all tables in schema dialer to :"readonly_role";
-- Tables and views that later migrations create (as the role running this script) too.
alter default privileges in schema dialer grant select on tables to :"readonly_role";

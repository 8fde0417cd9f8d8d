-- 07_migrate: sql/migrate.sh applies every migration once, records it, serialises concurrent runs, and fails cleanly.
--
-- psql runs the script with backquotes; run.sh passes :migrate (the script) and :sqldir.

\set fresh :DBNAME _fresh
\set conc :DBNAME _conc
\set elsewhere :DBNAME _else
\set fresh_url 'dbname=' :fresh
\set conc_url 'dbname=' :conc
\set else_url 'dbname=' :elsewhere
create database :"fresh";
create database :"conc";
create database :"elsewhere";

\set n_files `ls :'sqldir'/[0-9][0-9][0-9][0-9]_*.sql | wc -l`
\set last_version `ls :'sqldir'/[0-9][0-9][0-9][0-9]_*.sql | sort | tail -1 | sed -E 's|.*/0*([0-9]+)_[^/]*$|\1|'`

-- this database is a copy of the migrated template
select tap.is(max(version), :last_version, 'the template is at the version of the newest migration file')
  from dialer.schema_version;
\set out `:migrate :'DBNAME' 2>&1; echo "exit=$?"`
select tap.is(:'out', format(E'schema up to date at version %s\nexit=0', :last_version),
              'migrate.sh on a migrated database: "schema up to date at version N", exit 0');

-- a fresh database, twice
\set run1 `:migrate :'fresh_url' 2>&1; echo "exit=$?"`
select tap.is(split_part(:'run1', E'\n', 1), 'applied 0001_schema.sql (version 1)',
              'first run prints "applied 0001_schema.sql (version 1)" first');
select tap.is(regexp_count(:'run1', '^applied [0-9]{4}_[a-z0-9_]+\.sql \(version [0-9]+\)$', 1, 'n'), :n_files,
              'first run prints one "applied" line per migration file');
select tap.ok(:'run1' like E'%\nexit=0', 'first run exits 0');
\set run2 `:migrate :'fresh_url' 2>&1; echo "exit=$?"`
select tap.is(:'run2', format(E'schema up to date at version %s\nexit=0', :last_version),
              'second run applies nothing: "schema up to date at version N", exit 0');
\set versions `psql -X -At -d :'fresh' -c "select string_agg(version || ':' || name, ',' order by version) || ' ' || bool_and(applied_at is not null) from dialer.schema_version"`
select tap.like(:'versions', '1:schema,2:control,3:views% true',
                'dialer.schema_version records version and name of each migration, with applied_at');
\set shape `psql -X -At -d :'fresh' -c "select count(*) from pg_class where relnamespace = 'dialer'::regnamespace"`
select tap.is(:shape, count(*), 'the fresh database has the same relations in dialer as the template')
  from pg_class where relnamespace = 'dialer'::regnamespace;

-- three concurrent runs on one database: each migration is applied once, all exit 0
\set concurrent `d=$(mktemp -d); for i in 1 2 3; do (:migrate :'conc_url' >$d/$i.out 2>&1; echo $? >$d/$i.rc) & done; wait; echo "exits=$(cat $d/*.rc | tr -d '\n') applied=$(cat $d/*.out | grep -c '^applied')"; rm -rf $d`
select tap.is(:'concurrent', format('exits=000 applied=%s', :n_files),
              'three concurrent runs: all exit 0 and each migration is applied once');

-- a failing migration: psql's error, non-zero exit, nothing of it left behind
\set failing `d=$(mktemp -d); cp :'sqldir'/[0-9]*.sql $d/; printf '%s\n' 'create table dialer.t99 (x int);' 'select 1/0;' >$d/0099_broken.sql; :migrate --dir $d :'fresh_url' 2>&1; echo "exit=$?"; rm -rf $d`
select tap.like(:'failing', '%0099_broken.sql:2: ERROR:  division by zero%',
                'a failing migration shows psql''s error with file and line');
select tap.like(:'failing', E'%\nexit=3', 'a failing migration exits non-zero (3, from psql)');
\set after_fail `psql -X -At -d :'fresh' -c "select max(version) || ' ' || (to_regclass('dialer.t99') is null) from dialer.schema_version"`
select tap.is(:'after_fail', :last_version || ' true', 'a failed migration leaves no version row and none of its changes');

-- a migration that commits by itself is refused before anything runs
\set txn `d=$(mktemp -d); printf '%s\n' 'create table dialer.t98 (x int);' 'commit;' >$d/0001_bad.sql; :migrate --dir $d :'fresh_url' 2>&1; echo "exit=$?"; rm -rf $d`
select tap.is(:'txn', E'migrate: 0001_bad.sql controls transactions itself (BEGIN/COMMIT); migrate.sh runs each file in one transaction\nexit=2',
              'a migration with its own COMMIT is refused');

-- installed elsewhere: the script finds the migrations beside itself, from any working directory
\set moved `d=$(mktemp -d); cp :migrate :'sqldir'/[0-9]*.sql $d/; cd /; $d/migrate.sh :'else_url' 2>&1 | grep -c '^applied'; rm -rf $d`
select tap.is(:moved, :n_files, 'migrate.sh copied elsewhere with the migrations applies them all');

-- where the database comes from
\set from_env `DIALER_DATABASE_URL=:'fresh_url' :migrate 2>&1`
select tap.is(:'from_env', format('schema up to date at version %s', :last_version),
              'without an argument, migrate.sh uses $DIALER_DATABASE_URL');
\set from_libpq `PGDATABASE=:'fresh' :migrate 2>&1`
select tap.is(:'from_libpq', format('schema up to date at version %s', :last_version),
              'without an argument or $DIALER_DATABASE_URL, migrate.sh uses the libpq environment');
\set missing_db `:migrate 'dbname=dialer_no_such_db' 2>&1; echo "exit=$?"`
select tap.like(:'missing_db', '%database "dialer_no_such_db" does not exist%exit=2',
                'an unreachable database: psql''s connection error, non-zero exit');
\set bad_opt `:migrate --frobnicate 2>&1; echo "exit=$?"`
select tap.like(:'bad_opt', 'migrate: unknown option ''--frobnicate''%exit=2', 'an unknown option is refused');

drop database :"fresh" with (force);
drop database :"conc" with (force);
drop database :"elsewhere" with (force);

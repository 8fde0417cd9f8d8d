#!/usr/bin/env bash
# Applies the dialer schema migrations (NNNN_name.sql beside this script) that a database lacks.
#
#   migrate.sh [--dir DIR] [DATABASE_URL]
#
# DATABASE_URL is a libpq URL or conninfo string; default $DIALER_DATABASE_URL, else the libpq
# environment (PGHOST, PGDATABASE, ...). Each migration runs in one transaction together with its
# dialer.schema_version row, so a failed migration leaves nothing behind. Concurrent runs (several
# dialerd hosts deploying at once) queue on an advisory lock and the later ones find nothing to do.
# Prints one line per migration applied, or "schema up to date at version N". Exits with psql's
# status (and psql's error on stderr) when a migration fails.
set -euo pipefail

# pg_advisory_lock key for migrations: "dialer" in ASCII.
readonly LOCK_KEY=110442579702130

die() { echo "migrate: $*" >&2; exit 2; }

usage() {
    sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"
}

dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
url=${DIALER_DATABASE_URL:-}
url_given=0
while [ $# -gt 0 ]; do
    case "$1" in
        --dir) [ $# -ge 2 ] || die "--dir needs a directory"; dir=$2; shift 2 ;;
        --dir=*) dir=${1#--dir=}; shift ;;
        -h|--help) usage; exit 0 ;;
        -*) die "unknown option '$1'; accepted: --dir DIR, -h/--help" ;;
        *) [ $url_given = 0 ] || die "more than one DATABASE_URL given"; url=$1; url_given=1; shift ;;
    esac
done
[ -d "$dir" ] || die "migration directory '$dir' does not exist"
dir=$(cd "$dir" && pwd)
case "$dir" in *"'"*) die "the migration directory path must not contain a single quote: $dir" ;; esac
command -v psql >/dev/null 2>&1 || die "psql not found in PATH (apt-get install -y postgresql-client)"

shopt -s nullglob
files=("$dir"/[0-9][0-9][0-9][0-9]_*.sql)
shopt -u nullglob
[ ${#files[@]} -gt 0 ] || die "no migrations (NNNN_name.sql) in $dir"

# Builds one psql script: the lock, then per migration "apply unless recorded". One session, so
# the session-level advisory lock covers the check and the apply of every migration.
script=$(mktemp "${TMPDIR:-/tmp}/dialer-migrate.XXXXXX")
trap 'rm -f "$script"' EXIT
{
    cat <<EOF
\\set ON_ERROR_STOP 1
\\set QUIET 1
\\set applied 0
set client_min_messages = warning;
select pg_advisory_lock($LOCK_KEY) as locked \\gset
create schema if not exists dialer;
create table if not exists dialer.schema_version (
    version    int primary key,
    name       text not null,
    applied_at timestamptz not null default now()
);
EOF
    declare -A seen=()
    for f in "${files[@]}"; do
        base=$(basename "$f" .sql)
        version=$((10#${base%%_*}))
        name=${base#*_}
        [ -z "${seen[$version]:-}" ] || die "two migrations have version $version: ${seen[$version]} and $base.sql"
        seen[$version]=$base.sql
        [[ $name =~ ^[A-Za-z0-9_]+$ ]] || die "migration name '$name' ($base.sql) may use only letters, digits and _"
        # The file runs inside our transaction; its own COMMIT would split it from its version row.
        if grep -Eiq '^[[:space:]]*(begin|commit|rollback|start[[:space:]]+transaction)([[:space:]]+(transaction|work))?[[:space:]]*;' "$f"; then
            die "$base.sql controls transactions itself (BEGIN/COMMIT); migrate.sh runs each file in one transaction"
        fi
        cat <<EOF
select not exists (select 1 from dialer.schema_version where version = $version) as todo \\gset
\\if :todo
begin;
\\i '$f'
insert into dialer.schema_version (version, name) values ($version, '$name');
commit;
\\echo applied $base.sql (version $version)
\\set applied 1
\\endif
EOF
    done
    cat <<EOF
\\if :applied
\\else
select coalesce(max(version), 0) as current_version from dialer.schema_version \\gset
\\echo schema up to date at version :current_version
\\endif
EOF
} > "$script"

args=(-X -q -v ON_ERROR_STOP=1 -f "$script")
[ -n "$url" ] && args+=(-d "$url")
status=0
psql "${args[@]}" || status=$?
exit $status

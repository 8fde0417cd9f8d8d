#!/usr/bin/env bash
# Runs the schema tests in tests/sql against the PostgreSQL server of the libpq environment.
#
#   . /tmp/somewhere/env && tests/sql/run.sh [NN_name.sql ...]
#
# Migrates a template database (dialer_sql_tpl) once with sql/migrate.sh and loads _tap.sql into
# it; then each test file gets a fresh copy of the template, runs in psql, and the copy is
# dropped. Files run in parallel. stdout carries only TAP lines, "ok - FILE: description" or
# "not ok - FILE: description # detail"; a file that stops on an error adds a "not ok" line with
# psql's error. Exit status 0 when every line is ok, 1 otherwise.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
sqldir=$(cd "$here/../../sql" && pwd)
tpl=dialer_sql_tpl
# Test databases of concurrent runs must not collide.
run_id=$$

export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
# the test files run migrate.sh against databases they create, so it must not default to another
unset DIALER_DATABASE_URL

work=$(mktemp -d "${TMPDIR:-/tmp}/dialer-sqltest.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Squeezes text to one line for a TAP detail.
one_line() { tr '\n' '\f' | sed -e 's/\f*$//' -e 's/\f/ | /g' | cut -c1-600; }

setup() {
    dropdb --if-exists --force "$tpl" &&
    createdb "$tpl" &&
    "$sqldir/migrate.sh" "dbname=$tpl" >/dev/null &&
    psql -X -q -v ON_ERROR_STOP=1 -d "$tpl" -f "$here/_tap.sql"
}
if ! setup >"$work/setup.out" 2>&1; then
    echo "not ok - setup: template database $tpl could not be migrated # $(one_line < "$work/setup.out")"
    exit 1
fi

# Runs one test file; writes its TAP lines to stdout.
run_file() {
    local file=$1 name db rc=0 tap
    name=$(basename "$file")
    db="dialer_sql_${run_id}_${name%.sql}"
    db=${db:0:63}
    if ! createdb -T "$tpl" "$db" 2>"$work/$name.err"; then
        echo "not ok - $name: could not create its database # $(one_line < "$work/$name.err")"
        return
    fi
    psql -X -q -At -v ON_ERROR_STOP=1 -v migrate="$sqldir/migrate.sh" -v sqldir="$sqldir" \
        -d "$db" -f "$file" >"$work/$name.out" 2>"$work/$name.err" || rc=$?
    dropdb --if-exists --force "$db" 2>>"$work/$name.err" || true
    tap=$(sed -n -E \
        -e "s/^ok [0-9]+ - (.*)$/ok - $name: \\1/p" \
        -e "s/^not ok [0-9]+ - (.*)$/not ok - $name: \\1/p" "$work/$name.out")
    [ -n "$tap" ] && printf '%s\n' "$tap"
    if [ $rc -ne 0 ]; then
        echo "not ok - $name: stopped by an error (psql exit $rc) # $(one_line < "$work/$name.err")"
    elif [ -z "$tap" ]; then
        if [ -s "$work/$name.err" ]; then
            echo "not ok - $name: produced no test results # $(one_line < "$work/$name.err")"
        else
            echo "not ok - $name: produced no test results"
        fi
    fi
}

if [ $# -gt 0 ]; then
    files=()
    for f in "$@"; do
        [ -f "$f" ] || f=$here/$f
        files+=("$f")
    done
else
    files=("$here"/[0-9]*.sql)
fi

for f in "${files[@]}"; do
    run_file "$f" >"$work/$(basename "$f").tap" &
done
wait

status=0
for f in "${files[@]}"; do
    cat "$work/$(basename "$f").tap"
    grep -q '^not ok' "$work/$(basename "$f").tap" && status=1
done

# Databases a test created for itself and left behind when it stopped early.
for db in $(psql -X -At -d "$tpl" -c "select datname from pg_database where datname like 'dialer\_sql\_${run_id}\_%'" 2>/dev/null); do
    dropdb --if-exists --force "$db" >/dev/null 2>&1 || true
done
dropdb --if-exists --force "$tpl" >/dev/null 2>&1 || true
exit $status

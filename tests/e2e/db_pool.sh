#!/usr/bin/env bash
# End-to-end: the async db pool (itest_db) against a private PostgreSQL with the schema migrated.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
pg=$(mktemp -d "${TEST_WORK:-/tmp}/dbpool.XXXXXX")
trap '"$root/tests/lib/pgcluster.sh" destroy "$pg" >/dev/null 2>&1' EXIT
"$root/tests/lib/pgcluster.sh" start "$pg" >/dev/null || { echo "not ok - private cluster starts"; exit 1; }
. "$pg/env"
"$root/sql/migrate.sh" "$DIALER_DATABASE_URL" >/dev/null || { echo "not ok - migrations apply"; exit 1; }
"$root/$BUILD/tests/itest_db"

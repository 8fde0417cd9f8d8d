#!/usr/bin/env bash
# Private, throw-away PostgreSQL cluster for tests and `make run`: start, stop, restart, kill.
#
#   pgcluster.sh start DIR    initdb (once) + start on a free loopback port; writes DIR/env
#   pgcluster.sh stop DIR     fast shutdown (no error when already stopped)
#   pgcluster.sh kill DIR     SIGKILL the postmaster (crash simulation); backends die with it
#   pgcluster.sh restart DIR  start again on the same port, same data
#   pgcluster.sh destroy DIR  stop and remove DIR and its socket directory
#
# DIR/env is a shell fragment exporting PGHOST, PGPORT, PGUSER, PGDATABASE and
# DIALER_DATABASE_URL; source it to talk to the cluster. As root the cluster runs as the
# `postgres` user (PostgreSQL refuses to run as root); otherwise as the calling user.
set -euo pipefail

die() { echo "pgcluster: $*" >&2; exit 1; }

pg_bindir() {
    local d
    if command -v pg_config >/dev/null 2>&1; then
        d=$(pg_config --bindir 2>/dev/null || true)
        [ -x "$d/initdb" ] && { echo "$d"; return; }
    fi
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [ -x "$d/initdb" ] && { echo "$d"; return; }
    done
    d=$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")
    [ -x "$d/initdb" ] && { echo "$d"; return; }
    die "no PostgreSQL server binaries (initdb) found; install them with: apt-get install -y postgresql"
}

# Runs a command as the cluster owner.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on, reserved against other test
# suites picking one at the same time.
. "$(dirname "${BASH_SOURCE[0]}")/ports.sh"

cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: pgcluster.sh start|stop|kill|restart|destroy DIR"
bindir=$(pg_bindir)
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || die "running as root needs a 'postgres' user (apt-get install -y postgresql creates it)"
    owner=postgres
else
    owner=$(id -un)
fi

# The data directory: DIR/data when the cluster owner can reach DIR, else a directory under
# /tmp (as root, DIR may sit below a directory the postgres user cannot enter).
if [ -f "$dir/datadir" ]; then
    data=$(cat "$dir/datadir")
elif [ "$(id -u)" != 0 ] || runuser -u postgres -- test -w "$dir" 2>/dev/null; then
    data="$dir/data"
elif [ "$cmd" = start ]; then
    data="$(mktemp -d /tmp/dialerd-pgdata.XXXXXX)/data"
    chown postgres "$(dirname "$data")"
    echo "$data" > "$dir/datadir"
else
    data="$dir/data"
fi
pglog="$(dirname "$data")/postgres.log"

start() {
    local port sockdir
    if [ -f "$dir/port" ]; then
        port=$(cat "$dir/port"); sockdir=$(cat "$dir/sockdir")
        mkdir -p "$sockdir"
    else
        port=$(free_port)
        sockdir=$(mktemp -d /tmp/dialerd-pg.XXXXXX)
        echo "$port" > "$dir/port"; echo "$sockdir" > "$dir/sockdir"
    fi
    [ "$(id -u)" = 0 ] && chown "$owner" "$sockdir"
    if [ ! -f "$data/PG_VERSION" ]; then
        as_owner "$bindir/initdb" --nosync -D "$data" -U postgres -A trust -E UTF8 \
            --locale=C >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed in $data"; }
        cat >> "$data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sockdir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
shared_buffers = 128MB
log_min_messages = warning
log_min_error_statement = panic
EOF
    fi
    local tries=0
    until as_owner "$bindir/pg_ctl" -D "$data" -l "$pglog" -w -t 60 start >/dev/null; do
        # Another process may have taken the port between the probe and the bind: move on.
        if grep -q 'Address already in use' "$pglog" && [ $tries -lt 5 ]; then
            tries=$((tries + 1))
            port=$(free_port)
            echo "$port" > "$dir/port"
            sed -i "s/^port = .*/port = $port/" "$data/postgresql.conf"
            : > "$pglog"
            continue
        fi
        tail -20 "$pglog" >&2
        die "pg_ctl start failed (log: $pglog)"
    done
    cat > "$dir/env" <<EOF
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=postgres
export DIALER_DATABASE_URL='postgresql://postgres@127.0.0.1:$port/postgres'
EOF
}

stop() {
    [ -f "$data/postmaster.pid" ] || return 0
    as_owner "$bindir/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
}

kill_cluster() {
    local pid
    [ -f "$data/postmaster.pid" ] || return 0
    pid=$(head -1 "$data/postmaster.pid")
    kill -9 "$pid" 2>/dev/null || true
    # Backends notice the postmaster's death and exit; wait for the port to close.
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    # A fresh start must not trip over the stale lock file of the killed postmaster.
    for _ in $(seq 1 100); do
        pgrep -u "$owner" -f -- "-D $data" >/dev/null 2>&1 || break
        sleep 0.05
    done
}

case "$cmd" in
    start|restart) start ;;
    stop) stop ;;
    kill) kill_cluster ;;
    destroy)
        stop
        [ -f "$dir/sockdir" ] && rm -rf "$(cat "$dir/sockdir")"
        [ -f "$dir/datadir" ] && rm -rf "$(dirname "$(cat "$dir/datadir")")"
        rm -rf "$dir" ;;
    *) die "unknown command '$cmd'; accepted: start, stop, kill, restart, destroy" ;;
esac

#!/usr/bin/env bash
# Checks the build and test dependencies; installs missing Debian packages when run as root.
set -euo pipefail

missing=()
need() { # need PACKAGE CHECK-COMMAND...
    local pkg=$1; shift
    "$@" >/dev/null 2>&1 || missing+=("$pkg")
}
have() { command -v "$1"; }
pc() { have pkg-config && pkg-config --exists "$1"; }
pg_server() {
    local d
    d=$(pg_config --bindir 2>/dev/null) && [ -x "$d/initdb" ] && return 0
    ls /usr/lib/postgresql/*/bin/initdb
}

need gcc have cc
need make have make
need pkg-config have pkg-config
need libevent-dev pc libevent
need libcurl4-openssl-dev pc libcurl
need libcjson-dev pc libcjson
need libpq-dev test -f "$(pg_config --includedir 2>/dev/null)/libpq-fe.h"
need postgresql pg_server
need postgresql-client have psql
need curl have curl

[ ${#missing[@]} -eq 0 ] && exit 0

# Deduplicate while keeping the order.
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | awk '!seen[$0]++')
if [ "$(id -u)" != 0 ]; then
    echo "dialerd needs these Debian packages: ${missing[*]}" >&2
    echo "install them with:  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "installing missing packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "installed: ${missing[*]}"

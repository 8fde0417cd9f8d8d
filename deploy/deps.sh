#!/usr/bin/env bash
# Checks the build and test dependencies; installs missing Debian packages when run as root.
# `deps.sh --test` (what `make test` runs) also checks the tools only the tests use.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
test_deps=0
[ "${1:-}" = --test ] && test_deps=1

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
# The end-to-end tests sign requests with `openssl dgst -hmac`, independently of the daemon.
need openssl have openssl
if [ "$test_deps" = 1 ]; then
    # tests/e2e/status_page.sh: headless Chromium driven through ChromeDriver (W3C WebDriver
    # over curl, JSON with jq).
    need chromium have chromium
    need chromium-driver have chromedriver
    need jq have jq
    # tests/e2e/install.sh: the man page rendered and linted, the systemd unit verified.
    need man-db have man
    need groff-base have groff
    need mandoc have mandoc
    need systemd have systemd-analyze
    # The unit's ExecReload=/bin/kill, which systemd-analyze verify checks for.
    need procps test -x /bin/kill
    # tests/fuzz: libFuzzer targets (clang's compiler-rt); tests/valgrind: memcheck.
    need clang have clang
    need libclang-rt-14-dev test -n "$(find /usr/lib/llvm-*/lib/clang -name 'libclang_rt.fuzzer-x86_64.a' 2>/dev/null | head -1)"
    need valgrind have valgrind
fi

# promtool (tests/e2e/metrics.sh) ships only in Debian's `prometheus` package, whose installation
# also starts a Prometheus server and pulls in its web assets: the one binary is taken out of the
# package instead, into build/tools/ (`apt-get download` needs no root; nothing is installed).
fetch_promtool() {
    local dir="$root/build/tools" tmp
    have promtool >/dev/null 2>&1 && return 0
    [ -x "$dir/promtool" ] && return 0
    tmp=$(mktemp -d)
    if ! (cd "$tmp" && apt-get download -qq prometheus >/dev/null 2>&1); then
        # Package lists not fetched yet (a fresh machine): only root can fetch them.
        [ "$(id -u)" = 0 ] && apt-get update -qq
        if ! (cd "$tmp" && apt-get download -qq prometheus >/dev/null 2>&1); then
            echo "could not download Debian's prometheus package for promtool;" \
                 "run as root, or install it:  sudo apt-get install prometheus" >&2
            rm -rf "$tmp"
            return 1
        fi
    fi
    mkdir -p "$dir"
    dpkg-deb --fsys-tarfile "$tmp"/prometheus_*.deb | tar -xO ./usr/bin/promtool >"$dir/promtool.tmp"
    chmod 755 "$dir/promtool.tmp"
    mv "$dir/promtool.tmp" "$dir/promtool"
    rm -rf "$tmp"
    echo "promtool: taken out of Debian's prometheus package into build/tools/promtool"
}

if [ ${#missing[@]} -eq 0 ]; then
    [ "$test_deps" = 1 ] && fetch_promtool
    exit 0
fi

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
[ "$test_deps" = 1 ] && fetch_promtool
exit 0

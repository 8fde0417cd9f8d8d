# TAP helpers for shell tests: ok / is / like, waiting with a bound, HTTP over loopback.
# Source it; every check prints `ok - desc` or `not ok - desc # detail` on stdout.

TAP_FAILED=0

# ok COND-EXIT-STATUS DESC: prints a TAP line for a status (0 passes).
tap_ok() {
    if [ "$1" = 0 ]; then echo "ok - $2"; else echo "not ok - $2${3:+ # $3}"; TAP_FAILED=1; fi
}

# is GOT WANT DESC
tap_is() {
    if [ "$1" = "$2" ]; then echo "ok - $3"; else echo "not ok - $3 # got '$1', want '$2'"; TAP_FAILED=1; fi
}

# like GOT REGEX DESC
tap_like() {
    if printf '%s' "$1" | grep -Eq -- "$2"; then echo "ok - $3"; else
        echo "not ok - $3 # '$(printf '%s' "$1" | head -c 300 | tr '\n' ' ')' does not match /$2/"; TAP_FAILED=1; fi
}

# wait_until SECONDS CMD...: retries CMD every 0.1 s until it succeeds or time runs out.
wait_until() {
    local limit=$1; shift
    local end=$(( $(date +%s%N) / 1000000 + limit * 1000 ))
    while :; do
        "$@" >/dev/null 2>&1 && return 0
        [ $(( $(date +%s%N) / 1000000 )) -ge $end ] && return 1
        sleep 0.1
    done
}

# http METHOD URL [BODY]: prints "<http status> <body>" (one line, body as sent).
http() {
    local out code
    out=$(curl -s -m 5 -X "$1" ${3:+-H 'Content-Type: application/json' --data-binary "$3"} \
        -w '\n%{http_code}' "$2" 2>/dev/null) || true
    code=$(printf '%s' "$out" | tail -n1)
    printf '%s %s\n' "${code:-000}" "$(printf '%s' "$out" | sed '$d' | tr -d '\n')"
}

# Credentials for the authenticated helpers below (tests/lib/stack.sh gives the daemon the same).
API_TOKEN=${API_TOKEN:-}
EVENT_SECRET=${EVENT_SECRET:-}

# bhttp METHOD URL [BODY]: like http, with Authorization: Bearer $API_TOKEN (control routes).
bhttp() {
    local out code
    out=$(curl -s -m 20 -X "$1" -H "Authorization: Bearer $API_TOKEN" \
        ${3:+-H 'Content-Type: application/json' --data-binary "$3"} \
        -w '\n%{http_code}' "$2" 2>/dev/null) || true
    code=$(printf '%s' "$out" | tail -n1)
    printf '%s %s\n' "${code:-000}" "$(printf '%s' "$out" | sed '$d' | tr -d '\n')"
}

# sign_file SECRET TS FILE: the X-Dialer-Signature value for a body signed at TS (DESIGN §5.2:
# sha256=<hex HMAC-SHA256(secret, timestamp text + body)>), computed by openssl, independently
# of the daemon's own SHA-256.
sign_file() {
    { printf '%s' "$2"; cat "$3"; } | openssl dgst -sha256 -hmac "$1" -r | sed 's/ .*//; s/^/sha256=/'
}

# shttp_file METHOD URL FILE [TS [SECRET [SIGNATURE]]]: POST/PUT a body file signed with
# $EVENT_SECRET at TS (default: now); prints "<http status> <body>". A SIGNATURE replaces the
# computed one (to send a wrong one). Large bodies go through a file: argv cannot hold them.
shttp_file() {
    local ts=${4:-$(date +%s)} secret=${5:-$EVENT_SECRET} sig out code
    sig=${6:-$(sign_file "$secret" "$ts" "$3")}
    out=$(curl -s -m 60 -X "$1" -H 'Content-Type: application/json' -H 'Expect:' \
        -H "X-Dialer-Timestamp: $ts" -H "X-Dialer-Signature: $sig" --data-binary @"$3" \
        -w '\n%{http_code}' "$2" 2>/dev/null) || true
    code=$(printf '%s' "$out" | tail -n1)
    printf '%s %s\n' "${code:-000}" "$(printf '%s' "$out" | sed '$d' | tr -d '\n')"
}

# shttp METHOD URL BODY [TS [SECRET [SIGNATURE]]]: shttp_file with the body given inline. The
# daemon takes a signature once: sending the same body twice within a second needs a TS.
shttp() {
    local f rc
    f=$(mktemp "${TEST_WORK:-/tmp}/body.XXXXXX")
    printf '%s' "$3" >"$f"
    shttp_file "$1" "$2" "$f" "${4:-}" "${5:-}" "${6:-}"; rc=$?
    rm -f "$f"
    return $rc
}

# free_ports N / free_port: loopback TCP ports nothing listens on, reserved against the other
# suites running at the same time (tests/lib/ports.sh). Ports are picked before anything binds
# them, so take every port a test needs in one call.
. "$(dirname "${BASH_SOURCE[0]}")/ports.sh"

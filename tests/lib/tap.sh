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

# free_ports N: N distinct loopback TCP ports that nothing listens on, on one line. Ports are
# picked before anything binds them, so take every port a test needs in one call.
free_ports() {
    local want=${1:-1} got=() p
    for _ in $(seq 1 400); do
        [ ${#got[@]} -ge "$want" ] && break
        # Below Linux's ephemeral range (32768+), where client sockets take their local ports.
        p=$(( 10000 + (RANDOM * 32768 + RANDOM) % 22000 ))
        case " ${got[*]} " in *" $p "*) continue ;; esac
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || got+=("$p")
    done
    [ ${#got[@]} -ge "$want" ] || return 1
    echo "${got[*]}"
}

# free_port: one such port.
free_port() { free_ports 1; }

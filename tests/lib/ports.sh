# Loopback TCP ports for tests, reserved so that suites running at the same time (tests/run.sh
# runs several at once; two `make test` may share a machine) never pick the same one. Sourced by
# tests/lib/tap.sh and tests/lib/pgcluster.sh.
#
# A port is picked at random below Linux's ephemeral range (32768+, where client sockets take
# their local ports), probed (nothing listens on it), and written with the time to a registry
# under an exclusive lock (flock), which every picker reads first: a port someone reserved
# within the last PORTS_HOLD_S seconds (default an hour) is not handed out again, even while
# its owner has not bound it yet or has stopped its server for a restart on the same port.

PORTS_REGISTRY=${PORTS_REGISTRY:-/tmp/dialerd-test-ports.$(id -u)}
PORTS_HOLD_S=${PORTS_HOLD_S:-3600}

# free_ports N: N distinct loopback TCP ports that nothing listens on and nobody reserved, on
# one line; they are reserved for this caller. Fails after 400 tries or 30 s waiting for the lock.
free_ports() {
    local want=${1:-1} got=() p t now fd tries=0 ok=1
    local -A held=()
    exec {fd}>>"$PORTS_REGISTRY.lock" || return 1
    if ! flock -w 30 "$fd"; then exec {fd}>&-; return 1; fi
    now=$(date +%s)
    if [ -f "$PORTS_REGISTRY" ]; then
        while read -r p t; do
            if [[ $p =~ ^[0-9]+$ && $t =~ ^[0-9]+$ ]] && [ $((now - t)) -lt "$PORTS_HOLD_S" ]; then
                held[$p]=$t
            fi
        done <"$PORTS_REGISTRY"
    fi
    while [ ${#got[@]} -lt "$want" ] && [ $tries -lt 400 ]; do
        tries=$((tries + 1))
        p=$(( 10000 + (RANDOM * 32768 + RANDOM) % 22000 ))
        [ -n "${held[$p]:-}" ] && continue
        case " ${got[*]} " in *" $p "*) continue ;; esac
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || got+=("$p")
    done
    if [ ${#got[@]} -ge "$want" ]; then
        for p in "${got[@]}"; do held[$p]=$now; done
        # Rewritten whole (expired lines dropped), then renamed over: readers never see half.
        for p in "${!held[@]}"; do echo "$p ${held[$p]}"; done >"$PORTS_REGISTRY.$$" &&
            mv -f "$PORTS_REGISTRY.$$" "$PORTS_REGISTRY" && ok=0
    fi
    exec {fd}>&-
    [ $ok = 0 ] || return 1
    echo "${got[*]}"
}

# free_port: one such port.
free_port() { free_ports 1; }

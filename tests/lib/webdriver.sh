# Drives headless Chromium for page tests through ChromeDriver's W3C WebDriver API with curl and
# jq (Debian packages chromium, chromium-driver, curl, jq; no Node.js, no browser download).
# Source it after tests/lib/tap.sh. wd_start starts ChromeDriver on a loopback port and opens a
# session; wd_stop (arrange it on exit) closes both. Every request has a time limit.

WD_PID=""
WD_URL=""
WD_SID=""
WD_ELEMENT_KEY="element-6066-11e4-a52e-4f735466cecf"

# wd_req METHOD PATH [JSON]: one WebDriver request; prints the response's `value` as JSON and
# fails when the driver answers with an error.
wd_req() {
    local out
    out=$(curl -s -m 60 -X "$1" -H 'Content-Type: application/json' \
        ${3:+--data-binary "$3"} "$WD_URL$2") || return 1
    if printf '%s' "$out" | jq -e '.value | type == "object" and has("error")' >/dev/null 2>&1; then
        printf '%s' "$out" | jq -c '.value | {error, message: (.message | .[0:300])}' >&2
        return 1
    fi
    printf '%s' "$out" | jq -c '.value'
}

# wd_start WORKDIR [WIDTH HEIGHT]: ChromeDriver + a headless Chromium session.
wd_start() {
    local dir=$1 w=${2:-1280} h=${3:-900} port caps
    port=$(free_port) || return 1
    chromedriver --port="$port" --allowed-ips=127.0.0.1 --log-path="$dir/chromedriver.log" \
        >/dev/null 2>&1 &
    WD_PID=$!
    WD_URL="http://127.0.0.1:$port"
    wait_until 20 curl -sf "$WD_URL/status" || return 1
    # Flags for a machine without network: nothing may try to reach the outside.
    caps=$(jq -nc --arg ud "$dir/chromium-profile" --arg size "$w,$h" '{capabilities: {alwaysMatch: {
        browserName: "chrome",
        "goog:chromeOptions": {binary: "/usr/bin/chromium", args: ["--headless=new", "--no-sandbox",
            "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-extensions", "--hide-scrollbars", "--force-device-scale-factor=1",
            ("--window-size=" + $size), ("--user-data-dir=" + $ud)]}}}}')
    WD_SID=$(wd_req POST /session "$caps" | jq -r '.sessionId') || return 1
    [ -n "$WD_SID" ] && [ "$WD_SID" != null ]
}

# wd_stop: closes the session and stops ChromeDriver (and the browser with it).
wd_stop() {
    [ -n "$WD_SID" ] && curl -s -m 20 -X DELETE "$WD_URL/session/$WD_SID" >/dev/null 2>&1
    WD_SID=""
    if [ -n "$WD_PID" ]; then
        kill -TERM "$WD_PID" 2>/dev/null
        for _ in $(seq 1 50); do kill -0 "$WD_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$WD_PID" 2>/dev/null
        WD_PID=""
    fi
}

# wd_go URL: navigates and waits for the load.
wd_go() { wd_req POST "/session/$WD_SID/url" "$(jq -nc --arg u "$1" '{url: $u}')" >/dev/null; }

# wd_js SCRIPT [ARGS-JSON-ARRAY]: runs a function body in the page; prints its return value as
# JSON (strings quoted). `arguments[0]`… are the ARGS.
wd_js() {
    wd_req POST "/session/$WD_SID/execute/sync" \
        "$(jq -nc --arg s "$1" --argjson a "${2:-[]}" '{script: $s, args: $a}')"
}

# wd_jsr SCRIPT [ARGS]: like wd_js, printing a string result raw.
wd_jsr() { wd_js "$@" | jq -r '.'; }

# wd_find CSS: prints the element reference of the first match.
wd_find() {
    wd_req POST "/session/$WD_SID/element" "$(jq -nc --arg c "$1" '{using: "css selector", value: $c}')" \
        | jq -r --arg k "$WD_ELEMENT_KEY" '.[$k]'
}

# wd_type CSS TEXT: types into an element (as keystrokes).
wd_type() {
    local e; e=$(wd_find "$1") || return 1
    wd_req POST "/session/$WD_SID/element/$e/value" "$(jq -nc --arg t "$2" '{text: $t}')" >/dev/null
}

# wd_click CSS: clicks an element.
wd_click() {
    local e; e=$(wd_find "$1") || return 1
    wd_req POST "/session/$WD_SID/element/$e/click" '{}' >/dev/null
}

# wd_wait SECONDS SCRIPT: waits until SCRIPT (a function body) returns true.
wd_wait() { wait_until "$1" bash -c '[ "$(wd_js "$0")" = true ]' "$2"; }

# wd_screenshot FILE: the viewport as PNG.
wd_screenshot() { wd_req GET "/session/$WD_SID/screenshot" | jq -r '.' | base64 -d >"$1"; }

export -f wd_req wd_js
export WD_URL WD_SID

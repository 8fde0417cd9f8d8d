#!/usr/bin/env bash
# End-to-end: the status page (GET /) in headless Chromium against a running dialerd, dialer-sim
# and campaigns. It asks for the token once and keeps it in sessionStorage (never in the URL),
# shows each campaign with a progress bar of the right percentage, refreshes on its own, shows the
# agents, and puts names in as text (a campaign named like an HTML tag stays text). A screenshot
# goes to $BUILD/status-page.png (and to docs/status-page.png with STATUS_PAGE_DOCS=1, or when
# that file is missing).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/lib/stack.sh"
. "$root/tests/lib/webdriver.sh"
stack_begin status_page
trap 'wd_stop; stack_down' EXIT

for tool in chromium chromedriver jq; do
    command -v "$tool" >/dev/null || { echo "not ok - $tool is installed (deploy/deps.sh --test installs it as root)"; exit 1; }
done

stack_pg || { echo "not ok - private cluster starts and migrates"; exit 1; }
stack_sim "$root/bench/scenarios/demo.json" --time-scale 20 || { echo "not ok - dialer-sim starts"; exit 1; }
# Calls of the running campaign are still in flight at the SIGTERM at the end: a short drain
# (exit status 0 either way) instead of the default 30 s.
stack_dialerd --set drain_timeout_ms=3000 || { echo "not ok - dialerd starts"; exit 1; }
base="http://127.0.0.1:$DIALERD_PORT"

# --- the page as served ---------------------------------------------------------------------------
hdr=$(curl -s -m 5 -D - -o "$STACK_DIR/page.html" "$base/")
tap_like "$hdr" '^HTTP/1.1 200' "GET / answers 200 without a token"
tap_like "$hdr" 'Content-Type: text/html; charset=utf-8' "as HTML"
tap_like "$hdr" "Content-Security-Policy: default-src 'none'; script-src 'sha256-" "with a CSP that allows only its own script, by hash"
cmp -s "$STACK_DIR/page.html" "$root/web/status.html"
tap_ok $? "the page served is web/status.html, byte for byte (embedded in the binary)"

# A running campaign for the picture; a paused one at exactly 25 % for the check; one whose name
# is markup; the simulator's 30 agents of skill group 1.
hostile='<img src=x onerror="document.title=1">&amp;'
psql -Xq -v ON_ERROR_STOP=1 -v hostile="$hostile" <<'SQL'
INSERT INTO dialer.caller_numbers (number, max_concurrent, max_cps) VALUES ('+442070000001', 100, 100);
INSERT INTO dialer.campaigns (name, mode, skill_group_id, callers, recall_num, expected_abandon_rate)
VALUES ('Spring renewals', 'predictive', 1, '{+442070000001}', 0, 3);
INSERT INTO dialer.callees (campaign_id, number)
SELECT 1, '+4477' || lpad(g::text, 8, '0') FROM generate_series(1, 4000) g;
INSERT INTO dialer.campaigns (name, mode, skill_group_id, callers, priority)
VALUES ('Lapsed donors', 'progressive', 1, '{+442070000001}', 4);
INSERT INTO dialer.callees (campaign_id, number, state)
SELECT 2, '+4478' || lpad(g::text, 8, '0'), CASE WHEN g <= 10 THEN 1 WHEN g <= 30 THEN 2 ELSE 0 END
  FROM generate_series(1, 120) g;
UPDATE dialer.campaigns SET status = 1 WHERE id = 2;
UPDATE dialer.campaigns SET status = 2 WHERE id = 2;
INSERT INTO dialer.campaigns (name, mode, skill_group_id, callers, not_before)
VALUES (:'hostile', 'progressive', 1, '{+442070000001}', now() + interval '1 day');
SQL
wait_until 20 bash -c "[ \$(psql -XAtc 'SELECT count(*) FROM dialer.attempts') -gt 20 ]"
tap_ok $? "the running campaign is dialing"

# --- the browser ----------------------------------------------------------------------------------
wd_start "$STACK_DIR" 1280 860 || { echo "not ok - ChromeDriver and headless Chromium start"; tail -5 "$STACK_DIR/chromedriver.log"; exit 1; }
echo "ok - ChromeDriver and headless Chromium start"
wd_go "$base/"
wd_wait 10 'return !document.getElementById("login").hidden'
tap_ok $? "without a token the page asks for one"
tap_is "$(wd_jsr 'return String(document.getElementById("campaigns-card").hidden)')" true "and shows no data"

wd_type '#token' 'not-the-token'
wd_click '#login-submit'
wd_wait 10 'return document.getElementById("login-error").textContent.indexOf("refused") >= 0'
tap_ok $? "a wrong token is refused and the page says so"
tap_is "$(wd_jsr 'return String(sessionStorage.getItem("dialerd.token"))')" null "a refused token is not kept"

wd_type '#token' "$API_TOKEN"
wd_click '#login-submit'
wd_wait 15 'return document.body.dataset.loaded === "1" && document.querySelectorAll("#campaigns tbody tr").length >= 3'
tap_ok $? "with the token the campaigns load"
tap_is "$(wd_jsr 'return sessionStorage.getItem("dialerd.token")')" "$API_TOKEN" "the token is kept in sessionStorage"
url=$(wd_jsr 'return location.href')
tap_is "$url" "$base/" "and never put in the URL"
tap_is "$(wd_jsr 'return document.cookie')" "" "nor in a cookie"

row() { wd_jsr "var r = document.querySelector('#campaigns tr[data-campaign-id=\"$1\"]'); return r ? $2 : 'no row';"; }
tap_is "$(row 2 'r.querySelector("td.name").firstChild.textContent')" "Lapsed donors" "the paused campaign's name is shown"
tap_is "$(row 2 'r.querySelector("[role=progressbar]").getAttribute("aria-valuenow")')" 25 \
    "its progress bar stands at 25 % (30 of 120 callees final)"
tap_is "$(row 2 'r.querySelector(".pct").textContent')" "25%" "and says 25%"
tap_is "$(row 2 'r.querySelector(".fill").style.width')" "25%" "and is filled to 25 %"
tap_is "$(row 2 'r.querySelector(".status").textContent')" "paused" "its status is paused"
tap_like "$(row 1 'r.querySelector("td.name").firstChild.textContent + " | " + r.querySelector(".status").textContent + " | " + r.cells[6].textContent')" \
    '^Spring renewals \| running \| [0-9.]+% / 3%$' "the running campaign shows its abandon rate against its 3 % target"

# Names are text: the markup in a name is shown, never run or parsed.
tap_is "$(row 3 'r.querySelector("td.name").firstChild.textContent')" "$hostile" "a name made of markup is shown as text"
tap_is "$(wd_jsr 'return String(document.querySelectorAll("#campaigns img, #campaigns script").length)')" 0 \
    "and adds no element to the page"
tap_is "$(wd_jsr 'return document.title')" "dialerd status" "and runs nothing"

# It refreshes by itself: more callees of the paused campaign become final.
psql -Xq -c "UPDATE dialer.callees SET state = 2 WHERE campaign_id = 2 AND state = 0 AND number <= '+447800000042'"
wd_wait 15 "var r = document.querySelector('#campaigns tr[data-campaign-id=\"2\"] [role=progressbar]'); return r && r.getAttribute('aria-valuenow') === '35'"
tap_ok $? "the page refreshes on its own: the bar moves to 35 % (42 of 120)"

wd_wait 10 'var t = document.querySelector("#agents tr.total"); return !!t && t.cells[7].textContent === "30"'
tap_ok $? "the agents table counts the 30 agents"
tap_like "$(wd_jsr 'var r = [...document.querySelectorAll("#agents tbody tr")].map(function (t) { return t.cells[0].textContent; }); return r.join(",")')" \
    '\(#1\),all agents$' "with a row per skill group and a total"
tap_like "$(wd_jsr 'return document.getElementById("database").textContent')" '^database up' "the header shows the database as up"

# A screenshot for the README, after the progress has moved a little.
wd_screenshot "$root/$BUILD/status-page.png"
file_ok=$(head -c 8 "$root/$BUILD/status-page.png" | od -An -tx1 | tr -d ' \n')
tap_is "$file_ok" 89504e470d0a1a0a "a screenshot is saved as PNG ($BUILD/status-page.png)"
if [ "${STATUS_PAGE_DOCS:-0}" = 1 ] || [ ! -e "$root/docs/status-page.png" ]; then
    cp "$root/$BUILD/status-page.png" "$root/docs/status-page.png"
    echo "# screenshot written to docs/status-page.png"
fi

# A reload keeps the session's token; "Forget token" drops it.
wd_go "$base/"
wd_wait 15 'return document.body.dataset.loaded === "1" && document.getElementById("login").hidden'
tap_ok $? "after a reload the page loads again without asking (the token is in sessionStorage)"
wd_click '#forget'
wd_wait 5 'return !document.getElementById("login").hidden && sessionStorage.getItem("dialerd.token") === null'
tap_ok $? "Forget token clears it and asks again"

wd_stop
stack_stop "$DIALERD_PID" dialerd "$STACK_DIR/dialerd.log"
exit $TAP_FAILED

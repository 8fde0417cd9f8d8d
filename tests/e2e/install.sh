#!/usr/bin/env bash
# End-to-end: `make install DESTDIR=… PREFIX=/usr`, then the INSTALLED pieces work together. The
# installed migrate.sh migrates a fresh database as a plain owner role; the installed roles.sql
# grants; the installed dialerd runs with the installed dialerd.conf (only database_url, listen,
# carrier_url and sms_url changed, by --set, secrets by environment) as the least-privilege role
# through dials, events, SMS and every REST route; the read-only role reads and writes nothing.
# The man page renders without warnings, the systemd unit verifies, a second install keeps an
# edited configuration, and deploy/dialerd.conf and docs/dialerd.8 match --help-config.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/lib/stack.sh"
stack_begin install
dest="$STACK_DIR/root"

# --- make install ------------------------------------------------------------------------------
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$root" --no-print-directory install BUILD="$BUILD" SAN="${SAN:-0}" DESTDIR="$dest" PREFIX=/usr \
    >"$STACK_DIR/install.log" 2>&1
tap_ok $? "make install DESTDIR=… PREFIX=/usr succeeds" "$(tail -3 "$STACK_DIR/install.log" | tr '\n' ' ')"
mode() { stat -c '%a' "$dest$1" 2>/dev/null || echo missing; }
for f in /usr/sbin/dialerd:755 /usr/bin/dialer-sim:755 /usr/share/dialerd/sql/migrate.sh:755 \
         /usr/share/dialerd/sql/0001_schema.sql:644 /usr/share/dialerd/roles.sql:644 \
         /etc/dialerd/dialerd.conf:644 /etc/dialerd/dialerd.env:600 \
         /usr/lib/systemd/system/dialerd.service:644 /usr/lib/sysusers.d/dialerd.conf:644 \
         /usr/share/man/man8/dialerd.8:644 /usr/share/doc/dialerd/prometheus.yml:644; do
    tap_is "$(mode "${f%:*}")" "${f##*:}" "installed ${f%:*} (mode ${f##*:})"
done
n_sql=$(ls "$root"/sql/[0-9][0-9][0-9][0-9]_*.sql | wc -l)
tap_is "$(ls "$dest"/usr/share/dialerd/sql/[0-9][0-9][0-9][0-9]_*.sql | wc -l)" "$n_sql" "every migration is installed beside migrate.sh"
D="$dest/usr/sbin/dialerd"
conf="$dest/etc/dialerd/dialerd.conf"
tap_is "$("$D" --version)" "$("$root/$BUILD/dialerd" --version)" "the installed dialerd is this build"
cmp -s "$conf" <("$D" --help-config)
tap_ok $? "the installed dialerd.conf is the installed dialerd's --help-config"
"$root/deploy/gen-docs.sh" --check "$D" 2>"$STACK_DIR/gen.err"
tap_ok $? "deploy/dialerd.conf and the key list of docs/dialerd.8 match --help-config" "$(cat "$STACK_DIR/gen.err")"
tap_like "$("$D" --check-config -c "$conf" 2>&1)" '^configuration ok' "the installed configuration checks"

# A second install keeps a configuration the site edited, and leaves the new sample beside it.
echo "log_level = warn" >>"$conf"
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$root" --no-print-directory install BUILD="$BUILD" SAN="${SAN:-0}" DESTDIR="$dest" PREFIX=/usr \
    >"$STACK_DIR/install2.log" 2>&1
tap_is "$(tail -1 "$conf")" "log_level = warn" "a second make install keeps the existing dialerd.conf"
tap_ok "$([ -f "$conf.sample" ] && echo 0 || echo 1)" "and writes the new one as dialerd.conf.sample"
sed -i '$d' "$conf"

# --- the man page --------------------------------------------------------------------------------
man8="$dest/usr/share/man/man8/dialerd.8"
out=$(MANWIDTH=80 man -l "$man8" 2>&1 >"$STACK_DIR/man.txt"); rc=$?
tap_ok "$([ $rc = 0 ] && [ -z "$out" ] && echo 0 || echo 1)" "man -l renders dialerd(8) without a warning" "$out"
for section in NAME SYNOPSIS OPTIONS CONFIGURATION SIGNALS FILES "EXIT STATUS"; do
    grep -q "^$section" "$STACK_DIR/man.txt"
    tap_ok $? "dialerd(8) has $section"
done
keys=$("$D" --help-config | awk '/^[a-z_0-9]+ = / { print $1 }')
missing=$(for k in $keys; do grep -qE "^ {7}$k = " "$STACK_DIR/man.txt" || echo "$k"; done | tr '\n' ' ')
tap_is "$missing" "" "dialerd(8) documents every configuration key"
tap_is "$(grep -c '/usr/local' "$STACK_DIR/man.txt") $(grep -c '^ */usr/share/dialerd/sql/$' "$STACK_DIR/man.txt")" "0 1" \
    "its FILES name this installation's paths (/usr/share/dialerd/sql/, no /usr/local)"
out=$(groff -ww -man -z "$man8" 2>&1)
tap_is "$out" "" "groff -ww finds nothing to warn about"
if command -v mandoc >/dev/null; then
    out=$(mandoc -T lint "$man8" 2>&1)
    tap_is "$out" "" "mandoc -T lint finds nothing, style included"
else
    echo "ok - mandoc -T lint # SKIP mandoc is not installed"
fi

# --- the systemd unit ----------------------------------------------------------------------------
unit="$dest/usr/lib/systemd/system/dialerd.service"
val() { sed -n "s/^$1=//p" "$unit" | tail -1; }
tap_is "$(val ExecStart)" "/usr/sbin/dialerd -c /etc/dialerd/dialerd.conf" "ExecStart runs the installed dialerd with the installed config"
tap_is "$(val ExecReload)" '/bin/kill -HUP $MAINPID' "ExecReload sends SIGHUP"
tap_is "$(val KillSignal)" SIGTERM "KillSignal is SIGTERM (the drain)"
tap_is "$(val Restart)" on-failure "Restart=on-failure"
tap_is "$(val User)" dialerd "it runs as the dedicated user dialerd"
tap_is "$(sed -n 's/^u \([a-z]*\) .*/\1/p' "$dest/usr/lib/sysusers.d/dialerd.conf")" dialerd "which sysusers.d creates"
drain=$(sed -n 's/^drain_timeout_ms = //p' "$conf")
tap_ok "$([ "$(( $(val TimeoutStopSec) * 1000 ))" -gt "$drain" ] && echo 0 || echo 1)" \
    "TimeoutStopSec ($(val TimeoutStopSec) s) exceeds drain_timeout_ms ($drain ms)"
for opt in NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes ProtectHome=yes; do
    grep -qx "$opt" "$unit"
    tap_ok $? "hardening: $opt"
done
if command -v systemd-analyze >/dev/null; then
    # The unit names /usr/sbin/dialerd, which lives under DESTDIR here: verify a copy that
    # points there, with the installed man page on MANPATH (verify checks Documentation=).
    mkdir -p "$STACK_DIR/unit"
    sed "s|/usr/sbin/dialerd|$D|g" "$unit" >"$STACK_DIR/unit/dialerd.service"
    out=$(MANPATH="$dest/usr/share/man" systemd-analyze verify "$STACK_DIR/unit/dialerd.service" 2>&1)
    tap_ok $? "systemd-analyze verify accepts the unit" "$out"
    exposure=$(systemd-analyze security --offline=yes "$STACK_DIR/unit/dialerd.service" 2>/dev/null \
        | sed -n 's/.*Overall exposure level for dialerd.service: \([0-9.]*\).*/\1/p')
    tap_ok "$(awk -v e="${exposure:-10}" 'BEGIN { exit !(e <= 2.0) }'; echo $?)" \
        "systemd-analyze security rates its exposure 2.0 or lower" "exposure=$exposure"
else
    echo "ok - systemd-analyze verify accepts the unit # SKIP systemd-analyze is not installed"
fi

# --- a database migrated by the installed migrate.sh, as a plain owner -----------------------------
"$root/tests/lib/pgcluster.sh" start "$STACK_DIR/pg" >/dev/null || { echo "not ok - private cluster starts"; exit 1; }
. "$STACK_DIR/pg/env"
admin_url=$DIALER_DATABASE_URL
# As a DBA would: the owner may create the schema; the daemon's and the dashboards' roles exist
# (roles.sql creates missing ones only when its user may create roles).
psql -Xq -c "CREATE ROLE dialer_owner LOGIN; GRANT CREATE ON DATABASE postgres TO dialer_owner;
             CREATE ROLE dialerd LOGIN; CREATE ROLE dialer_readonly LOGIN"
owner_url="postgresql://dialer_owner@127.0.0.1:$PGPORT/postgres"
out=$("$dest/usr/share/dialerd/sql/migrate.sh" "$owner_url" 2>&1)
tap_like "$out" "applied 0001_schema.sql" "the installed migrate.sh migrates an empty database (as a non-superuser owner)"
tap_like "$("$dest/usr/share/dialerd/sql/migrate.sh" "$owner_url" 2>&1)" '^schema up to date at version [0-9]+$' "and finds nothing to do the second time"
out=$(psql -Xq -d "$owner_url" -v ON_ERROR_STOP=1 -f "$dest/usr/share/dialerd/roles.sql" 2>&1)
tap_ok $? "the installed roles.sql grants (as the owner)" "$out"
out=$(psql -Xq -d "$owner_url" -v ON_ERROR_STOP=1 -f "$dest/usr/share/dialerd/roles.sql" 2>&1)
tap_ok $? "and runs again without error" "$out"
app_url="postgresql://dialerd@127.0.0.1:$PGPORT/postgres"
ro_url="postgresql://dialer_readonly@127.0.0.1:$PGPORT/postgres"

# Least privilege, spot checks: what the roles must not do.
denied() { # denied URL SQL DESC
    local out; out=$(psql -XAtq -d "$1" -c "$2" 2>&1)
    tap_like "$out" 'permission denied' "$3"
}
denied "$app_url" "DELETE FROM dialer.callees" "the daemon's role cannot delete callees"
denied "$app_url" "TRUNCATE dialer.attempts" "nor truncate attempts"
denied "$app_url" "INSERT INTO dialer.skill_groups (id, name) VALUES (9, 'x')" "nor change skill groups"
denied "$app_url" "INSERT INTO dialer.dnc (number) VALUES ('+441')" "nor the do-not-call list"
denied "$app_url" "CREATE TABLE dialer.x (i int)" "nor create tables in the schema"
denied "$ro_url" "UPDATE dialer.agents SET status = 'free'" "the read-only role cannot write"
tap_is "$(psql -XAtq -d "$ro_url" -c "SELECT count(*) FROM dialer.campaign_progress" 2>&1)" 0 "but reads the dashboard views"

# --- the installed dialerd, as the daemon's role, with the installed configuration ---------------
stack_sim "$root/tests/e2e/scenarios/loop.json" || { echo "not ok - dialer-sim starts"; exit 1; }
DIALERD=$D DIALER_DATABASE_URL=$app_url stack_dialerd -c "$conf" --set sms_url="$SIM_SMS/sms" \
    || { echo "not ok - the installed dialerd starts with the installed config"; exit 1; }
base="http://127.0.0.1:$DIALERD_PORT"
tap_like "$(http GET "$base/healthz")" '^200 .*"database":"up"' "/healthz answers 200 with the database up"
tap_like "$(grep -m1 'event=main.start' "$STACK_DIR/dialerd.log")" 'version=' "it logs its start"

# Every REST route, as the role: create, import, read, patch, pause, resume, abort, delete.
jv() { printf '%s' "${2#* }" | jq -r "$1"; }
callers='"callers":["+442070000001"]'
psql -Xq -c "INSERT INTO dialer.caller_numbers (number, max_concurrent, max_cps) VALUES ('+442070000001', 100, 100)"
r=$(bhttp POST "$base/v1/campaigns" "{\"name\":\"inst-a\",\"mode\":\"progressive\",\"skill_group_id\":1,$callers,\"recall_num\":0,\"ring_timeout_s\":15,\"sms_content\":\"hi \${text1}\",\"sms_on_hangup\":true}")
tap_like "$r" '^201 ' "POST /v1/campaigns"
ca=$(jv .data.id "$r")
items=$(seq 1 150 | awk '{ printf "%s{\"number\":\"+4477%08d\",\"variables\":{\"text1\":\"n%d\"}}", (NR > 1 ? "," : ""), $1, $1 }')
r=$(bhttp POST "$base/v1/campaigns/$ca/callees" "{\"callees\":[$items]}")
tap_like "$r" '^200 .*"imported":150' "POST /v1/campaigns/{id}/callees imports 150"
r=$(bhttp POST "$base/v1/campaigns" "{\"name\":\"inst-b\",\"skill_group_id\":1,$callers,\"not_before\":\"2040-01-01T00:00:00Z\"}")
cb=$(jv .data.id "$r")
tap_like "$(bhttp PATCH "$base/v1/campaigns/$cb" '{"priority":2}')" '^200 ' "PATCH /v1/campaigns/{id}"
tap_like "$(bhttp POST "$base/v1/campaigns/$cb/abort")" '^200 ' "POST /v1/campaigns/{id}/abort"
tap_like "$(bhttp DELETE "$base/v1/campaigns/$cb")" '^200 ' "DELETE /v1/campaigns/{id}"
wait_until 10 bash -c "[ \"\$(psql -XAtc 'SELECT status FROM dialer.campaigns WHERE id = $ca')\" = 1 ]"
tap_like "$(bhttp POST "$base/v1/campaigns/$ca/pause")" '^200 ' "POST /v1/campaigns/{id}/pause"
tap_like "$(bhttp POST "$base/v1/campaigns/$ca/resume")" '^200 ' "POST /v1/campaigns/{id}/resume"
tap_like "$(bhttp GET "$base/v1/campaigns")" '^200 .*inst-a' "GET /v1/campaigns"
tap_like "$(bhttp GET "$base/v1/campaigns/$ca/callees?limit=5")" '^200 ' "GET /v1/campaigns/{id}/callees"
tap_like "$(bhttp GET "$base/v1/agents")" '^200 .*sg1-agent' "GET /v1/agents"

# Dials, carrier events, agent updates, SMS: the campaign runs to its end.
wait_until 120 bash -c "[ \"\$(psql -XAtc \"SELECT status = 4 AND NOT EXISTS (SELECT 1 FROM dialer.sms_outbox WHERE state IN ('pending','sending')) FROM dialer.campaigns WHERE id = $ca\")\" = t ]"
tap_ok $? "the campaign is dialed to completion and its SMS are sent"
tap_like "$(bhttp GET "$base/v1/campaigns/$ca")" '^200 .*"finished_callee_count":150' "GET /v1/campaigns/{id} shows it finished"
tap_is "$(q "SELECT count(*) FROM dialer.sms_outbox WHERE state = 'sent'")" \
    "$(q "SELECT count(*) FROM dialer.attempts WHERE answered_at IS NOT NULL")" "one SMS per answered call was sent"
tap_like "$(curl -s -m 5 "$base/metrics" | grep '^dialerd_dials_total ')" '^dialerd_dials_total [1-9]' "GET /metrics counts the dials"
tap_like "$(http GET "$base/")" '^200 <!doctype html>' "GET / serves the status page"
denials=$(grep -c 'permission denied' "$STACK_DIR/dialerd.log")
tap_is "$denials" 0 "no statement of the daemon was refused a privilege" 
[ "$denials" = 0 ] || grep -m3 'permission denied' "$STACK_DIR/dialerd.log" | sed 's/^/# /'

# SIGHUP re-reads the installed file.
sed -i 's/^log_level = info$/log_level = debug/' "$conf"
kill -HUP "$DIALERD_PID"
wait_until 5 grep -q 'event=config.reloaded .*log_level=debug' "$STACK_DIR/dialerd.log"
tap_ok $? "SIGHUP reloads the installed configuration"

stack_stop "$DIALERD_PID" dialerd "$STACK_DIR/dialerd.log"
exit $TAP_FAILED

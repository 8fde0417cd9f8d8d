#!/usr/bin/env bash
# REST throughput benchmark (`make bench-api`): wrk against GET /v1/campaigns/{id} on loopback with
# a bearer token, for a bounded time, against a private PostgreSQL holding one campaign with
# callees and attempts; prints requests/s and latency percentiles, writes build/bench-api.json.
#
#   BENCH_API_DURATION=20 BENCH_API_THREADS=2 BENCH_API_CONNS=50 BENCH_API_CALLEES=10000
#   BENCH_API_POOL=2 (db_pool_size of dialerd)
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/lib/stack.sh"

duration=${BENCH_API_DURATION:-20}
threads=${BENCH_API_THREADS:-2}
conns=${BENCH_API_CONNS:-50}
callees=${BENCH_API_CALLEES:-10000}
pool=${BENCH_API_POOL:-2}
out_json="$root/${BUILD:-build}/bench-api.json"

if ! command -v wrk >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "bench-api: installing wrk (Debian package)"
        export DEBIAN_FRONTEND=noninteractive
        { apt-get install -y -qq wrk || { apt-get update -qq && apt-get install -y -qq wrk; }; } >/dev/null \
            || { echo "bench-api: could not install wrk" >&2; exit 1; }
    else
        echo "bench-api: wrk is not installed; install it with: sudo apt-get install -y wrk" >&2
        exit 1
    fi
fi

stack_begin bench_api
TOKEN="bench-$RANDOM$RANDOM"
stack_pg || { echo "bench-api: the private PostgreSQL did not start" >&2; exit 1; }
stack_dialerd --set api_tokens="$TOKEN" --set db_pool_size="$pool" --set log_level=warn \
    || { echo "bench-api: dialerd did not start" >&2; exit 1; }
base="http://127.0.0.1:$DIALERD_PORT"
auth="Authorization: Bearer $TOKEN"

# One campaign that stays ready (not_before far ahead, so nothing is dialed), its callees
# imported through the API in batches of the default limit, and an attempt for most of them.
psql -Xqc "INSERT INTO dialer.skill_groups (id, name) VALUES (1, 'bench')"
id=$(curl -s -H "$auth" -X POST "$base/v1/campaigns" --data-binary \
    '{"name":"bench","skill_group_id":1,"callers":["+442070000001"],"not_before":"2040-01-01T00:00:00Z"}' \
    | sed -n 's/.*"data":{"id":\([0-9]*\).*/\1/p')
[ -n "$id" ] || { echo "bench-api: creating the campaign failed" >&2; exit 1; }
for ((start = 0; start < callees; start += 10000)); do
    n=$(( callees - start < 10000 ? callees - start : 10000 ))
    seq "$start" $((start + n - 1)) | awk 'BEGIN { printf "{\"callees\":[" }
        { printf "%s\"+4477%08d\"", (NR > 1 ? "," : ""), $1 } END { print "]}" }' >"$STACK_DIR/batch.json"
    curl -s -H "$auth" -X POST "$base/v1/campaigns/$id/callees" --data-binary @"$STACK_DIR/batch.json" \
        | grep -q '"status":0' || { echo "bench-api: importing callees failed" >&2; exit 1; }
done
psql -Xq <<SQL
UPDATE dialer.callees SET state = (id % 3)::smallint, attempts = 1 WHERE campaign_id = $id;
INSERT INTO dialer.attempts (callee_id, campaign_id, attempt_no, caller, answered_at, end_status)
SELECT id, $id, 1, '+442070000001', CASE WHEN state = 1 THEN now() END,
       CASE WHEN state = 1 AND id % 20 = 0 THEN 'abandoned' WHEN state = 1 THEN 'ok' ELSE 'notAnswer' END
  FROM dialer.callees WHERE campaign_id = $id AND state IN (1, 2);
ANALYZE;
SQL
url="$base/v1/campaigns/$id"
curl -s -H "$auth" "$url" | grep -q "\"callee_count\":$callees" \
    || { echo "bench-api: GET $url does not show $callees callees" >&2; exit 1; }

# Warm the connections and caches, then measure.
wrk -t1 -c4 -d2s -H "$auth" "$url" >/dev/null 2>&1
echo "bench-api: wrk -t$threads -c$conns -d${duration}s --latency GET /v1/campaigns/$id" \
     "($callees callees, db_pool_size=$pool)"
wrk -t"$threads" -c"$conns" -d"${duration}s" --timeout 10s --latency -H "$auth" "$url" \
    >"$STACK_DIR/wrk.txt" 2>&1
cat "$STACK_DIR/wrk.txt"

rps=$(awk '/^Requests\/sec:/ { print $2 }' "$STACK_DIR/wrk.txt")
# wrk prints latencies as 1.23ms / 456.78us / 1.02s: in milliseconds.
ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0;
                              else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'; }
p50=$(ms "$(awk '$1 == "50%" { print $2 }' "$STACK_DIR/wrk.txt")")
p99=$(ms "$(awk '$1 == "99%" { print $2 }' "$STACK_DIR/wrk.txt")")
bad=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$STACK_DIR/wrk.txt")
errs=$(awk '/Socket errors:/ { print }' "$STACK_DIR/wrk.txt")
total=$(awk '/requests in/ { print $1 }' "$STACK_DIR/wrk.txt")
[ -n "$rps" ] && [ -n "$total" ] || { echo "bench-api: wrk printed no result" >&2; exit 1; }

mkdir -p "$(dirname "$out_json")"
printf '{"route":"GET /v1/campaigns/{id}","duration_s":%s,"threads":%s,"connections":%s,"callees":%s,"db_pool_size":%s,"requests":%s,"requests_per_s":%s,"latency_p50_ms":%s,"latency_p99_ms":%s,"non_2xx":%s}\n' \
    "$duration" "$threads" "$conns" "$callees" "$pool" "$total" "$rps" "$p50" "$p99" "${bad:-0}" >"$out_json"
echo
echo "bench-api: $rps requests/s, p50 ${p50} ms, p99 ${p99} ms, non-2xx ${bad:-0}${errs:+, $errs}"
echo "bench-api: written to $out_json"
stack_stop "$DIALERD_PID" dialerd "$STACK_DIR/dialerd.log" >/dev/null
[ "${bad:-0}" = 0 ] || { echo "bench-api: some answers were not 2xx" >&2; exit 1; }

#!/usr/bin/env bash
# docs/openapi.yaml against the routes dialerd serves (`dialerd --print-routes`), both ways: every
# served route is documented with its authentication, and every documented operation is served.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/lib/tap.sh"
DIALERD=${DIALERD_BIN:-$root/${BUILD:-build}/dialerd}
spec="$root/docs/openapi.yaml"
work=$(mktemp -d "${TEST_WORK:-/tmp}/openapi.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$DIALERD" --print-routes >"$work/served.txt"
tap_is "$?" 0 "dialerd --print-routes exits 0"
tap_ok "$([ -s "$work/served.txt" ] && echo 0 || echo 1)" "and prints the route table"
# "METHOD PATH AUTH" -> "METHOD PATH" and "METHOD PATH AUTH", sorted.
awk '{ print $1, $2 }' "$work/served.txt" | sort -u >"$work/served"
sort -u "$work/served.txt" >"$work/served_auth"

# The spec's operations, read by layout (no YAML library needed): a path is a key at two
# spaces under `paths:`, an operation a method key at four spaces under it.
awk '
    /^paths:/ { in_paths = 1; next }
    /^[^ #]/ { in_paths = 0 }
    in_paths && /^  \/[^ ]*:[ ]*$/ { path = $1; sub(/:$/, "", path); next }
    in_paths && path != "" && /^    (get|put|post|patch|delete|head|options):[ ]*$/ {
        m = $1; sub(/:$/, "", m); print toupper(m), path
    }
' "$spec" | sort -u >"$work/documented"
tap_ok "$([ -s "$work/documented" ] && echo 0 || echo 1)" "docs/openapi.yaml lists operations under paths"

while read -r method path; do
    grep -qxF "$method $path" "$work/documented"
    tap_ok $? "served $method $path is documented in docs/openapi.yaml"
done <"$work/served"
while read -r method path; do
    grep -qxF "$method $path" "$work/served"
    tap_ok $? "documented $method $path is served by dialerd"
done <"$work/documented"

# With a YAML parser at hand: the document is valid OpenAPI 3.0, and each operation's security
# and 401 answer match the route's authentication class.
if python3 -c 'import yaml' 2>/dev/null; then
    python3 - "$spec" "$work/served_auth" >"$work/py.out" <<'PY'
import sys, yaml

spec = yaml.safe_load(open(sys.argv[1]))
want = {"none": [], "bearer": [{"bearerAuth": []}],
        "signed": [{"dialerTimestamp": [], "dialerSignature": []}]}
for line in open(sys.argv[2]):
    method, path, auth = line.split()
    op = spec.get("paths", {}).get(path, {}).get(method.lower())
    if op is None:
        continue                      # reported above
    sec = op.get("security", spec.get("security", []))
    good = sec == want[auth]
    print(("ok" if good else "not ok") + f" - {method} {path}: security in the spec matches "
          f"the served auth ({auth})" + ("" if good else f" # spec has {sec}"))
    codes = set(str(c) for c in op.get("responses", {}))
    if auth != "none":
        print(("ok" if "401" in codes else "not ok") + f" - {method} {path}: 401 is documented")
        print(("ok" if "429" in codes else "not ok") + f" - {method} {path}: 429 is documented")
    if "{id}" in path and path.startswith("/v1/campaigns"):
        print(("ok" if "404" in codes else "not ok") + f" - {method} {path}: 404 (-32) is documented")
try:
    from openapi_spec_validator import validate
except ImportError:
    print("ok - docs/openapi.yaml is valid OpenAPI 3.0 # SKIP openapi-spec-validator is not installed")
else:
    try:
        validate(spec)
        print("ok - docs/openapi.yaml is valid OpenAPI 3.0 (openapi-spec-validator)")
    except Exception as e:                # the validator's own error classes vary by version
        print("not ok - docs/openapi.yaml is valid OpenAPI 3.0 # " + str(e).splitlines()[0])
PY
    rc=$?
    cat "$work/py.out"
    { [ $rc = 0 ] && ! grep -q '^not ok' "$work/py.out"; } || TAP_FAILED=1
else
    echo "ok - security schemes match the served auth # SKIP python3 with PyYAML is not installed"
fi
exit $TAP_FAILED

#!/usr/bin/env bash
# Regenerates what is derived from `dialerd --help-config`: deploy/dialerd.conf (the sample
# configuration) and the key list of docs/dialerd.8 (between its BEGIN KEYS / END KEYS lines).
#
#   deploy/gen-docs.sh [--check] [DIALERD]      (make regen)
#
# DIALERD defaults to build/dialerd. --check changes nothing and exits 1, naming the file, when
# either is out of date (tests/e2e/install.sh runs it).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
check=0
[ "${1:-}" = --check ] && { check=1; shift; }
dialerd=${1:-$root/build/dialerd}
conf="$root/deploy/dialerd.conf"
man="$root/docs/dialerd.8"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$dialerd" --help-config >"$work/dialerd.conf"

# The key list in man(7) markup: per key a .TP entry `key = default`, its help as a paragraph,
# then its range / reload / environment line. Backslashes are escaped, and a line starting
# with a control character is protected.
awk '
    function esc(s) { gsub(/\\/, "\\e", s); return s }
    # Prints text as lines of at most 78 bytes, none starting with a control character.
    function wrap(s,    out, w, i, nw, words) {
        nw = split(s, words, " "); out = ""
        for (i = 1; i <= nw; i++) {
            w = words[i]
            if (out != "" && length(out) + 1 + length(w) > 78) { emit(out); out = w }
            else out = out (out == "" ? "" : " ") w
        }
        if (out != "") emit(out)
    }
    function emit(l) { if (l ~ /^[.\x27]/) l = "\\&" l; print l }
    function sentence(s) { s = toupper(substr(s, 1, 1)) substr(s, 2); return s ~ /\.$/ ? s : s "." }
    /^$/ { header = 0; n = 0; next }
    NR == 1 { header = 1 }
    header { next }
    /^# / { line[++n] = substr($0, 3); next }
    /^[a-z_0-9]+ = / {
        key = $1; val = substr($0, index($0, " = ") + 3)
        print ".TP"
        print "\\fB" key "\\fR = " (val == "" ? "(empty)" : "\\fI" esc(val) "\\fR")
        text = ""
        for (i = 1; i < n; i++) text = text (i > 1 ? " " : "") line[i]
        wrap(esc(sentence(text)))
        print ".br"
        wrap(esc(sentence(line[n])))
        n = 0
    }
' "$work/dialerd.conf" >"$work/keys.man"

grep -q '^\.\\" BEGIN KEYS' "$man" && grep -q '^\.\\" END KEYS' "$man" \
    || { echo "gen-docs: $man lacks its BEGIN KEYS / END KEYS lines" >&2; exit 2; }
awk -v keys="$work/keys.man" '
    /^\.\\" BEGIN KEYS/ { print; while ((getline l < keys) > 0) print l; skip = 1; next }
    /^\.\\" END KEYS/ { skip = 0 }
    !skip { print }
' "$man" >"$work/dialerd.8"

stale=0
for pair in "$work/dialerd.conf:$conf" "$work/dialerd.8:$man"; do
    new=${pair%%:*} old=${pair#*:}
    cmp -s "$new" "$old" && continue
    if [ "$check" = 1 ]; then
        echo "gen-docs: ${old#"$root"/} is out of date with dialerd --help-config (run make regen)" >&2
        stale=1
    else
        cp "$new" "$old"
        echo "gen-docs: wrote ${old#"$root"/}"
    fi
done
exit $stale

#!/usr/bin/env bash
# tools/plots/plots.py on committed reports: the per-run figures and the docs' figures
# are written as SVG files (and the script refuses a file that is not a report).
# Usage: plots_test.sh PYTHON SOURCE_DIR
set -u
python=$1 src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
bad() { echo "FAIL: $*"; fails=$((fails+1)); }
is_svg() { [ -s "$1" ] && grep -q "<svg" "$1" && grep -q "</svg>" "$1"; }

"$python" "$src/tools/plots/plots.py" --out "$work/run" "$src/docs/data/secure.json" "$src/docs/data/insecure.json" \
  > "$work/out" 2>&1 || bad "per-run plots: $(cat "$work/out")"
for f in latency_cdf members_epochs bytes_per_s; do is_svg "$work/run/$f.svg" || bad "no $f.svg"; done

"$python" "$src/tools/plots/plots.py" --docs "$src/docs/data" --out "$work/docs" > "$work/out" 2>&1 \
  || bad "--docs: $(cat "$work/out")"
for f in latency_cdf members_epochs bytes_per_s loss_sweep secure_vs_insecure; do
  is_svg "$work/docs/$f.svg" || bad "no docs $f.svg"
done

echo '{"not": "a report"}' > "$work/bogus.json"
"$python" "$src/tools/plots/plots.py" --out "$work/bogus" "$work/bogus.json" > "$work/out" 2>&1
rc=$?
[ $rc = 2 ] || bad "a file without series/cdf: exit $rc, want 2"
ls "$work/bogus"/*.svg > /dev/null 2>&1 && bad "SVGs written for a bogus report"

[ $fails = 0 ] && echo "1 passed, 0 failed" || echo "0 passed, 1 failed"
[ $fails = 0 ]

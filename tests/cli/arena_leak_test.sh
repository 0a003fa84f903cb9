#!/usr/bin/env bash
# Positive controls for the arena's messaging adversary (issue 12): with
# --adversary-leak KIND the adversary is handed keys it must not hold (another team's
# member's keys, the addressee's own secret, a key of the team a switched bot left), so
# --check must fail, and for that reason: the report's adversary.KIND.decryptions > 0
# while the other kinds stay at 0. Usage: arena_leak_test.sh ARENA OUT_DIR
set -u
arena=$1 out=$2
mkdir -p "$out"
passes=0 fails=0
for kind in other_team other_private switched_team; do
  report="$out/leak_$kind.json"
  rm -f "$report"
  "$arena" --bots 24 --seconds 5 --teams 2 --switch 2 --check --quiet --adversary-leak "$kind" --report "$report" \
    > "$out/leak_$kind.log" 2>&1
  rc=$?
  if [ $rc -eq 1 ] && python3 - "$report" "$kind" <<'PY'
import json, sys
report, kind = sys.argv[1], sys.argv[2]
a = json.load(open(report))["adversary"]
ok = a[kind]["decryptions"] > 0 and all(v["decryptions"] == 0 for k, v in a.items() if k != kind)
sys.exit(0 if ok else 1)
PY
  then
    passes=$((passes + 1))
  else
    fails=$((fails + 1))
    echo "FAIL: --adversary-leak $kind: exit $rc (want 1 with adversary.$kind.decryptions > 0 only)"
    tail -3 "$out/leak_$kind.log"
  fi
done
echo "$passes passed, $fails failed"
[ $fails -eq 0 ]

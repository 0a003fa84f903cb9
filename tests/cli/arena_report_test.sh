#!/usr/bin/env bash
# The players' measurements in netkey-arena's report (issue 13), a secure run with --loss
# and an insecure one, both under --check:
#   stall_ms {p50 <= p99 <= max, samples} with one sample per delayed snapshot,
#   stall_per_rekey_ms: one sample per member per rekey (0 when nothing waited), each
#   no longer than the longest stall,
#   state_delayed_fraction = (delayed + lost to a rekey) / expected, in [0, 1],
#   inputs_dropped_epoch, a count; a time series with one sample a second;
#   the insecure run has the same keys, no rekeys, no stall, and state traffic, and the
#   same game traffic as the secure run: private statuses and kill events (reliable);
#   the secure run queues redundant rekey copies, and --rekey-copies 0 none.
# Usage: arena_report_test.sh ARENA PYTHON
set -u
arena=$1 python=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; echo "0 passed, 1 failed"; exit 1; }

"$arena" --bots 20 --seconds 5 --loss 5 --check --quiet --report "$work/secure.json" > "$work/secure.out" 2>&1 \
  || fail "secure --loss 5 --check: $(tail -5 "$work/secure.out")"
grep -q "stall p50" "$work/secure.out" || fail "no players' line in the summary"
"$arena" --bots 20 --seconds 5 --insecure --check --quiet --report "$work/insecure.json" > "$work/insecure.out" 2>&1 \
  || fail "--insecure --check: $(tail -5 "$work/insecure.out")"
"$arena" --bots 10 --seconds 3 --loss 5 --rekey-copies 0 --quiet --report "$work/nocopies.json" > "$work/nocopies.out" 2>&1 \
  || fail "--rekey-copies 0: $(tail -5 "$work/nocopies.out")"
for bad in "--rekey-copies 9" "--insecure --rekey-copies 1"; do
  "$arena" $bad --seconds 1 > /dev/null 2>&1; [ $? -eq 2 ] || fail "$bad is a usage error"
done

"$python" - "$work/secure.json" "$work/insecure.json" "$work/nocopies.json" <<'PY' || fail "report checks"
import json, sys
s, i, n = (json.load(open(p)) for p in sys.argv[1:4])
bad = []
def want(cond, what):
    if not cond: bad.append(what)
for name, r in (("secure", s), ("insecure", i)):
    st = r["stall_ms"]
    want(st["p50"] <= st["p99"] <= st["max"], f"{name}: stall percentiles out of order {st}")
    want(st["samples"] == r["state_packets_delayed"], f"{name}: one stall sample per delayed snapshot")
    pr = r["stall_per_rekey_ms"]
    want(pr["p50"] <= pr["p99"] <= pr["max"] <= st["max"], f"{name}: per-rekey stall {pr} against {st}")
    want(r["private_sent"] > 0 and r["bot_reliable_events"] > 0, f"{name}: private statuses and reliable events")
    exp = r["state_packets_expected"]
    want(exp > 20 * 30, f"{name}: 20 bots x 5 s at 30 Hz expect well over 600 snapshots, got {exp}")
    frac = (r["state_packets_delayed"] + r["state_packets_lost_rekey"]) / exp
    want(0 <= r["state_delayed_fraction"] <= 1 and abs(r["state_delayed_fraction"] - frac) < 1e-5,
         f"{name}: state_delayed_fraction {r['state_delayed_fraction']} != {frac}")
    want(0 < r["state_packets_received"] <= exp, f"{name}: received {r['state_packets_received']} of {exp} expected")
    want(r["state_packets_delayed"] <= r["state_packets_received"], f"{name}: delayed snapshots were received")
    want(r["state_packets_lost_rekey"] == sum(r["transitions"].values()), f"{name}: lost to a rekey = transitions")
    want(isinstance(r["inputs_dropped_epoch"], int) and r["inputs_dropped_epoch"] >= 0, f"{name}: inputs_dropped_epoch")
    want(r["inputs_dropped_epoch"] <= r["inputs_sent"] and r["inputs_sent"] > 0, f"{name}: inputs sent/dropped")
    ser = r["series"]
    want(4 <= len(ser["t_s"]) <= 6, f"{name}: one sample a second over 5 s, got {len(ser['t_s'])}")
    want(all(len(v) == len(ser["t_s"]) for v in ser.values()), f"{name}: series of unequal length")
    want(max(ser["members"]) >= 15, f"{name}: members series {ser['members']}")
    want(sum(ser["server_bytes_per_s"]) <= r["server_bytes"] and sum(ser["server_bytes_per_s"]) > 0, f"{name}: bytes series")
    for k, q in r["cdf"].items():
        want(len(q) in (0, 101) and q == sorted(q), f"{name}: cdf {k} is not 101 ascending percentiles")
    want(r["state_bytes_per_bot_per_s"] > 0 and r["process_cpu_ms_per_s"] > 0, f"{name}: bytes and CPU")
    want(r["converged"] is True, f"{name}: converged")
want(s["mode"] == "secure" and i["mode"] == "insecure", "modes")
want(s["loss_pct"] == 5, "loss_pct")
want(s["epochs"] > 0 and s["rekey_bytes_per_bot_per_s"] > 0, "the secure run rekeyed")
want(len(s["cdf"]["rekey_latency_ms"]) == 101, "the secure run has a rekey latency CDF")
want(i["epochs"] == 0 and i["rekeys"] == 0 and i["rekey_bytes_per_bot_per_s"] == 0, "the insecure run has no rekeys")
want(i["stall_ms"]["samples"] == 0 and i["state_delayed_fraction"] == 0, "the insecure run has no stall")
want(i["stall_per_rekey_ms"]["samples"] == 0, "the insecure run has no per-rekey stall")
want(s["stall_per_rekey_ms"]["samples"] >= s["epochs"], "one per-rekey stall sample per bot per epoch it saw")
want(set(s) == set(i), f"secure and insecure reports differ in keys: {set(s) ^ set(i)}")
want(s["rekey_copies_queued"] > 0 and i["rekey_copies_queued"] == 0, "the secure run queued rekey copies")
want(n["rekey_copies_queued"] == 0 and n["epochs"] > 0, "--rekey-copies 0 queues none")
for b in bad: print("FAIL:", b)
sys.exit(1 if bad else 0)
PY
echo "1 passed, 0 failed"

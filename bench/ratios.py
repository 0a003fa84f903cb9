#!/usr/bin/env python3
"""Pairs BM_X/... with BM_RawX/... (or any two prefixes) in Google Benchmark JSON output
and prints a Markdown table of median CPU times and their ratio.

  bench_crypto --benchmark_repetitions=5 --benchmark_format=json > out.json
  bench/ratios.py out.json                       # BM_Seal vs BM_RawSeal, etc.
"""
import json, sys

def main():
    data = json.load(open(sys.argv[1]))
    med = {}
    for b in data["benchmarks"]:
        if b.get("aggregate_name") == "median" or ("aggregate_name" not in b and b["name"] not in med):
            med[b.get("run_name", b["name"])] = b["cpu_time"]
    print("| benchmark | ours (ns) | raw libsodium (ns) | ratio |")
    print("|---|---:|---:|---:|")
    for name, t in med.items():
        if name.startswith("BM_Raw"):
            continue
        head, _, tail = name.partition("/")
        raw = "BM_Raw" + head[3:] + ("/" + tail if tail else "")
        if raw in med:
            print(f"| {name} | {t:.0f} | {med[raw]:.0f} | {t / med[raw]:.3f} |")

main()

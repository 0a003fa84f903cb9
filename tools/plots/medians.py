#!/usr/bin/env python3
"""The median over repeated runs (tools/plots/sweep.sh).

  medians.py DATA_DIR

Reads DATA_DIR/runs/<name>_r<k>.json and <name>_r<k>_server.json; for every <name>,
copies the median run (loss_*: by rekey latency p50; others: by the server's CPU) to
DATA_DIR/<name>.json and <name>_server.json, and writes DATA_DIR/MEDIANS.md: the median
of each measure over the runs, measure by measure, with the runs' spread.
"""
import glob
import json
import os
import re
import shutil
import statistics
import sys

MEASURES = [  # (label, file: bots or server, path in the report)
    ("leave -> all on the epoch p50 (ms)", "bots", ("rekey_latency_ms", "p50")),
    ("leave -> all on the epoch p99 (ms)", "bots", ("rekey_latency_ms", "p99")),
    ("stall p50 (ms)", "bots", ("stall_ms", "p50")),
    ("stall p99 (ms)", "bots", ("stall_ms", "p99")),
    ("stall per member per rekey p99 (ms)", "bots", ("stall_per_rekey_ms", "p99")),
    ("state delayed or lost to a rekey", "bots", ("state_delayed_fraction",)),
    ("snapshots received / expected", "bots", ("received_fraction",)),
    ("inputs dropped (epoch), server", "server", ("inputs_dropped_epoch",)),
    ("bytes per bot per s", "bots", ("bytes_per_bot_per_s",)),
    ("rekey bytes per bot per s", "bots", ("rekey_bytes_per_bot_per_s",)),
    ("server CPU (ms per s)", "server", ("process_cpu_ms_per_s",)),
]


def get(report, path):
    if path == ("received_fraction",):
        exp = report.get("state_packets_expected") or 0
        return report.get("state_packets_received", 0) / exp if exp else None
    v = report
    for k in path:
        if not isinstance(v, dict) or k not in v:
            return None
        v = v[k]
    return v if isinstance(v, (int, float)) else None


def main():
    data = sys.argv[1]
    groups = {}
    for p in sorted(glob.glob(os.path.join(data, "runs", "*_r*.json"))):
        m = re.fullmatch(r"(.+)_r(\d+)\.json", os.path.basename(p))
        if m and not m.group(1).endswith("_server") and "_server" not in os.path.basename(p):
            groups.setdefault(m.group(1), []).append(p)
    lines = ["# Medians over the runs (tools/plots/medians.py)", "",
             "The median over the runs, then every run's value in run order. PARAMETERS has the load after each run.", ""]
    for name, paths in groups.items():
        runs = []
        for p in paths:
            with open(p) as f:
                bots = json.load(f)
            sp = p[:-5] + "_server.json"
            server = {}
            if os.path.exists(sp):
                with open(sp) as f:
                    server = json.load(f)
            runs.append((p, sp, {"bots": bots, "server": server}))
        key = (("bots", ("rekey_latency_ms", "p50")) if name.startswith("loss_")
               else ("server", ("process_cpu_ms_per_s",)))
        ranked = sorted(runs, key=lambda r: get(r[2][key[0]], key[1]) or 0)
        med = ranked[len(ranked) // 2]
        shutil.copyfile(med[0], os.path.join(data, name + ".json"))
        if os.path.exists(med[1]):
            shutil.copyfile(med[1], os.path.join(data, name + "_server.json"))
        lines += [f"## {name} ({len(runs)} runs; {os.path.basename(med[0])} is {name}.json)", "",
                  "| measure | median | runs |", "|---|---|---|"]
        for label, which, path in MEASURES:
            vals = [v for v in (get(r[2][which], path) for r in runs) if v is not None]
            if not vals:
                continue
            fmt = (lambda v: f"{v:.3f}") if max(abs(v) for v in vals) < 2 else (lambda v: f"{v:.0f}")
            lines.append(f"| {label} | {fmt(statistics.median(vals))} | "
                         + ", ".join(fmt(v) for v in vals) + " |")
        lines.append("")
    with open(os.path.join(data, "MEDIANS.md"), "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""SVG plots from netkey-arena / netkey-loadbots JSON reports (--report FILE).

  plots.py --out DIR REPORT.json [REPORT.json ...]
      per-run figures, one line per report (labelled by file name):
        latency_cdf.svg     CDF of the rekey latency and of the stall (cdf.* in the report)
        members_epochs.svg  members in the group and the epoch, per second (series.*)
        bytes_per_s.svg     bytes per second (server sent, else bots received)

  plots.py --docs DATA_DIR --out DIR
      the documentation's figures from the committed reports in DATA_DIR
      (docs/data, written by tools/plots/sweep.sh: loss_<pct>.json, secure.json,
      insecure.json and their servers' secure_server.json, insecure_server.json):
        the three figures above for the loss sweep, plus
        loss_sweep.svg          stall p99, delayed fraction, rekey latency p99 and inputs
                                dropped for an epoch reason (loss_<pct>_server.json) against loss
        secure_vs_insecure.svg  bytes per bot per second, and the server's process CPU,
                                secure against insecure

Needs python3-matplotlib (Debian). Exit status: 0 done, 2 usage or bad report,
3 matplotlib missing. The SVGs are reproducible (fixed hash salt, no date).
"""
import argparse
import json
import os
import re
import sys


def load_matplotlib():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.stderr.write("plots.py: matplotlib is missing: apt-get install python3-matplotlib\n")
        sys.exit(3)
    plt.rcParams["svg.hashsalt"] = "netkey"
    plt.rcParams["svg.fonttype"] = "none"
    return plt


def read_report(path):
    try:
        with open(path) as f:
            r = json.load(f)
    except (OSError, ValueError) as e:
        sys.stderr.write(f"plots.py: cannot read {path}: {e}\n")
        sys.exit(2)
    if not isinstance(r, dict) or "series" not in r or "cdf" not in r:
        sys.stderr.write(f"plots.py: {path} has no series/cdf (a report from an older binary?)\n")
        sys.exit(2)
    return r


def label_of(path, r):
    name = os.path.splitext(os.path.basename(path))[0]
    return f"{name} ({r.get('mode', 'secure')}, {r.get('bots', '?')} bots)"


def save(plt, fig, out, name):
    path = os.path.join(out, name)
    fig.tight_layout()
    fig.savefig(path, format="svg", metadata={"Date": None})
    plt.close(fig)
    print(path)


def latency_cdf(plt, runs, out):
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, title in ((axes[0], "rekey_latency_ms", "rekey latency (leave -> every bot past the epoch)"),
                           (axes[1], "stall_ms", "stall: snapshot waiting for its epoch key")):
        for label, r in runs:
            q = r["cdf"].get(key, [])
            if q:
                ax.plot(q, [p / 100 for p in range(len(q))], label=label)
        ax.set_xlabel("ms")
        ax.set_ylabel("fraction of samples")
        ax.set_title(title, fontsize=9)
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    save(plt, fig, out, "latency_cdf.svg")


def members_epochs(plt, runs, out):
    fig, (a, b) = plt.subplots(2, 1, figsize=(8, 5), sharex=True)
    for label, r in runs:
        s = r["series"]
        a.plot(s["t_s"], s["members"], label=label)
        b.plot(s["t_s"], s["epoch"], label=label)
    a.set_ylabel("members")
    b.set_ylabel("epoch")
    b.set_xlabel("time (s)")
    for ax in (a, b):
        ax.grid(alpha=0.3)
    a.legend(fontsize=7)
    save(plt, fig, out, "members_epochs.svg")


def bytes_per_s(plt, runs, out):
    fig, ax = plt.subplots(figsize=(8, 4))
    for label, r in runs:
        s = r["series"]
        ys = s.get("server_bytes_per_s") if any(s.get("server_bytes_per_s", [])) else s.get("bot_bytes_per_s", [])
        ax.plot(s["t_s"], [y / 1024 for y in ys], label=label)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("KiB/s (server sent; bots received without a server)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    save(plt, fig, out, "bytes_per_s.svg")


def loss_sweep(plt, sweep, servers, out):
    """sweep: [(pct, bots' report)]; servers: {pct: the server's report} (its input drops)."""
    xs = [pct for pct, _ in sweep]
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.6))
    axes[0].plot(xs, [r["stall_ms"]["p99"] for _, r in sweep], "o-")
    axes[0].set_ylabel("stall p99 (ms)")
    axes[1].plot(xs, [100 * r["state_delayed_fraction"] for _, r in sweep], "o-")
    axes[1].set_ylabel("snapshots delayed or lost to a rekey (%)")
    axes[2].plot(xs, [r["rekey_latency_ms"]["p99"] for _, r in sweep], "o-")
    axes[2].set_ylabel("rekey latency p99 (ms)")
    inputs = [(pct, (servers.get(pct) or r).get("inputs_dropped_epoch"), r.get("inputs_sent")) for pct, r in sweep]
    inputs = [(p, d, n) for p, d, n in inputs if d is not None and n]
    axes[3].plot([p for p, _, _ in inputs], [100 * d / n for _, d, n in inputs], "o-")
    axes[3].set_ylabel("inputs dropped for an epoch reason (%)")
    for ax in axes:
        ax.set_xlabel("loss each way (%)")
        ax.grid(alpha=0.3)
    bots = sweep[0][1].get("bots", "?")
    fig.suptitle(f"loss sweep, {bots} bots", fontsize=10)
    save(plt, fig, out, "loss_sweep.svg")


def secure_vs_insecure(plt, pair, servers, out):
    """pair: [(name, bots' report)]; servers: {name: the server's own report} (its CPU)."""
    names = [n for n, _ in pair]
    cpus = [servers.get(n, r) for n, r in pair]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    per_bot = [[r.get("rekey_bytes_per_bot_per_s", 0) for _, r in pair],
               [r.get("state_bytes_per_bot_per_s", 0) for _, r in pair]]
    axes[0].bar(names, per_bot[1], label="state")
    axes[0].bar(names, per_bot[0], bottom=per_bot[1], label="rekeys")
    axes[0].set_ylabel("bytes per bot per second (received)")
    axes[0].legend(fontsize=8)
    axes[1].bar(names, [cpu.get("process_cpu_ms_per_s", 0) for cpu in cpus])
    axes[1].set_ylabel("server process CPU (ms per s)" if servers else "process CPU (ms per s)")
    for ax in axes:
        ax.grid(alpha=0.3, axis="y")
    save(plt, fig, out, "secure_vs_insecure.svg")


def docs(plt, data, out):
    sweep = []
    for name in sorted(os.listdir(data)):
        m = re.fullmatch(r"loss_(\d+(?:\.\d+)?)\.json", name)
        if m:
            sweep.append((float(m.group(1)), read_report(os.path.join(data, name))))
    sweep.sort(key=lambda x: x[0])
    if not sweep:
        sys.stderr.write(f"plots.py: no loss_<pct>.json in {data}\n")
        sys.exit(2)
    runs = [(f"loss {pct:g} %", r) for pct, r in sweep]
    latency_cdf(plt, runs, out)
    members_epochs(plt, runs, out)
    bytes_per_s(plt, runs, out)
    servers = {}
    for pct, _ in sweep:
        path = os.path.join(data, f"loss_{pct:g}_server.json")
        if os.path.exists(path):
            servers[pct] = read_report(path)
    loss_sweep(plt, sweep, servers, out)
    pair = [(n, read_report(os.path.join(data, n + ".json"))) for n in ("secure", "insecure")
            if os.path.exists(os.path.join(data, n + ".json"))]
    own = {n: read_report(os.path.join(data, n + "_server.json")) for n, _ in pair
               if os.path.exists(os.path.join(data, n + "_server.json"))}
    if len(pair) == 2:
        secure_vs_insecure(plt, pair, own, out)


def main():
    ap = argparse.ArgumentParser(description="SVG plots from netkey-arena / netkey-loadbots reports")
    ap.add_argument("--out", required=True, help="directory for the SVG files")
    ap.add_argument("--docs", metavar="DATA_DIR", help="make the documentation's figures from DATA_DIR")
    ap.add_argument("reports", nargs="*")
    a = ap.parse_args()
    if bool(a.docs) == bool(a.reports):
        ap.error("give REPORT.json files, or --docs DATA_DIR")
    plt = load_matplotlib()
    os.makedirs(a.out, exist_ok=True)
    if a.docs:
        docs(plt, a.docs, a.out)
        return
    runs = [(label_of(p, r), r) for p in a.reports for r in [read_report(p)]]
    latency_cdf(plt, runs, a.out)
    members_epochs(plt, runs, a.out)
    bytes_per_s(plt, runs, a.out)


if __name__ == "__main__":
    main()

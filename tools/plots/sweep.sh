#!/usr/bin/env bash
# The measurement runs behind docs/figures (make plots redraws them from docs/data).
# Run it on a quiet machine with a release build:
#
#   cmake --preset release && cmake --build --preset release --target netkey-arena netkey-loadbots
#   tools/plots/sweep.sh [BIN_DIR [SECONDS [BOTS [OUT_DIR]]]]   (defaults: build/release/samples 60 200 docs/data)
#   make plots
#
# Writes to OUT_DIR:
#   loss_<pct>.json   netkey-arena embedded (server + BOTS bots), --loss 0, 1, 2, 5: loss and
#                     duplication each way, 5-25 ms jitter, no partition
#   secure.json       netkey-loadbots: BOTS bots against netkey-arena --listen (no faults)
#   secure_server.json  that server's own report (its process CPU alone)
#   insecure.json, insecure_server.json  the same with --insecure on both (plain ENet)
#   PARAMETERS        what ran, when, on what machine
# Default churn: 10 % of the bots join and 10 % leave per second, bulk waves every 10 s.
set -eu
bin=${1:-build/release/samples} seconds=${2:-60} bots=${3:-200} out=${4:-docs/data}
arena=$bin/netkey-arena loadbots=$bin/netkey-loadbots
[ -x "$arena" ] && [ -x "$loadbots" ] || { echo "sweep.sh: no netkey-arena/netkey-loadbots in $bin" >&2; exit 2; }
mkdir -p "$out"

for pct in 0 1 2 5; do
  echo "== loss $pct %"
  "$arena" --bots "$bots" --seconds "$seconds" --loss "$pct" --quiet --report "$out/loss_$pct.json" | tail -4
done

# Server and bots in separate processes, so process_cpu_ms_per_s is the server's alone.
pair() {  # pair NAME [--insecure]
  local name=$1; shift
  local port=$((20000 + RANDOM % 20000))
  echo "== $name"
  "$arena" --listen "$port" --seconds $((seconds + 10)) --quiet --report "$out/${name}_server.json" "$@" > /dev/null &
  local server=$!
  sleep 0.5
  "$loadbots" --connect 127.0.0.1:"$port" --bots "$bots" --seconds "$seconds" --report "$out/$name.json" "$@" | tail -3
  wait "$server"
}
pair secure
pair insecure --insecure

{
  echo "tools/plots/sweep.sh $bin $seconds $bots $out"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "machine: $(nproc) cores, $(uname -srm)"
  echo "load average before the runs: see the lead's notes; these runs are only as quiet as the machine"
  echo "netkey: $(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo unknown)"
} > "$out/PARAMETERS"
echo "sweep.sh: reports in $out; now run: make plots"

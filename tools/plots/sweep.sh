#!/usr/bin/env bash
# The measurement runs behind docs/figures (make plots redraws them from docs/data).
# Run it on a quiet machine with a release build:
#
#   cmake --preset release && cmake --build --preset release --target netkey-arena netkey-loadbots
#   tools/plots/sweep.sh [BIN_DIR [SECONDS [BOTS [OUT_DIR]]]]   (defaults: build/release/samples 60 200 docs/data)
#   make plots
#
# Writes to OUT_DIR:
#   loss_<pct>.json   netkey-loadbots, BOTS bots against netkey-arena --listen, --loss 0, 1,
#                     2, 5 (loss and half as much duplication each way, 5-25 ms jitter, no
#                     partition); loss_<pct>_server.json: that server's own report
#   secure.json       the same without the lossy proxy; secure_server.json its server
#   insecure.json, insecure_server.json  the same with --insecure on both (plain ENet)
#   PARAMETERS        what ran, when, on what machine
# Default churn: 10 % of the bots join and 10 % leave per second, bulk waves every 10 s.
set -eu
bin=${1:-build/release/samples} seconds=${2:-60} bots=${3:-200} out=${4:-docs/data}
arena=$bin/netkey-arena loadbots=$bin/netkey-loadbots
[ -x "$arena" ] && [ -x "$loadbots" ] || { echo "sweep.sh: no netkey-arena/netkey-loadbots in $bin" >&2; exit 2; }
mkdir -p "$out"

# Every run: the server (netkey-arena --listen) and the bots (netkey-loadbots) in
# separate processes, one core each, so neither starves the other and the server's
# report holds its own CPU (process_cpu_ms_per_s) and inputs_dropped_epoch.
pair() {  # pair NAME LOADBOTS_FLAGS... [-- SERVER_FLAGS...]
  local name=$1; shift
  local bots_flags=() server_flags=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do bots_flags+=("$1"); shift; done
  [ $# -gt 0 ] && shift && server_flags=("$@")
  local port=$((20000 + RANDOM % 20000))
  echo "== $name"
  "$arena" --listen "$port" --seconds $((seconds + 10)) --quiet --report "$out/${name}_server.json" \
    ${server_flags[@]+"${server_flags[@]}"} > /dev/null &
  local server=$!
  sleep 0.5
  "$loadbots" --connect 127.0.0.1:"$port" --bots "$bots" --seconds "$seconds" --report "$out/$name.json" \
    ${bots_flags[@]+"${bots_flags[@]}"} | tail -3
  wait "$server"
}
for pct in 0 1 2 5; do pair "loss_$pct" --loss "$pct"; done
pair secure
pair insecure --insecure -- --insecure

{
  echo "tools/plots/sweep.sh $bin $seconds $bots $out"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "machine: $(nproc) cores, $(uname -srm)"
  echo "load average at the end: $(cut -d" " -f1-3 /proc/loadavg)"
  echo "netkey: $(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo unknown)"
} > "$out/PARAMETERS"
echo "sweep.sh: reports in $out; now run: make plots"

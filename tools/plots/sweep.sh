#!/usr/bin/env bash
# The measurement runs behind docs/figures (make plots redraws them from docs/data).
# Run it on a quiet machine with a release build:
#
#   cmake --preset release && cmake --build --preset release --target netkey-arena netkey-loadbots
#   tools/plots/sweep.sh [BIN_DIR [SECONDS [BOTS [OUT_DIR]]]]   (defaults: build/release/samples 30 200 docs/data)
#   make plots
#
# Environment: RUNS (3) runs of every configuration; COST_BOTS (1000), COST_CHURN
# (200 changes per second) and COST_SECONDS (60: 1000 bots take a while to join) for
# the cost of security; SKIP_LOSS=1 or SKIP_COST=1 to run
# only one half.
#
# Writes to OUT_DIR/runs/<name>_r<k>.json (and <name>_r<k>_server.json: that server's own
# report), then OUT_DIR/<name>.json: the run with the median rekey latency p50 (the loss
# sweep) or the median server CPU (the cost of security), and OUT_DIR/MEDIANS.md, the
# median of every measure over the runs (tools/plots/medians.py):
#   loss_<pct>        netkey-loadbots, BOTS bots against netkey-arena --listen, --loss 0, 1,
#                     2, 5 (loss and half as much duplication each way, 5-25 ms jitter, no
#                     partition), default churn (10 % of the bots join and 10 % leave per
#                     second, bulk waves every 10 s)
#   secure, insecure  COST_BOTS bots, COST_CHURN changes per second, no proxy; insecure:
#                     --insecure on both sides (plain ENet); secure and insecure alternate
#   secure_nocopies   the secure run with the server's --rekey-copies 0 (what the
#                     redundant rekey copies cost where the server thinks links lossy)
#   PARAMETERS        what ran, when, on what machine, the load average
set -eu
bin=${1:-build/release/samples} seconds=${2:-30} bots=${3:-200} out=${4:-docs/data}
runs=${RUNS:-3} cost_bots=${COST_BOTS:-1000} cost_churn=${COST_CHURN:-200} cost_seconds=${COST_SECONDS:-60}
loss_seconds=$seconds
arena=$bin/netkey-arena loadbots=$bin/netkey-loadbots
[ -x "$arena" ] && [ -x "$loadbots" ] || { echo "sweep.sh: no netkey-arena/netkey-loadbots in $bin" >&2; exit 2; }
mkdir -p "$out/runs"
loads=()

# Every run: the server (netkey-arena --listen) and the bots (netkey-loadbots) in
# separate processes, one core each, so neither starves the other and the server's
# report holds its own CPU (process_cpu_ms_per_s) and inputs_dropped_epoch.
pair() {  # pair NAME BOTS LOADBOTS_FLAGS... [-- SERVER_FLAGS...]
  local name=$1 n=$2; shift 2
  local bots_flags=() server_flags=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do bots_flags+=("$1"); shift; done
  [ $# -gt 0 ] && shift && server_flags=("$@")
  local port=$((20000 + RANDOM % 20000))
  echo "== $name (load $(cut -d" " -f1 /proc/loadavg))"
  "$arena" --listen "$port" --seconds $((seconds + 15)) --quiet --report "$out/runs/${name}_server.json" \
    ${server_flags[@]+"${server_flags[@]}"} > /dev/null &
  local server=$!
  sleep 0.5
  "$loadbots" --connect 127.0.0.1:"$port" --bots "$n" --seconds "$seconds" --report "$out/runs/$name.json" \
    ${bots_flags[@]+"${bots_flags[@]}"} | tail -2
  wait "$server"
  loads+=("$name: $(cut -d" " -f1-3 /proc/loadavg)")
}
for k in $(seq 1 "$runs"); do
  if [ "${SKIP_LOSS:-0}" != 1 ]; then
    seconds=$loss_seconds
    for pct in 0 1 2 5; do pair "loss_${pct}_r$k" "$bots" --loss "$pct"; done
  fi
  if [ "${SKIP_COST:-0}" != 1 ]; then
    seconds=$cost_seconds
    pair "secure_r$k" "$cost_bots" --churn "$cost_churn"
    pair "insecure_r$k" "$cost_bots" --churn "$cost_churn" --insecure -- --insecure
    pair "secure_nocopies_r$k" "$cost_bots" --churn "$cost_churn" -- --rekey-copies 0
  fi
done
python3 "$(dirname "$0")/medians.py" "$out"

{
  echo "tools/plots/sweep.sh $bin $loss_seconds $bots $out (RUNS=$runs COST_BOTS=$cost_bots COST_CHURN=$cost_churn COST_SECONDS=$cost_seconds)"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "machine: $(nproc) cores, $(uname -srm)"
  echo "netkey: $(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "load average (1, 5, 15 min) after each run:"
  printf '  %s\n' "${loads[@]}"
} > "$out/PARAMETERS"
echo "sweep.sh: reports in $out; now run: make plots"

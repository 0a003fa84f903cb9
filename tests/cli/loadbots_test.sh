#!/usr/bin/env bash
# The server and the load bots as separate processes on loopback, with the test-only
# mirror so the adversary sees the server's traffic.
# Usage: loadbots_test.sh ARENA LOADBOTS [BOTS SECONDS CHURN ADVERSARIES REPORT REKEY]
# REKEY is the server's --rekey (slices by default; whole: one signed Whole per batch,
# which the adversary can read, so a rekey that leaks keys can show up at all).
set -u
arena=$1 loadbots=$2 bots=${3:-30} seconds=${4:-8} churn=${5:-10} adversaries=${6:-5} report=${7:-/dev/null}
rekey=${8:-slices}
port=$((20000 + RANDOM % 20000)); mirror=$((port + 1))
"$arena" --listen "$port" --mirror "$mirror" --seconds $((seconds + 30)) --rekey "$rekey" --quiet > /dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null' EXIT
sleep 0.5
out=$("$loadbots" --connect 127.0.0.1:"$port" --bots "$bots" --seconds "$seconds" --churn "$churn" \
      --adversaries "$adversaries" --mirror "$mirror" --report "$report" --check 2>&1)
rc=$?
echo "$out" | tail -2
if [ $rc -eq 0 ] && grep -q "0 post-removal decryptions" <<<"$out" && grep -q "^summary: converged" <<<"$out"; then
  echo "1 passed, 0 failed"; exit 0
fi
echo "0 passed, 1 failed"; exit 1

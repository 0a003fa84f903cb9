#!/usr/bin/env bash
# `make demo`: walks through what netkey can do today, narrating each step.
# Usage: samples/demo.sh BUILD_DIR
set -euo pipefail
build=${1:-build/release}
ca_bin="$build/tools/netkey-ca"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

say()  { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run()  { printf '$ %s\n' "$*"; "$@"; }
fail() { printf '$ %s\n' "$*"; if "$@"; then echo "!! expected a refusal"; exit 1; fi; }

cat <<'TXT'
netkey demo
-----------
The arena demo (a game server with 200 bots over ENet) arrives with the ENet issue.
Until then this demo walks through what exists: the Root-CA that certifies every
role in a match, and the checks a game server makes on every certificate it sees.
TXT

say "1. The studio creates its Root-CA (the secret key is written with mode 0600)"
run "$ca_bin" init --dir "$work" --name studio-ca

say "2. The CA certifies each RFC 2627 role of a match"
run "$ca_bin" issue --ca "$work" --subject game-server-eu1 --role root --clearance 3 --days 90
run "$ca_bin" issue --ca "$work" --subject matchmaker --role list-controller --clearance 3 --days 90
run "$ca_bin" issue --ca "$work" --subject lobby --role initiator --clearance 3 --days 90
run "$ca_bin" issue --ca "$work" --subject player-alice --role participant --clearance 1 --days 30

say "3. Anyone holding ca.pub can read and verify a certificate"
run "$ca_bin" show "$work/player-alice.cert"
run "$ca_bin" verify --ca "$work" "$work/player-alice.cert" --role participant

say "4. What a game server refuses, and why"
echo "-- a player presenting its certificate as the game server's (wrong role):"
fail "$ca_bin" verify --ca "$work" "$work/player-alice.cert" --role root
echo "-- a certificate whose bytes were edited (tampered):"
cp "$work/player-alice.cert" "$work/tampered.cert"
off=$(grep -boa player-alice "$work/tampered.cert" | head -1 | cut -d: -f1)
printf 'P' | dd of="$work/tampered.cert" bs=1 seek="$off" conv=notrunc 2>/dev/null
fail "$ca_bin" verify --ca "$work" "$work/tampered.cert"
echo "-- a certificate checked a year from now (expired):"
fail "$ca_bin" verify --ca "$work" "$work/player-alice.cert" --now $(( $(date +%s) + 365*86400 ))
echo "-- a certificate from a rival studio's CA (unknown issuer):"
mkdir "$work/rival"
"$ca_bin" init --dir "$work/rival" --name rival-ca >/dev/null
"$ca_bin" issue --ca "$work/rival" --subject mallory --role participant --days 1 >/dev/null
fail "$ca_bin" verify --ca "$work" "$work/rival/mallory.cert"

if [ -x "$build/samples/keytree_demo" ]; then
  say "5. The Root's key tree: batched rekeys for joins and leaves"
  run "$build/samples/keytree_demo"
fi

say "Done. Every refusal above was one line and a non-zero exit."

#!/usr/bin/env bash
# Test fixture: a CA, a server, a matchmaker, a lobby, players alice/bob/carol, and a
# charter listing alice and bob, and a two-team charter (teams.charter) listing all three,
# all made with netkey-ca. Usage: make_pki.sh DIR CA_BIN SAMPLES
set -euo pipefail
dir=$1 ca_bin=$2 samples=$3
rm -rf "$dir"
mkdir -p "$dir"
cd "$dir"
"$ca_bin" init --dir ca --name test-ca >/dev/null
"$ca_bin" issue --ca ca --subject game-server --role root --clearance 2 >/dev/null
"$ca_bin" issue --ca ca --subject matchmaker --role list-controller --clearance 2 >/dev/null
"$ca_bin" issue --ca ca --subject lobby --role initiator --clearance 2 >/dev/null
for p in alice bob carol; do "$ca_bin" issue --ca ca --subject "$p" --role participant --clearance 2 >/dev/null; done
sed 's/^participants:.*/participants: alice, bob/' "$samples/match.charter.txt" > match.charter.txt
"$ca_bin" charter --ca ca --initiator ca/lobby --in match.charter.txt --out match.charter >/dev/null
# Issue 12: a match with two teams (tree_teams 2) and group broadcast auth, for alice,
# bob and carol (team broadcasts, private messages, delivery classes).
sed -e 's/^participants:.*/participants: alice, bob, carol/' -e 's/^broadcast-auth:.*/broadcast-auth: group/' \
    "$samples/match.charter.txt" > teams.charter.txt
echo "teams: 2" >> teams.charter.txt
"$ca_bin" charter --ca ca --initiator ca/lobby --in teams.charter.txt --out teams.charter >/dev/null
echo "pki ready in $dir"

#!/usr/bin/env bash
# End-to-end test of netkey-ca, exactly as the README shows it. Usage: netkey_ca_test.sh BIN
set -u
CA_BIN=$1
SAMPLES=$(cd "$(dirname "$0")/../../samples" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fails=0; passes=0
ok()   { passes=$((passes+1)); }
bad()  { echo "FAIL: $*"; fails=$((fails+1)); }
# expect <exit> <stderr-substring> <cmd...>
expect() {
  local want=$1 needle=$2; shift 2
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" != "$want" ]; then bad "$* exited $rc, want $want: $out"; return; fi
  if [ -n "$needle" ] && ! grep -qF -- "$needle" <<<"$out"; then bad "$* output lacks '$needle': $out"; return; fi
  if [ "$want" != 0 ] && [ "$(wc -l <<<"$out")" != 1 ]; then bad "$* error is not one line: $out"; return; fi
  ok
}

mkdir ca
expect 0 "created CA 'studio-ca'" "$CA_BIN" init --dir ca --name studio-ca
[ "$(stat -c %a ca/ca.key)" = 600 ] && ok || bad "ca.key mode is $(stat -c %a ca/ca.key)"
expect 1 "already exists" "$CA_BIN" init --dir ca
expect 0 "issued participant certificate for 'alice'" \
  "$CA_BIN" issue --ca ca --subject alice --role participant --clearance 2 --days 30
[ "$(stat -c %a ca/alice.key)" = 600 ] && ok || bad "alice.key mode"
expect 0 "OK: 'alice' is a participant (clearance 2)" "$CA_BIN" verify --ca ca ca/alice.cert
expect 0 "OK:" "$CA_BIN" verify --ca ca ca/alice.cert --role participant
expect 0 "subject:    alice" "$CA_BIN" show ca/alice.cert
expect 0 "contents not shown" "$CA_BIN" show ca/alice.key
seed=$(grep '^seed:' ca/alice.key | cut -d' ' -f2)
if "$CA_BIN" show ca/alice.key | grep -qF "$seed"; then bad "show printed the secret seed"; else ok; fi

# Refusals: one line, non-zero exit, the reason named.
expect 1 "wrong_role" "$CA_BIN" verify --ca ca ca/alice.cert --role root
expect 1 "expired" "$CA_BIN" verify --ca ca ca/alice.cert --now 99999999999
expect 1 "not_yet_valid" "$CA_BIN" verify --ca ca ca/alice.cert --now 1000
expect 0 "" "$CA_BIN" issue --ca ca --subject old --role participant --not-before 1000 --not-after 2000
expect 1 "expired" "$CA_BIN" verify --ca ca ca/old.cert
cp ca/alice.cert tampered.cert
off=$(grep -boa alice tampered.cert | head -1 | cut -d: -f1)
printf 'b' | dd of=tampered.cert bs=1 seek="$off" conv=notrunc 2>/dev/null
expect 1 "bad_signature" "$CA_BIN" verify --ca ca tampered.cert
mkdir other
"$CA_BIN" init --dir other --name rival-ca >/dev/null
expect 1 "issued by another CA" "$CA_BIN" verify --ca other ca/alice.cert
expect 1 "cannot read missing.cert" "$CA_BIN" verify --ca ca missing.cert
expect 1 "cannot read nowhere/ca.pub" "$CA_BIN" verify --ca nowhere ca/alice.cert
head -c 100 /dev/urandom > corrupt.cert
expect 1 "malformed" "$CA_BIN" verify --ca ca corrupt.cert
c=$(grep '^seed:' ca/ca.key | cut -c7); [ "$c" = 0 ] && r=1 || r=0
sed "s/^seed: ./seed: $r/" ca/ca.key > corrupt-ca.key
mkdir cac; cp corrupt-ca.key cac/ca.key; cp ca/ca.pub cac/ca.pub
expect 1 "corrupt" "$CA_BIN" issue --ca cac --subject bob --role participant
expect 2 "unknown role" "$CA_BIN" issue --ca ca --subject bob --role admin
expect 2 "must be a non-negative whole number" "$CA_BIN" issue --ca ca --subject bob --role participant --days x

# The Initiator's charter, from the sample text file.
for s in "game-server root" "matchmaker list-controller" "lobby initiator"; do
  set -- $s
  "$CA_BIN" issue --ca ca --subject "$1" --role "$2" --clearance 2 >/dev/null
done
expect 0 "signed charter for session" "$CA_BIN" charter --ca ca --initiator ca/lobby --in "$SAMPLES/match.charter.txt" --out match.charter
expect 0 "broadcast auth:  signed by the Root" "$CA_BIN" verify --ca ca match.charter
expect 1 "expected initiator" "$CA_BIN" charter --ca ca --initiator ca/alice --in "$SAMPLES/match.charter.txt" --out x.charter
sed 's/^degree: 4/degree: 40/' "$SAMPLES/match.charter.txt" > bad-degree.txt
expect 1 "degree: 40 is more than 16" "$CA_BIN" charter --ca ca --initiator ca/lobby --in bad-degree.txt --out y.charter
# teams: the charter's tree_teams (issue 12), shown by verify; more teams than the degree
# allows is refused.
{ cat "$SAMPLES/match.charter.txt"; echo "teams: 2"; } > teams.txt
expect 0 "signed charter for session" "$CA_BIN" charter --ca ca --initiator ca/lobby --in teams.txt --out teams.charter
expect 0 "teams:           2" "$CA_BIN" verify --ca ca teams.charter
expect 0 "teams:           none" "$CA_BIN" verify --ca ca match.charter
{ cat "$SAMPLES/match.charter.txt"; echo "teams: 5"; } > bad-teams.txt
expect 1 "teams" "$CA_BIN" charter --ca ca --initiator ca/lobby --in bad-teams.txt --out t.charter
sed 's|^root: ca/game-server.cert|root: ca/alice.cert|' "$SAMPLES/match.charter.txt" > bad-root.txt
expect 1 "is a participant certificate" "$CA_BIN" charter --ca ca --initiator ca/lobby --in bad-root.txt --out z.charter
cp match.charter tampered.charter
printf 'X' | dd of=tampered.charter bs=1 seek=100 conv=notrunc 2>/dev/null
expect 1 "" "$CA_BIN" verify --ca ca tampered.charter
expect 1 "issued by another CA" "$CA_BIN" verify --ca other match.charter

echo "$passes passed, $fails failed"
[ "$fails" = 0 ]

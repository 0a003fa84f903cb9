#!/usr/bin/env bash
# Every tool follows the CLI conventions (issue 14 §4; tools/cli/cli.h):
#   --help and -h: usage on stdout, nothing on stderr, exit 0
#   --version: "<tool> <version>" on stdout, nothing on stderr, exit 0
#   an unknown flag (and a flag missing its value): exactly one line on stderr,
#   "<tool>: ... (try --help)", nothing on stdout, exit 2
# Usage: conventions_test.sh VERSION BIN...
set -u
version=$1; shift
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0; passes=0
ok()  { passes=$((passes+1)); }
bad() { echo "FAIL: $*"; fails=$((fails+1)); }
lines() { if [ -s "$1" ]; then wc -l <"$1"; else echo 0; fi; }

# run <bin> <args...>: sets rc; stdout and stderr in $work/out and $work/err
run() { timeout 20 "$@" >"$work/out" 2>"$work/err"; rc=$?; }

for bin in "$@"; do
  tool=$(basename "$bin")
  for h in --help -h; do
    run "$bin" "$h"
    if [ "$rc" != 0 ]; then bad "$tool $h exited $rc, want 0"
    elif [ ! -s "$work/out" ]; then bad "$tool $h printed nothing on stdout"
    elif [ -s "$work/err" ]; then bad "$tool $h wrote to stderr: $(cat "$work/err")"
    elif ! grep -q "usage" "$work/out"; then bad "$tool $h stdout has no usage: $(cat "$work/out")"
    else ok; fi
  done

  run "$bin" --version
  if [ "$rc" != 0 ]; then bad "$tool --version exited $rc, want 0"
  elif [ "$(cat "$work/out")" != "$tool $version" ]; then bad "$tool --version printed '$(cat "$work/out")', want '$tool $version'"
  elif [ -s "$work/err" ]; then bad "$tool --version wrote to stderr: $(cat "$work/err")"
  else ok; fi

  # A usage error: one line, the tool's name first, a pointer to --help, exit 2.
  usage_error() {
    local what=$1; shift
    run "$@"
    if [ "$rc" != 2 ]; then bad "$tool $what exited $rc, want 2: $(cat "$work/err")"
    elif [ "$(lines "$work/err")" != 1 ]; then bad "$tool $what: stderr is not exactly one line: $(cat "$work/err")"
    elif ! grep -qE "^$tool: .*\(try --help\)$" "$work/err"; then bad "$tool $what: stderr is not '$tool: ... (try --help)': $(cat "$work/err")"
    elif [ -s "$work/out" ]; then bad "$tool $what wrote to stdout: $(cat "$work/out")"
    else ok; fi
  }
  usage_error "--no-such-flag" "$bin" --no-such-flag
  case $tool in
    netkey-ca)
      usage_error "(no command)" "$bin"
      usage_error "frobnicate" "$bin" frobnicate
      usage_error "init --no-such-flag x" "$bin" init --no-such-flag x
      usage_error "init --dir" "$bin" init --dir
      usage_error "show (no file)" "$bin" show
      # --help after a command, too
      run "$bin" issue --help
      [ "$rc" = 0 ] && [ -s "$work/out" ] && [ ! -s "$work/err" ] && ok || bad "$tool issue --help exited $rc"
      ;;
    netkey-vectors)
      usage_error "(no mode)" "$bin"
      usage_error "--out" "$bin" --out
      usage_error "--out a --check b" "$bin" --out "$work/a" --check "$work/b"
      ;;
    netkey-arena)
      usage_error "--bots" "$bin" --bots
      usage_error "--degree 99" "$bin" --degree 99
      usage_error "--loss 99" "$bin" --loss 99
      usage_error "--loss 5 --faults" "$bin" --loss 5 --faults
      usage_error "--insecure --mirror" "$bin" --listen 1 --insecure --mirror 2
      ;;
    netkey-loadbots)
      usage_error "(no --connect)" "$bin"
      usage_error "--bots x" "$bin" --connect 127.0.0.1:1 --bots x
      usage_error "--insecure --adversaries" "$bin" --connect 127.0.0.1:1 --insecure --adversaries 3 --mirror 2
      ;;
  esac
done

echo "$passes passed, $fails failed"
[ "$fails" = 0 ]

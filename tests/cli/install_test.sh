#!/usr/bin/env bash
# Installs the build into a temporary prefix, then builds and runs samples/consumer
# against it with find_package(netkey). Usage: install_test.sh BUILD_DIR SOURCE_DIR [CXX_FLAGS]
set -euo pipefail
build=$1 src=$2 flags=${3:-}
prefix=$(mktemp -d)
work=$(mktemp -d)
trap 'rm -rf "$prefix" "$work"' EXIT
cmake --install "$build" --prefix "$prefix" > /dev/null
test -f "$prefix/include/netkey.h" && test -f "$prefix/include/netkey/keytree.h" && test -f "$prefix/lib/pkgconfig/netkey.pc"
cmake -S "$src/samples/consumer" -B "$work" -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_C_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" > /dev/null
cmake --build "$work" -j2 > /dev/null
LD_LIBRARY_PATH="$prefix/lib" "$work/consumer_cpp"
LD_LIBRARY_PATH="$prefix/lib" "$work/consumer_c"
PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --libs netkey | grep -q -- "-lnetkey"
# The README's compile line for C through netkey.pc, with the rpath: runs without
# LD_LIBRARY_PATH.
cat > "$work/pc_consumer.c" <<'EOF'
#include <netkey.h>
#include <stdio.h>
int main(void) {
  netkey_client_config cfg;
  if (netkey_client_config_init(&cfg) != NETKEY_OK) return 1;
  printf("netkey.pc consumer: %s\n", netkey_strerror(NETKEY_OK));
  return 0;
}
EOF
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
# shellcheck disable=SC2046,SC2086  # pkg-config's output and $flags are split on purpose
${CC:-cc} $flags -std=c11 -Wall -Wextra -Werror "$work/pc_consumer.c" -o "$work/pc_consumer" \
  $(pkg-config --cflags --libs netkey) -Wl,-rpath,"$(pkg-config --variable=libdir netkey)"
"$work/pc_consumer"
echo "1 passed, 0 failed"

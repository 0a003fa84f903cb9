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
echo "1 passed, 0 failed"

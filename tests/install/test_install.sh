#!/usr/bin/env bash
# Installs xgrad from BUILD_DIR into a temporary prefix, then builds and runs a
# consumer project that uses find_package(xgrad) and xgrad::xgrad.
# Usage: test_install.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$src/tests/install/consumer" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/build" >/dev/null
"$work/build/consumer"
echo "ok: an installed xgrad is found and linked by another CMake project"

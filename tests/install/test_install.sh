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
  -DXGRAD_EXAMPLE="$src/examples/custom_activation.cpp" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/build" >/dev/null
(cd "$work" && "$work/build/consumer")
"$work/build/custom_activation" >/dev/null
echo "ok: an installed xgrad is found and linked by another CMake project, which saves and"
echo "    loads its own layer type and builds examples/custom_activation.cpp as it is"

#!/usr/bin/env bash
# Docs are code: compiles and links every ```cpp block of README.md and
# docs/*.md against an installed copy of this build, as a reader outside the
# project would (find_package(xgrad), xgrad::xgrad, C++17, -Wpedantic with its
# warnings as errors: a C++20 designated initialiser fails). Blocks marked
# <!-- not compiled: reason --> are listed as skipped; the other markers are
# described in extract_snippets.cpp. Compiler messages name the Markdown file
# and line.
# Usage: compile_snippets.sh SOURCE_DIR BUILD_DIR [CXX]
set -euo pipefail
src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
cxx=${3:-${CXX:-c++}}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" >/dev/null
"$cxx" -std=c++17 -O1 -o "$work/extract" "$src/tests/docs/extract_snippets.cpp"
mkdir -p "$work/snippets"
docs=(README.md)
for f in "$src"/docs/*.md; do docs+=("docs/$(basename "$f")"); done
"$work/extract" "$work/snippets" "$src" "${docs[@]}"

cat >"$work/snippets/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.25)
project(xgrad_doc_snippets LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 17)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
find_package(xgrad REQUIRED)
# C++20 in a C++17 snippet (designated initialisers...) is an error: GCC 12+
# and clang report it as -Wc++20-extensions, older GCC under -Wpedantic.
include(CheckCXXCompilerFlag)
check_cxx_compiler_flag(-Werror=c++20-extensions HAVE_CXX20_EXTENSIONS_WARNING)
set(strict -Wpedantic -Werror=pedantic)
if(HAVE_CXX20_EXTENSIONS_WARNING)
  list(APPEND strict -Werror=c++20-extensions)
endif()
file(GLOB snippets ${CMAKE_SOURCE_DIR}/*.cpp)
foreach(snippet ${snippets})
  get_filename_component(name ${snippet} NAME_WE)
  add_executable(${name} ${snippet})
  target_link_libraries(${name} PRIVATE xgrad::xgrad)
  target_compile_options(${name} PRIVATE ${strict})
endforeach()
CMAKE
# No optimisation: the snippets are compiled and linked, never run.
cmake -S "$work/snippets" -B "$work/build" -G "Unix Makefiles" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE= >/dev/null
if cmake --build "$work/build" -j"${XGRAD_SNIPPET_JOBS:-2}" -- -k >"$work/build.log" 2>&1; then
  echo "ok: every compiled snippet of README.md and docs/*.md builds and links"
else
  grep -E "error|Error|undefined reference" "$work/build.log" | grep -v "^make" | head -n 60
  echo "FAIL: snippets above do not compile (full log: rerun with XGRAD_SNIPPET_LOG=1)"
  [[ -n "${XGRAD_SNIPPET_LOG:-}" ]] && cat "$work/build.log"
  exit 1
fi

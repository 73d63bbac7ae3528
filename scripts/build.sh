#!/usr/bin/env bash
# Configures and builds one flavour: release (default), debug, asan or fuzz (clang, libFuzzer:
# the libraries and tests/fuzz/ only), optionally only the given targets. Prints the build folder on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
flavour=${1:-release}
case "$flavour" in
  release) dir=build/release; args=(-DCMAKE_BUILD_TYPE=Release) ;;
  debug)   dir=build/debug;   args=(-DCMAKE_BUILD_TYPE=Debug) ;;
  # asan: no bench/ (test.sh runs the benchmark smoke in the release pass only).
  asan)    dir=build/asan;    args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCCR_SANITIZE=ON -DCCR_BUILD_BENCH=OFF) ;;
  # -O1 and line tables only: the fuzz step of the test command builds this from scratch, and
  # these compile a third faster than -O2 -g while keeping sanitizer reports readable.
  fuzz)    dir=build/fuzz;    args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCCR_FUZZ=ON
                                    -DCMAKE_CXX_COMPILER=clang++
                                    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only") ;;
  *) echo "usage: $0 [release|debug|asan|fuzz] [target...]" >&2; exit 2 ;;
esac
shift || true
targets=()
for t in "$@"; do targets+=(--target "$t"); done
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
# Paths inside the checkout are hashed relative to it: a fresh clone elsewhere (CI's) reuses the
# objects another clone compiled (CMakeLists.txt maps the debug information's paths to match).
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
# Configure every time (a second or two): picks up packages installed since the last run.
if [ -f "$dir/CMakeCache.txt" ]; then
  cmake -S . -B "$dir" >/dev/null
else
  cmake -S . -B "$dir" -G Ninja "${args[@]}" >&2
fi
cmake --build "$dir" -j "$(nproc)" "${targets[@]}" >&2
echo "$dir"

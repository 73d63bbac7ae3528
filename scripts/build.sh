#!/usr/bin/env bash
# Configures and builds one flavour: release (default), debug or asan. Prints the build folder.
set -euo pipefail
cd "$(dirname "$0")/.."
flavour=${1:-release}
case "$flavour" in
  release) dir=build/release; args=(-DCMAKE_BUILD_TYPE=Release) ;;
  debug)   dir=build/debug;   args=(-DCMAKE_BUILD_TYPE=Debug) ;;
  asan)    dir=build/asan;    args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCCR_SANITIZE=ON) ;;
  *) echo "usage: $0 [release|debug|asan]" >&2; exit 2 ;;
esac
shift || true
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
if [ ! -f "$dir/build.ninja" ]; then
  cmake -S . -B "$dir" -G Ninja "${args[@]}" "$@" >&2
fi
cmake --build "$dir" -j "$(nproc)" >&2
echo "$dir"

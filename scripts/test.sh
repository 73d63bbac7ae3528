#!/usr/bin/env bash
# The whole test suite: install what is missing, build, run the unit tests (ctest), a short run
# of each fuzz harness (scripts/fuzz.sh, CCR_FUZZ_SECONDS each, default 15), and the integration
# and end-to-end tests (node's test runner) against the real binary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
dir=$(scripts/build.sh release)
ctest --test-dir "$dir" --output-on-failure -j "$(nproc)"
scripts/fuzz.sh "${CCR_FUZZ_SECONDS:-15}"
# The benchmark suite in smoke mode (~1 s per scenario): keeps bench/ from rotting.
CCR_BENCH_BUILD="$dir" bench/run.sh --smoke >/dev/null
export CC_RELAY_BIN="$PWD/$dir/cli/cc-relay"
cd tests
node --test --test-concurrency=1 integration/ e2e/

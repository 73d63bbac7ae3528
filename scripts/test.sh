#!/usr/bin/env bash
# The whole test suite: install what is missing, then twice over — a release build, and the asan
# flavour (AddressSanitizer + UndefinedBehaviorSanitizer) — run the unit tests (ctest) and the
# integration and end-to-end tests (node's test runner) against the real binary. The release pass
# also runs each fuzz harness briefly (scripts/fuzz.sh, CCR_FUZZ_SECONDS each, default 15) and the
# benchmark smoke run (timings under the sanitizers mean nothing).
#
#   scripts/test.sh                  both passes
#   scripts/test.sh release          the release pass only
#   scripts/test.sh asan             the sanitizer pass only
#   scripts/test.sh asan FILE...     the sanitizer pass, only these node tests (paths under tests/)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
case "${1:-all}" in
  all) passes=(release asan) ;;
  release|asan) passes=("$1") ;;
  *) echo "usage: $0 [all|release|asan] [node test file...]" >&2; exit 2 ;;
esac
shift || true
node_tests=("$@")
whole=1
if [ ${#node_tests[@]} -gt 0 ]; then whole=0; else node_tests=(integration/ e2e/); fi
scripts/install-deps.sh --test

# ctest, then the node suites against the flavour's binary.
run_suites() {
  local dir=$1
  # With node test files named, only those run (a quick check of one suite).
  if [ "$whole" = 1 ]; then ctest --test-dir "$dir" --output-on-failure -j "$(nproc)"; fi
  (cd tests && CC_RELAY_BIN="$root/$dir/cli/cc-relay" node --test --test-concurrency=1 "${node_tests[@]}")
}

for pass in "${passes[@]}"; do
  echo "== test.sh: $pass" >&2
  dir=$(scripts/build.sh "$pass")
  if [ "$pass" = release ]; then
    run_suites "$dir"
    [ "$whole" = 1 ] || continue
    scripts/fuzz.sh "${CCR_FUZZ_SECONDS:-15}"
    # The benchmark suite in smoke mode (~1 s per scenario): keeps bench/ from rotting.
    CCR_BENCH_BUILD="$dir" bench/run.sh --smoke >/dev/null
    continue
  fi
  # A sanitizer report in a forked worker, the admin process or a CLI command the tests run must
  # fail the pass even when no test notices. ASan and LeakSanitizer write theirs to a file of its
  # own (log_path: <logs>/asan.<pid>); GCC's UBSan runtime ignores log_path and writes to stderr,
  # so tests/lib/relay.mjs copies any report it sees on a relay's or a command's stderr to
  # <logs>/stderr.<pid> ($CCR_SANITIZER_LOGS); in ctest a UBSan report aborts the test. The pass
  # fails when the folder is not empty at the end. Every process stops at its first report
  # (abort_on_error: a worker dies by SIGABRT, which the master logs); leaks are checked at exit,
  # and by workers and the admin process before their _exit. The folder is world-writable: some
  # tests run the binary as another user.
  logs=$(mktemp -d "${TMPDIR:-/tmp}/cc-relay-sanitizers.XXXXXX")
  chmod 1777 "$logs"
  export CCR_SANITIZER_LOGS=$logs
  export ASAN_OPTIONS="log_path=$logs/asan:halt_on_error=1:abort_on_error=1:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1"
  export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1"
  rc=0
  run_suites "$dir" || rc=$?
  unset ASAN_OPTIONS UBSAN_OPTIONS CCR_SANITIZER_LOGS
  if [ -n "$(ls -A "$logs")" ]; then
    for f in "$logs"/*; do
      echo "== sanitizer report $f" >&2
      cat "$f" >&2
    done
    echo "test.sh: sanitizer reports above (kept in $logs)" >&2
    exit 1
  fi
  rmdir "$logs"
  [ "$rc" = 0 ] || exit "$rc"
done

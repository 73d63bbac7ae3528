#!/usr/bin/env bash
# Builds the fuzz flavour (clang, libFuzzer, ASan + UBSan) and runs each harness of tests/fuzz/
# for N seconds (default 20) on a scratch copy of its corpus, one after the other. A finding is
# written to build/fuzz/findings/<harness>/ and fails the run. Longer runs: `scripts/fuzz.sh 600`,
# or one harness by hand (tests/fuzz/README.md).
#   scripts/fuzz.sh [seconds-per-harness] [harness...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
shift || true
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(sse_usage event_stream body config http_head chunked)
targets=()
for h in "${harnesses[@]}"; do targets+=("${h}_fuzz"); done
dir=$(scripts/build.sh fuzz "${targets[@]}")
failed=()
for h in "${harnesses[@]}"; do
  work="$dir/corpus/$h"
  findings="$dir/findings/$h"
  rm -rf "$work"
  mkdir -p "$work" "$findings"
  # A scratch copy: what the run adds stays out of the repository (merge it by hand when useful).
  cp tests/fuzz/corpus/"$h"/* "$work"/
  echo "fuzz: $h for ${seconds}s" >&2
  # A fixed seed (CCR_FUZZ_SEED; 0: random) keeps the short run in the test command repeatable.
  if ! "$dir/tests/fuzz/${h}_fuzz" -max_total_time="$seconds" -seed="${CCR_FUZZ_SEED:-1}" -max_len=16384 -timeout=10 \
         -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$findings/" \
         "$work" >"$dir/fuzz-$h.log" 2>&1; then
    echo "fuzz: $h FAILED (log: $dir/fuzz-$h.log, input: $findings/)" >&2
    tail -n 40 "$dir/fuzz-$h.log" >&2
    failed+=("$h")
  else
    grep -E '^stat::number_of_executed_units|^Done' "$dir/fuzz-$h.log" >&2 || true
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in ${failed[*]}" >&2
  exit 1
fi

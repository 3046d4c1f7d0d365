#!/usr/bin/env bash
# Fuzzes the schema parser, checker and formula compiler (tests/fuzz/schema_fuzz.cpp)
# with libFuzzer, AddressSanitizer (leaks included) and UndefinedBehaviorSanitizer:
#   1. configures build-fuzz/ with clang (MGRAPH_FUZZ=ON, MGRAPH_SANITIZE=ON, RelWithDebInfo)
#   2. builds mgraph_schema_fuzz only
#   3. runs it for SECONDS (default 60) on a copy of tests/fuzz/corpus
# Exits non-zero on a crash, leak, timeout or out-of-memory and prints the reproducer;
# replay one with: build-fuzz/tests/fuzz/mgraph_schema_fuzz REPRODUCER
# Usage: scripts/fuzz.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
  sed -n '2,9p' "$0"
  exit 0
fi
seconds=${1:-60}
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "fuzz: SECONDS must be a positive integer, got '$seconds'" >&2
  exit 2
fi

dir=build-fuzz
# Limits of one run; the target itself refuses inputs over 64 KiB.
input_bytes_max=65536
unit_timeout_s=10
rss_limit_mb=2048

echo "== configure $dir (clang, libFuzzer + ASan + UBSan)"
CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja -DMGRAPH_WERROR=ON -DMGRAPH_FUZZ=ON \
  -DMGRAPH_SANITIZE=ON -DMGRAPH_BUILD_BENCH=OFF -DMGRAPH_BUILD_TESTS=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== build mgraph_schema_fuzz"
cmake --build "$dir" -j "$(nproc)" --target mgraph_schema_fuzz

# New inputs go to a copy, so the seed corpus in git stays as written.
run="$dir/fuzz-run"
rm -rf "$run"
mkdir -p "$run/corpus" "$run/artifacts"
cp tests/fuzz/corpus/* "$run/corpus/"

export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:halt_on_error=1"

echo "== fuzz for ${seconds}s (log: $run/log)"
status=0
"$dir/tests/fuzz/mgraph_schema_fuzz" "$run/corpus" -max_total_time="$seconds" \
  -max_len="$input_bytes_max" -timeout="$unit_timeout_s" -rss_limit_mb="$rss_limit_mb" \
  -artifact_prefix="$run/artifacts/" -print_final_stats=1 >"$run/log" 2>&1 || status=$?

reproducers=$(find "$run/artifacts" -type f | sort)
if [ "$status" -ne 0 ] || [ -n "$reproducers" ]; then
  tail -n 80 "$run/log"
  echo "fuzz: FAILED (exit $status)" >&2
  for r in $reproducers; do
    echo "fuzz: reproducer $r (replay: $dir/tests/fuzz/mgraph_schema_fuzz $r)" >&2
  done
  exit 1
fi
grep -E '^#[0-9]+[[:space:]]+DONE|^stat::(number_of_executed_units|peak_rss_mb)' "$run/log" || true
echo "== fuzz passed: no crash, leak or timeout in ${seconds}s"

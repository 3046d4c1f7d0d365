#!/usr/bin/env bash
# Fuzzes with libFuzzer, AddressSanitizer (leaks included) and UndefinedBehaviorSanitizer:
#   schema  the schema parser, checker and formula compiler (tests/fuzz/schema_fuzz.cpp)
#   image   checkpoint image decoding and import (tests/fuzz/image_fuzz.cpp)
#   1. configures build-fuzz/ with clang (MGRAPH_FUZZ=ON, MGRAPH_SANITIZE=ON, RelWithDebInfo)
#   2. builds mgraph_schema_fuzz, mgraph_image_fuzz and the image seed writer
#   3. runs schema for half of SECONDS (default 60), then image for the rest, at least 1 s
#      each, on a copy of tests/fuzz/corpus and of tests/fuzz/image_corpus + fresh seeds
# Exits non-zero on a crash, leak, timeout or out-of-memory in either and prints the
# reproducer; replay one with: build-fuzz/tests/fuzz/mgraph_<target>_fuzz REPRODUCER
# Usage: scripts/fuzz.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
  sed -n '2,11p' "$0"
  exit 0
fi
seconds=${1:-60}
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "fuzz: SECONDS must be a positive integer, got '$seconds'" >&2
  exit 2
fi
schema_seconds=$((seconds / 2 > 0 ? seconds / 2 : 1))
image_seconds=$((seconds - schema_seconds > 0 ? seconds - schema_seconds : 1))

dir=build-fuzz
# Limits of one run; the targets themselves refuse inputs over 64 KiB.
input_bytes_max=65536
unit_timeout_s=10
rss_limit_mb=2048

echo "== configure $dir (clang, libFuzzer + ASan + UBSan)"
CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja -DMGRAPH_WERROR=ON -DMGRAPH_FUZZ=ON \
  -DMGRAPH_SANITIZE=ON -DMGRAPH_BUILD_BENCH=OFF -DMGRAPH_BUILD_TESTS=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== build mgraph_schema_fuzz, mgraph_image_fuzz, mgraph_image_seeds"
cmake --build "$dir" -j "$(nproc)" --target mgraph_schema_fuzz mgraph_image_fuzz \
  mgraph_image_seeds

export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:halt_on_error=1"

failed=0
# fuzz_target NAME SECONDS CORPUS_DIR: runs build-fuzz/tests/fuzz/mgraph_NAME_fuzz on a
# copy of CORPUS_DIR (new inputs go to the copy, so the seed corpus in git stays as
# written) and reports; sets failed=1 on any finding.
fuzz_target() {
  local name=$1 secs=$2 corpus=$3
  local bin="$dir/tests/fuzz/mgraph_${name}_fuzz" run="$dir/fuzz-run-$name"
  rm -rf "$run"
  mkdir -p "$run/corpus" "$run/artifacts"
  cp "$corpus"/* "$run/corpus/"
  if [ "$name" = image ]; then
    # Images of the current build: committed ones stop at the shape check once the
    # engine's layout changes (tests/fuzz/image_seeds.cpp).
    "$dir/tests/fuzz/mgraph_image_seeds" "$run/corpus"
  fi

  echo "== fuzz $name for ${secs}s (log: $run/log)"
  local status=0
  "$bin" "$run/corpus" -max_total_time="$secs" -max_len="$input_bytes_max" \
    -timeout="$unit_timeout_s" -rss_limit_mb="$rss_limit_mb" \
    -artifact_prefix="$run/artifacts/" -print_final_stats=1 >"$run/log" 2>&1 || status=$?

  local reproducers
  reproducers=$(find "$run/artifacts" -type f | sort)
  if [ "$status" -ne 0 ] || [ -n "$reproducers" ]; then
    tail -n 80 "$run/log"
    echo "fuzz: $name FAILED (exit $status)" >&2
    for r in $reproducers; do
      echo "fuzz: reproducer $r (replay: $bin $r)" >&2
    done
    failed=1
    return
  fi
  grep -E '^#[0-9]+[[:space:]]+DONE|^stat::(number_of_executed_units|peak_rss_mb)' "$run/log" || true
  echo "== fuzz $name passed: no crash, leak or timeout in ${secs}s"
}

fuzz_target schema "$schema_seconds" tests/fuzz/corpus
fuzz_target image "$image_seconds" tests/fuzz/image_corpus
if [ "$failed" -ne 0 ]; then
  echo "fuzz: FAILED" >&2
  exit 1
fi
echo "== fuzz passed: schema ${schema_seconds}s, image ${image_seconds}s"

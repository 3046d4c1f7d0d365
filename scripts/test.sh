#!/usr/bin/env bash
# Installs what is missing, builds mgraph twice and runs every test with ctest:
#   1. Release with -Wall -Wextra -Werror          (build/)
#   2. AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/)
# then the tests of the engine's lanes (one commit on several threads) under
# ThreadSanitizer (build-tsan/, the engine's tests only), then fuzzes the schema language
# and checkpoint images for 60 s in all with clang and libFuzzer (scripts/fuzz.sh,
# build-fuzz/); set MGRAPH_SKIP_FUZZ=1 to skip that step.
# Usage: scripts/test.sh [--no-asan] [extra ctest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

asan=1
ctest_args=()
for a in "$@"; do
  case "$a" in
    --no-asan) asan=0 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) ctest_args+=("$a") ;;
  esac
done

./scripts/setup.sh
jobs=$(nproc)

run_pass() {
  local dir=$1; shift
  echo "== configure $dir ($*)"
  cmake -S . -B "$dir" -G Ninja -DMGRAPH_WERROR=ON "$@"
  echo "== build $dir"
  cmake --build "$dir" -j "$jobs"
  echo "== test $dir"
  (cd "$dir" && ctest --output-on-failure -j "$jobs" "${ctest_args[@]}")
}

run_pass build -DCMAKE_BUILD_TYPE=Release
if [ "$asan" = 1 ]; then
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  # The sanitizer pass skips the benchmarks: they are measured in Release only. -O1 and
  # line tables only (-g1): the sanitizers' reports keep file:line, and the pass compiles
  # and links in much less time than at -O2 -g on CI's 2 cores.
  run_pass build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" -DMGRAPH_SANITIZE=ON -DMGRAPH_BUILD_BENCH=OFF
  # The one place where the engine runs on several threads: GraphOptions::lanes.
  echo "== configure build-tsan"
  cmake -S . -B build-tsan -G Ninja -DMGRAPH_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" \
    -DMGRAPH_TSAN=ON -DMGRAPH_TCMALLOC=OFF -DMGRAPH_BUILD_BENCH=OFF
  echo "== build build-tsan (mgraph_graph_tests)"
  cmake --build build-tsan -j "$jobs" --target mgraph_graph_tests
  echo "== test build-tsan (the lanes' tests)"
  TSAN_OPTIONS=halt_on_error=1 build-tsan/tests/graph/mgraph_graph_tests \
    --gtest_filter='Lanes.*:ThreadLanes.*'
fi
if [ "${MGRAPH_SKIP_FUZZ:-0}" = 1 ]; then
  echo "== fuzz skipped (MGRAPH_SKIP_FUZZ=1)"
else
  ./scripts/fuzz.sh 60
fi
echo "== all test passes green"

#!/usr/bin/env bash
# Crash soak of the persistence store: the crash test's writer, killed with SIGKILL many
# more times than in CI. Each kill is followed by a reopen and the full check (every epoch
# reported durable present and intact, log a contiguous prefix, checksums, recovery equal
# to an in-memory replay), then the same number of kills of persistent `mgraph eval`
# sessions (checkpoints every 3 epochs, compacted log; each reopen compared with an
# in-memory run). A failure names the kill and the seed that reproduce it.
#   Usage: scripts/soak-crash.sh <kills> <seed> [build dir, default build]
# Example: scripts/soak-crash.sh 2000 7
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  sed -n '2,8p' "$0"
  exit 2
fi
kills=$1
seed=$2
build=${3:-build}

if [ ! -f "$build/build.ninja" ] && [ ! -f "$build/Makefile" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$build" --target mgraph_persistence_crash_soak mgraph_persistence_crash_writer \
  mgraph mgraph_node_tests
"$build/tests/persistence/mgraph_persistence_crash_soak" "$kills" "$seed"
MGRAPH_SESSION_KILLS=$kills MGRAPH_SESSION_SEED=$seed \
  exec "$build/tests/node/mgraph_node_tests" --gtest_filter='SessionCrash.*'

